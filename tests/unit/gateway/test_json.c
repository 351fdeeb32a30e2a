/*
 * test_json.c - the gateway's JSON <-> libsce mapping (web-gateway/json.c),
 * table-driven.
 *
 * Bad bodies: each row is a POST /run body and the exact message it must
 * get; the message is the API's contract with its users, so a change in
 * wording is a change here.  Good bodies: each row says what the
 * sce_run_request must hold.  Then the answers: run results (output/error
 * meaning, lossy UTF-8, NUL bytes, truncation), errors, languages, health,
 * and the tables of HTTP statuses and Content-Types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"
#include "json.h"
#include "sce/err.h"

#define FFFD "\xEF\xBF\xBD"

/* ------------------------------------------------------------ bad bodies */

typedef struct bad_row {
    const char *body;
    size_t len; /* 0: strlen(body) */
    const char *want;
} bad_row;

/* clang-format off */
static const bad_row bad_rows[] = {
    /* the body as a whole */
    {"", 0, "body: empty; expected a JSON object"},
    {"{", 0, "body: invalid JSON at line 1 column 1: string or '}' expected near end of file"},
    {"{\"code\": }", 0, "body: invalid JSON at line 1 column 10: unexpected token near '}'"},
    {"{\"code\": \"x\",}", 0,
     "body: invalid JSON at line 1 column 14: string or '}' expected near '}'"},
    {"{\"code\": \"a\", \"code\": \"b\"}", 0,
     "body: invalid JSON at line 1 column 20: duplicate object key near '\"code\"'"},
    {"{\"code\": \"\xff\"}", 0,
     "body: invalid JSON at line 1 column 10: unable to decode byte 0xff near '\"'"},
    {"{\"code\": \"x\"} trailing", 0,
     "body: invalid JSON at line 1 column 22: end of file expected near 'trailing'"},
    {"[]", 0, "body: expected a JSON object"},
    {"[{\"code\": \"print(1)\"}]", 0, "body: expected a JSON object"},
    {"\"print(1)\"", 0, "body: expected a JSON object"},
    {"42", 0, "body: expected a JSON object"},
    {"null", 0, "body: expected a JSON object"},
    /* code */
    {"{}", 0, "code: required"},
    {"{\"language\": \"python\"}", 0, "code: required"},
    {"{\"code\": null}", 0, "code: required"},
    {"{\"code\": 5}", 0, "code: expected a string"},
    {"{\"code\": [\"print(1)\"]}", 0, "code: expected a string"},
    {"{\"code\": \"a\\u0000b\"}", 0, "code: contains a NUL character"},
    {"{\"code\": \"x\", \"files\": [{\"path\": \"a.py\", \"content\": \"\"}]}", 0,
     "files: give either code or files, not both"},
    /* the first problem wins, in a fixed order */
    {"{\"code\": 1, \"language\": 2}", 0, "code: expected a string"},
    {"{\"code\": \"x\", \"language\": 2, \"stdin\": 3}", 0, "language: expected a string"},
    /* language */
    {"{\"code\": \"x\", \"language\": 2}", 0, "language: expected a string"},
    {"{\"code\": \"x\", \"language\": \"\"}", 0, "language: expected a non-empty string"},
    {"{\"code\": \"x\", \"language\": \"py\\u0000thon\"}", 0, "language: contains a NUL character"},
    /* stdin */
    {"{\"code\": \"x\", \"stdin\": 3}", 0, "stdin: expected a string"},
    {"{\"code\": \"x\", \"stdin\": [\"a\"]}", 0, "stdin: expected a string"},
    /* args */
    {"{\"code\": \"x\", \"args\": \"a b\"}", 0, "args: expected an array of strings"},
    {"{\"code\": \"x\", \"args\": {\"0\": \"a\"}}", 0, "args: expected an array of strings"},
    {"{\"code\": \"x\", \"args\": [\"a\", \"b\", 3]}", 0, "args[2]: expected a string"},
    {"{\"code\": \"x\", \"args\": [null]}", 0, "args[0]: expected a string"},
    {"{\"code\": \"x\", \"args\": [\"a\", \"b\\u0000\"]}", 0, "args[1]: contains a NUL character"},
    /* limits */
    {"{\"code\": \"x\", \"timeout_ms\": \"1000\"}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": 0}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": -5}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": 1.5}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": 1000.0}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": true}", 0, "timeout_ms: expected a positive integer"},
    {"{\"code\": \"x\", \"timeout_ms\": 4294967296}", 0,
     "timeout_ms: expected a positive integer no larger than 4294967295"},
    {"{\"code\": \"x\", \"memory_bytes\": -1}", 0, "memory_bytes: expected a positive integer"},
    {"{\"code\": \"x\", \"memory_bytes\": \"64m\"}", 0, "memory_bytes: expected a positive integer"},
    {"{\"code\": \"x\", \"output_limit_bytes\": 0}", 0,
     "output_limit_bytes: expected a positive integer"},
    {"{\"code\": \"x\", \"output_limit_bytes\": 4294967296}", 0,
     "output_limit_bytes: expected a positive integer no larger than 4294967295"},
    /* files */
    {"{\"files\": {}}", 0, "files: expected an array"},
    {"{\"files\": \"main.py\"}", 0, "files: expected an array"},
    {"{\"files\": []}", 0, "files: expected at least one file"},
    {"{\"files\": [1]}", 0, "files[0]: expected an object"},
    {"{\"files\": [{\"path\": \"a.py\", \"content\": \"\"}, []]}", 0,
     "files[1]: expected an object"},
    {"{\"files\": [{\"content\": \"\"}]}", 0, "files[0].path: required"},
    {"{\"files\": [{\"path\": 1, \"content\": \"\"}]}", 0, "files[0].path: expected a string"},
    {"{\"files\": [{\"path\": \"a\\u0000.py\", \"content\": \"\"}]}", 0,
     "files[0].path: contains a NUL character"},
    {"{\"files\": [{\"path\": \"a.py\"}]}", 0, "files[0].content: required"},
    {"{\"files\": [{\"path\": \"a.py\", \"content\": null}]}", 0,
     "files[0].content: expected a string"},
    {"{\"files\": [{\"path\": \"a.py\", \"content\": 7}]}", 0,
     "files[0].content: expected a string"},
    /* entry */
    {"{\"code\": \"x\", \"entry\": 1}", 0, "entry: expected a string"},
    {"{\"code\": \"x\", \"entry\": \"m\\u0000.py\"}", 0, "entry: contains a NUL character"},
};
/* clang-format on */

