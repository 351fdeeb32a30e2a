/*
 * rpc.c - nng REP socket, contexts, the bounded run queue and its workers;
 * decode -> dispatch -> encode.
 *
 * Each slot owns one nng context and one aio and is, at any time, either
 * receiving, holding a request (queued or with a worker), or sending the
 * answer.  Callbacks run on nng's threads and never call the engine: they
 * decode, answer cheap methods and malformed input at once, and queue the
 * rest: Run, RunProject and RunBatch for the workers, History for the
 * history readers (reader_enqueue says why apart).  Workers and readers pop
 * them, call the method's body in service.c, and send the answer on the
 * slot's context.
 *
 * Followed runs (live.h): RunStart is checked and answered on nng's
 * thread; the run itself goes to the workers' queue in a slot of its own
 * that has no context (a "job"), so the start's context is free at once.
 * RunStdin and RunCancel are answered at once.  A RunPoll with nothing to
 * report parks its slot on the run; whoever brings news (a worker's output
 * or end, the registry's timer when the wait has passed) answers it.
 */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "languages.h"
#include "live.h"
#include "oci_runtime.h"
#include "listen_guard.h"
#include "request.h"
#include "sce.pb-c.h"
#include "sce_limits.h"
#include "service.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/nng_close.h"
#include "common/random.h"
#include "common/seterr.h"
#include "sce/client.h" /* the followed runs' client-visible constants */
#include "sce/err.h"

typedef struct slot slot;

/* Requests waiting for the threads that serve them, under the server's
 * lock: the runs' queue (workers) and the history reads' (readers). */
typedef struct slot_queue {
    pthread_cond_t work; /* a slot was queued, or stopping */
    slot *head, *tail;
    size_t queued;       /* waiting */
    size_t busy;         /* taken by a thread, not done */
    size_t capacity;     /* queued + busy at most: threads + the queue's depth */
} slot_queue;

struct slot {
    rpc_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    int sending;
    int idle;                   /* not armed: only during shutdown */
    Sce__V1__Request *req;      /* the request being served */
    char rid[40];
    int64_t received_ms;
    slot *next;                 /* queue link */
    /* Followed runs: a job slot (no context) carries a run to a worker;
     * a parked poll waits on `live` with `waiter`. */
    int job;
    live_run *live;
    live_waiter waiter;
    uint64_t after_seq;
};

struct rpc_server {
    const exec_env *env;
    history *hist;              /* NULL: history off */
    nng_socket sock;
    listen_guard *guard;        /* ipc listeners only */
    nng_listener listener;      /* without a guard: closed first at shutdown */
    slot *slots;
    size_t nslots;
    pthread_t *workers;
    size_t nworkers;

    pthread_mutex_t lock;
    pthread_cond_t quiet;       /* a slot went idle */
    slot_queue runs;            /* Run, RunProject, RunBatch: the workers */
    size_t idle_slots;
    int stopping;
    int serving;                /* every slot was armed once */
    uint64_t runs_total;
    int64_t started_ms;

    live_registry *live; /* followed runs */

    /* History reads: a queue and threads of their own (see
     * reader_enqueue). */
    pthread_t readers[SCE_HISTORY_READERS];
    size_t nreaders;
    slot_queue reads;
};

/* A server whose socket would not close (nng_close.h): kept reachable
 * until the process exits. */
static rpc_server *abandoned;

/* The server's own id for a request whose client sent none (or one not
 * kept): SCE_REQUEST_ID_BYTES random bytes in hex, all zeros when the
 * kernel has no randomness to give. */
static void new_request_id(char *out, size_t outlen)
{
    if (sce_random_hex(out, outlen, SCE_REQUEST_ID_BYTES, SCE_RANDOM_WAIT) != 0)
        snprintf(out, outlen, "%0*d", 2 * SCE_REQUEST_ID_BYTES, 0);
}

static void arm_recv(slot *s)
{
    rpc_server *srv = s->srv;

    pthread_mutex_lock(&srv->lock);
    if (srv->stopping) {
        s->idle = 1;
        srv->idle_slots++;
        pthread_cond_broadcast(&srv->quiet);
        pthread_mutex_unlock(&srv->lock);
        return;
    }
    s->sending = 0;
    nng_ctx_recv(s->ctx, s->aio);
    pthread_mutex_unlock(&srv->lock);
}

/* Packs resp, sends it on the slot's context, releases the request. */
static void reply(slot *s, Sce__V1__Response *resp)
{
    size_t len = sce__v1__response__get_packed_size(resp);
    nng_msg *msg = NULL;

    if (s->req != NULL) {
        sce__v1__request__free_unpacked(s->req, NULL);
        s->req = NULL;
    }
    if (nng_msg_alloc(&msg, len) != 0) {
        SCE_LOG(SCE_LOG_ERROR, s->rid, "out of memory for a %zu-byte answer", len);
        arm_recv(s);
        return;
    }
    sce__v1__response__pack(resp, nng_msg_body(msg));
    s->sending = 1;
    nng_aio_set_msg(s->aio, msg);
    nng_ctx_send(s->ctx, s->aio);
}

