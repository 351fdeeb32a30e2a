/*
 * live.c - followed runs (see live.h).
 *
 * One lock per registry guards every run in it: a run's state is a few
 * words and its output a byte string, and every operation is short.  The
 * output is kept as records (1 byte stream, 4 bytes length, the bytes) in
 * one growing buffer; record i is chunk i + 1.
 */
#define _GNU_SOURCE /* pipe2 */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sce_limits.h"
#include "common/clock.h"
#include "common/random.h"
#include "common/seterr.h"
#include "sce/client.h"
#include "sce/err.h"

#define REC_HEADER 5

enum { RUN_QUEUED, RUN_RUNNING, RUN_DONE };

struct live_run {
    live_registry *reg;
    live_run *next; /* the registry's list, oldest first */
    char id[2 * SCE_LIVE_RUN_ID_BYTES + 1];
    char *tenant;
    int refs;   /* the registry's own + live_find's + create's */
    int linked; /* still in the registry's list */
    int state;
    int cancel;  /* 0, 1 by the client, 2 reader gone */
    int detached;  /* never cancelled for want of a reader */
    uint8_t *meta; /* the start's meta, immutable */
    size_t meta_len;
    int wake[2]; /* pipe: stdin, close or cancel for the worker */

    uint8_t *log; /* the records */
    size_t log_len, log_cap;
    uint64_t nchunks;
    uint64_t delivered; /* the highest chunk a poll has returned */
    size_t last_off;    /* offset of the last record */
    /* Where the record after chunk scan_seq starts: records never move
     * (only the last one grows), so a poll starts its search there. */
    uint64_t scan_seq;
    size_t scan_off;

    uint8_t *in; /* stdin not yet taken by the worker */
    size_t in_len;
    int in_closed; /* closed by the client (or the end) */

    int status; /* at the end: SCE_OK and `result`, or why not */
    char message[512];
    uint8_t *result; /* packed RunResult */
    size_t result_len;
    int64_t done_ms;
    int64_t last_poll_ms;
    live_waiter *waiters;
};

struct live_registry {
    pthread_mutex_t lock;
    pthread_cond_t tick; /* stop */
    pthread_t timer;
    int timer_started;
    int stopping;
    int quiescing;
    live_run *head, *tail;
    size_t count;
    size_t max_runs;
    size_t parked, max_parked;
};

/* ------------------------------------------------------------ helpers */

static void wake(live_run *lr)
{
    char b = 1;

    /* Full pipe: the worker has a wake-up pending anyway. */
    if (write(lr->wake[1], &b, 1) < 0 && errno != EAGAIN)
        (void)0;
}

static void wake_drain(live_run *lr)
{
    char buf[64];

    while (read(lr->wake[0], buf, sizeof(buf)) > 0)
        ;
}

static void run_free(live_run *lr)
{
    if (lr == NULL)
        return;
    if (lr->wake[0] >= 0)
        close(lr->wake[0]);
    if (lr->wake[1] >= 0)
        close(lr->wake[1]);
    free(lr->tenant);
    free(lr->log);
    free(lr->in);
    free(lr->result);
    free(lr->meta);
    free(lr);
}

/* Takes every waiter of lr (under the lock): the caller fires them after
 * unlocking.  `only_expired_at` > 0 takes only those whose deadline has
 * passed. */
static live_waiter *detach_waiters(live_run *lr, int64_t only_expired_at, live_waiter *list)
{
    live_waiter **pp = &lr->waiters;

    while (*pp != NULL) {
        live_waiter *w = *pp;

        if (only_expired_at > 0 && w->deadline_ms > only_expired_at) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        w->next = list;
        list = w;
        lr->reg->parked--;
        lr->last_poll_ms = sce_clock_ms();
    }
    return list;
}

static void fire_all(live_waiter *list)
{
    while (list != NULL) {
        live_waiter *next = list->next;

        list->next = NULL;
        list->fire(list);
        list = next;
    }
}

static void unlink_run(live_registry *r, live_run *lr)
{
    live_run **pp = &r->head, *prev = NULL;

    while (*pp != NULL && *pp != lr) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    *pp = lr->next;
    if (r->tail == lr)
        r->tail = prev;
    lr->next = NULL;
    lr->linked = 0;
    r->count--;
}

/* Forgets the oldest run that ended at least SCE_LIVE_KEPT_MIN_MS ago and
 * has no parked poll (under the lock); 1 if one was forgotten.  *freed
 * gets it when it can be freed now. */