/* Every row is checked and every mismatch printed before failing, so one
 * run shows all the messages that changed. */
static void test_bad_bodies(void **state)
{
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        const bad_row *r = &bad_rows[i];
        gw_run_input in;
        char err[512];
        int rv;

        memset(&in, 0x5a, sizeof(in)); /* must come back zeroed */
        rv = gw_json_run_input(r->body, r->len ? r->len : strlen(r->body), &in, err, sizeof(err));
        if (rv != SCE_ERR_INVALID_ARGUMENT || strcmp(err, r->want) != 0) {
            print_error("body %s:\n  got  %s (%s)\n  want %s\n", r->body, err, sce_err_name(rv),
                        r->want);
            failures++;
        }
        assert_null(in.root);
        assert_null(in.args);
        assert_null(in.files);
        assert_null(in.req.code);
        gw_run_input_free(&in); /* a zeroed input is accepted */
    }
    assert_int_equal(failures, 0);
}

/* A body need not be NUL-terminated: only len bytes are read. */
static void test_body_length_is_respected(void **state)
{
    const char body[] = "{\"code\": \"print(1)\"}GARBAGE";
    gw_run_input in;
    char err[256];

    (void)state;
    assert_int_equal(gw_json_run_input(body, 20, &in, err, sizeof(err)), SCE_OK);
    assert_string_equal(in.req.code, "print(1)");
    gw_run_input_free(&in);
    assert_int_equal(gw_json_run_input(body, 19, &in, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "body: invalid JSON at line 1 column 19: "
                             "'}' expected near end of file");
}

/* ------------------------------------------------------------ good bodies */

typedef struct good_row {
    const char *name;
    const char *body;
    const char *language;
    const char *code; /* NULL: none */
    const char *stdin_data;
    size_t stdin_len;
    const char *args[4]; /* NULL-terminated */
    uint32_t timeout_ms;
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;
    size_t nfiles;
    const char *file0_path;
    const char *file0_data;
    size_t file0_len;
    const char *entry;
} good_row;

/* clang-format off */
static const good_row good_rows[] = {
    {"the reference's body", "{\"code\": \"print(2+2)\"}",
     "python", "print(2+2)", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"empty code is the server's to refuse", "{\"code\": \"\"}",
     "python", "", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"everything", "{\"code\": \"console.log(1)\", \"language\": \"node\", \"stdin\": \"a\\u0000b\","
     " \"args\": [\"x\", \"\\u00e9\"], \"timeout_ms\": 1000, \"memory_bytes\": 67108864,"
     " \"output_limit_bytes\": 1024, \"entry\": \"app.js\"}",
     "node", "console.log(1)", "a\0b", 3, {"x", "\xC3\xA9", NULL}, 1000, 67108864, 1024, 0,
     NULL, NULL, 0, "app.js"},
    {"null means not given", "{\"code\": \"x\", \"language\": null, \"stdin\": null, \"args\": null,"
     " \"timeout_ms\": null, \"memory_bytes\": null, \"output_limit_bytes\": null,"
     " \"files\": null, \"entry\": null}",
     "python", "x", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"unknown fields are ignored", "{\"code\": \"x\", \"lang\": 5, \"extra\": {\"a\": [1, 2]}}",
     "python", "x", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"no arguments", "{\"code\": \"x\", \"args\": []}",
     "python", "x", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"the language is not checked here", "{\"code\": \"x\", \"language\": \"cobol\"}",
     "cobol", "x", NULL, 0, {NULL}, 0, 0, 0, 0, NULL, NULL, 0, NULL},
    {"largest limits", "{\"code\": \"x\", \"timeout_ms\": 4294967295,"
     " \"memory_bytes\": 9223372036854775807, \"output_limit_bytes\": 4294967295}",
     "python", "x", NULL, 0, {NULL}, 4294967295u, 9223372036854775807ull, 4294967295u, 0,
     NULL, NULL, 0, NULL},
    {"a bundle with binary content", "{\"files\": [{\"path\": \"pkg/main.py\","
     " \"content\": \"\\u0000\\u00ff\"}, {\"path\": \"b.py\", \"content\": \"\"}],"
     " \"entry\": \"pkg/main.py\"}",
     "python", NULL, NULL, 0, {NULL}, 0, 0, 0, 2, "pkg/main.py", "\0\xC3\xBF", 3,
     "pkg/main.py"},
    {"a bundle with code: null", "{\"code\": null, \"files\": [{\"path\": \"a\", \"content\": \"1\"}]}",
     "python", NULL, NULL, 0, {NULL}, 0, 0, 0, 1, "a", "1", 1, NULL},
};
/* clang-format on */

static void test_good_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_rows) / sizeof(good_rows[0]); i++) {
        const good_row *r = &good_rows[i];
        gw_run_input in;
        char err[512];
        size_t nargs = 0;
        int rv = gw_json_run_input(r->body, strlen(r->body), &in, err, sizeof(err));

        if (rv != SCE_OK)
            fail_msg("%s: refused: %s", r->name, err);
        assert_string_equal(in.req.language, r->language);
        if (r->code == NULL)
            assert_null(in.req.code);
        else
            assert_string_equal(in.req.code, r->code);
        assert_int_equal(in.req.stdin_len, r->stdin_len);
        if (r->stdin_len > 0)
            assert_memory_equal(in.req.stdin_data, r->stdin_data, r->stdin_len);
        else
            assert_null(in.req.stdin_data);
        while (r->args[nargs] != NULL)
            nargs++;
        assert_int_equal(in.req.nargs, nargs);
        for (size_t j = 0; j < nargs; j++)
            assert_string_equal(in.req.args[j], r->args[j]);
        assert_int_equal(in.req.timeout_ms, r->timeout_ms);
        assert_true(in.req.memory_bytes == r->memory_bytes);
        assert_int_equal(in.req.output_limit_bytes, r->output_limit_bytes);
        assert_int_equal(in.req.nfiles, r->nfiles);
        if (r->nfiles > 0) {
            assert_string_equal(in.req.files[0].path, r->file0_path);
            assert_int_equal(in.req.files[0].len, r->file0_len);
            assert_memory_equal(in.req.files[0].data, r->file0_data, r->file0_len);
        } else {
            assert_null(in.req.files);
        }
        if (r->entry == NULL)
            assert_null(in.req.entry);
        else
            assert_string_equal(in.req.entry, r->entry);
        gw_run_input_free(&in);
        assert_null(in.root);
    }
}

