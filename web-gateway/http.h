/*
 * http.h - sce-gateway's HTTP side: a libmicrohttpd daemon that takes each
 * request through the guards, reads its body up to a cap, and sends the
 * answer the routes give (routes.h, static.h).
 *
 * Threading: one thread per connection (libmicrohttpd's
 * MHD_USE_THREAD_PER_CONNECTION), so a run that blocks in sce_client_run()
 * holds up only its own connection.  A streamed run (sse.h) holds its
 * connection's thread for the run's length; live.h caps how many.  The number of connections is capped,
 * in all and per client address (guard.h), idle ones time out, and the
 * slow-client watchdog (watchdog.h, a thread of its own) cuts off a
 * connection whose request does not arrive within read_timeout however
 * steadily it trickles in, so slow clients cannot pile up threads.
 *
 * Guards, each optional: a bearer token on every route but /healthz and
 * the page (auth.h); a token bucket per client on runs (rate_limit.h); a
 * cap on the memory (request line + headers) of one connection.  Always on
 * (guard.h): the Host must be one of the gateway's names and a cross-site
 * Origin may not POST; a connection over a cap gets 503 with Retry-After.
 *
 * Shutdown happens in three steps so that requests in flight finish:
 * http_quiesce() stops accepting connections, http_drain() waits for the
 * requests already started, http_stop() closes everything.
 */
#ifndef SCE_GATEWAY_HTTP_H
#define SCE_GATEWAY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "backends.h"
#include "sce/client.h"

struct gw_metrics;

typedef struct http_config {
    const char *listen;      /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80" */
    size_t body_limit_bytes; /* larger POST bodies are answered 413 */
    unsigned max_connections;
    unsigned connection_timeout_s;   /* idle connections are closed after this */
    const char *static_dir;          /* the built page; may be missing */
    const char *cors_origin;         /* "" or NULL: CORS off; "*" or one origin */
    int64_t read_timeout_ms;         /* a request (headers + body) must arrive within it */
    size_t header_limit_bytes;       /* memory of one connection: request line + headers */
    unsigned max_connections_per_ip; /* 0: no cap */
    const struct gw_tenants *tenants; /* NULL: no authentication; borrowed (tenants.h) */
    double rate_limit_per_s;         /* POST /run per client per second; 0: off */
    unsigned rate_burst;             /* bucket size */
    const char *client_ip_header;    /* "" or NULL: the client is the TCP peer */
    const char *allowed_hosts; /* Host names besides localhost's and listen's (guard.h) */
    unsigned max_live_runs;    /* streamed runs and WebSockets at once (live.h) */
    unsigned max_live_runs_per_client;
} http_config;

typedef struct http_server http_server;

/* Loads the static files (a missing directory is not an error: the page is
 * then answered 503 "not built"), binds cfg->listen and starts serving.
 * `backends` and `metrics` are borrowed and must outlive the server.  Strings in cfg are
 * copied.  Errors, with one line in `err`: INVALID_ARGUMENT for a malformed
 * listen address or a page over the size caps (configuration mistakes),
 * UNAVAILABLE when the address cannot be bound (a port in use). */
int http_start(const http_config *cfg, gw_backends *backends, struct gw_metrics *metrics,
               http_server **out, char *err, size_t errlen);

/* Stops accepting connections; requests on open connections still run, and
 * new requests on kept-alive connections are answered 503. */
void http_quiesce(http_server *s);

/* Waits until no request is in flight or timeout_ms passed; returns how
 * many requests were still in flight. */
size_t http_drain(http_server *s, int64_t timeout_ms);

/* Closes every connection and frees the server.  NULL is accepted. */
void http_stop(http_server *s);

#endif
