/*
 * options.c - the table of sce-gateway's options and their cross-checks.
 * Adding an option means a field in options.h, a row here and a line in
 * config/sce-gateway.conf.example; then `tests/docs/options_docs.py --write`
 * regenerates docs/API.md's table (the docs_options test says so).
 *
 * Threads: main's, before any other exists.  Errors: one line into the
 * caller's buffer (sce_seterr).
 */
#include "options.h"

#include <stddef.h>
#include <string.h>

#include "common/log.h"
#include "common/seterr.h"
#include "gateway_limits.h"
#include "sce/client.h"
#include "sce/err.h"

#ifndef SCE_STATIC_DIR
#define SCE_STATIC_DIR "web-gateway/static"
#endif

static const sce_option gateway_opts[] = {
    SCE_OPTION(gateway_options, "listen", "SCE_GATEWAY_LISTEN", SCE_OPT_STRING, listen,
               GW_DEF_LISTEN, 1, 0, "HTTP address to serve on: ADDR:PORT or [V6ADDR]:PORT"),
    SCE_OPTION(gateway_options, "server", "SCE_GATEWAY_SERVER", SCE_OPT_STRING, server,
               SCE_DEFAULT_SERVER_URL, 1, 0,
               "sce-server(s): nng URLs, comma-separated (tcp://HOST:PORT, ipc:///path), "
               "or dns://NAME:PORT (every address of NAME, re-resolved)"),
    SCE_OPTION(gateway_options, "rpc_timeout", "SCE_GATEWAY_RPC_TIMEOUT", SCE_OPT_MS,
               rpc_timeout_ms, GW_DEF_RPC_TIMEOUT, 100, 3600000,
               "longest wait for the server's answer (queueing + run); beyond it: 504"),
    SCE_OPTION(gateway_options, "body_limit", "SCE_GATEWAY_BODY_LIMIT", SCE_OPT_BYTES,
               body_limit_bytes, GW_DEF_BODY_LIMIT, 1024, 64 << 20,
               "largest POST /run body; beyond it: 413"),
    SCE_OPTION(gateway_options, "max_connections", "SCE_GATEWAY_MAX_CONNECTIONS", SCE_OPT_INT,
               max_connections, GW_DEF_MAX_CONNECTIONS, 1, 4096,
               "open HTTP connections served (one thread each); more are answered 503"),
    SCE_OPTION(
        gateway_options, "max_connections_per_ip", "SCE_GATEWAY_MAX_CONNECTIONS_PER_IP",
        SCE_OPT_INT, max_connections_per_ip, GW_DEF_MAX_CONNECTIONS_PER_IP, 0, 4096,
        "open HTTP connections from one client (an IPv6 /64); more are answered 503 (0: no cap)"),
    SCE_OPTION(gateway_options, "max_live_runs", "SCE_GATEWAY_MAX_LIVE_RUNS", SCE_OPT_INT,
               max_live_runs, GW_DEF_MAX_LIVE_RUNS, 1, 4095,
               "live runs (SSE streams, WebSockets) held at once, each a connection's thread; "
               "more: 429 (below max_connections)"),
    SCE_OPTION(gateway_options, "max_live_runs_per_client", "SCE_GATEWAY_MAX_LIVE_RUNS_PER_CLIENT",
               SCE_OPT_INT, max_live_runs_per_client, GW_DEF_MAX_LIVE_RUNS_PER_CLIENT, 1, 4095,
               "live runs one client (an IPv6 /64) holds at once; more: 429"),
    SCE_OPTION(gateway_options, "connection_timeout", "SCE_GATEWAY_CONNECTION_TIMEOUT", SCE_OPT_MS,
               connection_timeout_ms, GW_DEF_CONNECTION_TIMEOUT, 1000, 3600000,
               "an idle or stalled connection is closed after this"),
    SCE_OPTION(
        gateway_options, "read_timeout", "SCE_GATEWAY_READ_TIMEOUT", SCE_OPT_MS, read_timeout_ms,
        GW_DEF_READ_TIMEOUT, 1000, 3600000,
        "a whole request (headers, body) must arrive within this, or the connection is closed"),
    SCE_OPTION(gateway_options, "header_limit", "SCE_GATEWAY_HEADER_LIMIT", SCE_OPT_BYTES,
               header_limit_bytes, GW_DEF_HEADER_LIMIT, 8192, 1 << 20,
               "memory for one connection's request line and headers; beyond it: 431"),
    SCE_OPTION(
        gateway_options, "auth_token", "SCE_GATEWAY_AUTH_TOKEN", SCE_OPT_STRING, auth_token, "", 1,
        0,
        "bearer token required on all but /healthz and the page; empty: no auth (ps shows flags)"),
    SCE_OPTION(gateway_options, "auth_token_file", "SCE_GATEWAY_AUTH_TOKEN_FILE", SCE_OPT_STRING,
               auth_token_file, "", 1, 0,
               "file of tokens: lines NAME TOKEN [admin], one per tenant, or one bare TOKEN; "
               "empty: use auth_token"),
    SCE_OPTION(gateway_options, "rate_limit", "SCE_GATEWAY_RATE_LIMIT", SCE_OPT_DOUBLE, rate_limit,
               GW_DEF_RATE_LIMIT, 0, 100000,
               "POST /run per second per client address; beyond it: 429 (0: off)"),
    SCE_OPTION(gateway_options, "rate_burst", "SCE_GATEWAY_RATE_BURST", SCE_OPT_INT, rate_burst,
               GW_DEF_RATE_BURST, 1, 100000, "runs a client may make at once after a pause"),
    SCE_OPTION(
        gateway_options, "client_ip_header", "SCE_GATEWAY_CLIENT_IP_HEADER", SCE_OPT_STRING,
        client_ip_header, "", 1, 0,
        "behind a proxy: header whose last address is the client (X-Forwarded-For); empty: peer"),
    SCE_OPTION(gateway_options, "static_dir", "SCE_GATEWAY_STATIC_DIR", SCE_OPT_STRING, static_dir,
               SCE_STATIC_DIR, 1, 0,
               "the built page: index.html (served at /) and assets (at /assets/NAME)"),
    SCE_OPTION(gateway_options, "allowed_hosts", "SCE_GATEWAY_ALLOWED_HOSTS", SCE_OPT_STRING,
               allowed_hosts, "", 1, 0,
               "Host names besides localhost's and the listen address's, comma-separated "
               "(sce.example.com, *.example.com, 10.0.0.5, [fd00::1]; '*': any)"),
    SCE_OPTION(gateway_options, "cors_origin", "SCE_GATEWAY_CORS_ORIGIN", SCE_OPT_STRING,
               cors_origin, "", 1, 0,
               "origin allowed to call the API from a browser ('*' for any); empty: CORS off"),
    SCE_OPTION(gateway_options, "log_level", "SCE_GATEWAY_LOG_LEVEL", SCE_OPT_STRING, log_level,
               "info", 1, 0, "debug, info, warn or error"),
};