/* ------------------------------------------------------------ UTF-8 */

typedef struct utf8_row {
    const char *name;
    const char *in;
    size_t in_len;
    const char *out;
    size_t out_len;
    int lossy;
} utf8_row;

#define U(s) s, sizeof(s) - 1

/* clang-format off */
static const utf8_row utf8_rows[] = {
    {"empty", U(""), U(""), 0},
    {"ASCII", U("hello\n"), U("hello\n"), 0},
    {"NUL bytes are kept", U("a\0b\0"), U("a\0b\0"), 0},
    {"two-byte", U("caf\xC3\xA9"), U("caf\xC3\xA9"), 0},
    {"three-byte", U("\xE2\x82\xAC"), U("\xE2\x82\xAC"), 0},
    {"four-byte", U("\xF0\x9F\x98\x80"), U("\xF0\x9F\x98\x80"), 0},
    {"largest code point", U("\xF4\x8F\xBF\xBF"), U("\xF4\x8F\xBF\xBF"), 0},
    {"lone 0xff", U("a\xFF" "b"), U("a" FFFD "b"), 1},
    {"lone continuation", U("\x80"), U(FFFD), 1},
    {"cut two-byte at the end", U("ab\xC3"), U("ab" FFFD), 1},
    {"cut three-byte: one U+FFFD", U("\xE2\x82"), U(FFFD), 1},
    {"cut four-byte: one U+FFFD", U("\xF0\x9F\x98" "x"), U(FFFD "x"), 1},
    {"bad second byte: two U+FFFD", U("\xE2\x28\xA1"), U(FFFD "(" FFFD), 1},
    {"overlong two-byte", U("\xC0\xAF"), U(FFFD FFFD), 1},
    {"overlong three-byte", U("\xE0\x80\xAF"), U(FFFD FFFD FFFD), 1},
    {"surrogate", U("\xED\xA0\x80"), U(FFFD FFFD FFFD), 1},
    {"past U+10FFFF", U("\xF4\x90\x80\x80"), U(FFFD FFFD FFFD FFFD), 1},
    {"0xf5 lead", U("\xF5\x80"), U(FFFD FFFD), 1},
    {"valid after invalid", U("\xFF\xC3\xA9"), U(FFFD "\xC3\xA9"), 1},
    {"Latin-1 text", U("na\xEFve"), U("na" FFFD "ve"), 1},
};
/* clang-format on */

