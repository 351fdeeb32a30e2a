/*
 * test_history.c - the SQLite store of runs (server/history.c): paging and
 * filters, what is kept of each run (caps, UTF-8), retention by count and by
 * age, a restart, and the failures that must never take a run down: a
 * corrupt file, a directory that cannot be made, a locked database, a full
 * queue.  Each test works in a fresh temporary directory.
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
#include "sce/err.h"

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
    history_options o = {db_path, max_entries, max_age_ms, busy_ms};
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
    history_query q = {limit, offset, verdict, language};
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

    assert_string_equal(p->rows[1].entry, "app/main.py");
    assert_int_equal(p->rows[1].files, 3);
    assert_int_equal(strlen(p->rows[1].output), HISTORY_TEXT_CAP);
    assert_true(p->rows[1].output_truncated);
    assert_int_equal(strlen(p->rows[1].code), HISTORY_TEXT_CAP);
    assert_true(p->rows[1].code_truncated);
    /* Invalid bytes and NULs replaced; newlines kept; the run's own flag
     * kept. */
    assert_string_equal(p->rows[1].stderr_text,
                        "bad \xEF\xBF\xBD\xEF\xBF\xBD byte, a NUL \xEF\xBF\xBD here\nline two\n");
    assert_true(p->rows[1].stderr_truncated);
    /* The message is one line. */
    assert_string_equal(p->rows[1].message, "line one line two");
    assert_int_equal(p->rows[1].exit_code, 137);
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
    history_options o = {db_path, 0, 0, 0};
    history *h = NULL, *u;
    history_page *p = NULL;
    history_query q = {10, 0, 0, NULL};
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
    history_options o = {db_path, 0, 0, 0};
    history_query q = {10, 0, 0, NULL};
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
    history_options o = {NULL, 0, 0, 0};
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
    int n = 2 * HISTORY_QUEUE_MAX + 200;

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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