static void reply_status(slot *s, int method, int code, const char *message)
{
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    Sce__V1__Status st = SCE__V1__STATUS__INIT;

    st.code = (Sce__V1__StatusCode)code;
    st.message = (char *)message;
    resp.method = (Sce__V1__Method)method;
    resp.request_id = s->rid;
    resp.status = &st;
    if (code != SCE_OK)
        SCE_LOG(SCE_LOG_INFO, s->rid, "answer %s: %s", sce_err_name(code), message);
    reply(s, &resp);
}

/* Answers a method: its status when it failed (status, message), else
 * resp, whose body the caller has set, with an OK status. */
static void reply_answer(slot *s, int method, int status, const char *message,
                         Sce__V1__Response *resp)
{
    Sce__V1__Status st = SCE__V1__STATUS__INIT;

    if (status != SCE_OK) {
        reply_status(s, method, status, message);
        return;
    }
    resp->method = (Sce__V1__Method)method;
    resp->request_id = s->rid;
    resp->status = &st;
    reply(s, resp);
}

/* ------------------------------------------------------------ handlers */

static void handle_languages(slot *s)
{
    const exec_env *env = s->srv->env;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    Sce__V1__LanguagesResult lr = SCE__V1__LANGUAGES_RESULT__INIT;
    size_t n = languages_count();
    Sce__V1__Language items[SCE_LANGUAGES_MAX];
    Sce__V1__Language *ptrs[SCE_LANGUAGES_MAX];
    lang_status status[SCE_LANGUAGES_MAX];
    char runtime[SCE_LANGUAGES_MAX][64];

    for (size_t i = 0; i < n && i < SCE_LANGUAGES_MAX; i++) {
        const lang_def *l = languages_at(i);
        size_t next = 0;

        languages_status_get(l, &status[i]);
        sce__v1__language__init(&items[i]);
        items[i].name = (char *)l->name;
        items[i].version = status[i].version;
        items[i].image = (char *)languages_image(env->opt, l);
        items[i].default_entry = (char *)l->default_entry;
        while (l->extensions[next] != NULL)
            next++;
        items[i].n_extensions = next;
        items[i].extensions = (char **)l->extensions;
        items[i].available = status[i].available;
        items[i].message = status[i].probed ? status[i].message : "not checked yet";
        oci_runtime_name(env->opt, l, runtime[i], sizeof(runtime[i]));
        items[i].runtime = runtime[i];
        ptrs[i] = &items[i];
    }
    lr.n_languages = n;
    lr.languages = ptrs;
    resp.body_case = SCE__V1__RESPONSE__BODY_LANGUAGES;
    resp.languages = &lr;
    reply_answer(s, SCE__V1__METHOD__METHOD_LANGUAGES, SCE_OK, NULL, &resp);
}

static void handle_health(slot *s)
{
    rpc_server *srv = s->srv;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    Sce__V1__HealthResult h = SCE__V1__HEALTH_RESULT__INIT;
    engine_health eh;
    pool_stats ps;
    Sce__V1__LanguageRuntime rts[SCE_LANGUAGES_MAX];
    Sce__V1__LanguageRuntime *rtp[SCE_LANGUAGES_MAX];
    char rtname[SCE_LANGUAGES_MAX][64];
    size_t nrt = 0;

    reaper_engine_health(srv->env->r, &eh);
    pthread_mutex_lock(&srv->lock);
    h.serving = !srv->stopping;
    h.busy_workers = (uint32_t)srv->runs.busy;
    h.queued = (uint32_t)srv->runs.queued;
    h.runs_total = srv->runs_total;
    pthread_mutex_unlock(&srv->lock);
    pool_get_stats(srv->env->pool, &ps);
    h.pool_ready = (uint32_t)ps.ready;
    h.pool_hits = ps.hits;
    h.pool_misses = ps.misses;
    h.engine_ok = eh.ok;
    h.engine_message = eh.checked ? eh.message : "not checked yet";
    h.engine_version = eh.version;
    h.server_version = SCE_VERSION;
    h.instance_id = srv->env->opt->instance;
    h.workers = (uint32_t)srv->nworkers;
    h.queue_capacity = (uint32_t)srv->env->opt->queue_depth;
    h.uptime_ms = (uint64_t)(sce_clock_ms() - srv->started_ms);
    for (; nrt < languages_count() && nrt < SCE_LANGUAGES_MAX; nrt++) {
        const lang_def *l = languages_at(nrt);

        sce__v1__language_runtime__init(&rts[nrt]);
        oci_runtime_name(srv->env->opt, l, rtname[nrt], sizeof(rtname[nrt]));
        rts[nrt].language = (char *)l->name;
        rts[nrt].runtime = rtname[nrt];
        rtp[nrt] = &rts[nrt];
    }
    h.n_runtimes = nrt;
    h.runtimes = rtp;
    resp.body_case = SCE__V1__RESPONSE__BODY_HEALTH;
    resp.health = &h;
    reply_answer(s, SCE__V1__METHOD__METHOD_HEALTH, SCE_OK, NULL, &resp);
}

