/*
 * backends.h - the sce-servers behind one gateway: which there are, which
 * are up, and which one takes the next call.
 *
 * `--server` names them: a comma-separated list of nng URLs
 * ("tcp://10.0.0.5:7700,tcp://10.0.0.6:7700", "ipc:///run/sce.sock"), or
 * dns://NAME:PORT, whose name is resolved again every
 * GW_BACKENDS_DNS_REFRESH_MS: every address it returns (A and AAAA) is a
 * backend tcp://ADDR:PORT, and an address that disappears is dropped once
 * its calls have ended.  (nng's own tcp dialer would use only the first
 * address of a name.)  Both kinds may be mixed in one list.
 *
 * Each backend has its own REQ socket (an sce_client), so a call goes to
 * the one server chosen for it, and a second socket of its own for the
 * health poll: every GW_BACKENDS_POLL_INTERVAL_MS a Health RPC (at most
 * GW_BACKENDS_POLL_TIMEOUT_MS) says whether it is up (answering, serving,
 * its engine reachable).  A backend whose poll fails, or that loses a call
 * to the transport, is down at once and gets no new calls; the next good
 * poll takes it back.
 *
 * Choosing: the up backend with the fewest calls in flight, ties broken by
 * the fewest runs so far (so that idle backends share a trickle of runs).
 * When no backend is up, the least busy down one is tried all the same,
 * so that a call gets the server's own error (or succeeds, if the poll was
 * merely late).
 *
 * At most once: a run is never sent twice.  A call goes to another
 * backend only when it provably never reached its server (no connection:
 * sce_client_last_call() says SCE_CALL_NOT_SENT) or its server answered
 * "busy" (RESOURCE_EXHAUSTED, decided before anything runs).  A run whose
 * server dies after it was sent is answered with libsce's UNAVAILABLE "lost
 * the connection ... may or may not have been carried out".  Reads
 * (languages, history) carry no such risk and go on to the next backend
 * after any transport failure.
 *
 * Threads: calls come from any request thread; each backend's poller is a
 * thread of its own, and with a dns:// source one resolver thread adds and
 * drops backends.  `mtx` in backends.c guards the list and every backend's
 * counters and state; no call or poll runs under it.  A backend in use by
 * a call is never freed (it is unlinked only when nothing is in flight).
 * Ownership: the set owns its backends, their clients and threads; a
 * snapshot owns copies.  Errors: one line into the caller's buffer, as
 * libsce writes them.
 */
#ifndef SCE_GATEWAY_BACKENDS_H
#define SCE_GATEWAY_BACKENDS_H

#include <stddef.h>
#include <stdint.h>

#include "sce/client.h"

typedef struct gw_backends gw_backends;
struct gw_metrics;

/* Parses `spec`, opens a client per static URL, resolves each dns:// name
 * once (a name that does not resolve yet is logged, not an error: it is
 * tried again) and starts the pollers.  Calls wait for their answer at
 * most rpc_timeout_ms.  `metrics` (may be NULL) is told of every RPC and
 * run.  Errors: INVALID_ARGUMENT naming the bad item ("server: 'dns://x'
 * needs a port: dns://NAME:PORT"); NO_MEMORY. */
int gw_backends_start(const char *spec, uint32_t rpc_timeout_ms, struct gw_metrics *metrics,
                      gw_backends **out, char *err, size_t errlen);

/* Stops the threads and closes every client.  Calls must have returned.
 * NULL is accepted. */
void gw_backends_stop(gw_backends *bs);

/* libsce's calls, sent to the backend chosen as described above; same
 * arguments, results and errors as sce_client_*; a set with no backend at
 * all (a dns:// name with no address yet) answers UNAVAILABLE. */
int gw_backends_run(gw_backends *bs, const sce_run_request *req, sce_run_result **out, char *err,
                    size_t errlen);
int gw_backends_run_project(gw_backends *bs, const sce_run_request *req, sce_run_result **out,
                            char *err, size_t errlen);
int gw_backends_run_batch(gw_backends *bs, const sce_run_request *tasks, size_t ntasks,
                          sce_batch_result **out, char *err, size_t errlen);
