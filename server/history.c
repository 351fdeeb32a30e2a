/*
 * history.c - the history's front (see history.h): the queue between the
 * runs and the writer thread, the writer's loop (batches, retries while the
 * database is down, the idle retention), the waits (history_await,
 * history_flush), the counts and the lost-runs warnings.  The databases
 * are behind history_store.h: history_sqlite.c and history_pg.c.
 *
 * `enq_seq` numbers every record queued and `done_seq` follows the writer
 * (a record is done once committed or failed, in queue order: a batch the
 * database could not take goes back to the head of the queue), so a query
 * or an answer can wait for exactly the records queued before it.
 * `queued` and `queued_bytes` count the records not yet done, the batch
 * being written included, so a batch put back never takes the queue over
 * its cap.
 */
#include "history.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_budget.h"
#include "history_store.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "sce/client.h" /* SCE_RUN_META_MAX_BYTES */
#include "sce/err.h"

struct history {
    history_store *store; /* NULL: unavailable */
    char reason[512];

    pthread_t writer;
    int writer_started;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a record was queued, or stopping */
    pthread_cond_t done; /* the writer finished a batch, or the store went down */
    history_entry *head, *tail;
    size_t queued, queued_bytes;
    uint64_t enq_seq, done_seq;
    int stopping;
    int down; /* the store could not be reached on the last try */
    history_stats stats;
    int64_t last_warn_ms;     /* monotonic time of the last lost-runs warning */
    uint64_t lost_unreported; /* runs lost since then, not yet in a warning */
};

/* One warning per SCE_HISTORY_WARN_INTERVAL_MS at most, so a full disk or a
 * writer that fell behind does not flood the log: the runs lost in between
 * are counted into the next warning (or the "recording again" line). */
static void warn_lost(history *h, const char *rid, uint64_t n, const char *why)
{
    int64_t now = sce_clock_ms();
    uint64_t total;

    pthread_mutex_lock(&h->lock);
    h->lost_unreported += n;
    if (h->last_warn_ms != 0 && now - h->last_warn_ms < SCE_HISTORY_WARN_INTERVAL_MS) {
        pthread_mutex_unlock(&h->lock);
        return;
    }
    total = h->lost_unreported;
    h->lost_unreported = 0;
    h->last_warn_ms = now;
    pthread_mutex_unlock(&h->lock);
    SCE_LOG(SCE_LOG_WARN, rid, "history: %llu run(s) not recorded: %s", (unsigned long long)total,
            why);
}

/* ------------------------------------------------------------ opening */

static void *writer_main(void *arg);

static void history_free(history *h)
{
    if (h->store != NULL)
        h->store->ops->close(h->store);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->work);
    pthread_cond_destroy(&h->done);
    free(h);
}

static history *history_alloc(void)
{
    history *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    pthread_mutex_init(&h->lock, NULL);
    sce_cond_init(&h->work); /* both waited on with deadlines */
    sce_cond_init(&h->done);
    return h;
}

int history_open(const history_options *o, history **out, char *err, size_t errlen)
{
    history *h = NULL;
    int rv;

    if ((h = history_alloc()) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_UNAVAILABLE;
    }
    if (o->url != NULL && o->url[0] != '\0')
        rv = history_pg_open(o, &h->store, err, errlen);
    else
        rv = history_sqlite_open(o, &h->store, err, errlen);
    if (rv != SCE_OK)
        goto fail;
    if (pthread_create(&h->writer, NULL, writer_main, h) != 0) {
        sce_seterr(err, errlen, "cannot start the history writer thread");
        goto fail;
    }
    h->writer_started = 1;
    *out = h;
    return SCE_OK;
fail:
    history_free(h);
    return SCE_ERR_UNAVAILABLE;
}

history *history_unavailable(const char *reason)
{
    history *h = history_alloc();

    if (h == NULL)
        return NULL;
    snprintf(h->reason, sizeof(h->reason), "%s", reason != NULL ? reason : "not opened");
    return h;
}

/* ------------------------------------------------------------ recording */

static void entry_free(history_entry *p)
{
    if (p == NULL)
        return;
    free(p->language);
    free(p->entry);
    free(p->message);
    free(p->request_id);
    free(p->tenant);
    free(p->run_id);
    free(p->code);
    free(p->output);
    free(p->err);
    free(p->meta);
    free(p);
}

