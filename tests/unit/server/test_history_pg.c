/*
 * test_history_pg.c - the PostgreSQL history (server/history_pg.c) and the
 * front's parts it relies on.
 *
 * Pure, always run: the URL shown without its password, which failures keep
 * a batch for a retry, the WHERE clause in both placeholder styles, and a
 * malformed URL (refused at open, the password not in the message).
 *
 * Against a database, run when SCE_TEST_PG_URL names one (the integration
 * test history_pg starts a throwaway PostgreSQL and runs this program with
 * it): two stores sharing the database see one history in time order with
 * ids unique across them; filters, one run by id, the retention; a
 * database of schema 2 migrated in place and a followed run's entry by its
 * run id (figures, meta whole, not in a page); a store
 * whose database is unreachable queues, does not make answers wait, and
 * loses nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "history_store.h"
#include "sce/err.h"
#include "sce_limits.h"

/* ------------------------------------------------------------ pure */

static void test_redact(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"postgres://sce:s3cret@db:5432/sce", "postgres://sce:***@db:5432/sce"},
        {"postgresql://sce@db/sce", "postgresql://sce@db/sce"},
        {"postgres://db/sce", "postgres://db/sce"},
        {"postgres://u:p@ss@db/sce", "postgres://u:***@db/sce"},
        {"postgres://u:pw@db/sce?sslmode=require&password=x&a=b",
         "postgres://u:***@db/sce?sslmode=require&password=***&a=b"},
        {"postgres://db/sce?password=only", "postgres://db/sce?password=***"},
        {"postgres://u:@db/sce", "postgres://u:***@db/sce"},
        {"not a url", "not a url"},
        {"", ""},
    };
    char out[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        history_url_redact(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
    /* Cut to fit, always terminated. */
    history_url_redact("postgres://u:secret@db/sce", out, 16);
    assert_int_equal(strlen(out), 15);
    assert_null(strstr(out, "secret"));
}

static void test_transient(void **state)
{
    static const struct {
        const char *sqlstate;
        int bad, want;
    } cases[] = {
        {NULL, 0, 1},    /* no result: the client failed */
        {"23505", 1, 1}, /* the connection is gone, whatever the code */
        {"08006", 0, 1}, /* connection failure */
        {"57P01", 0, 1}, /* admin shutdown */
        {"57P03", 0, 1}, /* cannot connect now (starting up) */
        {"53100", 0, 1}, /* disk full */
        {"40P01", 0, 1}, /* deadlock */
        {"40001", 0, 1}, /* serialization */
        {"55P03", 0, 1}, /* lock not available */
        {"25006", 0, 1}, /* read-only transaction: a standby */
        {"23505", 0, 0}, /* unique violation: the data's fault */
        {"22021", 0, 0}, /* bad encoding */
        {"42P01", 0, 0}, /* no such table */
        {"", 0, 1},      /* no code at all: not the data's */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(history_pg_transient(cases[i].sqlstate, cases[i].bad), cases[i].want);
}

static void test_where(void **state)
{
    history_query q = {10, 0, 2, "python", "team-a", 0, NULL};
    history_param p[HISTORY_PARAMS_MAX];
    char where[256];
    int n = -1;

    (void)state;
    history_where(&q, '$', where, sizeof(where), p, &n);
    assert_string_equal(where, " WHERE verdict = $1 AND language = $2 AND tenant = $3");
    assert_int_equal(n, 3);
    assert_false(p[0].is_text);
    assert_int_equal(p[0].num, 2);
    assert_string_equal(p[1].text, "python");
    assert_string_equal(p[2].text, "team-a");

    q = (history_query){0, 0, 0, NULL, "", 42, NULL};
    history_where(&q, '?', where, sizeof(where), p, &n);
    assert_string_equal(where, " WHERE id = ?1");
    assert_int_equal(n, 1);
    assert_int_equal(p[0].num, 42);

    q = (history_query){10, 0, 0, "", NULL, 0, NULL};
    history_where(&q, '?', where, sizeof(where), p, &n);
    assert_string_equal(where, "");
    assert_int_equal(n, 0);

    q = (history_query){0, 0, 0, NULL, "team-a", 0, "0123456789abcdef0123456789abcdef"};
    history_where(&q, '$', where, sizeof(where), p, &n);
    /* The partial run_id index's condition, for the planner. */
    assert_string_equal(where, " WHERE tenant = $1 AND run_id = $2 AND run_id <> ''");
    assert_int_equal(n, 2);
    assert_true(p[1].is_text);
    assert_string_equal(p[1].text, "0123456789abcdef0123456789abcdef");
    assert_true(history_query_single(&q));
    q.run_id = "";
    assert_false(history_query_single(&q));
}

static void test_bad_urls(void **state)
{
    static const char *const urls[] = {
        "mysql://u:hunter22@db/x",
        "postgres://u:hunter22@db/x?nosuchoption=1",
        "postgres://u:hunter22@[::1/x",
    };
    history_options o = {NULL, 0, 0, 0, NULL};
    history *h = NULL;
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        o.url = urls[i];
        err[0] = '\0';
        assert_int_equal(history_open(&o, &h, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
        assert_non_null(strstr(err, "history_url"));
        if (strstr(err, "hunter22") != NULL)
            fail_msg("the password shows in '%s'", err);
    }
}

/* ------------------------------------------------------------ a database */

static const char *pg_url(void)
{
    const char *u = getenv("SCE_TEST_PG_URL");

    return u != NULL && u[0] != '\0' ? u : NULL;
}

/* Empties the shared table, so each test starts from nothing. */
static void wipe(void)
{
    PGconn *c = PQconnectdb(pg_url());
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(c));
    r = PQexec(c, "DO $$ BEGIN IF to_regclass('runs') IS NOT NULL THEN TRUNCATE runs; END IF; "
                  "END $$");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("truncate: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static int setup_pg(void **state)
{
    (void)state;
    if (pg_url() == NULL)
        return 0;
    wipe();
    return 0;
}

static history *open_url(const char *url, int64_t max_entries)
{
    history_options o = {NULL, max_entries, 0, 0, url};
    history *h = NULL;
    char err[512];

    if (history_open(&o, &h, err, sizeof(err)) != SCE_OK)
        fail_msg("history_open: %s", err);
    return h;
}

static uint64_t record(history *h, const char *code, int64_t time_ms, const char *tenant)
{
    history_record r;

    memset(&r, 0, sizeof(r));
    r.time_ms = time_ms;
    r.language = "python";
    r.code = code;
    r.code_len = strlen(code);
    r.files = 1;
    r.verdict = 1;
    r.output = "out\n";
    r.output_len = 4;
    r.request_id = code;
    r.tenant = tenant;
    return history_record_run(h, &r);
}

static history_page *fetch(history *h, uint32_t limit, const char *tenant, int64_t id)
{
    history_query q = {limit, 0, 0, NULL, tenant, id, NULL};
    history_page *p = NULL;
    char err[512];

    if (history_fetch(h, &q, &p, err, sizeof(err)) != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

static void test_two_servers_one_history(void **state)
{
    history *a, *b;
    history_page *p;
    int64_t t0 = 1700000000000;

    (void)state;
    if (pg_url() == NULL)
        skip();
    a = open_url(pg_url(), 0);
    b = open_url(pg_url(), 0);
    /* Interleaved times: a's runs at even ms, b's at odd; b's ids come
     * after a's, but the order is the times'. */
    for (int i = 0; i < 5; i++) {
        char code[32];

        snprintf(code, sizeof(code), "a%d", i);
        history_await(a, record(a, code, t0 + 2 * i, i == 0 ? "team" : NULL));
    }
    for (int i = 0; i < 5; i++) {
        char code[32];

        snprintf(code, sizeof(code), "b%d", i);
        history_await(b, record(b, code, t0 + 2 * i + 1, NULL));
    }
    assert_int_equal(history_flush(a, 5000), 0);
    assert_int_equal(history_flush(b, 5000), 0);
    p = fetch(a, 100, NULL, 0);
    assert_int_equal(p->total, 10);
    assert_int_equal(p->count, 10);
    for (size_t k = 0; k < 10; k++) {
        char want[8];

        snprintf(want, sizeof(want), "%c%zu", (9 - k) % 2 == 1 ? 'b' : 'a', (9 - k) / 2);
        assert_string_equal(p->rows[k].code, want);
        assert_int_equal(p->rows[k].time_ms, t0 + 9 - (int64_t)k);
        for (size_t j = 0; j < k; j++)
            assert_true(p->rows[j].id != p->rows[k].id);
    }
    /* One run by its id, from the other server. */
    {
        int64_t id = p->rows[9].id; /* a0 */
        history_page *one = fetch(b, 0, NULL, id);

        assert_int_equal(one->count, 1);
        assert_string_equal(one->rows[0].code, "a0");
        assert_string_equal(one->rows[0].tenant, "team");
        history_page_free(one);
        one = fetch(b, 0, "other", id);
        assert_int_equal(one->count, 0);
        history_page_free(one);
    }
    history_page_free(p);
    p = fetch(b, 100, "team", 0);
    assert_int_equal(p->total, 1);
    history_page_free(p);
    history_close(a);
    history_close(b);
}

#define RUN_A "0123456789abcdef0123456789abcdef"

/* Runs a statement on a connection of its own. */
static void pg_exec(const char *sql)
{
    PGconn *c = PQconnectdb(pg_url());
    PGresult *r;

    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect: %s", PQerrorMessage(c));
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static history_page *fetch_run(history *h, const char *run_id, const char *tenant)
{
    history_query q = {0, 0, 0, NULL, tenant, 0, run_id};
    history_page *p = NULL;
    char err[512];

    if (history_fetch(h, &q, &p, err, sizeof(err)) != SCE_OK)
        fail_msg("history_fetch: %s", err);
    return p;
}

/* A database of schema version 2 (before issue 14) is migrated in place
 * by the first server that connects, and stays version 2 (the changes are
 * additive: a server of version 2 still writes to it): its runs read with
 * no run id and no meta; a database of version 3 is read as 2.  A followed run's entry, written by
 * one server, is found by its run id from another, with its figures and its meta whole (binary,
 * past the text cap); the tenant rule holds; a listing leaves the meta out. */
static void test_followed_entry(void **state)
{
    const size_t meta_len = 200 * 1024;
    unsigned char *meta;
    history_record r;
    history *a, *b;
    history_page *p;

    (void)state;
    if (pg_url() == NULL)
        skip();
    meta = malloc(meta_len);
    pg_exec("DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS sce_history_schema;"
            "CREATE TABLE runs (id BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL,"
            " language TEXT NOT NULL, code TEXT NOT NULL, code_truncated INTEGER NOT NULL,"
            " entry TEXT NOT NULL, files BIGINT NOT NULL, verdict INTEGER NOT NULL,"
            " exit_code INTEGER NOT NULL, output TEXT NOT NULL, output_truncated INTEGER NOT NULL,"
            " stderr TEXT NOT NULL, stderr_truncated INTEGER NOT NULL, message TEXT NOT NULL,"
            " wall_ms BIGINT NOT NULL, request_id TEXT NOT NULL, tenant TEXT NOT NULL DEFAULT '');"
            "INSERT INTO runs (time_ms, language, code, code_truncated, entry, files, verdict,"
            " exit_code, output, output_truncated, stderr, stderr_truncated, message, wall_ms,"
            " request_id, tenant) VALUES (1, 'python', 'old', 0, '', 1, 1, 0, '', 0, '', 0, '',"
            " 1, 'old-run', 'carol');"
            "CREATE TABLE sce_history_schema (version INTEGER NOT NULL);"
            "INSERT INTO sce_history_schema VALUES (2);");
    assert_non_null(meta);
    for (size_t i = 0; i < meta_len; i++)
        meta[i] = (unsigned char)(i * 7 + i / 251);
    a = open_url(pg_url(), 0);
    b = open_url(pg_url(), 0);
    memset(&r, 0, sizeof(r));
    r.time_ms = 1700000000000;
    r.language = "python";
    r.code = "import time";
    r.code_len = strlen(r.code);
    r.verdict = 2;
    r.exit_code = 137;
    r.request_id = "rid-followed";
    r.tenant = "carol";
    r.run_id = RUN_A;
    r.signal = 9;
    r.cpu_ms = 1234;
    r.peak_memory_bytes = 5ull << 30;
    r.meta = meta;
    r.meta_len = meta_len;
    history_await(a, history_record_run(a, &r));
    assert_int_equal(history_flush(a, 5000), 0);

    p = fetch_run(b, RUN_A, "carol");
    assert_int_equal(p->count, 1);
    assert_string_equal(p->rows[0].run_id, RUN_A);
    assert_int_equal(p->rows[0].signal, 9);
    assert_int_equal(p->rows[0].cpu_ms, 1234);
    assert_true(p->rows[0].peak_memory_bytes == 5ull << 30);
    assert_int_equal(p->rows[0].meta_len, meta_len);
    assert_memory_equal(p->rows[0].meta, meta, meta_len);
    history_page_free(p);
    p = fetch_run(b, RUN_A, "dave");
    assert_int_equal(p->count, 0);
    history_page_free(p);

    p = fetch(b, 10, "carol", 0);
    assert_int_equal(p->count, 2);
    assert_null(p->rows[0].meta);
    assert_string_equal(p->rows[0].run_id, RUN_A);
    assert_string_equal(p->rows[1].request_id, "old-run"); /* migrated */
    assert_string_equal(p->rows[1].run_id, "");
    assert_int_equal(p->rows[1].signal, 0);
    history_page_free(p);
    p = fetch(b, 0, NULL, 1); /* the old run by id: an empty meta */
    assert_int_equal(p->count, 1);
    assert_int_equal(p->rows[0].meta_len, 0);
    history_page_free(p);
    history_close(a);
    history_close(b);
    /* Additive: still version 2, with the partial index; a server of
     * version 2 writes as it did (its INSERT names its columns). */
    pg_exec("DO $$ BEGIN IF (SELECT max(version) FROM sce_history_schema) <> 2 THEN"
            " RAISE EXCEPTION 'schema version bumped'; END IF;"
            " IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'runs_run_id'"
            " AND indexdef LIKE '% WHERE %') THEN RAISE EXCEPTION 'no partial index'; END IF;"
            " END $$;"
            "INSERT INTO runs (time_ms, language, code, code_truncated, entry, files, verdict,"
            " exit_code, output, output_truncated, stderr, stderr_truncated, message, wall_ms,"
            " request_id, tenant) VALUES (1800000000000, 'python', 'v2', 0, '', 1, 1, 0, '', 0, "
            "'', 0, '',"
            " 1, 'v2-server', 'carol');");
    /* A database of version 3 (builds of issue 14 before the additive
     * rule, a full index) is read as 2: written back as 2, index partial. */
    pg_exec("DROP INDEX runs_run_id; CREATE INDEX runs_run_id ON runs(run_id);"
            "UPDATE sce_history_schema SET version = 3;");
    a = open_url(pg_url(), 0);
    p = fetch(a, 10, "carol", 0);
    assert_int_equal(p->count, 3);
    assert_string_equal(p->rows[0].request_id, "v2-server");
    history_page_free(p);
    p = fetch_run(a, RUN_A, "carol");
    assert_int_equal(p->count, 1);
    history_page_free(p);
    history_close(a);
    pg_exec("DO $$ BEGIN IF (SELECT max(version) FROM sce_history_schema) <> 2 THEN"
            " RAISE EXCEPTION 'version 3 not read as 2'; END IF;"
            " IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'runs_run_id'"
            " AND indexdef LIKE '% WHERE %') THEN RAISE EXCEPTION 'no partial index'; END IF;"
            " END $$");
    free(meta);
}

static void test_retention_in_time_order(void **state)
{
    history *h;
    history_page *p;
    history_stats st;
    int64_t t0 = 1700000000000;

    (void)state;
    if (pg_url() == NULL)
        skip();
    h = open_url(pg_url(), 3);
    /* Recorded out of time order: the newest three by time stay. */
    record(h, "t5", t0 + 5, NULL);
    record(h, "t1", t0 + 1, NULL);
    record(h, "t4", t0 + 4, NULL);
    record(h, "t2", t0 + 2, NULL);
    record(h, "t3", t0 + 3, NULL);
    assert_int_equal(history_flush(h, 5000), 0);
    /* The batch may have been split: the retention runs after each. */
    {
        char err[256];

        assert_int_equal(history_prune(h, err, sizeof(err)), SCE_OK);
    }
    p = fetch(h, 10, NULL, 0);
    assert_int_equal(p->total, 3);
    assert_string_equal(p->rows[0].code, "t5");
    assert_string_equal(p->rows[1].code, "t4");
    assert_string_equal(p->rows[2].code, "t3");
    history_page_free(p);
    history_get_stats(h, &st);
    assert_int_equal(st.written, 5);
    assert_int_equal(st.pruned, 2);
    assert_int_equal(st.queued, 0);
    history_close(h);
}

/* A database that does not answer (nothing listens on the port): the store
 * opens, runs are queued and their answers do not wait; queries say why. */
static void test_unreachable(void **state)
{
    history *h;
    history_stats st;
    history_page *p = NULL;
    history_query q = {10, 0, 0, NULL, NULL, 0, NULL};
    char err[512];
    struct timespec t1, t2;

    (void)state;
    h = open_url("postgres://sce:hunter22@127.0.0.1:1/sce?connect_timeout=1", 0);
    /* Until the writer has tried once. */
    for (int i = 0; i < 50; i++) {
        history_get_stats(h, &st);
        if (st.store_down)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_true(st.store_down);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < 20; i++)
        history_await(h, record(h, "queued", 0, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_true((t2.tv_sec - t1.tv_sec) * 1000 + (t2.tv_nsec - t1.tv_nsec) / 1000000 < 500);
    history_get_stats(h, &st);
    assert_int_equal(st.queued, 20);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.failed, 0);
    assert_int_equal(history_fetch(h, &q, &p, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "history is unavailable: postgres://sce:***@127.0.0.1:1/sce"));
    assert_null(strstr(err, "hunter22"));
    history_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_transient),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test_setup(test_two_servers_one_history, setup_pg),
        cmocka_unit_test_setup(test_retention_in_time_order, setup_pg),
        cmocka_unit_test_setup(test_followed_entry, setup_pg),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
