/*
 * gateway_limits.h - every cap, timeout and default of sce-gateway in one
 * place.
 *
 * The GW_DEF_* strings are the defaults of configurable options (main.c
 * bounds each); the GW_* numbers are fixed caps that protect the gateway
 * itself.  The server's own limits (code length, run timeout, output cap)
 * live in server/sce_limits.h and are enforced there, not here.
 */
#ifndef SCE_GATEWAY_LIMITS_H
#define SCE_GATEWAY_LIMITS_H

/* ---- defaults of options (configurable) ---- */
#define GW_DEF_LISTEN "127.0.0.1:8080"
#define GW_DEF_RPC_TIMEOUT "60s"        /* one call to the server, queueing included */
#define GW_DEF_BODY_LIMIT "1m"          /* a POST /run body */
#define GW_DEF_MAX_CONNECTIONS "256"    /* open HTTP connections (one thread each) */
#define GW_DEF_CONNECTION_TIMEOUT "30s" /* an idle connection is closed after this */

/* ---- fixed caps ---- */
#define GW_DRAIN_MARGIN_MS 5000 /* shutdown waits rpc_timeout + this for requests */
#define GW_STATIC_FILES_MAX 256 /* files of the page */
#define GW_STATIC_FILE_MAX_BYTES (8 << 20)
#define GW_STATIC_TOTAL_MAX_BYTES (32 << 20)
#define GW_BODY_DISCARD_MAX_BYTES (64 << 20) /* read past body_limit to answer 413 */
#define GW_LOG_PATH_MAX 200                  /* bytes of a request path in a log line */
#define GW_ERROR_PATH_MAX 200                /* bytes of a request path in an error message */
#define GW_ERROR_MESSAGE_MAX 512             /* bytes of the "error" line of an answer */

#endif
