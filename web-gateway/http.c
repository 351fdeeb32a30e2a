/*
 * http.c - the daemon: libmicrohttpd's start, quiesce, drain and stop, the
 * life of each connection and request, and the one path every answer
 * takes to the socket.
 *
 * libmicrohttpd calls access_cb() several times per request: once when the
 * headers are in (on_headers: what can be refused from the headers alone),
 * then once per piece of body (appended to a capped buffer, or fed to the
 * multipart reader), then once more with no data (on_request: the route
 * answers).  completed_cb() ends every request, answered or not: it writes
 * the one log line and releases the request.  notify_connection_cb()
 * brackets each connection: counted by the guard (guard.h) and watched by
 * the slow-client watchdog (watchdog.h).
 *
 * Who decides what: the Host/Origin checks and connection caps are
 * guard.c's, the bearer token auth.c's, the route table, the API's answers
 * and the rate limit routes.c's (and routes_project.c's), the page's files
 * static.c's, what an answer is answer.c's, the JSON json.c's.  This file
 * decides when to answer and sends: every answer but a page file and a
 * CORS preflight is a gw_answer sent by send_answer(), which adds the
 * headers every answer carries (send_response()).
 *
 * A refusal decided from the headers (401, 403, a busy 503) is kept in the
 * request and, like a 413, answered only once the (small) body has been
 * read (gw_answer_before_body()): an answer sent while the client is still
 * sending would reach it as a reset.
 *
 * Threads: libmicrohttpd's, one per connection (MHD_USE_THREAD_PER_CONNECTION)
 * plus its listening thread; the watchdog's own.  `lock` guards the count
 * of requests in flight; everything else in http_server is fixed once
 * http_start() returns, or has its own lock (guard, rate limit, watchdog).
 * Ownership: a request's memory is its own and freed in completed_cb().
 * Errors: http_start() reports one line in the caller's buffer; a request
 * that cannot even be answered (out of memory) closes its connection.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "answer.h"
#include "auth.h"
#include "client_key.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "gateway_limits.h"
#include "guard.h"
#include "json.h"
#include "live.h"
#include "metrics.h"
#include "rate_limit.h"
#include "routes.h"
#include "routes_project.h"
#include "sce/err.h"
#include "sse.h"
#include "static.h"
#include "tenants.h"
#include "watchdog.h"
#include "ws.h"

/* The page may load only its own scripts, styles and images and talk only
 * to this gateway; nothing may frame it. */
#define CSP_PAGE                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "                   \
    "frame-ancestors 'none'"
/* Everything else is data, never a document: if a browser is tricked into
 * rendering it anyway, nothing in it may run. */
#define CSP_DATA "default-src 'none'; frame-ancestors 'none'"

/* Answer when even building the error failed (out of memory). */
static const char oom_body[] =
    "{\"error\":\"out of memory\",\"status\":\"error\",\"code\":\"INTERNAL\"}\n";

struct http_server {
    struct MHD_Daemon *d;
    gw_backends *backends;
    gw_metrics *metrics;
    size_t body_limit;
    char *cors_origin; /* NULL: CORS off */
    gw_static *page;
    MHD_socket listen_fd; /* ours after http_quiesce(); closed by http_stop() */
    atomic_int draining;
    int starting; /* libmicrohttpd's messages go to start_err */
    char start_err[256];
    pthread_mutex_t lock; /* guards inflight */
    pthread_cond_t idle;  /* monotonic (sce_cond_init) */
    size_t inflight;

    const gw_tenants *tenants; /* NULL: no authentication; borrowed from the config */
    gw_rate *rate;             /* NULL: no rate limit */
    char *client_ip_header;    /* NULL: the client is the TCP peer */
    gw_guard *guard;           /* Host, Origin, connections per client (guard.c) */
    gw_watchdog *watchdog;     /* slow clients (watchdog.c) */
    gw_live *live;             /* the live-run caps (live.c) */
};