static void test_utf8_lossy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(utf8_rows) / sizeof(utf8_rows[0]); i++) {
        const utf8_row *r = &utf8_rows[i];
        size_t len = 12345;
        int lossy = -1;
        char *out = sce_utf8_lossy(r->in, r->in_len, &len, &lossy);

        assert_non_null(out);
        if (len != r->out_len || memcmp(out, r->out, len) != 0 || lossy != r->lossy)
            fail_msg("%s: got %zu bytes, lossy %d; want %zu bytes, lossy %d", r->name, len, lossy,
                     r->out_len, r->lossy);
        assert_int_equal(out[len], '\0');
        free(out);
    }
}

/* ------------------------------------------------------------ run results */

static sce_run_result base_result(void)
{
    sce_run_result r;

    memset(&r, 0, sizeof(r));
    r.verdict = SCE_VERDICT_OK;
    r.stdout_data = "4\n";
    r.stdout_len = 2;
    r.stderr_data = "";
    r.message = "";
    r.wall_ms = 120;
    r.cpu_ms = 30;
    r.peak_memory_bytes = 9 << 20;
    r.language = "python";
    r.language_version = "3.11.2";
    r.timeout_ms = 10000;
    r.memory_bytes = 128 << 20;
    r.output_limit_bytes = 65536;
    r.request_id = "0123456789abcdef";
    return r;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static json_int_t num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static int flag(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_boolean(v))
        fail_msg("\"%s\" is not a boolean", key);
    return json_is_true(v);
}

/* The answer must survive a trip through text: valid JSON, same content. */
static void assert_round_trip(json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_error_t e;
    json_t *back;

    assert_non_null(text);
    back = json_loads(text, JSON_ALLOW_NUL, &e);
    if (back == NULL)
        fail_msg("not valid JSON: %s: %s", e.text, text);
    assert_true(json_equal(o, back));
    json_decref(back);
    free(text);
}