static void handle_run(slot *s)
{
    rpc_server *srv = s->srv;
    int method = s->req->method;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    service_run_answer a;

    if (method == SCE__V1__METHOD__METHOD_RUN_PROJECT)
        service_run(srv->env, srv->hist, s->req->run_project, 1, s->rid, s->req->tenant, NULL, &a);
    else
        service_run(srv->env, srv->hist, s->req->run, 0, s->rid, s->req->tenant, NULL, &a);
    resp.body_case = SCE__V1__RESPONSE__BODY_RUN;
    resp.run = &a.result;
    reply_answer(s, method, a.status, a.message, &resp);
    /* reply() frees the request before packing: nothing of the answer may
     * point into it (the spec does, but the result does not). */
    service_run_answer_free(&a);
}

static void handle_batch(slot *s)
{
    rpc_server *srv = s->srv;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    service_batch_answer a;

    service_batch(srv->env, srv->hist, s->req->batch, s->rid, s->req->tenant, &a);
    resp.body_case = SCE__V1__RESPONSE__BODY_BATCH;
    resp.batch = &a.result;
    reply_answer(s, SCE__V1__METHOD__METHOD_RUN_BATCH, a.status, a.message, &resp);
    service_batch_answer_free(&a);
}

static void handle_history(slot *s)
{
    rpc_server *srv = s->srv;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    service_history_answer a;

    service_history(srv->hist, s->req->tenant, s->req->history, &a);
    resp.body_case = SCE__V1__RESPONSE__BODY_HISTORY;
    resp.history = &a.result;
    reply_answer(s, SCE__V1__METHOD__METHOD_HISTORY, a.status, a.message, &resp);
    service_history_answer_free(&a);
}

/* ------------------------------------------------------------ followed runs */

static int queue_push(rpc_server *srv, slot_queue *q, slot *s);

/* The run a follow-up names, or its answer NOT_FOUND (then NULL). */
static live_run *follow_find(slot *s, int method, const char *run_id)
{
    live_run *lr = live_find(s->srv->live, run_id, s->req->tenant);
    char err[160];

    if (lr == NULL) {
        sce_seterr(err, sizeof(err),
                   "no followed run %.40s on this server (ended runs are kept "
                   "%d s)",
                   run_id != NULL ? run_id : "", SCE_RUN_KEPT_MS / 1000);
        reply_status(s, method, SCE_ERR_NOT_FOUND, err);
    }
    return lr;
}

/* RunStart: checked here, queued as a job, answered with the run's id. */
static void handle_run_start(slot *s)
{
    rpc_server *srv = s->srv;
    const int method = SCE__V1__METHOD__METHOD_RUN_START;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    Sce__V1__RunStarted started = SCE__V1__RUN_STARTED__INIT;
    Sce__V1__Limits limits = SCE__V1__LIMITS__INIT;
    char err[1024], id[2 * SCE_LIVE_RUN_ID_BYTES + 1];
    run_spec spec;
    lang_status ls;
    live_run *lr = NULL;
    slot *job = NULL;
    int rv;

    rv = request_check_run(srv->env->opt, s->req->run_start, &spec, err, sizeof(err));
    if (rv != SCE_OK) {
        reply_status(s, method, rv, err);
        return;
    }
    languages_status_get(spec.lang, &ls);
    limits.timeout_ms = (uint32_t)spec.timeout_ms;
    limits.memory_bytes = (uint64_t)spec.memory_bytes;
    limits.output_limit_bytes = (uint32_t)spec.output_limit_bytes;
    started.language = (char *)spec.lang->name;
    started.language_version = ls.version;
    started.limits = &limits;
    rv = live_run_create(srv->live, s->req->tenant, (uint64_t)spec.output_limit_bytes,
                         s->req->run_start->meta.data, s->req->run_start->meta.len,
                         s->req->run_start->detached, &lr, err, sizeof(err));
    request_spec_free(&spec);
    if (rv != SCE_OK) {
        reply_status(s, method, rv, err);
        return;
    }
    /* stdin_close: closed now, as a RUN_STDIN close would; the worker
     * writes RunRequest.stdin first, then finds it closed. */
    if (s->req->run_start->stdin_close &&
        (rv = live_stdin_write(lr, NULL, 0, 1, err, sizeof(err))) != SCE_OK)
        goto fail;
    if ((job = calloc(1, sizeof(*job))) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        sce_seterr(err, sizeof(err), "out of memory");
        goto fail;
    }
    /* Once queued, the run is the job's: it may end and be forgotten
     * before this answer is packed, so the answer keeps its own id. */
    snprintf(id, sizeof(id), "%s", live_run_id(lr));
    job->srv = srv;
    job->job = 1;
    job->live = lr;
    job->req = s->req; /* the job owns the request now */
    job->received_ms = s->received_ms;
    snprintf(job->rid, sizeof(job->rid), "%s", s->rid);
    if ((rv = queue_push(srv, &srv->runs, job)) != SCE_OK) {
        job->req = NULL;
        if (rv == SCE_ERR_UNAVAILABLE)
            sce_seterr(err, sizeof(err), "the server is shutting down; retry on another");
        else
            sce_seterr(err, sizeof(err),
                       "the server is busy: %zu runs in progress and the queue is full; retry "
                       "later",
                       srv->nworkers);
        goto fail;
    }
    s->req = NULL;
    SCE_LOG(SCE_LOG_INFO, s->rid, "followed run %s queued%s", id,
            job->req->run_start->detached ? " (detached)" : "");
    started.run_id = id;
    resp.body_case = SCE__V1__RESPONSE__BODY_RUN_STARTED;
    resp.run_started = &started;
    reply_answer(s, method, SCE_OK, NULL, &resp); /* packs before the job can end the run */
    return;
fail:
    free(job);
    live_run_finish(lr, rv, err, NULL);
    live_run_release(lr);
    reply_status(s, method, rv, err);
}