/* One HTTP request, from its headers to completed_cb(). */
typedef struct http_request {
    http_server *srv;
    int64_t start_ms;
    const gw_route *route;
    char method[16];                /* for the log line and messages, printable */
    char path[GW_LOG_PATH_MAX + 4]; /* for the log line, printable */
    sce_buf body;                   /* limit: body_limit + 1, to notice overflow */
    gw_multipart *upload;           /* a POST /run-zip form, else NULL */
    size_t body_bytes;              /* received, kept or not */
    unsigned long long announced;   /* Content-Length, 0 if none */
    int wants_body;                 /* a JSON POST (/run, /run-batch) or a raw one (stdin): kept */
    int body_oom;
    gw_watch *watch;         /* its connection's entry; NULL if none */
    const gw_tenant *tenant; /* whose token it carries; NULL without tokens */
    gw_answer refusal;       /* decided from the headers, sent by on_request(); status 0: none */
    gw_sse *stream;          /* a streamed run's answer (sse.h): the request's reference */
    unsigned status;         /* what was answered, 0 if nothing */
    char request_id[40];     /* the server's, when known */
    char note[160];          /* why an error was answered, for the log; printable */
} http_request;

static void addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    const void *a = NULL;

    if (sa != NULL && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa != NULL && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) == NULL)
        snprintf(out, outlen, "?");
}

/* ------------------------------------------------------------ connections */

/* Registers each connection as it opens and forgets it before
 * libmicrohttpd closes its socket.  The guard counts it against the
 * connection caps (by the TCP peer, never a forwarded header): one over a
 * cap is kept only long enough to answer its first request 503
 * (on_headers), and one over even the caps of those is shut at once. */
static void notify_connection_cb(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    gw_watch *w = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int64_t within_ms = gw_watchdog_read_timeout_ms(s->watchdog);
        unsigned char key[GW_CLIENT_KEY_BYTES];
        char addr[INET6_ADDRSTRLEN];
        gw_admit admit;

        if (fd == NULL)
            return; /* unwatched: only the idle timeout applies to it */
        addr_text(ad != NULL ? ad->client_addr : NULL, addr, sizeof(addr));
        gw_client_key_from_sockaddr(ad != NULL ? ad->client_addr : NULL, key);
        admit = gw_guard_conn_open(s->guard, key);
        if (admit == GW_ADMIT_DROP) {
            SCE_LOG(SCE_LOG_INFO, NULL, "%s: over every connection cap; closed without an answer",
                    addr);
            shutdown(fd->connect_fd, SHUT_RDWR);
        }
        if (admit != GW_ADMIT_SERVE && within_ms > GW_BUSY_READ_TIMEOUT_MS)
            within_ms = GW_BUSY_READ_TIMEOUT_MS;
        w = gw_watchdog_add(s->watchdog, fd->connect_fd, addr, key, admit, within_ms);
        if (w == NULL) { /* out of memory: unwatched and uncounted */
            gw_guard_conn_close(s->guard, key, admit);
            return;
        }
        *socket_context = w;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && w != NULL) {
        gw_guard_conn_close(s->guard, w->key, w->admit);
        gw_watchdog_remove(s->watchdog, w);
        *socket_context = NULL;
    }
}

/* ------------------------------------------------------------ answers */

/* CORS headers, when configured and the request's Origin is the allowed
 * one ("*" allows any). */
static void add_cors(http_request *rq, struct MHD_Connection *c, struct MHD_Response *resp)
{
    const char *allowed = rq->srv->cors_origin;
    const char *origin;

    if (allowed == NULL)
        return;
    if (strcmp(allowed, "*") == 0) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
        return;
    }
    /* The answer depends on Origin, so caches must keep them apart. */
    MHD_add_response_header(resp, "Vary", "Origin");
    origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin != NULL && strcmp(origin, allowed) == 0)
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", allowed);
}

/* Adds the headers every answer carries, queues resp and releases it. */
static enum MHD_Result send_response(http_request *rq, struct MHD_Connection *c, unsigned status,
                                     struct MHD_Response *resp, int html)
{
    enum MHD_Result ret;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy", html ? CSP_PAGE : CSP_DATA);
    add_cors(rq, c, resp);
    if (atomic_load(&rq->srv->draining) ||
        (rq->watch != NULL && rq->watch->admit != GW_ADMIT_SERVE))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        rq->status = status;
        gw_watchdog_set(rq->srv->watchdog, rq->watch, 0); /* answered: no longer reading */
    }
    return ret;
}

/* The one path of every JSON answer, errors included: sends *a, whose body
 * it takes (a NULL body, out of memory, is answered with a fixed 500). */
