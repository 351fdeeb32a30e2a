/*
 * json.c - JSON request bodies to sce_run_request, libsce results to JSON.
 *
 * The request side checks fields in a fixed order and stops at the first
 * problem, so each bad body has exactly one message and the tests can pin
 * it.  It only checks what JSON can get wrong (types, NUL characters that a
 * C string would silently cut, integer ranges); what the server decides
 * (known languages, the code length limit, limits above its maximum) is
 * left to the server, whose messages the gateway passes on, so the two
 * never disagree.
 *
 * The result side must always produce valid JSON, although programs print
 * arbitrary bytes: every string from outside goes through
 * sce_utf8_lossy() first.
 */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway_limits.h"
#include "sce/err.h"
#include "common/seterr.h"
#include "common/utf8.h"

#define DEFAULT_LANGUAGE "python"

/* A JSON string of arbitrary bytes; NULL on out of memory. */
static json_t *lossy_string(const char *p, size_t n, int *lossy)
{
    size_t len;
    char *s = sce_utf8_lossy(p != NULL ? p : "", p != NULL ? n : 0, &len, lossy);
    json_t *j;

    if (s == NULL)
        return NULL;
    j = json_stringn_nocheck(s, len);
    free(s);
    return j;
}

static json_t *cstring(const char *s)
{
    return lossy_string(s, s != NULL ? strlen(s) : 0, NULL);
}

/* Sets o[key] = v, consuming v; 0 on success, -1 (v released) otherwise.
 * Builders chain these with |= and check once. */
static int put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new_nocheck(o, key, v) == 0 ? 0 : -1;
}

/* Ends a builder of an object holding one array: o[key] = arr (both
 * consumed) and o; or, when anything failed (bad, or key NULL), NULL with
 * both released. */
static json_t *finish(json_t *o, const char *key, json_t *arr, int bad)
{
    if (bad || key == NULL) {
        json_decref(arr);
        json_decref(o);
        return NULL;
    }
    return put(o, key, arr) == 0 ? o : finish(o, NULL, NULL, -1);
}

/* ------------------------------------------------------------ request */

