/*
 * test_piston.c - the pure parts of GET /api/v2/connect: Piston's version
 * ranges (piston_version.c), its messages read and written, an init made
 * into a run request, the exit of a result, output bytes into text
 * (piston_ws.c), and the WebSocket handshake's accept key (ws.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "piston_version.h"
#include "piston_ws.h"
#include "ws.h"

static void test_version_ranges(void **state)
{
    static const struct {
        const char *range, *version;
        int match;
    } cases[] = {
        {"*", "3.11.2", 1},
        {"x", "3.11.2", 1},
        {"", "3.11.2", 1},
        {"3", "3.11.2", 1},
        {"3.x", "3.11.2", 1},
        {"3.11", "3.11.2", 1},
        {"3.11.x", "3.11.2", 1},
        {"3.11.*", "3.11.2", 1},
        {"3.11.2", "3.11.2", 1},
        {"=3.11.2", "3.11.2", 1},
        {"v3.11.2", "3.11.2", 1},
        {"3.11.2", "v3.11.2", 1},
        {"3.11.3", "3.11.2", 0},
        {"3.10", "3.11.2", 0},
        {"2", "3.11.2", 0},
        {"2.x", "3.11.2", 0},
        {"^3.10", "3.11.2", 1},
        {"^3.12", "3.11.2", 0},
        {"^3", "3.11.2", 1},
        {"^2.7", "3.11.2", 0},
        {"^0.2.1", "0.2.5", 1},
        {"^0.2.1", "0.3.0", 0},
        {"^0.0.3", "0.0.4", 0},
        {"^0.0.3", "0.0.3", 1},
        {"^0.x", "0.9.0", 1},
        {"~3.11", "3.11.9", 1},
        {"~3.11", "3.12.0", 0},
        {"~3", "3.99.0", 1},
        {">=3.10", "3.11.2", 1},
        {">=3.12", "3.11.2", 0},
        {"<4", "3.11.2", 1},
        {"<3.11", "3.11.2", 0},
        {"<=3.11", "3.11.2", 1},
        {">3.11", "3.11.2", 0},
        {">3.11.1", "3.11.2", 1},
        {">= 3.10 < 4", "3.11.2", 1},
        {">=3.10 <3.11", "3.11.2", 0},
        {"2.7 || 3.11", "3.11.2", 1},
        {"2.7||^3", "3.11.2", 1},
        {"1 || 2", "3.11.2", 0},
        {"^20", "20.11.1", 1},
        {"18.15.0", "20.11.1", 0},
        {"3.11.2-alpha", "3.11.2", 1},
        {"latest", "3.11.2", 0},
        {"3..1", "3.11.2", 0},
        {"3.11.2.1", "3.11.2", 0},
        {"*", "3.11", 0},
        {"*", "garbage", 0},
        {"^", "3.11.2", 1},
        {"3.x.1", "3.11.2", 0},
        {"99999999999", "3.11.2", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = piston_version_match(cases[i].range, cases[i].version);

        if (got != cases[i].match)
            fail_msg("'%s' against %s: %d, expected %d", cases[i].range, cases[i].version, got,
                     cases[i].match);
    }
    assert_int_equal(piston_version_match(NULL, "3.11.2"), 0);
    assert_int_equal(piston_version_match("*", NULL), 0);
}

/* Reads text with the given state; returns the action (m filled). */
static piston_action rd(const char *text, int initialized, piston_msg *m)
{
    piston_ws_read(text, strlen(text), initialized, m);
    return m->action;
}

