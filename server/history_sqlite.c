/*
 * history_sqlite.c - the SQLite store of runs, one machine's history (see
 * history.h for the contract, history_store.h for the interface).
 *
 * Two connections: `wdb`, used by the writer thread only, and `rdb`, used
 * under `rlock` by queries and explicit prunes.  SQLite is never "down":
 * a write that fails is dropped (HISTORY_STORE_FAILED), and answers do not
 * wait for commits (answer_wait_ms 0).
 */
#include "history_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sce_limits.h"
#include "common/clock.h"
#include "common/seterr.h"
#include "sce/err.h"

/* The schema version recorded in the file (PRAGMA user_version).  The
 * rule (history_store.h): a change that servers of the recorded version
 * can live with does not bump it; it is applied at every open, idempotently
 * (schema_additive).  3 was recorded by builds of issue 14 before the rule,
 * for the same additive columns: it is read as 2 and written back as 2, and
 * the next bump is to 4. */
#define SCHEMA_VERSION 2
#define SCHEMA_VERSION_READ_AS_2 3

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

/* Additive, at every open (no bump: a server of version 2 names its
 * INSERT's columns, so these keep their defaults in its rows): what the
 * compatibility APIs read back (issue 14): a followed run's id, the signal,
 * CPU time, peak memory and the request's opaque meta.  Older rows read
 * "", 0 and empty.  Each column missing from the table is added. */
static const struct {
    const char *name;
    const char *sql;
} schema_additive_columns[] = {
    {"run_id", "ALTER TABLE runs ADD COLUMN run_id TEXT NOT NULL DEFAULT ''"},
    {"signal", "ALTER TABLE runs ADD COLUMN signal INTEGER NOT NULL DEFAULT 0"},
    {"cpu_ms", "ALTER TABLE runs ADD COLUMN cpu_ms INTEGER NOT NULL DEFAULT 0"},
    {"peak_memory_bytes",
     "ALTER TABLE runs ADD COLUMN peak_memory_bytes INTEGER NOT NULL DEFAULT 0"},
    {"meta", "ALTER TABLE runs ADD COLUMN meta BLOB NOT NULL DEFAULT x''"},
};

/* A followed run is looked up by its id: a partial index, of the rows that
 * have one (cheap to build on a big table, and it stays small); the
 * lookup's WHERE says run_id <> '' so that the planner may use it
 * (history_where).  A full index of that name (builds before) is replaced. */
static const char schema_additive_sql[] =
    "CREATE INDEX IF NOT EXISTS runs_run_id ON runs(run_id) WHERE run_id <> '';";
static const char schema_full_run_id_index_sql[] =
    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_run_id'"
    " AND sql NOT LIKE '%WHERE%'";

static const char insert_sql[] =
    "INSERT INTO runs (time_ms, language, code, code_truncated, entry, files, verdict,"
    " exit_code, output, output_truncated, stderr, stderr_truncated, message, wall_ms,"
    " request_id, tenant, run_id, signal, cpu_ms, peak_memory_bytes, meta)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21)";

/* The newest max_entries rows stay; a NULL subquery (fewer rows) deletes
 * nothing. */
static const char prune_count_sql[] =
    "DELETE FROM runs WHERE id <= (SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1)";
static const char prune_age_sql[] = "DELETE FROM runs WHERE time_ms < ?1";

typedef struct sqlite_store {
    history_store base;
    history_options opt;
    char *path;

    sqlite3 *wdb;
    sqlite3_stmt *insert, *prune_count, *prune_age;
    sqlite3 *rdb;
    pthread_mutex_t rlock;
} sqlite_store;

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

/* Adds each additive column the table lacks (PRAGMA table_info), and the
 * partial run_id index; inside the caller's transaction. */
