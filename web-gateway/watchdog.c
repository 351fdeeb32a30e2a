/*
 * watchdog.c - the slow-client watchdog of watchdog.h: a doubly linked
 * list of open connections and a thread that looks at it every
 * GW_WATCH_INTERVAL_MS (a scan of at most max_connections plus the busy
 * ones).
 *
 * Threads: the watchdog thread, and the callers' (libmicrohttpd's
 * connection threads); `lock` guards the list, every entry's deadline,
 * cut and requests, and `stop`.  Errors: only at start-up.
 */
#include "watchdog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "gateway_limits.h"
#include "sce/err.h"

struct gw_watchdog {
    int64_t read_timeout_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* monotonic (sce_cond_init) */
    gw_watch *watched;
    int stop;
    int started;
    pthread_t thread;
};

/* Cuts off every connection whose request is overdue. */
static void *watchdog_main(void *arg)
{
    gw_watchdog *wd = arg;

    pthread_mutex_lock(&wd->lock);
    while (!wd->stop) {
        int64_t now = sce_clock_ms();

        for (gw_watch *w = wd->watched; w != NULL; w = w->next) {
            if (w->cut || w->read_deadline_ms == 0 || now < w->read_deadline_ms)
                continue;
            /* A kept-alive connection that merely sits idle is routine. */
            SCE_LOG(w->requests > 0 ? SCE_LOG_DEBUG : SCE_LOG_INFO, NULL,
                    "%s: no complete request within %lld ms; closing the connection", w->addr,
                    (long long)wd->read_timeout_ms);
            shutdown(w->fd, SHUT_RDWR);
            w->cut = 1;
        }
        sce_cond_wait_until(&wd->wake, &wd->lock, now + GW_WATCH_INTERVAL_MS);
    }
    pthread_mutex_unlock(&wd->lock);
    return NULL;
}

int gw_watchdog_start(int64_t read_timeout_ms, gw_watchdog **out, char *err, size_t errlen)
{
    gw_watchdog *wd = calloc(1, sizeof(*wd));

    if (wd == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    wd->read_timeout_ms = read_timeout_ms;
    pthread_mutex_init(&wd->lock, NULL);
    sce_cond_init(&wd->wake);
    if (pthread_create(&wd->thread, NULL, watchdog_main, wd) != 0) {
        gw_watchdog_free(wd);
        sce_seterr(err, errlen, "cannot start the slow-client watchdog");
        return SCE_ERR_INTERNAL;
    }
    wd->started = 1;
    *out = wd;
    return SCE_OK;
}

void gw_watchdog_stop(gw_watchdog *wd)
{
    if (wd == NULL || !wd->started)
        return;
    pthread_mutex_lock(&wd->lock);
    wd->stop = 1;
    pthread_cond_signal(&wd->wake);
    pthread_mutex_unlock(&wd->lock);
    pthread_join(wd->thread, NULL);
    wd->started = 0;
}

void gw_watchdog_free(gw_watchdog *wd)
{
    if (wd == NULL)
        return;
    gw_watchdog_stop(wd);
    while (wd->watched != NULL) {
        gw_watch *w = wd->watched;

        wd->watched = w->next;
        free(w);
    }
    pthread_cond_destroy(&wd->wake);
    pthread_mutex_destroy(&wd->lock);
    free(wd);
}

gw_watch *gw_watchdog_add(gw_watchdog *wd, int fd, const char *addr,
                          const unsigned char key[GW_CLIENT_KEY_BYTES], gw_admit admit,
                          int64_t within_ms)
{
    gw_watch *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return NULL;
    w->fd = fd;
    snprintf(w->addr, sizeof(w->addr), "%s", addr);
    memcpy(w->key, key, GW_CLIENT_KEY_BYTES);
    w->admit = admit;
    pthread_mutex_lock(&wd->lock);
    w->read_deadline_ms = sce_clock_ms() + within_ms;
    w->next = wd->watched;
    if (wd->watched != NULL)
        wd->watched->prev = w;
    wd->watched = w;
    pthread_mutex_unlock(&wd->lock);
    return w;
}

void gw_watchdog_remove(gw_watchdog *wd, gw_watch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&wd->lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        wd->watched = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&wd->lock);
    free(w);
}

void gw_watchdog_set(gw_watchdog *wd, gw_watch *w, int64_t deadline_ms)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&wd->lock);
    w->read_deadline_ms = deadline_ms;
    pthread_mutex_unlock(&wd->lock);
}

int gw_watchdog_request_done(gw_watchdog *wd, gw_watch *w)
{
    int cut;

    if (w == NULL)
        return 0;
    pthread_mutex_lock(&wd->lock);
    cut = w->cut;
    w->requests++;
    /* A kept-alive connection must bring its next request in time. */
    w->read_deadline_ms = sce_clock_ms() + wd->read_timeout_ms;
    pthread_mutex_unlock(&wd->lock);
    return cut;
}

int64_t gw_watchdog_read_timeout_ms(const gw_watchdog *wd)
{
    return wd->read_timeout_ms;
}
