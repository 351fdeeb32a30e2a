/*
 * test_history.c - the SQLite store of runs (server/history.c): paging and
 * filters, what is kept of each run (caps, UTF-8), retention by count and by
 * age, a restart, and the failures that must never take a run down: a
 * corrupt file, a directory that cannot be made, a locked database, a full
 * queue.  Tenants: each run's, a query per tenant, one run by id, and the
 * migration of a file from before tenants.  Followed runs: the entry by its
 * run id with its figures and meta (whole in one run, left out of a page),
 * meta in the queue's byte cap, the migration of a file of version 2 (it
 * stays 2: additive), a file of version 3 read as 2, the partial run_id
 * index used by the lookup.  The page budget: the JSON
 * cost of text, the cuts, and a page of the worst text there is.  Each test works in a fresh
 * temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "history_budget.h"
#include "history_store.h" /* history_where */
#include "sce/client.h" /* SCE_RUN_META_MAX_BYTES */
#include "sce/err.h"
#include "sce_limits.h"

static char dir[64];
static char db_path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/sce-test-history.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(db_path, sizeof(db_path), "%s/sub/history.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static history *open_store(int64_t max_entries, int64_t max_age_ms, int busy_ms)
{
    history_options o = {db_path, max_entries, max_age_ms, busy_ms, NULL};
    history *h = NULL;
    char err[512];
    int rv = history_open(&o, &h, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history_open: %s", err);
    return h;
}

/* Records run number i: python for even i, node for odd; every third is a
 * runtime error. */
static void record(history *h, int i, int64_t time_ms)
{
    char code[64], out[64], rid[32];
    history_record r;

    snprintf(code, sizeof(code), "print(%d)\n", i);
    snprintf(out, sizeof(out), "%d\n", i);
    snprintf(rid, sizeof(rid), "rid-%d", i);
    memset(&r, 0, sizeof(r));
    r.time_ms = time_ms;
    r.language = i % 2 == 0 ? "python" : "node";
    r.code = code;
    r.code_len = strlen(code);
    r.entry = "";
    r.files = 1;
    r.verdict = i % 3 == 0 ? 2 : 1;
    r.exit_code = i % 3 == 0 ? 1 : 0;
    r.output = out;
    r.output_len = strlen(out);
    r.message = i % 3 == 0 ? "NameError: name 'x' is not defined" : "";
    r.wall_ms = (uint32_t)(10 + i);
    r.request_id = rid;
    history_record_run(h, &r);
}

static history_page *fetch(history *h, uint32_t limit, uint32_t offset, int verdict,
                           const char *language)
{
    history_query q = {limit, offset, verdict, language, NULL, 0, NULL};
    history_page *p = NULL;
    char err[512];
    int rv = history_fetch(h, &q, &p, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

/* One run by id, as tenant (NULL: any); a page of one row or none. */
static history_page *fetch_id(history *h, int64_t id, const char *tenant)
{
    history_query q = {0, 0, 0, NULL, tenant, id, NULL};
    history_page *p = NULL;
    char err[512];
    int rv = history_fetch(h, &q, &p, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

static history_page *fetch_tenant(history *h, uint32_t limit, const char *tenant)
{
    history_query q = {limit, 0, 0, NULL, tenant, 0, NULL};
    history_page *p = NULL;
    char err[512];
    int rv = history_fetch(h, &q, &p, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

/* ------------------------------------------------------------ reading */

static void test_paging_newest_first(void **state)
{
    history *h = open_store(0, 0, 0);
    history_page *p;

    for (int i = 1; i <= 25; i++)
        record(h, i, 0);
    /* No flush: a query waits for what was queued before it. */
    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->total, 25);
    assert_int_equal(p->count, 10);
    for (size_t k = 0; k < 10; k++)
        assert_int_equal(p->rows[k].id, 25 - (int64_t)k);
    assert_string_equal(p->rows[0].code, "print(25)\n");
    assert_string_equal(p->rows[0].output, "25\n");
    assert_string_equal(p->rows[0].request_id, "rid-25");
    assert_string_equal(p->rows[0].language, "node");
    assert_int_equal(p->rows[0].wall_ms, 35);
    assert_true(p->rows[0].time_ms > now_ms() - 60000);
    history_page_free(p);

    p = fetch(h, 10, 20, 0, NULL);
    assert_int_equal(p->total, 25);
    assert_int_equal(p->count, 5);
    assert_int_equal(p->rows[0].id, 5);
    assert_int_equal(p->rows[4].id, 1);
    history_page_free(p);

    p = fetch(h, 10, 25, 0, NULL);
    assert_int_equal(p->count, 0);
    assert_int_equal(p->total, 25);
    history_page_free(p);
    history_close(h);
}

static void test_filters(void **state)
{
    history *h = open_store(0, 0, 0);
    history_page *p;

    for (int i = 1; i <= 12; i++)
        record(h, i, 0);
    /* Runtime errors: 3, 6, 9, 12. */
    p = fetch(h, 100, 0, 2, NULL);
    assert_int_equal(p->total, 4);
    assert_int_equal(p->count, 4);
    assert_int_equal(p->rows[0].id, 12);
    assert_int_equal(p->rows[3].id, 3);
    assert_int_equal(p->rows[0].exit_code, 1);
    assert_string_equal(p->rows[0].message, "NameError: name 'x' is not defined");
    history_page_free(p);
    /* node: the odd ones. */
    p = fetch(h, 2, 1, 0, "node");
    assert_int_equal(p->total, 6);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->rows[0].id, 9);
    assert_int_equal(p->rows[1].id, 7);
    history_page_free(p);
    /* Both: node runtime errors are 3 and 9. */
    p = fetch(h, 100, 0, 2, "node");
    assert_int_equal(p->total, 2);
    assert_int_equal(p->rows[0].id, 9);
    assert_int_equal(p->rows[1].id, 3);
    history_page_free(p);
    p = fetch(h, 100, 0, 4, "python");
    assert_int_equal(p->total, 0);
    assert_int_equal(p->count, 0);
    history_page_free(p);
    history_close(h);
}

static void test_what_is_kept(void **state)
{
    history *h = open_store(0, 0, 0);
    size_t big = 100 * 1024;
    char *out = malloc(big), *code = malloc(big);
    history_record r;
    history_page *p;
    const history_row *w;

    memset(out, 'o', big);
    memset(code, 'c', big);
    memset(&r, 0, sizeof(r));
    r.language = "python";
    r.entry = "app/main.py";
    r.files = 3;
    r.code = code;
    r.code_len = big;
    r.output = out;
    r.output_len = big;
    r.stderr_text = "bad \xff\xfe byte, a NUL \0 here\nline two\n";
    r.stderr_len = 35;
    r.stderr_truncated = 1; /* the run itself cut it */
    r.message = "line one\nline two";
    r.verdict = 5;
    r.exit_code = 137;
    r.request_id = "kept";
    history_record_run(h, &r);
    /* Strings may be NULL. */
    memset(&r, 0, sizeof(r));
    r.verdict = 7;
    history_record_run(h, &r);

    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->count, 2);
    assert_int_equal(p->rows[0].verdict, 7);
    assert_string_equal(p->rows[0].language, "");
    assert_string_equal(p->rows[0].code, "");
    assert_string_equal(p->rows[0].request_id, "");

    assert_false(p->rows[0].truncated);
    /* A page keeps each entry within its budget: the short fields whole,
     * the two long ones share the rest. */
    assert_true(p->rows[1].truncated);
    assert_string_equal(p->rows[1].entry, "app/main.py");
    assert_string_equal(p->rows[1].message, "line one line two");
    assert_true(strlen(p->rows[1].output) > 3000);
    assert_true(strlen(p->rows[1].output) + strlen(p->rows[1].code) <= HISTORY_LIST_ENTRY_COST);
    history_page_free(p);

    /* The run by its id: whole, as stored. */
    p = fetch_id(h, 1, NULL);
    assert_int_equal(p->count, 1);
    w = &p->rows[0];
    assert_false(w->truncated);
    assert_string_equal(w->entry, "app/main.py");
    assert_int_equal(w->files, 3);
    assert_int_equal(strlen(w->output), SCE_HISTORY_TEXT_MAX_BYTES);
    assert_true(w->output_truncated);
    assert_int_equal(strlen(w->code), SCE_HISTORY_TEXT_MAX_BYTES);
    assert_true(w->code_truncated);
    /* Invalid bytes and NULs replaced; newlines kept; the run's own flag
     * kept. */
    assert_string_equal(w->stderr_text,
                        "bad \xEF\xBF\xBD\xEF\xBF\xBD byte, a NUL \xEF\xBF\xBD here\nline two\n");
    assert_true(w->stderr_truncated);
    /* The message is one line. */
    assert_string_equal(w->message, "line one line two");
    assert_int_equal(w->exit_code, 137);
    history_page_free(p);
    history_close(h);
    free(out);
    free(code);
}

/* ------------------------------------------------------------ retention, restart */

static void test_retention_by_count(void **state)
{
    history *h = open_store(5, 0, 0);
    history_stats st;
    history_page *p;

    for (int i = 1; i <= 12; i++)
        record(h, i, 0);
    assert_int_equal(history_flush(h, 5000), 0);
    p = fetch(h, 100, 0, 0, NULL);
    assert_int_equal(p->total, 5);
    assert_int_equal(p->rows[0].id, 12);
    assert_int_equal(p->rows[4].id, 8);
    history_page_free(p);
    history_get_stats(h, &st);
    assert_int_equal(st.written, 12);
    assert_int_equal(st.pruned, 7);
    assert_int_equal(st.failed, 0);
    history_close(h);
}

static void test_retention_by_age(void **state)
{
    int64_t day = 86400000, now = now_ms();
    history *h = open_store(0, day, 0);
    history_page *p;
    char err[256];

    record(h, 1, now - 3 * day);
    record(h, 2, now - 2 * day);
    record(h, 3, now - 60000);
    record(h, 4, 0);
    p = fetch(h, 100, 0, 0, NULL);
    assert_int_equal(p->total, 2);
    assert_int_equal(p->rows[0].id, 4);
    assert_int_equal(p->rows[1].id, 3);
    history_page_free(p);
    history_close(h);

    /* Runs that grew old while the server was down go at the next start. */
    h = open_store(0, 0, 0);
    record(h, 5, now - 3 * day);
    history_close(h);
    h = open_store(0, day, 0);
    p = fetch(h, 100, 0, 0, NULL);
    assert_int_equal(p->total, 2);
    history_page_free(p);
    /* And by an explicit prune. */
    record(h, 6, 0);
    assert_int_equal(history_flush(h, 5000), 0);
    assert_int_equal(history_prune(h, err, sizeof(err)), SCE_OK);
    p = fetch(h, 100, 0, 0, NULL);
    assert_int_equal(p->total, 3);
    history_page_free(p);
    history_close(h);
}

static void test_restart(void **state)
{
    history *h = open_store(0, 0, 0);
    history_page *p;
    struct stat st;
    char sub[128];

    for (int i = 1; i <= 3; i++)
        record(h, i, 0);
    /* Closing writes what is still queued. */
    history_close(h);

    /* Private: the file 0600, a directory it created 0700. */
    assert_int_equal(stat(db_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    h = open_store(0, 0, 0);
    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->total, 3);
    assert_string_equal(p->rows[0].code, "print(3)\n");
    history_page_free(p);
    record(h, 4, 0);
    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->total, 4);
    assert_int_equal(p->rows[0].id, 4);
    history_page_free(p);
    history_close(h);
}

/* ------------------------------------------------------------ failures */

static void test_corrupt_file(void **state)
{
    history_options o = {db_path, 0, 0, 0, NULL};
    history *h = NULL, *u;
    history_page *p = NULL;
    history_query q = {10, 0, 0, NULL, NULL, 0, NULL};
    char err[512], want[512];
    FILE *f;

    mkdir(dir, 0700);
    snprintf(want, sizeof(want), "%s/sub", dir);
    mkdir(want, 0700);
    f = fopen(db_path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 256; i++)
        fputs("this is not a database, just text. ", f);
    fclose(f);

    assert_int_equal(history_open(&o, &h, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_null(h);
    snprintf(want, sizeof(want), "%s: file is not a database", db_path);
    assert_string_equal(err, want);

    /* What the server runs with then: runs are dropped, queries say why. */
    u = history_unavailable(err);
    assert_non_null(u);
    record(u, 1, 0);
    assert_int_equal(history_fetch(u, &q, &p, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    snprintf(want, sizeof(want), "history is unavailable: %s: file is not a database", db_path);
    assert_string_equal(err, want);
    assert_null(p);
    assert_int_equal(history_flush(u, 10), 0);
    history_close(u);
    /* NULL (history off) is accepted everywhere a run goes. */
    record(NULL, 1, 0);
    history_close(NULL);
}

static void test_damaged_pages(void **state)
{
    history *h = open_store(0, 0, 0);
    history_options o = {db_path, 0, 0, 0, NULL};
    history_query q = {10, 0, 0, NULL, NULL, 0, NULL};
    history_page *p = NULL;
    char err[512];
    struct stat st;
    FILE *f;
    int rv;

    for (int i = 1; i <= 200; i++)
        record(h, i, 0);
    history_close(h); /* checkpoints the WAL into the file */

    /* Keep the 100-byte header, trash every page after the first. */
    assert_int_equal(stat(db_path, &st), 0);
    assert_true(st.st_size > 8192);
    f = fopen(db_path, "r+b");
    assert_non_null(f);
    fseek(f, 4096, SEEK_SET);
    for (long i = 4096; i < st.st_size; i++)
        fputc(0xA5, f);
    fclose(f);

    /* Either the open notices, or the first query does: a clear error,
     * never a crash. */
    h = NULL;
    rv = history_open(&o, &h, err, sizeof(err));
    if (rv == SCE_OK) {
        rv = history_fetch(h, &q, &p, err, sizeof(err));
        record(h, 1, 0); /* fails on the writer, logged, not fatal */
        history_close(h);
    }
    assert_int_equal(rv, SCE_ERR_UNAVAILABLE);
    assert_null(p);
    if (strstr(err, "malformed") == NULL && strstr(err, "not a database") == NULL)
        fail_msg("unexpected message: %s", err);
}

static void test_directory_cannot_be_made(void **state)
{
    history_options o = {NULL, 0, 0, 0, NULL};
    history *h = NULL;
    char path[256], want[512], err[512];
    FILE *f;

    /* A regular file where the directory should be. */
    snprintf(path, sizeof(path), "%s/file", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/file/sub/history.db", dir);
    o.path = path;
    assert_int_equal(history_open(&o, &h, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    snprintf(want, sizeof(want), "cannot create the directory %s/file/sub: Not a directory", dir);
    assert_string_equal(err, want);
    assert_null(h);

    o.path = "";
    assert_int_equal(history_open(&o, &h, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_string_equal(err, "history_path is empty");
}

static void test_locked_database(void **state)
{
    history *h = open_store(0, 0, 100);
    history_stats st;
    history_page *p;
    sqlite3 *other = NULL;

    record(h, 1, 0);
    assert_int_equal(history_flush(h, 5000), 0);

    /* Another process holds the write lock for longer than busy_timeout. */
    assert_int_equal(sqlite3_open(db_path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    record(h, 2, 0);
    assert_int_equal(history_flush(h, 5000), 0);
    history_get_stats(h, &st);
    assert_int_equal(st.written, 1);
    assert_int_equal(st.failed, 1);
    /* Readers are not blocked by a writer in WAL mode. */
    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->total, 1);
    history_page_free(p);

    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    record(h, 3, 0);
    p = fetch(h, 10, 0, 0, NULL);
    assert_int_equal(p->total, 2);
    assert_int_equal(p->rows[0].id, 2); /* the failed run took no id */
    assert_string_equal(p->rows[0].request_id, "rid-3");
    history_page_free(p);
    history_close(h);
}

static void test_full_queue_drops(void **state)
{
    history *h = open_store(0, 0, 1000);
    history_stats st;
    history_page *p;
    sqlite3 *other = NULL;
    int n = 2 * SCE_HISTORY_QUEUE_MAX_RECORDS + 200;

    assert_int_equal(sqlite3_open(db_path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    /* The writer takes what is queued and waits for the lock; meanwhile
     * the queue fills and the rest is dropped, without waiting. */
    for (int i = 1; i <= n; i++)
        record(h, i, 0);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(history_flush(h, 10000), 0);
    history_get_stats(h, &st);
    assert_true(st.dropped > 0);
    assert_int_equal(st.written + st.failed + st.dropped, (uint64_t)n);
    p = fetch(h, 1, 0, 0, NULL);
    assert_int_equal(p->total, st.written);
    history_page_free(p);
    history_close(h);
}

/* ------------------------------------------------------------ tenants */

static void record_as(history *h, const char *tenant, const char *code)
{
    history_record r;

    memset(&r, 0, sizeof(r));
    r.language = "python";
    r.code = code;
    r.code_len = strlen(code);
    r.verdict = 1;
    r.request_id = code;
    r.tenant = tenant;
    history_record_run(h, &r);
}

static void test_tenants(void **state)
{
    history *h = open_store(0, 0, 0);
    history_page *p;

    record_as(h, "alice", "a1");  /* id 1 */
    record_as(h, "bob", "b1");    /* id 2 */
    record_as(h, NULL, "none");   /* id 3: a run with no tenant */
    record_as(h, "alice", "a2");  /* id 4 */

    /* Each tenant sees its own runs, and counts only them. */
    p = fetch_tenant(h, 10, "alice");
    assert_int_equal(p->total, 2);
    assert_int_equal(p->count, 2);
    assert_string_equal(p->rows[0].code, "a2");
    assert_string_equal(p->rows[1].code, "a1");
    assert_string_equal(p->rows[0].tenant, "alice");
    history_page_free(p);
    p = fetch_tenant(h, 10, "bob");
    assert_int_equal(p->total, 1);
    assert_string_equal(p->rows[0].code, "b1");
    history_page_free(p);
    p = fetch_tenant(h, 10, "carol");
    assert_int_equal(p->total, 0);
    assert_int_equal(p->count, 0);
    history_page_free(p);

    /* No tenant: every run, each with its tenant's name. */
    p = fetch_tenant(h, 10, NULL);
    assert_int_equal(p->total, 4);
    assert_string_equal(p->rows[0].tenant, "alice");
    assert_string_equal(p->rows[1].tenant, "");
    assert_string_equal(p->rows[2].tenant, "bob");
    history_page_free(p);

    /* By id: one's own run, or nothing (another tenant's looks missing). */
    p = fetch_id(h, 2, "bob");
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].code, "b1");
    history_page_free(p);
    p = fetch_id(h, 2, "alice");
    assert_int_equal(p->count, 0);
    history_page_free(p);
    p = fetch_id(h, 99, NULL);
    assert_int_equal(p->count, 0);
    history_page_free(p);
    p = fetch_id(h, 3, NULL);
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].tenant, "");
    history_page_free(p);
    history_close(h);
}

/* A file written before tenants (schema version 1) gains the column: its
 * runs are kept with no tenant, new runs get theirs. */
static void test_migration_from_v1(void **state)
{
    static const char v1[] =
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
        " language TEXT NOT NULL, code TEXT NOT NULL, code_truncated INTEGER NOT NULL,"
        " entry TEXT NOT NULL, files INTEGER NOT NULL, verdict INTEGER NOT NULL,"
        " exit_code INTEGER NOT NULL, output TEXT NOT NULL, output_truncated INTEGER NOT NULL,"
        " stderr TEXT NOT NULL, stderr_truncated INTEGER NOT NULL, message TEXT NOT NULL,"
        " wall_ms INTEGER NOT NULL, request_id TEXT NOT NULL);"
        "CREATE INDEX runs_time ON runs(time_ms);"
        "CREATE INDEX runs_verdict ON runs(verdict, id);"
        "CREATE INDEX runs_language ON runs(language, id);"
        "INSERT INTO runs VALUES (NULL, 1700000000000, 'python', 'print(1)', 0, '', 1, 1, 0,"
        " '1\n', 0, '', 0, '', 12, 'old-run');"
        "PRAGMA user_version=1;";
    char sub[128];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    history *h;
    history_page *p;

    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    h = open_store(0, 0, 0);
    record_as(h, "alice", "new");
    p = fetch_tenant(h, 10, NULL);
    assert_int_equal(p->total, 2);
    assert_string_equal(p->rows[1].request_id, "old-run");
    assert_string_equal(p->rows[1].tenant, "");
    assert_string_equal(p->rows[0].tenant, "alice");
    history_page_free(p);
    p = fetch_tenant(h, 10, "alice");
    assert_int_equal(p->total, 1);
    history_page_free(p);
    history_close(h);

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* And it opens again as it is. */
    h = open_store(0, 0, 0);
    p = fetch_tenant(h, 10, NULL);
    assert_int_equal(p->total, 2);
    history_page_free(p);
    history_close(h);
}

/* ------------------------------------------------------------ followed runs, meta */

#define RUN_A "0123456789abcdef0123456789abcdef"

/* A followed run's record: its id, the figures of its end and its meta. */
static void record_followed(history *h, const char *tenant, const char *run_id, const void *meta,
                            size_t meta_len)
{
    history_record r;

    memset(&r, 0, sizeof(r));
    r.language = "python";
    r.code = "import time";
    r.code_len = strlen(r.code);
    r.verdict = 2;
    r.exit_code = 137;
    r.request_id = "rid-followed";
    r.tenant = tenant;
    r.run_id = run_id;
    r.signal = 9;
    r.cpu_ms = 1234;
    r.peak_memory_bytes = 5ull << 30; /* past 32 bits */
    r.meta = meta;
    r.meta_len = meta_len;
    history_record_run(h, &r);
}

static history_page *fetch_run(history *h, const char *run_id, const char *tenant)
{
    history_query q = {0, 0, 0, NULL, tenant, 0, run_id};
    history_page *p = NULL;
    char err[512];
    int rv = history_fetch(h, &q, &p, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

/* A meta as big as a request may carry, binary (NULs, invalid UTF-8). */
static unsigned char *big_meta(size_t n)
{
    unsigned char *m = malloc(n);

    assert_non_null(m);
    for (size_t i = 0; i < n; i++)
        m[i] = (unsigned char)(i * 7 + i / 251);
    return m;
}

/* The entry of a followed run: found by its run id with everything it
 * kept, meta whole past the text cap; the tenant rule as by id; a listing
 * carries the figures and the run id but not the meta. */
static void test_followed_entry(void **state)
{
    const size_t meta_len = 200 * 1024; /* past SCE_HISTORY_TEXT_MAX_BYTES */
    unsigned char *meta = big_meta(meta_len);
    history *h = open_store(0, 0, 0);
    history_page *p;

    record_followed(h, "alice", RUN_A, meta, meta_len); /* id 1 */
    record_as(h, "alice", "plain");                     /* id 2 */

    p = fetch_run(h, RUN_A, "alice");
    assert_int_equal(p->count, 1);
    assert_int_equal(p->rows[0].id, 1);
    assert_string_equal(p->rows[0].run_id, RUN_A);
    assert_int_equal(p->rows[0].signal, 9);
    assert_int_equal(p->rows[0].cpu_ms, 1234);
    assert_true(p->rows[0].peak_memory_bytes == 5ull << 30);
    assert_int_equal(p->rows[0].exit_code, 137);
    assert_int_equal(p->rows[0].meta_len, meta_len);
    assert_memory_equal(p->rows[0].meta, meta, meta_len);
    assert_int_equal(p->rows[0].meta[meta_len], '\0');
    assert_int_equal(p->rows[0].truncated, 0);
    history_page_free(p);
    p = fetch_run(h, RUN_A, NULL); /* every tenant's */
    assert_int_equal(p->count, 1);
    history_page_free(p);
    p = fetch_run(h, RUN_A, "bob");
    assert_int_equal(p->count, 0);
    history_page_free(p);
    p = fetch_run(h, "ffffffffffffffffffffffffffffffff", NULL);
    assert_int_equal(p->count, 0);
    history_page_free(p);

    /* By id: the meta too. */
    p = fetch_id(h, 1, NULL);
    assert_int_equal(p->count, 1);
    assert_int_equal(p->rows[0].meta_len, meta_len);
    history_page_free(p);
    p = fetch_id(h, 2, NULL);
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].run_id, "");
    assert_int_equal(p->rows[0].meta_len, 0);
    assert_non_null(p->rows[0].meta);
    history_page_free(p);

    /* A listing: no meta, the rest as stored. */
    p = fetch_tenant(h, 10, "alice");
    assert_int_equal(p->count, 2);
    assert_null(p->rows[1].meta);
    assert_int_equal(p->rows[1].meta_len, 0);
    assert_string_equal(p->rows[1].run_id, RUN_A);
    assert_int_equal(p->rows[1].signal, 9);
    assert_int_equal(p->rows[1].cpu_ms, 1234);
    history_page_free(p);
    history_close(h);
    free(meta);
}

/* Meta counts against the queue's byte cap: with the writer held, records
 * of the largest meta fill it long before its count of records. */
static void test_meta_counts_in_queue(void **state)
{
    history *h = open_store(0, 0, 1000);
    unsigned char *meta = big_meta(SCE_RUN_META_MAX_BYTES);
    history_stats st;
    sqlite3 *other = NULL;
    int n = 2 * (int)(SCE_HISTORY_QUEUE_MAX_BYTES / SCE_RUN_META_MAX_BYTES);

    assert_true(n < SCE_HISTORY_QUEUE_MAX_RECORDS);
    assert_int_equal(sqlite3_open(db_path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < n; i++)
        record_followed(h, "", RUN_A, meta, SCE_RUN_META_MAX_BYTES);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(history_flush(h, 10000), 0);
    history_get_stats(h, &st);
    assert_true(st.dropped > 0);
    assert_int_equal(st.written + st.failed + st.dropped, (uint64_t)n);
    history_close(h);
    free(meta);
}

/* The first column of the first row of sql, on the file as it is. */
static int64_t file_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The run_id index is partial, and the lookup's WHERE (history_where)
 * uses it. */
static void assert_run_id_index(void)
{
    char where[256], sql[512];
    history_param params[HISTORY_PARAMS_MAX];
    history_query q = {0, 0, 0, NULL, NULL, 0, RUN_A};
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = 0, used = 0;

    assert_int_equal(file_int("SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                              " AND name = 'runs_run_id' AND sql LIKE '%WHERE run_id <> %'"),
                     1);
    history_where(&q, '?', where, sizeof(where), params, &n);
    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN SELECT id FROM runs%s", where);
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW)
        used |= strstr((const char *)sqlite3_column_text(st, 3), "runs_run_id") != NULL;
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(used);
}

/* A file of version 2 (tenants, before issue 14) gains the columns in
 * place and stays at version 2 (additive: a server of version 2 still
 * writes to it, naming its columns): its runs read with no run id, no
 * figures and no meta; new runs are found by their run id, through a
 * partial index. */
static void test_migration_from_v2(void **state)
{
    static const char v2[] =
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
        " language TEXT NOT NULL, code TEXT NOT NULL, code_truncated INTEGER NOT NULL,"
        " entry TEXT NOT NULL, files INTEGER NOT NULL, verdict INTEGER NOT NULL,"
        " exit_code INTEGER NOT NULL, output TEXT NOT NULL, output_truncated INTEGER NOT NULL,"
        " stderr TEXT NOT NULL, stderr_truncated INTEGER NOT NULL, message TEXT NOT NULL,"
        " wall_ms INTEGER NOT NULL, request_id TEXT NOT NULL,"
        " tenant TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX runs_time ON runs(time_ms);"
        "CREATE INDEX runs_verdict ON runs(verdict, id);"
        "CREATE INDEX runs_language ON runs(language, id);"
        "CREATE INDEX runs_tenant ON runs(tenant, id);"
        "INSERT INTO runs VALUES (NULL, 1700000000000, 'python', 'print(1)', 0, '', 1, 1, 0,"
        " '1\n', 0, '', 0, '', 12, 'old-run', 'alice');"
        "PRAGMA user_version=2;";
    char sub[128];
    sqlite3 *db = NULL;
    history *h;
    history_page *p;

    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    h = open_store(0, 0, 0);
    record_followed(h, "alice", RUN_A, "{}", 2);
    p = fetch_id(h, 1, NULL);
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].request_id, "old-run");
    assert_string_equal(p->rows[0].run_id, "");
    assert_int_equal(p->rows[0].signal, 0);
    assert_int_equal(p->rows[0].cpu_ms, 0);
    assert_int_equal(p->rows[0].meta_len, 0);
    history_page_free(p);
    p = fetch_run(h, RUN_A, "alice");
    assert_int_equal(p->count, 1);
    assert_int_equal(p->rows[0].id, 2);
    assert_int_equal(p->rows[0].meta_len, 2);
    assert_memory_equal(p->rows[0].meta, "{}", 2);
    history_page_free(p);
    history_close(h);

    assert_int_equal(file_int("PRAGMA user_version"), 2);
    assert_run_id_index();
    /* A server of version 2 writes as it did (its INSERT names its
     * columns); opened again, the file is as it was. */
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO runs (time_ms, language, code, code_truncated,"
                                  " entry, files, verdict, exit_code, output, output_truncated,"
                                  " stderr, stderr_truncated, message, wall_ms, request_id,"
                                  " tenant) VALUES (1, 'python', 'v2', 0, '', 1, 1, 0, '', 0,"
                                  " '', 0, '', 1, 'v2-server', 'bob')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    h = open_store(0, 0, 0);
    p = fetch_id(h, 3, NULL);
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].request_id, "v2-server");
    assert_string_equal(p->rows[0].run_id, "");
    assert_int_equal(p->rows[0].meta_len, 0);
    history_page_free(p);
    history_close(h);
    assert_int_equal(file_int("PRAGMA user_version"), 2);
}

/* A file of version 3 (builds of issue 14 before the additive rule: the
 * same columns, a full run_id index) is read as 2: written back as 2, its
 * index made partial, its runs kept.  Version 4 is refused. */
static void test_version_3_read_as_2(void **state)
{
    history_options o = {db_path, 0, 0, 0, NULL};
    char sub[128], err[512];
    sqlite3 *db = NULL;
    history *h;
    history_page *p;

    (void)state;
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    h = open_store(0, 0, 0);
    record_followed(h, "alice", RUN_A, "{}", 2);
    history_close(h);
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP INDEX runs_run_id;"
                                  "CREATE INDEX runs_run_id ON runs(run_id);"
                                  "PRAGMA user_version=3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    h = open_store(0, 0, 0);
    p = fetch_run(h, RUN_A, "alice");
    assert_int_equal(p->count, 1);
    assert_memory_equal(p->rows[0].meta, "{}", 2);
    history_page_free(p);
    history_close(h);
    assert_int_equal(file_int("PRAGMA user_version"), 2);
    assert_run_id_index();

    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=4", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    h = NULL;
    assert_int_not_equal(history_open(&o, &h, err, sizeof(err)), SCE_OK);
    assert_null(h);
    assert_non_null(strstr(err, "schema version 4 is newer than this server's (2)"));
}

/* ------------------------------------------------------------ page budget */

/* The cost of text inside a JSON string, table-tested: every escaping an
 * encoder may choose, at its most expensive. */
static void test_json_cost(void **state)
{
    static const struct {
        const char *text;
        size_t cost;
    } cases[] = {
        {"", 0},
        {"abc", 3},
        {"a\"b\\c/", 9},           /* 1+2+1+2+1+2 */
        {"\x01\x1f\x7f", 18},      /* \u0001 \u001f \u007f */
        {"\n\t", 12},              /* \n may be written as \u000a */
        {"\xC3\xA9", 6},           /* é: \u00e9 */
        {"\xE2\x82\xAC", 6},       /* €: \u20ac */
        {"\xF0\x9F\x98\x80", 12},  /* U+1F600: a surrogate pair */
        {"\xff", 6},               /* invalid: \ufffd */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(history_json_cost(cases[i].text, strlen(cases[i].text)), cases[i].cost);
    /* Cuts fall on character boundaries, within the budget. */
    assert_int_equal(history_cut_at("\xF0\x9F\x98\x80x", 5, 11), 0);
    assert_int_equal(history_cut_at("\xF0\x9F\x98\x80x", 5, 12), 4);
    assert_int_equal(history_cut_at("ab\x01", 3, 7), 2);
    assert_int_equal(history_cut_at("ab\x01", 3, 8), 3);
}

/* Water-filling: fields within their share stay whole, the rest share what
 * is left; nothing changes when all fit. */
static void test_budget_cut(void **state)
{
    char a[16] = "short", b[64], c[64], d[8] = "";
    char *fields[] = {a, b, NULL, c, d};

    memset(b, 'b', 63);
    b[63] = '\0';
    memset(c, 'c', 63);
    c[63] = '\0';
    assert_int_equal(history_budget_cut(fields, 5, 5 + 63 + 63), 0);
    assert_int_equal(strlen(b), 63);
    /* 65 over 4 fields: "short" and "" take 5 and 0, b and c 30 each. */
    assert_int_equal(history_budget_cut(fields, 5, 65), 1);
    assert_string_equal(a, "short");
    assert_int_equal(strlen(b), 30);
    assert_int_equal(strlen(c), 30);
    assert_string_equal(d, "");
}

/* The worst text there is, control bytes (6 bytes of JSON each), in every
 * text field of a full page of runs: each entry stays within its budget,
 * so the page's JSON stays under 1 MiB, and each run is still whole by id. */
static void test_page_worst_case(void **state)
{
    history *h = open_store(0, 0, 0);
    char *ctl = malloc(SCE_HISTORY_TEXT_MAX_BYTES), tenant[80];
    history_record r;
    history_page *p;
    size_t json = HISTORY_LIST_PAGE_FIXED;

    for (size_t i = 0; i < SCE_HISTORY_TEXT_MAX_BYTES; i++)
        ctl[i] = (char)(1 + i % 31); /* \x01..\x1f: never NUL, never a newline alone */
    memset(tenant, 'T', 64);
    tenant[64] = '\0';
    for (int i = 0; i < SCE_HISTORY_PAGE_MAX; i++) {
        memset(&r, 0, sizeof(r));
        r.language = "python";
        r.code = ctl;
        r.code_len = SCE_HISTORY_TEXT_MAX_BYTES;
        r.output = ctl;
        r.output_len = SCE_HISTORY_TEXT_MAX_BYTES;
        r.stderr_text = ctl;
        r.stderr_len = SCE_HISTORY_TEXT_MAX_BYTES;
        r.entry = "\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/\"/";
        r.message = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
        r.verdict = 5;
        r.request_id = "rid";
        r.tenant = tenant;
        history_record_run(h, &r);
        if (i % 10 == 9)
            assert_int_equal(history_flush(h, 10000), 0);
    }
    p = fetch(h, SCE_HISTORY_PAGE_MAX, 0, 0, NULL);
    assert_int_equal(p->count, SCE_HISTORY_PAGE_MAX);
    for (size_t i = 0; i < p->count; i++) {
        const history_row *w = &p->rows[i];
        const char *text[] = {w->language, w->code,    w->entry,      w->output,
                              w->stderr_text, w->message, w->request_id, w->tenant};
        size_t cost = 0;

        for (size_t k = 0; k < sizeof(text) / sizeof(text[0]); k++)
            cost += history_json_cost(text[k], strlen(text[k]));
        assert_true(w->truncated);
        assert_true(cost <= HISTORY_LIST_ENTRY_COST);
        /* The short fields are whole; the long ones each got a fair part. */
        assert_string_equal(w->tenant, tenant);
        assert_string_equal(w->request_id, "rid");
        assert_true(strlen(w->code) > 300);
        json += cost + HISTORY_LIST_ENTRY_FIXED;
    }
    assert_true(json <= HISTORY_LIST_PAGE_JSON_MAX);
    history_page_free(p);

    p = fetch_id(h, 7, NULL);
    assert_int_equal(p->count, 1);
    assert_false(p->rows[0].truncated);
    assert_int_equal(strlen(p->rows[0].output), SCE_HISTORY_TEXT_MAX_BYTES);
    history_page_free(p);
    history_close(h);
    free(ctl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_paging_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_what_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_cannot_be_made, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_followed_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_counts_in_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_3_read_as_2, setup, teardown),
        cmocka_unit_test(test_json_cost),
        cmocka_unit_test(test_budget_cut),
        cmocka_unit_test_setup_teardown(test_page_worst_case, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
