/*
 * docker_stream.h - incremental demultiplexer for the Docker attach stream.
 *
 * With Tty off, the engine sends stdout and stderr as frames: an 8-byte
 * header (byte 0 = stream: 0 stdin, 1 stdout, 2 stderr; bytes 1-3 zero;
 * bytes 4-7 big-endian payload length) followed by the payload.  Bytes may
 * arrive split anywhere, including inside a header, and a payload may be
 * larger than any read.  This module is pure: no I/O, no allocation; it
 * hands payload pieces to a callback as soon as they arrive.
 */
#ifndef SCE_DOCKER_STREAM_H
#define SCE_DOCKER_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct docker_stream {
    uint8_t hdr[8];
    size_t hdr_len;      /* header bytes collected so far */
    int stream;          /* stream of the frame in progress */
    uint32_t remaining;  /* payload bytes still to come in this frame */
} docker_stream;

/* Called with each payload piece; a non-zero return stops feeding and is
 * returned by docker_stream_feed. */
typedef int (*docker_stream_cb)(void *arg, int stream, const void *p, size_t n);

void docker_stream_init(docker_stream *s);

/* Feeds n bytes.  Returns 0, the callback's non-zero value, or -1 when a
 * header is malformed (stream byte > 2 or non-zero padding). */
int docker_stream_feed(docker_stream *s, const void *p, size_t n, docker_stream_cb cb, void *arg);

/* True when the stream stopped inside a header or a payload (a cut stream). */
int docker_stream_partial(const docker_stream *s);

#endif