static enum MHD_Result send_answer(http_request *rq, struct MHD_Connection *c, gw_answer *a)
{
    struct MHD_Response *resp;
    json_t *body = a->body;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    unsigned status = a->status;
    const char *hname = a->header_name;
    size_t len;

    a->body = NULL;
    json_decref(body);
    snprintf(rq->request_id, sizeof(rq->request_id), "%s", a->request_id);
    snprintf(rq->note, sizeof(rq->note), "%s", a->note);
    if (text != NULL) {
        /* A final newline, so that curl leaves the shell prompt alone. */
        char *t;

        len = strlen(text);
        if ((t = realloc(text, len + 2)) == NULL) {
            free(text);
            text = NULL;
        } else {
            text = t;
            text[len++] = '\n';
            text[len] = '\0';
        }
    }
    if (status == MHD_HTTP_NO_CONTENT && text != NULL) {
        free(text); /* a 204 has no body */
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
            return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        return send_response(rq, c, status, resp, 0);
    }
    if (text == NULL) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        hname = NULL;
        resp = MHD_create_response_from_buffer(sizeof(oom_body) - 1, (void *)oom_body,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL)
            free(text);
    }
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (hname != NULL)
        MHD_add_response_header(resp, hname, a->header_value);
    return send_response(rq, c, status, resp, 0);
}

/* A streamed run's answer (sse.h): events as the run goes, pulled by
 * libmicrohttpd from gw_sse_read_cb() on this connection's thread.  The
 * connection's idle timeout is turned off for it (a quiet program sends a
 * keep-alive every GW_SSE_KEEPALIVE_MS, and the stream itself notices a
 * client gone), and the connection closes after it, so that no kept-alive
 * connection lives on without a timeout.  The watchdog's deadline is
 * already off: the request is in. */
static enum MHD_Result send_stream(http_request *rq, struct MHD_Connection *c, gw_answer *a)
{
    struct MHD_Response *resp;

    snprintf(rq->request_id, sizeof(rq->request_id), "%s", a->request_id);
    gw_answer_clear(a);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, gw_sse_read_cb, rq->stream,
                                             gw_sse_free_cb);
    if (resp == NULL) {
        gw_sse_free_cb(rq->stream); /* the response's reference; completed_cb drops ours */
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events on at once */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    return send_response(rq, c, MHD_HTTP_OK, resp, 0);
}

/* An error answer of the gateway's own (gw_answer_error()), sent. */
static enum MHD_Result send_error(http_request *rq, struct MHD_Connection *c, unsigned status,
                                  int err, const char *message)
{
    gw_answer a;

    gw_answer_init(&a);
    gw_answer_error(&a, status, err, message);
    return send_answer(rq, c, &a);
}

/* 413, with the size when the client announced it. */
static enum MHD_Result send_too_large(http_request *rq, struct MHD_Connection *c)
{
    gw_answer a;

    gw_answer_init(&a);
    gw_answer_too_large(&a, rq->announced, rq->srv->body_limit);
    return send_answer(rq, c, &a);
}

/* A file of the page, or its 404/503. */
static enum MHD_Result send_static(http_request *rq, struct MHD_Connection *c, const char *url)
{
    const gw_static_file *f;
    struct MHD_Response *resp;
    gw_answer a;

    gw_answer_init(&a);
    if ((f = gw_static_lookup(rq->srv->page, rq->method, url, &a)) == NULL)
        return send_answer(rq, c, &a);
    resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    /* Names are not content-hashed, so every use revalidates. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return send_response(rq, c, MHD_HTTP_OK, resp, f->is_html);
}

/* GET /metrics: the Prometheus text (metrics.h), the backends as they
 * are now (no fresh poll: a scrape must not wait). */
static enum MHD_Result send_metrics(http_request *rq, struct MHD_Connection *c)
{
    gw_backends_snapshot *snap = NULL;
    gw_backend_view *views = NULL;
    struct MHD_Response *resp;
    char *text = NULL;
    size_t len = 0;
    int rv = gw_backends_snapshot_take(rq->srv->backends, 0, &snap);

