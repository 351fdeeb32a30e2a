/*
 * main.c - sce-server: options, signals and wiring only.
 *
 * Start-up: load options (defaults < file < env < flags), open the engine
 * client, start the reaper (its first sweep removes a predecessor's
 * leftovers), open the history (a history that cannot be opened is logged
 * and reported by History, never fatal), start serving, and probe each
 * language's image in the background.  SIGINT/SIGTERM: stop receiving, let
 * runs in progress finish and answer, write the history still queued,
 * remove every container this process created, exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "exec.h"
#include "history.h"
#include "languages.h"
#include "oci_runtime.h"
#include "options.h"
#include "pool.h"
#include "reaper.h"
#include "rpc.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/seterr.h"
#include "common/signals.h"
#include "sce/err.h"

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cond; /* sce_cond_init'd in main, before the prober starts */
static int probe_stop;

/* Probes every language until each has answered with its version, so
 * images built after the server started are picked up by themselves. */
static void *probe_main(void *arg)
{
    const exec_env *env = arg;

    for (;;) {
        int missing = 0;
        int64_t until_ms;
        char err[256];

        /* The engine's runtimes first: a probe's container needs them, and
         * the engine may have been reconfigured (SIGHUP) since. */
        if (oci_runtime_resolve(env->d, env->opt, err, sizeof(err)) != SCE_OK)
            SCE_LOG(SCE_LOG_DEBUG, NULL, "runtimes not known yet: %s", err);

        for (size_t i = 0; i < languages_count(); i++) {
            lang_status st;

            languages_status_get(languages_at(i), &st);
            if (st.available)
                continue;
            if (exec_probe_language(env, languages_at(i)) != SCE_OK)
                missing++;
        }
        if (missing == 0)
            return NULL;
        until_ms = sce_clock_ms() + SCE_PROBE_RETRY_MS;
        pthread_mutex_lock(&probe_lock);
        while (!probe_stop && sce_cond_wait_until(&probe_cond, &probe_lock, until_ms) == 0)
            ;
        if (probe_stop) {
            pthread_mutex_unlock(&probe_lock);
            return NULL;
        }
        pthread_mutex_unlock(&probe_lock);
    }
}

static int check_options(const server_options *o, char *err, size_t errlen)
{
    if (sce_log_set_level_named(o->log_level, err, errlen) != 0)
        return -1;
    if (options_check_user(o->user, err, errlen) != 0)
        return -1;
    if (o->stale_after_ms < o->timeout_ms + SCE_STALE_MARGIN_MS ||
        (o->pool_size > 0 &&
         o->stale_after_ms < o->pool_max_idle_ms + o->timeout_ms + SCE_STALE_MARGIN_MS)) {
        sce_seterr(err, errlen,
                   "stale_after must exceed timeout (plus pool_max_idle with a pool) by 60s");
        return -1;
    }
    if (o->instance[0] == '\0' || strlen(o->instance) > SCE_INSTANCE_MAX_CHARS) {
        sce_seterr(err, errlen, "instance: must be 1 to 100 characters");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    server_options opt;
    char err[1024];
    char boot_id[2 * SCE_BOOT_ID_BYTES + 1];
    sigset_t set;
    int sig, rv, status = 1;
    docker *d = NULL;
    reaper *r = NULL;
    pool *warm = NULL;
    rpc_server *srv = NULL;
    history *hist = NULL;
    exec_env env;
    pthread_t prober;
    int prober_started = 0;

    memset(&opt, 0, sizeof(opt));
    rv = sce_config_load(&server_options_spec, &opt, argc, argv, err, sizeof(err));
    if (rv == SCE_CONFIG_EXIT) {
        status = 0;
        goto out;
    }
    if (rv != SCE_CONFIG_OK || check_options(&opt, err, sizeof(err)) != 0) {
        fprintf(stderr, "sce-server: %s\n", err);
        status = 2;
        goto out;
    }

    /* Signals are taken by sigwait in this thread only. */
    sce_signals_block(&set);
    if (sce_cond_init(&probe_cond) != 0) {
        fprintf(stderr, "sce-server: cannot make the prober's condition variable\n");
        goto out;
    }

    if (sce_random_hex(boot_id, sizeof(boot_id), SCE_BOOT_ID_BYTES, SCE_RANDOM_WAIT) != 0) {
        fprintf(stderr, "sce-server: no randomness for the boot id\n");
        goto out;
    }
    SCE_LOG(SCE_LOG_INFO, NULL, "sce-server %s starting: instance %s, boot %s, engine %s",
            SCE_VERSION, opt.instance, boot_id, opt.docker_socket);

    rv = docker_open(opt.docker_socket, opt.docker_api_version, (int)opt.docker_timeout_ms, &d,
                     err, sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-server: %s\n", err);
        goto out;
    }
    rv = reaper_start(&opt, d, boot_id, &r);
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-server: cannot start the reaper: %s\n", sce_strerror(rv));
        goto out;
    }
    env.opt = &opt;
    env.d = d;
    env.r = r;
    env.pool = NULL;
    env.boot_id = boot_id;
    /* Before the pool's first container; an engine that is not up yet is
     * asked again by the prober. */
    if (oci_runtime_resolve(d, &opt, err, sizeof(err)) != SCE_OK)
        SCE_LOG(SCE_LOG_INFO, NULL, "runtimes not known yet: %s", err);
    rv = pool_start(&env, &warm);
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-server: cannot start the pool: %s\n", sce_strerror(rv));
        goto out;
    }
    env.pool = warm;
    if (opt.history) {
        history_options ho = {.path = opt.history_path,
                              .max_entries = opt.history_max_entries,
                              .max_age_ms = opt.history_max_age_ms,
                              .url = opt.history_url};
        char where[512];

        /* The URL is shown without its password. */
        if (opt.history_url[0] != '\0')
            history_url_redact(opt.history_url, where, sizeof(where));
        else
            snprintf(where, sizeof(where), "%s", opt.history_path);
        rv = history_open(&ho, &hist, err, sizeof(err));
        if (rv == SCE_OK) {
            SCE_LOG(SCE_LOG_INFO, NULL, "history: %s (keeps %lld runs, %lld days)", where,
                    (long long)opt.history_max_entries,
                    (long long)(opt.history_max_age_ms / 86400000));
        } else {
            /* The server serves all the same; History says why it cannot. */
            SCE_LOG(SCE_LOG_ERROR, NULL,
                    "history is unavailable, runs are not recorded: %s (fix or move the file, "
                    "set history_path or history_url, or history = off)",
                    err);
            hist = history_unavailable(err);
        }
    }
    rv = rpc_start(&env, hist, &srv, err, sizeof(err));
    if (rv != SCE_OK) {
        fprintf(stderr, "sce-server: %s\n", err);
        goto out;
    }
    if (pthread_create(&prober, NULL, probe_main, &env) == 0)
        prober_started = 1;

    sig = sce_signals_wait(&set);
    SCE_LOG(SCE_LOG_INFO, NULL, "%s: finishing runs in progress, then stopping",
            sce_signal_name(sig));
    status = 0;
out:
    if (prober_started) {
        pthread_mutex_lock(&probe_lock);
        probe_stop = 1;
        pthread_cond_broadcast(&probe_cond);
        pthread_mutex_unlock(&probe_lock);
        pthread_join(prober, NULL);
    }
    rpc_stop(srv);
    history_close(hist);
    pool_stop(warm);
    reaper_stop(r);
    docker_close(d);
    sce_config_free(&server_options_spec, &opt);
    return status;
}