/* Answers a poll with what the run has after s->after_seq, then lets the
 * run go. */
static void poll_answer(slot *s)
{
    const int method = SCE__V1__METHOD__METHOD_RUN_POLL;
    Sce__V1__Response resp = SCE__V1__RESPONSE__INIT;
    live_run *lr = s->live;
    live_events ev;

    s->live = NULL;
    if (live_events_take(lr, s->after_seq, &ev) != SCE_OK) {
        reply_status(s, method, SCE_ERR_NO_MEMORY, "out of memory reading the run's output");
    } else if (ev.msg.done && ev.status != SCE_OK && ev.msg.n_chunks == 0) {
        /* The run could not run (no engine, ...): its own status, once
         * every chunk it wrote has been read. */
        reply_status(s, method, ev.status, ev.message);
    } else {
        if (ev.status != SCE_OK)
            ev.msg.done = 0; /* the chunks first; the next poll gets the status */
        ev.msg.run_id = (char *)live_run_id(lr);
        resp.body_case = SCE__V1__RESPONSE__BODY_RUN_EVENTS;
        resp.run_events = &ev.msg;
        reply_answer(s, method, SCE_OK, NULL, &resp);
    }
    live_events_free(&ev);
    live_run_release(lr);
}

static void poll_fire(live_waiter *w)
{
    slot *s = (slot *)((char *)w - offsetof(slot, waiter));

    poll_answer(s);
}

static void handle_run_poll(slot *s)
{
    const Sce__V1__RunPollRequest *rq = s->req->run_poll;
    uint32_t wait = rq->wait_ms < SCE_RUN_POLL_WAIT_MAX_MS ? rq->wait_ms : SCE_RUN_POLL_WAIT_MAX_MS;
    live_run *lr = follow_find(s, SCE__V1__METHOD__METHOD_RUN_POLL, rq->run_id);

    if (lr == NULL)
        return;
    s->live = lr;
    s->after_seq = rq->after_seq;
    s->waiter.fire = poll_fire;
    if (wait > 0 && live_poll_wait(lr, &s->waiter, rq->after_seq, sce_clock_ms() + wait))
        return; /* parked: poll_fire answers */
    poll_answer(s);
}

static void handle_run_stdin(slot *s)
{
    const int method = SCE__V1__METHOD__METHOD_RUN_STDIN;
    const Sce__V1__RunStdinRequest *rq = s->req->run_stdin;
    live_run *lr = follow_find(s, method, rq->run_id);
    char err[256];
    int rv;

    if (lr == NULL)
        return;
    rv = live_stdin_write(lr, rq->data.data, rq->data.len, rq->close, err, sizeof(err));
    live_run_release(lr);
    if (rv != SCE_OK) {
        reply_status(s, method, rv, err);
        return;
    }
    reply_status(s, method, SCE_OK, "");
}

static void handle_run_cancel(slot *s)
{
    const int method = SCE__V1__METHOD__METHOD_RUN_CANCEL;
    live_run *lr = follow_find(s, method, s->req->run_cancel->run_id);

    if (lr == NULL)
        return;
    SCE_LOG(SCE_LOG_INFO, s->rid, "followed run %s: cancel", live_run_id(lr));
    live_cancel(lr);
    live_run_release(lr);
    reply_status(s, method, SCE_OK, "");
}

/* A worker runs a followed run's job: the run, its end published for
 * the polls, then the settle; the job and its request are freed. */
