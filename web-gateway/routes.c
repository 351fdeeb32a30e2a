/*
 * routes.c - the route table of routes.h and the answers of POST /run,
 * GET /sce/languages and GET /healthz; the project routes are passed on to
 * routes_project.c with the rate limit and the caller.
 *
 * This file decides what each API route answers; what the JSON says is up
 * to json.c, and what a run does is up to the server, whose errors are
 * mapped to statuses by gw_json_http_status() (through gw_answer).
 *
 * Threads: any request thread; no state of its own.  Errors: every path
 * fills the gw_answer.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client_key.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/utf8.h"
#include "gateway_limits.h"
#include "json.h"
#include "metrics.h"
#include "routes_judge0.h"
#include "routes_piston.h"
#include "routes_project.h"
#include "sce/err.h"

static const gw_route routes[] = {
    {"/run", GW_ROUTE_RUN, "POST", "POST, OPTIONS", 0, 1, 0, 0, 0},
    {"/sce/languages", GW_ROUTE_LANGUAGES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/healthz", GW_ROUTE_HEALTH, "GET, HEAD", "GET, HEAD, OPTIONS", 1, 0, 0, 0, 0},
    {"/", GW_ROUTE_PAGE, "GET, HEAD", "GET, HEAD", 1, 0, 1, 0, 0},
    {"/assets/", GW_ROUTE_ASSET, "GET, HEAD", "GET, HEAD", 1, 0, 1, 0, 0},
    {"/run-zip", GW_ROUTE_RUN_ZIP, "POST", "POST, OPTIONS", 0, 0, 0, 0, 0},
    {"/run-batch", GW_ROUTE_RUN_BATCH, "POST", "POST, OPTIONS", 0, 1, 0, 0, 0},
    {"/history", GW_ROUTE_HISTORY, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/history/", GW_ROUTE_HISTORY_ENTRY, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/metrics", GW_ROUTE_METRICS, "GET, HEAD", "GET, HEAD, OPTIONS", 1, 0, 0, 0, 0},
    {"/runs/", GW_ROUTE_RUNS, "POST", "POST, OPTIONS", 0, 0, 0, 1, 0},
    /* Piston v2, at its own paths and under the public instance's prefix. */
    {"/api/v2/runtimes", GW_ROUTE_PISTON_RUNTIMES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0,
     0},
    {"/api/v2/piston/runtimes", GW_ROUTE_PISTON_RUNTIMES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0,
     0, 0, 0},
    {"/api/v2/execute", GW_ROUTE_PISTON_EXECUTE, "POST", "POST, OPTIONS", 0, 1, 0, 0, 1},
    {"/api/v2/piston/execute", GW_ROUTE_PISTON_EXECUTE, "POST", "POST, OPTIONS", 0, 1, 0, 0, 1},
    /* Judge0 CE. */
    {"/languages", GW_ROUTE_J0_LANGUAGES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/languages/", GW_ROUTE_J0_LANGUAGES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/statuses", GW_ROUTE_J0_STATUSES, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/about", GW_ROUTE_J0_INFO, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/config_info", GW_ROUTE_J0_INFO, "GET, HEAD", "GET, HEAD, OPTIONS", 0, 0, 0, 0, 0},
    {"/submissions", GW_ROUTE_J0_SUBMISSIONS, "GET, HEAD, POST", "GET, HEAD, POST, OPTIONS", 0, 1,
     0, 0, 1},
    {"/submissions/", GW_ROUTE_J0_SUBMISSIONS, "GET, HEAD, POST", "GET, HEAD, POST, OPTIONS", 0, 1,
     0, 0, 1},
};

const char *gw_routes_label(const gw_route *r)
{
    if (r == NULL)
        return "other";
    switch (r->id) {
    case GW_ROUTE_PAGE:
        return "page";
    case GW_ROUTE_ASSET:
        return "asset";
    case GW_ROUTE_HISTORY_ENTRY:
        return "/history/{id}";
    case GW_ROUTE_RUNS:
        return "/runs/{id}";
    case GW_ROUTE_PISTON_RUNTIMES:
        return "/api/v2/runtimes";
    case GW_ROUTE_PISTON_EXECUTE:
        return "/api/v2/execute";
    case GW_ROUTE_J0_LANGUAGES:
        return strcmp(r->path, "/languages/") == 0 ? "/languages/{id}" : r->path;
    case GW_ROUTE_J0_SUBMISSIONS:
        return strcmp(r->path, "/submissions/") == 0 ? "/submissions/{token}" : r->path;
    default:
        return r->path;
    }
}

