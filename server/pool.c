/*
 * pool.c - warm single-use containers (see pool.h).
 *
 * One mutex guards the ready lists (one per language, oldest first) and the
 * counters.  Refill threads loop: find the language furthest below its
 * target, prepare one container (create, attach, start: a few hundred ms of
 * engine time, with the lock released), and append it.  Each container is
 * used once; the pool never takes one back.
 */
#include "pool.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "exec.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "sce/err.h"

typedef struct ready_list {
    warm_container *items;
    size_t n;
    size_t starting;          /* being prepared by a refill thread */
} ready_list;

struct pool {
    const exec_env *env;
    size_t target;            /* per language */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    ready_list lists[SCE_LANGUAGES_MAX];
    pthread_t *threads;
    size_t nthreads;
    uint64_t hits, misses;
    int64_t backoff_until[SCE_LANGUAGES_MAX];
    int64_t backoff_ms[SCE_LANGUAGES_MAX]; /* 0 after a success */
};

static void hand_over(pool *p, warm_container *w)
{
    docker_attach_close(w->attach);
    w->attach = NULL;
    reaper_release(p->env->r, w->id);
}

/* The language most in need of a container, or -1; with the lock held. */
static int neediest(pool *p, int64_t now)
{
    int best = -1;
    size_t best_have = 0;

    for (size_t i = 0; i < languages_count() && i < SCE_LANGUAGES_MAX; i++) {
        size_t have = p->lists[i].n + p->lists[i].starting;
        if (have >= p->target || now < p->backoff_until[i])
            continue;
        if (best < 0 || have < best_have) {
            best = (int)i;
            best_have = have;
        }
    }
    return best;
}

/* A waiting runner writes nothing until it has its bundle: if its stream is
 * readable (data, EOF or an error), the container died while it waited,
 * e.g. with an engine restart. */
static int still_waiting(const warm_container *w)
{
    struct pollfd pfd = {docker_attach_fd(w->attach), POLLIN, 0};

    return poll(&pfd, 1, 0) == 0;
}

/* Takes out containers that have been ready longer than pool_max_idle, or
 * died while waiting; with the lock held, returns how many it put in `old`. */
static size_t take_expired(pool *p, int64_t now, warm_container *old, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < languages_count() && i < SCE_LANGUAGES_MAX; i++) {
        ready_list *l = &p->lists[i];
        size_t keep = 0;
        for (size_t j = 0; j < l->n; j++) {
            if (n < max && (now - l->items[j].ready_ms > p->env->opt->pool_max_idle_ms ||
                            !still_waiting(&l->items[j])))
                old[n++] = l->items[j];
            else
                l->items[keep++] = l->items[j];
        }
        l->n = keep;
    }
    return n;
}

static void *refill_main(void *arg)
{
    pool *p = arg;

    for (;;) {
        warm_container w, old[SCE_POOL_RECYCLE_BATCH];
        size_t nold;
        int li;
        int64_t now = sce_clock_ms();
        char err[512];
        int rv, first_failure;
        int64_t t_prep;

        pthread_mutex_lock(&p->lock);
        for (;;) {
            if (p->stopping) {
                pthread_mutex_unlock(&p->lock);
                return NULL;
            }
            now = sce_clock_ms();
            nold = take_expired(p, now, old, SCE_POOL_RECYCLE_BATCH);
            li = neediest(p, now);
            if (li >= 0 || nold > 0)
                break;
            /* Sleep until woken (a container was taken) or a second passes:
             * idle expiry and back-off are checked at that pace. */
            sce_cond_wait_until(&p->wake, &p->lock, now + SCE_POOL_CHECK_MS);
        }
        if (li >= 0)
            p->lists[li].starting++;
        pthread_mutex_unlock(&p->lock);

        for (size_t i = 0; i < nold; i++) {
            SCE_LOG(SCE_LOG_DEBUG, NULL, "pool: recycling idle container %.12s", old[i].id);
            hand_over(p, &old[i]);
        }
        if (li < 0)
            continue;

        /* While a run streams its output, preparing a container would slow
         * it down: wait for a quiet moment, unless this language has none
         * ready (a run may be waiting for exactly this) or runs overlap
         * anyway (under load, quiet never comes and refills must not lag). */
        if (p->lists[li].n > 0 && activity_runs() < SCE_QUIET_OVERLAP_RUNS)
            activity_wait_quiet(SCE_POOL_QUIET_WAIT_MS);
        t_prep = sce_clock_ms();
        rv = exec_prepare(p->env, languages_at((size_t)li), p->env->opt->memory_bytes, "pool", &w,
                          err, sizeof(err));
        t_prep = sce_clock_ms() - t_prep;
        /* A refill normally takes a few hundred ms; say when the engine is
         * far slower, since runs then find the pool empty. */
        SCE_LOG(t_prep > SCE_POOL_SLOW_PREPARE_MS ? SCE_LOG_WARN : SCE_LOG_DEBUG, NULL,
                "pool: preparing a %s container took %lld ms%s", languages_at((size_t)li)->name,
                (long long)t_prep,
                t_prep > SCE_POOL_SLOW_PREPARE_MS ? " (the engine is slow)" : "");
        pthread_mutex_lock(&p->lock);
        p->lists[li].starting--;
        first_failure = 0;
        if (rv == SCE_OK && !p->stopping) {
            ready_list *l = &p->lists[li];
            w.ready_ms = sce_clock_ms();
            l->items[l->n++] = w;
            if (p->backoff_ms[li] > 0)
                SCE_LOG(SCE_LOG_INFO, NULL, "pool: %s containers start again",
                        languages_at((size_t)li)->name);
            p->backoff_ms[li] = 0;
            rv = -1; /* kept */
        } else if (rv != SCE_OK) {
            /* A dead engine or a missing image: retry ever less often, and
             * say so once, not every time. */
            first_failure = p->backoff_ms[li] == 0;
            p->backoff_ms[li] = p->backoff_ms[li] ? p->backoff_ms[li] * 2 : SCE_POOL_BACKOFF_MS;
            if (p->backoff_ms[li] > SCE_POOL_BACKOFF_MAX_MS)
                p->backoff_ms[li] = SCE_POOL_BACKOFF_MAX_MS;
            p->backoff_until[li] = sce_clock_ms() + p->backoff_ms[li];
        }
        pthread_mutex_unlock(&p->lock);
        if (rv == SCE_OK)
            hand_over(p, &w); /* prepared while stopping */
        else if (first_failure)
            SCE_LOG(SCE_LOG_WARN, NULL, "pool: cannot prepare a %s container: %s",
                    languages_at((size_t)li)->name, err);
    }
}