static void test_read_messages(void **state)
{
    piston_msg m;

    (void)state;
    assert_int_equal(rd("{\"type\":\"init\",\"language\":\"py\"}", 0, &m), PISTON_INIT);
    assert_non_null(m.json);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"init\"}", 1, &m), PISTON_CLOSE);
    assert_int_equal(m.close_code, PISTON_CLOSE_ALREADY_INITIALIZED);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"data\",\"stream\":\"stdin\",\"data\":\"x\"}", 0, &m),
                     PISTON_CLOSE);
    assert_int_equal(m.close_code, PISTON_CLOSE_NOT_INITIALIZED);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"data\",\"stream\":\"stdout\",\"data\":\"x\"}", 1, &m),
                     PISTON_CLOSE);
    assert_int_equal(m.close_code, PISTON_CLOSE_STDIN_ONLY);
    json_decref(m.json);
    assert_int_equal(
        rd("{\"type\":\"data\",\"stream\":\"stdin\",\"data\":\"A\\u0000da\\n\"}", 1, &m),
        PISTON_STDIN);
    assert_int_equal(m.len, 5);
    assert_memory_equal(m.data, "A\0da\n", 5);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"signal\",\"signal\":\"SIGTERM\"}", 0, &m), PISTON_CLOSE);
    assert_int_equal(m.close_code, PISTON_CLOSE_NOT_INITIALIZED);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"signal\",\"signal\":\"SIGNOPE\"}", 1, &m), PISTON_CLOSE);
    assert_int_equal(m.close_code, PISTON_CLOSE_INVALID_SIGNAL);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"signal\",\"signal\":\"SIGTERM\"}", 1, &m), PISTON_SIGNAL);
    assert_int_equal(m.kill, 1);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"signal\",\"signal\":\"SIGWINCH\"}", 1, &m), PISTON_SIGNAL);
    assert_int_equal(m.kill, 0);
    json_decref(m.json);
    assert_int_equal(rd("{\"type\":\"hello\"}", 0, &m), PISTON_IGNORE);
    json_decref(m.json);
    assert_int_equal(rd("[1,2]", 0, &m), PISTON_IGNORE);
    json_decref(m.json);
    assert_int_equal(rd("not json", 0, &m), PISTON_ERROR);
    assert_null(m.json);
    assert_true(strlen(m.error) > 0);
    assert_int_equal(rd("null", 0, &m), PISTON_ERROR);
    json_decref(m.json);
    assert_string_equal(piston_ws_close_reason(4000), "Already Initialized");
    assert_string_equal(piston_ws_close_reason(4001), "Initialization Timeout");
    assert_string_equal(piston_ws_close_reason(4002), "Notified Error");
    assert_string_equal(piston_ws_close_reason(4003), "Not yet initialized");
    assert_string_equal(piston_ws_close_reason(4004), "Can only write to stdin");
    assert_string_equal(piston_ws_close_reason(4005), "Invalid signal");
    assert_string_equal(piston_ws_close_reason(4999), "Job Completed");
    assert_string_equal(piston_ws_close_reason(1000), "");
}

/* piston_request_parse (as the WebSocket's init) of a JSON text: SCE_OK with *in, or the error in
 * err. */
static int init_of(const char *text, piston_request **in, char *err, size_t errlen)
{
    json_t *j = json_loads(text, 0, NULL);
    int rv;

    assert_non_null(j);
    rv = piston_request_parse(j, 0, in, err, errlen);
    json_decref(j);
    return rv;
}