static void run_job(slot *job)
{
    rpc_server *srv = job->srv;
    live_run *lr = job->live;
    service_run_answer a;

    if (!live_run_begin(lr)) {
        Sce__V1__RunResult rr = SCE__V1__RUN_RESULT__INIT;

        rr.verdict = SCE__V1__VERDICT__VERDICT_CANCELLED;
        rr.message = "Cancelled before it started";
        rr.language = job->req->run_start->language;
        SCE_LOG(SCE_LOG_INFO, job->rid, "followed run %s: cancelled while queued", live_run_id(lr));
        live_run_finish(lr, SCE_OK, NULL, &rr);
    } else {
        service_run(srv->env, srv->hist, job->req->run_start, 0, job->rid, job->req->tenant, lr,
                    &a);
        live_run_finish(lr, a.status, a.message, a.status == SCE_OK ? &a.result : NULL);
        service_run_answer_free(&a); /* the settle: after the end is published */
    }
    live_run_release(lr);
    sce__v1__request__free_unpacked(job->req, NULL);
    free(job);
}

/* ------------------------------------------------------------ queues */

/* Queues s: SCE_OK, RESOURCE_EXHAUSTED when the queue is full, UNAVAILABLE
 * once the server is stopping (its threads may already have left, and a
 * request queued then would never be answered: rpc_stop would wait for its
 * slot for ever). */
static int queue_push(rpc_server *srv, slot_queue *q, slot *s)
{
    int rv = SCE_OK;

    pthread_mutex_lock(&srv->lock);
    if (srv->stopping)
        rv = SCE_ERR_UNAVAILABLE;
    else if (q->queued + q->busy >= q->capacity)
        rv = SCE_ERR_RESOURCE_EXHAUSTED;
    if (rv == SCE_OK) {
        s->next = NULL;
        if (q->tail != NULL)
            q->tail->next = s;
        else
            q->head = s;
        q->tail = s;
        q->queued++;
        pthread_cond_signal(&q->work);
    }
    pthread_mutex_unlock(&srv->lock);
    return rv;
}

/* Whether s waited in its queue past the deadline its client gave. */
static int queue_expired(const slot *s)
{
    return s->req->deadline_ms > 0 &&
           sce_clock_ms() - s->received_ms > (int64_t)s->req->deadline_ms;
}

/* Waits for a slot and counts it busy; NULL once the server is stopping
 * and the queue is empty. */
static slot *queue_pop(rpc_server *srv, slot_queue *q)
{
    slot *s;

    pthread_mutex_lock(&srv->lock);
    while (q->head == NULL && !srv->stopping)
        pthread_cond_wait(&q->work, &srv->lock);
    s = q->head;
    if (s != NULL) {
        q->head = s->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->queued--;
        q->busy++;
    }
    pthread_mutex_unlock(&srv->lock);
    return s;
}

/* A popped slot was answered; `runs` of them were runs. */
static void queue_done(rpc_server *srv, slot_queue *q, uint64_t runs)
{
    pthread_mutex_lock(&srv->lock);
    q->busy--;
    srv->runs_total += runs;
    pthread_mutex_unlock(&srv->lock);
}

/* History reads never take a worker's place: a read queued behind runs
 * would wait for a run to end, and one holding a worker would keep a run
 * waiting.  Nor do they run on nng's callback threads, since SQLite may
 * wait on a lock (busy_timeout) or for the writer (history_flush).  So
 * they have SCE_HISTORY_READERS threads of their own and a queue of
 * SCE_HISTORY_READ_QUEUE; beyond that a read is RESOURCE_EXHAUSTED, like a
 * run over the run queue.  rpc_start adds their slots to the contexts, so
 * they never eat into the spare ones. */
static int reader_enqueue(slot *s)
{
    return queue_push(s->srv, &s->srv->reads, s);
}

static void *reader_main(void *arg)
{
    rpc_server *srv = arg;
    slot *s;

    while ((s = queue_pop(srv, &srv->reads)) != NULL) {
        if (queue_expired(s))
            reply_status(s, SCE__V1__METHOD__METHOD_HISTORY, SCE_ERR_DEADLINE_EXCEEDED,
                         "the request waited in the queue past its deadline");
        else
            handle_history(s);
        queue_done(srv, &srv->reads, 0);
    }
    return NULL;
}

/* A decoded History request, from on_request: queued for the readers, or
 * answered at once (a wrong body, a full queue, shutting down). */
static void reader_submit(slot *s)
{
    int rv;

    if (s->req->body_case != SCE__V1__REQUEST__BODY_HISTORY)
        reply_status(s, SCE__V1__METHOD__METHOD_HISTORY, SCE_ERR_INVALID_ARGUMENT,
                     "method HISTORY needs a history body");
    else if ((rv = reader_enqueue(s)) == SCE_ERR_UNAVAILABLE)
        reply_status(s, SCE__V1__METHOD__METHOD_HISTORY, rv,
                     "the server is shutting down; retry on another");
    else if (rv != SCE_OK)
        reply_status(s, SCE__V1__METHOD__METHOD_HISTORY, rv,
                     "the server is busy: too many history reads at once; retry later");
}

