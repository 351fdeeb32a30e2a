/*
 * live.c - the live-run caps of live.h: a total and a small table of the
 * clients holding live runs, under one lock.
 *
 * The table is a flat array of max_live_runs slots (a client holds at
 * least one run to be in it, so it can never need more) searched
 * linearly: at most a few dozen entries, touched twice per live run.
 */
#include "live.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/seterr.h"
#include "metrics.h"
#include "sce/err.h"

#define LIVE_KEY_MAX 64 /* bytes of a client key kept; longer keys are cut */

typedef struct live_client {
    char key[LIVE_KEY_MAX + 1];
    unsigned held; /* 0: a free slot */
} live_client;

struct gw_live {
    pthread_mutex_t lock;
    unsigned max_total;
    unsigned max_per_client;
    unsigned total;
    live_client *clients; /* max_total slots */
    struct gw_metrics *metrics;
};

gw_live *gw_live_new(unsigned max_live_runs, unsigned max_per_client, struct gw_metrics *metrics)
{
    gw_live *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return NULL;
    l->max_total = max_live_runs;
    l->max_per_client = max_per_client;
    l->metrics = metrics;
    if ((l->clients = calloc(l->max_total > 0 ? l->max_total : 1, sizeof(*l->clients))) == NULL) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void gw_live_free(gw_live *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l->clients);
    free(l);
}

/* The slot of key, or NULL (under lock). */
static live_client *find(gw_live *l, const char *key)
{
    for (unsigned i = 0; i < l->max_total; i++)
        if (l->clients[i].held > 0 && strncmp(l->clients[i].key, key, LIVE_KEY_MAX) == 0)
            return &l->clients[i];
    return NULL;
}

int gw_live_acquire(gw_live *l, const char *client_key, char *err, size_t errlen)
{
    const char *key = client_key != NULL ? client_key : "";
    live_client *c;
    int rv = SCE_ERR_RESOURCE_EXHAUSTED;

    pthread_mutex_lock(&l->lock);
    c = find(l, key);
    if (l->total >= l->max_total) {
        sce_seterr(err, errlen,
                   "busy: the gateway already holds %u live runs (max_live_runs); try again when "
                   "one ends",
                   l->max_total);
        goto out;
    }
    if (c != NULL && c->held >= l->max_per_client) {
        sce_seterr(err, errlen,
                   "too many live runs: this client already has %u (max_live_runs_per_client); "
                   "end one first",
                   c->held);
        goto out;
    }
    if (c == NULL) {
        /* total < max_total, so a free slot exists. */
        for (unsigned i = 0; c == NULL && i < l->max_total; i++)
            if (l->clients[i].held == 0)
                c = &l->clients[i];
        strncpy(c->key, key, LIVE_KEY_MAX);
        c->key[LIVE_KEY_MAX] = '\0';
    }
    c->held++;
    l->total++;
    rv = SCE_OK;
out:
    pthread_mutex_unlock(&l->lock);
    if (rv == SCE_OK)
        gw_metrics_live(l->metrics, 1);
    else
        gw_metrics_refused(l->metrics, "live_runs");
    return rv;
}

void gw_live_release(gw_live *l, const char *client_key)
{
    live_client *c;
    int released = 0;

    if (l == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    if ((c = find(l, client_key != NULL ? client_key : "")) != NULL) {
        c->held--;
        l->total--;
        released = 1;
    }
    pthread_mutex_unlock(&l->lock);
    if (released)
        gw_metrics_live(l->metrics, -1);
}

unsigned gw_live_count(gw_live *l)
{
    unsigned n;

    pthread_mutex_lock(&l->lock);
    n = l->total;
    pthread_mutex_unlock(&l->lock);
    return n;
}
