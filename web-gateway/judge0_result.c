/*
 * judge0_result.c - see judge0_result.h.  Judge0's behaviour is read from
 * its source (app/jobs/isolate_job.rb, app/serializers/, app/services/),
 * never copied: the shapes and messages are what its clients parse.
 */
#include "judge0_result.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/base64.h>

#include "common/utf8.h"
#include "sce/err.h"

/* ------------------------------------------------------------ statuses */

static const char *const status_names[J0_STATUS_COUNT + 1] = {
    "",
    "In Queue",
    "Processing",
    "Accepted",
    "Wrong Answer",
    "Time Limit Exceeded",
    "Compilation Error",
    "Runtime Error (SIGSEGV)",
    "Runtime Error (SIGXFSZ)",
    "Runtime Error (SIGFPE)",
    "Runtime Error (SIGABRT)",
    "Runtime Error (NZEC)",
    "Runtime Error (Other)",
    "Internal Error",
    "Exec Format Error",
};

const char *j0_status_name(int id)
{
    return id >= 1 && id <= J0_STATUS_COUNT ? status_names[id] : "";
}

json_t *j0_statuses_json(void)
{
    json_t *a = json_array();

    for (int i = 1; a != NULL && i <= J0_STATUS_COUNT; i++)
        json_array_append_new(a, json_pack("{s:i, s:s}", "id", i, "description", status_names[i]));
    return a;
}

/* ------------------------------------------------------------ tokens */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
}

int j0_token_from_run_id(const char *run_id, char *out, size_t outlen)
{
    size_t o = 0;

    if (run_id == NULL || strlen(run_id) != 32 || outlen < 37)
        return 0;
    for (size_t i = 0; i < 32; i++) {
        if (!is_hex(run_id[i]))
            return 0;
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = lower(run_id[i]);
    }
    out[o] = '\0';
    return 1;
}

int j0_token_to_run_id(const char *token, char *out, size_t outlen)
{
    size_t n = token != NULL ? strlen(token) : 0, o = 0;
    int dashed = n == 36;

    if ((n != 32 && n != 36) || outlen < 33)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (token[i] != '-')
                return 0;
            continue;
        }
        if (!is_hex(token[i]))
            return 0;
        out[o++] = lower(token[i]);
    }
    out[o] = '\0';
    return 1;
}

/* ------------------------------------------------------------ Wrong Answer */

/* Ruby's String#rstrip: whitespace and NUL. */
static int rstrip_char(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '\0';
}

/* The next line of s[*pos..len) with its trailing whitespace cut: its
 * start and length.  0 when there is none left. */
static int next_line(const char *s, size_t len, size_t *pos, const char **line, size_t *n)
{
    size_t start = *pos, end;

    if (start >= len)
        return 0;
    end = start;
    while (end < len && s[end] != '\n')
        end++;
    *pos = end < len ? end + 1 : end;
    *line = s + start;
    *n = end - start;
    while (*n > 0 && rstrip_char((*line)[*n - 1]))
        (*n)--;
    return 1;
}

/* The length of s once trimmed as Judge0 trims (each line, then the end):
 * the trimmed end is after the last line that has something left. */
static size_t trimmed_end(const char *s, size_t len)
{
    while (len > 0 && rstrip_char(s[len - 1]))
        len--;
    return len;
}

int j0_output_matches(const char *expected, size_t elen, const char *actual, size_t alen)
{
    size_t ep = 0, ap = 0, en = 0, an = 0;
    const char *el = NULL, *al = NULL;
    int eh, ah;

    elen = trimmed_end(expected, elen);
    alen = trimmed_end(actual, alen);
    for (;;) {
        eh = next_line(expected, elen, &ep, &el, &en);
        ah = next_line(actual, alen, &ap, &al, &an);
        if (!eh || !ah)
            return eh == ah;
        if (en != an || memcmp(el, al, en) != 0)
            return 0;
    }
}

/* ------------------------------------------------------------ base64 */

char *j0_base64_encode(const void *data, size_t len)
{
    size_t raw = BASE64_ENCODE_RAW_LENGTH(len), lines = (raw + 59) / 60;
    char *tmp = malloc(raw + 1), *out = malloc(raw + lines + 1), *p;

    if (tmp == NULL || out == NULL) {
        free(tmp);
        free(out);
        return NULL;
    }
    base64_encode_raw(tmp, len, data);
    p = out;
    for (size_t i = 0; i < raw; i += 60) {
        size_t n = raw - i < 60 ? raw - i : 60;

        memcpy(p, tmp + i, n);
        p += n;
        *p++ = '\n';
    }
    *p = '\0';
    free(tmp);
    return out;
}