/* ------------------------------------------------------------ plumbing */

static void *worker_main(void *arg)
{
    rpc_server *srv = arg;
    slot *s;

    while ((s = queue_pop(srv, &srv->runs)) != NULL) {
        if (s->job) {
            run_job(s); /* frees s */
            queue_done(srv, &srv->runs, 1);
            continue;
        }
        /* Read before the answer frees the request. */
        uint64_t runs = s->req->method == SCE__V1__METHOD__METHOD_RUN_BATCH && s->req->batch != NULL
                            ? s->req->batch->n_tasks
                            : 1;

        if (queue_expired(s))
            reply_status(s, s->req->method, SCE_ERR_DEADLINE_EXCEEDED,
                         "the request waited in the queue past its deadline");
        else if (s->req->method == SCE__V1__METHOD__METHOD_RUN_BATCH)
            handle_batch(s);
        else
            handle_run(s);
        queue_done(srv, &srv->runs, runs);
    }
    return NULL;
}

/* Queues a run for the workers (queue_push). */
static int enqueue(slot *s)
{
    return queue_push(s->srv, &s->srv->runs, s);
}

/* The body a queued method needs, and its name for messages. */
static Sce__V1__Request__BodyCase body_for(int method)
{
    switch (method) {
    case SCE__V1__METHOD__METHOD_RUN:
        return SCE__V1__REQUEST__BODY_RUN;
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
        return SCE__V1__REQUEST__BODY_RUN_PROJECT;
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        return SCE__V1__REQUEST__BODY_BATCH;
    case SCE__V1__METHOD__METHOD_RUN_START:
        return SCE__V1__REQUEST__BODY_RUN_START;
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        return SCE__V1__REQUEST__BODY_RUN_POLL;
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
        return SCE__V1__REQUEST__BODY_RUN_STDIN;
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        return SCE__V1__REQUEST__BODY_RUN_CANCEL;
    default:
        return SCE__V1__REQUEST__BODY_HISTORY;
    }
}

static const char *method_label(int method)
{
    switch (method) {
    case SCE__V1__METHOD__METHOD_RUN:
        return "RUN";
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
        return "RUN_PROJECT";
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        return "RUN_BATCH";
    case SCE__V1__METHOD__METHOD_RUN_START:
        return "RUN_START";
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        return "RUN_POLL";
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
        return "RUN_STDIN";
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        return "RUN_CANCEL";
    default:
        return "HISTORY";
    }
}

static const char *body_label(int method)
{
    switch (method) {
    case SCE__V1__METHOD__METHOD_RUN:
        return "run";
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
        return "run_project";
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        return "batch";
    case SCE__V1__METHOD__METHOD_RUN_START:
        return "run_start";
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        return "run_poll";
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
        return "run_stdin";
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        return "run_cancel";
    default:
        return "history";
    }
}

