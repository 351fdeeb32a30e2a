/*
 * test_judge0.c - the pure parts of the Judge0 CE API: tokens, the Wrong
 * Answer comparison, the statuses from sce's verdicts, base64 as Ruby
 * writes it, ?fields=, the serialiser (judge0_result.c); a submission
 * checked and made into a run request, with Judge0's 422 shapes
 * (judge0_submission.c); languages and config (judge0_catalog.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "judge0_catalog.h"
#include "judge0_result.h"
#include "judge0_submission.h"

/* ------------------------------------------------------------ tokens */

static void test_tokens(void **state)
{
    char tok[40], id[40];

    (void)state;
    assert_true(j0_token_from_run_id("0123456789ABCDEF0123456789abcdef", tok, sizeof(tok)));
    assert_string_equal(tok, "01234567-89ab-cdef-0123-456789abcdef");
    assert_true(j0_token_to_run_id(tok, id, sizeof(id)));
    assert_string_equal(id, "0123456789abcdef0123456789abcdef");
    assert_true(j0_token_to_run_id("0123456789ABCDEF0123456789abcdef", id, sizeof(id)));
    assert_string_equal(id, "0123456789abcdef0123456789abcdef");
    assert_false(j0_token_to_run_id("0123456789abcdef0123456789abcde", id, sizeof(id)));
    assert_false(j0_token_to_run_id("01234567-89ab-cdef-0123-456789abcdeg", id, sizeof(id)));
    assert_false(j0_token_to_run_id("0123456789-ab-cdef-0123-456789abcde", id, sizeof(id)));
    assert_false(j0_token_to_run_id("batch", id, sizeof(id)));
    assert_false(j0_token_to_run_id("", id, sizeof(id)));
    assert_false(j0_token_from_run_id("xyz", tok, sizeof(tok)));
}

/* ------------------------------------------------------------ Wrong Answer */

static void test_output_matches(void **state)
{
    static const struct {
        const char *expected, *actual;
        int match;
    } cases[] = {
        {"hello", "hello\n", 1},
        {"hello\n", "hello", 1},
        {"a\nb", "a  \nb\t\n\n\n", 1},
        {"a \r\nb", "a\nb", 1},
        {"a\nb", "a\nc", 0},
        {"a\n\nb", "a\nb", 0},
        {" a", "a", 0},
        {"", "", 1},
        {"", "\n \n", 1},
        {"x", "", 0},
        {"hello, world", "hello, world   \n", 1},
        {"1 2", "1  2", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(j0_output_matches(cases[i].expected, strlen(cases[i].expected),
                                           cases[i].actual, strlen(cases[i].actual)),
                         cases[i].match);
}

/* ------------------------------------------------------------ statuses */

static void test_statuses(void **state)
{
    json_t *all = j0_statuses_json();

    (void)state;
    assert_int_equal(json_array_size(all), 14);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 10), "description")),
                        "Runtime Error (NZEC)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 13), "id")), 14);
    json_decref(all);
    assert_string_equal(j0_status_name(5), "Time Limit Exceeded");
    assert_string_equal(j0_status_name(0), "");
}