int j0_base64_decode(const char *text, size_t len, char **out, size_t *outlen)
{
    struct base64_decode_ctx ctx;
    size_t n = BASE64_DECODE_LENGTH(len);
    char *buf = malloc(n + 1);

    if (buf == NULL)
        return SCE_ERR_NO_MEMORY;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &n, (uint8_t *)buf, len, text) || !base64_decode_final(&ctx)) {
        free(buf);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return SCE_OK;
}

/* ------------------------------------------------------------ outcomes */

/* text[0..len) in the history's form (j0_outcome_from_events), malloc'd;
 * NULL when out of memory. */
static char *history_form(const char *text, size_t len, size_t *outlen)
{
    size_t n = text == NULL ? 0 : len < J0_HISTORY_TEXT_MAX_BYTES ? len : J0_HISTORY_TEXT_MAX_BYTES;
    /* A cleaned byte takes at most 3 (U+FFFD); the copy is cut at the cap. */
    size_t cap = n < J0_HISTORY_TEXT_MAX_BYTES / 3 ? n * 3 : J0_HISTORY_TEXT_MAX_BYTES;
    char *out;

    if ((out = malloc(cap + 1)) == NULL)
        return NULL;
    *outlen = sce_utf8_clean(text != NULL ? text : "", n, out, cap + 1, NULL);
    return out;
}

/* Fills o's texts from the given ones, in the history's form. */
static int outcome_texts(j0_outcome *o, const char *out, size_t outlen, const char *err,
                         size_t errlen, const char *message)
{
    size_t mlen = message != NULL ? strlen(message) : 0;

    o->owned[0] = history_form(out, outlen, &o->stdout_len);
    o->owned[1] = history_form(err, errlen, &o->stderr_len);
    /* The history's one-line message (its clean_line: 2048 bytes). */
    o->owned[2] = malloc(2048);
    if (o->owned[0] == NULL || o->owned[1] == NULL || o->owned[2] == NULL) {
        j0_outcome_free(o);
        return SCE_ERR_NO_MEMORY;
    }
    sce_utf8_clean_line(message != NULL ? message : "", mlen, o->owned[2], 2048);
    o->stdout_data = o->owned[0];
    o->stderr_data = o->owned[1];
    o->message = o->owned[2];
    return SCE_OK;
}

int j0_outcome_from_events(const sce_run_events *e, j0_outcome *o)
{
    const sce_run_result *r = e->result;

    memset(o, 0, sizeof(*o));
    if (!e->done || r == NULL) {
        o->state = e->running ? J0_STATUS_PROCESSING : J0_STATUS_QUEUE;
        return SCE_OK;
    }
    o->verdict = r->verdict;
    o->exit_code = r->exit_code;
    o->signal = r->signal;
    o->wall_ms = r->wall_ms;
    o->cpu_ms = r->cpu_ms;
    o->peak_memory_bytes = r->peak_memory_bytes;
    return outcome_texts(o, r->stdout_data, r->stdout_len, r->stderr_data, r->stderr_len,
                         r->message);
}

int j0_outcome_from_history(const sce_history_entry *h, j0_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->verdict = h->verdict;
    o->exit_code = h->exit_code;
    o->signal = h->signal;
    o->wall_ms = h->wall_ms;
    o->cpu_ms = h->cpu_ms;
    o->peak_memory_bytes = h->peak_memory_bytes;
    /* Stored in that form already: cleaning it again changes nothing. */
    return outcome_texts(o, h->output, h->output != NULL ? strlen(h->output) : 0, h->stderr_text,
                         h->stderr_text != NULL ? strlen(h->stderr_text) : 0, h->message);
}

void j0_outcome_free(j0_outcome *o)
{
    for (size_t i = 0; i < sizeof(o->owned) / sizeof(o->owned[0]); i++) {
        free(o->owned[i]);
        o->owned[i] = NULL;
    }
}

/* ------------------------------------------------------------ status */

static int status_of_signal(int sig)
{
    switch (sig) {
    case 11:
        return J0_STATUS_SIGSEGV;
    case 25:
        return J0_STATUS_SIGXFSZ;
    case 8:
        return J0_STATUS_SIGFPE;
    case 6:
        return J0_STATUS_SIGABRT;
    default:
        return J0_STATUS_OTHER;
    }
}

