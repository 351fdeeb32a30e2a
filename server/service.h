/*
 * service.h - the bodies of the methods that run code or read the record of
 * runs: Run, RunProject, RunBatch and History.  Decoded protobuf in, an
 * answer out: either a status (code + one-line message) or a protobuf
 * result ready to be packed.  rpc.c owns the transport (contexts, queue,
 * workers) and calls these on a worker thread; nothing here touches nng.
 *
 * Every run, alone or in a batch, takes the same path (service_run):
 * request_check_run, exec_run, the RunResult, and one history record.
 *
 * Ownership: an answer borrows from the decoded request it was made from
 * (run_spec does) and owns the rest; free it with its _free function after
 * the answer has been packed, and before the request is freed.
 */
#ifndef SCE_SERVICE_H
#define SCE_SERVICE_H

#include <stddef.h>

#include "exec.h"
#include "history.h"
#include "languages.h"
#include "request.h"
#include "sce.pb-c.h"

typedef struct service_run_answer {
    int status;         /* SCE_OK: `result` is the answer */
    char message[1024]; /* else: why, for Status.message */
    Sce__V1__RunResult result;
    /* What `result` points into. */
    Sce__V1__Limits limits;
    run_spec spec;
    exec_result res;
    lang_status ls;
    int ran; /* res must be freed */
} service_run_answer;

typedef struct service_batch_answer {
    int status; /* SCE_OK: `result` is the answer */
    char message[256];
    Sce__V1__BatchResult result;
    size_t n;
    service_run_answer *runs;
    Sce__V1__BatchItem *items;
    Sce__V1__BatchItem **item_ptrs;
    Sce__V1__Status *statuses;
    struct batch_sync *sync;   /* the tasks' threads, joined by _free */
} service_batch_answer;

typedef struct service_history_answer {
    int status;
    char message[640];
    Sce__V1__HistoryResult result;
    history_page *page;
    Sce__V1__HistoryEntry *entries;
    Sce__V1__HistoryEntry **entry_ptrs;
} service_history_answer;

/* One run.  `project` is set for METHOD_RUN_PROJECT, which requires files
 * (and no code).  `rid` labels the container, the log lines and the history
 * record; `tenant` (the envelope's, NULL or "" for none) goes into the
 * record.  h may be NULL (history off).  `live` (NULL for a plain run) is
 * a followed run's (live.h): its output is published as it comes and its
 * stdin stays open for its client. */
void service_run(const exec_env *env, history *h, const Sce__V1__RunRequest *rq, int project,
                 const char *rid, const char *tenant, struct live_run *live, service_run_answer *a);
/* Frees the answer and settles its container (exec_settle): call it after
 * the answer is sent; it may block until the container has stopped. */
void service_run_answer_free(service_run_answer *a);

/* A batch: more tasks than the batch_limit option (or none) is
 * INVALID_ARGUMENT for the whole batch; otherwise every task runs in a
 * thread of its own, all at once, through service_run, and gets its own
 * item, in order: a task that is invalid, fails or times out never affects
 * the others.  Task i is labelled "<rid>-<i>". */
void service_batch(const exec_env *env, history *h, const Sce__V1__BatchRequest *rq,
                   const char *rid, const char *tenant, service_batch_answer *a);
/* The batch answers as soon as every task has its result; each task's
 * thread then settles its own container.  _free joins those threads: call
 * it after the answer is sent. */
void service_batch_answer_free(service_batch_answer *a);

/* One page of the record, newest first: the runs of `tenant` (the
 * envelope's), or of every tenant when it is NULL or "".  With rq->id, the
 * one run of that id in full, or NOT_FOUND (also when it is another
 * tenant's: the answer does not tell them apart).  h NULL (history off):
 * OK with enabled = false and no entries.  A bad filter is
 * INVALID_ARGUMENT; an unavailable store is UNAVAILABLE "history is
 * unavailable: <reason>". */
void service_history(history *h, const char *tenant, const Sce__V1__HistoryRequest *rq,
                     service_history_answer *a);
void service_history_answer_free(service_history_answer *a);

#endif
