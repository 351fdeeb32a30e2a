/*
 * fuzz_json.c - libFuzzer driver for the gateway's JSON mapping
 * (web-gateway/json.c).
 *
 * The input is used whole as a POST /run body and as a POST /run-batch
 * body, cut at '&' as the GET /history parameters (limit, offset, verdict,
 * language), then as the arbitrary bytes a program may print (run results,
 * batches, history pages), as an error message and as a Content-Type
 * header.  Beyond "no sanitizer report", it checks what json.h promises: a
 * refused body gets one line that the error answer carries as valid UTF-8;
 * an accepted body gives requests with a language and either code or
 * files; every answer dumps to JSON that jansson can read back, with
 * stdout/stderr exactly as sce_utf8_lossy made them; and
 * sce_utf8_lossy agrees with the daemon's UTF-8 rules (common/utf8.c):
 * valid input is copied unchanged, anything else becomes valid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "sce/err.h"
#include "common/utf8.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* Dumps o and reads it back (jansson refuses invalid UTF-8 when reading);
 * returns the copy read back (the caller decrefs) and releases o. */
static json_t *round_trip(json_t *o, const char *what)
{
    json_error_t jerr;
    json_t *back;
    char *text;

    if (o == NULL)
        fail(what, "returned NULL (out of memory?)");
    text = json_dumps(o, JSON_COMPACT);
    if (text == NULL)
        fail(what, "json_dumps failed");
    back = json_loads(text, JSON_ALLOW_NUL, &jerr);
    if (back == NULL)
        fail(what, jerr.text);
    free(text);
    json_decref(o);
    return back;
}

/* The same bytes as sce_utf8_lossy(p, n) gives. */
static void check_lossy_string(json_t *s, const char *p, size_t n, const char *what)
{
    size_t len;
    char *want = sce_utf8_lossy(p, n, &len, NULL);

    if (want == NULL)
        fail("sce_utf8_lossy returned NULL", NULL);
    if (!json_is_string(s) || json_string_length(s) != len ||
        memcmp(json_string_value(s), want, len) != 0)
        fail(what, "not the lossy copy of the bytes");
    free(want);
}

static void check_utf8(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t len, len2;
    int lossy = -1, lossy2 = -1;
    char *out = sce_utf8_lossy(p, size, &len, &lossy);
    char *again;
    json_t *s;

    if (out == NULL)
        fail("sce_utf8_lossy returned NULL", NULL);
    if (out[len] != '\0')
        fail("lossy copy is not NUL-terminated", NULL);
    if (sce_utf8_count(out, len) < 0)
        fail("lossy copy is not valid UTF-8 (by common/utf8.c)", NULL);
    if ((s = json_stringn(out, len)) == NULL)
        fail("lossy copy is not valid UTF-8 (by jansson)", NULL);
    json_decref(s);
    if (sce_utf8_count(p, size) >= 0 && (lossy || len != size || memcmp(out, p, size) != 0))
        fail("valid UTF-8 (by common/utf8.c) was changed", NULL);
    if (!lossy && (len != size || memcmp(out, p, size) != 0))
        fail("bytes changed but lossy is 0", NULL);
    if (lossy && sce_utf8_count(p, size) >= 0)
        fail("lossy is 1 for valid UTF-8", NULL);
    again = sce_utf8_lossy(out, len, &len2, &lossy2);
    if (again == NULL || lossy2 || len2 != len || memcmp(again, out, len) != 0)
        fail("sce_utf8_lossy is not idempotent", NULL);
    free(again);
    free(out);
}

/* An accepted request: a language and exactly one of code and files. */
static void check_request(const sce_run_request *r)
{
    if (r->language == NULL || r->language[0] == '\0')
        fail("accepted body without a language", NULL);
    if ((r->code != NULL) == (r->nfiles != 0))
        fail("accepted body with not exactly one of code and files", NULL);
    if (r->nfiles != 0 && r->files == NULL)
        fail("nfiles without files", NULL);
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].path == NULL || (r->files[i].len != 0 && r->files[i].data == NULL))
            fail("file without path or data", NULL);
    for (size_t i = 0; i < r->nargs; i++)
        if (r->args == NULL || r->args[i] == NULL)
            fail("NULL argument", NULL);
    if (r->stdin_len != 0 && r->stdin_data == NULL)
        fail("stdin_len without stdin_data", NULL);
}

