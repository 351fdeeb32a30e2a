/*
 * random.h - identifiers made of random bytes, written as lower-case hex:
 * request ids, the server's boot id, a run's end-marker nonce.
 */
#ifndef SCE_RANDOM_H
#define SCE_RANDOM_H

#include <stddef.h>

/* How sce_random_hex waits for the kernel's generator early at boot. */
enum {
    SCE_RANDOM_WAIT = 0,  /* block until the generator is seeded (the daemons' ids) */
    SCE_RANDOM_NOWAIT = 1 /* fail instead (libsce, linked into any program: it has a fallback) */
};

/* Writes nbytes random bytes from the kernel's generator into out as
 * 2 * nbytes hex digits and a NUL (outlen must be at least 2 * nbytes + 1).
 * Returns 0, or -1 with out set to "" when the kernel has no randomness to
 * give (getrandom failed; with SCE_RANDOM_NOWAIT also "not seeded yet") or
 * out is too small.  A signal in the middle is retried. */
int sce_random_hex(char *out, size_t outlen, size_t nbytes, int how);

/* Writes the bytes of raw[0..n) into out as 2n hex digits and a NUL
 * (outlen >= 2n + 1; otherwise out gets what fits, NUL-terminated). */
void sce_hex(char *out, size_t outlen, const unsigned char *raw, size_t n);

#endif
