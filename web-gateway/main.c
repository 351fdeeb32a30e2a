/*
 * main.c - sce-gateway: options, signals and wiring only.
 *
 * Start-up: load options (defaults < config file < SCE_GATEWAY_* environment
 * < flags), open the one libsce client (one nng REQ socket; every HTTP
 * request gets its own context on it), start the HTTP daemon.  The server
 * need not be up yet: libsce connects in the background and /healthz says
 * whether it answers.
 *
 * The bearer tokens, when configured, come from auth_token (one token:
 * the file, the environment or a flag) or from auth_token_file (one tenant
 * per line, tenants.h); they are never logged.
 *
 * SIGINT/SIGTERM: stop accepting connections, let the requests in flight
 * finish (no call can outlast rpc_timeout, so the wait is bounded by it plus
 * a margin), then close everything and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "gateway_limits.h"
#include "http.h"
#include "common/log.h"
#include "sce/client.h"
#include "sce/err.h"
#include "tenants.h"

#ifndef SCE_STATIC_DIR
#define SCE_STATIC_DIR "web-gateway/static"
#endif

typedef struct gateway_options {
    char *listen;
    char *server;
    int64_t rpc_timeout_ms;
    int64_t body_limit_bytes;
    int64_t max_connections;
    int64_t connection_timeout_ms;
    char *static_dir;
    char *cors_origin;
    char *log_level;
    int64_t read_timeout_ms;
    int64_t header_limit_bytes;
    int64_t max_connections_per_ip;
    char *auth_token;
    char *auth_token_file;
    double rate_limit;
    int64_t rate_burst;
    char *client_ip_header;
    char *allowed_hosts;
} gateway_options;

/* Bounds "1, 0" (min > max) mean unbounded. */
#define OPT(key, env, type, field, def, lo, hi, help)                                              \
    {                                                                                              \
        key, env, type, offsetof(gateway_options, field), def, lo, hi, help                        \
    }

static const sce_option gateway_opts[] = {
    OPT("listen", "SCE_GATEWAY_LISTEN", SCE_OPT_STRING, listen, GW_DEF_LISTEN, 1, 0,
        "HTTP address to serve on: ADDR:PORT or [V6ADDR]:PORT"),
    OPT("server", "SCE_GATEWAY_SERVER", SCE_OPT_STRING, server, SCE_DEFAULT_SERVER_URL, 1, 0,
        "nng URL of sce-server (tcp://HOST:PORT, ipc:///path)"),
    OPT("rpc_timeout", "SCE_GATEWAY_RPC_TIMEOUT", SCE_OPT_MS, rpc_timeout_ms, GW_DEF_RPC_TIMEOUT,
        100, 3600000, "longest wait for the server's answer (queueing + run); beyond it: 504"),
    OPT("body_limit", "SCE_GATEWAY_BODY_LIMIT", SCE_OPT_BYTES, body_limit_bytes, GW_DEF_BODY_LIMIT,
        1024, 64 << 20, "largest POST /run body; beyond it: 413"),
    OPT("max_connections", "SCE_GATEWAY_MAX_CONNECTIONS", SCE_OPT_INT, max_connections,
        GW_DEF_MAX_CONNECTIONS, 1, 4096,
        "open HTTP connections served (one thread each); more are answered 503"),
    OPT("max_connections_per_ip", "SCE_GATEWAY_MAX_CONNECTIONS_PER_IP", SCE_OPT_INT,
        max_connections_per_ip, GW_DEF_MAX_CONNECTIONS_PER_IP, 0, 4096,
        "open HTTP connections from one client (an IPv6 /64); more are answered 503 (0: no cap)"),
    OPT("connection_timeout", "SCE_GATEWAY_CONNECTION_TIMEOUT", SCE_OPT_MS, connection_timeout_ms,
        GW_DEF_CONNECTION_TIMEOUT, 1000, 3600000,
        "an idle or stalled connection is closed after this"),
    OPT("read_timeout", "SCE_GATEWAY_READ_TIMEOUT", SCE_OPT_MS, read_timeout_ms,
        GW_DEF_READ_TIMEOUT, 1000, 3600000,
        "a whole request (headers, body) must arrive within this, or the connection is closed"),
    OPT("header_limit", "SCE_GATEWAY_HEADER_LIMIT", SCE_OPT_BYTES, header_limit_bytes,
        GW_DEF_HEADER_LIMIT, 8192, 1 << 20,
        "memory for one connection's request line and headers; beyond it: 431"),
    OPT("auth_token", "SCE_GATEWAY_AUTH_TOKEN", SCE_OPT_STRING, auth_token, "", 1, 0,
        "bearer token required on all but /healthz and the page; empty: no auth (ps shows flags)"),
    OPT("auth_token_file", "SCE_GATEWAY_AUTH_TOKEN_FILE", SCE_OPT_STRING, auth_token_file, "", 1, 0,
        "file of tokens: lines NAME TOKEN [admin], one per tenant, or one bare TOKEN; "
        "empty: use auth_token"),
    OPT("rate_limit", "SCE_GATEWAY_RATE_LIMIT", SCE_OPT_DOUBLE, rate_limit, GW_DEF_RATE_LIMIT, 0,
        100000, "POST /run per second per client address; beyond it: 429 (0: off)"),
    OPT("rate_burst", "SCE_GATEWAY_RATE_BURST", SCE_OPT_INT, rate_burst, GW_DEF_RATE_BURST, 1,
        100000, "runs a client may make at once after a pause"),
    OPT("client_ip_header", "SCE_GATEWAY_CLIENT_IP_HEADER", SCE_OPT_STRING, client_ip_header, "", 1,
        0,
        "behind a proxy: header whose last address is the client (X-Forwarded-For); empty: peer"),
    OPT("static_dir", "SCE_GATEWAY_STATIC_DIR", SCE_OPT_STRING, static_dir, SCE_STATIC_DIR, 1, 0,
        "the built page: index.html (served at /) and assets (at /assets/NAME)"),
    OPT("allowed_hosts", "SCE_GATEWAY_ALLOWED_HOSTS", SCE_OPT_STRING, allowed_hosts, "", 1, 0,
        "Host names besides localhost's and the listen address's, comma-separated "
        "(sce.example.com, *.example.com, 10.0.0.5, [fd00::1]; '*': any)"),
    OPT("cors_origin", "SCE_GATEWAY_CORS_ORIGIN", SCE_OPT_STRING, cors_origin, "", 1, 0,
        "origin allowed to call the API from a browser ('*' for any); empty: CORS off"),
    OPT("log_level", "SCE_GATEWAY_LOG_LEVEL", SCE_OPT_STRING, log_level, "info", 1, 0,
        "debug, info, warn or error"),
};

