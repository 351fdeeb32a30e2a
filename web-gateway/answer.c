/*
 * answer.c - the gw_answer of answer.h: the one builder of error answers
 * and the one place Retry-After is decided.
 *
 * Threads: none of its own; an answer belongs to its request.  Errors: a
 * body that cannot be built (out of memory) is a NULL body, which the
 * sender turns into a fixed 500.
 */
#include "answer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "sce/err.h"
#include "common/utf8.h"

void gw_answer_init(gw_answer *a)
{
    memset(a, 0, sizeof(*a));
}

void gw_answer_clear(gw_answer *a)
{
    json_decref(a->body);
    gw_answer_init(a);
}

void gw_answer_ok(gw_answer *a, unsigned status, json_t *body, const char *request_id,
                  const char *note)
{
    json_decref(a->body);
    a->status = status;
    a->body = body;
    sce_ascii_shown(a->request_id, sizeof(a->request_id), request_id != NULL ? request_id : "", 32);
    sce_ascii_shown(a->note, sizeof(a->note), note != NULL ? note : "", sizeof(a->note) - 5);
}

void gw_answer_header(gw_answer *a, const char *name, const char *value)
{
    a->header_name = name;
    snprintf(a->header_value, sizeof(a->header_value), "%s", value != NULL ? value : "");
}

void gw_answer_error_retry(gw_answer *a, unsigned status, int err, const char *message,
                           unsigned retry_s)
{
    char value[16];

    json_decref(a->body);
    a->status = status;
    a->body = gw_json_error(status, err, message, a->request_id);
    sce_ascii_shown(a->note, sizeof(a->note), message != NULL ? message : "", sizeof(a->note) - 5);
    if (retry_s == 0 && status == MHD_HTTP_TOO_MANY_REQUESTS)
        retry_s = 1;
    if (retry_s > 0) {
        snprintf(value, sizeof(value), "%u", retry_s);
        gw_answer_header(a, MHD_HTTP_HEADER_RETRY_AFTER, value);
    }
}

void gw_answer_error(gw_answer *a, unsigned status, int err, const char *message)
{
    gw_answer_error_retry(a, status, err, message, 0);
}

void gw_answer_sce_error(gw_answer *a, int rv, const char *message)
{
    gw_answer_error(a, gw_json_http_status(rv), rv, message);
}

void gw_answer_parse_error(gw_answer *a, int rv, const char *message)
{
    if (rv == SCE_ERR_INVALID_ARGUMENT)
        gw_answer_error(a, MHD_HTTP_BAD_REQUEST, rv, message);
    else
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL, message);
}

void gw_answer_too_large(gw_answer *a, unsigned long long announced, size_t limit_bytes)
{
    char msg[128];

    if (announced > limit_bytes)
        snprintf(msg, sizeof(msg), "body: %llu bytes is more than the limit of %zu bytes",
                 announced, limit_bytes);
    else
        snprintf(msg, sizeof(msg), "body: more than the limit of %zu bytes", limit_bytes);
    gw_answer_error(a, MHD_HTTP_CONTENT_TOO_LARGE, SCE_ERR_INVALID_ARGUMENT, msg);
}

int gw_answer_admitted(gw_admit_fn admit, void *arg, size_t runs, gw_answer *a)
{
    unsigned retry_s = 1;
    char msg[256];

    if (admit == NULL || admit(arg, runs, &retry_s, msg, sizeof(msg)))
        return 1;
    gw_answer_error_retry(a, MHD_HTTP_TOO_MANY_REQUESTS, SCE_ERR_RESOURCE_EXHAUSTED, msg, retry_s);
    return 0;
}

void gw_answer_run(gw_answer *a, int rv, sce_run_result *res, const char *message)
{
    if (rv != SCE_OK) {
        gw_answer_sce_error(a, rv, message);
        return;
    }
    gw_answer_ok(a, MHD_HTTP_OK, sce_json_run_result(res), res->request_id,
                 sce_verdict_name(res->verdict));
    sce_run_result_free(res);
}

int gw_answer_before_body(struct MHD_Connection *c, unsigned long long announced,
                          unsigned long long readable_bytes)
{
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    return (expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
           announced > readable_bytes;
}