static void list_free(history_entry *list)
{
    while (list != NULL) {
        history_entry *next = list->next;
        entry_free(list);
        list = next;
    }
}

/* Copies at most SCE_HISTORY_TEXT_MAX_BYTES bytes; *cut is set when more were given. */
static char *copy_capped(const char *s, size_t len, size_t *out_len, int *cut)
{
    char *d;

    if (s == NULL)
        len = 0;
    if (len > SCE_HISTORY_TEXT_MAX_BYTES) {
        len = SCE_HISTORY_TEXT_MAX_BYTES;
        *cut = 1;
    }
    if ((d = malloc(len + 1)) == NULL)
        return NULL;
    if (len > 0)
        memcpy(d, s, len);
    d[len] = '\0';
    *out_len = len;
    return d;
}

static char *copy_str(const char *s, size_t max)
{
    size_t n = s != NULL ? strnlen(s, max) : 0;
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static history_entry *entry_make(const history_record *r)
{
    history_entry *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->time_ms = r->time_ms != 0 ? r->time_ms : sce_wall_ms();
    p->files = r->files;
    p->wall_ms = r->wall_ms;
    p->verdict = r->verdict;
    p->exit_code = r->exit_code;
    p->output_cut = r->output_truncated != 0;
    p->err_cut = r->stderr_truncated != 0;
    p->signal = r->signal;
    p->cpu_ms = r->cpu_ms;
    p->peak_memory_bytes = r->peak_memory_bytes;
    /* Whole: the request check bounds it, and the one-run fetch answers it
     * as given. */
    p->meta_len = r->meta != NULL && r->meta_len > 0 ? r->meta_len : 0;
    if (p->meta_len > SCE_RUN_META_MAX_BYTES)
        p->meta_len = SCE_RUN_META_MAX_BYTES;
    if (p->meta_len > 0 && (p->meta = malloc(p->meta_len)) == NULL) {
        entry_free(p);
        return NULL;
    }
    if (p->meta_len > 0)
        memcpy(p->meta, r->meta, p->meta_len);
    if ((p->run_id = copy_str(r->run_id, 64)) == NULL ||
        (p->language = copy_str(r->language, 64)) == NULL ||
        (p->entry = copy_str(r->entry, 1024)) == NULL ||
        (p->message = copy_str(r->message, 2048)) == NULL ||
        (p->request_id = copy_str(r->request_id, 128)) == NULL ||
        (p->tenant = copy_str(r->tenant, SCE_HISTORY_TENANT_MAX_BYTES)) == NULL ||
        (p->code = copy_capped(r->code, r->code_len, &p->code_len, &p->code_cut)) == NULL ||
        (p->output = copy_capped(r->output, r->output_len, &p->output_len, &p->output_cut)) ==
            NULL ||
        (p->err = copy_capped(r->stderr_text, r->stderr_len, &p->err_len, &p->err_cut)) == NULL) {
        entry_free(p);
        return NULL;
    }
    p->bytes = sizeof(*p) + p->code_len + p->output_len + p->err_len + p->meta_len + 4096;
    return p;
}

/* A cleaned copy of text *s (see history_entry), replacing it; *cut is or'ed
 * with whether cleaning had to cut it (invalid bytes take three bytes each). */
static int clean_text(char **s, size_t *len, int *cut)
{
    /* A cleaned byte takes at most 3 (U+FFFD): room for that, up to the cap. */
    size_t cap = *len < SCE_HISTORY_TEXT_MAX_BYTES / 3 ? *len * 3 : SCE_HISTORY_TEXT_MAX_BYTES;
    size_t consumed, n;
    char *buf = malloc(cap + 1);

    if (buf == NULL)
        return -1;
    n = sce_utf8_clean(*s, *len, buf, cap + 1, &consumed);
    if (consumed < *len)
        *cut = 1;
    free(*s);
    *s = buf;
    *len = n;
    return 0;
}

static int clean_line(char **s)
{
    char buf[2048];
    size_t n = sce_utf8_clean_line(*s, strlen(*s), buf, sizeof(buf));
    char *d = malloc(n + 1);

    if (d == NULL)
        return -1;
    memcpy(d, buf, n);
    d[n] = '\0';
    free(*s);
    *s = d;
    return 0;
}

int history_entry_clean(history_entry *e)
{
    if (e->cleaned)
        return 0;
    if (clean_text(&e->code, &e->code_len, &e->code_cut) != 0 ||
        clean_text(&e->output, &e->output_len, &e->output_cut) != 0 ||
        clean_text(&e->err, &e->err_len, &e->err_cut) != 0 || clean_line(&e->language) != 0 ||
        clean_line(&e->entry) != 0 || clean_line(&e->message) != 0 ||
        clean_line(&e->request_id) != 0 || clean_line(&e->tenant) != 0 ||
        clean_line(&e->run_id) != 0)
        return -1;
    e->cleaned = 1;
    return 0;
}

uint64_t history_record_run(history *h, const history_record *rec)
{
    history_entry *p;
    const char *why = NULL;
    char full[128];
    uint64_t ticket;

    if (h == NULL)
        return 0;
    if (h->store == NULL) {
        pthread_mutex_lock(&h->lock);
        h->stats.dropped++;
        pthread_mutex_unlock(&h->lock);
        return 0;
    }
    p = entry_make(rec);
    pthread_mutex_lock(&h->lock);
    if (p == NULL) {
        why = "out of memory";
    } else if (h->stopping) {
        why = "the server is stopping";
    } else if (h->queued >= h->store->queue_records ||
               h->queued_bytes + p->bytes > h->store->queue_bytes) {
        if (h->down) {
            snprintf(full, sizeof(full),
                     "the history database is down and its queue is full (%zu runs)", h->queued);
            why = full;
        } else {
            why = "the history writer is behind (queue full)";
        }
    }
    if (why != NULL) {
        h->stats.dropped++;
        pthread_mutex_unlock(&h->lock);
        warn_lost(h, rec->request_id, 1, why);
        entry_free(p);
        return 0;
    }
    if (h->tail != NULL)
        h->tail->next = p;
    else
        h->head = p;
    h->tail = p;
    h->queued++;
    h->queued_bytes += p->bytes;
    ticket = p->seq = ++h->enq_seq;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);
    return ticket;
}