/* A refusal: a known code and one line, which the error answer http.c
 * makes of it carries as one line of valid UTF-8. */
static void check_refusal(int rv, const char *err, const char *cstr)
{
    json_t *back;
    const char *line;

    if (rv != SCE_ERR_INVALID_ARGUMENT && rv != SCE_ERR_NO_MEMORY)
        fail("refused with an unexpected code", err);
    if (err[0] == '\0')
        fail("refused without a message", NULL);
    if (strchr(err, '\n') != NULL)
        fail("message is not one line", err);
    back = round_trip(gw_json_error(gw_json_http_status(rv), rv, err, cstr),
                      "gw_json_error of the message");
    line = json_string_value(json_object_get(back, "error"));
    if (line == NULL || strchr(line, '\n') != NULL || strchr(line, '\r') != NULL)
        fail("error answer is not one line", line);
    json_decref(back);
}

static void check_run_input(const uint8_t *data, size_t size, const char *cstr)
{
    gw_run_input in;
    char err[512];
    int rv = gw_json_run_input((const char *)data, size, &in, err, sizeof(err));

    if (rv == SCE_OK) {
        check_request(&in.req);
        gw_run_input_free(&in);
        return;
    }
    if (in.root != NULL || in.args != NULL || in.files != NULL)
        fail("refused body left *in filled", NULL);
    check_refusal(rv, err, cstr);
}

static void check_batch_input(const uint8_t *data, size_t size, const char *cstr)
{
    gw_batch_input in;
    char err[512];
    int rv = gw_json_batch_input((const char *)data, size, &in, err, sizeof(err));

    if (rv == SCE_OK) {
        if (in.count == 0 || in.tasks == NULL || in.reqs == NULL)
            fail("accepted batch without tasks", NULL);
        for (size_t i = 0; i < in.count; i++) {
            check_request(&in.reqs[i]);
            if (memcmp(&in.reqs[i], &in.tasks[i].req, sizeof(in.reqs[i])) != 0)
                fail("reqs[i] is not tasks[i].req", NULL);
        }
        gw_batch_input_free(&in);
        return;
    }
    if (in.tasks != NULL || in.reqs != NULL || in.count != 0)
        fail("refused batch left *in filled", NULL);
    check_refusal(rv, err, cstr);
}

/* GET /history parameters: the input cut at its first four '&'. */
static void check_history_query(const char *cstr)
{
    char *copy = strdup(cstr), *p, *param[4] = {NULL, NULL, NULL, NULL};
    sce_history_query q;
    char err[512];
    int rv;

    if (copy == NULL)
        fail("out of memory", NULL);
    p = copy;
    for (int i = 0; i < 4 && p != NULL; i++) {
        param[i] = p;
        if ((p = strchr(p, '&')) != NULL)
            *p++ = '\0';
    }
    rv = gw_json_history_query(param[0], param[1], param[2], param[3], &q, err, sizeof(err));
    if (rv == SCE_OK) {
        if (q.limit > 100 || (param[0] != NULL && param[0][0] != '\0' && q.limit == 0))
            fail("history limit outside 1..100", param[0]);
        if ((int)q.verdict < SCE_VERDICT_UNSPECIFIED || q.verdict > SCE_VERDICT_INTERNAL_ERROR)
            fail("history verdict out of range", NULL);
    } else {
        check_refusal(rv, err, cstr);
    }
    free(copy);
}