static void on_request(slot *s, nng_msg *msg)
{
    rpc_server *srv = s->srv;
    size_t len = nng_msg_len(msg);
    char err[256];
    Sce__V1__Request *req;
    int rv;

    s->received_ms = sce_clock_ms();
    s->req = NULL;
    new_request_id(s->rid, sizeof(s->rid));
    if (len > (size_t)srv->env->opt->message_limit_bytes) {
        nng_msg_free(msg);
        sce_seterr(err, sizeof(err), "request is %zu bytes; the limit is %lld", len,
                   (long long)srv->env->opt->message_limit_bytes);
        reply_status(s, 0, SCE_ERR_INVALID_ARGUMENT, err);
        return;
    }
    req = sce__v1__request__unpack(NULL, len, nng_msg_body(msg));
    nng_msg_free(msg);
    if (req == NULL) {
        reply_status(s, 0, SCE_ERR_INVALID_ARGUMENT,
                     "malformed request: not a protobuf sce.v1.Request message");
        return;
    }
    s->req = req;
    /* A client's id is kept only if it is plain (it lands in every log line
     * and in container labels); otherwise the server's own id stands. */
    if (req->request_id != NULL && req->request_id[0] != '\0' &&
        strlen(req->request_id) <= SCE_REQUEST_ID_MAX_CHARS &&
        strspn(req->request_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789._:-") == strlen(req->request_id))
        snprintf(s->rid, sizeof(s->rid), "%s", req->request_id);

    switch (req->method) {
    case SCE__V1__METHOD__METHOD_RUN:
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        if (req->body_case != body_for(req->method)) {
            sce_seterr(err, sizeof(err), "method %s needs a %s body", method_label(req->method),
                       body_label(req->method));
            reply_status(s, req->method, SCE_ERR_INVALID_ARGUMENT, err);
        } else if ((rv = enqueue(s)) == SCE_ERR_UNAVAILABLE) {
            reply_status(s, req->method, rv, "the server is shutting down; retry on another");
        } else if (rv != SCE_OK) {
            sce_seterr(err, sizeof(err),
                       "the server is busy: %zu runs in progress and the queue "
                       "is full; retry later",
                       srv->nworkers);
            reply_status(s, req->method, rv, err);
        }
        break;
    case SCE__V1__METHOD__METHOD_HISTORY:
        reader_submit(s); /* its own queue and threads: see reader_enqueue */
        break;
    case SCE__V1__METHOD__METHOD_RUN_START:
    case SCE__V1__METHOD__METHOD_RUN_POLL:
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        if (req->body_case != body_for(req->method)) {
            sce_seterr(err, sizeof(err), "method %s needs a %s body", method_label(req->method),
                       body_label(req->method));
            reply_status(s, req->method, SCE_ERR_INVALID_ARGUMENT, err);
        } else if (req->method == SCE__V1__METHOD__METHOD_RUN_START) {
            handle_run_start(s);
        } else if (req->method == SCE__V1__METHOD__METHOD_RUN_POLL) {
            handle_run_poll(s);
        } else if (req->method == SCE__V1__METHOD__METHOD_RUN_STDIN) {
            handle_run_stdin(s);
        } else {
            handle_run_cancel(s);
        }
        break;
    case SCE__V1__METHOD__METHOD_LANGUAGES:
        handle_languages(s);
        break;
    case SCE__V1__METHOD__METHOD_HEALTH:
        handle_health(s);
        break;
    default:
        sce_seterr(err, sizeof(err), "unknown method %d", (int)req->method);
        reply_status(s, req->method, SCE_ERR_INVALID_ARGUMENT, err);
        break;
    }
}

static void slot_cb(void *arg)
{
    slot *s = arg;
    int rv = nng_aio_result(s->aio);

    if (s->sending) {
        if (rv != 0) {
            /* The caller went away; the answer has nowhere to go. */
            nng_msg_free(nng_aio_get_msg(s->aio));
            SCE_LOG(SCE_LOG_DEBUG, s->rid, "answer not delivered: %s", nng_strerror(rv));
        }
        arm_recv(s);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
            SCE_LOG(SCE_LOG_WARN, NULL, "receive: %s", nng_strerror(rv));
        arm_recv(s);
        return;
    }
    on_request(s, nng_aio_get_msg(s->aio));
}

int rpc_start(const exec_env *env, history *hist, rpc_server **out, char *err, size_t errlen)
{
    const server_options *o = env->opt;
    rpc_server *srv = calloc(1, sizeof(*srv));
    nng_listener listener = NNG_LISTENER_INITIALIZER;
    int rv;

    if (srv == NULL)
        return SCE_ERR_NO_MEMORY;
    srv->env = env;
    srv->hist = hist;
    srv->started_ms = sce_clock_ms();
    srv->nworkers = (size_t)o->workers;
    /* Contexts: the runs', the spare ones, the history reads', and one per
     * followed run that may be under way for its parked poll (plus spares:
     * polls beyond them answer at once instead of parking). */
    srv->nslots = 2 * (srv->nworkers + (size_t)o->queue_depth + SCE_RPC_SPARE_SLOTS) +
                  SCE_HISTORY_READERS + SCE_HISTORY_READ_QUEUE;
    srv->runs.capacity = srv->nworkers + (size_t)o->queue_depth;
    srv->reads.capacity = SCE_HISTORY_READERS + SCE_HISTORY_READ_QUEUE;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->runs.work, NULL);
    sce_cond_init(&srv->quiet); /* waited on with a deadline (rpc_stop) */
    pthread_cond_init(&srv->reads.work, NULL);

    if (live_registry_new(srv->nworkers + (size_t)o->queue_depth + SCE_LIVE_EXTRA_RUNS,
                          srv->nworkers + (size_t)o->queue_depth, &srv->live, err,
                          errlen) != SCE_OK)
        goto fail;
    rv = nng_rep0_open(&srv->sock);
    if (rv != 0) {
        sce_seterr(err, errlen, "cannot open the REP socket: %s", nng_strerror(rv));
        goto fail;
    }
    nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ,
                        (size_t)o->message_limit_bytes * 2 < SCE_NNG_MESSAGE_MAX_BYTES
                            ? (size_t)o->message_limit_bytes * 2
                            : SCE_NNG_MESSAGE_MAX_BYTES);
    rv = nng_listen(srv->sock, o->listen, &listener, 0);
    srv->listener = listener;
    if (rv != 0) {
        sce_seterr(err, errlen, "cannot listen on %s: %s", o->listen, nng_strerror(rv));
        goto fail;
    }
    if (listen_guard_needed(o->listen) &&
        listen_guard_start(srv->sock, o->listen, listener, &srv->guard, err, errlen) != SCE_OK)
        goto fail;
    srv->slots = calloc(srv->nslots, sizeof(slot));
    srv->workers = calloc(srv->nworkers, sizeof(pthread_t));
    if (srv->slots == NULL || srv->workers == NULL) {
        srv->nworkers = 0;
        sce_seterr(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < srv->nworkers; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0) {
            sce_seterr(err, errlen, "cannot start worker threads");
            srv->nworkers = i;
            goto fail;
        }
    }
    for (; srv->nreaders < SCE_HISTORY_READERS; srv->nreaders++) {
        if (pthread_create(&srv->readers[srv->nreaders], NULL, reader_main, srv) != 0) {
            sce_seterr(err, errlen, "cannot start history reader threads");
            goto fail;
        }
    }
    for (size_t i = 0; i < srv->nslots; i++) {
        slot *s = &srv->slots[i];
        s->srv = srv;
        if (nng_ctx_open(&s->ctx, srv->sock) != 0 || nng_aio_alloc(&s->aio, slot_cb, s) != 0) {
            sce_seterr(err, errlen, "cannot open nng contexts");
            goto fail;
        }
    }
    for (size_t i = 0; i < srv->nslots; i++)
        arm_recv(&srv->slots[i]);
    srv->serving = 1;
    SCE_LOG(SCE_LOG_INFO, NULL, "listening on %s: %zu workers, queue %lld", o->listen,
            srv->nworkers, (long long)o->queue_depth);
    *out = srv;
    return SCE_OK;
fail:
    rpc_stop(srv);
    return SCE_ERR_UNAVAILABLE;
}

