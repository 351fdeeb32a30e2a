/*
 * http.c - the libmicrohttpd daemon: routing, bodies, headers, static files.
 *
 * libmicrohttpd calls access_cb() several times per request: once when the
 * headers are in (on_headers: a POST /run with a wrong Content-Type or too
 * large a Content-Length is refused before a byte of body is read), then
 * once per piece of body (appended to a capped buffer), then once more with
 * no data (on_request: routing and the answer).  completed_cb() ends every
 * request, answered or not: it writes the one log line and releases the
 * request.
 *
 * This file decides HTTP statuses and headers; what the JSON says is up to
 * json.c, and what a run does is up to the server.  POST /run-zip,
 * POST /run-batch and GET /history are routed here and answered by
 * routes_project.c.  The page's files are
 * read into memory once at start-up and served by exact URL, so no file
 * path is ever built from request input.
 *
 * The guards against abuse live here too, because each needs the request
 * as libmicrohttpd sees it:
 *   - authentication: a bearer token, compared in constant time, checked in
 *     on_headers() so that a refused client never gets a run started;
 *   - a rate limit: a token bucket per client address, taken from by each
 *     run passed to the server (handle_run), in a table of bounded size
 *     that forgets the least recent client;
 *   - slow clients: libmicrohttpd's connection timeout only counts idle
 *     time, so a client sending one byte a second would hold its
 *     connection (and its thread) for ever.  Each connection is registered
 *     when it opens (notify_connection_cb), and a watchdog thread shuts the
 *     socket of any connection whose request has not fully arrived within
 *     read_timeout.  The registry entry is removed under the same lock
 *     before libmicrohttpd closes the socket, so the watchdog never touches
 *     a descriptor that was closed and reused.
 * A 401 is decided in on_headers() but, like the 413 below, answered only
 * once the (small) body has been read: an answer sent while the client is
 * still sending would reach it as a reset.
 */
#include "http.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/buf.h"
#include "client_key.h"
#include "gateway_limits.h"
#include "guard.h"
#include "json.h"
#include "common/log.h"
#include "routes_project.h"
#include "sce/err.h"
#include "common/utf8.h"
#include "tenants.h"

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

typedef struct static_file {
    char *url; /* "/" or "/assets/<name>" */
    char *data;
    size_t len;
    const char *content_type;
} static_file;

/* One open connection, from libmicrohttpd's STARTED notice to its CLOSED
 * one (both in notify_connection_cb).  Guarded by http_server.watch_lock. */
typedef struct conn_watch {
    struct conn_watch *prev, *next;
    MHD_socket fd;
    int64_t read_deadline_ms; /* a request must be in by then; 0: none is being read */
    int cut;                  /* the watchdog shut the socket */
    unsigned requests;        /* requests completed on it (kept alive) */
    char addr[INET6_ADDRSTRLEN];
    unsigned char key[GW_CLIENT_KEY_BYTES]; /* its client, for the connection caps */
    gw_admit admit; /* set once, before its thread starts: served, or answered 503 */
} conn_watch;

/* One client of the rate limiter: a token bucket. */
typedef struct rate_client {
    unsigned char key[16]; /* IPv6, or IPv4 mapped into it; IPv6 cut to its /64 */
    double tokens;
    int64_t last_ms; /* when tokens was last brought up to date; 0: slot unused */
} rate_client;

struct http_server {
    struct MHD_Daemon *d;
    sce_client *client;
    size_t body_limit;
    char *cors_origin; /* NULL: CORS off */
    static_file *files;
    size_t nfiles;
    size_t static_bytes;
    int page_built;
    MHD_socket listen_fd; /* ours after http_quiesce(); closed by http_stop() */
    atomic_int draining;
    int starting; /* libmicrohttpd's messages go to start_err */
    char start_err[256];
    pthread_mutex_t lock; /* guards inflight */
    pthread_cond_t idle;
    size_t inflight;

    const gw_tenants *tenants; /* NULL: no authentication; borrowed from the config */

    double rate_per_s; /* 0: no rate limit */
    double rate_burst;
    char *client_ip_header; /* NULL: the client is the TCP peer */
    gw_guard *guard;        /* Host, Origin, connections per client (guard.c) */
    pthread_mutex_t rate_lock;
    rate_client *clients; /* GW_RATE_CLIENTS_MAX of them */

    int64_t read_timeout_ms;
    pthread_mutex_t watch_lock; /* guards the list, each entry, watch_stop */
    pthread_cond_t watch_wake;
    conn_watch *watched;
    int watch_stop;
    int watchdog_started;
    pthread_t watchdog;
};

typedef enum route {
    ROUTE_RUN,
    ROUTE_LANGUAGES,
    ROUTE_HEALTH,
    ROUTE_PAGE,
    ROUTE_ASSET,
    ROUTE_RUN_ZIP,   /* routes_project.c */
    ROUTE_RUN_BATCH, /* routes_project.c; a JSON body read like /run's */
    ROUTE_HISTORY,   /* routes_project.c */
    ROUTE_HISTORY_ENTRY, /* GET /history/{id}, routes_project.c */
} route;

typedef struct route_def {
    const char *path; /* exact; or a prefix when it ends in '/' and is not "/" */
    route route;
    const char *allow;
    const char *allow_cors; /* the same with OPTIONS, when CORS is on */
} route_def;

