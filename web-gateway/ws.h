/*
 * ws.h - WebSocket for sce-gateway: the upgrade of GET /api/v2/connect
 * (RFC 6455's handshake over libmicrohttpd's MHD_create_response_for_upgrade)
 * and the framing of the upgraded socket (libwslay).  What the messages
 * mean is piston_ws.h's.
 *
 * The handshake (gw_ws_connect) runs the checks every API route gets
 * (http.c has already checked Host, the bearer token when the gateway has
 * tokens, and refused a busy connection) plus its own: GET only (405), a
 * WebSocket upgrade with a key (400; a version other than 13 is 426), the
 * Origin as for a POST (a cross-site page may not open one, 403: browsers
 * let any page open a WebSocket anywhere), the rate limit (one run, 429)
 * and a live-run slot (429 when the gateway or the client holds its cap;
 * live.h).  It answers 101 with Sec-WebSocket-Accept.
 *
 * The socket (gw_ws_serve) is served on the connection's own thread
 * (libmicrohttpd's thread per connection may block in the upgrade
 * handler): one poll() loop reads frames, answers pings, sends what other
 * threads queued (gw_ws_send, gw_ws_close), pings a silent peer every
 * GW_WS_PING_INTERVAL_MS and gives up on one that answers nothing within
 * GW_WS_PEER_TIMEOUT_MS or takes no data for as long.  A close frame
 * queued by gw_ws_close() goes after everything queued before it; the
 * loop then waits GW_WS_CLOSE_WAIT_MS at most for the peer's.
 *
 * What it does not do: extensions (permessage-deflate is not offered),
 * subprotocols, fragmentation of what it sends, TLS (a proxy's job).
 *
 * Threads: gw_ws_serve's loop owns the wslay context; gw_ws_send,
 * gw_ws_close, gw_ws_wait_sent and gw_ws_gone may be called from any
 * thread while it runs (one lock guards the queue).  Ownership: a
 * gw_ws lives from gw_ws_serve's start to its return; the handler's
 * callbacks borrow what they are given.
 */
#ifndef SCE_GATEWAY_WS_H
#define SCE_GATEWAY_WS_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "answer.h"
#include "routes.h"

#define GW_WS_PATH "/api/v2/connect"
#define GW_WS_MESSAGE_MAX_BYTES (1 << 20) /* a client's message, as a POST body; then 1009 */
#define GW_WS_PING_INTERVAL_MS 10000      /* a ping after this much silence from the peer */
#define GW_WS_PEER_TIMEOUT_MS 20000 /* no frame, or no progress sending, for this long: gone */
#define GW_WS_CLOSE_WAIT_MS 2000    /* for the peer's close frame after ours */

struct gw_guard;
typedef struct gw_ws gw_ws;

/* 1 if url is the WebSocket's path. */
int gw_ws_is_connect(const char *url);

/* The answer to a request for GW_WS_PATH (any method): the 101 response to
 * queue (its upgrade handler serves the socket with piston_ws_serve()), or
 * NULL with the error answer in *a.  x's backends, live, tenant, rate,
 * client_ip_header and metrics are borrowed and must outlive the socket
 * (they are the server's); `guard` checks the Origin. */
struct MHD_Response *gw_ws_connect(const gw_route_ctx *x, const struct gw_guard *guard,
                                   const char *method, gw_answer *a);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL into out (outlen >= 29).  Pure. */
void gw_ws_accept_key(const char *key, char *out, size_t outlen);

/* What the socket's owner is told, on gw_ws_serve's thread. */
typedef struct gw_ws_handler {
    /* The socket is ready, before the first read: the owner may hand ws
     * to threads of its own.  May be NULL. */
    void (*started)(gw_ws *ws, void *arg);
    /* A whole text or binary message arrived (data is not NUL-terminated). */
    void (*on_message)(gw_ws *ws, const char *data, size_t len, void *arg);
    /* The connection is over (gw_ws_gone is 1, sends are refused): the
     * owner's threads must be done with ws when this returns.  Called only
     * if started was.  May be NULL. */
    void (*ended)(gw_ws *ws, void *arg);
} gw_ws_handler;

/* Serves the upgraded socket `sock` (libmicrohttpd's; never closed here)
 * until the connection is over: closed by either side, or the peer gone.
 * `extra` holds bytes libmicrohttpd read past the request. */
void gw_ws_serve(int sock, const char *extra, size_t extra_len, const gw_ws_handler *h, void *arg);

/* Queues one text message (copied).  SCE_OK; SCE_ERR_UNAVAILABLE once the
 * connection is closing or gone; SCE_ERR_NO_MEMORY. */
int gw_ws_send(gw_ws *ws, const char *text, size_t len);

/* Queues a close frame (code, reason of at most 123 bytes) after what is
 * queued; later sends are refused.  Only the first call counts. */
void gw_ws_close(gw_ws *ws, uint16_t code, const char *reason);

/* Waits until everything queued has been written to the socket, the
 * connection is gone, or deadline_ms (sce_clock_ms) passed.  Returns 1
 * when all was written. */
int gw_ws_wait_sent(gw_ws *ws, int64_t deadline_ms);

/* 1 once the connection is closing (gw_ws_close, or the peer's close) or
 * gone. */
int gw_ws_gone(gw_ws *ws);

#endif