static void test_result_ok(void **state)
{
    sce_run_result r = base_result();
    json_t *o = sce_json_run_result(&r), *lim;
    /* clang-format off */
    static const char *const keys[] = {
        "output", "error", "status", "exit_code", "signal", "stdout", "stderr",
        "stdout_truncated", "stderr_truncated", "truncated", "stdout_lossy", "stderr_lossy",
        "message", "wall_ms", "cpu_ms", "peak_memory_bytes", "language", "language_version",
        "limits", "request_id"};
    /* clang-format on */

    (void)state;
    assert_non_null(o);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(o, keys[i]) == NULL)
            fail_msg("no \"%s\" in the answer", keys[i]);
    assert_int_equal(json_object_size(o), sizeof(keys) / sizeof(keys[0]));
    assert_string_equal(str(o, "output"), "4\n");
    assert_string_equal(str(o, "error"), "");
    assert_string_equal(str(o, "status"), "ok");
    assert_string_equal(str(o, "stdout"), "4\n");
    assert_string_equal(str(o, "message"), "");
    assert_int_equal(num(o, "exit_code"), 0);
    assert_int_equal(num(o, "wall_ms"), 120);
    assert_int_equal(num(o, "cpu_ms"), 30);
    assert_int_equal(num(o, "peak_memory_bytes"), 9 << 20);
    assert_false(flag(o, "truncated"));
    assert_false(flag(o, "stdout_lossy"));
    assert_string_equal(str(o, "language_version"), "3.11.2");
    assert_string_equal(str(o, "request_id"), "0123456789abcdef");
    lim = json_object_get(o, "limits");
    assert_int_equal(num(lim, "timeout_ms"), 10000);
    assert_int_equal(num(lim, "memory_bytes"), 128 << 20);
    assert_int_equal(num(lim, "output_limit_bytes"), 65536);
    assert_round_trip(o);
    json_decref(o);
}

/* The reference's meaning: "output" is what the program printed, "error"
 * the one line that says why it failed ("" when it did not). */
typedef struct verdict_row {
    sce_verdict verdict;
    const char *message;
    const char *want_status;
    const char *want_error;
} verdict_row;

static const verdict_row verdict_rows[] = {
    {SCE_VERDICT_OK, "", "ok", ""},
    {SCE_VERDICT_RUNTIME_ERROR, "NameError: name 'x' is not defined", "runtime_error",
     "NameError: name 'x' is not defined"},
    {SCE_VERDICT_TIMEOUT, "Execution timed out after 10 seconds", "timeout",
     "Execution timed out after 10 seconds"},
    {SCE_VERDICT_MEMORY_LIMIT, "Killed: memory limit of 128 MiB exceeded", "memory_limit",
     "Killed: memory limit of 128 MiB exceeded"},
    {SCE_VERDICT_OUTPUT_LIMIT, "Output limit exceeded", "output_limit", "Output limit exceeded"},
    {SCE_VERDICT_INTERNAL_ERROR, "the sandbox failed", "internal_error", "the sandbox failed"},
    /* a failure without a message still has a non-empty "error" */
    {SCE_VERDICT_RUNTIME_ERROR, "", "runtime_error", "runtime_error"},
};

static void test_result_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verdict_rows) / sizeof(verdict_rows[0]); i++) {
        const verdict_row *v = &verdict_rows[i];
        sce_run_result r = base_result();
        json_t *o;

        r.verdict = v->verdict;
        r.message = (char *)v->message;
        r.stdout_data = "partial\n";
        r.stdout_len = 8;
        o = sce_json_run_result(&r);
        assert_non_null(o);
        assert_string_equal(str(o, "status"), v->want_status);
        assert_string_equal(str(o, "error"), v->want_error);
        assert_string_equal(str(o, "message"), v->message);
        assert_string_equal(str(o, "output"), "partial\n");
        json_decref(o);
    }
}

static void test_result_bytes(void **state)
{
    sce_run_result r = base_result();
    json_t *o;
    char *text;

    (void)state;
    /* NUL bytes survive as \u0000; invalid UTF-8 becomes U+FFFD. */
    r.stdout_data = "a\0b\xFF";
    r.stdout_len = 4;
    r.stderr_data = "e\0rr";
    r.stderr_len = 4;
    r.verdict = SCE_VERDICT_RUNTIME_ERROR;
    r.exit_code = 137;
    r.signal = 9;
    r.message = "Killed by signal 9 (SIGKILL)";
    o = sce_json_run_result(&r);
    assert_non_null(o);
    assert_int_equal(json_string_length(json_object_get(o, "stdout")), 6);
    assert_memory_equal(json_string_value(json_object_get(o, "stdout")), "a\0b" FFFD, 6);
    assert_memory_equal(json_string_value(json_object_get(o, "output")), "a\0b" FFFD, 6);
    assert_int_equal(json_string_length(json_object_get(o, "stderr")), 4);
    assert_memory_equal(json_string_value(json_object_get(o, "stderr")), "e\0rr", 4);
    assert_true(flag(o, "stdout_lossy"));
    assert_false(flag(o, "stderr_lossy"));
    assert_int_equal(num(o, "exit_code"), 137);
    assert_int_equal(num(o, "signal"), 9);
    text = json_dumps(o, JSON_COMPACT);
    assert_non_null(strstr(text, "\"stdout\":\"a\\u0000b\xEF\xBF\xBD\""));
    free(text);
    assert_round_trip(o);
    json_decref(o);

    /* Lossy stderr only. */
    r = base_result();
    r.stderr_data = "\xC3";
    r.stderr_len = 1;
    o = sce_json_run_result(&r);
    assert_false(flag(o, "stdout_lossy"));
    assert_true(flag(o, "stderr_lossy"));
    assert_string_equal(str(o, "stderr"), FFFD);
    json_decref(o);

    /* Server strings are not trusted to be UTF-8 either. */
    r = base_result();
    r.message = "bad \xFF message";
    r.language_version = "\xC0";
    r.verdict = SCE_VERDICT_RUNTIME_ERROR;
    o = sce_json_run_result(&r);
    assert_non_null(o);
    assert_string_equal(str(o, "error"), "bad " FFFD " message");
    assert_string_equal(str(o, "language_version"), FFFD);
    json_decref(o);

    /* NULL output pointers (a zeroed result) are empty strings. */
    memset(&r, 0, sizeof(r));
    o = sce_json_run_result(&r);
    assert_non_null(o);
    assert_string_equal(str(o, "stdout"), "");
    assert_string_equal(str(o, "request_id"), "");
    assert_string_equal(str(o, "status"), "unspecified");
    json_decref(o);
}

