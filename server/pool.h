/*
 * pool.h - warm single-use containers.
 *
 * Per language, `pool_size` containers are created, attached and started
 * ahead of time with the standard limit set, each runner blocked reading its
 * bundle.  A run takes one (pool_acquire), uses it exactly once, and hands
 * it to the reaper like any other container; background threads refill the
 * pool.  A container that sat longer than `pool_max_idle` is recycled.
 * Requests whose container-level limits differ from the pool's (a lower
 * memory limit) take the cold path, as do runs that find the pool empty.
 */
#ifndef SCE_POOL_H
#define SCE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "languages.h"

struct exec_env;

typedef struct pool pool;

/* A started container, ready for one bundle. */
typedef struct warm_container {
    char id[DOCKER_ID_MAX + 1];
    docker_attach *attach;
    int64_t ready_ms;        /* monotonic time it became ready */
} warm_container;

typedef struct pool_stats {
    size_t ready;            /* all languages */
    size_t starting;
    uint64_t hits;
    uint64_t misses;
} pool_stats;

/* Starts the refill threads (none when pool_size is 0).  `env` must outlive
 * the pool. */
int pool_start(const struct exec_env *env, pool **out);

/* Takes a ready container for language l if the run's memory limit is the
 * pool's; returns 1 and fills *out, or 0 (take the cold path).  The caller
 * owns the container from then on: it must close out->attach and hand the
 * id to the reaper. */
int pool_acquire(pool *p, const lang_def *l, int64_t memory_bytes, warm_container *out);

void pool_get_stats(pool *p, pool_stats *out);

/* Stops refilling and hands every ready container to the reaper.  NULL is
 * accepted. */
void pool_stop(pool *p);

#endif
