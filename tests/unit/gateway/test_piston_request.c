/*
 * test_piston_request.c - the mapping POST /api/v2/execute shares with
 * the WebSocket's init (piston_request.c): execute's fields (stdin's
 * newline, -1 memory limits, Piston's refusals), the runtime found in a
 * server's language list (ranges, the python3.<minor> alias, unavailable
 * languages), GET /api/v2/runtimes' list, the status, message, code and
 * signal of every verdict, and the output collected in the order written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "piston_request.h"
#include "sce/err.h"

/* A server's list: python 3.11.2 and node 20.11.1 (available or not). */
static sce_language list_items[3];
static sce_language_list list = {list_items, 3};

static void set_list(int python_available, int node_available)
{
    memset(list_items, 0, sizeof(list_items));
    list_items[0] =
        (sce_language){.name = "python", .version = "3.11.2", .available = python_available};
    list_items[1] =
        (sce_language){.name = "node", .version = "20.11.1", .available = node_available};
    list_items[2] = (sce_language){.name = "ruby", .version = "3.3.0", .available = 1};
}

/* piston_request_parse (as execute's body) of a JSON text. */
static int parse(const char *text, piston_request **p, char *err, size_t errlen)
{
    json_t *j = json_loads(text, 0, NULL);
    int rv;

    assert_non_null(j);
    rv = piston_request_parse(j, 1, p, err, errlen);
    json_decref(j);
    return rv;
}