static const route_def routes[] = {
    {"/run", ROUTE_RUN, "POST", "POST, OPTIONS"},
    {"/languages", ROUTE_LANGUAGES, "GET, HEAD", "GET, HEAD, OPTIONS"},
    {"/healthz", ROUTE_HEALTH, "GET, HEAD", "GET, HEAD, OPTIONS"},
    {"/", ROUTE_PAGE, "GET, HEAD", "GET, HEAD"},
    {"/assets/", ROUTE_ASSET, "GET, HEAD", "GET, HEAD"},
    {"/run-zip", ROUTE_RUN_ZIP, "POST", "POST, OPTIONS"},
    {"/run-batch", ROUTE_RUN_BATCH, "POST", "POST, OPTIONS"},
    {"/history", ROUTE_HISTORY, "GET, HEAD", "GET, HEAD, OPTIONS"},
    {"/history/", ROUTE_HISTORY_ENTRY, "GET, HEAD", "GET, HEAD, OPTIONS"},
};

/* One HTTP request, from its headers to completed_cb(). */
typedef struct http_request {
    http_server *srv;
    int64_t start_ms;
    const route_def *route;
    char method[16];                /* for the log line, printable */
    char path[GW_LOG_PATH_MAX + 4]; /* for the log line, printable */
    sce_buf body;                   /* limit: body_limit + 1, to notice overflow */
    gw_multipart *upload;           /* a POST /run-zip form, else NULL */
    size_t body_bytes;              /* received, kept or not */
    unsigned long long announced;   /* Content-Length, 0 if none */
    int wants_body;                 /* a POST /run: the body is kept */
    int body_oom;
    conn_watch *watch; /* its connection's entry; NULL if none */
    const gw_tenant *tenant; /* whose token it carries; NULL without tokens */
    /* A refusal decided from the headers, answered in on_request(). */
    unsigned refuse_status; /* 0: none */
    int refuse_err;
    char refuse_msg[GW_ERROR_MESSAGE_MAX];
    const char *refuse_header; /* a header of the answer, or NULL */
    char refuse_value[96];
    unsigned status;     /* what was answered, 0 if nothing */
    char request_id[40]; /* the server's, when known */
    char note[160];      /* why an error was answered, for the log; printable */
} http_request;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A path for an error message, cut at GW_ERROR_PATH_MAX bytes.  Unlike
 * sce_ascii_shown(), it keeps non-ASCII text: gw_json_error() makes the message
 * valid UTF-8 on one line. */
static void shown_path(char *out, size_t outlen, const char *url)
{
    size_t n = strlen(url);

    snprintf(out, outlen, "%.*s%s", (int)(n > GW_ERROR_PATH_MAX ? GW_ERROR_PATH_MAX : n), url,
             n > GW_ERROR_PATH_MAX ? "..." : "");
}

/* ------------------------------------------------------------ guards */

/* Routes anyone may call: the health check (for load balancers and
 * monitors), the page itself (it has no secrets; its API calls do need the
 * token), and CORS preflights, which browsers send without credentials and
 * which run nothing. */
static int auth_exempt(const http_server *s, const route_def *r, const char *method)
{
    if (r == NULL)
        return 0; /* unknown paths too: an anonymous client learns nothing */
    if (r->route == ROUTE_HEALTH || r->route == ROUTE_PAGE || r->route == ROUTE_ASSET)
        return 1;
    return s->cors_origin != NULL && strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0;
}

/* Checks `Authorization: Bearer <token>` against every tenant's token in
 * constant time (tenants.h).  Returns 0 with the tenant in *who if one
 * matches; else -1 with the error line in msg and the WWW-Authenticate
 * value (RFC 6750) in www. */
static int auth_check(const http_server *s, struct MHD_Connection *c, const gw_tenant **who,
                      char *msg, size_t msglen, char *www, size_t wwwlen)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok;
    size_t n;

    if (h == NULL) {
        snprintf(msg, msglen, "Authorization: missing; send 'Authorization: Bearer <token>'");
        snprintf(www, wwwlen, "Bearer realm=\"sce\"");
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        snprintf(msg, msglen, "Authorization: expected the Bearer scheme: 'Bearer <token>'");
        snprintf(www, wwwlen, "Bearer realm=\"sce\", error=\"invalid_request\"");
        return -1;
    }
    for (tok = h + 6; *tok == ' ' || *tok == '\t'; tok++)
        ;
    for (n = strlen(tok); n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'); n--)
        ;
    if ((*who = gw_tenants_find(s->tenants, tok, n)) == NULL) {
        snprintf(msg, msglen, "Authorization: the bearer token is not valid");
        snprintf(www, wwwlen, "Bearer realm=\"sce\", error=\"invalid_token\"");
        return -1;
    }
    return 0;
}

/* A client of the rate limiter is its key (client_key.h): an IPv6 /64 is
 * one client, so hopping between its addresses does not buy more runs. */
static void client_key(const http_server *s, struct MHD_Connection *c, unsigned char key[16])
{
    const union MHD_ConnectionInfo *ci;
    const char *h;

    memset(key, 0, 16);
    if (s->client_ip_header != NULL &&
        (h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, s->client_ip_header)) != NULL &&
        gw_client_key_from_header(h, key) == 0)
        return;
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    /* Anything but IPv4 and IPv6 gets the zero key, shared by all such. */
    gw_client_key_from_sockaddr(ci != NULL ? ci->client_addr : NULL, key);
}

/* Takes one run from the client's token bucket.  Returns 1 if there was
 * one; else 0, with the whole seconds until there will be in *retry_s.  A
 * client not in the table starts with a full bucket; when the table is
 * full, the least recently seen client is forgotten (it, too, starts over
 * with a full bucket if it comes back). */