static int forget_oldest_done(live_registry *r, live_run **freed)
{
    int64_t now = sce_clock_ms();

    for (live_run *lr = r->head; lr != NULL; lr = lr->next) {
        if (lr->state == RUN_DONE && lr->waiters == NULL &&
            now - lr->done_ms >= SCE_LIVE_KEPT_MIN_MS) {
            unlink_run(r, lr);
            *freed = --lr->refs == 0 ? lr : NULL;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ the timer */

static void *timer_main(void *arg)
{
    live_registry *r = arg;

    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        int64_t now = sce_clock_ms();
        live_waiter *fire = NULL;
        live_run *forget = NULL, *next;

        for (live_run *lr = r->head; lr != NULL; lr = next) {
            next = lr->next;
            fire = detach_waiters(lr, now, fire);
            if (lr->state != RUN_DONE && !lr->detached && lr->waiters == NULL && lr->cancel == 0 &&
                now - lr->last_poll_ms > SCE_RUN_READER_GONE_MS) {
                lr->cancel = 2;
                wake(lr);
            }
            if (lr->state == RUN_DONE && lr->waiters == NULL &&
                now - lr->done_ms > SCE_RUN_KEPT_MS) {
                unlink_run(r, lr);
                if (--lr->refs == 0) {
                    lr->next = forget;
                    forget = lr;
                }
            }
        }
        pthread_mutex_unlock(&r->lock);
        fire_all(fire);
        while (forget != NULL) {
            next = forget->next;
            run_free(forget);
            forget = next;
        }
        pthread_mutex_lock(&r->lock);
        if (!r->stopping)
            sce_cond_wait_until(&r->tick, &r->lock, sce_clock_ms() + SCE_LIVE_TICK_MS);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ------------------------------------------------------------ registry */

int live_registry_new(size_t max_runs, size_t max_parked, live_registry **out, char *err,
                      size_t errlen)
{
    live_registry *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&r->lock, NULL);
    sce_cond_init(&r->tick);
    r->max_runs = max_runs > 0 ? max_runs : 1;
    r->max_parked = max_parked;
    if (pthread_create(&r->timer, NULL, timer_main, r) != 0) {
        sce_seterr(err, errlen, "cannot start the followed runs' timer thread");
        live_registry_free(r);
        return SCE_ERR_INTERNAL;
    }
    r->timer_started = 1;
    *out = r;
    return SCE_OK;
}

void live_registry_quiesce(live_registry *r)
{
    live_waiter *fire = NULL;

    if (r == NULL)
        return;
    pthread_mutex_lock(&r->lock);
    r->quiescing = 1;
    for (live_run *lr = r->head; lr != NULL; lr = lr->next)
        fire = detach_waiters(lr, 0, fire);
    pthread_mutex_unlock(&r->lock);
    fire_all(fire);
}

void live_registry_free(live_registry *r)
{
    live_run *lr, *next;

    if (r == NULL)
        return;
    live_registry_quiesce(r);
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_broadcast(&r->tick);
    pthread_mutex_unlock(&r->lock);
    if (r->timer_started)
        pthread_join(r->timer, NULL);
    for (lr = r->head; lr != NULL; lr = next) {
        next = lr->next;
        run_free(lr);
    }
    pthread_cond_destroy(&r->tick);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void live_registry_counts(live_registry *r, size_t *active, size_t *parked)
{
    size_t n = 0;

    pthread_mutex_lock(&r->lock);
    for (live_run *lr = r->head; lr != NULL; lr = lr->next)
        n += lr->state != RUN_DONE;
    *active = n;
    *parked = r->parked;
    pthread_mutex_unlock(&r->lock);
}

int live_run_create(live_registry *r, const char *tenant, uint64_t output_limit_bytes,
                    const void *meta, size_t meta_len, int detached, live_run **out, char *err,
                    size_t errlen)
{
    live_run *lr = calloc(1, sizeof(*lr)), *freed = NULL;
    int rv = SCE_OK;

    (void)output_limit_bytes; /* exec.c publishes only what is within the cap */
    if (lr == NULL || (lr->tenant = strdup(tenant != NULL ? tenant : "")) == NULL) {
        run_free(lr);
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    lr->wake[0] = lr->wake[1] = -1;
    lr->detached = detached != 0;
    if (meta_len > 0) {
        if ((lr->meta = malloc(meta_len)) == NULL) {
            run_free(lr);
            sce_seterr(err, errlen, "out of memory");
            return SCE_ERR_NO_MEMORY;
        }
        memcpy(lr->meta, meta, meta_len);
        lr->meta_len = meta_len;
    }
    if (pipe2(lr->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        sce_seterr(err, errlen, "cannot make a pipe: %s", strerror(errno));
        run_free(lr);
        return SCE_ERR_INTERNAL;
    }
    if (sce_random_hex(lr->id, sizeof(lr->id), SCE_LIVE_RUN_ID_BYTES, SCE_RANDOM_WAIT) != 0) {
        sce_seterr(err, errlen, "no randomness for a run id");
        run_free(lr);
        return SCE_ERR_UNAVAILABLE;
    }
    lr->reg = r;
    lr->refs = 2; /* the registry's and the caller's */
    lr->linked = 1;
    lr->state = RUN_QUEUED;
    lr->last_poll_ms = sce_clock_ms();

    pthread_mutex_lock(&r->lock);
    if (r->count >= r->max_runs && !forget_oldest_done(r, &freed)) {
        sce_seterr(err, errlen, "the server is busy: %zu followed runs are under way; retry later",
                   r->count);
        rv = SCE_ERR_RESOURCE_EXHAUSTED;
    } else {
        if (r->tail != NULL)
            r->tail->next = lr;
        else
            r->head = lr;
        r->tail = lr;
        r->count++;
    }
    pthread_mutex_unlock(&r->lock);
    run_free(freed);
    if (rv != SCE_OK) {
        run_free(lr);
        return rv;
    }
    *out = lr;
    return SCE_OK;
}

live_run *live_find(live_registry *r, const char *id, const char *tenant)
{
    live_run *found = NULL;

    if (id == NULL)
        return NULL;
    pthread_mutex_lock(&r->lock);
    for (live_run *lr = r->head; lr != NULL; lr = lr->next) {
        if (strcmp(lr->id, id) != 0)
            continue;
        if (tenant == NULL || tenant[0] == '\0' || strcmp(tenant, lr->tenant) == 0) {
            lr->refs++;
            found = lr;
        }
        break;
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

void live_run_release(live_run *lr)
{
    int last;

    if (lr == NULL)
        return;
    pthread_mutex_lock(&lr->reg->lock);
    last = --lr->refs == 0;
    pthread_mutex_unlock(&lr->reg->lock);
    if (last)
        run_free(lr);
}

const char *live_run_id(const live_run *lr)
{
    return lr->id;
}

/* ------------------------------------------------------------ worker side */

int live_run_begin(live_run *lr)
{
    int ok;

    pthread_mutex_lock(&lr->reg->lock);
    ok = lr->cancel == 0;
    if (ok)
        lr->state = RUN_RUNNING;
    pthread_mutex_unlock(&lr->reg->lock);
    return ok;
}

int live_wake_fd(const live_run *lr)
{
    return lr->wake[0];
}

static int log_reserve(live_run *lr, size_t more)
{
    size_t need = lr->log_len + more, cap = lr->log_cap ? lr->log_cap : 4096;
    uint8_t *p;

    if (need <= lr->log_cap)
        return SCE_OK;
    while (cap < need)
        cap *= 2;
    if ((p = realloc(lr->log, cap)) == NULL)
        return SCE_ERR_NO_MEMORY;
    lr->log = p;
    lr->log_cap = cap;
    return SCE_OK;
}

static uint32_t rec_len(const uint8_t *rec)
{
    return (uint32_t)rec[1] | (uint32_t)rec[2] << 8 | (uint32_t)rec[3] << 16 |
           (uint32_t)rec[4] << 24;
}

static void rec_set_len(uint8_t *rec, uint32_t n)
{
    rec[1] = (uint8_t)n;
    rec[2] = (uint8_t)(n >> 8);
    rec[3] = (uint8_t)(n >> 16);
    rec[4] = (uint8_t)(n >> 24);
}

int live_output(live_run *lr, int stream, const void *p, size_t n)
{
    live_registry *r = lr->reg;
    live_waiter *fire = NULL;
    int rv = SCE_OK;

    if (n == 0)
        return SCE_OK;
    if (n > UINT32_MAX / 2)
        return SCE_ERR_INVALID_ARGUMENT;
    pthread_mutex_lock(&r->lock);
    if (lr->nchunks > lr->delivered && lr->log[lr->last_off] == (uint8_t)stream &&
        rec_len(lr->log + lr->last_off) + n <= UINT32_MAX / 2) {
        /* The last chunk, not yet returned by any poll, grows. */
        if ((rv = log_reserve(lr, n)) == SCE_OK) {
            uint8_t *rec = lr->log + lr->last_off;

            memcpy(lr->log + lr->log_len, p, n);
            lr->log_len += n;
            rec_set_len(rec, rec_len(rec) + (uint32_t)n);
        }
    } else if ((rv = log_reserve(lr, REC_HEADER + n)) == SCE_OK) {
        uint8_t *rec = lr->log + lr->log_len;

        rec[0] = (uint8_t)stream;
        rec_set_len(rec, (uint32_t)n);
        memcpy(rec + REC_HEADER, p, n);
        lr->last_off = lr->log_len;
        lr->log_len += REC_HEADER + n;
        lr->nchunks++;
    }
    if (rv == SCE_OK)
        fire = detach_waiters(lr, 0, NULL);
    pthread_mutex_unlock(&r->lock);
    fire_all(fire);
    return rv;
}

size_t live_stdin_take(live_run *lr, void *buf, size_t max, int *closed)
{
    size_t n;

    pthread_mutex_lock(&lr->reg->lock);
    wake_drain(lr);
    n = lr->in_len < max ? lr->in_len : max;
    if (n > 0) {
        memcpy(buf, lr->in, n);
        memmove(lr->in, lr->in + n, lr->in_len - n);
        lr->in_len -= n;
    }
    *closed = lr->in_closed && lr->in_len == 0;
    pthread_mutex_unlock(&lr->reg->lock);
    return n;
}

void live_wake_clear(live_run *lr)
{
    wake_drain(lr);
}

int live_cancelled(live_run *lr)
{
    int c;

    pthread_mutex_lock(&lr->reg->lock);
    c = lr->cancel;
    pthread_mutex_unlock(&lr->reg->lock);
    return c;
}

void live_run_finish(live_run *lr, int status, const char *message,
                     const Sce__V1__RunResult *result)
{
    live_registry *r = lr->reg;
    live_waiter *fire;
    uint8_t *packed = NULL;
    size_t len = 0;

    if (status == SCE_OK && result != NULL) {
        len = sce__v1__run_result__get_packed_size(result);
        if ((packed = malloc(len > 0 ? len : 1)) == NULL) {
            status = SCE_ERR_NO_MEMORY;
            message = "out of memory keeping the run's result";
        } else {
            sce__v1__run_result__pack(result, packed);
        }
    }
    pthread_mutex_lock(&r->lock);
    lr->state = RUN_DONE;
    lr->done_ms = sce_clock_ms();
    lr->in_closed = 1;
    lr->in_len = 0;
    lr->status = status;
    snprintf(lr->message, sizeof(lr->message), "%s", message != NULL ? message : "");
    lr->result = packed;
    lr->result_len = len;
    fire = detach_waiters(lr, 0, NULL);
    pthread_mutex_unlock(&r->lock);
    fire_all(fire);
}

/* ------------------------------------------------------------ readers' side */

int live_stdin_write(live_run *lr, const void *p, size_t n, int close, char *err, size_t errlen)
{
    int rv = SCE_OK;

    pthread_mutex_lock(&lr->reg->lock);
    if (lr->state == RUN_DONE || lr->cancel != 0) {
        sce_seterr(err, errlen, "run %s has ended; its stdin is closed", lr->id);
        rv = SCE_ERR_FAILED_PRECONDITION;
    } else if (lr->in_closed) {
        sce_seterr(err, errlen, "the stdin of run %s is closed", lr->id);
        rv = SCE_ERR_FAILED_PRECONDITION;
    } else if (n > SCE_LIVE_STDIN_MAX_BYTES - lr->in_len) {
        sce_seterr(err, errlen,
                   "%zu bytes of stdin wait unread by the program; at most %d may wait: retry "
                   "later",
                   lr->in_len, SCE_LIVE_STDIN_MAX_BYTES);
        rv = SCE_ERR_RESOURCE_EXHAUSTED;
    } else {
        if (n > 0 && lr->in == NULL && (lr->in = malloc(SCE_LIVE_STDIN_MAX_BYTES)) == NULL) {
            sce_seterr(err, errlen, "out of memory");
            rv = SCE_ERR_NO_MEMORY;
        } else {
            if (n > 0)
                memcpy(lr->in + lr->in_len, p, n);
            lr->in_len += n;
            if (close)
                lr->in_closed = 1;
            wake(lr);
        }
    }
    pthread_mutex_unlock(&lr->reg->lock);
    return rv;
}

void live_cancel(live_run *lr)
{
    pthread_mutex_lock(&lr->reg->lock);
    if (lr->state != RUN_DONE && lr->cancel == 0) {
        lr->cancel = 1;
        wake(lr);
    }
    pthread_mutex_unlock(&lr->reg->lock);
}

int live_poll_wait(live_run *lr, live_waiter *w, uint64_t after_seq, int64_t deadline_ms)
{
    live_registry *r = lr->reg;
    int parked = 0;

    pthread_mutex_lock(&r->lock);
    lr->last_poll_ms = sce_clock_ms();
    if (lr->nchunks <= after_seq && lr->state != RUN_DONE && !r->quiescing &&
        r->parked < r->max_parked && deadline_ms > lr->last_poll_ms) {
        w->run = lr;
        w->after_seq = after_seq;
        w->deadline_ms = deadline_ms;
        w->next = lr->waiters;
        lr->waiters = w;
        r->parked++;
        parked = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return parked;
}

int live_events_take(live_run *lr, uint64_t after_seq, live_events *ev)
{
    live_registry *r = lr->reg;
    size_t off = 0, first = 0, bytes = 0, n = 0;
    uint64_t seq = 0;
    int rv = SCE_OK;

    memset(ev, 0, sizeof(*ev));
    sce__v1__run_events__init(&ev->msg);
    pthread_mutex_lock(&r->lock);
    lr->last_poll_ms = sce_clock_ms();
    /* The first record after after_seq, then as many as fit. */
    if (after_seq >= lr->scan_seq) {
        seq = lr->scan_seq;
        off = lr->scan_off;
    }
    while (off < lr->log_len && seq < after_seq) {
        off += REC_HEADER + rec_len(lr->log + off);
        seq++;
    }
    first = off;
    if (seq > lr->scan_seq) {
        lr->scan_seq = seq;
        lr->scan_off = first;
    }
    while (off < lr->log_len &&
           (n == 0 || bytes + rec_len(lr->log + off) <= SCE_LIVE_POLL_MAX_BYTES)) {
        bytes += rec_len(lr->log + off);
        off += REC_HEADER + rec_len(lr->log + off);
        n++;
    }
    if (n > 0) {
        ev->chunks = calloc(n, sizeof(*ev->chunks));
        ev->chunk_ptrs = calloc(n, sizeof(*ev->chunk_ptrs));
        ev->data = malloc(bytes > 0 ? bytes : 1);
        if (ev->chunks == NULL || ev->chunk_ptrs == NULL || ev->data == NULL) {
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        off = first;
        bytes = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *rec = lr->log + off;
            uint32_t len = rec_len(rec);

            sce__v1__output_chunk__init(&ev->chunks[i]);
            ev->chunks[i].seq = seq + 1 + i;
            ev->chunks[i].stream = (Sce__V1__Stream)rec[0];
            memcpy(ev->data + bytes, rec + REC_HEADER, len);
            ev->chunks[i].data.data = ev->data + bytes;
            ev->chunks[i].data.len = len;
            ev->chunk_ptrs[i] = &ev->chunks[i];
            bytes += len;
            off += REC_HEADER + len;
        }
        ev->msg.n_chunks = n;
        ev->msg.chunks = ev->chunk_ptrs;
        if (seq + n > lr->delivered)
            lr->delivered = seq + n;
    }
    ev->msg.next_seq = n > 0 ? seq + n : (after_seq < lr->nchunks ? after_seq : lr->nchunks);
    if (after_seq == 0 && lr->meta_len > 0) {
        if ((ev->meta = malloc(lr->meta_len)) == NULL) {
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        memcpy(ev->meta, lr->meta, lr->meta_len);
        ev->msg.meta.data = ev->meta;
        ev->msg.meta.len = lr->meta_len;
    }
    ev->msg.running = lr->state != RUN_QUEUED;
    ev->msg.stdin_open = lr->state != RUN_DONE && !lr->in_closed && lr->cancel == 0;
    if (lr->state == RUN_DONE && seq + n >= lr->nchunks) {
        ev->msg.done = 1;
        ev->status = lr->status;
        snprintf(ev->message, sizeof(ev->message), "%s", lr->message);
        if (lr->status == SCE_OK && lr->result != NULL) {
            ev->result = sce__v1__run_result__unpack(NULL, lr->result_len, lr->result);
            if (ev->result == NULL) {
                rv = SCE_ERR_NO_MEMORY;
                goto out;
            }
            ev->msg.result = ev->result;
        }
    }
out:
    pthread_mutex_unlock(&r->lock);
    if (rv != SCE_OK)
        live_events_free(ev);
    return rv;
}

void live_events_free(live_events *ev)
{
    free(ev->chunks);
    free(ev->chunk_ptrs);
    free(ev->data);
    free(ev->meta);
    if (ev->result != NULL)
        sce__v1__run_result__free_unpacked(ev->result, NULL);
    memset(ev, 0, sizeof(*ev));
}
