/*
 * json.h - the gateway's JSON <-> libsce mapping, as pure functions.
 *
 * Everything the HTTP API says in JSON is built or read here: the POST /run
 * body becomes an sce_run_request (with one exact, field-naming message for
 * the first thing wrong with it), and run results, language lists, health
 * reports and errors become JSON objects.  Nothing here does I/O, keeps
 * state or knows about HTTP connections, so the mapping is unit-tested from
 * tables and can be fuzzed as is; http.c owns the sockets.
 *
 * Ownership: every json_t * returned is a new reference the caller
 * json_decref()s; inputs are borrowed.  A NULL return means out of memory.
 */
#ifndef SCE_GATEWAY_JSON_H
#define SCE_GATEWAY_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "sce/client.h"

/* A parsed POST /run body.  `req` points into `root` and the two arrays, so
 * it is valid until gw_run_input_free(). */
typedef struct gw_run_input {
    sce_run_request req;
    json_t *root;      /* the parsed body; owns every string req points to */
    const char **args; /* req.args */
    sce_file *files;   /* req.files */
} gw_run_input;

/* Parses and checks a POST /run body of `len` bytes (need not be
 * NUL-terminated).  On SCE_OK *in is filled and must be released with
 * gw_run_input_free().  On SCE_ERR_INVALID_ARGUMENT `err` holds one line
 * that starts with the offending field ("args[2]: expected a string") and
 * *in is left zeroed; SCE_ERR_RESOURCE_EXHAUSTED means out of memory. */
int gw_json_run_input(const char *body, size_t len, gw_run_input *in, char *err, size_t errlen);

/* Releases what gw_json_run_input() built; a zeroed struct is accepted. */
void gw_run_input_free(gw_run_input *in);

/* The 200 answer of a run, whatever its verdict:
 *   output/error keep the reference service's meaning (stdout, and the
 *   one-line failure, "" on success);
 *   stdout/stderr are made valid UTF-8, each invalid sequence becoming
 *   U+FFFD, and <stream>_lossy tells whether anything was replaced. */
json_t *gw_json_run_result(const sce_run_result *r);

/* {"languages": [{name, version, image, default_entry, extensions,
 * available, message}, ...]} */
json_t *gw_json_languages(const sce_language_list *l);

/* The /healthz answer.  `h` is the server's report, or NULL when asking for
 * it failed with `err` (an sce_err) and `message`.  *http_status receives
 * 200 when the server serves and its engine is fine, else 503. */
json_t *gw_json_health(const sce_health *h, int err, const char *message, unsigned *http_status);

/* The body of every non-2xx answer:
 *   {"error": message, "status": "rejected" (4xx) or "error" (5xx),
 *    "code": sce_err_name(err), "request_id": request_id (if not NULL/"")}.
 * The message is made one line of valid UTF-8. */
json_t *gw_json_error(unsigned http_status, int err, const char *message, const char *request_id);

/* The HTTP status that answers an sce_err from the server or from libsce:
 * INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED 429,
 * UNIMPLEMENTED 501, UNAVAILABLE 503, DEADLINE_EXCEEDED 504, others 500. */
unsigned gw_json_http_status(int err);

/* 1 if a Content-Type header value names JSON: "application/json", any
 * case, optionally with parameters, of which only charset=utf-8 is
 * accepted.  0 for anything else, NULL included. */
int gw_json_content_type_ok(const char *content_type);

/* Copies n bytes into a NUL-terminated buffer of valid UTF-8 (malloc'd,
 * caller frees), replacing each maximal invalid subsequence with U+FFFD as
 * the Unicode standard recommends; NUL bytes are kept.  *outlen gets the
 * length, *lossy (may be NULL) 1 if anything was replaced.  NULL: out of
 * memory. */
char *gw_json_utf8_lossy(const char *p, size_t n, size_t *outlen, int *lossy);

#endif