static int schema_additive(sqlite3 *db, char *err, size_t errlen)
{
    const size_t ncols = sizeof(schema_additive_columns) / sizeof(schema_additive_columns[0]);
    int have[sizeof(schema_additive_columns) / sizeof(schema_additive_columns[0])] = {0};
    sqlite3_stmt *st = NULL;
    int64_t full = 0;
    int rc;

    if ((rc = sqlite3_prepare_v2(db, "PRAGMA table_info(runs)", -1, &st, NULL)) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 1);

            for (size_t i = 0; i < ncols; i++)
                if (name != NULL && strcmp(name, schema_additive_columns[i].name) == 0)
                    have[i] = 1;
        }
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        sce_seterr(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return -1;
    for (size_t i = 0; i < ncols; i++)
        if (!have[i] && exec_sql(db, schema_additive_columns[i].sql, err, errlen) != 0)
            return -1;
    if (query_int(db, schema_full_run_id_index_sql, &full, err, errlen) != 0 ||
        (full > 0 && exec_sql(db, "DROP INDEX runs_run_id", err, errlen) != 0))
        return -1;
    return exec_sql(db, schema_additive_sql, err, errlen);
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
    if (version > SCHEMA_VERSION_READ_AS_2) {
        sce_seterr(err, errlen, "schema version %lld is newer than this server's (%d)",
                   (long long)version, SCHEMA_VERSION);
        return -1;
    }
    if (exec_sql(db, "PRAGMA journal_mode=WAL", err, errlen) != 0 ||
        exec_sql(db, "PRAGMA synchronous=NORMAL", err, errlen) != 0)
        return -1;
    /* Each step in order, all in one transaction, the version read again
     * inside it (another server may have just made the file): a file of
     * version 1 (a server before tenants) gains the tenant column, a new
     * file gets version 1, then 2; every file gets the additive columns it
     * lacks.  A later version that must be bumped adds its step here. */
    if (exec_sql(db, "BEGIN IMMEDIATE", err, errlen) != 0)
        return -1;
    if (query_int(db, "PRAGMA user_version", &version, err, errlen) != 0 ||
        (version < 1 && exec_sql(db, schema_sql, err, errlen) != 0) ||
        (version < 2 && exec_sql(db, schema_v2_sql, err, errlen) != 0) ||
        schema_additive(db, err, errlen) != 0 ||
        (version != SCHEMA_VERSION && exec_sql(db, "PRAGMA user_version=2", err, errlen) != 0) ||
        exec_sql(db, "COMMIT", err, errlen) != 0) {
        exec_sql(db, "ROLLBACK", ignored_err, sizeof(ignored_err));
        return -1;
    }
    /* A cheap read of the table and its primary key: a damaged root page
     * fails here rather than on the first run. */
    return query_int(db, "SELECT count(*) FROM (SELECT id FROM runs ORDER BY id DESC LIMIT 1)",
                     &ignored, err, errlen);
}

static const history_store_ops sqlite_ops;

static void sqlite_close(history_store *base)
{
    sqlite_store *s = (sqlite_store *)base;

    if (s == NULL)
        return;
    sqlite3_finalize(s->insert);
    sqlite3_finalize(s->prune_count);
    sqlite3_finalize(s->prune_age);
    sqlite3_close(s->wdb);
    sqlite3_close(s->rdb);
    pthread_mutex_destroy(&s->rlock);
    free(s->path);
    free(s);
}

static int sqlite_prune(history_store *base, uint64_t *removed, char *err, size_t errlen);

