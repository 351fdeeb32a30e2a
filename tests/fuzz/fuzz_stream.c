/*
 * fuzz_stream.c - libFuzzer driver for the attach-stream demuxer
 * (server/docker_stream.c).
 *
 * The input is two control bytes and then the stream as the engine would
 * send it.  The first control byte chooses how the stream is cut into the
 * pieces the socket would deliver, the second how often the callback asks
 * to stop (after which the driver resumes with the next byte, as the header
 * promises a caller may).  What the callback sees must be exactly what a
 * plain one-pass reading of the frames gives, wherever the cuts fall: the
 * same bytes of the same streams, the same malformed header, the same
 * "partial" at the end.  Any difference aborts, and libFuzzer keeps the
 * input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_stream.h"

#define STOP_RV 7

/* What the callback saw: every payload byte with its stream. */
typedef struct seen {
    uint8_t *bytes;
    uint8_t *streams;
    size_t len, cap;
    unsigned calls;
    unsigned stop_every;   /* return STOP_RV on every n-th call (0: never) */
    const uint8_t *resume; /* the byte after the piece that stopped */
} seen;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_stream: %s\n", what);
    abort();
}

static int record_cb(void *arg, int stream, const void *p, size_t n)
{
    seen *s = arg;

    if (stream < 0 || stream > 2)
        fail("callback got a stream other than 0, 1, 2");
    if (s->len + n > s->cap)
        fail("callback got more payload bytes than the input holds");
    memcpy(s->bytes + s->len, p, n);
    memset(s->streams + s->len, stream, n);
    s->len += n;
    s->calls++;
    s->resume = (const uint8_t *)p + n;
    return s->stop_every != 0 && s->calls % s->stop_every == 0 ? STOP_RV : 0;
}

/* The reference: frames read in one pass over the whole stream.  Returns
 * -1 at a malformed header, else 0 with *partial set when the stream ends
 * inside a header or a payload. */
static int reference(const uint8_t *p, size_t n, seen *want, int *partial)
{
    size_t pos = 0;

    *partial = 0;
    while (pos < n) {
        uint32_t len;
        size_t take;

        if (n - pos < 8) {
            *partial = 1;
            return 0;
        }
        if (p[pos] > 2 || p[pos + 1] != 0 || p[pos + 2] != 0 || p[pos + 3] != 0)
            return -1;
        len = (uint32_t)p[pos + 4] << 24 | (uint32_t)p[pos + 5] << 16 | (uint32_t)p[pos + 6] << 8 |
              p[pos + 7];
        take = len < n - pos - 8 ? len : n - pos - 8;
        memcpy(want->bytes + want->len, p + pos + 8, take);
        memset(want->streams + want->len, p[pos], take);
        want->len += take;
        pos += 8 + take;
        if (take < len)
            *partial = 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen got = {0}, want = {0};
    docker_stream ds;
    uint32_t rng;
    size_t max_piece, off = 0;
    int rv, malformed = 0, want_rv, want_partial;

    if (size < 2)
        return 0;
    /* A cheap, deterministic generator of piece lengths (1..max_piece). */
    max_piece = (size_t)data[0] % 64 + 1;
    rng = 0x9e3779b9u ^ data[0];
    got.stop_every = data[1] % 8; /* 0: the callback never stops */
    data += 2;
    size -= 2;

    got.cap = want.cap = size;
    got.bytes = malloc(size + 1);
    got.streams = malloc(size + 1);
    want.bytes = malloc(size + 1);
    want.streams = malloc(size + 1);
    if (!got.bytes || !got.streams || !want.bytes || !want.streams)
        fail("out of memory");

    want_rv = reference(data, size, &want, &want_partial);

    docker_stream_init(&ds);
    while (off < size && !malformed) {
        size_t piece;
        const uint8_t *p, *end;

        rng = rng * 1103515245u + 12345u;
        piece = (size_t)(rng >> 16) % max_piece + 1;
        if (piece > size - off)
            piece = size - off;
        p = data + off;
        end = p + piece;
        while (p < end) {
            got.resume = NULL;
            rv = docker_stream_feed(&ds, p, (size_t)(end - p), record_cb, &got);
            if (rv == -1)
                malformed = 1;
            if (rv == 0 || rv == -1)
                break;
            if (rv != STOP_RV)
                fail("feed returned something other than 0, -1 or the callback's value");
            if (got.resume == NULL || got.resume < p || got.resume > end)
                fail("feed stopped, but not right after a callback piece");
            p = got.resume;
        }
        off += piece;
    }

    if (malformed && want_rv != -1)
        fail("malformed header reported, but the frames are well formed");
    if (!malformed && want_rv == -1)
        fail("malformed header not reported");
    if (got.len != want.len || memcmp(got.bytes, want.bytes, want.len) != 0 ||
        memcmp(got.streams, want.streams, want.len) != 0)
        fail("payload differs from a one-pass reading of the frames");
    if (!malformed && (docker_stream_partial(&ds) != 0) != want_partial)
        fail("docker_stream_partial disagrees with where the stream ended");

    free(got.bytes);
    free(got.streams);
    free(want.bytes);
    free(want.streams);
    return 0;
}