static void test_decide(void **state)
{
    static const struct {
        sce_verdict verdict;
        int exit_code, signal;
        const char *out;
        int status, j0_exit, j0_signal;
        const char *message;
    } cases[] = {
        {SCE_VERDICT_OK, 0, 0, "hello\n", J0_STATUS_ACCEPTED, 0, -1, ""},
        {SCE_VERDICT_OK, 0, 0, "hello  \n\n", J0_STATUS_ACCEPTED, 0, -1, ""},
        {SCE_VERDICT_OK, 0, 0, "bye\n", J0_STATUS_WRONG_ANSWER, 0, -1, ""},
        {SCE_VERDICT_TIMEOUT, 137, 9, "", J0_STATUS_TLE, 0, -1, "Time limit exceeded"},
        {SCE_VERDICT_RUNTIME_ERROR, 1, 0, "", J0_STATUS_NZEC, 1, -1, "Exited with error status 1"},
        {SCE_VERDICT_RUNTIME_ERROR, 139, 11, "", J0_STATUS_SIGSEGV, 0, 11,
         "Caught fatal signal 11"},
        {SCE_VERDICT_RUNTIME_ERROR, 136, 8, "", J0_STATUS_SIGFPE, 0, 8, "Caught fatal signal 8"},
        {SCE_VERDICT_RUNTIME_ERROR, 134, 6, "", J0_STATUS_SIGABRT, 0, 6, "Caught fatal signal 6"},
        {SCE_VERDICT_RUNTIME_ERROR, 153, 25, "", J0_STATUS_SIGXFSZ, 0, 25,
         "Caught fatal signal 25"},
        {SCE_VERDICT_RUNTIME_ERROR, 143, 15, "", J0_STATUS_OTHER, 0, 15, "Caught fatal signal 15"},
        {SCE_VERDICT_MEMORY_LIMIT, 137, 9, "", J0_STATUS_OTHER, 0, 9, "out of memory"},
        {SCE_VERDICT_OUTPUT_LIMIT, 0, 0, "", J0_STATUS_SIGXFSZ, 0, 25, "out of memory"},
        {SCE_VERDICT_CANCELLED, 0, 0, "", J0_STATUS_INTERNAL, -1, -1, "cancelled: out of memory"},
        {SCE_VERDICT_INTERNAL_ERROR, 0, 0, "", J0_STATUS_INTERNAL, -1, -1,
         "internal_error: out of memory"},
    };
    json_t *meta = json_pack("{s:s, s:f}", "expected_output", "aGVsbG8=", "cpu_time_limit", 2.0);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        j0_outcome o;
        j0_verdict v;

        memset(&o, 0, sizeof(o));
        o.verdict = cases[i].verdict;
        o.exit_code = cases[i].exit_code;
        o.signal = cases[i].signal;
        o.stdout_data = cases[i].out;
        o.stdout_len = strlen(cases[i].out);
        o.message = "out of memory";
        j0_decide(&o, meta, &v);
        assert_int_equal(v.status, cases[i].status);
        assert_int_equal(v.exit_code, cases[i].j0_exit);
        assert_int_equal(v.exit_signal, cases[i].j0_signal);
        if (cases[i].verdict == SCE_VERDICT_OK)
            assert_string_equal(v.message, "");
        else
            assert_string_equal(v.message, cases[i].message);
    }
    /* Past cpu_time_limit within the extra time: a TLE all the same. */
    {
        j0_outcome o;
        j0_verdict v;

        memset(&o, 0, sizeof(o));
        o.verdict = SCE_VERDICT_OK;
        o.cpu_ms = 2500;
        o.stdout_data = "hello";
        o.stdout_len = 5;
        j0_decide(&o, meta, &v);
        assert_int_equal(v.status, J0_STATUS_TLE);
        o.state = J0_STATUS_PROCESSING;
        j0_decide(&o, meta, &v);
        assert_int_equal(v.status, J0_STATUS_PROCESSING);
        assert_int_equal(v.exit_code, -1);
    }
    json_decref(meta);
}

/* ------------------------------------------------------------ base64 */