static int rate_take(http_server *s, const unsigned char key[16], int64_t now, unsigned *retry_s)
{
    rate_client *e = NULL, *oldest = NULL;
    double wait_s;
    int ok;

    pthread_mutex_lock(&s->rate_lock);
    for (size_t i = 0; i < GW_RATE_CLIENTS_MAX; i++) {
        rate_client *r = &s->clients[i];

        if (r->last_ms != 0 && memcmp(r->key, key, 16) == 0) {
            e = r;
            break;
        }
        if (oldest == NULL || r->last_ms < oldest->last_ms)
            oldest = r; /* unused slots (last_ms 0) come first */
    }
    if (e == NULL) {
        e = oldest;
        memcpy(e->key, key, 16);
        e->tokens = s->rate_burst;
        e->last_ms = now;
    }
    e->tokens += (double)(now - e->last_ms) * s->rate_per_s / 1000.0;
    if (e->tokens > s->rate_burst)
        e->tokens = s->rate_burst;
    e->last_ms = now > 0 ? now : 1;
    ok = e->tokens >= 1.0;
    if (ok) {
        e->tokens -= 1.0;
    } else {
        wait_s = (1.0 - e->tokens) / s->rate_per_s;
        *retry_s = wait_s >= 3600 ? 3600 : (unsigned)wait_s + 1;
    }
    pthread_mutex_unlock(&s->rate_lock);
    return ok;
}

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

/* Registers each connection as it opens and forgets it before
 * libmicrohttpd closes its socket.  The guard counts it against the
 * connection caps (by the TCP peer, never a forwarded header): one over a
 * cap is kept only long enough to answer its first request 503
 * (on_headers), and one over even the caps of those is shut at once. */
static void notify_connection_cb(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    conn_watch *w = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int64_t within_ms = s->read_timeout_ms;

        if (fd == NULL || (w = calloc(1, sizeof(*w))) == NULL)
            return; /* unwatched: only the idle timeout applies to it */
        w->fd = fd->connect_fd;
        addr_text(ad != NULL ? ad->client_addr : NULL, w->addr, sizeof(w->addr));
        gw_client_key_from_sockaddr(ad != NULL ? ad->client_addr : NULL, w->key);
        w->admit = gw_guard_conn_open(s->guard, w->key);
        if (w->admit == GW_ADMIT_DROP) {
            SCE_LOG(SCE_LOG_INFO, NULL, "%s: over every connection cap; closed without an answer",
                    w->addr);
            shutdown(w->fd, SHUT_RDWR);
        }
        if (w->admit != GW_ADMIT_SERVE && within_ms > GW_BUSY_READ_TIMEOUT_MS)
            within_ms = GW_BUSY_READ_TIMEOUT_MS;
        pthread_mutex_lock(&s->watch_lock);
        w->read_deadline_ms = now_ms() + within_ms;
        w->next = s->watched;
        if (s->watched != NULL)
            s->watched->prev = w;
        s->watched = w;
        pthread_mutex_unlock(&s->watch_lock);
        *socket_context = w;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && w != NULL) {
        pthread_mutex_lock(&s->watch_lock);
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            s->watched = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        pthread_mutex_unlock(&s->watch_lock);
        gw_guard_conn_close(s->guard, w->key, w->admit);
        free(w);
        *socket_context = NULL;
    }
}

/* Sets the time by which the connection's next request must be in (0:
 * none is being read now). */
static void watch_set(http_server *s, conn_watch *w, int64_t deadline_ms)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&s->watch_lock);
    w->read_deadline_ms = deadline_ms;
    pthread_mutex_unlock(&s->watch_lock);
}

/* Cuts off every connection whose request is overdue.  shutdown() leaves
 * the descriptor to libmicrohttpd: the connection's thread sees the end of
 * the stream and closes it the usual way. */
static void *watchdog_main(void *arg)
{
    http_server *s = arg;
    struct timespec until;

    pthread_mutex_lock(&s->watch_lock);
    while (!s->watch_stop) {
        int64_t now = now_ms();

        for (conn_watch *w = s->watched; w != NULL; w = w->next) {
            if (w->cut || w->read_deadline_ms == 0 || now < w->read_deadline_ms)
                continue;
            /* A kept-alive connection that merely sits idle is routine. */
            SCE_LOG(w->requests > 0 ? SCE_LOG_DEBUG : SCE_LOG_INFO, NULL,
                    "%s: no complete request within %lld ms; closing the connection", w->addr,
                    (long long)s->read_timeout_ms);
            shutdown(w->fd, SHUT_RDWR);
            w->cut = 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += GW_WATCH_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->watch_wake, &s->watch_lock, &until);
    }
    pthread_mutex_unlock(&s->watch_lock);
    return NULL;
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
        watch_set(rq->srv, rq->watch, 0); /* answered: no longer reading */
    }
    return ret;
}

/* Answers `body` (consumed; NULL means building it ran out of memory). */
static enum MHD_Result send_json(http_request *rq, struct MHD_Connection *c, unsigned status,
                                 json_t *body, const char *extra_name, const char *extra_value)
{
    struct MHD_Response *resp;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    size_t len;

    json_decref(body);
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
    if (text == NULL) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        extra_name = NULL;
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
    if (extra_name != NULL)
        MHD_add_response_header(resp, extra_name, extra_value);
    return send_response(rq, c, status, resp, 0);
}

/* The JSON error answer with one extra header (hname NULL: none); `err`
 * is the sce_err behind it. */
