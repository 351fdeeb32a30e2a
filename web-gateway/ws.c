/*
 * ws.c - the WebSocket upgrade of GET /api/v2/connect and the framing of
 * its socket (ws.h).  The handshake's checks come first, in the order of
 * the statuses a client can do something about; the upgraded socket is a
 * poll() loop over libwslay's event API, woken through a pipe when
 * another thread queues a message.
 *
 * Why a queue of our own in front of wslay's: wslay's context is not
 * thread-safe, and the messages come from the run's thread (piston_ws.c)
 * while this loop reads.  The queue is drained into wslay on this thread.
 */
#define _GNU_SOURCE /* pipe2 */
#include "ws.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <wslay/wslay.h>

#include "client_key.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/seterr.h"
#include "gateway_limits.h"
#include "guard.h"
#include "live.h"
#include "metrics.h"
#include "piston_ws.h"
#include "rate_limit.h"
#include "sce/err.h"
#include "tenants.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ------------------------------------------------------------ handshake */

int gw_ws_is_connect(const char *url)
{
    return url != NULL && strcmp(url, GW_WS_PATH) == 0;
}

void gw_ws_accept_key(const char *key, char *out, size_t outlen)
{
    struct sha1_ctx sha;
    uint8_t digest[SHA1_DIGEST_SIZE];
    char b64[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1];

    sha1_init(&sha);
    sha1_update(&sha, strlen(key), (const uint8_t *)key);
    sha1_update(&sha, sizeof(WS_GUID) - 1, (const uint8_t *)WS_GUID);
    sha1_digest(&sha, sizeof(digest), digest);
    base64_encode_raw(b64, sizeof(digest), digest);
    b64[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
    snprintf(out, outlen, "%s", b64);
}

/* 1 if the comma-separated header value has `token` (case-insensitive). */
static int has_token(const char *value, const char *token)
{
    size_t tlen = strlen(token);

    while (value != NULL && *value != '\0') {
        size_t n;

        value += strspn(value, " \t,");
        n = strcspn(value, ",");
        while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
            n--;
        if (n == tlen && strncasecmp(value, token, tlen) == 0)
            return 1;
        value += strcspn(value, ",");
    }
    return 0;
}

/* A Sec-WebSocket-Key: base64 of 16 bytes (24 characters, "==" at the end). */
static int key_ok(const char *key)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return 0;
    for (int i = 0; i < 22; i++)
        if (key[i] == '\0' || strchr(b64, key[i]) == NULL)
            return 0;
    return 1;
}

/* What the upgrade handler needs once the 101 is out.  Freed by it. */
typedef struct ws_upgrade {
    piston_ws_config cfg;
    char client[2 * GW_CLIENT_KEY_BYTES + 1];
    char tenant[128];
} ws_upgrade;

static void upgrade_cb(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    ws_upgrade *u = cls;
    char msg[GW_ERROR_MESSAGE_MAX];
    int held;

    (void)c;
    (void)req_cls;
    /* The slot is taken only now: an upgrade that never happens (the 101
     * could not be sent) leaves nothing behind. */
    held = gw_live_acquire(u->cfg.live, u->client, msg, sizeof(msg)) == SCE_OK;
    u->cfg.refusal = held ? NULL : msg;
    piston_ws_serve(sock, extra_in, extra_in_size, &u->cfg);
    if (held)
        gw_live_release(u->cfg.live, u->client);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    free(u);
}

