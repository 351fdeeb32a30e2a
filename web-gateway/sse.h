/*
 * sse.h - one streamed run: a followed run's output turned into
 * Server-Sent Events, as libmicrohttpd pulls them (docs/API.md, "Streamed
 * runs").
 *
 * routes.c starts the run (gw_backends_run_start) and makes a stream of it;
 * http.c answers with MHD_create_response_from_callback(gw_sse_read_cb,
 * gw_sse_free_cb).  The events:
 *
 *   event: start     {"id", "language", "language_version", "limits"}
 *   id: SEQ / event: stdout|stderr   {"data": "<text>"}
 *   event: result    the object a plain POST /run answers
 *   event: error     the usual error object, when the run is lost after
 *                    its start (then the stream ends)
 *   ": keep-alive"   after GW_SSE_KEEPALIVE_MS of silence
 *
 * Text is UTF-8: an incomplete character at a chunk's end is held back for
 * the stream's next chunk, and invalid bytes become U+FFFD
 * (sce_utf8_lossy(), as in the result).
 *
 * Backpressure: the reader callback polls the run's owner
 * (gw_backends_run_poll, waiting GW_SSE_POLL_WAIT_MS) only once the events
 * of the previous answer have all been handed to libmicrohttpd, so a
 * stream holds at most one poll answer, whatever the client's speed; the
 * server keeps the rest (up to the output cap).  A reader slower than
 * that for SCE_RUN_READER_GONE_MS while the program still runs sees its
 * run cancelled by the server.
 *
 * A dropped client: between polls the callback checks the connection's
 * socket for a hang-up (poll() for POLLRDHUP), since a silent program
 * gives libmicrohttpd nothing to write and so no error; it then ends the
 * answer with an error, and the run is cancelled at once
 * (gw_sse_abandon() from the request's end, or the free callback,
 * whichever comes first), so the run's container is gone within a few
 * seconds.
 *
 * Threads: the callbacks run on the connection's thread (libmicrohttpd's
 * thread per connection), where blocking is allowed; gw_sse_abandon() and
 * the free callback may come from that thread or the daemon's at
 * shutdown.  Ownership: a stream has two references, the response's
 * (dropped by gw_sse_free_cb) and the request's (dropped by
 * gw_sse_release); the last frees it, cancels the run if it has not ended
 * and gives its live run back (live.h).
 */
#ifndef SCE_GATEWAY_SSE_H
#define SCE_GATEWAY_SSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backends.h"
#include "live.h"
#include "sce/client.h"

typedef struct gw_sse gw_sse;

typedef struct gw_sse_config {
    gw_backends *backends;  /* borrowed; outlives the stream */
    gw_live *live;          /* the live run to give back at the end; NULL: none */
    const char *client_key; /* copied: the key live was acquired with */
    const char *tenant;     /* copied; NULL: none */
    int fd;                 /* the connection's socket, watched for a hang-up; -1: not */
} gw_sse_config;

/* A stream of the started run `started` (taken on SCE_OK, the caller's
 * otherwise).  SCE_ERR_NO_MEMORY; the caller then still holds the live
 * run. */
int gw_sse_new(const gw_sse_config *cfg, sce_run_started *started, gw_sse **out);

/* 1 when the client of the connection whose socket is fd has hung up (or
 * the socket failed); 0 while it is there, or for fd -1.  A followed run
 * answered at its end (Piston's execute) asks it between polls too. */
int gw_sse_client_gone(int fd);

/* libmicrohttpd's content reader (MHD_ContentReaderCallback): blocks until
 * there are events, returns them, MHD_CONTENT_READER_END_OF_STREAM after
 * the result, MHD_CONTENT_READER_END_WITH_ERROR for a client gone. */
ssize_t gw_sse_read_cb(void *cls, uint64_t pos, char *buf, size_t max);

/* libmicrohttpd's free callback: drops the response's reference. */
void gw_sse_free_cb(void *cls);

/* The request ended before the stream did (a connection error, a client
 * gone): cancels the run now if it has not ended.  Safe to call more than
 * once. */
void gw_sse_abandon(gw_sse *s);

/* Drops the request's reference. */
void gw_sse_release(gw_sse *s);

/* What the stream did, for the log line: "streamed: <verdict>", "streamed:
 * client gone", ...  Copied into out. */
void gw_sse_note(gw_sse *s, char *out, size_t outlen);

#endif
