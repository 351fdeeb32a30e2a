/*
 * reaper.h - makes sure no container outlives its purpose.
 *
 * Three duties, one background thread:
 *  - removal off the request path: exec hands over a finished container and
 *    answers the user at once; the reaper removes it (force) soon after;
 *  - a live set: every container this process created and has not removed
 *    yet, so a sweep never touches a container in use;
 *  - sweeps, at start-up and every sweep_interval: containers labelled with
 *    this server's instance name but another boot id (a crashed or killed
 *    predecessor) and containers of this boot that are not live are removed,
 *    as are containers of any sce instance older than stale_after.
 * It also pings the engine each round and keeps the answer for Health.
 */
#ifndef SCE_REAPER_H
#define SCE_REAPER_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "options.h"

#define REAPER_LABEL_MANAGED "org.sce.managed-by"
#define REAPER_LABEL_MANAGED_VALUE "sce-server"
#define REAPER_LABEL_INSTANCE "org.sce.instance"
#define REAPER_LABEL_BOOT "org.sce.boot"

typedef struct reaper reaper;

typedef struct engine_health {
    int ok;                   /* the last ping answered */
    int checked;              /* at least one ping has finished */
    char version[64];
    char message[256];        /* why not ok */
} engine_health;

/* Starts the thread; the first sweep runs at once.  `boot_id` is this
 * process's random id (labels every container it creates). */
int reaper_start(const server_options *o, docker *d, const char *boot_id, reaper **out);

/* Registers a container just created (before anything else can fail). */
void reaper_track(reaper *r, const char *id);

/* Hands a container over for removal; it leaves the live set when removed.
 * Never blocks on the engine. */
void reaper_release(reaper *r, const char *id);

/* Containers created and not yet removed. */
size_t reaper_live_count(reaper *r);

void reaper_engine_health(reaper *r, engine_health *out);
/* Records what a run just learned about the engine (a failed call marks it
 * down at once; a success marks it up). */
void reaper_engine_report(reaper *r, int ok, const char *message);

/* Wakes the thread for a sweep now (tests, a language probe). */
void reaper_kick(reaper *r);

/* Removes everything still pending or live, then stops the thread and frees.
 * Called at shutdown after the last run has finished.  NULL is accepted. */
void reaper_stop(reaper *r);

#endif