/* Absent and null both mean "not given", for every field. */
static json_t *optional(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

/* A string that becomes a C string: a NUL inside would cut it short
 * without anyone noticing, so it is refused. */
static int c_string(json_t *v, const char *field, const char **out, char *err, size_t errlen)
{
    if (!json_is_string(v)) {
        sce_seterr(err, errlen, "%s: expected a string", field);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        sce_seterr(err, errlen, "%s: contains a NUL character", field);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *out = json_string_value(v);
    return SCE_OK;
}

/* An optional positive integer no larger than max; 0 when not given (the
 * server's value, as in the proto). */
static int positive(json_t *obj, const char *field, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
    json_t *v = optional(obj, field);
    json_int_t n;

    *out = 0;
    if (v == NULL)
        return SCE_OK;
    n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n <= 0) {
        sce_seterr(err, errlen, "%s: expected a positive integer", field);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((uint64_t)n > max) {
        sce_seterr(err, errlen, "%s: expected a positive integer no larger than %llu", field,
                   (unsigned long long)max);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *out = (uint64_t)n;
    return SCE_OK;
}

/* One item of an array field: checks v (the i-th item) into t. */
typedef int (*item_fn)(json_t *v, size_t i, void *items, char *err, size_t errlen);

/* An array field: each item checked by `each`, in order, into a zeroed
 * array of n items of item_bytes each, which *items points to from the
 * start (the caller's to free, whatever the result).  SCE_OK with the size in
 * *n; INVALID_ARGUMENT when v is not an array ("<field>: expected
 * <what>"), or is empty and `empty` is not NULL (the message then), or an
 * item is wrong; NO_MEMORY. */
static int array_field(json_t *v, const char *field, const char *what, const char *empty,
                       size_t item_bytes, void **items, size_t *n, item_fn each, char *err,
                       size_t errlen)
{
    int rv = SCE_OK;

    if (!json_is_array(v)) {
        sce_seterr(err, errlen, "%s: expected %s", field, what);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((*n = json_array_size(v)) == 0) {
        if (empty == NULL)
            return SCE_OK;
        sce_seterr(err, errlen, "%s: %s", field, empty);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((*items = calloc(*n, item_bytes)) == NULL)
        return SCE_ERR_NO_MEMORY;
    for (size_t i = 0; rv == SCE_OK && i < *n; i++)
        rv = each(json_array_get(v, i), i, *items, err, errlen);
    return rv;
}

static int arg_item(json_t *v, size_t i, void *items, char *err, size_t errlen)
{
    const char **args = items;
    char field[48];

    snprintf(field, sizeof(field), "args[%zu]", i);
    return c_string(v, field, &args[i], err, errlen);
}

static int file_item(json_t *f, size_t i, void *items, char *err, size_t errlen)
{
    sce_file *files = items;
    json_t *path, *content;
    char field[64];
    int rv;

    if (!json_is_object(f)) {
        sce_seterr(err, errlen, "files[%zu]: expected an object", i);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    path = json_object_get(f, "path");
    content = json_object_get(f, "content");
    snprintf(field, sizeof(field), "files[%zu].path", i);
    if (path == NULL) {
        sce_seterr(err, errlen, "%s: required", field);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((rv = c_string(path, field, &files[i].path, err, errlen)) != SCE_OK)
        return rv;
    /* Content is bytes with a length, so NUL characters are fine. */
    if (content == NULL) {
        sce_seterr(err, errlen, "files[%zu].content: required", i);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (!json_is_string(content)) {
        sce_seterr(err, errlen, "files[%zu].content: expected a string", i);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    files[i].data = json_string_value(content);
    files[i].len = json_string_length(content);
    return SCE_OK;
}

static int parse_args(json_t *v, gw_run_input *t, char *err, size_t errlen)
{
    void *items = NULL;
    size_t n = 0;
    int rv = array_field(v, "args", "an array of strings", NULL, sizeof(*t->args), &items, &n,
                         arg_item, err, errlen);

    t->args = items;
    if (rv == SCE_OK && n > 0) {
        t->req.args = t->args;
        t->req.nargs = n;
    }
    return rv;
}

static int parse_files(json_t *v, gw_run_input *t, char *err, size_t errlen)
{
    void *items = NULL;
    size_t n = 0;
    int rv = array_field(v, "files", "an array", "expected at least one file", sizeof(*t->files),
                         &items, &n, file_item, err, errlen);

    t->files = items;
    if (rv == SCE_OK) {
        t->req.files = t->files;
        t->req.nfiles = n;
    }
    return rv;
}

/* The fields of one run, read from the object t->root: a POST /run body,
 * or one task of a batch.  The checks come in the order of the table in
 * docs/API.md; the first problem is the one reported. */
static int run_fields(gw_run_input *t, char *err, size_t errlen)
{
    json_t *code, *files, *v;
    uint64_t n;
    int rv;

    code = optional(t->root, "code");
    files = optional(t->root, "files");
    if (code != NULL) {
        if ((rv = c_string(code, "code", &t->req.code, err, errlen)) != SCE_OK)
            return rv;
        if (files != NULL) {
            sce_seterr(err, errlen, "files: give either code or files, not both");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    } else if (files == NULL) {
        sce_seterr(err, errlen, "code: required");
        return SCE_ERR_INVALID_ARGUMENT;
    }

    t->req.language = DEFAULT_LANGUAGE;
    if ((v = optional(t->root, "language")) != NULL) {
        if ((rv = c_string(v, "language", &t->req.language, err, errlen)) != SCE_OK)
            return rv;
        if (t->req.language[0] == '\0') {
            sce_seterr(err, errlen, "language: expected a non-empty string");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }

    if ((v = optional(t->root, "stdin")) != NULL) {
        if (!json_is_string(v)) {
            sce_seterr(err, errlen, "stdin: expected a string");
            return SCE_ERR_INVALID_ARGUMENT;
        }
        t->req.stdin_data = json_string_value(v);
        t->req.stdin_len = json_string_length(v);
    }

    if ((v = optional(t->root, "args")) != NULL && (rv = parse_args(v, t, err, errlen)) != SCE_OK)
        return rv;

    if ((rv = positive(t->root, "timeout_ms", UINT32_MAX, &n, err, errlen)) != SCE_OK)
        return rv;
    t->req.timeout_ms = (uint32_t)n;
    if ((rv = positive(t->root, "memory_bytes", INT64_MAX, &n, err, errlen)) != SCE_OK)
        return rv;
    t->req.memory_bytes = n;
    if ((rv = positive(t->root, "output_limit_bytes", UINT32_MAX, &n, err, errlen)) != SCE_OK)
        return rv;
    t->req.output_limit_bytes = (uint32_t)n;

    if (files != NULL && (rv = parse_files(files, t, err, errlen)) != SCE_OK)
        return rv;
    if ((v = optional(t->root, "entry")) != NULL &&
        (rv = c_string(v, "entry", &t->req.entry, err, errlen)) != SCE_OK)
        return rv;
    return SCE_OK;
}

/* Parses a request body that must be a JSON object; on SCE_OK *root is a
 * new reference. */
static int body_object(const char *body, size_t len, json_t **root, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *r;

    if (len == 0) {
        sce_seterr(err, errlen, "body: empty; expected a JSON object");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    /* NUL characters are allowed by JSON and meaningful in stdin and file
     * contents; duplicate keys are refused so that no two readers of the
     * same body can disagree on its meaning; any JSON value is decoded, so
     * that `42` is "not an object" rather than "invalid JSON". */
    r = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (r == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            sce_seterr(err, errlen, "out of memory");
            return SCE_ERR_NO_MEMORY;
        }
        char text[sizeof(jerr.text) * 3];

        /* jansson quotes the input near the error: one clean line of it. */
        sce_utf8_clean_line(jerr.text, strlen(jerr.text), text, sizeof(text));
        sce_seterr(err, errlen, "body: invalid JSON at line %d column %d: %s", jerr.line,
                   jerr.column, text);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (!json_is_object(r)) {
        json_decref(r);
        sce_seterr(err, errlen, "body: expected a JSON object");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *root = r;
    return SCE_OK;
}

int gw_json_run_input(const char *body, size_t len, gw_run_input *in, char *err, size_t errlen)
{
    gw_run_input t;
    int rv;

    memset(in, 0, sizeof(*in));
    memset(&t, 0, sizeof(t));
    sce_seterr(err, errlen, "%s", "");
    if ((rv = body_object(body, len, &t.root, err, errlen)) != SCE_OK)
        goto out;
    if ((rv = run_fields(&t, err, errlen)) != SCE_OK)
        goto out;
    *in = t;
    memset(&t, 0, sizeof(t));
    rv = SCE_OK;
out:
    if (rv == SCE_ERR_NO_MEMORY)
        sce_seterr(err, errlen, "out of memory");
    gw_run_input_free(&t);
    return rv;
}

void gw_run_input_free(gw_run_input *in)
{
    json_decref(in->root);
    free(in->args);
    free(in->files);
    memset(in, 0, sizeof(*in));
}

/* ------------------------------------------------------------ batches */

int gw_json_batch_input(const char *body, size_t len, gw_batch_input *in, char *err, size_t errlen)
{
    gw_batch_input t;
    json_t *root = NULL, *tasks;
    char inner[512];
    size_t n;
    int rv;

    memset(in, 0, sizeof(*in));
    memset(&t, 0, sizeof(t));
    sce_seterr(err, errlen, "%s", "");
    if ((rv = body_object(body, len, &root, err, errlen)) != SCE_OK)
        goto out;
    rv = SCE_ERR_INVALID_ARGUMENT;
    if ((tasks = optional(root, "tasks")) == NULL) {
        sce_seterr(err, errlen, "tasks: required");
        goto out;
    }
    if (!json_is_array(tasks)) {
        sce_seterr(err, errlen, "tasks: expected an array");
        goto out;
    }
    n = json_array_size(tasks);
    if (n == 0) {
        sce_seterr(err, errlen, "tasks: expected at least one task");
        goto out;
    }
    if (n > GW_BATCH_TASKS_MAX) {
        sce_seterr(err, errlen, "tasks: %zu tasks; at most %d", n, GW_BATCH_TASKS_MAX);
        goto out;
    }
    if ((t.tasks = calloc(n, sizeof(*t.tasks))) == NULL ||
        (t.reqs = calloc(n, sizeof(*t.reqs))) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *task = json_array_get(tasks, i);

        if (!json_is_object(task)) {
            sce_seterr(err, errlen, "tasks[%zu]: expected a JSON object", i);
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
        t.tasks[i].root = json_incref(task);
        t.count = i + 1;
        if ((rv = run_fields(&t.tasks[i], inner, sizeof(inner))) != SCE_OK) {
            sce_seterr(err, errlen, "tasks[%zu].%s", i, inner);
            goto out;
        }
        t.reqs[i] = t.tasks[i].req;
    }
    *in = t;
    memset(&t, 0, sizeof(t));
    rv = SCE_OK;
out:
    if (rv == SCE_ERR_NO_MEMORY)
        sce_seterr(err, errlen, "out of memory");
    json_decref(root);
    gw_batch_input_free(&t);
    return rv;
}

void gw_batch_input_free(gw_batch_input *in)
{
    for (size_t i = 0; in->tasks != NULL && i < in->count; i++)
        gw_run_input_free(&in->tasks[i]);
    free(in->tasks);
    free(in->reqs);
    memset(in, 0, sizeof(*in));
}

json_t *gw_json_batch_result(const sce_batch_result *b)
{
    json_t *o = json_object(), *arr = json_array();
    char rid[64];
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; i < b->count; i++) {
        const sce_batch_item *x = &b->items[i];
        json_t *item;

        if (x->status == SCE_OK && x->result != NULL) {
            item = gw_json_run_result(x->result);
        } else {
            /* The task ran (or was refused) as "<batch id>-<i>" in the
             * server's log. */
            snprintf(rid, sizeof(rid), "%s-%zu", b->request_id != NULL ? b->request_id : "", i);
            item = gw_json_error(gw_json_http_status(x->status), x->status, x->message,
                                 b->request_id != NULL && b->request_id[0] != '\0' ? rid : NULL);
        }
        if (item == NULL || json_array_append_new(arr, item) != 0)
            goto fail;
    }
    bad |= put(o, "results", arr);
    arr = NULL;
    bad |= put(o, "request_id", cstring(b->request_id));
    if (bad)
        goto fail;
    return o;
fail:
    json_decref(arr);
    json_decref(o);
    return NULL;
}

/* ------------------------------------------------------------ history */

/* A query parameter that must be a decimal integer in [lo, hi]; absent or
 * empty leaves *out alone. */
static int query_uint(const char *text, const char *field, uint64_t lo, uint64_t hi, uint32_t *out,
                      char *err, size_t errlen)
{
    uint64_t v = 0;
    size_t i;

    if (text == NULL || text[0] == '\0')
        return SCE_OK;
    for (i = 0; text[i] != '\0'; i++) {
        if (text[i] < '0' || text[i] > '9' || i >= 10) {
            v = hi + 1;
            break;
        }
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v < lo || v > hi) {
        sce_seterr(err, errlen, "%s: expected an integer from %llu to %llu", field,
                   (unsigned long long)lo, (unsigned long long)hi);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *out = (uint32_t)v;
    return SCE_OK;
}

int gw_json_history_query(const char *limit, const char *offset, const char *verdict,
                          const char *language, sce_history_query *q, char *err, size_t errlen)
{
    int rv;

    memset(q, 0, sizeof(*q));
    sce_seterr(err, errlen, "%s", "");
    if ((rv = query_uint(limit, "limit", 1, GW_HISTORY_LIMIT_MAX, &q->limit, err, errlen)) !=
        SCE_OK)
        return rv;
    if ((rv = query_uint(offset, "offset", 0, UINT32_MAX, &q->offset, err, errlen)) != SCE_OK)
        return rv;
    if (verdict != NULL && verdict[0] != '\0') {
        for (int v = SCE_VERDICT_OK; v <= SCE_VERDICT_INTERNAL_ERROR; v++)
            if (strcmp(verdict, sce_verdict_name(v)) == 0)
                q->verdict = (sce_verdict)v;
        if (q->verdict == SCE_VERDICT_UNSPECIFIED) {
            sce_seterr(err, errlen,
                       "verdict: expected one of ok, runtime_error, timeout, memory_limit, "
                       "output_limit, rejected, internal_error");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    /* Which languages exist is the server's to say. */
    if (language != NULL && language[0] != '\0')
        q->language = language;
    return SCE_OK;
}

/* "2026-11-22T07:46:17.310Z" */
static json_t *iso_time(int64_t ms)
{
    char text[40];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || gmtime_r(&secs, &tm) == NULL)
        return json_string("");
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(text);
}

json_t *gw_json_history_entry(const sce_history_entry *e)
{
    json_t *item = json_object();
    int bad = 0;

    if (item == NULL)
        return NULL;
    bad |= put(item, "id", json_integer(e->id));
    bad |= put(item, "time", iso_time(e->time_ms));
    bad |= put(item, "time_ms", json_integer(e->time_ms));
    bad |= put(item, "language", cstring(e->language));
    bad |= put(item, "status", json_string(sce_verdict_name(e->verdict)));
    bad |= put(item, "exit_code", json_integer(e->exit_code));
    bad |= put(item, "code", cstring(e->code));
    bad |= put(item, "code_truncated", json_boolean(e->code_truncated));
    bad |= put(item, "entry", cstring(e->entry));
    bad |= put(item, "files", json_integer(e->files));
    bad |= put(item, "output", cstring(e->output));
    bad |= put(item, "output_truncated", json_boolean(e->output_truncated));
    bad |= put(item, "stderr", cstring(e->stderr_text));
    bad |= put(item, "stderr_truncated", json_boolean(e->stderr_truncated));
    bad |= put(item, "message", cstring(e->message));
    bad |= put(item, "wall_ms", json_integer(e->wall_ms));
    bad |= put(item, "request_id", cstring(e->request_id));
    bad |= put(item, "tenant", cstring(e->tenant));
    bad |= put(item, "truncated", json_boolean(e->truncated));
    if (bad) {
        json_decref(item);
        return NULL;
    }
    return item;
}

json_t *gw_json_history(const sce_history_page *p, uint32_t offset)
{
    json_t *o = json_object(), *arr = json_array();
    size_t bytes = GW_HISTORY_PAGE_RESERVE_BYTES;
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; i < p->count; i++) {
        json_t *item = gw_json_history_entry(&p->entries[i]);

        if (item == NULL)
            goto fail;
        /* The server keeps each entry within its budget; should one be
         * over all the same (a server before the budget), the page ends
         * before it, and the client pages on from there. */
        bytes += json_dumpb(item, NULL, 0, JSON_COMPACT) + 1;
        if (bytes > GW_HISTORY_PAGE_MAX_BYTES) {
            json_decref(item);
            break;
        }
        if (json_array_append_new(arr, item) != 0)
            goto fail;
    }
    bad |= put(o, "enabled", json_boolean(p->enabled));
    bad |= put(o, "total", json_integer((json_int_t)(p->total & INT64_MAX)));
    bad |= put(o, "offset", json_integer(offset));
    return finish(o, "entries", arr, bad);
fail:
    return finish(o, NULL, arr, -1);
}

/* ------------------------------------------------------------ answers */

json_t *gw_json_run_result(const sce_run_result *r)
{
    json_t *o = json_object(), *lim = json_object();
    json_t *out = NULL;
    int out_lossy = 0, err_lossy = 0, bad = 0;
    const char *error = "";

    if (o == NULL || lim == NULL)
        goto fail;
    /* The reference's "error": nothing on success, else the one line that
     * says what went wrong. */
    if (r->verdict != SCE_VERDICT_OK)
        error =
            r->message != NULL && r->message[0] != '\0' ? r->message : sce_verdict_name(r->verdict);
    if ((out = lossy_string(r->stdout_data, r->stdout_len, &out_lossy)) == NULL)
        goto fail;
    bad |= put(o, "output", json_incref(out));
    bad |= put(o, "error", cstring(error));
    bad |= put(o, "status", json_string(sce_verdict_name(r->verdict)));
    bad |= put(o, "exit_code", json_integer(r->exit_code));
    bad |= put(o, "signal", json_integer(r->signal));
    bad |= put(o, "stdout", out);
    out = NULL;
    bad |= put(o, "stderr", lossy_string(r->stderr_data, r->stderr_len, &err_lossy));
    bad |= put(o, "stdout_truncated", json_boolean(r->stdout_truncated));
    bad |= put(o, "stderr_truncated", json_boolean(r->stderr_truncated));
    bad |= put(o, "truncated", json_boolean(r->stdout_truncated || r->stderr_truncated));
    bad |= put(o, "stdout_lossy", json_boolean(out_lossy));
    bad |= put(o, "stderr_lossy", json_boolean(err_lossy));
    bad |= put(o, "message", cstring(r->message));
    bad |= put(o, "wall_ms", json_integer(r->wall_ms));
    bad |= put(o, "cpu_ms", json_integer(r->cpu_ms));
    bad |= put(o, "peak_memory_bytes",
               json_integer(r->peak_memory_bytes > INT64_MAX ? INT64_MAX
                                                             : (json_int_t)r->peak_memory_bytes));
    bad |= put(o, "language", cstring(r->language));
    bad |= put(o, "language_version", cstring(r->language_version));
    bad |= put(lim, "timeout_ms", json_integer(r->timeout_ms));
    bad |= put(lim, "memory_bytes",
               json_integer(r->memory_bytes > INT64_MAX ? INT64_MAX : (json_int_t)r->memory_bytes));
    bad |= put(lim, "output_limit_bytes", json_integer(r->output_limit_bytes));
    bad |= put(o, "limits", lim);
    lim = NULL;
    bad |= put(o, "request_id", cstring(r->request_id));
    if (bad)
        goto fail;
    return o;
fail:
    json_decref(out);
    json_decref(lim);
    json_decref(o);
    return NULL;
}

json_t *gw_json_languages(const sce_language_list *l)
{
    json_t *o = json_object(), *arr = json_array();
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; l != NULL && i < l->count; i++) {
        const sce_language *x = &l->items[i];
        json_t *item = json_object(), *ext = json_array();

        if (item == NULL || ext == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(item);
            json_decref(ext);
            goto fail;
        }
        for (size_t j = 0; j < x->nextensions; j++)
            bad |= json_array_append_new(ext, cstring(x->extensions[j])) == 0 ? 0 : -1;
        bad |= put(item, "name", cstring(x->name));
        bad |= put(item, "version", cstring(x->version));
        bad |= put(item, "image", cstring(x->image));
        bad |= put(item, "default_entry", cstring(x->default_entry));
        bad |= put(item, "extensions", ext);
        bad |= put(item, "available", json_boolean(x->available));
        bad |= put(item, "message", cstring(x->message));
    }
    return finish(o, "languages", arr, bad);
fail:
    return finish(o, NULL, arr, -1);
}

json_t *gw_json_health(const sce_health *h, int err, const char *message, unsigned *http_status)
{
    json_t *o = json_object(), *srv = json_object(), *eng = json_object(), *gw = json_object();
    const char *status;
    int bad = 0;

    if (o == NULL || srv == NULL || eng == NULL || gw == NULL)
        goto fail;
    if (h == NULL) {
        status = "unavailable";
        bad |= put(srv, "reachable", json_false());
        bad |= put(srv, "code", json_string(sce_err_name(err)));
        bad |=
            put(srv, "error", cstring(message != NULL && *message ? message : sce_strerror(err)));
        bad |= put(eng, "ok", json_false());
        bad |= put(eng, "version", json_string(""));
        bad |= put(eng, "message", json_string("unknown: the server did not answer"));
    } else {
        status = !h->serving ? "unavailable" : !h->engine_ok ? "degraded" : "ok";
        bad |= put(srv, "reachable", json_true());
        bad |= put(srv, "serving", json_boolean(h->serving));
        bad |= put(srv, "version", cstring(h->server_version));
        bad |= put(srv, "instance_id", cstring(h->instance_id));
        bad |= put(srv, "workers", json_integer(h->workers));
        bad |= put(srv, "busy_workers", json_integer(h->busy_workers));
        bad |= put(srv, "queued", json_integer(h->queued));
        bad |= put(srv, "queue_capacity", json_integer(h->queue_capacity));
        bad |= put(srv, "uptime_ms", json_integer((json_int_t)(h->uptime_ms & INT64_MAX)));
        bad |= put(srv, "runs_total", json_integer((json_int_t)(h->runs_total & INT64_MAX)));
        bad |= put(eng, "ok", json_boolean(h->engine_ok));
        bad |= put(eng, "version", cstring(h->engine_version));
        bad |= put(eng, "message", cstring(h->engine_message));
    }
    bad |= put(gw, "version", json_string(SCE_VERSION));
    bad |= put(o, "status", json_string(status));
    bad |= put(o, "gateway", gw);
    bad |= put(o, "server", srv);
    bad |= put(o, "engine", eng);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    *http_status = strcmp(status, "ok") == 0 ? 200 : 503;
    return o;
fail:
    json_decref(o);
    json_decref(srv);
    json_decref(eng);
    json_decref(gw);
    return NULL;
}

json_t *gw_json_error(unsigned http_status, int err, const char *message, const char *request_id)
{
    /* Room for one character past the cap, to tell whether it was cut. */
    char line[GW_ERROR_MESSAGE_MAX + 8];
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    if (message == NULL || *message == '\0')
        message = sce_strerror(err);
    /* One line of valid UTF-8: control characters (a decoded %0A in a path)
     * become spaces; a longer message (a long path) is cut at a character
     * boundary within GW_ERROR_MESSAGE_MAX bytes and says so. */
    if (sce_utf8_clean_line(message, strlen(message), line, sizeof(line)) > GW_ERROR_MESSAGE_MAX) {
        size_t n = sce_utf8_clean_line(message, strlen(message), line, GW_ERROR_MESSAGE_MAX + 1);

        memcpy(line + n, "...", 4);
    }
    bad |= put(o, "error", cstring(line));
    bad |= put(o, "status", json_string(http_status < 500 ? "rejected" : "error"));
    bad |= put(o, "code", json_string(sce_err_name(err)));
    if (request_id != NULL && *request_id != '\0')
        bad |= put(o, "request_id", cstring(request_id));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

unsigned gw_json_http_status(int err)
{
    switch (err) {
    case SCE_OK:
        return 200;
    case SCE_ERR_INVALID_ARGUMENT:
        return 400;
    case SCE_ERR_NOT_FOUND:
        return 404;
    case SCE_ERR_RESOURCE_EXHAUSTED:
        return 429;
    case SCE_ERR_UNIMPLEMENTED:
        return 501;
    case SCE_ERR_UNAVAILABLE:
        return 503;
    case SCE_ERR_DEADLINE_EXCEEDED:
        return 504;
    default:
        return 500;
    }
}

/* ------------------------------------------------------------ headers */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int gw_json_content_type_ok(const char *ct)
{
    static const char media[] = "application/json";
    const size_t mlen = sizeof(media) - 1;

    if (ct == NULL)
        return 0;
    ct = skip_ws(ct);
    if (strncasecmp(ct, media, mlen) != 0)
        return 0;
    ct = skip_ws(ct + mlen);
    while (*ct == ';') {
        const char *v;
        size_t vlen;

        ct = skip_ws(ct + 1);
        if (strncasecmp(ct, "charset", 7) != 0)
            return 0;
        ct = skip_ws(ct + 7);
        if (*ct++ != '=')
            return 0;
        ct = skip_ws(ct);
        v = ct;
        if (*v == '"') {
            const char *end = strchr(v + 1, '"');
            if (end == NULL)
                return 0;
            v++;
            vlen = (size_t)(end - v);
            ct = end + 1;
        } else {
            vlen = strcspn(v, " \t;");
            ct = v + vlen;
        }
        if (!((vlen == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
              (vlen == 4 && strncasecmp(v, "utf8", 4) == 0)))
            return 0;
        ct = skip_ws(ct);
    }
    return *ct == '\0';
}
