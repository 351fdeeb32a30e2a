/*
 * gateway_limits.h - every cap, timeout and default of sce-gateway in one
 * place.
 *
 * The GW_DEF_* strings are the defaults of configurable options (options.c
 * bounds each); the GW_* numbers are fixed caps that protect the gateway
 * itself.  The server's own limits (code length, run timeout, output cap)
 * live in server/sce_limits.h and are enforced there, not here.
 */
#ifndef SCE_GATEWAY_LIMITS_H
#define SCE_GATEWAY_LIMITS_H

#include "common/result_json.h"

/* ---- defaults of options (configurable) ---- */
#define GW_DEF_LISTEN "127.0.0.1:8080"
#define GW_DEF_RPC_TIMEOUT "60s"        /* one call to the server, queueing included */
#define GW_DEF_BODY_LIMIT "1m"          /* a POST /run body */
#define GW_DEF_MAX_CONNECTIONS "256"    /* open HTTP connections (one thread each) */
#define GW_DEF_CONNECTION_TIMEOUT "30s" /* an idle connection is closed after this */
#define GW_DEF_READ_TIMEOUT "10s"       /* a whole request (headers and body) must arrive in it */
#define GW_DEF_HEADER_LIMIT "16k"       /* request line + headers of one connection; then 431 */
#define GW_DEF_MAX_CONNECTIONS_PER_IP "32" /* open connections from one address; 0: no cap */
#define GW_DEF_RATE_LIMIT "2"              /* POST /run per second per client; 0: off */
#define GW_DEF_RATE_BURST "20"             /* runs a client may make at once after a pause */
/* Live runs (SSE streams, WebSockets; live.h): each holds one connection
 * thread for its run's length, so the gateway-wide cap stays below
 * max_connections (options_check) and plain requests always have threads. */
#define GW_DEF_MAX_LIVE_RUNS "32"
#define GW_DEF_MAX_LIVE_RUNS_PER_CLIENT "4"

/* ---- fixed caps ---- */
#define GW_DRAIN_MARGIN_MS 5000 /* shutdown waits rpc_timeout + this for requests */
#define GW_STATIC_FILES_MAX 256 /* files of the page */
#define GW_STATIC_FILE_MAX_BYTES (8 << 20)
#define GW_STATIC_TOTAL_MAX_BYTES (32 << 20)
#define GW_BODY_DISCARD_MAX_BYTES (64 << 20) /* read past body_limit to answer 413 */
#define GW_LOG_PATH_MAX 200                  /* bytes of a request path in a log line */
#define GW_ERROR_PATH_MAX 200                /* bytes of a request path in an error message */
/* bytes of the "error" line of an answer: the shared JSON writer's cap */
#define GW_ERROR_MESSAGE_MAX SCE_JSON_ERROR_MESSAGE_MAX
#define GW_RATE_CLIENTS_MAX 4096 /* clients the rate limiter remembers; the least recent goes */
#define GW_WATCH_INTERVAL_MS 250 /* how often the watchdog looks for slow clients */
#define GW_AUTH_TOKEN_MIN 16     /* characters of a bearer token, at least */
#define GW_AUTH_TOKEN_MAX 1024
/* ---- backends (backends.h) ---- */
#define GW_BACKENDS_MAX 64                /* servers behind one gateway */
#define GW_BACKENDS_POLL_INTERVAL_MS 1000 /* each backend's Health poll */
#define GW_BACKENDS_POLL_TIMEOUT_MS 2000  /* ... answered within this, or it is down */
#define GW_BACKENDS_DNS_REFRESH_MS 2000   /* a dns:// name is resolved again */
#define GW_HEALTHZ_FRESH_WAIT_MS 2500     /* /healthz waits this long for fresh polls */   /* ... and at most (it travels in a header) */
/* Followed runs: which backend owns which run id (backends.c).  An entry
 * is dropped SCE_RUN_KEPT_MS after its run was seen done or its backend
 * went away, or when unused for GW_RUNS_OWNED_IDLE_MS (by then its server
 * has cancelled it for want of a reader and forgotten it); when the table
 * is full the least recently used entry goes (its follow-ups then ask
 * every backend again). */
#define GW_RUNS_OWNED_MAX 4096
#define GW_RUNS_OWNED_IDLE_MS (SCE_RUN_READER_GONE_MS + SCE_RUN_KEPT_MS + 10000)

/* ---- streamed runs (sse.c) ---- */
#define GW_SSE_POLL_WAIT_MS 1500   /* each poll's wait: below SCE_RUN_READER_GONE_MS */
#define GW_SSE_KEEPALIVE_MS 2000   /* ": keep-alive" after this much silence */
#define GW_SSE_HANGUP_CHECK_MS 250 /* shortest poll wait: between polls it looks for a gone client */
#define GW_STDIN_BODY_MAX_BYTES (64 << 10) /* POST /runs/{id}/stdin, as the server buffers */

/* ---- Host, Origin and connection caps (guard.c) ---- */
#define GW_ALLOWED_HOSTS_MAX 64 /* names in allowed_hosts */
#define GW_HOST_NAME_MAX 253    /* bytes of one host name, as DNS allows */
#define GW_GUARD_SHOWN_MAX 100  /* bytes of a refused Host or Origin in the error line */
/* Connections over max_connections or max_connections_per_ip are answered
 * 503 instead of being closed without a word; each holds a thread until
 * then, so there are at most this many of them, in all and per client
 * (beyond: closed at once, as libmicrohttpd did), and their request must
 * arrive within GW_BUSY_READ_TIMEOUT_MS (or read_timeout, if shorter). */
#define GW_BUSY_CONNECTIONS_MAX 64
#define GW_BUSY_PER_CLIENT_MAX 32
#define GW_BUSY_READ_TIMEOUT_MS 2000
#define GW_BUSY_RETRY_AFTER_S 1 /* Retry-After of that 503: a connection frees up quickly */

/* ---- POST /run-zip, POST /run-batch, GET /history (routes_project.c) ---- */
/* The archive itself is capped at SCE_ZIP_MAX_BYTES (sce/client.h, 2 MiB). */
#define GW_ZIP_ENTRY_MAX_BYTES 255           /* the entry field: a path, as the server's cap */
#define GW_ZIP_LANGUAGE_MAX_BYTES 32         /* the language field */
#define GW_MULTIPART_SLACK_BYTES (64 << 10)  /* boundaries, part headers, ignored parts */
#define GW_MULTIPART_BUFFER_BYTES 4096       /* libmicrohttpd's parser buffer (part headers) */
#define GW_BATCH_TASKS_MAX 64    /* tasks the gateway parses; the server's own limit is lower */
#define GW_HISTORY_LIMIT_MAX 100 /* entries of one GET /history page, as the server's */
/* A page is at most 1 MiB of JSON.  The server keeps each entry within its
 * budget (server/history_budget.h), so 100 entries fit; the gateway ends a
 * page early should they not (a server before the budget). */
#define GW_HISTORY_PAGE_MAX_BYTES (1 << 20)
#define GW_HISTORY_PAGE_RESERVE_BYTES 4096 /* the page's own keys and numbers */

#endif
