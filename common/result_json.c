/*
 * result_json.c - libsce results to the HTTP API's JSON (result_json.h),
 * shared by sce-gateway and the `sce` CLI.
 *
 * Builders set keys in the order docs/API.md shows them (jansson keeps
 * insertion order), chain the sets with |= and check once; any failure
 * releases what was built and returns NULL.  Every string from outside goes
 * through sce_utf8_lossy() first, so the output is always valid JSON.
 */
#include "common/result_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sce/err.h"
#include "common/utf8.h"

/* A JSON string of arbitrary bytes; *lossy (may be NULL) gets whether
 * anything was replaced.  NULL on out of memory. */
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

/* An unsigned figure, held at INT64_MAX (JSON integers are signed). */
static json_t *u64(uint64_t v)
{
    return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Sets o[key] = v, consuming v; 0 on success, -1 (v released) otherwise. */
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

/* Ends a builder of a plain object: o, or NULL (o released) when bad. */
static json_t *done(json_t *o, int bad)
{
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------ errors */

int sce_json_err_rejected(int err)
{
    switch (err) {
    case SCE_ERR_INVALID_ARGUMENT:
    case SCE_ERR_NOT_FOUND:
    case SCE_ERR_FAILED_PRECONDITION:
    case SCE_ERR_RESOURCE_EXHAUSTED:
    case SCE_ERR_PERMISSION_DENIED:
    case SCE_ERR_UNAUTHENTICATED:
        return 1;
    default:
        return 0;
    }
}

json_t *sce_json_error(int rejected, int err, const char *message, const char *request_id)
{
    /* Room for one character past the cap, to tell whether it was cut. */
    char line[SCE_JSON_ERROR_MESSAGE_MAX + 8];
    json_t *o = json_object();
    int bad = 0;

    if (o == NULL)
        return NULL;
    if (message == NULL || *message == '\0')
        message = sce_strerror(err);
    /* One line of valid UTF-8: control characters (a decoded %0A in a path)
     * become spaces; a longer message (a long path) is cut at a character
     * boundary within SCE_JSON_ERROR_MESSAGE_MAX bytes and says so. */
    if (sce_utf8_clean_line(message, strlen(message), line, sizeof(line)) >
        SCE_JSON_ERROR_MESSAGE_MAX) {
        size_t n =
            sce_utf8_clean_line(message, strlen(message), line, SCE_JSON_ERROR_MESSAGE_MAX + 1);

        memcpy(line + n, "...", 4);
    }
    bad |= put(o, "error", cstring(line));
    bad |= put(o, "status", json_string(rejected ? "rejected" : "error"));
    bad |= put(o, "code", json_string(sce_err_name(err)));
    if (request_id != NULL && *request_id != '\0')
        bad |= put(o, "request_id", cstring(request_id));
    return done(o, bad);
}

/* ------------------------------------------------------------ runs */

json_t *sce_json_run_result(const sce_run_result *r)
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
    bad |= put(o, "peak_memory_bytes", u64(r->peak_memory_bytes));
    bad |= put(o, "language", cstring(r->language));
    bad |= put(o, "language_version", cstring(r->language_version));
    bad |= put(lim, "timeout_ms", json_integer(r->timeout_ms));
    bad |= put(lim, "memory_bytes", u64(r->memory_bytes));
    bad |= put(lim, "output_limit_bytes", json_integer(r->output_limit_bytes));
    bad |= put(o, "limits", lim);
    lim = NULL;
    bad |= put(o, "request_id", cstring(r->request_id));
    return done(o, bad);
fail:
    json_decref(out);
    json_decref(lim);
    json_decref(o);
    return NULL;
}

json_t *sce_json_batch_result(const sce_batch_result *b)
{
    json_t *o = json_object(), *arr = json_array();
    char rid[96];
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; i < b->count; i++) {
        const sce_batch_item *x = &b->items[i];
        json_t *item;

        if (x->status == SCE_OK && x->result != NULL) {
            item = sce_json_run_result(x->result);
        } else {
            /* The task ran (or was refused) as "<batch id>-<i>" in the
             * server's log. */
            snprintf(rid, sizeof(rid), "%s-%zu", b->request_id != NULL ? b->request_id : "", i);
            item = sce_json_error(sce_json_err_rejected(x->status), x->status, x->message,
                                  b->request_id != NULL && b->request_id[0] != '\0' ? rid : NULL);
        }
        if (item == NULL || json_array_append_new(arr, item) != 0)
            goto fail;
    }
    bad |= put(o, "results", arr);
    arr = NULL;
    bad |= put(o, "request_id", cstring(b->request_id));
    return done(o, bad);
fail:
    json_decref(arr);
    json_decref(o);
    return NULL;
}

