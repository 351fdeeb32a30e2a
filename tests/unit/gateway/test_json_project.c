/*
 * test_json_project.c - the JSON mapping of POST /run-batch and GET
 * /history (web-gateway/json.c), and the Content-Type test of POST
 * /run-zip (web-gateway/multipart.c), table-driven.
 *
 * As in test_json.c, every message is the API's contract: a change in
 * wording is a change here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "multipart.h"
#include "sce/err.h"

/* ------------------------------------------------------------ batch bodies */

typedef struct bad_row {
    const char *body;
    const char *want;
} bad_row;

/* clang-format off */
static const bad_row bad_batches[] = {
    {"", "body: empty; expected a JSON object"},
    {"{", "body: invalid JSON at line 1 column 1: string or '}' expected near end of file"},
    {"[]", "body: expected a JSON object"},
    {"{}", "tasks: required"},
    {"{\"tasks\": null}", "tasks: required"},
    {"{\"code\": \"print(1)\"}", "tasks: required"},
    {"{\"tasks\": {}}", "tasks: expected an array"},
    {"{\"tasks\": []}", "tasks: expected at least one task"},
    {"{\"tasks\": [1]}", "tasks[0]: expected a JSON object"},
    {"{\"tasks\": [{\"code\": \"1\"}, null]}", "tasks[1]: expected a JSON object"},
    {"{\"tasks\": [{}]}", "tasks[0].code: required"},
    {"{\"tasks\": [{\"code\": \"1\"}, {\"code\": 5}]}", "tasks[1].code: expected a string"},
    {"{\"tasks\": [{\"code\": \"1\", \"args\": [\"a\", 2]}]}", "tasks[0].args[1]: expected a string"},
    {"{\"tasks\": [{\"files\": [{\"path\": \"a.py\"}]}]}", "tasks[0].files[0].content: required"},
    {"{\"tasks\": [{\"code\": \"1\", \"timeout_ms\": 0}]}",
     "tasks[0].timeout_ms: expected a positive integer"},
    {"{\"tasks\": [{\"code\": \"1\", \"language\": \"\"}]}",
     "tasks[0].language: expected a non-empty string"},
};
/* clang-format on */

static void test_batch_bad_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_batches) / sizeof(bad_batches[0]); i++) {
        gw_batch_input in;
        char err[512];
        int rv = gw_json_batch_input(bad_batches[i].body, strlen(bad_batches[i].body), &in, err,
                                     sizeof(err));

        if (rv != SCE_ERR_INVALID_ARGUMENT || strcmp(err, bad_batches[i].want) != 0)
            fail_msg("row %zu %s: got %s '%s', want '%s'", i, bad_batches[i].body, sce_err_name(rv),
                     err, bad_batches[i].want);
        assert_null(in.tasks);
        assert_int_equal(in.count, 0);
        gw_batch_input_free(&in); /* a zeroed struct is fine */
    }
}

static void test_batch_too_many(void **state)
{
    char body[4096], err[256];
    gw_batch_input in;
    size_t n;

    (void)state;
    n = (size_t)snprintf(body, sizeof(body), "{\"tasks\": [");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s{\"code\": \"1\"}", i ? "," : "");
    snprintf(body + n, sizeof(body) - n, "]}");
    assert_int_equal(gw_json_batch_input(body, strlen(body), &in, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "tasks: 65 tasks; at most 64");
}

static void test_batch_good(void **state)
{
    static const char body[] =
        "{\"tasks\": [{\"code\": \"print(1)\"},"
        " {\"language\": \"node\", \"code\": \"x\", \"stdin\": \"a\\u0000b\", \"args\": [\"-v\"],"
        "  \"timeout_ms\": 1000},"
        " {\"files\": [{\"path\": \"main.py\", \"content\": \"import lib\"},"
        "              {\"path\": \"lib.py\", \"content\": \"\"}], \"entry\": \"main.py\"}],"
        " \"other\": 1}";
    gw_batch_input in;
    char err[256];

    (void)state;
    assert_int_equal(gw_json_batch_input(body, strlen(body), &in, err, sizeof(err)), SCE_OK);
    assert_int_equal(in.count, 3);
    assert_string_equal(in.reqs[0].language, "python");
    assert_string_equal(in.reqs[0].code, "print(1)");
    assert_string_equal(in.reqs[1].language, "node");
    assert_int_equal(in.reqs[1].stdin_len, 3);
    assert_memory_equal(in.reqs[1].stdin_data, "a\0b", 3);
    assert_int_equal(in.reqs[1].nargs, 1);
    assert_string_equal(in.reqs[1].args[0], "-v");
    assert_int_equal(in.reqs[1].timeout_ms, 1000);
    assert_null(in.reqs[2].code);
    assert_int_equal(in.reqs[2].nfiles, 2);
    assert_string_equal(in.reqs[2].files[1].path, "lib.py");
    assert_string_equal(in.reqs[2].entry, "main.py");
    gw_batch_input_free(&in);
    assert_null(in.tasks);
}

static void test_batch_result(void **state)
{
    sce_run_result ok = {0};
    sce_batch_item items[2] = {
        {SCE_ERR_INVALID_ARGUMENT, "unknown language 'ruby': use one of python, node", NULL},
        {SCE_OK, "", &ok},
    };
    sce_batch_result b = {items, 2, "0123456789abcdef"};
    json_t *o, *r;

    (void)state;
    ok.verdict = SCE_VERDICT_OK;
    ok.stdout_data = "42\n";
    ok.stdout_len = 3;
    ok.stderr_data = "";
    ok.message = "";
    ok.language = "python";
    ok.language_version = "3.11.2";
    ok.request_id = "0123456789abcdef-1";
    o = sce_json_batch_result(&b);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "request_id")), "0123456789abcdef");
    r = json_object_get(o, "results");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "error")),
                        "unknown language 'ruby': use one of python, node");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "status")),
                        "rejected");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "code")),
                        "INVALID_ARGUMENT");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "request_id")),
                        "0123456789abcdef-0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "output")), "42\n");
    json_decref(o);
}

