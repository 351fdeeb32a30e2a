/*
 * history.c - the SQLite store of runs (see history.h).
 *
 * Two connections: `wdb`, used by the writer thread only, and `rdb`, used
 * under `rlock` by queries and explicit prunes.  The queue between the runs
 * and the writer is a list of owned, capped copies; `enq_seq` numbers every
 * record queued and `done_seq` follows the writer, so a query can wait for
 * exactly the records queued before it.
 */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history_budget.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "sce/err.h"

#define SCHEMA_VERSION 2

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS runs ("
                                 " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                                 " time_ms INTEGER NOT NULL,"
                                 " language TEXT NOT NULL,"
                                 " code TEXT NOT NULL,"
                                 " code_truncated INTEGER NOT NULL,"
                                 " entry TEXT NOT NULL,"
                                 " files INTEGER NOT NULL,"
                                 " verdict INTEGER NOT NULL,"
                                 " exit_code INTEGER NOT NULL,"
                                 " output TEXT NOT NULL,"
                                 " output_truncated INTEGER NOT NULL,"
                                 " stderr TEXT NOT NULL,"
                                 " stderr_truncated INTEGER NOT NULL,"
                                 " message TEXT NOT NULL,"
                                 " wall_ms INTEGER NOT NULL,"
                                 " request_id TEXT NOT NULL);"
                                 "CREATE INDEX IF NOT EXISTS runs_time ON runs(time_ms);"
                                 "CREATE INDEX IF NOT EXISTS runs_verdict ON runs(verdict, id);"
                                 "CREATE INDEX IF NOT EXISTS runs_language ON runs(language, id);";

/* Version 2: the tenant of each run.  Runs recorded before it have none
 * (""), which every-tenant queries list and tenant queries do not. */
static const char schema_v2_sql[] = "ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';"
                                    "CREATE INDEX IF NOT EXISTS runs_tenant ON runs(tenant, id);";

static const char insert_sql[] =
    "INSERT INTO runs (time_ms, language, code, code_truncated, entry, files, verdict,"
    " exit_code, output, output_truncated, stderr, stderr_truncated, message, wall_ms,"
    " request_id, tenant)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/* The newest max_entries rows stay; a NULL subquery (fewer rows) deletes
 * nothing. */
static const char prune_count_sql[] =
    "DELETE FROM runs WHERE id <= (SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1)";
static const char prune_age_sql[] = "DELETE FROM runs WHERE time_ms < ?1";

/* A queued record: owned copies, text fields capped but not yet cleaned
 * (the writer does that, off the request path). */
typedef struct pending {
    struct pending *next;
    int64_t time_ms;
    char *language, *entry, *message, *request_id, *tenant;
    char *code, *output, *err;
    size_t code_len, output_len, err_len;
    int code_cut, output_cut, err_cut;
    uint32_t files, wall_ms;
    int verdict, exit_code;
    size_t bytes;
} pending;

struct history {
    history_options opt;
    char *path;
    int unavailable;
    char reason[512];

    sqlite3 *wdb;
    sqlite3_stmt *insert, *prune_count, *prune_age;
    sqlite3 *rdb;
    pthread_mutex_t rlock;

    pthread_t writer;
    int writer_started;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a record was queued, or stopping */
    pthread_cond_t done; /* the writer finished a batch */
    pending *head, *tail;
    size_t queued, queued_bytes;
    uint64_t enq_seq, done_seq;
    int stopping;
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

/* mkdir -p of the directory part of path; 0 or an errno value, with the
 * directory that failed in `where`. */
static int make_parent_dirs(const char *path, char *where, size_t wherelen)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n >= sizeof(buf))
        return ENAMETOOLONG;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            snprintf(where, wherelen, "%s", buf);
            return errno;
        }
        *p = '/';
    }
    return 0;
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sce_seterr(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* The first column of the first row of sql, as an integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        sce_seterr(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

static int open_conn(const char *path, int busy_ms, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

    if (rc != SQLITE_OK) {
        sce_seterr(err, errlen, "%s", db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_extended_result_codes(db, 1);
    /* Appends and newest-first pages need few pages in memory: a small
     * cache keeps the server's memory flat as the file grows (SQLite's
     * default is 2 MiB per connection).  Sets no state in the file. */
    sqlite3_exec(db, "PRAGMA cache_size=-" SCE_HISTORY_CACHE_KIB, NULL, NULL, NULL);
    *out = db;
    return 0;
}

/* Creates or checks the schema on the writer's connection. */
static int init_schema(sqlite3 *db, char *err, size_t errlen)
{
    int64_t version = 0, ignored;
    char ignored_err[256];

    /* The first statement that reads the file: "file is not a database"
     * shows up here. */
    if (query_int(db, "PRAGMA user_version", &version, err, errlen) != 0)
        return -1;
    if (version > SCHEMA_VERSION) {
        sce_seterr(err, errlen, "schema version %lld is newer than this server's (%d)",
                   (long long)version, SCHEMA_VERSION);
        return -1;
    }
    if (exec_sql(db, "PRAGMA journal_mode=WAL", err, errlen) != 0 ||
        exec_sql(db, "PRAGMA synchronous=NORMAL", err, errlen) != 0)
        return -1;
    if (version < SCHEMA_VERSION) {
        /* Each step in order, all in one transaction: a file of version 1
         * (a server before tenants) gains the tenant column, a new file
         * gets version 1 and then 2.  A later version adds its step here. */
        if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) != 0)
            return -1;
        if ((version < 1 && exec_sql(db, schema_sql, err, errlen) != 0) ||
            (version < 2 && exec_sql(db, schema_v2_sql, err, errlen) != 0) ||
            exec_sql(db, "PRAGMA user_version=2", err, errlen) != 0 ||
            exec_sql(db, "COMMIT", err, errlen) != 0) {
            exec_sql(db, "ROLLBACK", ignored_err, sizeof(ignored_err));
            return -1;
        }
    }
    /* A cheap read of the table and its primary key: a damaged root page
     * fails here rather than on the first run. */
    return query_int(db, "SELECT count(*) FROM (SELECT id FROM runs ORDER BY id DESC LIMIT 1)",
                     &ignored, err, errlen);
}

static void *writer_main(void *arg);

static void history_free(history *h)
{
    sqlite3_finalize(h->insert);
    sqlite3_finalize(h->prune_count);
    sqlite3_finalize(h->prune_age);
    sqlite3_close(h->wdb);
    sqlite3_close(h->rdb);
    pthread_mutex_destroy(&h->rlock);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->work);
    pthread_cond_destroy(&h->done);
    free(h->path);
    free(h);
}

static history *history_alloc(void)
{
    history *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    pthread_mutex_init(&h->rlock, NULL);
    pthread_mutex_init(&h->lock, NULL);
    sce_cond_init(&h->work); /* both waited on with deadlines */
    sce_cond_init(&h->done);
    return h;
}

int history_open(const history_options *o, history **out, char *err, size_t errlen)
{
    history *h = NULL;
    char detail[512], where[4096];
    int busy = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : SCE_HISTORY_BUSY_TIMEOUT_MS;
    int fd, e;

    if (o->path == NULL || o->path[0] == '\0') {
        sce_seterr(err, errlen, "history_path is empty");
        return SCE_ERR_UNAVAILABLE;
    }
    if ((e = make_parent_dirs(o->path, where, sizeof(where))) != 0) {
        sce_seterr(err, errlen, "cannot create the directory %s: %s", where, strerror(e));
        return SCE_ERR_UNAVAILABLE;
    }
    /* Created private: the history holds users' code and output.  SQLite
     * gives its -wal and -shm files the same mode. */
    fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        sce_seterr(err, errlen, "%s: %s", o->path, strerror(errno));
        return SCE_ERR_UNAVAILABLE;
    }
    close(fd);

    if ((h = history_alloc()) == NULL || (h->path = strdup(o->path)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        goto fail;
    }
    h->opt = *o;
    h->opt.path = h->path;
    h->opt.busy_timeout_ms = busy;
    if (open_conn(o->path, busy, &h->wdb, detail, sizeof(detail)) != 0 ||
        init_schema(h->wdb, detail, sizeof(detail)) != 0 ||
        open_conn(o->path, busy, &h->rdb, detail, sizeof(detail)) != 0) {
        sce_seterr(err, errlen, "%s: %s", o->path, detail);
        goto fail;
    }
    if (sqlite3_prepare_v2(h->wdb, insert_sql, -1, &h->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h->wdb, prune_count_sql, -1, &h->prune_count, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h->wdb, prune_age_sql, -1, &h->prune_age, NULL) != SQLITE_OK) {
        sce_seterr(err, errlen, "%s: %s", o->path, sqlite3_errmsg(h->wdb));
        goto fail;
    }
    if (history_prune(h, detail, sizeof(detail)) != SCE_OK) {
        sce_seterr(err, errlen, "%s", detail);
        goto fail;
    }
    if (pthread_create(&h->writer, NULL, writer_main, h) != 0) {
        sce_seterr(err, errlen, "cannot start the history writer thread");
        goto fail;
    }
    h->writer_started = 1;
    *out = h;
    return SCE_OK;
fail:
    if (h != NULL)
        history_free(h);
    return SCE_ERR_UNAVAILABLE;
}

history *history_unavailable(const char *reason)
{
    history *h = history_alloc();

    if (h == NULL)
        return NULL;
    h->unavailable = 1;
    snprintf(h->reason, sizeof(h->reason), "%s", reason != NULL ? reason : "not opened");
    return h;
}

/* ------------------------------------------------------------ recording */

static void pending_free(pending *p)
{
    if (p == NULL)
        return;
    free(p->language);
    free(p->entry);
    free(p->message);
    free(p->request_id);
    free(p->tenant);
    free(p->code);
    free(p->output);
    free(p->err);
    free(p);
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

static pending *pending_make(const history_record *r)
{
    pending *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->time_ms = r->time_ms != 0 ? r->time_ms : sce_wall_ms();
    p->files = r->files;
    p->wall_ms = r->wall_ms;
    p->verdict = r->verdict;
    p->exit_code = r->exit_code;
    p->output_cut = r->output_truncated != 0;
    p->err_cut = r->stderr_truncated != 0;
    if ((p->language = copy_str(r->language, 64)) == NULL ||
        (p->entry = copy_str(r->entry, 1024)) == NULL ||
        (p->message = copy_str(r->message, 2048)) == NULL ||
        (p->request_id = copy_str(r->request_id, 128)) == NULL ||
        (p->tenant = copy_str(r->tenant, SCE_HISTORY_TENANT_MAX_BYTES)) == NULL ||
        (p->code = copy_capped(r->code, r->code_len, &p->code_len, &p->code_cut)) == NULL ||
        (p->output = copy_capped(r->output, r->output_len, &p->output_len, &p->output_cut)) ==
            NULL ||
        (p->err = copy_capped(r->stderr_text, r->stderr_len, &p->err_len, &p->err_cut)) == NULL) {
        pending_free(p);
        return NULL;
    }
    p->bytes = sizeof(*p) + p->code_len + p->output_len + p->err_len + 4096;
    return p;
}

void history_record_run(history *h, const history_record *rec)
{
    pending *p;
    const char *why = NULL;

    if (h == NULL)
        return;
    if (h->unavailable) {
        pthread_mutex_lock(&h->lock);
        h->stats.dropped++;
        pthread_mutex_unlock(&h->lock);
        return;
    }
    p = pending_make(rec);
    pthread_mutex_lock(&h->lock);
    if (p == NULL)
        why = "out of memory";
    else if (h->stopping)
        why = "the server is stopping";
    else if (h->queued >= SCE_HISTORY_QUEUE_MAX_RECORDS ||
             h->queued_bytes + p->bytes > SCE_HISTORY_QUEUE_MAX_BYTES)
        why = "the history writer is behind (queue full)";
    if (why != NULL) {
        h->stats.dropped++;
        pthread_mutex_unlock(&h->lock);
        warn_lost(h, rec->request_id, 1, why);
        pending_free(p);
        return;
    }
    if (h->tail != NULL)
        h->tail->next = p;
    else
        h->head = p;
    h->tail = p;
    h->queued++;
    h->queued_bytes += p->bytes;
    h->enq_seq++;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);
}

int history_flush(history *h, int timeout_ms)
{
    int64_t until_ms;
    uint64_t target;
    int rv = 0;

    if (h == NULL || h->unavailable)
        return 0;
    until_ms = sce_clock_ms() + timeout_ms;
    pthread_mutex_lock(&h->lock);
    target = h->enq_seq;
    while (h->done_seq < target) {
        if (sce_cond_wait_until(&h->done, &h->lock, until_ms) == ETIMEDOUT) {
            rv = h->done_seq < target ? -1 : 0;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rv;
}

/* ------------------------------------------------------------ the writer */

/* Binds a cleaned, capped copy of s[0..len) as text; *cut is or'ed with
 * whether cleaning had to cut it (invalid bytes take three bytes each). */
static int bind_clean(sqlite3_stmt *st, int col, const char *s, size_t len, int *cut)
{
    /* A cleaned byte takes at most 3 (U+FFFD): room for that, up to the cap. */
    size_t cap = len < SCE_HISTORY_TEXT_MAX_BYTES / 3 ? len * 3 : SCE_HISTORY_TEXT_MAX_BYTES;
    size_t consumed, n;
    char *buf = malloc(cap + 1);

    if (buf == NULL)
        return SQLITE_NOMEM;
    n = sce_utf8_clean(s, len, buf, cap + 1, &consumed);
    if (consumed < len)
        *cut = 1;
    return sqlite3_bind_text(st, col, buf, (int)n, free);
}

static int bind_line(sqlite3_stmt *st, int col, const char *s)
{
    char buf[2048];
    size_t n = sce_utf8_clean_line(s, strlen(s), buf, sizeof(buf));

    return sqlite3_bind_text(st, col, buf, (int)n, SQLITE_TRANSIENT);
}

static int insert_one(history *h, pending *p)
{
    sqlite3_stmt *st = h->insert;
    int rc;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if ((rc = sqlite3_bind_int64(st, 1, p->time_ms)) != SQLITE_OK ||
        (rc = bind_line(st, 2, p->language)) != SQLITE_OK ||
        (rc = bind_clean(st, 3, p->code, p->code_len, &p->code_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 4, p->code_cut)) != SQLITE_OK ||
        (rc = bind_line(st, 5, p->entry)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 6, p->files)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 7, p->verdict)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 8, p->exit_code)) != SQLITE_OK ||
        (rc = bind_clean(st, 9, p->output, p->output_len, &p->output_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 10, p->output_cut)) != SQLITE_OK ||
        (rc = bind_clean(st, 11, p->err, p->err_len, &p->err_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 12, p->err_cut)) != SQLITE_OK ||
        (rc = bind_line(st, 13, p->message)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 14, p->wall_ms)) != SQLITE_OK ||
        (rc = bind_line(st, 15, p->request_id)) != SQLITE_OK ||
        (rc = bind_line(st, 16, p->tenant)) != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Retention on a connection; returns SQLITE_OK or the failing code, and
 * adds the rows removed to *removed. */
static int prune_on(sqlite3 *db, sqlite3_stmt *by_count, sqlite3_stmt *by_age,
                    const history_options *o, uint64_t *removed)
{
    int rc = SQLITE_OK;

    if (o->max_entries > 0) {
        sqlite3_reset(by_count);
        sqlite3_bind_int64(by_count, 1, o->max_entries);
        rc = sqlite3_step(by_count);
        sqlite3_reset(by_count);
        if (rc != SQLITE_DONE)
            return rc;
        *removed += (uint64_t)sqlite3_changes(db);
    }
    if (o->max_age_ms > 0) {
        sqlite3_reset(by_age);
        sqlite3_bind_int64(by_age, 1, sce_wall_ms() - o->max_age_ms);
        rc = sqlite3_step(by_age);
        sqlite3_reset(by_age);
        if (rc != SQLITE_DONE)
            return rc;
        *removed += (uint64_t)sqlite3_changes(db);
    }
    return SQLITE_OK;
}

/* Stores a list of records and applies the retention, in one transaction.
 * Returns SQLITE_OK or the failing code (everything is rolled back). */
static int write_batch(history *h, pending *list, uint64_t *removed)
{
    int rc = sqlite3_exec(h->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return rc;
    for (pending *p = list; p != NULL && rc == SQLITE_OK; p = p->next)
        rc = insert_one(h, p);
    if (rc == SQLITE_OK)
        rc = prune_on(h->wdb, h->prune_count, h->prune_age, &h->opt, removed);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h->wdb, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(h->wdb))
        sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void *writer_main(void *arg)
{
    history *h = arg;
    int64_t until_ms;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        pending *list;
        size_t n = 0;
        uint64_t removed = 0;
        int rc;

        until_ms = sce_clock_ms() + SCE_HISTORY_PRUNE_INTERVAL_MS;
        while (h->head == NULL && !h->stopping) {
            if (sce_cond_wait_until(&h->work, &h->lock, until_ms) == ETIMEDOUT)
                break;
        }
        if (h->head == NULL && h->stopping)
            break;
        list = h->head;
        h->head = h->tail = NULL;
        h->queued = 0;
        h->queued_bytes = 0;
        pthread_mutex_unlock(&h->lock);

        for (pending *p = list; p != NULL; p = p->next)
            n++;
        if (n > 0) {
            rc = write_batch(h, list, &removed);
        } else {
            /* The idle tick: age-based retention when nothing is written. */
            rc = prune_on(h->wdb, h->prune_count, h->prune_age, &h->opt, &removed);
        }
        if (rc != SQLITE_OK && n > 0) {
            char why[512];

            sce_seterr(why, sizeof(why), "%s: %s", h->path, sqlite3_errmsg(h->wdb));
            warn_lost(h, list->request_id, n, why);
        } else if (rc != SQLITE_OK) {
            SCE_LOG(SCE_LOG_WARN, NULL, "history: retention failed: %s: %s", h->path,
                    sqlite3_errmsg(h->wdb));
        }
        while (list != NULL) {
            pending *next = list->next;
            pending_free(list);
            list = next;
        }

        pthread_mutex_lock(&h->lock);
        if (rc == SQLITE_OK && n > 0 && h->lost_unreported > 0) {
            SCE_LOG(SCE_LOG_WARN, NULL,
                    "history: recording again; %llu more run(s) were not "
                    "recorded",
                    (unsigned long long)h->lost_unreported);
            h->lost_unreported = 0;
        }
        if (rc == SQLITE_OK) {
            h->stats.written += n;
            h->stats.pruned += removed;
        } else {
            h->stats.failed += n;
        }
        h->done_seq += n;
        pthread_cond_broadcast(&h->done);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* ------------------------------------------------------------ reading */

static char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return strdup(t != NULL ? (const char *)t : "");
}

static int row_fill(sqlite3_stmt *st, history_row *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->time_ms = sqlite3_column_int64(st, 1);
    r->code_truncated = sqlite3_column_int(st, 4);
    r->files = (uint32_t)sqlite3_column_int64(st, 6);
    r->verdict = sqlite3_column_int(st, 7);
    r->exit_code = sqlite3_column_int(st, 8);
    r->output_truncated = sqlite3_column_int(st, 10);
    r->stderr_truncated = sqlite3_column_int(st, 12);
    r->wall_ms = (uint32_t)sqlite3_column_int64(st, 14);
    if ((r->language = col_text(st, 2)) == NULL || (r->code = col_text(st, 3)) == NULL ||
        (r->entry = col_text(st, 5)) == NULL || (r->output = col_text(st, 9)) == NULL ||
        (r->stderr_text = col_text(st, 11)) == NULL || (r->message = col_text(st, 13)) == NULL ||
        (r->request_id = col_text(st, 15)) == NULL || (r->tenant = col_text(st, 16)) == NULL)
        return -1;
    return 0;
}

/* Cuts a listed row's text to the page budget (history_budget.h). */
static void row_budget(history_row *r)
{
    char *fields[] = {r->language, r->code,    r->entry,      r->output,
                      r->stderr_text, r->message, r->request_id, r->tenant};

    r->truncated = history_budget_cut(fields, sizeof(fields) / sizeof(fields[0]),
                                      HISTORY_LIST_ENTRY_COST);
}

static int has_text(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The WHERE clause of q, its parameters numbered from ?1 in the order
 * bind_filter binds them. */
static void where_of(const history_query *q, char *out, size_t outlen)
{
    const struct {
        int on;
        const char *column;
    } conds[] = {
        {q->verdict != 0, "verdict"},
        {has_text(q->language), "language"},
        {has_text(q->tenant), "tenant"},
        {q->id != 0, "id"},
    };
    size_t n = 0;
    int col = 1;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
        if (!conds[i].on)
            continue;
        n += (size_t)snprintf(out + n, outlen - n, "%s%s = ?%d", col == 1 ? " WHERE " : " AND ",
                              conds[i].column, col);
        col++;
    }
}

static void bind_filter(sqlite3_stmt *st, const history_query *q, int *col)
{
    if (q->verdict != 0)
        sqlite3_bind_int(st, (*col)++, q->verdict);
    if (has_text(q->language))
        sqlite3_bind_text(st, (*col)++, q->language, -1, SQLITE_STATIC);
    if (has_text(q->tenant))
        sqlite3_bind_text(st, (*col)++, q->tenant, -1, SQLITE_STATIC);
    if (q->id != 0)
        sqlite3_bind_int64(st, (*col)++, q->id);
}

int history_fetch(history *h, const history_query *q, history_page **out, char *err, size_t errlen)
{
    static const char columns[] =
        "id, time_ms, language, code, code_truncated, entry, files, verdict, exit_code, output,"
        " output_truncated, stderr, stderr_truncated, message, wall_ms, request_id, tenant";
    char where[256], sql[768];
    sqlite3_stmt *count_st = NULL, *rows_st = NULL;
    history_page *page = NULL;
    int rc, col, rv = SCE_ERR_UNAVAILABLE;
    size_t cap;

    if (h == NULL || h->unavailable) {
        sce_seterr(err, errlen, "history is unavailable: %s",
                   h != NULL ? h->reason : "history is off");
        return SCE_ERR_UNAVAILABLE;
    }
    /* Read your writes: the runs answered before this query are in. */
    (void)history_flush(h, SCE_HISTORY_QUERY_WAIT_MS);

    where_of(q, where, sizeof(where));

    pthread_mutex_lock(&h->rlock);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs%s", where);
    rc = sqlite3_prepare_v2(h->rdb, sql, -1, &count_st, NULL);
    if (rc != SQLITE_OK)
        goto dberr;
    col = 1;
    bind_filter(count_st, q, &col);
    /* One read transaction for both statements, so total and rows agree. */
    if ((rc = sqlite3_exec(h->rdb, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        goto dberr;
    rc = sqlite3_step(count_st);
    if (rc != SQLITE_ROW)
        goto dberr;
    if ((page = calloc(1, sizeof(*page))) == NULL)
        goto oom;
    page->total = (uint64_t)sqlite3_column_int64(count_st, 0);

    snprintf(sql, sizeof(sql), "SELECT %s FROM runs%s ORDER BY id DESC LIMIT ?%d OFFSET ?%d",
             columns, where, col, col + 1);
    rc = sqlite3_prepare_v2(h->rdb, sql, -1, &rows_st, NULL);
    if (rc != SQLITE_OK)
        goto dberr;
    col = 1;
    bind_filter(rows_st, q, &col);
    cap = q->id != 0 ? 1 : q->limit;
    sqlite3_bind_int64(rows_st, col, cap);
    sqlite3_bind_int64(rows_st, col + 1, q->id != 0 ? 0 : q->offset);
    if (cap > 0 && (page->rows = calloc(cap, sizeof(*page->rows))) == NULL)
        goto oom;
    while ((rc = sqlite3_step(rows_st)) == SQLITE_ROW && page->count < cap) {
        page->count++;
        if (row_fill(rows_st, &page->rows[page->count - 1]) != 0)
            goto oom;
        /* A listing stays within its budget; one run asked for by id comes
         * whole. */
        if (q->id == 0)
            row_budget(&page->rows[page->count - 1]);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        goto dberr;
    *out = page;
    page = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(err, errlen, "out of memory");
    rv = SCE_ERR_NO_MEMORY;
    goto out;
dberr:
    sce_seterr(err, errlen, "history is unavailable: %s: %s", h->path, sqlite3_errmsg(h->rdb));
out:
    sqlite3_finalize(count_st);
    sqlite3_finalize(rows_st);
    if (!sqlite3_get_autocommit(h->rdb))
        sqlite3_exec(h->rdb, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&h->rlock);
    history_page_free(page);
    return rv;
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
    }
    free(p->rows);
    free(p);
}

int history_prune(history *h, char *err, size_t errlen)
{
    sqlite3_stmt *by_count = NULL, *by_age = NULL;
    uint64_t removed = 0;
    int rc;

    if (h == NULL || h->unavailable) {
        sce_seterr(err, errlen, "history is unavailable: %s",
                   h != NULL ? h->reason : "history is off");
        return SCE_ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&h->rlock);
    rc = sqlite3_prepare_v2(h->rdb, prune_count_sql, -1, &by_count, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h->rdb, prune_age_sql, -1, &by_age, NULL);
    if (rc == SQLITE_OK)
        rc = prune_on(h->rdb, by_count, by_age, &h->opt, &removed);
    if (rc != SQLITE_OK)
        sce_seterr(err, errlen, "%s: retention: %s", h->path, sqlite3_errmsg(h->rdb));
    sqlite3_finalize(by_count);
    sqlite3_finalize(by_age);
    pthread_mutex_unlock(&h->rlock);
    pthread_mutex_lock(&h->lock);
    h->stats.pruned += removed;
    pthread_mutex_unlock(&h->lock);
    return rc == SQLITE_OK ? SCE_OK : SCE_ERR_UNAVAILABLE;
}

void history_get_stats(history *h, history_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    *out = h->stats;
    pthread_mutex_unlock(&h->lock);
}

void history_close(history *h)
{
    if (h == NULL)
        return;
    if (h->writer_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_cond_broadcast(&h->work);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->writer, NULL);
    }
    /* Records queued after the writer stopped (none: history_record_run
     * refuses once stopping is set). */
    while (h->head != NULL) {
        pending *next = h->head->next;
        pending_free(h->head);
        h->head = next;
    }
    history_free(h);
}
