/*
 * json.c - JSON request bodies to sce_run_request; the gateway's side of
 * libsce results as JSON.
 *
 * The request side checks fields in a fixed order and stops at the first
 * problem, so each bad body has exactly one message and the tests can pin
 * it.  It only checks what JSON can get wrong (types, NUL characters that a
 * C string would silently cut, integer ranges); what the server decides
 * (known languages, the code length limit, limits above its maximum) is
 * left to the server, whose messages the gateway passes on, so the two
 * never disagree.
 *
 * The result side is common/result_json.c, which the `sce` CLI shares;
 * what is left here is what only the gateway adds: the HTTP status of an
 * error, the byte budget of a history page and the gateway's own part of
 * /healthz.
 */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway_limits.h"
#include "sce/err.h"
#include "common/result_json.h"
#include "common/seterr.h"
#include "common/utf8.h"

#define DEFAULT_LANGUAGE "python"

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
        for (int v = SCE_VERDICT_OK; v <= SCE_VERDICT_LAST; v++)
            if (strcmp(verdict, sce_verdict_name(v)) == 0)
                q->verdict = (sce_verdict)v;
        if (q->verdict == SCE_VERDICT_UNSPECIFIED) {
            sce_seterr(err, errlen,
                       "verdict: expected one of ok, runtime_error, timeout, memory_limit, "
                       "output_limit, rejected, internal_error, cancelled");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    /* Which languages exist is the server's to say. */
    if (language != NULL && language[0] != '\0')
        q->language = language;
    return SCE_OK;
}

/* ------------------------------------------------------------ answers */

json_t *gw_json_history(const sce_history_page *p, uint32_t offset)
{
    return sce_json_history_page(p, offset,
                                 GW_HISTORY_PAGE_MAX_BYTES - GW_HISTORY_PAGE_RESERVE_BYTES);
}

json_t *gw_json_health(const sce_health *h, int err, const char *message, unsigned *http_status)
{
    json_t *s = sce_json_health(h, err, message), *o = json_object(), *gw = json_object();
    const char *status = json_string_value(json_object_get(s, "status"));
    int bad = s == NULL || o == NULL || gw == NULL || status == NULL;

    /* {status, gateway, server, engine}: the gateway's part goes second. */
    bad |= json_object_set_new_nocheck(gw, "version", json_string(SCE_VERSION)) != 0;
    bad |= json_object_set_nocheck(o, "status", json_object_get(s, "status")) != 0;
    bad |= json_object_set_nocheck(o, "gateway", gw) != 0;
    bad |= json_object_set_nocheck(o, "server", json_object_get(s, "server")) != 0;
    bad |= json_object_set_nocheck(o, "engine", json_object_get(s, "engine")) != 0;
    if (!bad)
        *http_status = strcmp(status, "ok") == 0 ? 200 : 503;
    json_decref(gw);
    json_decref(s);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A one-line string of the gateway's own (a URL, a reason), valid JSON
 * whatever its bytes. */
static json_t *line_string(const char *text)
{
    char line[512];

    sce_utf8_clean_line(text, strlen(text), line, sizeof(line));
    return json_string(line);
}

/* One backend of /healthz. */
static json_t *backend_json(const gw_backend_state *b)
{
    json_t *one = sce_json_health(b->health, b->health_rv, b->error), *o = json_object();
    int bad = one == NULL || o == NULL;

    bad |= json_object_set_new_nocheck(o, "url", line_string(b->url)) != 0;
    bad |= json_object_set_new_nocheck(o, "state", json_string(b->up ? "up" : "down")) != 0;
    bad |= json_object_set_new_nocheck(o, "in_flight", json_integer(b->in_flight)) != 0;
    bad |= json_object_set_new_nocheck(o, "runs", json_integer((json_int_t)b->runs)) != 0;
    bad |= json_object_set_new_nocheck(o, "failures", json_integer((json_int_t)b->failures)) != 0;
    if (!b->up)
        bad |= json_object_set_new_nocheck(o, "error", line_string(b->error)) != 0;
    if (!bad) {
        bad |= json_object_set_nocheck(o, "server", json_object_get(one, "server")) != 0;
        bad |= json_object_set_nocheck(o, "engine", json_object_get(one, "engine")) != 0;
    }
    json_decref(one);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *gw_json_health_backends(const gw_backends_snapshot *s, unsigned *http_status)
{
    const gw_backend_state *first = NULL;
    json_t *o, *list = json_array();
    size_t up = 0;
    int bad = list == NULL;

    for (size_t i = 0; i < s->count; i++) {
        up += s->items[i].up != 0;
        if (first == NULL || (s->items[i].up && !first->up))
            first = &s->items[i];
    }
    if (first != NULL)
        o = gw_json_health(first->health, first->health_rv, first->error, http_status);
    else
        o = gw_json_health(NULL, SCE_ERR_UNAVAILABLE,
                           s->note[0] != '\0' ? s->note : "no sce-server behind this gateway",
                           http_status);
    bad |= o == NULL;
    for (size_t i = 0; i < s->count && !bad; i++)
        bad |= json_array_append_new(list, backend_json(&s->items[i])) != 0;
    if (!bad && s->count > 1) {
        const char *status = up == s->count ? "ok" : up > 0 ? "degraded" : NULL;

        if (status != NULL)
            bad |= json_object_set_new_nocheck(o, "status", json_string(status)) != 0;
    }
    if (!bad)
        bad |= json_object_set_new_nocheck(o, "backends", list) != 0;
    else
        json_decref(list);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    *http_status = up > 0 ? 200 : 503;
    return o;
}

json_t *gw_json_error(unsigned http_status, int err, const char *message, const char *request_id)
{
    return sce_json_error(http_status < 500, err, message, request_id);
}

unsigned gw_json_http_status(int err)
{
    switch (err) {
    case SCE_OK:
        return 200;
    case SCE_ERR_INVALID_ARGUMENT:
        return 400;
    case SCE_ERR_UNAUTHENTICATED:
        return 401;
    case SCE_ERR_PERMISSION_DENIED:
        return 403;
    case SCE_ERR_NOT_FOUND:
        return 404;
    case SCE_ERR_FAILED_PRECONDITION:
        return 409;
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