static enum MHD_Result send_error_with(http_request *rq, struct MHD_Connection *c, unsigned status,
                                       int err, const char *message, const char *hname,
                                       const char *hvalue)
{
    json_t *body;

    sce_ascii_shown(rq->note, sizeof(rq->note), message, sizeof(rq->note) - 5);
    body = gw_json_error(status, err, message, rq->request_id);
    return send_json(rq, c, status, body, hname, hvalue);
}

/* The JSON error answer; `err` is the sce_err behind it. */
static enum MHD_Result send_error(http_request *rq, struct MHD_Connection *c, unsigned status,
                                  int err, const char *message)
{
    const char *hname = NULL, *hvalue = NULL;

    if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
        /* The server refuses at once when its queue is full; a second
         * later is a fair time to try again. */
        hname = MHD_HTTP_HEADER_RETRY_AFTER;
        hvalue = "1";
    } else if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        hname = MHD_HTTP_HEADER_ALLOW;
        hvalue = rq->srv->cors_origin != NULL ? rq->route->allow_cors : rq->route->allow;
    }
    return send_error_with(rq, c, status, err, message, hname, hvalue);
}

/* ------------------------------------------------------------ static files */

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static const static_file *static_find(const http_server *s, const char *url)
{
    for (size_t i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].url, url) == 0)
            return &s->files[i];
    return NULL;
}

/* Reads one regular file (never through a symlink) of directory dfd. */
static int static_read(http_server *s, int dfd, const char *name, const char *url, char *err,
                       size_t errlen)
{
    struct stat st;
    static_file *f;
    char *data = NULL;
    size_t got = 0;
    int fd, rv = SCE_OK;

    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return SCE_OK; /* a symlink (ELOOP) or gone: not part of the page */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if (static_find(s, url) != NULL)
        goto out;
    if (s->nfiles >= GW_STATIC_FILES_MAX || st.st_size > GW_STATIC_FILE_MAX_BYTES ||
        s->static_bytes + (size_t)st.st_size > GW_STATIC_TOTAL_MAX_BYTES) {
        snprintf(err, errlen,
                 "static_dir: %s is over the limits (%d files, %d bytes each, %d "
                 "in all)",
                 name, GW_STATIC_FILES_MAX, GW_STATIC_FILE_MAX_BYTES, GW_STATIC_TOTAL_MAX_BYTES);
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "static_dir: cannot read %s: %s", name,
                     n < 0 ? strerror(errno) : "file shrank");
            rv = SCE_ERR_INTERNAL;
            goto out;
        }
        got += (size_t)n;
    }
    f = &s->files[s->nfiles];
    if ((f->url = strdup(url)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    f->data = data;
    f->len = got;
    f->content_type = content_type_of(name);
    data = NULL;
    s->nfiles++;
    s->static_bytes += got;
out:
    free(data);
    close(fd);
    return rv;
}

/* Loads the regular files of directory dfd; `top` says whether it is
 * static_dir itself (whose index.html is the page at "/") or its assets/
 * subdirectory.  Every other file is served at /assets/<name>. */
static int static_load_dir(http_server *s, int dfd, int top, char *err, size_t errlen)
{
    char url[300];
    struct dirent *e;
    DIR *dir;
    int fd = dup(dfd), rv = SCE_OK;

    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "static_dir: %s", strerror(errno));
        return SCE_ERR_INTERNAL;
    }
    while (rv == SCE_OK && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden files are not part of the page */
        if (top && strcmp(e->d_name, "index.html") == 0)
            snprintf(url, sizeof(url), "/");
        else
            snprintf(url, sizeof(url), "/assets/%s", e->d_name);
        rv = static_read(s, dfd, e->d_name, url, err, errlen);
    }
    closedir(dir);
    return rv;
}