struct MHD_Response *gw_ws_connect(const gw_route_ctx *x, const gw_guard *guard, const char *method,
                                   gw_answer *a)
{
    struct MHD_Connection *c = x->c;
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *connection = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    unsigned char ckey[GW_CLIENT_KEY_BYTES];
    char msg[GW_ERROR_MESSAGE_MAX], accept[32];
    struct MHD_Response *resp = NULL;
    ws_upgrade *u = NULL;
    unsigned status, retry_s = 1;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        snprintf(msg, sizeof(msg), "%s takes GET (a WebSocket upgrade)", GW_WS_PATH);
        gw_answer_error(a, MHD_HTTP_METHOD_NOT_ALLOWED, SCE_ERR_INVALID_ARGUMENT, msg);
        gw_answer_header(a, MHD_HTTP_HEADER_ALLOW, "GET");
        goto out;
    }
    if (!has_token(upgrade, "websocket") || !has_token(connection, "upgrade")) {
        snprintf(msg, sizeof(msg),
                 "%s is a WebSocket: send Upgrade: websocket and "
                 "Connection: Upgrade",
                 GW_WS_PATH);
        gw_answer_error(a, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT, msg);
        goto out;
    }
    if (version == NULL || strcmp(version, "13") != 0) {
        gw_answer_error(a, MHD_HTTP_UPGRADE_REQUIRED, SCE_ERR_INVALID_ARGUMENT,
                        "Sec-WebSocket-Version: only 13 is spoken");
        gw_answer_header(a, "Sec-WebSocket-Version", "13");
        goto out;
    }
    if (!key_ok(key)) {
        gw_answer_error(a, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT,
                        "Sec-WebSocket-Key: missing or not 16 bytes in base64");
        goto out;
    }
    /* A WebSocket is never preflighted: its Origin is checked as a POST's. */
    if ((status = gw_guard_check(guard, MHD_HTTP_METHOD_POST, host, origin, msg, sizeof(msg))) !=
        0) {
        gw_answer_error(a, status, SCE_ERR_PERMISSION_DENIED, msg);
        goto out;
    }
    gw_routes_client_key(x, ckey);
    if (x->rate != NULL &&
        !gw_rate_take(x->rate, ckey, 1, sce_clock_ms(), &retry_s, msg, sizeof(msg))) {
        gw_metrics_refused(x->metrics, "rate_limit");
        gw_answer_error_retry(a, MHD_HTTP_TOO_MANY_REQUESTS, SCE_ERR_RESOURCE_EXHAUSTED, msg,
                              retry_s);
        goto out;
    }
    if ((u = calloc(1, sizeof(*u))) == NULL) {
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    sce_hex(u->client, sizeof(u->client), ckey, sizeof(ckey));
    /* A full cap is answered here with its 429; the slot itself is taken
     * in upgrade_cb (see there), so another socket may win it meanwhile. */
    if (gw_live_acquire(x->live, u->client, msg, sizeof(msg)) != SCE_OK) {
        gw_answer_error_retry(a, MHD_HTTP_TOO_MANY_REQUESTS, SCE_ERR_RESOURCE_EXHAUSTED, msg, 1);
        goto out;
    }
    gw_live_release(x->live, u->client);
    if (x->tenant != NULL && x->tenant->name != NULL)
        snprintf(u->tenant, sizeof(u->tenant), "%s", x->tenant->name);
    u->cfg.backends = x->backends;
    u->cfg.live = x->live;
    u->cfg.tenant = u->tenant;
    gw_ws_accept_key(key, accept, sizeof(accept));
    if ((resp = MHD_create_response_for_upgrade(upgrade_cb, u)) == NULL) {
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    MHD_add_response_header(resp, "Upgrade", "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    /* The socket has its own liveness checks (pings); no idle timeout. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    u = NULL; /* upgrade_cb's now */
out:
    free(u);
    return resp;
}

/* ------------------------------------------------------------ the socket */

typedef struct ws_out {
    struct ws_out *next;
    size_t len;
    char data[];
} ws_out;

struct gw_ws {
    int sock;
    const char *extra; /* bytes read before the upgrade, served first */
    size_t extra_len;
    int wake[2]; /* a pipe: another thread queued something */
    wslay_event_context_ptr ctx;
    const gw_ws_handler *h;
    void *arg;
    int64_t heard_ms; /* last frame from the peer */
    int64_t sent_ms;  /* last progress writing, or when writing began to wait */
    int ping_out;     /* a ping of ours is unanswered */

    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t sent_cv;
    ws_out *head, *tail;
    int closing;      /* gw_ws_close called or the peer's close came: no more sends */
    int close_queued; /* ... and handed to wslay */
    uint16_t close_code;
    char close_reason[124];
    int gone;     /* the loop ended */
    int all_sent; /* nothing waits in either queue */
};

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
    gw_ws *ws = arg;
    ssize_t n;

    (void)flags;
    if (ws->extra_len > 0) {
        n = (ssize_t)(len < ws->extra_len ? len : ws->extra_len);
        memcpy(buf, ws->extra, (size_t)n);
        ws->extra += n;
        ws->extra_len -= (size_t)n;
        return n;
    }
    n = recv(ws->sock, buf, len, 0);
    if (n > 0)
        return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE); /* EOF or reset */
    return -1;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    gw_ws *ws = arg;
    ssize_t n;

    (void)flags;
    n = send(ws->sock, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
        ws->sent_ms = sce_clock_ms();
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    else
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m,
                   void *arg)
{
    gw_ws *ws = arg;

    (void)ctx;
    ws->heard_ms = sce_clock_ms();
    if (m->opcode == WSLAY_PONG) {
        ws->ping_out = 0;
    } else if (m->opcode == WSLAY_CONNECTION_CLOSE) {
        /* wslay answers it; nothing more is sent after that. */
        pthread_mutex_lock(&ws->mu);
        ws->closing = 1;
        ws->close_queued = 1;
        pthread_mutex_unlock(&ws->mu);
    } else if (m->opcode == WSLAY_TEXT_FRAME || m->opcode == WSLAY_BINARY_FRAME) {
        ws->h->on_message(ws, (const char *)m->msg, m->msg_length, ws->arg);
    }
}

static void wake(gw_ws *ws)
{
    char b = 1;

    if (write(ws->wake[1], &b, 1) < 0) {
        /* The pipe is full: the loop is awake already. */
    }
}

/* Hands what other threads queued to wslay (on the loop's thread). */
static int feed(gw_ws *ws)
{
    ws_out *list;
    int rv = 0, close_now = 0;
    uint16_t code = 0;
    char reason[124];

    pthread_mutex_lock(&ws->mu);
    list = ws->head;
    ws->head = ws->tail = NULL;
    /* wslay sends control frames ahead of queued messages, and nothing
     * after its close: the close waits until every message is out. */
    if (ws->closing && !ws->close_queued && list == NULL &&
        wslay_event_get_queued_msg_count(ws->ctx) == 0) {
        close_now = 1;
        ws->close_queued = 1;
        code = ws->close_code;
        snprintf(reason, sizeof(reason), "%s", ws->close_reason);
    }
    pthread_mutex_unlock(&ws->mu);
    while (list != NULL) {
        ws_out *o = list;
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)o->data, o->len};

        list = o->next;
        /* After the peer's close wslay takes nothing more: dropped. */
        if (rv == 0 && wslay_event_queue_msg(ws->ctx, &m) == WSLAY_ERR_NOMEM)
            rv = -1;
        free(o);
    }
    if (close_now && rv == 0 &&
        wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason, strlen(reason)) ==
            WSLAY_ERR_NOMEM)
        rv = -1;
    return rv;
}