static void test_result_truncated(void **state)
{
    static const int rows[][3] = {
        /* stdout_truncated, stderr_truncated, truncated */
        {0, 0, 0},
        {1, 0, 1},
        {0, 1, 1},
        {1, 1, 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sce_run_result r = base_result();
        json_t *o;

        r.stdout_truncated = rows[i][0];
        r.stderr_truncated = rows[i][1];
        o = sce_json_run_result(&r);
        assert_int_equal(flag(o, "stdout_truncated"), rows[i][0]);
        assert_int_equal(flag(o, "stderr_truncated"), rows[i][1]);
        assert_int_equal(flag(o, "truncated"), rows[i][2]);
        json_decref(o);
    }
}

/* ------------------------------------------------------------ errors */

static void test_error_shape(void **state)
{
    json_t *o;
    char longmsg[2000];

    (void)state;
    o = gw_json_error(400, SCE_ERR_INVALID_ARGUMENT, "code is 5001 characters; the limit is 5000",
                      NULL);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(str(o, "error"), "code is 5001 characters; the limit is 5000");
    assert_string_equal(str(o, "status"), "rejected");
    assert_string_equal(str(o, "code"), "INVALID_ARGUMENT");
    json_decref(o);

    o = gw_json_error(429, SCE_ERR_RESOURCE_EXHAUSTED, "the server is busy", "abc");
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(str(o, "status"), "rejected");
    assert_string_equal(str(o, "code"), "RESOURCE_EXHAUSTED");
    assert_string_equal(str(o, "request_id"), "abc");
    json_decref(o);

    o = gw_json_error(503, SCE_ERR_UNAVAILABLE, "cannot reach sce-server", "");
    assert_int_equal(json_object_size(o), 3); /* an empty id is left out */
    assert_string_equal(str(o, "status"), "error");
    assert_string_equal(str(o, "code"), "UNAVAILABLE");
    json_decref(o);

    /* No message: the code's text.  Several lines: one. Not UTF-8: fixed. */
    o = gw_json_error(500, SCE_ERR_INTERNAL, NULL, NULL);
    assert_string_equal(str(o, "error"), "internal error");
    assert_string_equal(str(o, "status"), "error");
    json_decref(o);
    o = gw_json_error(404, SCE_ERR_NOT_FOUND, "no route for GET /a\nb\r\x7f", NULL);
    assert_string_equal(str(o, "error"), "no route for GET /a b  ");
    json_decref(o);
    o = gw_json_error(400, SCE_ERR_INVALID_ARGUMENT, "bad \xFF", NULL);
    assert_string_equal(str(o, "error"), "bad " FFFD);
    json_decref(o);

    /* A very long message is cut and says so. */
    memset(longmsg, 'x', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    o = gw_json_error(404, SCE_ERR_NOT_FOUND, longmsg, NULL);
    assert_int_equal(strlen(str(o, "error")), 512 + 3);
    assert_string_equal(str(o, "error") + 512, "...");
    json_decref(o);
}

static void test_http_status(void **state)
{
    static const struct {
        int err;
        unsigned status;
    } rows[] = {
        {SCE_OK, 200},
        {SCE_ERR_CANCELLED, 500},
        {SCE_ERR_UNKNOWN, 500},
        {SCE_ERR_INVALID_ARGUMENT, 400},
        {SCE_ERR_DEADLINE_EXCEEDED, 504},
        {SCE_ERR_NOT_FOUND, 404},
        {SCE_ERR_RESOURCE_EXHAUSTED, 429},
        {SCE_ERR_NO_MEMORY, 500}, /* out of memory is not "busy" */
        {SCE_ERR_UNIMPLEMENTED, 501},
        {SCE_ERR_INTERNAL, 500},
        {SCE_ERR_UNAVAILABLE, 503},
        {SCE_ERR_PERMISSION_DENIED, 403},
        {SCE_ERR_UNAUTHENTICATED, 401},
        {6, 500},
        {99, 500},
        {-1, 500},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (gw_json_http_status(rows[i].err) != rows[i].status)
            fail_msg("%s (%d): got %u, want %u", sce_err_name(rows[i].err), rows[i].err,
                     gw_json_http_status(rows[i].err), rows[i].status);
    /* A batch's failed task says "rejected" (the shared writer's rule)
     * exactly when the same error answers a whole request with a 4xx. */
    for (int err = -1; err <= 20; err++)
        if (err != SCE_OK && (gw_json_http_status(err) < 500) != sce_json_err_rejected(err))
            fail_msg("%s (%d): HTTP %u but rejected=%d", sce_err_name(err), err,
                     gw_json_http_status(err), sce_json_err_rejected(err));
}

static void test_content_type(void **state)
{
    static const struct {
        const char *ct;
        int ok;
    } rows[] = {
        {"application/json", 1},
        {"Application/JSON", 1},
        {"application/json; charset=utf-8", 1},
        {"application/json;charset=UTF-8", 1},
        {"application/json ; charset = \"utf-8\"", 1},
        {"application/json; charset=utf8", 1},
        {"  application/json  ", 1},
        {NULL, 0},
        {"", 0},
        {"text/plain", 0},
        {"application/x-www-form-urlencoded", 0},
        {"multipart/form-data; boundary=x", 0},
        {"application/jsonp", 0},
        {"application/json-seq", 0},
        {"application/json; charset=latin1", 0},
        {"application/json; charset=\"utf-8", 0},
        {"application/json; boundary=x", 0},
        {"application/json;", 0},
        {"application/json, text/plain", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (gw_json_content_type_ok(rows[i].ct) != rows[i].ok)
            fail_msg("'%s': got %d, want %d", rows[i].ct ? rows[i].ct : "(null)", !rows[i].ok,
                     rows[i].ok);
}

/* ------------------------------------------------------------ languages, health */

static void test_languages(void **state)
{
    char *py_ext[] = {".py"};
    char *js_ext[] = {".js", ".cjs"};
    sce_language items[] = {
        {"python", "3.11.2", "sce-python:latest", "main.py", py_ext, 1, 1, "", "runc"},
        {"node", "", "sce-node:latest", "main.js", js_ext, 2, 0, "image sce-node:latest is missing",
         "runsc"},
    };
    sce_language_list l = {items, 2};
    sce_language_list empty = {NULL, 0};
    json_t *o = sce_json_languages(&l), *arr, *x;

    (void)state;
    arr = json_object_get(o, "languages");
    assert_int_equal(json_array_size(arr), 2);
    x = json_array_get(arr, 0);
    assert_int_equal(json_object_size(x), 8);
    assert_string_equal(str(x, "runtime"), "runc");
    assert_string_equal(str(x, "name"), "python");
    assert_string_equal(str(x, "version"), "3.11.2");
    assert_string_equal(str(x, "image"), "sce-python:latest");
    assert_string_equal(str(x, "default_entry"), "main.py");
    assert_true(flag(x, "available"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(x, "extensions"), 0)),
                        ".py");
    x = json_array_get(arr, 1);
    assert_false(flag(x, "available"));
    assert_string_equal(str(x, "message"), "image sce-node:latest is missing");
    assert_string_equal(str(x, "runtime"), "runsc");
    assert_int_equal(json_array_size(json_object_get(x, "extensions")), 2);
    json_decref(o);

    o = sce_json_languages(&empty);
    assert_int_equal(json_array_size(json_object_get(o, "languages")), 0);
    json_decref(o);
}

static void test_health(void **state)
{
    static const struct {
        int serving, engine_ok;
        const char *status;
        unsigned http;
    } rows[] = {
        {1, 1, "ok", 200},
        {1, 0, "degraded", 503},
        {0, 1, "unavailable", 503},
        {0, 0, "unavailable", 503},
    };
    sce_health h;
    unsigned http = 0;
    json_t *o, *srv, *eng;
    char *dump;

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(&h, 0, sizeof(h));
        h.serving = rows[i].serving;
        h.engine_ok = rows[i].engine_ok;
        h.engine_message = rows[i].engine_ok ? "" : "cannot reach the engine";
        h.engine_version = "24.0.7";
        h.server_version = "0.1.0";
        h.instance_id = "default";
        h.workers = 8;
        h.busy_workers = 2;
        h.queued = 1;
        h.queue_capacity = 32;
        h.uptime_ms = 5000;
        h.runs_total = 42;
        o = gw_json_health(&h, SCE_OK, "", &http);
        assert_string_equal(str(o, "status"), rows[i].status);
        assert_int_equal(http, rows[i].http);
        srv = json_object_get(o, "server");
        eng = json_object_get(o, "engine");
        assert_true(flag(srv, "reachable"));
        assert_int_equal(flag(srv, "serving"), rows[i].serving);
        assert_int_equal(num(srv, "workers"), 8);
        assert_int_equal(num(srv, "busy_workers"), 2);
        assert_int_equal(num(srv, "queued"), 1);
        assert_int_equal(num(srv, "queue_capacity"), 32);
        assert_int_equal(num(srv, "uptime_ms"), 5000);
        assert_int_equal(num(srv, "runs_total"), 42);
        assert_string_equal(str(srv, "instance_id"), "default");
        assert_int_equal(flag(eng, "ok"), rows[i].engine_ok);
        assert_string_equal(str(eng, "version"), "24.0.7");
        assert_non_null(json_object_get(o, "gateway"));
        json_decref(o);
    }

    /* The server did not answer: same shape, 503. */
    http = 0;
    o = gw_json_health(NULL, SCE_ERR_UNAVAILABLE, "cannot reach sce-server at ipc:///x", &http);
    assert_int_equal(http, 503);
    assert_string_equal(str(o, "status"), "unavailable");
    srv = json_object_get(o, "server");
    assert_false(flag(srv, "reachable"));
    assert_string_equal(str(srv, "code"), "UNAVAILABLE");
    assert_string_equal(str(srv, "error"), "cannot reach sce-server at ipc:///x");
    eng = json_object_get(o, "engine");
    assert_false(flag(eng, "ok"));
    assert_non_null(json_object_get(eng, "version"));
    assert_non_null(json_object_get(eng, "message"));
    assert_int_equal(json_object_size(json_object_get(eng, "runtimes")), 0);
    json_decref(o);

    /* Byte for byte, in docs/API.md's order: the gateway's part second. */
    sce_language_runtime rts[] = {{"python", "runc"}, {"node", "runsc"}};
    memset(&h, 0, sizeof(h));
    h.runtimes = rts;
    h.nruntimes = 2;
    h.serving = h.engine_ok = 1;
    h.engine_message = "";
    h.engine_version = "20.10.24+dfsg1";
    h.server_version = "0.1.0";
    h.instance_id = "default";
    h.workers = 8;
    h.queue_capacity = 32;
    h.uptime_ms = 20560;
    h.runs_total = 5;
    o = gw_json_health(&h, SCE_OK, "", &http);
    dump = json_dumps(o, JSON_COMPACT);
    assert_string_equal(dump,
                        "{\"status\":\"ok\",\"gateway\":{\"version\":\"" SCE_VERSION "\"},"
                        "\"server\":{\"reachable\":true,\"serving\":true,\"version\":\"0.1.0\","
                        "\"instance_id\":\"default\",\"workers\":8,\"busy_workers\":0,\"queued\":0,"
                        "\"queue_capacity\":32,\"uptime_ms\":20560,\"runs_total\":5},"
                        "\"engine\":{\"ok\":true,\"version\":\"20.10.24+dfsg1\",\"message\":\"\","
                        "\"runtimes\":{\"python\":\"runc\",\"node\":\"runsc\"}}}");
    free(dump);
    json_decref(o);
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_body_length_is_respected),
        cmocka_unit_test(test_good_bodies),
        cmocka_unit_test(test_utf8_lossy),
        cmocka_unit_test(test_result_ok),
        cmocka_unit_test(test_result_verdicts),
        cmocka_unit_test(test_result_bytes),
        cmocka_unit_test(test_result_truncated),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_health),
    };
    /* clang-format on */

    return cmocka_run_group_tests(tests, NULL, NULL);
}