static int static_load(http_server *s, const char *path, char *err, size_t errlen)
{
    int dfd, afd = -1, rv = SCE_OK;

    if (s->files == NULL && (s->files = calloc(GW_STATIC_FILES_MAX, sizeof(*s->files))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        SCE_LOG(SCE_LOG_WARN, NULL,
                "static_dir %s: %s; the page will answer 503 until it is "
                "built and the gateway restarted",
                path, strerror(errno));
        return SCE_OK;
    }
    /* assets/ first: its files win over same-named files at the top. */
    afd = openat(dfd, "assets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (afd >= 0)
        rv = static_load_dir(s, afd, 0, err, errlen);
    if (rv == SCE_OK)
        rv = static_load_dir(s, dfd, 1, err, errlen);
    if (rv == SCE_OK) {
        s->page_built = static_find(s, "/") != NULL;
        if (!s->page_built)
            SCE_LOG(SCE_LOG_WARN, NULL,
                    "static_dir %s has no index.html; the page will "
                    "answer 503",
                    path);
        SCE_LOG(SCE_LOG_INFO, NULL, "static_dir %s: %zu files, %zu bytes", path, s->nfiles,
                s->static_bytes);
    }
    if (afd >= 0)
        close(afd);
    close(dfd);
    return rv;
}

static enum MHD_Result handle_static(http_request *rq, struct MHD_Connection *c, const char *url)
{
    const static_file *f;
    struct MHD_Response *resp;
    char msg[GW_ERROR_PATH_MAX + 64], shown[GW_ERROR_PATH_MAX + 4];

    if (!rq->srv->page_built)
        return send_error(rq, c, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE,
                          "the page is not built");
    if ((f = static_find(rq->srv, url)) == NULL) {
        shown_path(shown, sizeof(shown), url);
        snprintf(msg, sizeof(msg), "no route for %s %s", rq->method, shown);
        return send_error(rq, c, MHD_HTTP_NOT_FOUND, SCE_ERR_NOT_FOUND, msg);
    }
    resp = MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    /* Names are not content-hashed, so every use revalidates. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return send_response(rq, c, MHD_HTTP_OK, resp, strncmp(f->content_type, "text/html", 9) == 0);
}

/* ------------------------------------------------------------ API */

static enum MHD_Result send_sce_error(http_request *rq, struct MHD_Connection *c, int rv,
                                      const char *message)
{
    return send_error(rq, c, gw_json_http_status(rv), rv, message);
}

static enum MHD_Result handle_languages(http_request *rq, struct MHD_Connection *c)
{
    sce_language_list *l = NULL;
    char err[512];
    enum MHD_Result ret;
    int rv = sce_client_languages(rq->srv->client, &l, err, sizeof(err));

    if (rv != SCE_OK)
        return send_sce_error(rq, c, rv, err);
    ret = send_json(rq, c, MHD_HTTP_OK, gw_json_languages(l), NULL, NULL);
    sce_language_list_free(l);
    return ret;
}

static enum MHD_Result handle_health(http_request *rq, struct MHD_Connection *c)
{
    sce_health *h = NULL;
    char err[512];
    unsigned status = MHD_HTTP_SERVICE_UNAVAILABLE;
    int rv = sce_client_health(rq->srv->client, &h, err, sizeof(err));
    json_t *body = gw_json_health(rv == SCE_OK ? h : NULL, rv, err, &status);

    if (rv != SCE_OK)
        sce_ascii_shown(rq->note, sizeof(rq->note), err, sizeof(rq->note) - 5);
    sce_health_free(h);
    return send_json(rq, c, status, body, NULL, NULL);
}

/* The rate limit, for /run and as routes_project.c asks for it: a run or a
 * ZIP is one run, a batch one per task (but never more than a full bucket,
 * or a batch larger than the burst could never pass).  When the bucket runs
 * dry part way, the runs already taken stay spent. */
typedef struct admit_ctx {
    http_server *srv;
    struct MHD_Connection *c;
} admit_ctx;

static int admit_cb(void *arg, size_t runs, unsigned *retry_s, char *msg, size_t msglen)
{
    admit_ctx *ad = arg;
    http_server *s = ad->srv;
    unsigned char key[16];

    if (s->rate_per_s <= 0)
        return 1;
    if ((double)runs > s->rate_burst)
        runs = (size_t)s->rate_burst;
    client_key(s, ad->c, key);
    for (size_t i = 0; i < runs; i++) {
        if (!rate_take(s, key, now_ms(), retry_s)) {
            snprintf(msg, msglen,
                     "rate limit reached: %g runs per second per client, bursts of %g; "
                     "retry in %u s",
                     s->rate_per_s, s->rate_burst, *retry_s);
            return 0;
        }
    }
    return 1;
}

/* The caller as the routes see it: without tokens, or with the single
 * token of before tenants, no tenant and the whole history. */
static gw_caller caller_of(const http_request *rq)
{
    gw_caller who = {NULL, 1};

    if (rq->tenant != NULL && rq->tenant->name != NULL) {
        who.tenant = rq->tenant->name;
        who.sees_all = rq->tenant->admin;
    }
    return who;
}

static enum MHD_Result handle_run(http_request *rq, struct MHD_Connection *c)
{
    gw_run_input in;
    sce_run_result *res = NULL;
    char err[1024];
    enum MHD_Result ret;
    int rv;

    rv = gw_json_run_input(rq->body.data, rq->body.len, &in, err, sizeof(err));
    if (rv != SCE_OK)
        return send_error(rq, c,
                          rv == SCE_ERR_INVALID_ARGUMENT ? MHD_HTTP_BAD_REQUEST
                                                         : MHD_HTTP_INTERNAL_SERVER_ERROR,
                          rv == SCE_ERR_INVALID_ARGUMENT ? rv : SCE_ERR_INTERNAL, err);
    /* The body is parsed; its bytes are no longer needed while the run
     * takes its time. */
    sce_buf_free(&rq->body);
    /* Only what goes to the server counts against the client's rate: a
     * request the gateway refuses by itself costs nothing downstream. */
    {
        admit_ctx ad = {rq->srv, c};
        unsigned retry_s = 1;
        char msg[160], value[16];

        if (!admit_cb(&ad, 1, &retry_s, msg, sizeof(msg))) {
            gw_run_input_free(&in);
            snprintf(value, sizeof(value), "%u", retry_s);
            return send_error_with(rq, c, MHD_HTTP_TOO_MANY_REQUESTS, SCE_ERR_RESOURCE_EXHAUSTED,
                                   msg, MHD_HTTP_HEADER_RETRY_AFTER, value);
        }
    }
    in.req.tenant = caller_of(rq).tenant;
    rv = sce_client_run(rq->srv->client, &in.req, &res, err, sizeof(err));
    gw_run_input_free(&in);
    if (rv != SCE_OK)
        return send_sce_error(rq, c, rv, err);
    sce_ascii_shown(rq->request_id, sizeof(rq->request_id), res->request_id, 32);
    snprintf(rq->note, sizeof(rq->note), "%s", sce_verdict_name(res->verdict));
    ret = send_json(rq, c, MHD_HTTP_OK, gw_json_run_result(res), NULL, NULL);
    sce_run_result_free(res);
    return ret;
}

/* ------------------------------------------------------------ projects */

static enum MHD_Result send_answer(http_request *rq, struct MHD_Connection *c, gw_answer *a)
{
    sce_ascii_shown(rq->request_id, sizeof(rq->request_id), a->request_id, 32);
    sce_ascii_shown(rq->note, sizeof(rq->note), a->note, sizeof(rq->note) - 5);
    return send_json(rq, c, a->status, a->body, a->header_name,
                     a->header_name != NULL ? a->header_value : NULL);
}

static enum MHD_Result handle_run_zip(http_request *rq, struct MHD_Connection *c)
{
    admit_ctx ad = {rq->srv, c};
    gw_answer a;

    if (rq->upload == NULL)
        return send_error(rq, c, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                          "the upload was not read");
    gw_caller who = caller_of(rq);

    gw_route_run_zip(rq->srv->client, rq->upload, admit_cb, &ad, &who, &a);
    return send_answer(rq, c, &a);
}

static enum MHD_Result handle_run_batch(http_request *rq, struct MHD_Connection *c)
{
    admit_ctx ad = {rq->srv, c};
    gw_answer a;

    gw_caller who = caller_of(rq);

    gw_route_run_batch(rq->srv->client, rq->body.data, rq->body.len, admit_cb, &ad, &who, &a);
    return send_answer(rq, c, &a);
}

static enum MHD_Result handle_history(http_request *rq, struct MHD_Connection *c)
{
    admit_ctx ad = {rq->srv, c};
    gw_caller who = caller_of(rq);
    gw_answer a;

    gw_route_history(rq->srv->client,
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "offset"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "verdict"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "language"),
                     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tenant"), admit_cb,
                     &ad, &who, &a);
    return send_answer(rq, c, &a);
}

/* GET /history/{id}: the id is what follows the route's prefix. */
static enum MHD_Result handle_history_entry(http_request *rq, struct MHD_Connection *c,
                                            const char *url)
{
    admit_ctx ad = {rq->srv, c};
    gw_caller who = caller_of(rq);
    gw_answer a;

    gw_route_history_entry(rq->srv->client, url + strlen(rq->route->path), admit_cb, &ad, &who,
                           &a);
    return send_answer(rq, c, &a);
}

/* ------------------------------------------------------------ routing */

static const route_def *route_find(const char *url)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const route_def *r = &routes[i];
        size_t n = strlen(r->path);

        if (strcmp(url, r->path) == 0)
            return r;
        if (n > 1 && r->path[n - 1] == '/' && strncmp(url, r->path, n) == 0 && url[n] != '\0')
            return r;
    }
    return NULL;
}

