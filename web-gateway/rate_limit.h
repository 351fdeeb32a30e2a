/*
 * rate_limit.h - sce-gateway's rate limit: a token bucket per client.
 *
 * A client is a key of client_key.h (an IPv6 /64 is one client).  Each
 * bucket holds up to `burst` runs and refills at `per_s` runs a second; a
 * run, a ZIP and a history read take one, a batch one per task (but never
 * more than a full bucket, or a batch larger than the burst could never
 * pass).  When the bucket runs dry part way, the runs already taken stay
 * spent.  The table has GW_RATE_CLIENTS_MAX buckets; when it is full, the
 * least recently seen client is forgotten (it starts over with a full
 * bucket if it comes back).
 *
 * What it does not do: find out who the client is (routes.c, from the TCP
 * peer or client_ip_header), or read a clock: the caller passes
 * sce_clock_ms(), so tests can drive time.
 *
 * Threads: any; one lock guards the table.  Ownership: the limiter is the
 * caller's, freed with gw_rate_free().
 */
#ifndef SCE_GATEWAY_RATE_LIMIT_H
#define SCE_GATEWAY_RATE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "client_key.h"

typedef struct gw_rate gw_rate;

/* A limiter of per_s runs a second, bursts of `burst` (0 counts as 1).
 * per_s <= 0 is no limit: SCE_OK with *out NULL, which every function
 * accepts.  SCE_ERR_NO_MEMORY otherwise on failure. */
int gw_rate_new(double per_s, unsigned burst, gw_rate **out);

/* NULL is accepted. */
void gw_rate_free(gw_rate *r);

/* Takes `runs` runs from the client's bucket at now_ms (monotonic).
 * Returns 1 to go ahead; 0 with the whole seconds until it may try again
 * in *retry_s and the 429's one line in msg. */
int gw_rate_take(gw_rate *r, const unsigned char key[GW_CLIENT_KEY_BYTES], size_t runs,
                 int64_t now_ms, unsigned *retry_s, char *msg, size_t msglen);

#endif
