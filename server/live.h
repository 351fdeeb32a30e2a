/*
 * live.h - followed runs: the runs started with RUN_START, whose output is
 * read while they run and whose stdin stays open (proto/sce.proto,
 * "Followed runs").
 *
 * The registry holds every followed run by its id, from the start until
 * SCE_RUN_KEPT_MS after its end.  A run is written by one worker (exec.c
 * through live_output, live_stdin_take, live_cancelled) and read by any
 * number of polls (rpc.c through live_poll_wait and live_events_take).
 *
 * Output: the chunks the program wrote, numbered 1, 2, 3, ..., kept whole
 * up to the run's output cap (exec.c publishes only what is within it):
 * a reader slower than the program costs the server nothing past the cap.
 * Consecutive writes to one stream that no poll has seen yet are merged
 * into one chunk.
 *
 * Waiting: a poll with nothing to report parks a live_waiter on the run;
 * its `fire` callback is called exactly once, from whatever thread brings
 * news (the worker's output or end, a cancel) or from the registry's timer
 * thread when the wait has passed or the registry stops, and never under a
 * lock of this module: it may call live_events_take and answer.
 *
 * Readers gone: while a run is queued or running and no poll is parked on
 * it, a run whose last poll ended SCE_RUN_READER_GONE_MS ago is cancelled
 * by the timer thread, unless it is detached (RunRequest.detached: it runs
 * to its end whoever reads it; it still takes its room in the registry).
 *
 * Stdin: what RUN_STDIN writes waits here for the worker, which writes it
 * after RunRequest.stdin; rpc.c closes it at the start for a
 * RunRequest.stdin_close, through live_stdin_write like a RUN_STDIN.
 *
 * Meta: the start's RunRequest.meta (at most SCE_RUN_META_MAX_BYTES) is
 * copied into the run and answered by every poll after chunk 0.
 *
 * Threads: one timer thread per registry (waits that pass, readers gone,
 * forgetting ended runs).  Every function is thread-safe.
 *
 * Ownership: live_run_create and live_find return a reference; give it
 * back with live_run_release.  The registry keeps its own until it forgets
 * the run.
 */
#ifndef SCE_LIVE_H
#define SCE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "sce.pb-c.h"

typedef struct live_registry live_registry;
typedef struct live_run live_run;

/* At most max_runs followed runs, queued, running or kept after their end
 * (the oldest ended runs are forgotten first when room is needed), and at
 * most max_parked polls waiting at once (each holds one of the server's
 * contexts). */
int live_registry_new(size_t max_runs, size_t max_parked, live_registry **out, char *err,
                      size_t errlen);
/* Fires every parked waiter, stops the timer and frees the registry and
 * its runs.  Call it once no worker or poll uses a run any more.  NULL is
 * accepted. */
void live_registry_free(live_registry *r);
/* Fires every parked waiter now and parks none from then on (rpc_stop:
 * parked polls must answer before their contexts can close). */
void live_registry_quiesce(live_registry *r);
/* Runs queued or running, and parked polls. */
void live_registry_counts(live_registry *r, size_t *active, size_t *parked);

/* A new run for `tenant` ("" for none) with an output cap per stream,
 * keeping a copy of meta[0..meta_len) (NULL/0: none), never cancelled for
 * want of a reader when `detached`.  SCE_ERR_RESOURCE_EXHAUSTED when the
 * registry is full of runs that have not ended. */
int live_run_create(live_registry *r, const char *tenant, uint64_t output_limit_bytes,
                    const void *meta, size_t meta_len, int detached, live_run **out, char *err,
                    size_t errlen);
/* The run with this id, if `tenant` may see it ("" sees every tenant's);
 * NULL otherwise. */
live_run *live_find(live_registry *r, const char *id, const char *tenant);
void live_run_release(live_run *lr);
const char *live_run_id(const live_run *lr);

/* ---- the worker's side */

/* The run is taken by a worker: 1, or 0 when it was cancelled while it
 * was queued (then finish it without running it). */
int live_run_begin(live_run *lr);
/* A descriptor that becomes readable when stdin data, a close or a
 * cancel arrives (poll it; live_stdin_take and live_cancelled clear it). */
int live_wake_fd(const live_run *lr);
/* Appends output the program wrote on `stream` (SCE__V1__STREAM__*). */
int live_output(live_run *lr, int stream, const void *p, size_t n);
/* Takes up to max bytes of stdin written so far; *closed is set when it
 * has been closed and nothing more waits. */
size_t live_stdin_take(live_run *lr, void *buf, size_t max, int *closed);
/* Empties the wake descriptor (after a poll said it is readable). */
void live_wake_clear(live_run *lr);
/* 0, or why the run must stop: 1 cancelled by its client, 2 its reader
 * went away. */
int live_cancelled(live_run *lr);
/* The end: `status` SCE_OK with `result` (packed, copied), or the status
 * and message of a run that could not run (the poll that reaches the end
 * answers them).  Wakes every waiter. */
void live_run_finish(live_run *lr, int status, const char *message,
                     const Sce__V1__RunResult *result);

/* ---- the readers' side */

/* Writes to the run's stdin (and closes it).  FAILED_PRECONDITION when it
 * is closed or the run has ended; RESOURCE_EXHAUSTED when more than
 * SCE_LIVE_STDIN_MAX_BYTES would wait unread. */
int live_stdin_write(live_run *lr, const void *p, size_t n, int close, char *err, size_t errlen);
/* Asks the worker to kill the run; nothing when it has ended. */
void live_cancel(live_run *lr);

typedef struct live_waiter live_waiter;
struct live_waiter {
    void (*fire)(live_waiter *w);
    /* Private to live.c. */
    live_run *run;
    uint64_t after_seq;
    int64_t deadline_ms;
    live_waiter *next;
};

/* Parks w on lr until there are chunks after after_seq, the run ends, or
 * deadline_ms (monotonic) passes: 1 when parked (w->fire will be called
 * once), 0 when there is news already or waiting is not possible (the
 * registry is quiescing or holds too many): answer at once. */
int live_poll_wait(live_run *lr, live_waiter *w, uint64_t after_seq, int64_t deadline_ms);

/* One poll's answer: the chunks after after_seq (at most
 * SCE_LIVE_POLL_MAX_BYTES of data, at least one chunk), the end when they
 * are the last, and the run's meta when after_seq is 0.  ev points into its own storage: free it
 * with live_events_free once packed. */
typedef struct live_events {
    Sce__V1__RunEvents msg;
    Sce__V1__OutputChunk *chunks;
    Sce__V1__OutputChunk **chunk_ptrs;
    uint8_t *data;              /* the chunks' bytes */
    Sce__V1__RunResult *result; /* unpacked copy of the stored result */
    uint8_t *meta;              /* copy of the run's meta (after_seq 0) */
    int status;                 /* the run's own failure, when done without a result */
    char message[512];
} live_events;
int live_events_take(live_run *lr, uint64_t after_seq, live_events *ev);
void live_events_free(live_events *ev);

#endif