    if (rv == SCE_OK && (views = calloc(snap->count ? snap->count : 1, sizeof(*views))) == NULL)
        rv = SCE_ERR_NO_MEMORY;
    for (size_t i = 0; rv == SCE_OK && i < snap->count; i++) {
        const gw_backend_state *b = &snap->items[i];

        views[i] = (gw_backend_view){b->url, b->up, b->in_flight, b->runs, b->failures, b->health};
    }
    if (rv == SCE_OK)
        rv = gw_metrics_render(rq->srv->metrics, views, snap->count, &text, &len);
    free(views);
    gw_backends_snapshot_free(snap);
    if (rv != SCE_OK)
        return send_error(rq, c, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_NO_MEMORY,
                          "out of memory");
    if ((resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE)) == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, GW_METRICS_CONTENT_TYPE);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return send_response(rq, c, MHD_HTTP_OK, resp, 0);
}

/* A CORS preflight; answered for API routes only, and only when CORS is on. */
static enum MHD_Result send_preflight(http_request *rq, struct MHD_Connection *c)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", rq->route->allow_cors);
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            rq->srv->tenants != NULL ? "Content-Type, Authorization"
                                                     : "Content-Type");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    return send_response(rq, c, MHD_HTTP_NO_CONTENT, resp, 0);
}

/* ------------------------------------------------------------ requests */

/* The refusal now in rq->refusal (401, 403, busy 503).  It is sent at once
 * when gw_answer_before_body() says so; otherwise the body is read,
 * dropped, and the refusal sent by on_request(). */
static enum MHD_Result refuse(http_request *rq, struct MHD_Connection *c)
{
    rq->wants_body = 0;
    if (gw_answer_before_body(c, rq->announced, rq->srv->body_limit))
        return send_answer(rq, c, &rq->refusal);
    return MHD_YES;
}

/* What can be refused from the headers alone, before any body is read: a
 * busy connection, a foreign Host or Origin, a missing or wrong token, a
 * JSON POST of the wrong type or announced too large (a client that sent
 * Expect: 100-continue then never sends it at all), a /run-zip form that
 * cannot be read.  libmicrohttpd closes the connection after such an early
 * answer, so everything else is answered in on_request(), which keeps the
 * connection alive. */
static enum MHD_Result on_headers(http_request *rq, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    http_server *s = rq->srv;
    char msg[GW_ERROR_MESSAGE_MAX], www[96], shown_ct[80];
    const char *ct, *cl, *host, *origin;
    unsigned status;

    if (atomic_load(&s->draining))
        return send_error(rq, c, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE,
                          "the gateway is shutting down");
    rq->route = gw_routes_find(url);
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    rq->announced = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    if (rq->watch != NULL && rq->watch->admit != GW_ADMIT_SERVE) {
        gw_guard_busy_message(s->guard, rq->watch->admit, msg, sizeof(msg));
        gw_answer_error_retry(&rq->refusal, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE, msg,
                              GW_BUSY_RETRY_AFTER_S);
        gw_metrics_refused(s->metrics, "connections");
        return refuse(rq, c);
    }
    /* /healthz and /metrics answer any Host, for load balancers and
     * scrapers that come by address. */
    host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if ((rq->route == NULL ||
         (rq->route->id != GW_ROUTE_HEALTH && rq->route->id != GW_ROUTE_METRICS)) &&
        (status = gw_guard_check(s->guard, method, host, origin, msg, sizeof(msg))) != 0) {
        gw_answer_error(&rq->refusal, status, SCE_ERR_PERMISSION_DENIED, msg);
        return refuse(rq, c);
    }
    if (s->tenants != NULL && !gw_routes_anonymous(rq->route, method, s->cors_origin != NULL) &&
        gw_auth_check(
            s->tenants,
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            &rq->tenant, msg, sizeof(msg), www, sizeof(www)) != 0) {
        gw_answer_error(&rq->refusal, MHD_HTTP_UNAUTHORIZED, SCE_ERR_UNAUTHENTICATED, msg);
        gw_answer_header(&rq->refusal, MHD_HTTP_HEADER_WWW_AUTHENTICATE, www);
        gw_metrics_refused(s->metrics, "unauthenticated");
        return refuse(rq, c);
    }
    if (rq->route == NULL || strcmp(method, MHD_HTTP_METHOD_POST) != 0)
        return MHD_YES;
    if (rq->route->id == GW_ROUTE_RUN_ZIP) {
        status = MHD_HTTP_BAD_REQUEST;
        int rv = gw_route_run_zip_begin(c, rq->announced, &rq->upload, &status, msg, sizeof(msg));

        return rv == SCE_OK ? MHD_YES : send_error(rq, c, status, rv, msg);
    }
    if (rq->route->raw_body) {
        /* Any Content-Type: the bytes go to a program's stdin as they are. */
        rq->wants_body = 1;
        if (rq->announced > s->body_limit &&
            gw_answer_before_body(c, rq->announced, s->body_limit + GW_BODY_DISCARD_MAX_BYTES))
            return send_too_large(rq, c);
        return MHD_YES;
    }
    if (!rq->route->json_body)
        return MHD_YES;
    rq->wants_body = 1;
    ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!rq->route->json_any_type && !gw_json_content_type_ok(ct)) {
        if (ct == NULL) {
            snprintf(msg, sizeof(msg), "Content-Type: missing; expected application/json");
        } else {
            sce_ascii_shown(shown_ct, sizeof(shown_ct), ct, 64);
            snprintf(msg, sizeof(msg), "Content-Type: expected application/json, got '%s'",
                     shown_ct);
        }
        return send_error(rq, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, SCE_ERR_INVALID_ARGUMENT, msg);
    }
    /* A client waiting for "100 Continue" gets the 413 instead and sends
     * nothing.  One already sending would see the connection reset under it
     * (libmicrohttpd closes without reading on), often before it reads the
     * answer; so a body within reach is read to its end and refused in
     * on_request(), and only a huge one is refused at once. */
    if (rq->announced > s->body_limit &&
        gw_answer_before_body(c, rq->announced, s->body_limit + GW_BODY_DISCARD_MAX_BYTES))
        return send_too_large(rq, c);
    return MHD_YES;
}