static void test_init_refused(void **state)
{
    static const struct {
        const char *json, *error;
    } cases[] = {
        {"{}", "language is required as a string"},
        {"{\"language\":5}", "language is required as a string"},
        {"{\"language\":\"py\"}", "version is required as a string"},
        {"{\"language\":\"py\",\"version\":\"*\"}", "files is required as an array"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"name\":\"a\"}]}",
         "files[0].content is required as a string"},
        {"{\"language\":\"cobol\",\"version\":\"1.x\",\"files\":[{\"content\":\"\"}]}",
         "cobol-1.x runtime is unknown"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"AA\",\"encoding\":"
         "\"base64\"}]}",
         "files must include at least one utf8 encoded file"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"\"}],\"run_timeout\":"
         "\"5\"}",
         "If specified, run_timeout must be a number"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"\"}],"
         "\"compile_memory_limit\":-2}",
         "compile_memory_limit must be non-negative"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"\"}],"
         "\"run_timeout\":-1}",
         "run_timeout must be non-negative"},
        {"{\"language\":\"py\",\"version\":\"*\",\"files\":[{\"content\":\"\"}],\"args\":[1]}",
         "args must be an array of strings"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        piston_request *in = NULL;
        char err[256] = "";

        assert_int_equal(init_of(cases[i].json, &in, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
        assert_null(in);
        assert_string_equal(err, cases[i].error);
    }
}

static void test_init_request(void **state)
{
    piston_request *in = NULL;
    char err[256] = "";

    (void)state;
    /* One file: the code; Piston's limits in ms and bytes; falsy ones ignored. */
    assert_int_equal(init_of("{\"type\":\"init\",\"language\":\"python3\",\"version\":\"3.x\","
                             "\"files\":[{\"name\":\"m.py\",\"content\":\"print(1)\"}],"
                             "\"args\":[\"a\",\"b\"],\"stdin\":\"ignored\",\"run_timeout\":2500,"
                             "\"run_memory_limit\":100000000,\"compile_timeout\":0}",
                             &in, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(in->req.language, "python");
    assert_string_equal(in->runtime_name, "python");
    assert_string_equal(in->req.code, "print(1)");
    assert_int_equal(in->req.nfiles, 0);
    assert_string_equal(in->req.entry, "m.py"); /* a single file runs under its name */
    assert_int_equal(in->req.nargs, 2);
    assert_string_equal(in->req.args[1], "b");
    assert_int_equal(in->req.stdin_len, 0);
    assert_int_equal(in->req.timeout_ms, 2500);
    assert_int_equal(in->req.memory_bytes, 100000000);
    assert_string_equal(in->version, "3.x");
    piston_request_free(in);
    in = NULL;

    /* Several files: a bundle whose entry is the first utf8 one, unnamed
     * files named as Piston names them, base64 and hex decoded. */
    assert_int_equal(init_of("{\"language\":\"js\",\"version\":\"*\",\"files\":["
                             "{\"content\":\"aGk=\",\"encoding\":\"base64\"},"
                             "{\"content\":\"require('./x')\"},"
                             "{\"name\":\"x.js\",\"content\":\"6869\",\"encoding\":\"hex\"}]}",
                             &in, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(in->req.language, "node");
    assert_string_equal(in->runtime_name, "javascript");
    assert_null(in->req.code);
    assert_int_equal(in->req.nfiles, 3);
    assert_string_equal(in->req.entry, "file1.code");
    assert_string_equal(in->req.files[0].path, "file0.code");
    assert_int_equal(in->req.files[0].len, 2);
    assert_memory_equal(in->req.files[0].data, "hi", 2);
    assert_int_equal(in->req.files[2].len, 2);
    assert_memory_equal(in->req.files[2].data, "hi", 2);
    piston_request_free(in);

    for (const char *const *a =
             (const char *const[]){"node", "node-js", "node-javascript", "javascript", NULL};
         *a != NULL; a++) {
        char text[200];

        snprintf(text, sizeof(text),
                 "{\"language\":\"%s\",\"version\":\"*\",\"files\":[{\"content\":\"1\"}]}", *a);
        in = NULL;
        assert_int_equal(init_of(text, &in, err, sizeof(err)), SCE_OK);
        assert_string_equal(in->req.language, "node");
        piston_request_free(in);
    }
}

static void test_exit_of(void **state)
{
    static const struct {
        sce_verdict verdict;
        int exit_code, signal;
        int has_code, code;
        const char *sig;
        int error;
    } cases[] = {
        {SCE_VERDICT_OK, 0, 0, 1, 0, NULL, 0},
        {SCE_VERDICT_RUNTIME_ERROR, 3, 0, 1, 3, NULL, 0},
        {SCE_VERDICT_RUNTIME_ERROR, 139, 11, 0, 0, "SIGSEGV", 0},
        {SCE_VERDICT_TIMEOUT, 137, 9, 0, 0, "SIGKILL", 0},
        {SCE_VERDICT_MEMORY_LIMIT, 137, 9, 0, 0, "SIGKILL", 0},
        {SCE_VERDICT_OUTPUT_LIMIT, 0, 0, 0, 0, "SIGKILL", 0},
        {SCE_VERDICT_CANCELLED, 0, 0, 0, 0, "SIGKILL", 0},
        {SCE_VERDICT_INTERNAL_ERROR, 0, 0, 0, 0, NULL, 1},
        {SCE_VERDICT_REJECTED, 0, 0, 0, 0, NULL, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sce_run_result r;
        piston_exit e;

        memset(&r, 0, sizeof(r));
        r.verdict = cases[i].verdict;
        r.exit_code = cases[i].exit_code;
        r.signal = cases[i].signal;
        r.message = (char *)"the engine failed";
        piston_exit_of(&r, &e);
        assert_int_equal(e.has_code, cases[i].has_code);
        if (e.has_code)
            assert_int_equal(e.code, cases[i].code);
        if (cases[i].sig != NULL)
            assert_string_equal(e.signal, cases[i].sig);
        else
            assert_null(e.signal);
        if (cases[i].error)
            assert_string_equal(e.error, "the engine failed");
        else
            assert_null(e.error);
    }
}

static void test_messages_written(void **state)
{
    piston_exit e = {.has_code = 1};
    char *s;

    (void)state;
    s = piston_ws_msg_runtime("python", "3.11.2");
    assert_string_equal(s, "{\"type\":\"runtime\",\"language\":\"python\",\"version\":\"3.11.2\"}");
    free(s);
    s = piston_ws_msg_stage("run");
    assert_string_equal(s, "{\"type\":\"stage\",\"stage\":\"run\"}");
    free(s);
    s = piston_ws_msg_data("stdout", "a\"\n", 3);
    assert_string_equal(s, "{\"type\":\"data\",\"stream\":\"stdout\",\"data\":\"a\\\"\\n\"}");
    free(s);
    s = piston_ws_msg_exit("run", &e);
    assert_string_equal(s, "{\"type\":\"exit\",\"stage\":\"run\",\"code\":0,\"signal\":null}");
    free(s);
    e = (piston_exit){.signal = "SIGKILL"};
    s = piston_ws_msg_exit("run", &e);
    assert_string_equal(
        s, "{\"type\":\"exit\",\"stage\":\"run\",\"code\":null,\"signal\":\"SIGKILL\"}");
    free(s);
    s = piston_ws_msg_error("x-1 runtime is unknown");
    assert_string_equal(s, "{\"type\":\"error\",\"message\":\"x-1 runtime is unknown\"}");
    free(s);
}

static void test_text(void **state)
{
    sce_utf8_pieces t = {{0}, 0};
    size_t n;
    char *s;

    (void)state;
    /* "é" (C3 A9) split over two chunks; then a 4-byte one over three. */
    s = sce_utf8_pieces_feed(&t, "ab\xC3", 3, 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(s, "ab");
    free(s);
    s = sce_utf8_pieces_feed(&t, "\xA9\xF0\x9F", 3, 0, &n);
    assert_string_equal(s, "\xC3\xA9");
    free(s);
    s = sce_utf8_pieces_feed(&t, "\x98", 1, 0, &n);
    assert_string_equal(s, "");
    free(s);
    s = sce_utf8_pieces_feed(&t, "\x80!", 2, 0, &n);
    assert_string_equal(s, "\xF0\x9F\x98\x80!");
    free(s);
    /* Invalid bytes are U+FFFD at once; an incomplete end, at the end. */
    s = sce_utf8_pieces_feed(&t, "\x80x\xE2\x82", 4, 0, &n);
    assert_string_equal(s, "\xEF\xBF\xBDx");
    free(s);
    s = sce_utf8_pieces_feed(&t, NULL, 0, 1, &n);
    assert_string_equal(s, "\xEF\xBF\xBD");
    free(s);
    assert_int_equal(t.nheld, 0);
    /* Cuts fall between characters. */
    assert_int_equal(piston_text_cut("ab\xC3\xA9", 4, 3), 2);
    assert_int_equal(piston_text_cut("ab\xC3\xA9", 4, 4), 4);
    assert_int_equal(piston_text_cut("abcd", 4, 10), 4);
}

static void test_accept_key(void **state)
{
    char out[32];

    (void)state;
    /* RFC 6455, section 1.3. */
    gw_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, sizeof(out));
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(gw_ws_is_connect("/api/v2/connect"));
    assert_false(gw_ws_is_connect("/api/v2/connect/"));
    assert_false(gw_ws_is_connect(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_ranges), cmocka_unit_test(test_read_messages),
        cmocka_unit_test(test_init_refused),   cmocka_unit_test(test_init_request),
        cmocka_unit_test(test_exit_of),        cmocka_unit_test(test_messages_written),
        cmocka_unit_test(test_text),           cmocka_unit_test(test_accept_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
