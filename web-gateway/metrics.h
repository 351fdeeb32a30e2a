/*
 * metrics.h - sce-gateway's metrics, served by GET /metrics in the
 * Prometheus text format (prom.h).
 *
 * The gateway counts as it goes: runs by language and verdict, HTTP
 * requests by route and status with their latency, RPCs by backend and
 * method with their latency and transport failures, and requests refused
 * before they ran.  What the backends know of themselves (up or down, runs
 * in flight, each server's pool, workers, queue and engine, from its last
 * Health answer) is not kept here: the caller passes a view of each
 * backend to gw_metrics_render(), which writes it with the counts.
 *
 * Every label set is bounded: routes, languages, verdicts, methods and
 * reasons are fixed sets (anything else is counted as "other"), status
 * codes are 100..599 (else "other"), and the RPC series remember at most
 * GW_METRICS_MAX_BACKENDS backend URLs, forever (a backend that has gone
 * keeps its series); RPCs to more are counted under backend="other".
 * Every metric is listed in docs/API.md, "GET /metrics".
 *
 * What it does not do: read clocks (callers pass seconds), know which
 * backends exist, or answer HTTP (routes.c does).
 *
 * Threads: every function may be called from any thread at once.  The
 * counting calls are lock-free atomic increments (a short lock only the
 * first time a backend URL is seen); rendering reads the counters without
 * stopping them, so a scrape may see one request's count before its
 * latency, never a histogram whose buckets disagree with its _count.
 * Every function accepts m == NULL and then does nothing (render gives an
 * exposition of zeros).  Ownership: the registry is the caller's, freed
 * with gw_metrics_free() once no thread uses it.
 */
#ifndef SCE_GATEWAY_METRICS_H
#define SCE_GATEWAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sce/client.h"

/* Distinct backend URLs the RPC series remember; beyond: backend="other". */
#define GW_METRICS_MAX_BACKENDS 256
/* Bytes of one exposition, at most (the worst case of every label set in
 * use is about 5 MB; a scrape is a few KB a backend). */
#define GW_METRICS_RENDER_MAX_BYTES (16u << 20)
/* The Content-Type of GET /metrics: the text format's version 0.0.4. */
#define GW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct gw_metrics gw_metrics;

/* A registry of zeros; NULL when out of memory. */
gw_metrics *gw_metrics_new(void);

/* NULL is accepted. */
void gw_metrics_free(gw_metrics *m);

/* A finished run (POST /run, each task of /run-batch, /run-zip): its
 * language as sent ("python", "node"; anything else is "other") and its
 * verdict, sce_verdict_name() of it, or "error" when no verdict came (a
 * transport or server error; anything unknown is "other"). */
void gw_metrics_run(gw_metrics *m, const char *language, const char *verdict);

/* One HTTP request answered: its route, one of "/run", "/run-zip",
 * "/run-batch", "/history", "/history/{id}", "/sce/languages", "/healthz",
 * "/metrics", "/runs/{id}", Piston's "/api/v2/runtimes" and "/api/v2/execute",
 * Judge0's "/languages", "/languages/{id}", "/statuses", "/about",
 * "/config_info", "/submissions" and "/submissions/{token}", "page", "asset",
 * "other" (anything else is "other"), its
 * status code, and the seconds from its arrival to its answer. */
void gw_metrics_http(gw_metrics *m, const char *route, unsigned status, double seconds);

/* One RPC to a backend: its URL, the method ("run", "run_project",
 * "run_batch", "history", "languages", "health", "run_start", "run_poll",
 * "run_stdin", "run_cancel"; else "other"), whether it
 * failed in transport (!= 0: no answer came) or got an answer (0, whatever
 * the answer said), and its seconds.  Failed calls are in the latency
 * histogram too. */
void gw_metrics_rpc(gw_metrics *m, const char *backend, const char *method, int failed,
                    double seconds);

/* A request refused before it ran: "rate_limit" (429), "busy" (every
 * backend busy, or the server's queue full), "connections" (a connection
 * cap), "unauthenticated" (no or a wrong token), "live_runs" (a live-run
 * cap, live.h); else "other". */
void gw_metrics_refused(gw_metrics *m, const char *reason);

/* The gauge of live runs held now (live.h): +1 when one is taken, -1 when
 * it is given back. */
void gw_metrics_live(gw_metrics *m, int delta);

/* What the caller knows of one backend at the time of the scrape.  Only
 * read during gw_metrics_render(). */
typedef struct gw_backend_view {
    const char *url;
    int up;                   /* 1 up, 0 down */
    uint32_t in_flight;       /* calls sent to it and not yet answered */
    uint64_t runs;            /* runs sent to it */
    uint64_t failures;        /* calls to it lost to the transport */
    const sce_health *health; /* its last Health answer, NULL if none yet */
} gw_backend_view;

/* The whole exposition, the nb backends of b included (b may be NULL when
 * nb is 0): SCE_OK with *out malloc'd, NUL-terminated text (the caller
 * frees it) and *outlen its length (may be NULL); SCE_ERR_NO_MEMORY, or
 * SCE_ERR_RESOURCE_EXHAUSTED past GW_METRICS_RENDER_MAX_BYTES, with *out
 * NULL.  Serve it as GW_METRICS_CONTENT_TYPE. */
int gw_metrics_render(gw_metrics *m, const gw_backend_view *b, size_t nb, char **out,
                      size_t *outlen);

#endif