int history_sqlite_open(const history_options *o, history_store **out, char *err, size_t errlen)
{
    sqlite_store *s = NULL;
    char detail[512], where[4096];
    int busy = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : SCE_HISTORY_BUSY_TIMEOUT_MS;
    uint64_t removed = 0;
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

    if ((s = calloc(1, sizeof(*s))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_UNAVAILABLE;
    }
    pthread_mutex_init(&s->rlock, NULL);
    if ((s->path = strdup(o->path)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        goto fail;
    }
    s->base.ops = &sqlite_ops;
    s->base.shown = s->path;
    s->base.answer_wait_ms = 0;
    s->base.queue_records = SCE_HISTORY_QUEUE_MAX_RECORDS;
    s->base.queue_bytes = SCE_HISTORY_QUEUE_MAX_BYTES;
    s->opt = *o;
    s->opt.path = s->path;
    s->opt.url = NULL;
    s->opt.busy_timeout_ms = busy;
    if (open_conn(o->path, busy, &s->wdb, detail, sizeof(detail)) != 0 ||
        init_schema(s->wdb, detail, sizeof(detail)) != 0 ||
        open_conn(o->path, busy, &s->rdb, detail, sizeof(detail)) != 0) {
        sce_seterr(err, errlen, "%s: %s", o->path, detail);
        goto fail;
    }
    if (sqlite3_prepare_v2(s->wdb, insert_sql, -1, &s->insert, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->wdb, prune_count_sql, -1, &s->prune_count, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->wdb, prune_age_sql, -1, &s->prune_age, NULL) != SQLITE_OK) {
        sce_seterr(err, errlen, "%s: %s", o->path, sqlite3_errmsg(s->wdb));
        goto fail;
    }
    if (sqlite_prune(&s->base, &removed, detail, sizeof(detail)) != SCE_OK) {
        sce_seterr(err, errlen, "%s", detail);
        goto fail;
    }
    *out = &s->base;
    return SCE_OK;
fail:
    sqlite_close(&s->base);
    return SCE_ERR_UNAVAILABLE;
}

static int sqlite_connect(history_store *base, char *why, size_t whylen)
{
    (void)base;
    (void)why;
    (void)whylen;
    return HISTORY_STORE_OK;
}

/* ------------------------------------------------------------ the writer */

static int insert_one(sqlite_store *s, const history_entry *p)
{
    const struct {
        const char *s;
        size_t len;
    } texts[] = {{p->language, strlen(p->language)},
                 {p->code, p->code_len},
                 {p->entry, strlen(p->entry)},
                 {p->output, p->output_len},
                 {p->err, p->err_len},
                 {p->message, strlen(p->message)},
                 {p->request_id, strlen(p->request_id)},
                 {p->tenant, strlen(p->tenant)},
                 {p->run_id, strlen(p->run_id)}};
    static const int text_cols[] = {2, 3, 5, 9, 11, 13, 15, 16, 17};
    sqlite3_stmt *st = s->insert;
    int rc = SQLITE_OK;

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; i < sizeof(text_cols) / sizeof(text_cols[0]) && rc == SQLITE_OK; i++)
        rc = sqlite3_bind_text(st, text_cols[i], texts[i].s, (int)texts[i].len, SQLITE_STATIC);
    if (rc != SQLITE_OK || (rc = sqlite3_bind_int64(st, 1, p->time_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 4, p->code_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 6, p->files)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 7, p->verdict)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 8, p->exit_code)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 10, p->output_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 12, p->err_cut)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 14, p->wall_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int(st, 18, p->signal)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 19, p->cpu_ms)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 20, (sqlite3_int64)p->peak_memory_bytes)) != SQLITE_OK ||
        /* A NULL pointer would bind SQL NULL: an empty blob is "". */
        (rc = sqlite3_bind_blob(st, 21, p->meta != NULL ? (const void *)p->meta : "",
                                (int)p->meta_len, SQLITE_STATIC)) != SQLITE_OK)
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

/* Stores a list of records and applies the retention, in one transaction
 * (everything is rolled back on failure). */
static int sqlite_write(history_store *base, history_entry *list, uint64_t *removed, char *why,
                        size_t whylen)
{
    sqlite_store *s = (sqlite_store *)base;
    uint64_t gone = 0;
    int rc = sqlite3_exec(s->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    for (history_entry *p = list; p != NULL && rc == SQLITE_OK; p = p->next)
        rc = insert_one(s, p);
    if (rc == SQLITE_OK)
        rc = prune_on(s->wdb, s->prune_count, s->prune_age, &s->opt, &gone);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->wdb, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sce_seterr(why, whylen, "%s: %s", s->path, sqlite3_errmsg(s->wdb));
        if (!sqlite3_get_autocommit(s->wdb))
            sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
        return HISTORY_STORE_FAILED;
    }
    *removed += gone;
    return HISTORY_STORE_OK;
}

static int sqlite_retain(history_store *base, uint64_t *removed, char *why, size_t whylen)
{
    sqlite_store *s = (sqlite_store *)base;

    if (prune_on(s->wdb, s->prune_count, s->prune_age, &s->opt, removed) != SQLITE_OK) {
        sce_seterr(why, whylen, "%s: %s", s->path, sqlite3_errmsg(s->wdb));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ reading */

static char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return strdup(t != NULL ? (const char *)t : "");
}

static int row_fill(sqlite3_stmt *st, history_row *r, int with_meta)
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
    r->signal = sqlite3_column_int(st, 18);
    r->cpu_ms = (uint32_t)sqlite3_column_int64(st, 19);
    r->peak_memory_bytes = (uint64_t)sqlite3_column_int64(st, 20);
    if (with_meta &&
        history_row_set_meta(r, sqlite3_column_blob(st, HISTORY_COLUMN_META),
                             (size_t)sqlite3_column_bytes(st, HISTORY_COLUMN_META)) != 0)
        return -1;
    if ((r->run_id = col_text(st, 17)) == NULL || (r->language = col_text(st, 2)) == NULL ||
        (r->code = col_text(st, 3)) == NULL || (r->entry = col_text(st, 5)) == NULL ||
        (r->output = col_text(st, 9)) == NULL || (r->stderr_text = col_text(st, 11)) == NULL ||
        (r->message = col_text(st, 13)) == NULL || (r->request_id = col_text(st, 15)) == NULL ||
        (r->tenant = col_text(st, 16)) == NULL)
        return -1;
    return 0;
}