/* ------------------------------------------------------------ history */

typedef struct query_row {
    const char *limit, *offset, *verdict, *language;
    const char *want; /* NULL: accepted */
    uint32_t q_limit, q_offset;
    sce_verdict q_verdict;
} query_row;

/* clang-format off */
static const query_row query_rows[] = {
    {NULL, NULL, NULL, NULL, NULL, 0, 0, SCE_VERDICT_UNSPECIFIED},
    {"", "", "", "", NULL, 0, 0, SCE_VERDICT_UNSPECIFIED},
    {"1", "0", "ok", "python", NULL, 1, 0, SCE_VERDICT_OK},
    {"100", "4294967295", "internal_error", NULL, NULL, 100, 4294967295u, SCE_VERDICT_INTERNAL_ERROR},
    {"20", "40", "timeout", "node", NULL, 20, 40, SCE_VERDICT_TIMEOUT},
    {"0", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {"101", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {"-1", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {"1e2", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {" 5", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {"99999999999999999999", NULL, NULL, NULL, "limit: expected an integer from 1 to 100", 0, 0, 0},
    {NULL, "4294967296", NULL, NULL, "offset: expected an integer from 0 to 4294967295", 0, 0, 0},
    {NULL, "x", NULL, NULL, "offset: expected an integer from 0 to 4294967295", 0, 0, 0},
    {NULL, NULL, "OK", NULL, "verdict: expected one of ok, runtime_error, timeout, memory_limit, "
                              "output_limit, rejected, internal_error, cancelled", 0, 0, 0},
    {NULL, NULL, "unspecified", NULL, "verdict: expected one of ok, runtime_error, timeout, "
                                      "memory_limit, output_limit, rejected, internal_error, cancelled", 0, 0, 0},
};
/* clang-format on */

static void test_history_query(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(query_rows) / sizeof(query_rows[0]); i++) {
        const query_row *r = &query_rows[i];
        sce_history_query q;
        char err[256];
        int rv = gw_json_history_query(r->limit, r->offset, r->verdict, r->language, &q, err,
                                       sizeof(err));

        if (r->want != NULL) {
            if (rv != SCE_ERR_INVALID_ARGUMENT || strcmp(err, r->want) != 0)
                fail_msg("row %zu: got %s '%s', want '%s'", i, sce_err_name(rv), err, r->want);
            continue;
        }
        if (rv != SCE_OK)
            fail_msg("row %zu: %s", i, err);
        assert_int_equal(q.limit, r->q_limit);
        assert_int_equal(q.offset, r->q_offset);
        assert_int_equal(q.verdict, r->q_verdict);
        if (r->language != NULL && r->language[0] != '\0')
            assert_string_equal(q.language, r->language);
        else
            assert_null(q.language);
    }
}

static void test_history_page(void **state)
{
    sce_history_entry e = {0};
    sce_history_page p = {&e, 1, 7, 1};
    json_t *o, *x;

    (void)state;
    e.id = 9;
    e.time_ms = 1795338685704; /* 2026-11-22T09:11:25.704Z */
    e.language = "python";
    e.code = "print('\xff')\n"; /* made valid UTF-8 on the way out */
    e.entry = "main.py";
    e.files = 2;
    e.verdict = SCE_VERDICT_TIMEOUT;
    e.exit_code = 137;
    e.output = "x";
    e.output_truncated = 1;
    e.stderr_text = "";
    e.message = "Execution timed out after 1 second";
    e.wall_ms = 1003;
    e.request_id = "0123456789abcdef";
    o = gw_json_history(&p, 40);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 7);
    assert_int_equal(json_integer_value(json_object_get(o, "offset")), 40);
    x = json_array_get(json_object_get(o, "entries"), 0);
    assert_int_equal(json_integer_value(json_object_get(x, "id")), 9);
    assert_string_equal(json_string_value(json_object_get(x, "time")), "2026-11-22T09:11:25.704Z");
    assert_string_equal(json_string_value(json_object_get(x, "status")), "timeout");
    assert_string_equal(json_string_value(json_object_get(x, "code")), "print('\xEF\xBF\xBD')\n");
    assert_string_equal(json_string_value(json_object_get(x, "entry")), "main.py");
    assert_int_equal(json_integer_value(json_object_get(x, "files")), 2);
    assert_true(json_is_true(json_object_get(x, "output_truncated")));
    assert_true(json_is_false(json_object_get(x, "code_truncated")));
    assert_string_equal(json_string_value(json_object_get(x, "stderr")), "");
    assert_string_equal(json_string_value(json_object_get(x, "message")),
                        "Execution timed out after 1 second");
    json_decref(o);

    /* History off: no entries, enabled false. */
    p.count = 0;
    p.total = 0;
    p.enabled = 0;
    o = gw_json_history(&p, 0);
    assert_true(json_is_false(json_object_get(o, "enabled")));
    assert_int_equal(json_array_size(json_object_get(o, "entries")), 0);
    json_decref(o);
}

/* The gateway's own guard on the 1 MiB page: entries the server did not
 * keep within its budget (a server before it) end the page early, the
 * first ones kept, and the tenant and truncated fields are there. */
static void test_history_page_cap(void **state)
{
    enum { N = 100, TEXT = 20000 };
    sce_history_entry *e = calloc(N, sizeof(*e));
    sce_history_page p = {e, N, N, 1};
    char *ctl = malloc(TEXT + 1), *dump;
    json_t *o, *en;

    (void)state;
    for (size_t i = 0; i < TEXT; i++)
        ctl[i] = (char)(1 + i % 31);
    ctl[TEXT] = '\0';
    for (size_t i = 0; i < N; i++) {
        e[i].id = (int64_t)(N - i);
        e[i].output = ctl; /* 120 000 bytes of JSON each */
        e[i].tenant = "alice";
        e[i].truncated = 1;
    }
    o = gw_json_history(&p, 0);
    assert_non_null(o);
    dump = json_dumps(o, JSON_COMPACT);
    assert_true(strlen(dump) <= 1024 * 1024);
    en = json_object_get(o, "entries");
    assert_true(json_array_size(en) >= 8 && json_array_size(en) < N);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(en, 0), "id")), N);
    assert_string_equal(json_string_value(json_object_get(json_array_get(en, 0), "tenant")),
                        "alice");
    assert_true(json_is_true(json_object_get(json_array_get(en, 0), "truncated")));
    assert_int_equal(json_integer_value(json_object_get(o, "total")), N);
    free(dump);
    json_decref(o);
    free(ctl);
    free(e);
}

/* ------------------------------------------------------------ /run-zip */

static void test_multipart_content_type(void **state)
{
    static const struct {
        const char *ct;
        int ok;
    } rows[] = {
        {"multipart/form-data; boundary=x", 1},
        {"Multipart/Form-Data;boundary=x", 1},
        {"  multipart/form-data", 1},
        {"multipart/form-data", 1},
        {"multipart/form-datax", 0},
        {"multipart/mixed; boundary=x", 0},
        {"application/x-www-form-urlencoded", 0},
        {"application/json", 0},
        {"", 0},
        {NULL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (gw_multipart_content_type_ok(rows[i].ct) != rows[i].ok)
            fail_msg("'%s': want %d", rows[i].ct ? rows[i].ct : "(null)", rows[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_bad_bodies),
        cmocka_unit_test(test_batch_too_many),
        cmocka_unit_test(test_batch_good),
        cmocka_unit_test(test_batch_result),
        cmocka_unit_test(test_history_query),
        cmocka_unit_test(test_history_page),
        cmocka_unit_test(test_history_page_cap),
        cmocka_unit_test(test_multipart_content_type),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