const gw_route *gw_routes_find(const char *url)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const gw_route *r = &routes[i];
        size_t n = strlen(r->path);

        if (strcmp(url, r->path) == 0)
            return r;
        if (n > 1 && r->path[n - 1] == '/' && strncmp(url, r->path, n) == 0 && url[n] != '\0')
            return r;
    }
    return NULL;
}

int gw_routes_method_allowed(const gw_route *r, const char *method)
{
    size_t n = strlen(method);

    /* r->allow is a list like "GET, HEAD, POST". */
    for (const char *p = r->allow; (p = strstr(p, method)) != NULL; p += n) {
        if ((p == r->allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return 1;
    }
    return 0;
}

const char *gw_routes_allow(const gw_route *r, int cors_on)
{
    return cors_on ? r->allow_cors : r->allow;
}

int gw_routes_anonymous(const gw_route *r, const char *method, int cors_on)
{
    if (r == NULL)
        return 0;
    return r->anonymous || (cors_on && strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0);
}

/* A path for an error message, cut at GW_ERROR_PATH_MAX bytes.  Unlike
 * sce_ascii_shown(), it keeps non-ASCII text: gw_json_error() makes the
 * message valid UTF-8 on one line. */
static void shown_path(char *out, size_t outlen, const char *url)
{
    size_t n = strlen(url);

    snprintf(out, outlen, "%.*s%s", (int)(n > GW_ERROR_PATH_MAX ? GW_ERROR_PATH_MAX : n), url,
             n > GW_ERROR_PATH_MAX ? "..." : "");
}

void gw_routes_not_found(gw_answer *a, const char *method, const char *url)
{
    char msg[GW_ERROR_PATH_MAX + 64], shown[GW_ERROR_PATH_MAX + 4];

    shown_path(shown, sizeof(shown), url);
    snprintf(msg, sizeof(msg), "no route for %s %s", method, shown);
    gw_answer_error(a, MHD_HTTP_NOT_FOUND, SCE_ERR_NOT_FOUND, msg);
}

void gw_routes_not_allowed(gw_answer *a, const gw_route *r, const char *method, const char *url,
                           int cors_on)
{
    char msg[GW_ERROR_PATH_MAX + 128], shown[GW_ERROR_PATH_MAX + 4];

    shown_path(shown, sizeof(shown), url);
    snprintf(msg, sizeof(msg), "method %s is not allowed for %s; allowed: %s", method, shown,
             gw_routes_allow(r, cors_on));
    gw_answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED, SCE_ERR_UNIMPLEMENTED, msg);
    gw_answer_header(a, MHD_HTTP_HEADER_ALLOW, gw_routes_allow(r, cors_on));
}

/* ------------------------------------------------------------ the client */

/* A client of the rate limiter is its key (client_key.h): an IPv6 /64 is
 * one client, so hopping between its addresses does not buy more runs. */
void gw_routes_client_key(const gw_route_ctx *x, unsigned char key[GW_CLIENT_KEY_BYTES])
{
    const union MHD_ConnectionInfo *ci;
    const char *h;

    memset(key, 0, GW_CLIENT_KEY_BYTES);
    if (x->client_ip_header != NULL &&
        (h = MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, x->client_ip_header)) != NULL &&
        gw_client_key_from_header(h, key) == 0)
        return;
    ci = MHD_get_connection_info(x->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    /* Anything but IPv4 and IPv6 gets the zero key, shared by all such. */
    gw_client_key_from_sockaddr(ci != NULL ? ci->client_addr : NULL, key);
}

/* The client's key as text, for the live-run caps (live.h). */
static void client_key_text(const gw_route_ctx *x, char *out, size_t outlen)
{
    unsigned char key[GW_CLIENT_KEY_BYTES];

    gw_routes_client_key(x, key);
    sce_hex(out, outlen, key, sizeof(key));
}

/* The rate limit, as routes_project.c asks for it (gw_admit_fn). */
static int admit_cb(void *arg, size_t runs, unsigned *retry_s, char *msg, size_t msglen)
{
    const gw_route_ctx *x = arg;
    unsigned char key[GW_CLIENT_KEY_BYTES];

    if (x->rate == NULL)
        return 1;
    gw_routes_client_key(x, key);
    if (gw_rate_take(x->rate, key, runs, sce_clock_ms(), retry_s, msg, msglen))
        return 1;
    gw_metrics_refused(x->metrics, "rate_limit");
    return 0;
}

/* The caller as the routes see it: without tokens, or with the single
 * token of before tenants, no tenant and the whole history. */
gw_caller gw_routes_caller(const gw_route_ctx *x)
{
    gw_caller who = {NULL, 1};

    if (x->tenant != NULL && x->tenant->name != NULL) {
        who.tenant = x->tenant->name;
        who.sees_all = x->tenant->admin;
    }
    return who;
}

int gw_routes_admit(const gw_route_ctx *x, size_t runs, gw_answer *a)
{
    return gw_answer_admitted(admit_cb, (void *)x, runs, a);
}

/* ------------------------------------------------------------ API */

static void answer_languages(const gw_route_ctx *x, gw_answer *a)
{
    sce_language_list *l = NULL;
    char err[512];
    int rv = gw_backends_languages(x->backends, &l, err, sizeof(err));

    if (rv != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        return;
    }
    gw_answer_ok(a, MHD_HTTP_OK, sce_json_languages(l), NULL, NULL);
    sce_language_list_free(l);
}

static void answer_health(const gw_route_ctx *x, gw_answer *a)
{
    gw_backends_snapshot *snap = NULL;
    unsigned status = MHD_HTTP_SERVICE_UNAVAILABLE;
    json_t *body;

    /* Fresh polls: a server stopped a moment ago shows as down. */
    if (gw_backends_snapshot_take(x->backends, GW_HEALTHZ_FRESH_WAIT_MS, &snap) != SCE_OK) {
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_NO_MEMORY, "out of memory");
        return;
    }
    body = gw_json_health_backends(snap, &status);
    gw_answer_ok(a, status, body, NULL, status != MHD_HTTP_OK ? "no backend can run code" : NULL);
    gw_backends_snapshot_free(snap);
}

