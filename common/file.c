/*
 * file.c - reading a checked file whole (see file.h).
 */
#include "common/file.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/seterr.h"
#include "sce/err.h"

int sce_file_read(int fd, size_t size, char **out, char *why, size_t whylen)
{
    char *data = size < SIZE_MAX ? malloc(size + 1) : NULL;
    size_t got = 0;

    if (data == NULL) {
        sce_seterr(why, whylen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sce_seterr(why, whylen, "%s", n < 0 ? strerror(errno) : "the file shrank");
            free(data);
            return SCE_ERR_INTERNAL;
        }
        got += (size_t)n;
    }
    data[size] = '\0';
    *out = data;
    return SCE_OK;
}