/* Waits under h->lock until done_seq reaches target, the store is down or
 * until_ms; 0 when reached. */
static int wait_done(history *h, uint64_t target, int64_t until_ms)
{
    while (h->done_seq < target && !h->down) {
        if (sce_cond_wait_until(&h->done, &h->lock, until_ms) == ETIMEDOUT)
            break;
    }
    return h->done_seq < target ? -1 : 0;
}

void history_await(history *h, uint64_t ticket)
{
    if (h == NULL || h->store == NULL || ticket == 0 || h->store->answer_wait_ms <= 0)
        return;
    pthread_mutex_lock(&h->lock);
    (void)wait_done(h, ticket, sce_clock_ms() + h->store->answer_wait_ms);
    pthread_mutex_unlock(&h->lock);
}

int history_flush(history *h, int timeout_ms)
{
    int rv;

    if (h == NULL || h->store == NULL)
        return 0;
    pthread_mutex_lock(&h->lock);
    rv = wait_done(h, h->enq_seq, sce_clock_ms() + timeout_ms);
    pthread_mutex_unlock(&h->lock);
    return rv;
}

/* ------------------------------------------------------------ the writer */

/* Connects the store when it is down; under h->lock, which it drops while
 * connecting.  0 when connected; else the backoff doubles. */
static int writer_connect(history *h, int64_t *backoff_ms)
{
    char why[512];
    int rc;

    pthread_mutex_unlock(&h->lock);
    rc = h->store->ops->connect(h->store, why, sizeof(why));
    pthread_mutex_lock(&h->lock);
    if (rc == HISTORY_STORE_OK) {
        if (h->down)
            SCE_LOG(SCE_LOG_INFO, NULL,
                    "history: %s reachable again; writing the %zu run(s) that waited",
                    h->store->shown, h->queued);
        h->down = 0;
        *backoff_ms = SCE_HISTORY_RETRY_MIN_MS;
        return 0;
    }
    /* The first failure, then at most one line per warning interval. */
    if (!h->down || sce_clock_ms() - h->last_warn_ms >= SCE_HISTORY_WARN_INTERVAL_MS) {
        SCE_LOG(SCE_LOG_WARN, NULL,
                "history: %s is unreachable (%s); %zu run(s) wait in memory, connecting again "
                "every %lld ms at most",
                h->store->shown, why, h->queued, (long long)SCE_HISTORY_RETRY_MAX_MS);
        h->last_warn_ms = sce_clock_ms();
    }
    h->down = 1;
    pthread_cond_broadcast(&h->done); /* answers waiting for a commit go */
    *backoff_ms =
        *backoff_ms * 2 < SCE_HISTORY_RETRY_MAX_MS ? *backoff_ms * 2 : SCE_HISTORY_RETRY_MAX_MS;
    return -1;
}