static void test_base64(void **state)
{
    char *e, *d;
    size_t n;
    char long_text[100];

    (void)state;
    e = j0_base64_encode("hello, Judge0\n", 14);
    assert_string_equal(e, "aGVsbG8sIEp1ZGdlMAo=\n");
    free(e);
    e = j0_base64_encode("", 0);
    assert_string_equal(e, "");
    free(e);
    memset(long_text, 'a', sizeof(long_text));
    e = j0_base64_encode(long_text, sizeof(long_text));
    /* 136 characters: lines of 60, each with its newline. */
    assert_int_equal(strlen(e), 136 + 3);
    assert_int_equal(e[60], '\n');
    assert_int_equal(e[121], '\n');
    assert_int_equal(j0_base64_decode(e, strlen(e), &d, &n), SCE_OK);
    assert_int_equal(n, sizeof(long_text));
    assert_memory_equal(d, long_text, n);
    free(d);
    free(e);
    assert_int_equal(j0_base64_decode("SnVkZ2Uw", 8, &d, &n), SCE_OK);
    assert_string_equal(d, "Judge0");
    free(d);
    assert_int_equal(j0_base64_decode("!!!", 3, &d, &n), SCE_ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------ fields */

static void test_fields(void **state)
{
    char *bad = NULL;
    json_t *f;

    (void)state;
    f = j0_fields_parse(NULL, &bad);
    assert_int_equal(json_array_size(f), 8);
    assert_string_equal(json_string_value(json_array_get(f, 0)), "token");
    json_decref(f);
    f = j0_fields_parse("*", &bad);
    assert_int_equal(json_array_size(f), 35);
    json_decref(f);
    f = j0_fields_parse("stdout,status_id,,language_id", &bad);
    assert_int_equal(json_array_size(f), 3);
    json_decref(f);
    f = j0_fields_parse("stdout,foo,bar", &bad);
    assert_null(f);
    assert_string_equal(bad, "invalid fields: [foo, bar]");
    free(bad);
}

/* A submission's JSON for an outcome, with the given fields. */
static json_t *serialise(const char *fields, const j0_outcome *o, int base64, int *utf8_error)
{
    char *bad = NULL;
    json_t *f = j0_fields_parse(fields, &bad);
    json_t *meta = json_pack("{s:i, s:s, s:s, s:f, s:f, s:f, s:i, s:I}", "language_id", 71,
                             "source_code", "cHJpbnQoMSk=", "stdin", "SnVkZ2Uw", "cpu_time_limit",
                             5.0, "cpu_extra_time", 0.5, "wall_time_limit", 10.0, "memory_limit",
                             131072, "created_at_ms", (json_int_t)1700000000123);
    json_t *out = j0_submission_json("01234567-89ab-cdef-0123-456789abcdef", meta, o, f, base64,
                                     "Python (3.11.9)", utf8_error);

    json_decref(f);
    json_decref(meta);
    return out;
}

static void test_serialise(void **state)
{
    j0_outcome o;
    int u = 0;
    json_t *j;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.verdict = SCE_VERDICT_OK;
    o.stdout_data = "hello, Judge0\n";
    o.stdout_len = 14;
    o.cpu_ms = 12;
    o.wall_ms = 40;
    o.peak_memory_bytes = 3 * 1024 * 1024;
    j = serialise(NULL, &o, 0, &u);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 8);
    assert_string_equal(json_string_value(json_object_get(j, "stdout")), "hello, Judge0\n");
    assert_string_equal(json_string_value(json_object_get(j, "time")), "0.012");
    assert_int_equal(json_integer_value(json_object_get(j, "memory")), 3072);
    assert_true(json_is_null(json_object_get(j, "stderr")));
    assert_true(json_is_null(json_object_get(j, "compile_output")));
    assert_true(json_is_null(json_object_get(j, "message")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "status"), "id")), 3);
    json_decref(j);

    j = serialise("*", &o, 1, &u);
    assert_int_equal(json_object_size(j), 35);
    assert_string_equal(json_string_value(json_object_get(j, "stdout")), "aGVsbG8sIEp1ZGdlMAo=\n");
    assert_string_equal(json_string_value(json_object_get(j, "stdin")), "SnVkZ2Uw\n");
    assert_string_equal(json_string_value(json_object_get(j, "cpu_time_limit")), "5.0");
    assert_string_equal(json_string_value(json_object_get(j, "cpu_extra_time")), "0.5");
    assert_string_equal(json_string_value(json_object_get(j, "wall_time")), "0.040");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2023-11-14T22:13:20.123Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "language"), "name")),
                        "Python (3.11.9)");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    assert_true(json_is_null(json_object_get(j, "exit_signal")));
    json_decref(j);

    /* A meta from elsewhere with a huge limit: written, not cast. */
    {
        json_t *meta = json_pack("{s:i, s:i, s:f, s:f}", "judge0", 1, "language_id", 71,
                                 "cpu_time_limit", 1e300, "wall_time_limit", -1e300);
        json_t *fields = json_pack("[s, s]", "cpu_time_limit", "wall_time_limit");

        j = j0_submission_json("t", meta, &o, fields, 0, "", &u);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "cpu_time_limit")), "1e+300");
        assert_string_equal(json_string_value(json_object_get(j, "wall_time_limit")), "-1e+300");
        json_decref(j);
        json_decref(fields);
        json_decref(meta);
    }

    /* Not UTF-8: only with base64. */
    o.stdout_data = "\xfe\n";
    o.stdout_len = 2;
    j = serialise("stdout", &o, 0, &u);
    assert_null(j);
    assert_int_equal(u, 1);
    j = serialise("stdout", &o, 1, &u);
    assert_string_equal(json_string_value(json_object_get(j, "stdout")), "/go=\n");
    json_decref(j);

    /* Still queued: no outcome yet. */
    memset(&o, 0, sizeof(o));
    o.state = J0_STATUS_QUEUE;
    j = serialise("status,time,stdout,exit_code", &o, 0, &u);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "status"), "id")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "status"), "description")),
        "In Queue");
    assert_true(json_is_null(json_object_get(j, "time")));
    assert_true(json_is_null(json_object_get(j, "stdout")));
    assert_true(json_is_null(json_object_get(j, "exit_code")));
    json_decref(j);
}

