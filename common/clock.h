/*
 * clock.h - the one clock of sce for durations and deadlines.
 *
 * Every timeout, deadline and "how long did it take" in the server, the
 * gateway, libsce and the benchmark is measured on CLOCK_MONOTONIC in
 * milliseconds, so a step of the wall clock (NTP, an operator's `date`)
 * neither stretches nor cuts a wait.  The wall clock (sce_wall_ms) is for
 * dates only: history's timestamps, a container's age against the engine's
 * `Created`, and (gettimeofday in log.c) the time of a log line.
 *
 * A condition variable that is waited on with a deadline must be made with
 * sce_cond_init (pthread's default clock is the wall clock).
 */
#ifndef SCE_CLOCK_H
#define SCE_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t sce_clock_ms(void);

/* Microseconds on the same monotonic clock: for measurements finer than a
 * millisecond (the benchmark). */
int64_t sce_clock_us(void);

/* Milliseconds since the Unix epoch on the wall clock: for dates only. */
int64_t sce_wall_ms(void);

/* Initialises cv so that sce_cond_wait_until measures on the monotonic
 * clock.  Returns 0 or a pthread error number. */
int sce_cond_init(pthread_cond_t *cv);

/* Waits on cv (made by sce_cond_init, mu held) until it is signalled or the
 * monotonic clock reaches deadline_ms (an sce_clock_ms value).  Returns 0
 * when woken, ETIMEDOUT at the deadline; spurious wake-ups return 0 as
 * pthread_cond_timedwait's do, so callers loop on their predicate. */
int sce_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ms);

/* Sleeps ms milliseconds (no-op for ms <= 0), resuming after signals. */
void sce_sleep_ms(int64_t ms);

#endif