static void check_answers(const uint8_t *data, size_t size, const char *cstr)
{
    sce_run_result r;
    sce_language_list ll;
    sce_language lang;
    char *exts[2];
    size_t half = size / 2;
    unsigned status = 0;
    json_t *back;

    memset(&r, 0, sizeof(r));
    r.verdict = size > 0 ? (sce_verdict)(data[0] % 9) : SCE_VERDICT_OK;
    r.exit_code = size > 1 ? (int8_t)data[1] : 0;
    r.stdout_data = (char *)data;
    r.stdout_len = half;
    r.stderr_data = (char *)data + half;
    r.stderr_len = size - half;
    r.stdout_truncated = size > 2 && (data[2] & 1);
    r.message = (char *)cstr;
    r.language = (char *)cstr;
    r.language_version = (char *)cstr;
    r.request_id = (char *)cstr;
    r.peak_memory_bytes = UINT64_MAX;
    r.memory_bytes = UINT64_MAX;
    back = round_trip(sce_json_run_result(&r), "sce_json_run_result");
    check_lossy_string(json_object_get(back, "stdout"), r.stdout_data, r.stdout_len, "stdout");
    check_lossy_string(json_object_get(back, "output"), r.stdout_data, r.stdout_len, "output");
    check_lossy_string(json_object_get(back, "stderr"), r.stderr_data, r.stderr_len, "stderr");
    json_decref(back);

    memset(&lang, 0, sizeof(lang));
    exts[0] = exts[1] = (char *)cstr;
    lang.name = lang.version = lang.image = lang.default_entry = lang.message = (char *)cstr;
    lang.extensions = exts;
    lang.nextensions = 2;
    ll.items = &lang;
    ll.count = 1;
    json_decref(round_trip(sce_json_languages(&ll), "sce_json_languages"));

    json_decref(
        round_trip(gw_json_health(NULL, SCE_ERR_UNAVAILABLE, cstr, &status), "gw_json_health"));
    if (status != 503)
        fail("health without a server answer is not 503", NULL);

    back = round_trip(
        gw_json_error(size > 0 ? 400u + data[0] : 400u, SCE_ERR_INVALID_ARGUMENT, cstr, cstr),
        "gw_json_error");
    {
        const char *line = json_string_value(json_object_get(back, "error"));

        if (line == NULL || strchr(line, '\n') != NULL || strchr(line, '\r') != NULL)
            fail("error answer is not one line", line);
    }
    json_decref(back);

    {
        sce_batch_item items[2];
        sce_batch_result b;

        items[0].status = SCE_OK;
        items[0].message = "";
        items[0].result = &r;
        items[1].status = size > 3 ? data[3] % 16 : SCE_ERR_INVALID_ARGUMENT;
        items[1].message = (char *)cstr;
        items[1].result = NULL;
        b.items = items;
        b.count = 2;
        b.request_id = (char *)cstr;
        json_decref(round_trip(sce_json_batch_result(&b), "sce_json_batch_result"));
    }
    {
        sce_history_entry e;
        sce_history_page page;
        int64_t t = 0;

        memset(&e, 0, sizeof(e));
        memcpy(&t, data, size < sizeof(t) ? size : sizeof(t));
        e.id = t;
        e.time_ms = t;
        e.language = e.code = e.entry = e.output = e.stderr_text = e.message = e.request_id =
            (char *)cstr;
        e.verdict = r.verdict;
        e.exit_code = r.exit_code;
        page.entries = &e;
        page.count = 1;
        page.total = (uint64_t)t;
        page.enabled = 1;
        json_decref(round_trip(gw_json_history(&page, (uint32_t)t), "gw_json_history"));
    }

    (void)gw_json_content_type_ok(cstr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A C string of the input, cut at its first NUL, for the const char *
     * parameters. */
    char *cstr = malloc(size + 1);

    if (cstr == NULL)
        fail("out of memory", NULL);
    memcpy(cstr, data, size);
    cstr[size] = '\0';

    check_run_input(data, size, cstr);
    check_batch_input(data, size, cstr);
    check_history_query(cstr);
    check_utf8(data, size);
    check_answers(data, size, cstr);
    free(cstr);
    return 0;
}