const sce_config_spec gateway_options_spec = {
    "sce-gateway",
    "SCE_GATEWAY_CONFIG",
    gateway_opts,
    sizeof(gateway_opts) / sizeof(gateway_opts[0]),
};

/* The origin ends up in a response header, so it must be one clean token:
 * "*" or scheme://host[:port]. */
static int origin_ok(const char *o)
{
    const char *host;

    if (strcmp(o, "*") == 0)
        return 1;
    if (strncmp(o, "http://", 7) == 0)
        host = o + 7;
    else if (strncmp(o, "https://", 8) == 0)
        host = o + 8;
    else
        return 0;
    if (*host == '\0')
        return 0;
    for (; *host != '\0'; host++)
        if (*host <= 0x20 || *host >= 0x7f || *host == '/' || *host == ',')
            return 0;
    return 1;
}

int options_check(const gateway_options *o, gw_tenants **tenants, char *err, size_t errlen)
{
    if (sce_log_set_level_named(o->log_level, err, errlen) != 0)
        return -1;
    if (o->cors_origin[0] != '\0' && !origin_ok(o->cors_origin)) {
        sce_seterr(err, errlen,
                   "cors_origin: expected '*' or an origin such as "
                   "https://example.com, got '%s'",
                   o->cors_origin);
        return -1;
    }
    if (o->server[0] == '\0') {
        sce_seterr(err, errlen, "server: the URL is empty");
        return -1;
    }
    if (o->auth_token[0] != '\0' && o->auth_token_file[0] != '\0') {
        sce_seterr(err, errlen, "auth_token and auth_token_file are both set: give one");
        return -1;
    }
    if (o->auth_token_file[0] != '\0' &&
        gw_tenants_load(o->auth_token_file, tenants, err, errlen) != SCE_OK)
        return -1;
    if (o->auth_token[0] != '\0' &&
        gw_tenants_single(o->auth_token, tenants, err, errlen) != SCE_OK)
        return -1;
    for (const char *p = o->client_ip_header; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == ':') {
            sce_seterr(err, errlen,
                       "client_ip_header: expected a header name such as "
                       "X-Forwarded-For");
            return -1;
        }
    }
    return 0;
}
