/*
 * reaper.c - container removal, the live set, leftover sweeps and the engine
 * ping (see reaper.h).
 *
 * One mutex guards two small arrays of container ids: `live` (created, not
 * removed) and `pending` (handed over for removal).  Engine calls are made
 * with the lock released.  The arrays grow as needed; their size is bounded
 * by the number of runs in flight plus those finishing.
 */
#include "reaper.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "sce/err.h"

typedef struct id_list {
    char (*ids)[DOCKER_ID_MAX + 1];
    size_t n;
    size_t cap;
} id_list;

struct reaper {
    const server_options *opt;
    docker *d;
    char boot_id[64];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    int kicked;
    id_list live;
    id_list pending;
    id_list retry;      /* removals that failed, retried at each sweep */
    engine_health health;
    int was_ok;         /* the engine was up at the previous check */
};

static int list_add(id_list *l, const char *id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : SCE_REAPER_LIST_INITIAL;
        void *p = realloc(l->ids, cap * sizeof(*l->ids));
        if (p == NULL)
            return -1;
        l->ids = p;
        l->cap = cap;
    }
    snprintf(l->ids[l->n++], DOCKER_ID_MAX + 1, "%s", id);
    return 0;
}

static int list_find(const id_list *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ids[i], id) == 0)
            return (int)i;
    return -1;
}

static void list_del(id_list *l, const char *id)
{
    int i = list_find(l, id);

    if (i >= 0)
        memcpy(l->ids[i], l->ids[--l->n], sizeof(l->ids[0]));
}

static void remove_one(reaper *r, const char *id)
{
    char err[256];
    int rv = docker_container_remove(r->d, id, err, sizeof(err));

    if (rv != SCE_OK)
        SCE_LOG(SCE_LOG_WARN, NULL, "removing container %.12s: %s", id, err);
    else
        SCE_LOG(SCE_LOG_DEBUG, NULL, "removed container %.12s", id);
    pthread_mutex_lock(&r->lock);
    /* Nobody uses it any more either way; a failed removal (the engine is
     * down, say) is retried at the next sweep. */
    list_del(&r->live, id);
    if (rv != SCE_OK && list_find(&r->retry, id) < 0 && list_add(&r->retry, id) != 0)
        SCE_LOG(SCE_LOG_ERROR, NULL, "out of memory remembering container %.12s", id);
    pthread_mutex_unlock(&r->lock);
}

/* Removes every pending container; returns how many. */
static size_t drain_pending(reaper *r)
{
    char id[DOCKER_ID_MAX + 1];
    size_t done = 0, backlog;
    int yield;

    for (;;) {
        pthread_mutex_lock(&r->lock);
        if (r->pending.n == 0) {
            pthread_mutex_unlock(&r->lock);
            return done;
        }
        memcpy(id, r->pending.ids[--r->pending.n], sizeof(id));
        backlog = r->pending.n;
        yield = !r->stopping && backlog < SCE_REAPER_QUIET_BACKLOG &&
                activity_runs() < SCE_QUIET_OVERLAP_RUNS;
        pthread_mutex_unlock(&r->lock);
        /* Removal costs the engine CPU that a run in progress needs more; it
         * waits a little, never long, and not at all once a backlog builds. */
        if (yield)
            activity_wait_quiet(SCE_REAPER_QUIET_WAIT_MS);
        remove_one(r, id);
        done++;
    }
}

/* True once after a ping found the engine up following one that did not. */
static int engine_came_back(reaper *r)
{
    int back;

    pthread_mutex_lock(&r->lock);
    back = r->health.ok && !r->was_ok;
    r->was_ok = r->health.ok;
    pthread_mutex_unlock(&r->lock);
    return back;
}

static void ping(reaper *r)
{
    engine_health h;
    char err[256];
    int rv;

    memset(&h, 0, sizeof(h));
    rv = docker_ping(r->d, h.version, sizeof(h.version), NULL, 0, err, sizeof(err));
    h.checked = 1;
    h.ok = rv == SCE_OK;
    if (!h.ok)
        snprintf(h.message, sizeof(h.message), "%s", err);
    pthread_mutex_lock(&r->lock);
    if (h.ok != r->health.ok || !r->health.checked)
        SCE_LOG(h.ok ? SCE_LOG_INFO : SCE_LOG_WARN, NULL, "docker engine %s%s%s",
                h.ok ? "up, version " : "down: ", h.ok ? h.version : h.message, "");
    r->health = h;
    pthread_mutex_unlock(&r->lock);
}

/* Hands the failed removals back to the pending queue. */
static void requeue_retries(reaper *r)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->retry.n; i++)
        if (list_find(&r->pending, r->retry.ids[i]) < 0)
            list_add(&r->pending, r->retry.ids[i]);
    r->retry.n = 0;
    pthread_mutex_unlock(&r->lock);
}

/* Live, or already waiting for a removal retry (drain_pending has just
 * tried it): either way not the sweep's to remove.  With the lock held. */
static int tracked(reaper *r, const char *id)
{
    return list_find(&r->live, id) >= 0 || list_find(&r->retry, id) >= 0;
}

/* Removes the untracked containers that carry the label `filter` and that
 * `leftover` (given the container and its age in seconds) calls leftovers;
 * returns how many.  A tracked one is running, or already queued for
 * another try. */
