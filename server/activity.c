/*
 * activity.c - a counter of runs in progress and a condition to wait for
 * zero (see activity.h).
 */
#include "activity.h"

#include <pthread.h>

#include "common/clock.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet; /* monotonic (sce_cond_init), made once by quiet_init */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static int runs;

static void quiet_init(void)
{
    sce_cond_init(&quiet);
}

void activity_run_begin(void)
{
    pthread_mutex_lock(&lock);
    runs++;
    pthread_mutex_unlock(&lock);
}

void activity_run_end(void)
{
    pthread_once(&quiet_once, quiet_init);
    pthread_mutex_lock(&lock);
    if (--runs == 0)
        pthread_cond_broadcast(&quiet);
    pthread_mutex_unlock(&lock);
}

int activity_runs(void)
{
    int n;

    pthread_mutex_lock(&lock);
    n = runs;
    pthread_mutex_unlock(&lock);
    return n;
}

void activity_wait_quiet(int max_ms)
{
    int64_t until_ms = sce_clock_ms() + max_ms;

    pthread_once(&quiet_once, quiet_init);
    pthread_mutex_lock(&lock);
    while (runs > 0)
        if (sce_cond_wait_until(&quiet, &lock, until_ms) != 0)
            break;
    pthread_mutex_unlock(&lock);
}
