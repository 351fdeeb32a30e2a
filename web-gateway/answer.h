/*
 * answer.h - what sce-gateway answers, before it is sent: a status, a JSON
 * body, at most one extra header, and what the log line says.
 *
 * Every route fills a gw_answer and http.c sends it (its send_answer()), so
 * there is one way to answer and one shape of error: gw_answer_error()
 * builds the body of every non-2xx answer (gw_json_error) and is the only
 * place that sets Retry-After.  gw_answer_before_body() is the one rule for
 * when a refusal may be sent before the request's body has been read.
 *
 * What it does not do: send anything, or know the connection beyond the
 * Expect header.  Pure apart from that look-up.
 *
 * Ownership: a->body is a new reference owned by the answer until it is
 * sent (the sender takes it) or gw_answer_clear() drops it.  Strings are
 * copied.  Threads: an answer belongs to the one request that fills it.
 */
#ifndef SCE_GATEWAY_ANSWER_H
#define SCE_GATEWAY_ANSWER_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "sce/client.h"

typedef struct gw_answer {
    unsigned status;         /* 0: nothing to answer yet */
    json_t *body;            /* NULL with a status: building it ran out of memory */
    const char *header_name; /* one more header of the answer (Retry-After, Allow,
                              * WWW-Authenticate), or NULL */
    char header_value[96];
    char request_id[40]; /* the server's id of the request, "" if none; printable */
    char note[160];      /* the verdict or the error, for the log line; printable */
} gw_answer;

/* Empties *a (a zeroed struct is an empty answer). */
void gw_answer_init(gw_answer *a);

/* Drops what *a holds and empties it; an empty answer is accepted. */
void gw_answer_clear(gw_answer *a);

/* A 2xx answer with `body` (consumed; NULL means out of memory), the
 * server's request id (NULL: none) and the log note. */
void gw_answer_ok(gw_answer *a, unsigned status, json_t *body, const char *request_id,
                  const char *note);

/* An error answer: `err` is the sce_err behind it, `message` its one line.
 * retry_s > 0 sets Retry-After to it; a 429 without one gets 1 s (the server
 * refuses at once when its queue is full: a second later is a fair try). */
void gw_answer_error_retry(gw_answer *a, unsigned status, int err, const char *message,
                           unsigned retry_s);

/* gw_answer_error_retry() with the default Retry-After. */
void gw_answer_error(gw_answer *a, unsigned status, int err, const char *message);

/* An error from libsce or the server: its status is gw_json_http_status(). */
void gw_answer_sce_error(gw_answer *a, int rv, const char *message);

/* An error of the gateway's own parsing: INVALID_ARGUMENT is 400, anything
 * else (out of memory) 500 INTERNAL. */
void gw_answer_parse_error(gw_answer *a, int rv, const char *message);

/* Sets the extra header of an answer (value copied, cut to fit). */
void gw_answer_header(gw_answer *a, const char *name, const char *value);

/* 413 for a body of `announced` bytes (0: unknown, it streamed past) over
 * limit_bytes. */
void gw_answer_too_large(gw_answer *a, unsigned long long announced, size_t limit_bytes);

/* The gateway's rate limit, as routes.c applies it to the client of the
 * request: takes `runs` runs from its bucket.  Returns 1 to go ahead; 0
 * with the 429 message and the seconds until it may try again. */
typedef int (*gw_admit_fn)(void *arg, size_t runs, unsigned *retry_s, char *msg, size_t msglen);

/* Asks admit (NULL: no limit) for `runs` runs; 1 to go ahead, or 0 with
 * the 429 and its Retry-After in *a.  Called only once a request is known
 * to be sent to the server. */
int gw_answer_admitted(gw_admit_fn admit, void *arg, size_t runs, gw_answer *a);

/* The answer of one run: 200 with the result (res, consumed) when rv is
 * SCE_OK, else the server's or libsce's error with its message. */
void gw_answer_run(gw_answer *a, int rv, sce_run_result *res, const char *message);

/* Whether a refusal decided from the headers must be sent before any body
 * is read: 1 when the client waits for "100 Continue" (it then sends no
 * body) or announced more than readable_bytes (what the gateway is willing
 * to read and drop); 0 when the body is read to its end first, so that a
 * client still sending sees the answer rather than a reset. */
int gw_answer_before_body(struct MHD_Connection *c, unsigned long long announced,
                          unsigned long long readable_bytes);

#endif
