/*
 * docker_stream.c - incremental demultiplexer for the Docker attach stream.
 *
 * A two-state machine: collecting the 8 header bytes of the next frame, or
 * passing payload bytes through.  It copies nothing but the header, so a
 * payload of any announced size (the length field allows 4 GiB) streams to
 * the callback in whatever pieces the socket delivers; what the caller keeps
 * of it, and how much, is the caller's business.  It does no I/O and never
 * allocates, which is what makes it easy to test and to fuzz.
 */
#include "docker_stream.h"

#include <string.h>

#define HDR_LEN 8
#define STREAM_MAX 2 /* 0 stdin, 1 stdout, 2 stderr */

void docker_stream_init(docker_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* Checks a complete header and starts its frame.  The padding must be zero:
 * anything else means we are not reading a multiplexed stream at all (a Tty
 * container, or a desynchronised parser), and guessing would turn garbage
 * into output. */
static int start_frame(docker_stream *s)
{
    const uint8_t *h = s->hdr;
    int rv = -1;

    if (h[0] > STREAM_MAX || h[1] != 0 || h[2] != 0 || h[3] != 0)
        goto out;
    s->stream = h[0];
    s->remaining = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    s->hdr_len = 0;
    rv = 0;
out:
    return rv;
}

int docker_stream_feed(docker_stream *s, const void *p, size_t n, docker_stream_cb cb, void *arg)
{
    const uint8_t *in = p;
    int rv = 0;

    while (n > 0) {
        if (s->remaining == 0) {
            /* Between frames: collect header bytes.  A zero-length frame
             * completes here and simply starts the next header. */
            size_t take = HDR_LEN - s->hdr_len;
            if (take > n)
                take = n;
            memcpy(s->hdr + s->hdr_len, in, take);
            s->hdr_len += take;
            in += take;
            n -= take;
            if (s->hdr_len == HDR_LEN) {
                rv = start_frame(s);
                if (rv != 0)
                    goto out;
            }
        } else {
            size_t take = s->remaining < n ? s->remaining : n;
            /* The piece counts as consumed before the callback runs, so a
             * caller that stops here can resume with the next byte. */
            s->remaining -= (uint32_t)take;
            rv = cb(arg, s->stream, in, take);
            in += take;
            n -= take;
            if (rv != 0)
                goto out;
        }
    }
out:
    return rv;
}

int docker_stream_partial(const docker_stream *s)
{
    return s->hdr_len > 0 || s->remaining > 0;
}