/* The whole request is in: route it. */
static enum MHD_Result on_request(http_request *rq, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    http_server *s = rq->srv;
    int cors_on = s->cors_origin != NULL;
    gw_route_ctx x;
    gw_answer a;

    if (rq->refusal.status != 0)
        return send_answer(rq, c, &rq->refusal);
    gw_answer_init(&a);
    if (rq->route == NULL && gw_ws_is_connect(url)) { /* GET /api/v2/connect, a WebSocket (ws.h) */
        gw_route_ctx wx = {.backends = s->backends,
                           .metrics = s->metrics,
                           .c = c,
                           .url = url,
                           .method = method,
                           .tenant = rq->tenant,
                           .rate = s->rate,
                           .live = s->live,
                           .client_ip_header = s->client_ip_header};
        struct MHD_Response *up = gw_ws_connect(&wx, s->guard, method, &a);

        return up != NULL ? send_response(rq, c, MHD_HTTP_SWITCHING_PROTOCOLS, up, 0)
                          : send_answer(rq, c, &a);
    }
    if (rq->route == NULL) {
        gw_routes_not_found(&a, rq->method, url);
        return send_answer(rq, c, &a);
    }
    if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0 && cors_on && !rq->route->is_static)
        return send_preflight(rq, c);
    if (!gw_routes_method_allowed(rq->route, method)) {
        gw_routes_not_allowed(&a, rq->route, rq->method, url, cors_on);
        return send_answer(rq, c, &a);
    }
    if (rq->route->is_static)
        return send_static(rq, c, url);
    if (rq->route->id == GW_ROUTE_METRICS)
        return send_metrics(rq, c);
    if (rq->route->json_body || rq->route->raw_body) {
        if (rq->body_oom)
            return send_error(rq, c, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                              "out of memory reading the body");
        if (rq->announced > s->body_limit || rq->body.truncated)
            return send_too_large(rq, c);
    }
    memset(&x, 0, sizeof(x));
    x.backends = s->backends;
    x.metrics = s->metrics;
    x.c = c;
    x.url = url;
    x.method = method;
    x.body = &rq->body;
    x.upload = rq->upload;
    x.tenant = rq->tenant;
    x.rate = s->rate;
    x.client_ip_header = s->client_ip_header;
    x.live = s->live;
    x.stream = &rq->stream;
    gw_routes_answer(rq->route, &x, &a);
    if (rq->stream != NULL)
        return send_stream(rq, c, &a);
    return send_answer(rq, c, &a);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    http_server *s = cls;
    http_request *rq = *req_cls;
    size_t n = *upload_data_size;
    const union MHD_ConnectionInfo *ci;

    (void)version;
    if (rq == NULL) {
        if ((rq = calloc(1, sizeof(*rq))) == NULL)
            return MHD_NO;
        rq->srv = s;
        rq->start_ms = sce_clock_ms();
        sce_ascii_shown(rq->method, sizeof(rq->method), method, sizeof(rq->method) - 5);
        sce_ascii_shown(rq->path, sizeof(rq->path), url, GW_LOG_PATH_MAX);
        sce_buf_init(&rq->body, s->body_limit + 1);
        gw_answer_init(&rq->refusal);
        ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        rq->watch = ci != NULL ? ci->socket_context : NULL;
        *req_cls = rq;
        pthread_mutex_lock(&s->lock);
        s->inflight++;
        pthread_mutex_unlock(&s->lock);
        return on_headers(rq, c, url, method);
    }
    if (n == 0) {
        /* The whole request is in: the time to answer is the run's. */
        gw_watchdog_set(s->watchdog, rq->watch, 0);
        return rq->status != 0 ? MHD_YES : on_request(rq, c, url, method);
    }
    *upload_data_size = 0;
    /* libmicrohttpd cannot answer in the middle of a body, so a streamed
     * body past the cap is read to its end (only counted) for its 413; a
     * client that keeps sending far beyond that is cut off. */
    rq->body_bytes += n;
    if (rq->refusal.status != 0 && rq->body_bytes > s->body_limit) {
        snprintf(rq->note, sizeof(rq->note), "refused, and its body went on; connection dropped");
        return MHD_NO;
    }
    if (rq->body_bytes > s->body_limit + GW_BODY_DISCARD_MAX_BYTES) {
        snprintf(rq->note, sizeof(rq->note), "body far over the limit; connection dropped");
        return MHD_NO;
    }
    if (rq->wants_body && rq->status == 0 && rq->announced <= s->body_limit &&
        !rq->body.truncated && !rq->body_oom && sce_buf_append(&rq->body, upload_data, n) != SCE_OK)
        rq->body_oom = 1;
    if (rq->upload != NULL && rq->status == 0)
        gw_multipart_feed(rq->upload, upload_data, n);
    return MHD_YES;
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_request *rq = *req_cls;
    const char *how = "";

    (void)c;
    if (rq == NULL)
        return;
    if (rq->stream != NULL) {
        /* A stream cut short (a client gone, an error, the gateway
         * stopping) cancels its run now; the response's free callback
         * may come later. */
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            gw_sse_abandon(rq->stream);
        gw_sse_note(rq->stream, rq->note, sizeof(rq->note));
        gw_sse_release(rq->stream);
        rq->stream = NULL;
    }
    if (gw_watchdog_request_done(s->watchdog, rq->watch))
        how = " (cut off: the request did not arrive within read_timeout)";
    else if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
        how = " (connection timed out)";
    else if (toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT)
        how = " (client went away)";
    else if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
        how = " (gateway stopped)";
    else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        how = " (connection error)";
    SCE_LOG(rq->status >= 500 ? SCE_LOG_WARN : SCE_LOG_INFO, rq->request_id,
            "%s %s %u %lld ms%s%s%s", rq->method, rq->path, rq->status,
            (long long)(sce_clock_ms() - rq->start_ms), how, rq->note[0] ? ": " : "", rq->note);
    if (rq->status != 0)
        gw_metrics_http(s->metrics, gw_routes_label(rq->route), rq->status,
                        (double)(sce_clock_ms() - rq->start_ms) / 1000.0);
    sce_buf_free(&rq->body);
    gw_multipart_free(rq->upload);
    gw_answer_clear(&rq->refusal);
    free(rq);
    *req_cls = NULL;
    pthread_mutex_lock(&s->lock);
    if (--s->inflight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd's own complaints (a port in use, a malformed request). */
static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    char line[512];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (s->starting)
        snprintf(s->start_err, sizeof(s->start_err), "%s", line);
    SCE_LOG(SCE_LOG_WARN, NULL, "libmicrohttpd: %s", line);
}

