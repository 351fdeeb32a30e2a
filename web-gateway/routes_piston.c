/*
 * routes_piston.c - GET /api/v2/runtimes and POST /api/v2/execute
 * (routes_piston.h).  What the fields mean and how a result reads is
 * piston_request.h's; this file does the calls: the server's language
 * list, the rate limit, and the run as a followed run polled to its end,
 * so that `output` has stdout and stderr in the order they were written
 * (a plain run's result keeps the two apart).  A client that hangs up
 * before the end (seen between polls, as sse.c sees it) cancels its run.
 *
 * Every error is Piston's shape, {"message": ...}: its own 400s, and the
 * gateway's and server's errors (429, 503, ...) with their statuses.
 */
#include "routes_piston.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "piston_request.h"
#include "piston_ws.h"
#include "sce/err.h"
#include "sse.h"

/* Each poll's wait: well below the server's reader-gone time. */
#define ROUTES_PISTON_POLL_WAIT_MS PISTON_POLL_WAIT_MS

/* An error in Piston's shape. */
static void piston_error(gw_answer *a, unsigned status, const char *message)
{
    gw_answer_ok(a, status, piston_request_error(message), NULL, message);
}

/* An sce error (libsce's or the server's) in Piston's shape, with the
 * status sce's own routes give it. */
static void piston_sce_error(gw_answer *a, int rv, const char *message)
{
    piston_error(a, gw_json_http_status(rv), message);
}

/* An answer sce's routes filled (a 429 of the rate limit) in Piston's
 * shape: the same status and header, {"message"} for the body. */
static void piston_reshape(gw_answer *a)
{
    const char *m = json_string_value(json_object_get(a->body, "error"));
    json_t *body = piston_request_error(m != NULL ? m : a->note);

    json_decref(a->body);
    a->body = body;
}

/* The server's refusal of a limit, named by Piston's field
 * ("limits.timeout_ms: ..." is run_timeout's). */
static void start_error(gw_answer *a, int rv, const char *err)
{
    static const struct {
        const char *sce, *piston;
    } fields[] = {{"limits.timeout_ms:", "run_timeout:"},
                  {"limits.memory_bytes:", "run_memory_limit:"}};
    char msg[1024];

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strncmp(err, fields[i].sce, strlen(fields[i].sce)) == 0) {
            snprintf(msg, sizeof(msg), "%s%s", fields[i].piston, err + strlen(fields[i].sce));
            piston_sce_error(a, rv, msg);
            return;
        }
    piston_sce_error(a, rv, err);
}

static void answer_runtimes(const gw_route_ctx *x, gw_answer *a)
{
    sce_language_list *langs = NULL;
    char err[512];
    int rv = gw_backends_languages(x->backends, &langs, err, sizeof(err));

    if (rv != SCE_OK) {
        piston_sce_error(a, rv, err);
        return;
    }
    gw_answer_ok(a, MHD_HTTP_OK, piston_request_runtimes(langs), NULL, NULL);
    sce_language_list_free(langs);
}

/* Polls a started run to its end, collecting its output; the result's
 * answer, or the error that lost it. */
static void follow(const gw_route_ctx *x, const piston_request *p, const sce_run_started *st,
                   gw_answer *a)
{
    /* Each stream's text is at most the output cap, plus what a U+FFFD
     * replacing one byte adds (3 bytes for 1). */
    size_t limit =
        st->output_limit_bytes > 0 ? 3 * (size_t)st->output_limit_bytes + 16 : (size_t)16 << 20;
    const char *tenant = p->req.tenant;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(x->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci != NULL ? ci->connect_fd : -1;
    piston_output o;
    uint64_t after = 0;
    char err[1024];

    piston_output_init(&o, limit);
    for (;;) {
        sce_run_events *ev = NULL;
        int rv = gw_backends_run_poll(x->backends, st->run_id, tenant, after,
                                      ROUTES_PISTON_POLL_WAIT_MS, &ev, err, sizeof(err));

        if (rv != SCE_OK) {
            piston_sce_error(a, rv, err);
            break;
        }
        if (!ev->done && gw_sse_client_gone(fd)) {
            /* Nobody waits for the answer any more: the run goes, as a
             * streamed run's does. */
            gw_backends_run_cancel(x->backends, st->run_id, tenant, err, sizeof(err));
            piston_error(a, MHD_HTTP_BAD_REQUEST, "the client hung up before the run ended");
            sce_run_events_free(ev);
            break;
        }
        piston_output_add(&o, ev);
        after = ev->next_seq;
        if (ev->done && ev->result != NULL) {
            piston_exit e;

            piston_exit_of(ev->result, &e);
            if (o.failed)
                piston_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
            else if (e.error != NULL && e.status == NULL) /* rejected: no run to report */
                piston_error(a, MHD_HTTP_BAD_REQUEST, e.error);
            else
                gw_answer_ok(a, MHD_HTTP_OK, piston_request_answer(p, ev->result, &o),
                             st->request_id, sce_verdict_name(ev->result->verdict));
            sce_run_events_free(ev);
            break;
        }
        sce_run_events_free(ev);
    }
    piston_output_free(&o);
}

static void answer_execute(const gw_route_ctx *x, gw_answer *a)
{
    sce_language_list *langs = NULL;
    sce_run_started *st = NULL;
    piston_request *p = NULL;
    json_error_t jerr;
    json_t *body;
    char err[1024];
    int rv;

    body = json_loadb(x->body->data, x->body->len, JSON_DECODE_ANY, &jerr);
    /* The body is parsed; its bytes are no longer needed while the run
     * takes its time. */
    sce_buf_free(x->body);
    if (body == NULL) {
        snprintf(err, sizeof(err), "Unexpected token in JSON: %s", jerr.text);
        piston_error(a, MHD_HTTP_BAD_REQUEST, err);
        return;
    }
    rv = piston_request_parse(body, 1, &p, err, sizeof(err));
    json_decref(body);
    if (rv != SCE_OK) {
        piston_sce_error(a, rv, err);
        goto out;
    }
    if ((rv = gw_backends_languages(x->backends, &langs, err, sizeof(err))) != SCE_OK ||
        (rv = piston_request_runtime(p, langs, err, sizeof(err))) != SCE_OK) {
        piston_sce_error(a, rv, err);
        goto out;
    }
    p->req.tenant = gw_routes_caller(x).tenant;
    /* Piston gives all of stdin at once: the program reads EOF after it. */
    p->req.stdin_close = 1;
    if (!gw_routes_admit(x, 1, a)) {
        piston_reshape(a);
        goto out;
    }
    if ((rv = gw_backends_run_start(x->backends, &p->req, &st, err, sizeof(err))) != SCE_OK) {
        start_error(a, rv, err);
        goto out;
    }
    follow(x, p, st, a);
out:
    sce_run_started_free(st);
    sce_language_list_free(langs);
    piston_request_free(p);
}

void gw_route_piston(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    if (r->id == GW_ROUTE_PISTON_RUNTIMES)
        answer_runtimes(x, a);
    else
        answer_execute(x, a);
}