static size_t sweep_label(reaper *r, const char *filter, int64_t now_s,
                          int (*leftover)(const reaper *, const docker_container_info *, int64_t))
{
    docker_container_info *items = NULL;
    size_t n = 0, removed = 0;
    char err[256];

    if (docker_container_list(r->d, filter, REAPER_LABEL_BOOT, &items, &n, err, sizeof(err)) !=
        SCE_OK) {
        SCE_LOG(SCE_LOG_WARN, NULL, "sweep: listing containers: %s", err);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int live;

        pthread_mutex_lock(&r->lock);
        live = tracked(r, items[i].id);
        pthread_mutex_unlock(&r->lock);
        if (!live && leftover(r, &items[i], now_s - items[i].created)) {
            remove_one(r, items[i].id);
            removed++;
        }
    }
    free(items);
    return removed;
}

/* This instance: a predecessor's containers, and ours that nobody tracks. */
static int instance_leftover(const reaper *r, const docker_container_info *c, int64_t age_s)
{
    return strcmp(c->instance, r->boot_id) != 0 || age_s > SCE_REAPER_UNTRACKED_GRACE_S;
}

/* Any sce instance: containers far older than any run can last. */
static int stale_leftover(const reaper *r, const docker_container_info *c, int64_t age_s)
{
    (void)c;
    return age_s * 1000 > r->opt->stale_after_ms;
}

static void sweep(reaper *r)
{
    char filter[256];
    /* A container's creation time is a date (unix seconds): compared with
     * the wall clock. */
    int64_t now_s = sce_wall_ms() / 1000;
    size_t removed;

    snprintf(filter, sizeof(filter), "%s=%s", REAPER_LABEL_INSTANCE, r->opt->instance);
    removed = sweep_label(r, filter, now_s, instance_leftover);
    snprintf(filter, sizeof(filter), "%s=%s", REAPER_LABEL_MANAGED, REAPER_LABEL_MANAGED_VALUE);
    removed += sweep_label(r, filter, now_s, stale_leftover);
    if (removed > 0)
        SCE_LOG(SCE_LOG_INFO, NULL, "sweep removed %zu leftover container%s", removed,
                removed == 1 ? "" : "s");
}

static void *reaper_main(void *arg)
{
    reaper *r = arg;
    int64_t now = sce_clock_ms(), next_sweep = now, next_ping = now;

    for (;;) {
        int do_sweep, do_ping, back;

        drain_pending(r);
        now = sce_clock_ms();
        pthread_mutex_lock(&r->lock);
        do_sweep = r->kicked || now >= next_sweep;
        do_ping = do_sweep || now >= next_ping;
        r->kicked = 0;
        pthread_mutex_unlock(&r->lock);

        if (do_ping) {
            ping(r);
            next_ping = now + SCE_REAPER_PING_MS;
        }
        /* engine_came_back tracks the engine's state: call it on every
         * ping, sweeps included. */
        back = do_ping && engine_came_back(r);
        if (do_sweep || back) {
            requeue_retries(r);
            drain_pending(r);
        }
        if (do_sweep) {
            sweep(r);
            next_sweep = now + r->opt->sweep_interval_ms;
        }

        pthread_mutex_lock(&r->lock);
        if (r->stopping) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        if (r->pending.n == 0 && !r->kicked)
            sce_cond_wait_until(&r->wake, &r->lock,
                                next_sweep < next_ping ? next_sweep : next_ping);
        pthread_mutex_unlock(&r->lock);
    }
    return NULL;
}

int reaper_start(const server_options *o, docker *d, const char *boot_id, reaper **out)
{
    reaper *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return SCE_ERR_NO_MEMORY;
    r->opt = o;
    r->d = d;
    snprintf(r->boot_id, sizeof(r->boot_id), "%s", boot_id);
    pthread_mutex_init(&r->lock, NULL);
    sce_cond_init(&r->wake); /* waited on with a deadline */
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return SCE_ERR_INTERNAL;
    }
    *out = r;
    return SCE_OK;
}

void reaper_track(reaper *r, const char *id)
{
    pthread_mutex_lock(&r->lock);
    if (list_add(&r->live, id) != 0)
        SCE_LOG(SCE_LOG_ERROR, NULL, "out of memory tracking container %.12s", id);
    pthread_mutex_unlock(&r->lock);
}

void reaper_release(reaper *r, const char *id)
{
    int queued;

    pthread_mutex_lock(&r->lock);
    queued = list_add(&r->pending, id) == 0;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    /* Without memory for the queue, remove it here rather than leak it. */
    if (!queued)
        remove_one(r, id);
}

size_t reaper_live_count(reaper *r)
{
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->live.n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void reaper_engine_health(reaper *r, engine_health *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->health;
    pthread_mutex_unlock(&r->lock);
}

void reaper_engine_report(reaper *r, int ok, const char *message)
{
    pthread_mutex_lock(&r->lock);
    if (r->health.ok != ok)
        SCE_LOG(ok ? SCE_LOG_INFO : SCE_LOG_WARN, NULL, "docker engine %s%s", ok ? "up" : "down: ",
                ok ? "" : message);
    r->health.checked = 1;
    r->health.ok = ok;
    snprintf(r->health.message, sizeof(r->health.message), "%s", ok ? "" : message);
    pthread_mutex_unlock(&r->lock);
}

void reaper_kick(reaper *r)
{
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void reaper_stop(reaper *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);

    /* Whatever is still live now belongs to nobody: remove it, and try the
     * failed removals once more. */
    requeue_retries(r);
    drain_pending(r);
    for (;;) {
        char id[DOCKER_ID_MAX + 1];
        pthread_mutex_lock(&r->lock);
        if (r->live.n == 0) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        memcpy(id, r->live.ids[r->live.n - 1], sizeof(id));
        /* Drop it from the set even if removal fails, so this loop ends; the
         * next start's sweep removes what is left. */
        r->live.n--;
        pthread_mutex_unlock(&r->lock);
        remove_one(r, id);
    }
    free(r->live.ids);
    free(r->pending.ids);
    free(r->retry.ids);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