/* Writes one batch (h->lock dropped meanwhile) and accounts for it. */
static void writer_batch(history *h, history_entry *list, int64_t *backoff_ms)
{
    history_entry *last = list;
    uint64_t removed = 0;
    size_t n = 0, bytes = 0;
    char why[512];
    int rc = HISTORY_STORE_OK;

    for (history_entry *p = list; p != NULL; p = p->next) {
        n++;
        bytes += p->bytes;
        last = p;
    }
    pthread_mutex_unlock(&h->lock);
    for (history_entry *p = list; p != NULL && rc == HISTORY_STORE_OK; p = p->next) {
        if (history_entry_clean(p) != 0) {
            sce_seterr(why, sizeof(why), "out of memory");
            rc = HISTORY_STORE_FAILED;
        }
    }
    if (rc == HISTORY_STORE_OK)
        rc = list != NULL ? h->store->ops->write(h->store, list, &removed, why, sizeof(why))
                          : (h->store->ops->retain(h->store, &removed, why, sizeof(why)) == 0
                                 ? HISTORY_STORE_OK
                                 : HISTORY_STORE_FAILED);
    if (rc == HISTORY_STORE_FAILED && n > 0)
        warn_lost(h, list->request_id, n, why);
    else if (rc == HISTORY_STORE_FAILED)
        SCE_LOG(SCE_LOG_WARN, NULL, "history: retention failed: %s", why);
    pthread_mutex_lock(&h->lock);

    if (rc == HISTORY_STORE_DOWN) {
        /* Nothing was written: the batch goes back to the head, in order,
         * before what was queued meanwhile. */
        last->next = h->head;
        h->head = list;
        if (h->tail == NULL)
            h->tail = last;
        if (!h->down)
            SCE_LOG(SCE_LOG_WARN, NULL, "history: %s went down (%s); %zu run(s) wait in memory",
                    h->store->shown, why, h->queued);
        h->last_warn_ms = sce_clock_ms();
        h->down = 1;
        *backoff_ms = SCE_HISTORY_RETRY_MIN_MS;
        pthread_cond_broadcast(&h->done);
        return;
    }
    if (rc == HISTORY_STORE_OK && n > 0 && h->lost_unreported > 0) {
        SCE_LOG(SCE_LOG_WARN, NULL, "history: recording again; %llu more run(s) were not recorded",
                (unsigned long long)h->lost_unreported);
        h->lost_unreported = 0;
    }
    if (rc == HISTORY_STORE_OK) {
        h->stats.written += n;
        h->stats.pruned += removed;
    } else {
        h->stats.failed += n;
    }
    h->queued -= n;
    h->queued_bytes -= bytes;
    h->done_seq += n;
    pthread_cond_broadcast(&h->done);
    list_free(list);
}