static void note_sent(gw_ws *ws)
{
    pthread_mutex_lock(&ws->mu);
    ws->all_sent = ws->head == NULL && wslay_event_get_queued_msg_count(ws->ctx) == 0;
    if (ws->all_sent)
        pthread_cond_broadcast(&ws->sent_cv);
    pthread_mutex_unlock(&ws->mu);
}

/* Why the loop ended, for the log. */
static const char *serve_loop(gw_ws *ws)
{
    int64_t close_by_ms = 0;
    int writing = 0;

    for (;;) {
        struct pollfd p[2];
        int64_t now = sce_clock_ms(), timeout_ms = GW_WS_PING_INTERVAL_MS;
        int want_w;

        if (feed(ws) != 0)
            return "out of memory";
        if (wslay_event_get_close_sent(ws->ctx) && close_by_ms == 0)
            close_by_ms = now + GW_WS_CLOSE_WAIT_MS;
        if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx))
            return "closed";
        if (close_by_ms != 0 && now >= close_by_ms)
            return "no close frame from the peer";
        want_w = wslay_event_want_write(ws->ctx);
        if (want_w && !writing)
            ws->sent_ms = now; /* the stall clock starts with the wish to write */
        writing = want_w;
        if (writing && now - ws->sent_ms > GW_WS_PEER_TIMEOUT_MS)
            return "the peer takes no data";
        if (now - ws->heard_ms > GW_WS_PEER_TIMEOUT_MS)
            return "the peer answers nothing";
        if (!ws->ping_out && now - ws->heard_ms >= GW_WS_PING_INTERVAL_MS &&
            !wslay_event_get_close_sent(ws->ctx)) {
            struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};

            if (wslay_event_queue_msg(ws->ctx, &m) == 0)
                ws->ping_out = 1;
            continue;
        }
        if (close_by_ms != 0 && close_by_ms - now < timeout_ms)
            timeout_ms = close_by_ms - now;
        if (ws->heard_ms + GW_WS_PING_INTERVAL_MS - now < timeout_ms)
            timeout_ms = ws->heard_ms + GW_WS_PING_INTERVAL_MS - now;
        if (timeout_ms < 10)
            timeout_ms = 10;
        p[0].fd = ws->sock;
        p[0].events =
            (short)((wslay_event_want_read(ws->ctx) ? POLLIN : 0) | (want_w ? POLLOUT : 0));
        p[1].fd = ws->wake[0];
        p[1].events = POLLIN;
        /* Bytes read before the upgrade are there without the socket. */
        if (ws->extra_len > 0)
            timeout_ms = 0;
        if (poll(p, 2, (int)timeout_ms) < 0 && errno != EINTR)
            return "poll failed";
        if (p[1].revents & POLLIN) {
            char b[64];

            while (read(ws->wake[0], b, sizeof(b)) > 0)
                ;
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) || ws->extra_len > 0) {
            if (wslay_event_recv(ws->ctx) != 0)
                return "the connection was lost";
        }
        if (wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0)
            return "the connection was lost";
        note_sent(ws);
    }
}

