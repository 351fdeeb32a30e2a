/*
 * activity.h - lets background engine work (container removal, pool refill)
 * step aside while runs are in progress.
 *
 * Creating, starting and removing containers costs the engine hundreds of
 * milliseconds of CPU; done while a warm run is streaming its output, it
 * delays that output by as much.  So background work waits for a moment
 * with no run in progress, for a bounded time (under steady load it never
 * comes, and the work must still get done).
 */
#ifndef SCE_ACTIVITY_H
#define SCE_ACTIVITY_H

void activity_run_begin(void);
void activity_run_end(void);

/* Runs in progress now. */
int activity_runs(void);

/* Returns when no run is in progress, or after max_ms. */
void activity_wait_quiet(int max_ms);

#endif