static const sce_config_spec gateway_spec = {
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

/* Also builds the set of tokens (NULL: no authentication) into *tenants. */
static int check_options(gateway_options *o, gw_tenants **tenants, char *err, size_t errlen)
{
    int lvl = sce_log_level_parse(o->log_level);

    if (lvl < 0) {
        snprintf(err, errlen, "log_level: expected debug, info, warn or error, got '%s'",
                 o->log_level);
        return -1;
    }
    sce_log_set_level(lvl);
    if (o->cors_origin[0] != '\0' && !origin_ok(o->cors_origin)) {
        snprintf(err, errlen,
                 "cors_origin: expected '*' or an origin such as "
                 "https://example.com, got '%s'",
                 o->cors_origin);
        return -1;
    }
    if (o->server[0] == '\0') {
        snprintf(err, errlen, "server: the URL is empty");
        return -1;
    }
    if (o->auth_token[0] != '\0' && o->auth_token_file[0] != '\0') {
        snprintf(err, errlen, "auth_token and auth_token_file are both set: give one");
        return -1;
    }
    if (o->auth_token_file[0] != '\0' && gw_tenants_load(o->auth_token_file, tenants, err,
                                                          errlen) != SCE_OK)
        return -1;
    if (o->auth_token[0] != '\0' && gw_tenants_single(o->auth_token, tenants, err, errlen) != SCE_OK)
        return -1;
    for (const char *p = o->client_ip_header; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == ':') {
            snprintf(err, errlen,
                     "client_ip_header: expected a header name such as "
                     "X-Forwarded-For");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    gateway_options opt;
    http_config hc;
    char err[1024];
    sigset_t set;
    int sig, rv, status = 1;
    sce_client *client = NULL;
    http_server *srv = NULL;
    gw_tenants *tenants = NULL;
    size_t left;

    memset(&opt, 0, sizeof(opt));
    rv = sce_config_load(&gateway_spec, &opt, argc, argv, err, sizeof(err));
    if (rv == SCE_CONFIG_EXIT) {
        status = 0;
        goto out;
    }
    if (rv != SCE_CONFIG_OK || check_options(&opt, &tenants, err, sizeof(err)) != 0) {
        fprintf(stderr, "sce-gateway: %s\n", err);
        status = 2;
        goto out;
    }

    /* Blocked before any thread exists (nng's, libmicrohttpd's), so that
     * every thread inherits the mask and only sigwait() below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    SCE_LOG(SCE_LOG_INFO, NULL, "sce-gateway %s starting: server %s, rpc_timeout %lld ms",
            SCE_VERSION, opt.server, (long long)opt.rpc_timeout_ms);
    rv = sce_client_open(opt.server, &client, err, sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-gateway: server: %s\n", err);
        status = 2;
        goto out;
    }
    sce_client_set_timeout(client, (uint32_t)opt.rpc_timeout_ms);

    memset(&hc, 0, sizeof(hc));
    hc.listen = opt.listen;
    hc.body_limit_bytes = (size_t)opt.body_limit_bytes;
    hc.max_connections = (unsigned)opt.max_connections;
    hc.connection_timeout_s = (unsigned)((opt.connection_timeout_ms + 999) / 1000);
    hc.static_dir = opt.static_dir;
    hc.cors_origin = opt.cors_origin;
    hc.read_timeout_ms = opt.read_timeout_ms;
    hc.header_limit_bytes = (size_t)opt.header_limit_bytes;
    hc.max_connections_per_ip = (unsigned)opt.max_connections_per_ip;
    hc.tenants = tenants;
    hc.rate_limit_per_s = opt.rate_limit;
    hc.rate_burst = (unsigned)opt.rate_burst;
    hc.client_ip_header = opt.client_ip_header;
    hc.allowed_hosts = opt.allowed_hosts;
    rv = http_start(&hc, client, &srv, err, sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-gateway: %s\n", err);
        if (rv == SCE_ERR_INVALID_ARGUMENT)
            status = 2; /* a bad option, as above; 1 is for a failure at run time */
        goto out;
    }

    do {
        if (sigwait(&set, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGINT && sig != SIGTERM);
    SCE_LOG(SCE_LOG_INFO, NULL, "%s: no new connections; finishing requests in flight",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_quiesce(srv);
    left = http_drain(srv, opt.rpc_timeout_ms + GW_DRAIN_MARGIN_MS);
    if (left > 0)
        SCE_LOG(SCE_LOG_WARN, NULL, "%zu requests still in flight; closing them", left);
    http_stop(srv);
    srv = NULL;
    SCE_LOG(SCE_LOG_INFO, NULL, "stopped");
    status = 0;
out:
    http_stop(srv);
    gw_tenants_free(tenants);
    sce_client_close(client);
    sce_config_free(&gateway_spec, &opt);
    return status;
}