static void *writer_main(void *arg)
{
    history *h = arg;
    int64_t backoff_ms = SCE_HISTORY_RETRY_MIN_MS;
    int final_tries = 1; /* once stopping, how many more connects a down store gets */

    pthread_mutex_lock(&h->lock);
    /* Connected from the start when the database is up; else said so now
     * (not at the first run) and tried again with the backoff. */
    (void)writer_connect(h, &backoff_ms);
    for (;;) {
        history_entry *list;
        int64_t until_ms;

        if (h->down || h->head == NULL) {
            /* Down: the backoff; idle: the retention's tick. */
            until_ms = sce_clock_ms() + (h->down ? backoff_ms : SCE_HISTORY_PRUNE_INTERVAL_MS);
            while ((h->down || h->head == NULL) && !h->stopping) {
                if (sce_cond_wait_until(&h->work, &h->lock, until_ms) == ETIMEDOUT)
                    break;
            }
        }
        if (h->stopping && (h->head == NULL || (h->down && final_tries-- <= 0)))
            break;
        if (h->down && writer_connect(h, &backoff_ms) != 0)
            continue;
        list = h->head;
        h->head = h->tail = NULL;
        writer_batch(h, list, &backoff_ms);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ------------------------------------------------------------ reading */

static int has_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void history_where(const history_query *q, char mark, char *out, size_t outlen,
                   history_param params[HISTORY_PARAMS_MAX], int *nparams)
{
    const struct {
        int on;
        const char *column;
        history_param value;
    } conds[HISTORY_PARAMS_MAX] = {
        {q->verdict != 0, "verdict", {0, q->verdict, NULL}},
        {has_text(q->language), "language", {1, 0, q->language}},
        {has_text(q->tenant), "tenant", {1, 0, q->tenant}},
        {q->id != 0, "id", {0, q->id, NULL}},
        {has_text(q->run_id), "run_id", {1, 0, q->run_id}},
    };
    size_t n = 0;
    int col = 0;

    out[0] = '\0';
    for (size_t i = 0; i < HISTORY_PARAMS_MAX; i++) {
        if (!conds[i].on)
            continue;
        n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s = %c%d",
                              col == 0 ? " WHERE " : " AND ", conds[i].column, mark, col + 1);
        params[col++] = conds[i].value;
    }
    if (has_text(q->run_id)) /* the partial index's condition (history_store.h) */
        snprintf(out + n, n < outlen ? outlen - n : 0, " AND run_id <> ''");
    *nparams = col;
}

void history_row_budget(history_row *r)
{
    char *fields[] = {r->language, r->code,       r->entry,  r->output, r->stderr_text,
                      r->message,  r->request_id, r->tenant, r->run_id};

    r->truncated =
        history_budget_cut(fields, sizeof(fields) / sizeof(fields[0]), HISTORY_LIST_ENTRY_COST);
}

int history_row_set_meta(history_row *r, const void *b, size_t n)
{
    if ((r->meta = malloc(n + 1)) == NULL)
        return -1;
    if (n > 0)
        memcpy(r->meta, b, n);
    r->meta[n] = '\0';
    r->meta_len = n;
    return 0;
}

int history_query_single(const history_query *q)
{
    return q->id != 0 || has_text(q->run_id);
}

history_page *history_page_new(size_t cap)
{
    history_page *page = calloc(1, sizeof(*page));

    if (page == NULL)
        return NULL;
    if (cap > 0 && (page->rows = calloc(cap, sizeof(*page->rows))) == NULL) {
        free(page);
        return NULL;
    }
    return page;
}

static int unavailable(const history *h, char *err, size_t errlen)
{
    sce_seterr(err, errlen, "history is unavailable: %s", h != NULL ? h->reason : "history is off");
    return SCE_ERR_UNAVAILABLE;
}

int history_fetch(history *h, const history_query *q, history_page **out, char *err, size_t errlen)
{
    if (h == NULL || h->store == NULL)
        return unavailable(h, err, errlen);
    /* Read your writes: the runs answered before this query are in. */
    (void)history_flush(h, SCE_HISTORY_QUERY_WAIT_MS);
    return h->store->ops->fetch(h->store, q, out, err, errlen);
}

void history_page_free(history_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++) {
        history_row *r = &p->rows[i];

        free(r->language);
        free(r->code);
        free(r->entry);
        free(r->output);
        free(r->stderr_text);
        free(r->message);
        free(r->request_id);
        free(r->tenant);
        free(r->run_id);
        free(r->meta);
    }
    free(p->rows);
    free(p);
}

int history_prune(history *h, char *err, size_t errlen)
{
    uint64_t removed = 0;
    int rv;

    if (h == NULL || h->store == NULL)
        return unavailable(h, err, errlen);
    rv = h->store->ops->prune(h->store, &removed, err, errlen);
    pthread_mutex_lock(&h->lock);
    h->stats.pruned += removed;
    pthread_mutex_unlock(&h->lock);
    return rv;
}

void history_get_stats(history *h, history_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    *out = h->stats;
    out->queued = h->queued;
    out->store_down = h->down;
    pthread_mutex_unlock(&h->lock);
}

void history_close(history *h)
{
    uint64_t lost;

    if (h == NULL)
        return;
    if (h->writer_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_cond_broadcast(&h->work);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->writer, NULL);
    }
    /* What the writer could not write (a store still down at the end). */
    lost = h->queued;
    if (lost > 0) {
        SCE_LOG(SCE_LOG_WARN, NULL, "history: %llu run(s) not recorded: %s is down at shutdown",
                (unsigned long long)lost, h->store != NULL ? h->store->shown : "the store");
        h->stats.dropped += lost;
    }
    list_free(h->head);
    h->head = NULL;
    history_free(h);
}
