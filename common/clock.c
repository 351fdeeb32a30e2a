/*
 * clock.c - monotonic milliseconds and deadline waits (see clock.h).
 */
#include "common/clock.h"

#include <errno.h>
#include <time.h>

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sce_clock_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

int64_t sce_clock_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sce_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

int sce_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    int rv = pthread_condattr_init(&attr);

    if (rv != 0)
        return rv;
    rv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rv == 0)
        rv = pthread_cond_init(cv, &attr);
    pthread_condattr_destroy(&attr);
    return rv;
}

int sce_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms)
{
    struct timespec until;

    if (deadline_ms < 0)
        deadline_ms = 0;
    until.tv_sec = (time_t)(deadline_ms / 1000);
    until.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    return pthread_cond_timedwait(cv, mu, &until) == ETIMEDOUT ? ETIMEDOUT : 0;
}

void sce_sleep_ms(int64_t ms)
{
    struct timespec left;

    if (ms <= 0)
        return;
    left.tv_sec = (time_t)(ms / 1000);
    left.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}