static void test_execute_fields(void **state)
{
    piston_request *p = NULL;
    char err[256] = "";

    (void)state;
    /* piston-client's request: args, -1 memory limits, "" stdin. */
    assert_int_equal(parse("{\"language\":\"python\",\"version\":\"3.11.2\","
                           "\"files\":[{\"content\":\"print(1)\"}],\"stdin\":\"\","
                           "\"args\":[\"1\",\"2\",\"3\"],\"compile_timeout\":10000,"
                           "\"run_timeout\":3000,\"compile_memory_limit\":-1,"
                           "\"run_memory_limit\":-1}",
                           &p, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(p->req.language, "python");
    assert_int_equal(p->req.timeout_ms, 3000);
    assert_int_equal(p->req.memory_bytes, 0); /* the server's default */
    assert_int_equal(p->req.nargs, 3);
    assert_null(p->req.entry);             /* an unnamed file: the language's default entry */
    assert_int_equal(p->req.stdin_len, 1); /* Piston's newline */
    assert_memory_equal(p->req.stdin_data, "\n", 1);
    piston_request_free(p);
    p = NULL;

    /* stdin ending in a newline is kept as it is; without one, one is added. */
    assert_int_equal(parse("{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"x\"}],"
                           "\"stdin\":\"a\\nb\\n\"}",
                           &p, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(p->req.stdin_len, 4);
    piston_request_free(p);
    p = NULL;
    assert_int_equal(parse("{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"x\"}],"
                           "\"stdin\":\"a\\nb\",\"run_memory_limit\":100000000}",
                           &p, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(p->req.stdin_len, 4);
    assert_memory_equal(p->req.stdin_data, "a\nb\n", 4);
    assert_int_equal(p->req.memory_bytes, 100000000);
    piston_request_free(p);
    p = NULL;

    /* Refusals in Piston's words. */
    assert_int_equal(parse("{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"x\"}],"
                           "\"stdin\":5}",
                           &p, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "stdin must be a string");
    assert_int_equal(parse("[1]", &p, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "language is required as a string");
    assert_int_equal(parse("{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"x\"}],"
                           "\"run_cpu_time\":\"fast\"}",
                           &p, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "If specified, run_cpu_time must be a number");
    assert_int_equal(
        parse("{\"language\":\"python2.7\",\"version\":\"*\",\"files\":[]}", &p, err, sizeof(err)),
        SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "files must include at least one utf8 encoded file");
    assert_null(p);
}

/* The runtime of a request against the list: SCE_OK with its version, or
 * the unknown-runtime message. */
static void expect_runtime(const char *language, const char *version, const char *found)
{
    char text[256], err[256] = "";
    piston_request *p = NULL;
    int rv;

    snprintf(text, sizeof(text),
             "{\"language\":\"%s\",\"version\":\"%s\",\"files\":[{\"content\":\"1\"}]}", language,
             version);
    assert_int_equal(parse(text, &p, err, sizeof(err)), SCE_OK);
    rv = piston_request_runtime(p, &list, err, sizeof(err));
    if (found != NULL) {
        assert_int_equal(rv, SCE_OK);
        assert_string_equal(p->runtime_version, found);
    } else {
        char want[256];

        assert_int_equal(rv, SCE_ERR_INVALID_ARGUMENT);
        snprintf(want, sizeof(want), "%s-%s runtime is unknown", language, version);
        assert_string_equal(err, want);
    }
    piston_request_free(p);
}

static void test_runtime(void **state)
{
    (void)state;
    set_list(1, 1);
    expect_runtime("python", "*", "3.11.2");
    expect_runtime("py", "3", "3.11.2");
    expect_runtime("py3", "3.x", "3.11.2");
    expect_runtime("python3", "^3.10", "3.11.2");
    expect_runtime("python3.11", "3.11.2", "3.11.2");
    expect_runtime("python3.12", "*", NULL); /* the alias of a version sce does not run */
    expect_runtime("python", "3.12", NULL);
    expect_runtime("python", "2.x", NULL);
    expect_runtime("javascript", "20", "20.11.1");
    expect_runtime("node", ">=18", "20.11.1");
    expect_runtime("js", "15.10.0", NULL); /* Piston's documented example asks for 15.10.0 */
    set_list(1, 0);
    expect_runtime("javascript", "*", NULL); /* not available on the server */
}

static void test_runtimes(void **state)
{
    json_t *arr, *expect;

    (void)state;
    set_list(1, 1);
    arr = piston_request_runtimes(&list);
    expect = json_loads("[{\"language\":\"python\",\"version\":\"3.11.2\",\"aliases\":"
                        "[\"py\",\"py3\",\"python3\",\"python3.11\"]},"
                        "{\"language\":\"javascript\",\"version\":\"20.11.1\",\"aliases\":"
                        "[\"js\",\"node\",\"node-js\",\"node-javascript\"],\"runtime\":\"node\"}]",
                        0, NULL);
    assert_non_null(arr);
    assert_true(json_equal(arr, expect));
    json_decref(arr);
    json_decref(expect);

    set_list(0, 1); /* only what is available */
    arr = piston_request_runtimes(&list);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "language")),
                        "javascript");
    json_decref(arr);
}

static void test_exit_status(void **state)
{
    static const struct {
        sce_verdict verdict;
        int exit_code, signal, stdout_cut, stderr_cut;
        const char *code; /* "null" or the number */
        const char *sig, *status, *message;
        int error;
    } cases[] = {
        {SCE_VERDICT_OK, 0, 0, 0, 0, "0", NULL, NULL, NULL, 0},
        {SCE_VERDICT_RUNTIME_ERROR, 3, 0, 0, 0, "3", NULL, "RE", "Exited with error status 3", 0},
        {SCE_VERDICT_RUNTIME_ERROR, 139, 11, 0, 0, "null", "SIGSEGV", "SG",
         "Caught fatal signal 11", 0},
        {SCE_VERDICT_TIMEOUT, 137, 9, 0, 0, "null", "SIGKILL", "TO",
         "Time limit exceeded (wall clock)", 0},
        {SCE_VERDICT_OUTPUT_LIMIT, 0, 0, 1, 0, "null", "SIGKILL", "OL", "stdout length exceeded",
         0},
        {SCE_VERDICT_OUTPUT_LIMIT, 0, 0, 0, 1, "null", "SIGKILL", "EL", "stderr length exceeded",
         0},
        {SCE_VERDICT_MEMORY_LIMIT, 137, 9, 0, 0, "null", "SIGKILL", "SG", "Caught fatal signal 9",
         0},
        {SCE_VERDICT_CANCELLED, 0, 0, 0, 0, "null", "SIGKILL", "SG", "Caught fatal signal 9", 0},
        {SCE_VERDICT_INTERNAL_ERROR, 0, 0, 0, 0, "null", NULL, "XX", "the engine failed", 1},
        {SCE_VERDICT_REJECTED, 0, 0, 0, 0, "null", NULL, NULL, NULL, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sce_run_result r;
        piston_exit e;

        memset(&r, 0, sizeof(r));
        r.verdict = cases[i].verdict;
        r.exit_code = cases[i].exit_code;
        r.signal = cases[i].signal;
        r.stdout_truncated = cases[i].stdout_cut;
        r.stderr_truncated = cases[i].stderr_cut;
        r.message = (char *)"the engine failed";
        piston_exit_of(&r, &e);
        if (strcmp(cases[i].code, "null") == 0)
            assert_false(e.has_code);
        else
            assert_int_equal(e.code, atoi(cases[i].code));
        if (cases[i].sig != NULL)
            assert_string_equal(e.signal, cases[i].sig);
        else
            assert_null(e.signal);
        if (cases[i].status != NULL)
            assert_string_equal(e.status, cases[i].status);
        else
            assert_null(e.status);
        assert_string_equal(e.message, cases[i].message != NULL ? cases[i].message : "");
        assert_int_equal(e.error != NULL, cases[i].error);
    }
    assert_string_equal(piston_signal_name(9), "SIGKILL");
    assert_null(piston_signal_name(0));
    assert_null(piston_signal_name(99));
}

/* Output in the order written: stdout and stderr interleaved in `output`,
 * a character split across chunks (and across the other stream's chunk)
 * kept whole, a stream's cut character replaced at the end. */
static void test_output_and_answer(void **state)
{
    sce_output_chunk c1[] = {{1, SCE_STREAM_STDOUT, "a\xc3", 2},
                             {2, SCE_STREAM_STDERR, "E1\n", 3},
                             {3, SCE_STREAM_STDOUT, "\xa9z\n", 3}};
    sce_output_chunk c2[] = {{4, SCE_STREAM_STDERR, "E2\xe2\x82", 4}};
    sce_run_events ev1 = {.chunks = c1, .nchunks = 3, .next_seq = 4, .running = 1};
    sce_run_result r;
    sce_run_events ev2 = {.chunks = c2, .nchunks = 1, .next_seq = 5, .done = 1, .result = &r};
    piston_request *p = NULL;
    piston_output o;
    char err[256];
    json_t *a, *run;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.verdict = SCE_VERDICT_RUNTIME_ERROR;
    r.exit_code = 1;
    r.wall_ms = 154;
    r.cpu_ms = 8;
    r.peak_memory_bytes = 1160000;
    piston_output_init(&o, 1024);
    piston_output_add(&o, &ev1);
    piston_output_add(&o, &ev2);
    assert_false(o.failed);
    assert_string_equal(o.out[0].data, "a\xc3\xa9z\n");
    assert_string_equal(o.out[1].data, "E1\nE2\xef\xbf\xbd");
    assert_string_equal(o.out[2].data, "aE1\n\xc3\xa9z\nE2\xef\xbf\xbd");

    set_list(1, 1);
    assert_int_equal(
        parse("{\"language\":\"py3\",\"version\":\"3\",\"files\":[{\"content\":\"x\"}]}", &p, err,
              sizeof(err)),
        SCE_OK);
    assert_int_equal(piston_request_runtime(p, &list, err, sizeof(err)), SCE_OK);
    a = piston_request_answer(p, &r, &o);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "language")), "python");
    assert_string_equal(json_string_value(json_object_get(a, "version")), "3.11.2");
    run = json_object_get(a, "run");
    assert_int_equal(json_object_size(run), 10);
    assert_string_equal(json_string_value(json_object_get(run, "output")),
                        "aE1\n\xc3\xa9z\nE2\xef\xbf\xbd");
    assert_int_equal(json_integer_value(json_object_get(run, "code")), 1);
    assert_true(json_is_null(json_object_get(run, "signal")));
    assert_string_equal(json_string_value(json_object_get(run, "status")), "RE");
    assert_string_equal(json_string_value(json_object_get(run, "message")),
                        "Exited with error status 1");
    assert_int_equal(json_integer_value(json_object_get(run, "cpu_time")), 8);
    assert_int_equal(json_integer_value(json_object_get(run, "wall_time")), 154);
    assert_int_equal(json_integer_value(json_object_get(run, "memory")), 1160000);
    json_decref(a);
    piston_request_free(p);
    piston_output_free(&o);

    a = piston_request_error("html-5.0.0 runtime is unknown");
    assert_string_equal(json_string_value(json_object_get(a, "message")),
                        "html-5.0.0 runtime is unknown");
    assert_int_equal(json_object_size(a), 1);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_execute_fields),    cmocka_unit_test(test_runtime),
        cmocka_unit_test(test_runtimes),          cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_output_and_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
