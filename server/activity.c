/*
 * activity.c - a counter of runs in progress and a condition to wait for
 * zero (see activity.h).
 */
#include "activity.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet = PTHREAD_COND_INITIALIZER;
static int runs;

void activity_run_begin(void)
{
    pthread_mutex_lock(&lock);
    runs++;
    pthread_mutex_unlock(&lock);
}

void activity_run_end(void)
{
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
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += max_ms / 1000;
    until.tv_nsec += (long)(max_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    while (runs > 0)
        if (pthread_cond_timedwait(&quiet, &lock, &until) != 0)
            break;
    pthread_mutex_unlock(&lock);
}