/* ------------------------------------------------------------ lifecycle */

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *family,
                        uint16_t *port_out, char *err, size_t errlen)
{
    char host[256];
    const char *port;
    struct addrinfo hints, *res = NULL;
    int grv;

    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(end - listen - 1), listen + 1);
        port = end + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
            goto bad;
        snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    if (*port == '\0' || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
        goto bad;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    grv = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (grv != 0) {
        sce_seterr(err, errlen, "listen: cannot resolve '%s': %s", host, gai_strerror(grv));
        return SCE_ERR_INVALID_ARGUMENT;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *family = res->ai_family;
    *port_out = (uint16_t)atoi(port);
    freeaddrinfo(res);
    return SCE_OK;
bad:
    sce_seterr(err, errlen,
               "listen: expected ADDR:PORT (e.g. 127.0.0.1:8080, [::1]:8080), got '%s'", listen);
    return SCE_ERR_INVALID_ARGUMENT;
}

/* The live-run caps as they apply: a live run holds a connection's thread
 * for its run's length, so at most max_connections - 1 of them (plain
 * requests, and the live runs' own stdin and cancel POSTs, keep a thread),
 * and one client at most max_connections_per_ip - 1 (it keeps a
 * connection for their stdin).  Lowered ones are logged. */
static void live_caps(const http_config *cfg, unsigned *total, unsigned *per_client)
{
    unsigned t = *total, p = *per_client;

    if (cfg->max_connections > 0 && t >= cfg->max_connections)
        t = cfg->max_connections - 1;
    if (cfg->max_connections_per_ip > 0 && p >= cfg->max_connections_per_ip)
        p = cfg->max_connections_per_ip - 1;
    if (p > t)
        p = t;
    if (t != *total || p != *per_client)
        SCE_LOG(SCE_LOG_WARN, NULL,
                "live runs: at most %u at once and %u per client (max_live_runs %u and "
                "max_live_runs_per_client %u lowered below the connection caps)",
                t, p, *total, *per_client);
    *total = t;
    *per_client = p;
}

int http_start(const http_config *cfg, gw_backends *backends, gw_metrics *metrics,
               http_server **out, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    unsigned burst = cfg->rate_burst > 0 ? cfg->rate_burst : 1;
    unsigned live_total, live_per_client;
    int family = AF_INET, rv;
    uint16_t port = 0;

    if (s == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    s->backends = backends;
    s->metrics = metrics;
    s->body_limit = cfg->body_limit_bytes;
    s->listen_fd = MHD_INVALID_SOCKET;
    s->tenants = cfg->tenants;
    atomic_init(&s->draining, 0);
    pthread_mutex_init(&s->lock, NULL);
    sce_cond_init(&s->idle);
    if ((cfg->cors_origin != NULL && cfg->cors_origin[0] != '\0' &&
         (s->cors_origin = strdup(cfg->cors_origin)) == NULL) ||
        (cfg->client_ip_header != NULL && cfg->client_ip_header[0] != '\0' &&
         (s->client_ip_header = strdup(cfg->client_ip_header)) == NULL) ||
        gw_rate_new(cfg->rate_limit_per_s, burst, &s->rate) != SCE_OK) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    {
        gw_guard_config gc = {cfg->listen, cfg->allowed_hosts, cfg->cors_origin,
                              cfg->max_connections, cfg->max_connections_per_ip};

        if ((rv = gw_guard_new(&gc, &s->guard, err, errlen)) != SCE_OK)
            goto out; /* err names the option */
    }
    if ((rv = gw_static_load(cfg->static_dir, &s->page, err, errlen)) != SCE_OK)
        goto out;
    if ((rv = parse_listen(cfg->listen, &ss, &family, &port, err, errlen)) != SCE_OK)
        goto out;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if ((rv = gw_watchdog_start(cfg->read_timeout_ms, &s->watchdog, err, errlen)) != SCE_OK)
        goto out;
    live_total = cfg->max_live_runs;
    live_per_client = cfg->max_live_runs_per_client;
    live_caps(cfg, &live_total, &live_per_client);
    if ((s->live = gw_live_new(live_total, live_per_client, metrics)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    s->starting = 1;
    /* The port is taken from the address; passing it too only makes
     * libmicrohttpd's messages name it.  The logger comes first so that it
     * sees the other options' errors.  The connection's memory holds the
     * request line and headers (and a window of the body): a request whose
     * headers do not fit is refused by libmicrohttpd itself (431).  The
     * connection caps are the guard's, which answers 503 over them;
     * libmicrohttpd's own would close the socket without a word, so it
     * gets no per-address cap and a total with room for those answers. */
    s->d = MHD_start_daemon(flags, port, NULL, NULL, access_cb, s, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log_cb, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, gw_guard_connection_limit(s->guard),
                            MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->header_limit_bytes,
                            MHD_OPTION_NOTIFY_CONNECTION, notify_connection_cb, s,
                            MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s, MHD_OPTION_END);
    s->starting = 0;
    if (s->d == NULL) {
        sce_seterr(err, errlen, "cannot serve HTTP on %s: %s", cfg->listen,
                   s->start_err[0] ? s->start_err : "libmicrohttpd refused to start");
        rv = SCE_ERR_UNAVAILABLE;
        goto out;
    }
    SCE_LOG(SCE_LOG_INFO, NULL,
            "serving HTTP on %s (body limit %zu bytes, header limit %zu bytes, %u connections, "
            "%u per address, %u live runs, %u per client, read timeout %lld ms, CORS %s)",
            cfg->listen, s->body_limit, cfg->header_limit_bytes, cfg->max_connections,
            cfg->max_connections_per_ip, live_total, live_per_client,
            (long long)cfg->read_timeout_ms,
            s->cors_origin ? s->cors_origin : "off");
    if (s->rate != NULL)
        SCE_LOG(SCE_LOG_INFO, NULL, "rate limit: %g runs a second, bursts of %g, per client (%s)",
                cfg->rate_limit_per_s, (double)burst,
                s->client_ip_header != NULL ? s->client_ip_header : "the TCP peer's address");
    else
        SCE_LOG(SCE_LOG_INFO, NULL, "rate limit: off");
    {
        char names[1024];

        gw_guard_describe(s->guard, names, sizeof(names));
        SCE_LOG(SCE_LOG_INFO, NULL, "Host names answered: %s", names);
        if (gw_guard_only_localhost(s->guard))
            SCE_LOG(SCE_LOG_WARN, NULL,
                    "listening on every address, but only localhost names pass the Host "
                    "check: list the names clients use in allowed_hosts");
    }
    SCE_LOG(SCE_LOG_INFO, NULL, "authentication: %s",
            s->tenants == NULL                  ? "off (anyone who can connect may run code)"
            : s->tenants->items[0].name == NULL ? "bearer token required"
                                                : "bearer token required, one per tenant");
    *out = s;
    s = NULL;
    rv = SCE_OK;
out:
    http_stop(s);
    return rv;
}

void http_quiesce(http_server *s)
{
    if (s == NULL || s->d == NULL || atomic_exchange(&s->draining, 1))
        return;
    s->listen_fd = MHD_quiesce_daemon(s->d);
    /* The socket must stay open until MHD_stop_daemon(), but it stops
     * listening now: new clients are refused at once instead of waiting in
     * the backlog for a gateway that will never accept them. */
    if (s->listen_fd != MHD_INVALID_SOCKET)
        shutdown(s->listen_fd, SHUT_RDWR);
}

size_t http_drain(http_server *s, int64_t timeout_ms)
{
    int64_t deadline_ms;
    size_t left;

    if (s == NULL)
        return 0;
    deadline_ms = sce_clock_ms() + timeout_ms;
    pthread_mutex_lock(&s->lock);
    while (s->inflight > 0 && sce_cond_wait_until(&s->idle, &s->lock, deadline_ms) == 0)
        ;
    left = s->inflight;
    pthread_mutex_unlock(&s->lock);
    return left;
}

void http_stop(http_server *s)
{
    if (s == NULL)
        return;
    /* The watchdog first: stopping the daemon closes the sockets it
     * watches. */
    gw_watchdog_stop(s->watchdog);
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    if (s->listen_fd != MHD_INVALID_SOCKET)
        close(s->listen_fd);
    gw_watchdog_free(s->watchdog);
    gw_live_free(s->live);
    free(s->client_ip_header);
    gw_rate_free(s->rate);
    gw_guard_free(s->guard);
    gw_static_free(s->page);
    free(s->cors_origin);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