static void bind_params(sqlite3_stmt *st, const history_param *params, int n)
{
    for (int i = 0; i < n; i++) {
        if (params[i].is_text)
            sqlite3_bind_text(st, i + 1, params[i].text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, i + 1, params[i].num);
    }
}

static int sqlite_fetch(history_store *base, const history_query *q, history_page **out, char *err,
                        size_t errlen)
{
    sqlite_store *s = (sqlite_store *)base;
    char where[256], sql[768];
    history_param params[HISTORY_PARAMS_MAX];
    sqlite3_stmt *count_st = NULL, *rows_st = NULL;
    history_page *page = NULL;
    int rc, nparams, rv = SCE_ERR_UNAVAILABLE;
    int single = history_query_single(q);
    size_t cap = single ? 1 : q->limit;

    history_where(q, '?', where, sizeof(where), params, &nparams);

    pthread_mutex_lock(&s->rlock);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs%s", where);
    rc = sqlite3_prepare_v2(s->rdb, sql, -1, &count_st, NULL);
    if (rc != SQLITE_OK)
        goto dberr;
    bind_params(count_st, params, nparams);
    /* One read transaction for both statements, so total and rows agree. */
    if ((rc = sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        goto dberr;
    rc = sqlite3_step(count_st);
    if (rc != SQLITE_ROW)
        goto dberr;
    if ((page = history_page_new(cap)) == NULL)
        goto oom;
    page->total = (uint64_t)sqlite3_column_int64(count_st, 0);

    snprintf(sql, sizeof(sql), "SELECT %s%s FROM runs%s ORDER BY id DESC LIMIT ?%d OFFSET ?%d",
             HISTORY_COLUMNS, single ? ", meta" : "", where, nparams + 1, nparams + 2);
    rc = sqlite3_prepare_v2(s->rdb, sql, -1, &rows_st, NULL);
    if (rc != SQLITE_OK)
        goto dberr;
    bind_params(rows_st, params, nparams);
    sqlite3_bind_int64(rows_st, nparams + 1, (sqlite3_int64)cap);
    sqlite3_bind_int64(rows_st, nparams + 2, single ? 0 : q->offset);
    while ((rc = sqlite3_step(rows_st)) == SQLITE_ROW && page->count < cap) {
        page->count++;
        if (row_fill(rows_st, &page->rows[page->count - 1], single) != 0)
            goto oom;
        /* A listing stays within its budget; one run asked for by id comes
         * whole. */
        if (!single)
            history_row_budget(&page->rows[page->count - 1]);
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
    sce_seterr(err, errlen, "history is unavailable: %s: %s", s->path, sqlite3_errmsg(s->rdb));
out:
    sqlite3_finalize(count_st);
    sqlite3_finalize(rows_st);
    if (!sqlite3_get_autocommit(s->rdb))
        sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->rlock);
    history_page_free(page);
    return rv;
}

static int sqlite_prune(history_store *base, uint64_t *removed, char *err, size_t errlen)
{
    sqlite_store *s = (sqlite_store *)base;
    sqlite3_stmt *by_count = NULL, *by_age = NULL;
    int rc;

    pthread_mutex_lock(&s->rlock);
    rc = sqlite3_prepare_v2(s->rdb, prune_count_sql, -1, &by_count, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->rdb, prune_age_sql, -1, &by_age, NULL);
    if (rc == SQLITE_OK)
        rc = prune_on(s->rdb, by_count, by_age, &s->opt, removed);
    if (rc != SQLITE_OK)
        sce_seterr(err, errlen, "%s: retention: %s", s->path, sqlite3_errmsg(s->rdb));
    sqlite3_finalize(by_count);
    sqlite3_finalize(by_age);
    pthread_mutex_unlock(&s->rlock);
    return rc == SQLITE_OK ? SCE_OK : SCE_ERR_UNAVAILABLE;
}

static const history_store_ops sqlite_ops = {
    sqlite_connect, sqlite_write, sqlite_retain, sqlite_fetch, sqlite_prune, sqlite_close,
};