static int method_allowed(const route_def *r, const char *method)
{
    if (strcmp(r->allow, "POST") == 0) /* /run, /run-zip, /run-batch */
        return strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
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

/* 413, with the size when the client announced it. */
static enum MHD_Result send_too_large(http_request *rq, struct MHD_Connection *c)
{
    char msg[128];

    if (rq->announced > rq->srv->body_limit)
        snprintf(msg, sizeof(msg), "body: %llu bytes is more than the limit of %zu bytes",
                 rq->announced, rq->srv->body_limit);
    else
        snprintf(msg, sizeof(msg), "body: more than the limit of %zu bytes", rq->srv->body_limit);
    return send_error(rq, c, MHD_HTTP_CONTENT_TOO_LARGE, SCE_ERR_INVALID_ARGUMENT, msg);
}

static enum MHD_Result send_refusal(http_request *rq, struct MHD_Connection *c)
{
    return send_error_with(rq, c, rq->refuse_status, rq->refuse_err, rq->refuse_msg,
                           rq->refuse_header, rq->refuse_header != NULL ? rq->refuse_value : NULL);
}

/* A refusal decided from the headers (401), kept in rq.  It is sent
 * at once when the client waits for "100 Continue" (it then sends no body)
 * or announced more than body_limit; otherwise the body is read, dropped,
 * and the refusal sent by on_request(), for the reason given in
 * on_headers(). */
static enum MHD_Result refuse(http_request *rq, struct MHD_Connection *c, unsigned status, int err)
{
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

    rq->refuse_status = status;
    rq->refuse_err = err;
    rq->wants_body = 0;
    if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
        rq->announced > rq->srv->body_limit)
        return send_refusal(rq, c);
    return MHD_YES;
}

/* POST /run-zip, headers in: its multipart form starts being read, or is
 * refused at once (415, 400, 413; see gw_multipart_begin()). */
static enum MHD_Result on_zip_headers(http_request *rq, struct MHD_Connection *c)
{
    char msg[GW_ERROR_MESSAGE_MAX];
    unsigned status = MHD_HTTP_BAD_REQUEST;
    int rv = gw_route_run_zip_begin(c, rq->announced, &rq->upload, &status, msg, sizeof(msg));

    return rv == SCE_OK ? MHD_YES : send_error(rq, c, status, rv, msg);
}

/* What can be refused from the headers alone, before any body is read: a
 * missing or wrong token, a POST /run body of the
 * wrong type or announced too large (a client that sent Expect:
 * 100-continue then never sends it at all).  libmicrohttpd closes the
 * connection after such an early answer, so everything else is answered in
 * on_request(), which keeps the connection alive. */