void rpc_stop(rpc_server *srv)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->runs.work);
    pthread_cond_broadcast(&srv->reads.work);
    pthread_mutex_unlock(&srv->lock);
    /* No new connections while the slots wind down.  (With a guard, the
     * guard owns the listener; it is stopped below.) */
    if (srv->guard == NULL && nng_listener_id(srv->listener) > 0)
        nng_listener_close(srv->listener);

    /* Parked polls answer now, and no poll parks from here on. */
    live_registry_quiesce(srv->live);
    /* Cancel pending receives until every slot has gone idle; slots holding a
     * request go idle after their answer is sent. */
    if (srv->serving) {
        for (;;) {
            pthread_mutex_lock(&srv->lock);
            if (srv->idle_slots >= srv->nslots) {
                pthread_mutex_unlock(&srv->lock);
                break;
            }
            pthread_mutex_unlock(&srv->lock);
            for (size_t i = 0; i < srv->nslots; i++)
                if (!srv->slots[i].sending && srv->slots[i].req == NULL)
                    nng_aio_cancel(srv->slots[i].aio);
            pthread_mutex_lock(&srv->lock);
            sce_cond_wait_until(&srv->quiet, &srv->lock, sce_clock_ms() + SCE_STOP_CANCEL_MS);
            pthread_mutex_unlock(&srv->lock);
        }
    }
    /* workers is NULL when start-up failed before the threads existed. */
    for (size_t i = 0; srv->workers != NULL && i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    for (size_t i = 0; i < srv->nreaders; i++)
        pthread_join(srv->readers[i], NULL);
    live_registry_quiesce(srv->live); /* polls that came while the runs ended */
    listen_guard_stop(srv->guard);
    /* Every aio stopped and every context closed before the socket, as
     * nng's documentation advises. */
    for (size_t i = 0; srv->slots != NULL && i < srv->nslots; i++) {
        if (srv->slots[i].aio != NULL)
            nng_aio_stop(srv->slots[i].aio);
        if (nng_ctx_id(srv->slots[i].ctx) > 0)
            nng_ctx_close(srv->slots[i].ctx);
    }
    if (sce_nng_close_within(srv->sock, SCE_SOCKET_CLOSE_WAIT_MS) != 0) {
        /* Keep it all: an nng thread may still use it, and the process is
         * about to exit.  Held in a static so it is not a leak either. */
        SCE_LOG(SCE_LOG_WARN, NULL,
                "the nng socket did not close within %d ms (an nng 1.5 "
                "defect under traffic); leaving it to the exit",
                SCE_SOCKET_CLOSE_WAIT_MS);
        abandoned = srv;
        return;
    }
    for (size_t i = 0; srv->slots != NULL && i < srv->nslots; i++) {
        if (srv->slots[i].aio != NULL)
            nng_aio_free(srv->slots[i].aio);
        if (srv->slots[i].req != NULL)
            sce__v1__request__free_unpacked(srv->slots[i].req, NULL);
    }
    free(srv->slots);
    free(srv->workers);
    live_registry_free(srv->live);
    pthread_cond_destroy(&srv->quiet);
    pthread_cond_destroy(&srv->runs.work);
    pthread_cond_destroy(&srv->reads.work);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
    SCE_LOG(SCE_LOG_INFO, NULL, "stopped serving");
}
