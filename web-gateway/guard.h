/*
 * guard.h - sce-gateway's front door: which requests a browser could have
 * been tricked into sending (Host and Origin), and how many connections
 * one client, and all of them, may hold.
 *
 * Host (DNS rebinding).  A page on evil.example can point its own name at
 * 127.0.0.1 and then read this gateway's answers as same-origin.  Its
 * requests still say "Host: evil.example", so a Host that is not one of the
 * gateway's names is refused (403): the localhost names (localhost,
 * *.localhost, 127.0.0.1, [::1]), the host of the listen address unless it
 * is a wildcard (0.0.0.0 or ::, which no client writes in Host), and the
 * operator's allowed_hosts ("*" there turns the check off, for a proxy that
 * checks Host itself).  Only the name is checked, never the port, which
 * the attacker picks anyway.  A request without Host (HTTP/1.0 tools; no
 * browser sends one) passes.
 *
 * Origin (cross-site writes).  A form on any site can POST a
 * multipart/form-data body to /run-zip without a preflight.  A request
 * with any method but GET, HEAD and OPTIONS whose Origin is present and is
 * neither the gateway's own (http or https, the request's Host name, and
 * its port) nor cors_origin is refused (403).  Without Origin (curl,
 * server-to-server) it passes: only browsers send it, and they always do
 * on a cross-site POST.
 *
 * Connections.  libmicrohttpd's own per-address cap closes the socket
 * without a word; these counts let http.c answer 503 with Retry-After
 * instead.  A client is a key of client_key.h (an IPv6 /64 is one client).
 * A connection is served while its client holds fewer than
 * max_connections_per_ip and all clients fewer than max_connections;
 * otherwise it is "busy": http.c answers its first request 503 and closes
 * it.  Busy connections cost a thread each until then, so they are capped
 * too (GW_BUSY_CONNECTIONS_MAX in all, GW_BUSY_PER_CLIENT_MAX per client);
 * beyond those a connection is dropped without an answer, as before.
 *
 * What it does not do: authentication (auth.c), rate limits (rate_limit.c),
 * reading headers or sockets (http.c hands it strings and keys).  The
 * Host/Origin check is a pure function of its arguments and the names
 * fixed at gw_guard_new(); the connection counts take a lock.
 */
#ifndef SCE_GATEWAY_GUARD_H
#define SCE_GATEWAY_GUARD_H

#include <stddef.h>

#include "client_key.h"


typedef struct gw_guard_config {
    const char *listen;        /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80", "name:80" */
    const char *allowed_hosts; /* "a.example, *.b.example, 10.0.0.5, [fd00::1]", "*"; "": none */
    const char *cors_origin;   /* "", "*" or one origin */
    unsigned max_connections;  /* served at once, all clients together */
    unsigned max_connections_per_ip; /* served at once per client; 0: no cap */
} gw_guard_config;

typedef struct gw_guard gw_guard;

/* Builds the guard.  Strings are copied.  INVALID_ARGUMENT, with the line
 * in err, for a malformed allowed_hosts entry (a port, a path, a scheme,
 * characters no host name has, more than GW_ALLOWED_HOSTS_MAX entries);
 * SCE_ERR_NO_MEMORY (INTERNAL) when out of memory. */
int gw_guard_new(const gw_guard_config *cfg, gw_guard **out, char *err, size_t errlen);

/* Frees the guard; NULL is accepted. */
void gw_guard_free(gw_guard *g);

/* The names a Host may carry, for the start-up log: "localhost,
 * *.localhost, 127.0.0.1, [::1], ..." or "any (allowed_hosts = *)". */
void gw_guard_describe(const gw_guard *g, char *out, size_t outlen);

/* 1 if the listen address is a wildcard (0.0.0.0, ::, empty host) and
 * allowed_hosts is empty: only localhost names will pass, which on a
 * public address is rarely what the operator meant. */
int gw_guard_only_localhost(const gw_guard *g);

/* The Host and Origin checks of one request; host and origin are the
 * headers' values, NULL when absent.  Returns 0 when it may go on, or 403
 * with the one-line reason in msg (the header's value shown printable and
 * cut).  Pure: the answer depends on the arguments and the names only. */
unsigned gw_guard_check(const gw_guard *g, const char *method, const char *host, const char *origin,
                        char *msg, size_t msglen);

/* ---- connections ---- */

typedef enum gw_admit {
    GW_ADMIT_SERVE = 0,   /* under every cap */
    GW_ADMIT_BUSY_CLIENT, /* its client is at max_connections_per_ip: answer 503 */
    GW_ADMIT_BUSY_ALL,    /* all clients hold max_connections: answer 503 */
    GW_ADMIT_DROP,        /* even the busy connections are at their caps: close it */
} gw_admit;

/* Counts a connection that has just opened and says what to do with it.
 * Every call is matched by one gw_guard_conn_close() with the same key and
 * the answer it gave. */
gw_admit gw_guard_conn_open(gw_guard *g, const unsigned char key[GW_CLIENT_KEY_BYTES]);

/* Forgets a connection counted by gw_guard_conn_open(). */
void gw_guard_conn_close(gw_guard *g, const unsigned char key[GW_CLIENT_KEY_BYTES], gw_admit how);

/* The connections libmicrohttpd may hold: max_connections plus the busy
 * ones, so that it never refuses one before the guard has answered it. */
unsigned gw_guard_connection_limit(const gw_guard *g);

/* The 503's reason for a busy connection, one line. */
void gw_guard_busy_message(const gw_guard *g, gw_admit how, char *msg, size_t msglen);

#endif