static enum MHD_Result on_headers(http_request *rq, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    http_server *s = rq->srv;
    char msg[128], shown_ct[80];
    const char *ct, *cl, *host, *origin;
    unsigned status;
    int is_run;

    if (atomic_load(&s->draining))
        return send_error(rq, c, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE,
                          "the gateway is shutting down");
    rq->route = route_find(url);
    is_run = rq->route != NULL &&
             (rq->route->route == ROUTE_RUN || rq->route->route == ROUTE_RUN_BATCH) &&
             strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    rq->announced = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    if (rq->watch != NULL && rq->watch->admit != GW_ADMIT_SERVE) {
        gw_guard_busy_message(s->guard, rq->watch->admit, rq->refuse_msg, sizeof(rq->refuse_msg));
        rq->refuse_header = MHD_HTTP_HEADER_RETRY_AFTER;
        snprintf(rq->refuse_value, sizeof(rq->refuse_value), "%d", GW_BUSY_RETRY_AFTER_S);
        return refuse(rq, c, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE);
    }
    /* /healthz answers any Host, for load balancers that probe by address. */
    host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if ((rq->route == NULL || rq->route->route != ROUTE_HEALTH) &&
        (status = gw_guard_check(s->guard, method, host, origin, rq->refuse_msg,
                                 sizeof(rq->refuse_msg))) != 0)
        return refuse(rq, c, status, SCE_ERR_PERMISSION_DENIED);
    if (s->tenants != NULL && !auth_exempt(s, rq->route, method) &&
        auth_check(s, c, &rq->tenant, rq->refuse_msg, sizeof(rq->refuse_msg), rq->refuse_value,
                   sizeof(rq->refuse_value)) != 0) {
        rq->refuse_header = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
        return refuse(rq, c, MHD_HTTP_UNAUTHORIZED, SCE_ERR_UNAUTHENTICATED);
    }
    if (rq->route != NULL && rq->route->route == ROUTE_RUN_ZIP &&
        strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return on_zip_headers(rq, c);
    if (!is_run)
        return MHD_YES;
    rq->wants_body = 1;
    ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!gw_json_content_type_ok(ct)) {
        if (ct == NULL) {
            snprintf(msg, sizeof(msg), "Content-Type: missing; expected application/json");
        } else {
            sce_ascii_shown(shown_ct, sizeof(shown_ct), ct, 64);
            snprintf(msg, sizeof(msg), "Content-Type: expected application/json, got '%s'",
                     shown_ct);
        }
        return send_error(rq, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, SCE_ERR_INVALID_ARGUMENT, msg);
    }
    if (rq->announced > s->body_limit) {
        const char *expect =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

        /* A client waiting for "100 Continue" gets the 413 instead and
         * sends nothing.  One already sending would see the connection
         * reset under it (libmicrohttpd closes without reading on), often
         * before it reads the answer; so a body within reach is read to
         * its end and refused in on_request(), and only a huge one is
         * refused at once. */
        if ((expect != NULL && strcasecmp(expect, "100-continue") == 0) ||
            rq->announced > s->body_limit + GW_BODY_DISCARD_MAX_BYTES)
            return send_too_large(rq, c);
    }
    return MHD_YES;
}

/* The whole request is in: route it. */
static enum MHD_Result on_request(http_request *rq, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    http_server *s = rq->srv;
    char msg[GW_ERROR_PATH_MAX + 128], shown[GW_ERROR_PATH_MAX + 4];

    if (rq->refuse_status != 0)
        return send_refusal(rq, c);
    shown_path(shown, sizeof(shown), url);
    if (rq->route == NULL) {
        snprintf(msg, sizeof(msg), "no route for %s %s", rq->method, shown);
        return send_error(rq, c, MHD_HTTP_NOT_FOUND, SCE_ERR_NOT_FOUND, msg);
    }
    if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0 && s->cors_origin != NULL &&
        rq->route->route != ROUTE_PAGE && rq->route->route != ROUTE_ASSET)
        return send_preflight(rq, c);
    if (!method_allowed(rq->route, method)) {
        snprintf(msg, sizeof(msg), "method %s is not allowed for %s; allowed: %s", rq->method,
                 shown, s->cors_origin != NULL ? rq->route->allow_cors : rq->route->allow);
        return send_error(rq, c, MHD_HTTP_METHOD_NOT_ALLOWED, SCE_ERR_UNIMPLEMENTED, msg);
    }
    switch (rq->route->route) {
    case ROUTE_RUN:
    case ROUTE_RUN_BATCH:
        break;
    case ROUTE_RUN_ZIP:
        return handle_run_zip(rq, c);
    case ROUTE_HISTORY:
        return handle_history(rq, c);
    case ROUTE_HISTORY_ENTRY:
        return handle_history_entry(rq, c, url);
    case ROUTE_LANGUAGES:
        return handle_languages(rq, c);
    case ROUTE_HEALTH:
        return handle_health(rq, c);
    case ROUTE_PAGE:
    case ROUTE_ASSET:
        return handle_static(rq, c, url);
    }
    if (rq->body_oom)
        return send_error(rq, c, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                          "out of memory reading the body");
    if (rq->announced > s->body_limit || rq->body.truncated)
        return send_too_large(rq, c);
    if (rq->route->route == ROUTE_RUN_BATCH)
        return handle_run_batch(rq, c);
    return handle_run(rq, c);
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
        rq->start_ms = now_ms();
        sce_ascii_shown(rq->method, sizeof(rq->method), method, sizeof(rq->method) - 5);
        sce_ascii_shown(rq->path, sizeof(rq->path), url, GW_LOG_PATH_MAX);
        sce_buf_init(&rq->body, s->body_limit + 1);
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
        watch_set(s, rq->watch, 0);
        return rq->status != 0 ? MHD_YES : on_request(rq, c, url, method);
    }
    *upload_data_size = 0;
    /* libmicrohttpd cannot answer in the middle of a body, so a streamed
     * body past the cap is read to its end (only counted) for its 413; a
     * client that keeps sending far beyond that is cut off. */
    rq->body_bytes += n;
    if (rq->refuse_status != 0 && rq->body_bytes > s->body_limit) {
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
    int cut = 0;

    (void)c;
    if (rq == NULL)
        return;
    if (rq->watch != NULL) {
        pthread_mutex_lock(&s->watch_lock);
        cut = rq->watch->cut;
        rq->watch->requests++;
        /* A kept-alive connection must bring its next request in time. */
        rq->watch->read_deadline_ms = now_ms() + s->read_timeout_ms;
        pthread_mutex_unlock(&s->watch_lock);
    }
    if (cut)
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
            (long long)(now_ms() - rq->start_ms), how, rq->note[0] ? ": " : "", rq->note);
    sce_buf_free(&rq->body);
    gw_multipart_free(rq->upload);
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
        snprintf(err, errlen, "listen: cannot resolve '%s': %s", host, gai_strerror(grv));
        return SCE_ERR_INVALID_ARGUMENT;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *family = res->ai_family;
    *port_out = (uint16_t)atoi(port);
    freeaddrinfo(res);
    return SCE_OK;
