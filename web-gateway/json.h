/*
 * json.h - the gateway's JSON <-> libsce mapping, as pure functions.
 *
 * Everything the HTTP API reads in JSON is read here: the POST /run body
 * becomes an sce_run_request (with one exact, field-naming message for the
 * first thing wrong with it), as does each task of a POST /run-batch body;
 * the GET /history parameters become an sce_history_query.  What it writes
 * (run results, batches, history pages, language lists, health reports and
 * errors) is written by common/result_json.h, which the `sce` CLI shares;
 * the gw_json_* writers below are those, plus what only the gateway knows
 * (an error's HTTP status, the history page's byte budget, its own part of
 * /healthz).  Nothing here does I/O, keeps state or knows about HTTP
 * connections, so the mapping is unit-tested from tables and can be fuzzed
 * as is; http.c owns the sockets.
 *
 * Ownership: every json_t * returned is a new reference the caller
 * json_decref()s; inputs are borrowed.  A NULL return means out of memory.
 */
#ifndef SCE_GATEWAY_JSON_H
#define SCE_GATEWAY_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "backends.h"
#include "sce/client.h"
#include "common/result_json.h"

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
 * *in is left zeroed; SCE_ERR_NO_MEMORY (INTERNAL) means out of memory. */
int gw_json_run_input(const char *body, size_t len, gw_run_input *in, char *err, size_t errlen);

/* Releases what gw_json_run_input() built; a zeroed struct is accepted. */
void gw_run_input_free(gw_run_input *in);

/* A parsed POST /run-batch body, {"tasks": [task, ...]}, each task shaped
 * like a POST /run body.  reqs[i] is tasks[i].req, laid out as
 * sce_client_run_batch() takes them; both are valid until
 * gw_batch_input_free(). */
typedef struct gw_batch_input {
    gw_run_input *tasks;
    sce_run_request *reqs;
    size_t count;
} gw_batch_input;

/* Parses and checks a POST /run-batch body.  Any task that would be a 400
 * as a /run body makes the whole batch a 400, its message prefixed with
 * the task ("tasks[2].code: expected a string"); so do no tasks and more
 * than GW_BATCH_TASKS_MAX.  How many tasks the server takes (5 by default)
 * is the server's to say.  Errors and ownership as gw_json_run_input(). */
int gw_json_batch_input(const char *body, size_t len, gw_batch_input *in, char *err, size_t errlen);

/* Releases what gw_json_batch_input() built; a zeroed struct is accepted. */
void gw_batch_input_free(gw_batch_input *in);

/* The GET /history query from its parameters (each NULL or "" when not
 * given): limit 1..GW_HISTORY_LIMIT_MAX, offset, verdict (a `status` name
 * such as "timeout"), language (borrowed into q; the server checks it).
 * SCE_ERR_INVALID_ARGUMENT with one line naming the parameter otherwise. */
int gw_json_history_query(const char *limit, const char *offset, const char *verdict,
                          const char *language, sce_history_query *q, char *err, size_t errlen);

/* GET /history's answer: sce_json_history_page(), at most
 * GW_HISTORY_PAGE_MAX_BYTES once dumped (entries past it are left for the
 * next page). */
json_t *gw_json_history(const sce_history_page *p, uint32_t offset);

/* The /healthz answer: sce_json_health() with {"gateway": {"version"}}
 * after its "status".  `h` is the server's report, or NULL when asking for
 * it failed with `err` (an sce_err) and `message`.  *http_status receives
 * 200 when the server serves and its engine is fine, else 503. */
json_t *gw_json_health(const sce_health *h, int err, const char *message, unsigned *http_status);

/* GET /healthz of a gateway with its backends: gw_json_health() of the
 * first backend that is up (else the first one), whose `server` and
 * `engine` keep the shape of one server's, and "backends": [{url, state
 * ("up" or "down"), in_flight, runs, failures, error (when down), server,
 * engine}].  status is "ok" when every backend is up, "degraded" when some
 * are, else the first backend's ("unavailable" or "degraded");
 * *http_status is 200 when at least one backend can run code, else 503.
 * NULL when out of memory. */
json_t *gw_json_health_backends(const gw_backends_snapshot *s, unsigned *http_status);

/* The body of every non-2xx answer: sce_json_error(), "rejected" for a
 * 4xx http_status and "error" for a 5xx. */
json_t *gw_json_error(unsigned http_status, int err, const char *message, const char *request_id);

/* The HTTP status that answers an sce_err from the server or from libsce:
 * INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403,
 * NOT_FOUND 404, RESOURCE_EXHAUSTED 429, UNIMPLEMENTED 501, UNAVAILABLE 503,
 * DEADLINE_EXCEEDED 504, others 500: below 500 exactly when
 * sce_json_err_rejected(err), so a batch's failed task and a whole answer
 * say "rejected" alike. */
unsigned gw_json_http_status(int err);

/* 1 if a Content-Type header value names JSON: "application/json", any
 * case, optionally with parameters, of which only charset=utf-8 is
 * accepted.  0 for anything else, NULL included. */
int gw_json_content_type_ok(const char *content_type);


#endif