int gw_backends_history(gw_backends *bs, const sce_history_query *q, sce_history_page **out,
                        char *err, size_t errlen);
int gw_backends_history_get(gw_backends *bs, int64_t id, const char *tenant,
                            sce_history_entry **out, char *err, size_t errlen);
/* The entry of a followed run by its id (sce_client_history_get_run): sent
 * like gw_backends_history_get, to one backend (a cluster shares its
 * history), whichever server ran it. */
int gw_backends_history_get_run(gw_backends *bs, const char *run_id, const char *tenant,
                                sce_history_entry **out, char *err, size_t errlen);
int gw_backends_languages(gw_backends *bs, sce_language_list **out, char *err, size_t errlen);

/* Followed runs (sce/client.h, "followed runs"): same arguments, results
 * and errors as sce_client_run_start/poll/stdin/cancel.
 *
 * The start picks a backend as a run does, at most once (a start lost
 * after it was sent is not sent elsewhere), and records which backend owns
 * the run's id.  The follow-ups go to that owner.  An id the gateway does
 * not know (another gateway started it, or its entry was dropped) is asked
 * of each up backend (a poll without waiting; stdin and cancel are sent as
 * they are, since a server that does not know the id changes nothing):
 * the one that knows it becomes its owner; NOT_FOUND when none does.  A
 * run whose backend has gone (dropped from dns://) is UNAVAILABLE "lost the
 * connection to sce-server at URL ...".  The table of owners holds
 * GW_RUNS_OWNED_MAX entries: one is dropped SCE_RUN_KEPT_MS after its run
 * was seen done or its backend went, after GW_RUNS_OWNED_IDLE_MS unused,
 * or (the least recently used) when the table is full.
 *
 * A poll waits at most wait_ms, cut to half of rpc_timeout so that its
 * answer comes within the call's timeout.  The verdict of a run whose
 * poll answered done is counted in the metrics once, like a plain run's;
 * a start that fails counts as "error".  Every call may be made from any
 * thread. */
int gw_backends_run_start(gw_backends *bs, const sce_run_request *req, sce_run_started **out,
                          char *err, size_t errlen);
int gw_backends_run_poll(gw_backends *bs, const char *run_id, const char *tenant,
                         uint64_t after_seq, uint32_t wait_ms, sce_run_events **out, char *err,
                         size_t errlen);
int gw_backends_run_stdin(gw_backends *bs, const char *run_id, const char *tenant,
                          const void *data, size_t len, int close, char *err, size_t errlen);
int gw_backends_run_cancel(gw_backends *bs, const char *run_id, const char *tenant, char *err,
                           size_t errlen);

/* One backend as a snapshot sees it. */
typedef struct gw_backend_state {
    char *url;
    int up;
    uint32_t in_flight;       /* calls sent to it and not yet answered */
    uint64_t runs;            /* runs sent to it (a batch counts its tasks) */
    uint64_t failures;        /* calls lost to the transport */
    int64_t since_ms;         /* sce_clock_ms() of its last change between up and down */
    int health_rv;            /* SCE_OK, or why its last poll failed */
    char *error;              /* why it is down ("" when up) */
    const sce_health *health; /* its last Health answer; NULL before the first */
} gw_backend_state;

typedef struct gw_backends_snapshot {
    gw_backend_state *items; /* in the order they were added */
    size_t count;
    char *note; /* about the set itself ("dns://...: no address"), "" if none */
    void *priv_;
} gw_backends_snapshot;

/* The backends now.  fresh_wait_ms > 0: first asks every poller for a new
 * poll and waits for them, at most that long (what /healthz wants: a
 * server killed a moment ago shows as down).  On SCE_OK *out is the
 * caller's (gw_backends_snapshot_free); SCE_ERR_NO_MEMORY otherwise. */
int gw_backends_snapshot_take(gw_backends *bs, int fresh_wait_ms, gw_backends_snapshot **out);
void gw_backends_snapshot_free(gw_backends_snapshot *s);

#endif