/* A text of the meta (stored as base64 without line breaks); 0 when the
 * key is absent or null. */
static int meta_text(const json_t *meta, const char *key, char **out, size_t *len)
{
    const json_t *v = json_object_get(meta, key);

    *out = NULL;
    *len = 0;
    if (!json_is_string(v))
        return 0;
    return j0_base64_decode(json_string_value(v), json_string_length(v), out, len) == SCE_OK;
}

static double meta_number(const json_t *meta, const char *key)
{
    const json_t *v = json_object_get(meta, key);

    return json_is_number(v) ? json_number_value(v) : 0;
}

/* v->message from a format whose arguments may hold any UTF-8 text (a
 * server's message): cut at a character boundary, so the answer stays
 * valid UTF-8 however long the text. */
__attribute__((format(printf, 2, 3))) static void set_message(j0_verdict *v, const char *fmt, ...)
{
    char full[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(full, sizeof(full), fmt, ap);
    va_end(ap);
    sce_utf8_clean_line(full, strlen(full), v->message, sizeof(v->message));
}

void j0_decide(const j0_outcome *o, const json_t *meta, j0_verdict *v)
{
    const char *msg = o->message != NULL ? o->message : "";
    double cpu_limit_s = meta_number(meta, "cpu_time_limit");
    char *expected = NULL;
    size_t elen = 0;

    memset(v, 0, sizeof(*v));
    v->exit_code = -1;
    v->exit_signal = -1;
    if (o->state != 0) {
        v->status = o->state;
        return;
    }
    switch (o->verdict) {
    case SCE_VERDICT_OK:
        v->exit_code = 0;
        /* The run may go on for cpu_extra_time past cpu_time_limit; past
         * the limit is a TLE all the same, as isolate says. */
        if (cpu_limit_s > 0 && o->cpu_ms > 0 && o->cpu_ms > cpu_limit_s * 1000) {
            v->status = J0_STATUS_TLE;
            snprintf(v->message, sizeof(v->message), "Time limit exceeded");
        } else if (meta_text(meta, "expected_output", &expected, &elen) &&
                   !j0_output_matches(expected, elen, o->stdout_data != NULL ? o->stdout_data : "",
                                      o->stdout_len)) {
            v->status = J0_STATUS_WRONG_ANSWER;
        } else {
            v->status = J0_STATUS_ACCEPTED;
        }
        break;
    case SCE_VERDICT_TIMEOUT:
        v->status = J0_STATUS_TLE;
        v->exit_code = 0;
        snprintf(v->message, sizeof(v->message), "Time limit exceeded");
        break;
    case SCE_VERDICT_RUNTIME_ERROR:
        if (o->signal > 0) {
            v->status = status_of_signal(o->signal);
            v->exit_code = 0;
            v->exit_signal = o->signal;
            snprintf(v->message, sizeof(v->message), "Caught fatal signal %d", o->signal);
        } else {
            v->status = J0_STATUS_NZEC;
            v->exit_code = o->exit_code;
            snprintf(v->message, sizeof(v->message), "Exited with error status %d", o->exit_code);
        }
        break;
    case SCE_VERDICT_MEMORY_LIMIT:
        v->status = J0_STATUS_OTHER;
        v->exit_code = 0;
        v->exit_signal = 9;
        set_message(v, "%s", msg[0] ? msg : "Memory limit exceeded");
        break;
    case SCE_VERDICT_OUTPUT_LIMIT:
        v->status = J0_STATUS_SIGXFSZ;
        v->exit_code = 0;
        v->exit_signal = 25;
        set_message(v, "%s", msg[0] ? msg : "Output limit exceeded");
        break;
    default:
        v->status = J0_STATUS_INTERNAL;
        set_message(v, "%s: %s", sce_verdict_name(o->verdict),
                    msg[0] ? msg : "the run did not complete");
        break;
    }
    free(expected);
}

/* ------------------------------------------------------------ fields */

/* Every field, in Judge0's order (its submissions table, then status and
 * language). */
static const char *const all_fields[] = {
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
};
#define ALL_FIELDS (sizeof(all_fields) / sizeof(all_fields[0]))

static const char *const default_fields[] = {
    "token", "time", "memory", "stdout", "stderr", "compile_output", "message", "status",
};

static int known_field(const char *name, size_t n)
{
    for (size_t i = 0; i < ALL_FIELDS; i++)
        if (strlen(all_fields[i]) == n && memcmp(all_fields[i], name, n) == 0)
            return 1;
    return 0;
}

json_t *j0_fields_parse(const char *fields, char **bad)
{
    json_t *out = json_array();
    char *badlist = NULL;
    size_t badlen = 0;
    int star = 0;

    *bad = NULL;
    if (out == NULL)
        return NULL;
    for (const char *p = fields != NULL ? fields : ""; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

        if (n == 1 && p[0] == '*') {
            star = 1;
        } else if (n > 0 && known_field(p, n)) {
            json_array_append_new(out, json_stringn(p, n));
        } else if (n > 0) {
            /* Judge0 lists every unknown name: "invalid fields: [a, b]". */
            char *grown = realloc(badlist, badlen + n + 3);

            if (grown == NULL)
                goto oom;
            badlist = grown;
            if (badlen > 0) {
                memcpy(badlist + badlen, ", ", 2);
                badlen += 2;
            }
            memcpy(badlist + badlen, p, n);
            badlen += n;
            badlist[badlen] = '\0';
        }
        p += n + (comma != NULL);
    }
    if (badlist != NULL) {
        size_t m = badlen + 32;

        if ((*bad = malloc(m)) == NULL)
            goto oom;
        snprintf(*bad, m, "invalid fields: [%s]", badlist);
        free(badlist);
        json_decref(out);
        return NULL;
    }
    if (star || json_array_size(out) == 0) {
        json_array_clear(out);
        for (size_t i = 0; star ? i < ALL_FIELDS : i < 8; i++)
            json_array_append_new(out, json_string(star ? all_fields[i] : default_fields[i]));
    }
    return out;
oom:
    free(badlist);
    json_decref(out);
    return NULL;
}

/* ------------------------------------------------------------ serialiser */

/* A text field: null when absent; else the text, or its encode64. */
static json_t *text_json(const char *s, size_t len, int present, int base64, int *utf8_error)
{
    char *enc;
    json_t *v;

    if (!present || s == NULL)
        return json_null();
    if (base64) {
        if ((enc = j0_base64_encode(s, len)) == NULL)
            return NULL;
        v = json_string(enc);
        free(enc);
        return v;
    }
    /* jansson refuses text that is not UTF-8 (NUL characters it keeps). */
    if ((v = json_stringn(s, len)) == NULL) {
        *utf8_error = 1;
        return json_null();
    }
    return v;
}

/* A text of the meta, written as text_json writes. */
static json_t *meta_text_json(const json_t *meta, const char *key, int base64, int *utf8_error)
{
    char *t = NULL;
    size_t n = 0;
    json_t *v;

    if (!meta_text(meta, key, &t, &n))
        return json_null();
    v = text_json(t, n, 1, base64, utf8_error);
    free(t);
    return v;
}

/* Judge0's decimals are strings (Rails' BigDecimal): "5.0", "0.5".  A meta
 * from elsewhere may hold any number: only one well inside long long's
 * range is cast. */
static json_t *decimal_json(double v)
{
    char buf[32];

    if (!isfinite(v) || fabs(v) >= 1e15)
        snprintf(buf, sizeof(buf), "%g", v);
    else if (v == (double)(long long)v)
        snprintf(buf, sizeof(buf), "%.1f", v);
    else
        snprintf(buf, sizeof(buf), "%g", v);
    return json_string(buf);
}

static json_t *seconds_json(uint32_t ms)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%u.%03u", ms / 1000, ms % 1000);
    return json_string(buf);
}

