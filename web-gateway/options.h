/*
 * options.h - sce-gateway's configuration: one struct, one table, and the
 * checks that go beyond one option's type and bounds.
 *
 * Filled by sce_config_load (common/config.h) from defaults < config file <
 * SCE_GATEWAY_* environment < flags; immutable once the gateway runs.  The
 * defaults are gateway_limits.h's GW_DEF_*.  docs/API.md's table is made
 * from --help and config/sce-gateway.conf.example lists the same options;
 * the docs_options test checks both against --help.
 *
 * Ownership: the strings in gateway_options are the struct's, freed by
 * sce_config_free(&gateway_options_spec, o).
 */
#ifndef SCE_GATEWAY_OPTIONS_H
#define SCE_GATEWAY_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "tenants.h"

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
    int64_t max_live_runs;
    int64_t max_live_runs_per_client;
} gateway_options;

extern const sce_config_spec gateway_options_spec;

/* Checks what the table cannot: log_level is a level (and sets it first,
 * so that what the checks log obeys it),
 * cors_origin is "*" or one origin, server is not empty, at most one of
 * auth_token and auth_token_file is set, client_ip_header is a header
 * name.  (The live-run caps are kept below the connection caps by
 * http_start(), which lowers them and says so.)  Also builds the set of tokens into *tenants (NULL: no
 * authentication; the caller frees it with gw_tenants_free()).  Returns 0,
 * or -1 with one line in err. */
int options_check(const gateway_options *o, gw_tenants **tenants, char *err, size_t errlen);

#endif