/* The same run, read live and from its history entry, answers the same:
 * the live output is put in the history's form (invalid UTF-8 and NULs
 * as U+FFFD, the first 64 KiB) before the status is decided. */
static json_t *answer_of(const j0_outcome *o, const json_t *meta, int base64)
{
    json_t *fields = j0_fields_parse("stdout,stderr,status,message", &(char *){NULL});
    int u = 0;
    json_t *j = j0_submission_json("t", meta, o, fields, base64, "", &u);

    json_decref(fields);
    return j;
}

static void test_live_and_history_agree(void **state)
{
    /* b"\xe9\n" is stored as "\xef\xbf\xbd\n" (U+FFFD). */
    json_t *meta = json_pack("{s:i, s:i, s:s}", "judge0", 1, "language_id", 71, "expected_output",
                             "77+9Cg=="),
           *live, *hist;
    sce_run_result r;
    sce_run_events e;
    sce_history_entry h;
    j0_outcome o;
    char *big, *stored;
    size_t n = (64 << 10) + 100;

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(&e, 0, sizeof(e));
    memset(&h, 0, sizeof(h));
    r.verdict = SCE_VERDICT_OK;
    r.stdout_data = "\xe9\n";
    r.stdout_len = 2;
    r.stderr_data = "a\0b";
    r.stderr_len = 3;
    r.message = "";
    e.done = 1;
    e.result = &r;
    h.verdict = SCE_VERDICT_OK;
    h.output = "\xef\xbf\xbd\n";
    h.stderr_text = "a\xef\xbf\xbd"
                    "b";
    h.message = "";
    for (int base64 = 0; base64 <= 1; base64++) {
        assert_int_equal(j0_outcome_from_events(&e, &o), SCE_OK);
        live = answer_of(&o, meta, base64);
        j0_outcome_free(&o);
        assert_int_equal(j0_outcome_from_history(&h, &o), SCE_OK);
        hist = answer_of(&o, meta, base64);
        j0_outcome_free(&o);
        assert_non_null(live);
        assert_non_null(hist);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(live, "status"), "id")),
                         J0_STATUS_ACCEPTED);
        assert_true(json_equal(live, hist));
        assert_string_equal(json_string_value(json_object_get(live, "stdout")),
                            base64 ? "77+9Cg==\n" : "\xef\xbf\xbd\n");
        json_decref(live);
        json_decref(hist);
    }

    /* Past the history's 64 KiB: both end at its cap. */
    big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    r.stdout_data = big;
    r.stdout_len = n;
    assert_int_equal(j0_outcome_from_events(&e, &o), SCE_OK);
    assert_int_equal(o.stdout_len, J0_HISTORY_TEXT_MAX_BYTES);
    stored = strndup(o.stdout_data, o.stdout_len);
    j0_outcome_free(&o);
    h.output = stored;
    assert_int_equal(j0_outcome_from_history(&h, &o), SCE_OK);
    assert_int_equal(o.stdout_len, J0_HISTORY_TEXT_MAX_BYTES);
    j0_outcome_free(&o);
    /* Invalid bytes at the cap: cut at a character, as the history cuts. */
    memset(big, '\xe9', n);
    assert_int_equal(j0_outcome_from_events(&e, &o), SCE_OK);
    assert_int_equal(o.stdout_len, (J0_HISTORY_TEXT_MAX_BYTES / 3) * 3);
    j0_outcome_free(&o);
    free(stored);
    free(big);

    /* Still running: no texts. */
    memset(&e, 0, sizeof(e));
    e.running = 1;
    assert_int_equal(j0_outcome_from_events(&e, &o), SCE_OK);
    assert_int_equal(o.state, J0_STATUS_PROCESSING);
    j0_outcome_free(&o);
    json_decref(meta);
}