/* Rails' JSON time: 2024-05-04T10:11:12.345Z. */
static json_t *time_json(int64_t unix_ms)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    char buf[48];

    if (unix_ms <= 0 || gmtime_r(&t, &tm) == NULL)
        return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
    return json_string(buf);
}

static json_t *int_or_null(int v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *meta_or_null(const json_t *meta, const char *key)
{
    json_t *v = json_object_get(meta, key);

    return v != NULL ? json_incref(v) : json_null();
}

/* One field's value; NULL when out of memory. */
static json_t *field_json(const char *f, const char *token, const json_t *meta, const j0_outcome *o,
                          const j0_verdict *v, int base64, const char *language_name,
                          int *utf8_error)
{
    int ended = o->state == 0;
    const char *msg = v->message[0] ? v->message : NULL;

    if (strcmp(f, "token") == 0)
        return json_string(token);
    if (strcmp(f, "source_code") == 0 || strcmp(f, "stdin") == 0 ||
        strcmp(f, "expected_output") == 0)
        return meta_text_json(meta, f, base64, utf8_error);
    if (strcmp(f, "language_id") == 0)
        return meta_or_null(meta, "language_id");
    if (strcmp(f, "stdout") == 0)
        return text_json(o->stdout_data, o->stdout_len, ended && o->stdout_len > 0, base64,
                         utf8_error);
    if (strcmp(f, "stderr") == 0)
        return text_json(o->stderr_data, o->stderr_len, ended && o->stderr_len > 0, base64,
                         utf8_error);
    if (strcmp(f, "message") == 0)
        return text_json(msg, msg != NULL ? strlen(msg) : 0, msg != NULL, base64, utf8_error);
    if (strcmp(f, "status_id") == 0)
        return json_integer(v->status);
    if (strcmp(f, "status") == 0)
        return json_pack("{s:i, s:s}", "id", v->status, "description", j0_status_name(v->status));
    if (strcmp(f, "created_at") == 0)
        return time_json(json_integer_value(json_object_get(meta, "created_at_ms")));
    if (strcmp(f, "finished_at") == 0) {
        json_int_t at = json_integer_value(json_object_get(meta, "created_at_ms"));

        /* A meta says when: never an overflow, whatever it says. */
        if (!ended || at <= 0 || at > INT64_MAX - (json_int_t)o->wall_ms)
            return json_null();
        return time_json(at + o->wall_ms);
    }
    if (strcmp(f, "time") == 0)
        return ended ? seconds_json(o->cpu_ms > 0 ? o->cpu_ms : o->wall_ms) : json_null();
    if (strcmp(f, "wall_time") == 0)
        return ended ? seconds_json(o->wall_ms) : json_null();
    if (strcmp(f, "memory") == 0)
        return ended && o->peak_memory_bytes > 0
                   ? json_integer((json_int_t)((o->peak_memory_bytes + 1023) / 1024))
                   : json_null();
    if (strcmp(f, "number_of_runs") == 0)
        return json_integer(1);
    if (strcmp(f, "cpu_time_limit") == 0 || strcmp(f, "cpu_extra_time") == 0 ||
        strcmp(f, "wall_time_limit") == 0)
        return decimal_json(meta_number(meta, f));
    if (strcmp(f, "memory_limit") == 0)
        return meta_or_null(meta, "memory_limit");
    if (strcmp(f, "exit_code") == 0)
        return int_or_null(v->exit_code);
    if (strcmp(f, "exit_signal") == 0)
        return int_or_null(v->exit_signal);
    if (strcmp(f, "command_line_arguments") == 0)
        return meta_or_null(meta, "command_line_arguments");
    if (strcmp(f, "enable_per_process_and_thread_time_limit") == 0 ||
        strcmp(f, "enable_per_process_and_thread_memory_limit") == 0 ||
        strcmp(f, "redirect_stderr_to_stdout") == 0 || strcmp(f, "enable_network") == 0)
        return json_false();
    if (strcmp(f, "language") == 0) {
        json_t *id = json_object_get(meta, "language_id");

        return json_pack("{s:O, s:s}", "id", id != NULL ? id : json_null(), "name",
                         language_name != NULL ? language_name : "");
    }
    /* stack_limit, max_processes_and_or_threads, max_file_size: sce has
     * none of its own (they are refused when set); compile_output,
     * compiler_options, callback_url: never; additional_files: not kept. */
    return json_null();
}

json_t *j0_submission_json(const char *token, const json_t *meta, const j0_outcome *o,
                           const json_t *fields, int base64, const char *language_name,
                           int *utf8_error)
{
    json_t *out = json_object();
    j0_verdict v;
    size_t i;
    json_t *f;

    *utf8_error = 0;
    if (out == NULL)
        return NULL;
    j0_decide(o, meta, &v);
    json_array_foreach(fields, i, f)
    {
        json_t *val =
            field_json(json_string_value(f), token, meta, o, &v, base64, language_name, utf8_error);

        if (val == NULL || json_object_set_new(out, json_string_value(f), val) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (*utf8_error) {
        json_decref(out);
        return NULL;
    }
    return out;
}
