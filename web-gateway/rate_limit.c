/*
 * rate_limit.c - the token buckets of rate_limit.h, in a table of fixed
 * size scanned linearly (GW_RATE_CLIENTS_MAX rows, one scan per run sent to
 * the server, which costs far more).
 *
 * Threads: gw_rate_take() from any request thread, under r->lock.
 * Errors: only out of memory, at gw_rate_new().
 */
#include "rate_limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/seterr.h"
#include "gateway_limits.h"
#include "sce/err.h"

/* One client: a token bucket. */
typedef struct rate_client {
    unsigned char key[GW_CLIENT_KEY_BYTES];
    double tokens;
    int64_t last_ms; /* when tokens was last brought up to date; 0: slot unused */
} rate_client;

struct gw_rate {
    double per_s;
    double burst;
    pthread_mutex_t lock; /* guards clients */
    rate_client *clients; /* GW_RATE_CLIENTS_MAX of them */
};

int gw_rate_new(double per_s, unsigned burst, gw_rate **out)
{
    gw_rate *r;

    *out = NULL;
    if (per_s <= 0)
        return SCE_OK;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return SCE_ERR_NO_MEMORY;
    if ((r->clients = calloc(GW_RATE_CLIENTS_MAX, sizeof(*r->clients))) == NULL) {
        free(r);
        return SCE_ERR_NO_MEMORY;
    }
    r->per_s = per_s;
    r->burst = burst > 0 ? burst : 1;
    pthread_mutex_init(&r->lock, NULL);
    *out = r;
    return SCE_OK;
}

void gw_rate_free(gw_rate *r)
{
    if (r == NULL)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->clients);
    free(r);
}

/* Takes one run from the client's bucket; 1 if there was one, else 0 with
 * the seconds until there will be in *retry_s.  r->lock held. */
static int take_one(gw_rate *r, const unsigned char *key, int64_t now, unsigned *retry_s)
{
    rate_client *e = NULL, *oldest = NULL;
    double wait_s;

    for (size_t i = 0; i < GW_RATE_CLIENTS_MAX; i++) {
        rate_client *c = &r->clients[i];

        if (c->last_ms != 0 && memcmp(c->key, key, GW_CLIENT_KEY_BYTES) == 0) {
            e = c;
            break;
        }
        if (oldest == NULL || c->last_ms < oldest->last_ms)
            oldest = c; /* unused slots (last_ms 0) come first */
    }
    if (e == NULL) {
        e = oldest;
        memcpy(e->key, key, GW_CLIENT_KEY_BYTES);
        e->tokens = r->burst;
        e->last_ms = now;
    }
    e->tokens += (double)(now - e->last_ms) * r->per_s / 1000.0;
    if (e->tokens > r->burst)
        e->tokens = r->burst;
    e->last_ms = now > 0 ? now : 1;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        return 1;
    }
    wait_s = (1.0 - e->tokens) / r->per_s;
    *retry_s = wait_s >= 3600 ? 3600 : (unsigned)wait_s + 1;
    return 0;
}

int gw_rate_take(gw_rate *r, const unsigned char key[GW_CLIENT_KEY_BYTES], size_t runs,
                 int64_t now_ms, unsigned *retry_s, char *msg, size_t msglen)
{
    int ok = 1;

    if (r == NULL)
        return 1;
    if ((double)runs > r->burst)
        runs = (size_t)r->burst;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; ok && i < runs; i++)
        ok = take_one(r, key, now_ms, retry_s);
    pthread_mutex_unlock(&r->lock);
    if (!ok)
        sce_seterr(msg, msglen,
                   "rate limit reached: %g runs per second per client, bursts of %g; "
                   "retry in %u s",
                   r->per_s, r->burst, *retry_s);
    return ok;
}