/* ------------------------------------------------------------ streamed runs */

/* 1 when the client asks for Server-Sent Events: text/event-stream, any
 * case, is among the types of its Accept header. */
static int wants_stream(const gw_route_ctx *x)
{
    static const char type[] = "text/event-stream";
    const char *accept = MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

    if (accept == NULL || x->stream == NULL || x->live == NULL)
        return 0;
    for (const char *p = accept; *p != '\0'; p++)
        if (strncasecmp(p, type, sizeof(type) - 1) == 0)
            return 1;
    return 0;
}

/* Starts req as a followed run and makes its stream (*x->stream), or
 * answers why not: the client's live-run caps (429), its rate limit (429),
 * the server's refusal. */
static void start_stream(const gw_route_ctx *x, const sce_run_request *req, gw_answer *a)
{
    char key[2 * GW_CLIENT_KEY_BYTES + 1], err[1024];
    const union MHD_ConnectionInfo *ci;
    sce_run_started *st = NULL;
    gw_sse_config cfg;
    int rv;

    client_key_text(x, key, sizeof(key));
    if ((rv = gw_live_acquire(x->live, key, err, sizeof(err))) != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        return;
    }
    if (!gw_answer_admitted(admit_cb, (void *)x, 1, a))
        goto fail;
    if ((rv = gw_backends_run_start(x->backends, req, &st, err, sizeof(err))) != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        goto fail;
    }
    ci = MHD_get_connection_info(x->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    memset(&cfg, 0, sizeof(cfg));
    cfg.backends = x->backends;
    cfg.live = x->live;
    cfg.client_key = key;
    cfg.tenant = req->tenant;
    cfg.fd = ci != NULL ? ci->connect_fd : -1;
    if (gw_sse_new(&cfg, st, x->stream) != SCE_OK) {
        gw_backends_run_cancel(x->backends, st->run_id, req->tenant, err, sizeof(err));
        sce_run_started_free(st);
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    gw_answer_ok(a, MHD_HTTP_OK, json_object(), st->request_id, "streamed");
    return;
fail:
    gw_live_release(x->live, key);
}

/* POST /runs/{id}/stdin and /runs/{id}/cancel: the id and the action from
 * the path; 0 when it is neither. */
static int runs_path(const char *rest, char *id, size_t idlen, const char **action)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash != NULL ? (size_t)(slash - rest) : 0;

    if (n == 0 || n >= idlen || strspn(rest, "0123456789abcdefABCDEF") != n)
        return 0;
    *action = slash + 1;
    if (strcmp(*action, "stdin") != 0 && strcmp(*action, "cancel") != 0)
        return 0;
    memcpy(id, rest, n);
    id[n] = '\0';
    return 1;
}

/* A followed run's stdin and cancel: auth and tenant as for /run, no rate
 * limit (they start nothing, and a live run needs its stdin). */
static void answer_runs(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    const char *action = NULL, *close;
    char id[SCE_RUN_ID_MAX + 1], err[1024], shown[GW_ERROR_PATH_MAX + 4];
    const char *tenant = gw_routes_caller(x).tenant;
    int rv;

    if (!runs_path(x->url + strlen(r->path), id, sizeof(id), &action)) {
        gw_answer_error(a, MHD_HTTP_NOT_FOUND, SCE_ERR_NOT_FOUND,
                        "no such route: POST /runs/{id}/stdin or /runs/{id}/cancel, where {id} is "
                        "a run id from a streamed run's start event");
        return;
    }
    if (strcmp(action, "cancel") == 0) {
        rv = gw_backends_run_cancel(x->backends, id, tenant, err, sizeof(err));
    } else if (x->body->len > GW_STDIN_BODY_MAX_BYTES) {
        gw_answer_too_large(a, x->body->len, GW_STDIN_BODY_MAX_BYTES);
        return;
    } else {
        close = MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "close");
        rv = gw_backends_run_stdin(x->backends, id, tenant, x->body->data, x->body->len,
                                   close != NULL && strcmp(close, "1") == 0, err, sizeof(err));
    }
    if (rv != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        return;
    }
    snprintf(shown, sizeof(shown), "run %s: %s", id, action);
    gw_answer_ok(a, MHD_HTTP_NO_CONTENT, json_object(), NULL, shown);
}