int pool_start(const exec_env *env, pool **out)
{
    pool *p = calloc(1, sizeof(*p));
    size_t n = (size_t)env->opt->pool_refill_concurrency;

    if (p == NULL)
        return SCE_ERR_NO_MEMORY;
    p->env = env;
    p->target = (size_t)env->opt->pool_size;
    pthread_mutex_init(&p->lock, NULL);
    sce_cond_init(&p->wake); /* waited on with a deadline */
    for (size_t i = 0; i < languages_count() && i < SCE_LANGUAGES_MAX; i++) {
        p->lists[i].items = calloc(p->target ? p->target : 1, sizeof(warm_container));
        if (p->lists[i].items == NULL)
            goto fail;
    }
    if (p->target > 0) {
        p->threads = calloc(n, sizeof(pthread_t));
        if (p->threads == NULL)
            goto fail;
        for (; p->nthreads < n; p->nthreads++)
            if (pthread_create(&p->threads[p->nthreads], NULL, refill_main, p) != 0)
                goto fail;
    }
    *out = p;
    return SCE_OK;
fail:
    pool_stop(p);
    return SCE_ERR_NO_MEMORY;
}

int pool_acquire(pool *p, const lang_def *l, int64_t memory_bytes, warm_container *out)
{
    size_t li = (size_t)(l - languages_at(0));
    warm_container dead[16];
    size_t ndead = 0;
    int got = 0;

    if (p == NULL || p->target == 0 || li >= SCE_LANGUAGES_MAX)
        return 0;
    pthread_mutex_lock(&p->lock);
    if (memory_bytes == p->env->opt->memory_bytes) {
        ready_list *rl = &p->lists[li];
        /* The oldest first: every container serves before it can expire. */
        while (rl->n > 0 && !got) {
            warm_container w = rl->items[0];
            memmove(rl->items, rl->items + 1, (rl->n - 1) * sizeof(*rl->items));
            rl->n--;
            if (still_waiting(&w)) {
                *out = w;
                got = 1;
            } else if (ndead < sizeof(dead) / sizeof(dead[0])) {
                dead[ndead++] = w;
            } else {
                rl->items[rl->n++] = w; /* looked at again next time */
                break;
            }
        }
        pthread_cond_signal(&p->wake);
    }
    if (got)
        p->hits++;
    else
        p->misses++;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < ndead; i++) {
        SCE_LOG(SCE_LOG_WARN, NULL, "pool: warm container %.12s died while waiting; discarded",
                dead[i].id);
        hand_over(p, &dead[i]);
    }
    return got;
}

void pool_get_stats(pool *p, pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < SCE_LANGUAGES_MAX; i++) {
        out->ready += p->lists[i].n;
        out->starting += p->lists[i].starting;
    }
    out->hits = p->hits;
    out->misses = p->misses;
    pthread_mutex_unlock(&p->lock);
}

void pool_stop(pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    for (size_t i = 0; i < SCE_LANGUAGES_MAX; i++) {
        for (size_t j = 0; j < p->lists[i].n; j++)
            hand_over(p, &p->lists[i].items[j]);
        free(p->lists[i].items);
    }
    free(p->threads);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
