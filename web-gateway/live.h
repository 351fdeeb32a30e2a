/*
 * live.h - the caps on live runs: SSE streams (POST /run with Accept:
 * text/event-stream) and WebSockets (GET /api/v2/connect).
 *
 * A live run holds one of libmicrohttpd's connection threads for as long
 * as its program runs, where a plain run holds one only until its answer.
 * So the gateway holds at most max_live_runs of them at once (default 32;
 * http_start() keeps it below max_connections, so plain requests and a
 * live run's own stdin POSTs always find a thread), and one client (a key
 * of client_key.h, as the rate limiter sees it) at most
 * max_live_runs_per_client (default 4), so one client cannot take them
 * all.  Over either cap a new live run is refused RESOURCE_EXHAUSTED (the
 * routes answer 429) with a one-line reason.
 *
 * What it does not do: start or follow runs (backends.h), count plain
 * requests or connections (guard.h), rate-limit (rate_limit.h).
 *
 * Threads: every function may be called from any thread; one lock guards
 * the counts.  The per-client counts remember only clients holding a live
 * run, so their table is at most max_live_runs entries.  Ownership: the
 * caller's, gw_live_free() once no thread uses it.
 */
#ifndef SCE_GATEWAY_LIVE_H
#define SCE_GATEWAY_LIVE_H

#include <stddef.h>

struct gw_metrics;

typedef struct gw_live gw_live; /* counts the live runs (SSE streams and WebSockets) */

/* A set of counts with these caps (0: every live run refused); `metrics` (may be
 * NULL, borrowed) gets the gauge of live runs and the refusals
 * ("live_runs").  NULL when out of memory. */
gw_live *gw_live_new(unsigned max_live_runs, unsigned max_per_client, struct gw_metrics *metrics);

/* NULL is accepted. */
void gw_live_free(gw_live *l);

/* Takes one live run for client_key (any string naming the client; NULL
 * is the empty key).  SCE_OK, or SCE_ERR_RESOURCE_EXHAUSTED with a
 * one-line reason in err: the gateway-wide cap `max_live_runs` or the
 * client's `max_live_runs_per_client`. */
int gw_live_acquire(gw_live *l, const char *client_key, char *err, size_t errlen);

/* Gives back a live run taken by gw_live_acquire() with the same key. */
void gw_live_release(gw_live *l, const char *client_key);

/* Live runs held now, in all. */
unsigned gw_live_count(gw_live *l);

#endif
