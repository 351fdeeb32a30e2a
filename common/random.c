/*
 * random.c - random identifiers in hex (see random.h).
 */
#include "common/random.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

void sce_hex(char *out, size_t outlen, const unsigned char *raw, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    if (outlen == 0)
        return;
    for (i = 0; i < n && 2 * i + 2 < outlen; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 0xf];
    }
    out[2 * i] = '\0';
}

int sce_random_hex(char *out, size_t outlen, size_t nbytes, int how)
{
    unsigned char raw[64];
    unsigned flags = how == SCE_RANDOM_NOWAIT ? GRND_NONBLOCK : 0;
    size_t got = 0;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    if (nbytes > sizeof(raw) || outlen < 2 * nbytes + 1)
        return -1;
    while (got < nbytes) {
        ssize_t n = getrandom(raw + got, nbytes - got, flags);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    sce_hex(out, outlen, raw, nbytes);
    return 0;
}