void gw_ws_serve(int sock, const char *extra, size_t extra_len, const gw_ws_handler *h, void *arg)
{
    struct wslay_event_callbacks cb = {recv_cb, send_cb, NULL, NULL, NULL, NULL, msg_cb};
    gw_ws ws;
    const char *why = "out of memory";
    int flags;

    memset(&ws, 0, sizeof(ws));
    ws.sock = sock;
    ws.extra = extra;
    ws.extra_len = extra_len;
    ws.h = h;
    ws.arg = arg;
    ws.heard_ms = ws.sent_ms = sce_clock_ms();
    ws.wake[0] = ws.wake[1] = -1;
    pthread_mutex_init(&ws.mu, NULL);
    sce_cond_init(&ws.sent_cv);
    if ((flags = fcntl(sock, F_GETFL)) < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0 ||
        pipe2(ws.wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        why = "cannot set up the socket";
        goto out;
    }
    if (wslay_event_context_server_init(&ws.ctx, &cb, &ws) != 0)
        goto out;
    wslay_event_config_set_max_recv_msg_length(ws.ctx, GW_WS_MESSAGE_MAX_BYTES);
    if (h->started != NULL)
        h->started(&ws, arg);
    why = serve_loop(&ws);
out:
    SCE_LOG(SCE_LOG_DEBUG, NULL, "WebSocket ended: %s", why);
    pthread_mutex_lock(&ws.mu);
    ws.gone = ws.closing = 1;
    pthread_cond_broadcast(&ws.sent_cv);
    while (ws.head != NULL) {
        ws_out *o = ws.head;

        ws.head = o->next;
        free(o);
    }
    pthread_mutex_unlock(&ws.mu);
    if (h->ended != NULL && ws.ctx != NULL)
        h->ended(&ws, arg);
    if (ws.ctx != NULL)
        wslay_event_context_free(ws.ctx);
    for (int i = 0; i < 2; i++)
        if (ws.wake[i] >= 0)
            close(ws.wake[i]);
    pthread_cond_destroy(&ws.sent_cv);
    pthread_mutex_destroy(&ws.mu);
}

int gw_ws_send(gw_ws *ws, const char *text, size_t len)
{
    ws_out *o;
    int rv = SCE_OK;

    pthread_mutex_lock(&ws->mu);
    if (ws->closing) {
        rv = SCE_ERR_UNAVAILABLE;
        goto out;
    }
    if ((o = malloc(sizeof(*o) + len)) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    o->next = NULL;
    o->len = len;
    memcpy(o->data, text, len);
    if (ws->tail != NULL)
        ws->tail->next = o;
    else
        ws->head = o;
    ws->tail = o;
    ws->all_sent = 0;
out:
    pthread_mutex_unlock(&ws->mu);
    if (rv == SCE_OK)
        wake(ws);
    return rv;
}

void gw_ws_close(gw_ws *ws, uint16_t code, const char *reason)
{
    pthread_mutex_lock(&ws->mu);
    if (!ws->closing) {
        ws->closing = 1;
        ws->close_code = code;
        snprintf(ws->close_reason, sizeof(ws->close_reason), "%s", reason);
        ws->all_sent = 0;
    }
    pthread_mutex_unlock(&ws->mu);
    wake(ws);
}

int gw_ws_wait_sent(gw_ws *ws, int64_t deadline_ms)
{
    int ok;

    pthread_mutex_lock(&ws->mu);
    while (!ws->all_sent && !ws->gone &&
           sce_cond_wait_until(&ws->sent_cv, &ws->mu, deadline_ms) == 0)
        ;
    ok = ws->all_sent;
    pthread_mutex_unlock(&ws->mu);
    return ok;
}

int gw_ws_gone(gw_ws *ws)
{
    int gone;

    pthread_mutex_lock(&ws->mu);
    gone = ws->closing;
    pthread_mutex_unlock(&ws->mu);
    return gone;
}
