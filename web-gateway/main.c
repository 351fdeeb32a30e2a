/*
 * main.c - sce-gateway: argv, config, signals and wiring only (the option
 * table is options.c's).
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
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "common/signals.h"
#include "gateway_limits.h"
#include "backends.h"
#include "http.h"
#include "metrics.h"
#include "options.h"
#include "sce/client.h"
#include "sce/err.h"
#include "tenants.h"

int main(int argc, char **argv)
{
    gateway_options opt;
    http_config hc;
    char err[1024];
    sigset_t set;
    int sig, rv, status = 1;
    gw_backends *backends = NULL;
    gw_metrics *metrics = NULL;
    http_server *srv = NULL;
    gw_tenants *tenants = NULL;
    size_t left;

    memset(&opt, 0, sizeof(opt));
    rv = sce_config_load(&gateway_options_spec, &opt, argc, argv, err, sizeof(err));
    if (rv == SCE_CONFIG_EXIT) {
        status = 0;
        goto out;
    }
    if (rv != SCE_CONFIG_OK || options_check(&opt, &tenants, err, sizeof(err)) != 0) {
        fprintf(stderr, "sce-gateway: %s\n", err);
        status = 2;
        goto out;
    }

    /* Blocked before any thread exists (nng's, libmicrohttpd's), so that
     * every thread inherits the mask and only sce_signals_wait() below sees
     * them. */
    sce_signals_block(&set);

    SCE_LOG(SCE_LOG_INFO, NULL, "sce-gateway %s starting: server %s, rpc_timeout %lld ms",
            SCE_VERSION, opt.server, (long long)opt.rpc_timeout_ms);
    if ((metrics = gw_metrics_new()) == NULL) {
        fprintf(stderr, "sce-gateway: out of memory\n");
        goto out;
    }
    rv = gw_backends_start(opt.server, (uint32_t)opt.rpc_timeout_ms, metrics, &backends, err,
                           sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-gateway: %s\n", err);
        status = rv == SCE_ERR_INVALID_ARGUMENT ? 2 : 1;
        goto out;
    }

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
    hc.max_live_runs = (unsigned)opt.max_live_runs;
    hc.max_live_runs_per_client = (unsigned)opt.max_live_runs_per_client;
    rv = http_start(&hc, backends, metrics, &srv, err, sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-gateway: %s\n", err);
        if (rv == SCE_ERR_INVALID_ARGUMENT)
            status = 2; /* a bad option, as above; 1 is for a failure at run time */
        goto out;
    }

    sig = sce_signals_wait(&set);
    SCE_LOG(SCE_LOG_INFO, NULL, "%s: no new connections; finishing requests in flight",
            sce_signal_name(sig));
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
    gw_backends_stop(backends);
    gw_metrics_free(metrics);
    sce_config_free(&gateway_options_spec, &opt);
    return status;
}