bad:
    snprintf(err, errlen, "listen: expected ADDR:PORT (e.g. 127.0.0.1:8080, [::1]:8080), got '%s'",
             listen);
    return SCE_ERR_INVALID_ARGUMENT;
}

int http_start(const http_config *cfg, sce_client *client, http_server **out, char *err,
               size_t errlen)
{
    http_server *s = calloc(1, sizeof(*s));
    struct sockaddr_storage ss;
    pthread_condattr_t ca;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    int family = AF_INET, rv;
    uint16_t port = 0;

    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    s->client = client;
    s->body_limit = cfg->body_limit_bytes;
    s->listen_fd = MHD_INVALID_SOCKET;
    s->read_timeout_ms = cfg->read_timeout_ms;
    s->rate_per_s = cfg->rate_limit_per_s;
    s->rate_burst = cfg->rate_burst > 0 ? cfg->rate_burst : 1;
    atomic_init(&s->draining, 0);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->rate_lock, NULL);
    pthread_mutex_init(&s->watch_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->idle, &ca);
    pthread_cond_init(&s->watch_wake, &ca);
    pthread_condattr_destroy(&ca);
    if (cfg->cors_origin != NULL && cfg->cors_origin[0] != '\0' &&
        (s->cors_origin = strdup(cfg->cors_origin)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    s->tenants = cfg->tenants;
    if (cfg->client_ip_header != NULL && cfg->client_ip_header[0] != '\0' &&
        (s->client_ip_header = strdup(cfg->client_ip_header)) == NULL) {
        snprintf(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    if (s->rate_per_s > 0 &&
        (s->clients = calloc(GW_RATE_CLIENTS_MAX, sizeof(*s->clients))) == NULL) {
        snprintf(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    {
        gw_guard_config gc = {cfg->listen, cfg->allowed_hosts, cfg->cors_origin,
                              cfg->max_connections, cfg->max_connections_per_ip};

        if ((rv = gw_guard_new(&gc, &s->guard, err, errlen)) != SCE_OK)
            goto out; /* err names the option */
    }
    if ((rv = static_load(s, cfg->static_dir, err, errlen)) != SCE_OK)
        goto out;
    if ((rv = parse_listen(cfg->listen, &ss, &family, &port, err, errlen)) != SCE_OK)
        goto out;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
        snprintf(err, errlen, "cannot start the slow-client watchdog");
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    s->watchdog_started = 1;
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
        snprintf(err, errlen, "cannot serve HTTP on %s: %s", cfg->listen,
                 s->start_err[0] ? s->start_err : "libmicrohttpd refused to start");
        rv = SCE_ERR_UNAVAILABLE;
        goto out;
    }
    SCE_LOG(SCE_LOG_INFO, NULL,
            "serving HTTP on %s (body limit %zu bytes, header limit %zu bytes, %u connections, "
            "%u per address, read timeout %lld ms, CORS %s)",
            cfg->listen, s->body_limit, cfg->header_limit_bytes, cfg->max_connections,
            cfg->max_connections_per_ip, (long long)s->read_timeout_ms,
            s->cors_origin ? s->cors_origin : "off");
    if (s->rate_per_s > 0)
        SCE_LOG(SCE_LOG_INFO, NULL, "rate limit: %g runs a second, bursts of %g, per client (%s)",
                s->rate_per_s, s->rate_burst,
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
            s->tenants == NULL                       ? "off (anyone who can connect may run code)"
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
    struct timespec until;
    size_t left;

    if (s == NULL)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&s->lock);
    while (s->inflight > 0 && pthread_cond_timedwait(&s->idle, &s->lock, &until) == 0)
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
    if (s->watchdog_started) {
        pthread_mutex_lock(&s->watch_lock);
        s->watch_stop = 1;
        pthread_cond_signal(&s->watch_wake);
        pthread_mutex_unlock(&s->watch_lock);
        pthread_join(s->watchdog, NULL);
    }
    if (s->d != NULL)
        MHD_stop_daemon(s->d);
    if (s->listen_fd != MHD_INVALID_SOCKET)
        close(s->listen_fd);
    while (s->watched != NULL) { /* only if libmicrohttpd never said CLOSED */
        conn_watch *w = s->watched;

        s->watched = w->next;
        free(w);
    }
    free(s->client_ip_header);
    free(s->clients);
    gw_guard_free(s->guard);
    pthread_cond_destroy(&s->watch_wake);
    pthread_mutex_destroy(&s->watch_lock);
    pthread_mutex_destroy(&s->rate_lock);
    for (size_t i = 0; i < s->nfiles; i++) {
        free(s->files[i].url);
        free(s->files[i].data);
    }
    free(s->files);
    free(s->cors_origin);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