/* ------------------------------------------------------------ history */

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

json_t *sce_json_history_entry(const sce_history_entry *e)
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
    bad |= put(item, "cpu_ms", json_integer(e->cpu_ms));
    bad |= put(item, "peak_memory_bytes", json_integer((json_int_t)e->peak_memory_bytes));
    bad |= put(item, "signal", json_integer(e->signal));
    bad |= put(item, "request_id", cstring(e->request_id));
    bad |= put(item, "run_id", cstring(e->run_id));
    bad |= put(item, "tenant", cstring(e->tenant));
    bad |= put(item, "truncated", json_boolean(e->truncated));
    return done(item, bad);
}

json_t *sce_json_history_page(const sce_history_page *p, uint32_t offset, size_t max_entry_bytes)
{
    json_t *o = json_object(), *arr = json_array();
    size_t bytes = 0;
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; i < p->count; i++) {
        json_t *item = sce_json_history_entry(&p->entries[i]);

        if (item == NULL)
            goto fail;
        /* The server keeps each entry within its budget; should one be
         * over all the same (a server before the budget), the page ends
         * before it, and the client pages on from there. */
        if (max_entry_bytes > 0) {
            bytes += json_dumpb(item, NULL, 0, JSON_COMPACT) + 1;
            if (bytes > max_entry_bytes) {
                json_decref(item);
                break;
            }
        }
        if (json_array_append_new(arr, item) != 0)
            goto fail;
    }
    bad |= put(o, "enabled", json_boolean(p->enabled));
    bad |= put(o, "total", u64(p->total));
    bad |= put(o, "offset", json_integer(offset));
    return finish(o, "entries", arr, bad);
fail:
    return finish(o, NULL, arr, -1);
}

/* ------------------------------------------------------------ languages, health */

json_t *sce_json_languages(const sce_language_list *l)
{
    json_t *o = json_object(), *arr = json_array();
    int bad = 0;

    if (o == NULL || arr == NULL)
        goto fail;
    for (size_t i = 0; l != NULL && i < l->count; i++) {
        const sce_language *x = &l->items[i];
        json_t *item = json_object(), *ext = json_array();

        if (item == NULL || ext == NULL) {
            json_decref(item);
            json_decref(ext);
            goto fail;
        }
        /* json_array_append_new releases item even when it fails */
        if (json_array_append_new(arr, item) != 0) {
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
        bad |= put(item, "runtime", cstring(x->runtime));
    }
    return finish(o, "languages", arr, bad);
fail:
    return finish(o, NULL, arr, -1);
}

json_t *sce_json_health(const sce_health *h, int err, const char *message)
{
    json_t *o = json_object(), *srv = json_object(), *eng = json_object(), *rts = json_object();
    const char *status;
    int bad = 0;

    if (o == NULL || srv == NULL || eng == NULL || rts == NULL) {
        json_decref(srv);
        json_decref(eng);
        json_decref(rts);
        return done(o, -1);
    }
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
        bad |= put(srv, "uptime_ms", u64(h->uptime_ms));
        bad |= put(srv, "runs_total", u64(h->runs_total));
        bad |= put(eng, "ok", json_boolean(h->engine_ok));
        bad |= put(eng, "version", cstring(h->engine_version));
        bad |= put(eng, "message", cstring(h->engine_message));
        for (size_t i = 0; i < h->nruntimes; i++)
            /* a key from the server: checked as UTF-8 (json_object_set_new) */
            if (h->runtimes[i].language != NULL && h->runtimes[i].language[0] != '\0' &&
                json_object_set_new(rts, h->runtimes[i].language,
                                    cstring(h->runtimes[i].runtime)) != 0)
                bad = -1;
    }
    /* The OCI runtime of each language's runs: {"python": "runc"}. */
    bad |= put(eng, "runtimes", rts);
    bad |= put(o, "status", json_string(status));
    bad |= put(o, "server", srv);
    bad |= put(o, "engine", eng);
    return done(o, bad);
}