/* ------------------------------------------------------------ plain runs */

static void answer_run(const gw_route_ctx *x, gw_answer *a)
{
    gw_run_input in;
    sce_run_result *res = NULL;
    char err[1024];
    int rv;

    rv = gw_json_run_input(x->body->data, x->body->len, &in, err, sizeof(err));
    if (rv != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        return;
    }
    /* The body is parsed; its bytes are no longer needed while the run
     * takes its time. */
    sce_buf_free(x->body);
    in.req.tenant = gw_routes_caller(x).tenant;
    if (wants_stream(x))
        start_stream(x, &in.req, a);
    else if (gw_answer_admitted(admit_cb, (void *)x, 1, a)) {
        rv = gw_backends_run(x->backends, &in.req, &res, err, sizeof(err));
        gw_answer_run(a, rv, res, err);
    }
    gw_run_input_free(&in);
}

/* POST /run-zip as a stream: the project checked as a plain one is. */
static void answer_run_zip_stream(const gw_route_ctx *x, gw_answer *a)
{
    gw_caller who = gw_routes_caller(x);
    sce_run_request req;
    sce_bundle *b = NULL;

    if (gw_route_run_zip_request(x->upload, &who, &req, &b, a))
        start_stream(x, &req, a);
    sce_bundle_free(b);
}

void gw_routes_answer(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    gw_caller who = gw_routes_caller(x);
    void *arg = (void *)x;

    gw_answer_init(a);
    switch (r->id) {
    case GW_ROUTE_RUN:
        answer_run(x, a);
        return;
    case GW_ROUTE_RUN_BATCH:
        gw_route_run_batch(x->backends, x->body->data, x->body->len, admit_cb, arg, &who, a);
        return;
    case GW_ROUTE_RUN_ZIP:
        if (x->upload == NULL)
            gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                            "the upload was not read");
        else if (wants_stream(x))
            answer_run_zip_stream(x, a);
        else
            gw_route_run_zip(x->backends, x->upload, admit_cb, arg, &who, a);
        return;
    case GW_ROUTE_HISTORY:
        gw_route_history(x->backends,
                         MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "limit"),
                         MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "offset"),
                         MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "verdict"),
                         MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "language"),
                         MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "tenant"),
                         admit_cb, arg, &who, a);
        return;
    case GW_ROUTE_HISTORY_ENTRY:
        /* The id is what follows the route's prefix. */
        gw_route_history_entry(x->backends, x->url + strlen(r->path), admit_cb, arg, &who, a);
        return;
    case GW_ROUTE_LANGUAGES:
        answer_languages(x, a);
        return;
    case GW_ROUTE_HEALTH:
        answer_health(x, a);
        return;
    case GW_ROUTE_RUNS:
        answer_runs(r, x, a);
        return;
    case GW_ROUTE_PISTON_RUNTIMES:
    case GW_ROUTE_PISTON_EXECUTE:
        gw_route_piston(r, x, a);
        return;
    case GW_ROUTE_J0_LANGUAGES:
    case GW_ROUTE_J0_STATUSES:
    case GW_ROUTE_J0_INFO:
    case GW_ROUTE_J0_SUBMISSIONS:
        gw_route_judge0(r, x, a);
        return;
    case GW_ROUTE_PAGE:
    case GW_ROUTE_ASSET:
    case GW_ROUTE_METRICS:
        break;
    }
    gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                    "no API answer for this route");
}