/* ------------------------------------------------------------ submissions */

/* Parses a body that must be refused, and returns the 422 body as text. */
static char *refused(const char *text, int base64)
{
    json_t *obj = json_loads(text, 0, NULL), *errors = NULL;
    j0_submission s;
    char *out;

    assert_non_null(obj);
    assert_int_equal(j0_submission_parse(obj, base64, 1, &s, &errors), SCE_ERR_INVALID_ARGUMENT);
    out = json_dumps(errors, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(errors);
    json_decref(obj);
    return out;
}

static void test_submission_refused(void **state)
{
    static const struct {
        const char *body, *errors;
    } cases[] = {
        {"{\"source_code\": \"print(1)\"}", "{\"language_id\":[\"can't be blank\"]}"},
        {"{\"source_code\": \"print(1)\", \"language_id\": 150000}",
         "{\"language_id\":[\"language with id 150000 doesn't exist\"]}"},
        {"{\"source_code\": \"  \", \"language_id\": 71}",
         "{\"source_code\":[\"can't be blank\"]}"},
        {"{\"language_id\": \"4\"}",
         "{\"language_id\":[\"language with id 4 doesn't exist\"],\"source_code\":[\"can't be "
         "blank\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"memory_limit\": 100}",
         "{\"memory_limit\":[\"must be greater than or equal to 2048\"]}"},
        /* Huge limits: bounded before any cast, with /config_info's maxima. */
        {"{\"source_code\": \"x\", \"language_id\": 71, \"memory_limit\": 1e300}",
         "{\"memory_limit\":[\"must be less than or equal to 131072\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"memory_limit\": 18014398509481988}",
         "{\"memory_limit\":[\"must be less than or equal to 131072\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"memory_limit\": \"1e300\"}",
         "{\"memory_limit\":[\"must be less than or equal to 131072\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"cpu_time_limit\": 1e300}",
         "{\"cpu_time_limit\":[\"must be less than or equal to 10.0\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"cpu_extra_time\": 10.5, "
         "\"wall_time_limit\": 1e300}",
         "{\"cpu_extra_time\":[\"must be less than or equal to 10.0\"],\"wall_time_limit\":[\"must "
         "be "
         "less than or equal to 10.0\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"cpu_time_limit\": -1e300}",
         "{\"cpu_time_limit\":[\"must be greater than or equal to 0\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"wall_time_limit\": \"inf\"}",
         "{\"wall_time_limit\":[\"is not a number\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"wall_time_limit\": \"abc\"}",
         "{\"wall_time_limit\":[\"is not a number\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"number_of_runs\": 3}",
         "{\"number_of_runs\":[\"sce runs each submission once: only 1 is supported\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"compiler_options\": \"-O2\"}",
         "{\"compiler_options\":[\"setting compiler options is only allowed for compiled "
         "languages\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, "
         "\"enable_per_process_and_thread_time_limit\": true}",
         "{\"enable_per_process_and_thread_time_limit\":[\"this option cannot be enabled\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"command_line_arguments\": \"'a b\"}",
         "{\"command_line_arguments\":[\"has an unclosed quote\"]}"},
        {"{\"source_code\": \"x\", \"language_id\": 71, \"additional_files\": \"AAAA\"}",
         "{\"additional_files\":[\"zip: not a ZIP archive\"]}"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = refused(cases[i].body, 0);

        assert_string_equal(got, cases[i].errors);
        free(got);
    }
    /* Refused with a reason, named: callbacks, network, the redirect. */
    {
        char *got = refused("{\"source_code\": \"x\", \"language_id\": 71, \"callback_url\": "
                            "\"http://169.254.169.254/\", \"enable_network\": true, "
                            "\"redirect_stderr_to_stdout\": true, \"stack_limit\": 64000}",
                            0);

        assert_non_null(strstr(got, "\"callback_url\":[\"setting callback is not allowed: "));
        assert_non_null(strstr(got, "server-side request forgery"));
        assert_non_null(strstr(got, "\"enable_network\":[\"enabling network is not allowed: "));
        assert_non_null(strstr(got, "\"redirect_stderr_to_stdout\":["));
        assert_non_null(strstr(got, "\"stack_limit\":["));
        free(got);
    }
    {
        char *got = refused("{\"source_code\": \"!!\", \"language_id\": 71}", 1);

        assert_string_equal(got, "{\"source_code\":[\"is not valid base64\"]}");
        free(got);
    }
}

static void test_submission_ok(void **state)
{
    json_t *obj = json_pack(
        "{s:s, s:i, s:s, s:s, s:f, s:f, s:f, s:i, s:s, s:n, s:b, s:b, s:i, s:s, s:i}",
        "source_code", "cHJpbnQoaW5wdXQoKSk=", "language_id", 92, "stdin", "SnVkZ2Uw",
        "expected_output", "SnVkZ2Uw", "cpu_time_limit", 2.0, "cpu_extra_time", 0.5,
        "wall_time_limit", 5.0, "memory_limit", 65536, "command_line_arguments",
        "a 'b c' \"d\\\"e\"", "callback_url", "enable_network", 0, "redirect_stderr_to_stdout", 0,
        "number_of_runs", 1, "compiler_options", "", "max_processes_and_or_threads", 64);
    json_t *errors = NULL, *meta;
    j0_submission s;

    (void)state;
    assert_int_equal(j0_submission_parse(obj, 1, 1700000000000, &s, &errors), SCE_OK);
    assert_string_equal(s.req.language, "python");
    assert_string_equal(s.req.code, "print(input())");
    assert_int_equal(s.req.stdin_len, 6);
    assert_memory_equal(s.req.stdin_data, "Judge0", 6);
    assert_int_equal(s.req.timeout_ms, 2500);
    assert_string_equal(s.timeout_field, "cpu_time_limit");
    assert_int_equal(s.req.memory_bytes, 65536ull * 1024);
    assert_int_equal(s.req.nargs, 3);
    assert_string_equal(s.req.args[0], "a");
    assert_string_equal(s.req.args[1], "b c");
    assert_string_equal(s.req.args[2], "d\"e");
    meta = json_loadb(s.meta, s.meta_len, 0, NULL);
    assert_non_null(meta);
    assert_int_equal(json_integer_value(json_object_get(meta, "language_id")), 92);
    assert_string_equal(json_string_value(json_object_get(meta, "expected_output")), "SnVkZ2Uw");
    assert_string_equal(json_string_value(json_object_get(meta, "source_code")),
                        "cHJpbnQoaW5wdXQoKSk=");
    assert_int_equal(json_integer_value(json_object_get(meta, "judge0")), 1);
    assert_string_equal(j0_submission_field_of(&s, "limits.timeout_ms: 2500 is more than"),
                        "cpu_time_limit");
    assert_string_equal(j0_submission_field_of(&s, "code is 9000 characters"), "source_code");
    assert_string_equal(j0_submission_field_of(&s, "something else"), "base");
    json_decref(meta);
    j0_submission_free(&s);
    json_decref(obj);

    /* The maxima themselves are accepted. */
    obj = json_pack("{s:s, s:i, s:f, s:f, s:f, s:i}", "source_code", "x", "language_id", 71,
                    "cpu_time_limit", 10.0, "cpu_extra_time", 10.0, "wall_time_limit", 10.0,
                    "memory_limit", 131072);
    assert_int_equal(j0_submission_parse(obj, 0, 1, &s, &errors), SCE_OK);
    assert_int_equal(s.req.timeout_ms, 10000);
    assert_int_equal(s.req.memory_bytes, 131072ull * 1024);
    j0_submission_free(&s);
    json_decref(obj);

    /* Defaults: the server's limits. */
    obj = json_pack("{s:s, s:s}", "source_code", "console.log(1)", "language_id", "63");
    assert_int_equal(j0_submission_parse(obj, 0, 1, &s, &errors), SCE_OK);
    assert_string_equal(s.req.language, "node");
    assert_int_equal(s.req.timeout_ms, 0);
    assert_int_equal(s.req.memory_bytes, 0);
    assert_null(s.timeout_field);
    j0_submission_free(&s);
    json_decref(obj);
}

/* The meta's worst case (echoes past their caps, expected_output at its
 * maximum, command_line_arguments of control characters, escaped six bytes
 * each) fits the server's SCE_RUN_META_MAX_BYTES. */
static void test_submission_meta_cap(void **state)
{
    size_t big = 200 << 10;
    char *src = malloc(big + 1), *in = malloc(big + 1), *exp = malloc(J0_EXPECTED_MAX_BYTES + 1);
    char args[J0_ARGS_MAX_CHARS + 1];
    json_t *obj, *errors = NULL, *meta;
    j0_submission s;

    (void)state;
    assert_non_null(src);
    assert_non_null(in);
    assert_non_null(exp);
    memset(src, 'x', big);
    src[big] = '\0';
    memset(in, 'y', big);
    in[big] = '\0';
    memset(exp, 'z', J0_EXPECTED_MAX_BYTES);
    exp[J0_EXPECTED_MAX_BYTES] = '\0';
    memset(args, '\x01', J0_ARGS_MAX_CHARS);
    args[J0_ARGS_MAX_CHARS] = '\0';
    obj = json_pack("{s:s, s:i, s:s, s:s, s:s}", "source_code", src, "language_id", 71, "stdin", in,
                    "expected_output", exp, "command_line_arguments", args);
    assert_int_equal(j0_submission_parse(obj, 0, 1700000000000, &s, &errors), SCE_OK);
    assert_true(s.meta_len <= SCE_RUN_META_MAX_BYTES);
    assert_true(s.meta_len > 2 * 4 * (J0_ECHO_MAX_BYTES / 3)); /* the echoes are there */
    meta = json_loadb(s.meta, s.meta_len, 0, NULL);
    assert_int_equal(json_string_length(json_object_get(meta, "stdin")),
                     4 * ((J0_ECHO_MAX_BYTES + 2) / 3));
    json_decref(meta);
    j0_submission_free(&s);
    json_decref(obj);
    free(src);
    free(in);
    free(exp);
}

/* A ZIP of one stored file "data.txt" holding "hi\n". */
static const unsigned char zip_one[] = {
    0x50, 0x4b, 0x03, 0x04, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x7a,
    0x7a, 0x6f, 0xed, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    'd',  'a',  't',  'a',  '.',  't',  'x',  't',  'h',  'i',  '\n', 0x50, 0x4b, 0x01, 0x02,
    0x14, 0x03, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0x7a, 0x7a, 0x6f,
    0xed, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa4, 0x81, 0x00, 0x00, 0x00, 0x00, 'd',  'a',  't',
    'a',  '.',  't',  'x',  't',  0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x36, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_submission_files(void **state)
{
    char *b64 = j0_base64_encode(zip_one, sizeof(zip_one));
    json_t *obj = json_pack("{s:s, s:i, s:s}", "source_code", "print(open('data.txt').read())",
                            "language_id", 71, "additional_files", b64);
    json_t *errors = NULL;
    j0_submission s;
    int rv;

    (void)state;
    rv = j0_submission_parse(obj, 0, 1, &s, &errors);
    if (rv != SCE_OK) {
        char *e = json_dumps(errors, 0);
        fail_msg("refused: %s", e);
    }
    assert_null(s.req.code);
    assert_int_equal(s.req.nfiles, 2);
    assert_string_equal(s.req.entry, "script.py");
    assert_string_equal(s.req.files[0].path, "script.py");
    assert_string_equal(s.req.files[1].path, "data.txt");
    j0_submission_free(&s);
    json_decref(obj);
    free(b64);
}

/* ------------------------------------------------------------ catalog */

static void test_languages(void **state)
{
    sce_language items[2];
    sce_language_list l = {items, 2};
    json_t *j;
    char name[96];

    (void)state;
    memset(items, 0, sizeof(items));
    items[0].name = "python";
    items[0].version = "3.11.9";
    items[0].available = 1;
    items[1].name = "node";
    items[1].version = "20.11.1";
    items[1].available = 1;
    j0_language_name(j0_language_find(97), &l, name, sizeof(name));
    assert_string_equal(name, "JavaScript (Node.js 20.11.1)");
    j0_language_name(j0_language_find(71), &l, name, sizeof(name));
    assert_string_equal(name, "Python (3.11.9)");
    j = j0_languages_json(&l, 0);
    assert_int_equal(json_array_size(j), 6);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 63);
    json_decref(j);
    j = j0_languages_json(&l, 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "name")),
                        "JavaScript (Node.js 20.11.1)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 5), "id")), 92);
    json_decref(j);
    items[1].available = 0;
    j = j0_languages_json(&l, 0);
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
    j = j0_language_json(&l, 71);
    assert_string_equal(json_string_value(json_object_get(j, "source_file")), "script.py");
    assert_true(json_is_null(json_object_get(j, "compile_cmd")));
    json_decref(j);
    assert_null(j0_language_json(&l, 4));
    j = j0_config_info_json(0);
    assert_int_equal(json_integer_value(json_object_get(j, "max_queue_size")), J0_QUEUE_DEFAULT);
    assert_true(json_is_false(json_object_get(j, "enable_callbacks")));
    assert_int_equal(json_integer_value(json_object_get(j, "max_submission_batch_size")), 20);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_output_matches),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_serialise),
        cmocka_unit_test(test_submission_refused),
        cmocka_unit_test(test_live_and_history_agree),
        cmocka_unit_test(test_submission_ok),
        cmocka_unit_test(test_submission_meta_cap),
        cmocka_unit_test(test_submission_files),
        cmocka_unit_test(test_languages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
