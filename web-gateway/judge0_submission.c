/*
 * judge0_submission.c - see judge0_submission.h.  The rules are Judge0's
 * app/models/submission.rb as documented behaviour (messages, bounds,
 * defaults), never its code.
 */
#include "judge0_submission.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>

#include "judge0_result.h"
#include "sce/err.h"

/* ------------------------------------------------------------ errors */

/* Appends a message to errors[field] (Rails keeps every message). */
static int add_error(json_t *errors, const char *field, const char *msg)
{
    json_t *list = json_object_get(errors, field);

    if (list == NULL) {
        if ((list = json_array()) == NULL || json_object_set_new(errors, field, list) != 0)
            return SCE_ERR_NO_MEMORY;
    }
    return json_array_append_new(list, json_string(msg)) == 0 ? SCE_OK : SCE_ERR_NO_MEMORY;
}

/* ------------------------------------------------------------ values */

/* Absent and null are both "not given" (Judge0 then applies its default). */
static const json_t *given(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

/* Rails' numericality: a JSON number or a string that is one.  0 when it
 * is not a number. */
static int number_of(const json_t *v, double *out)
{
    const char *s;
    char *end;

    if (json_is_number(v)) {
        *out = json_number_value(v);
        return isfinite(*out);
    }
    if (!json_is_string(v))
        return 0;
    s = json_string_value(v);
    while (isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return 0;
    *out = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0' && isfinite(*out);
}

/* Rails' boolean cast: true, "true", "1", 1, "t"... are true. */
static int truthy(const json_t *v)
{
    const char *s;

    if (v == NULL || json_is_false(v))
        return 0;
    if (json_is_true(v))
        return 1;
    if (json_is_number(v))
        return json_number_value(v) != 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        return s[0] != '\0' && strcmp(s, "0") != 0 && strcmp(s, "f") != 0 &&
               strcmp(s, "false") != 0 && strcmp(s, "F") != 0 && strcmp(s, "FALSE") != 0 &&
               strcmp(s, "off") != 0 && strcmp(s, "OFF") != 0;
    }
    return 1;
}

/* Rails' blank: absent, null, or a string of whitespace only. */
static int blank(const char *s, size_t len)
{
    for (size_t i = 0; s != NULL && i < len; i++)
        if (!isspace((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A text field: its bytes (decoded from base64 when asked), malloc'd and
 * NUL-terminated, or NULL when not given.  Adds the field's error
 * otherwise. */
static int text_of(const json_t *obj, const char *key, int base64, json_t *errors, char **out,
                   size_t *len)
{
    const json_t *v = given(obj, key);
    int rv;

    *out = NULL;
    *len = 0;
    if (v == NULL)
        return SCE_OK;
    if (!json_is_string(v))
        return add_error(errors, key, "must be a string");
    if (base64) {
        rv = j0_base64_decode(json_string_value(v), json_string_length(v), out, len);
        if (rv == SCE_ERR_INVALID_ARGUMENT)
            return add_error(errors, key, "is not valid base64");
        return rv;
    }
    *len = json_string_length(v);
    if ((*out = malloc(*len + 1)) == NULL)
        return SCE_ERR_NO_MEMORY;
    memcpy(*out, json_string_value(v), *len);
    (*out)[*len] = '\0';
    return SCE_OK;
}

/* A numeric field with Rails' numericality messages, checked against
 * [min, max] (min excluded when strict) before anything casts it: max is
 * shown with max_decimals decimals, as /config_info writes it ("10.0" for
 * seconds, Judge0's floats; "131072" for KB).
 * *out keeps its default when not given. */
static int number_field(const json_t *obj, const char *key, double min, int strict, double max,
                        int max_decimals, json_t *errors, double *out, int *is_given)
{
    const json_t *v = given(obj, key);
    char msg[96];
    double d;

    *is_given = 0;
    if (v == NULL || (json_is_string(v) && blank(json_string_value(v), json_string_length(v))))
        return SCE_OK;
    if (!number_of(v, &d))
        return add_error(errors, key, "is not a number");
    if (strict ? d <= min : d < min) {
        snprintf(msg, sizeof(msg), "must be greater than %s%g", strict ? "" : "or equal to ", min);
        return add_error(errors, key, msg);
    }
    if (d > max) {
        snprintf(msg, sizeof(msg), "must be less than or equal to %.*f", max_decimals, max);
        return add_error(errors, key, msg);
    }
    *out = d;
    *is_given = 1;
    return SCE_OK;
}

/* A field sce has one value of: given, it must be that value. */
static int fixed_field(const json_t *obj, const char *key, double sce_value, const char *why,
                       json_t *errors)
{
    const json_t *v = given(obj, key);
    double d;

    if (v == NULL || (json_is_string(v) && blank(json_string_value(v), json_string_length(v))))
        return SCE_OK;
    if (!number_of(v, &d))
        return add_error(errors, key, "is not a number");
    return d == sce_value ? SCE_OK : add_error(errors, key, why);
}

/* ------------------------------------------------------------ arguments */

int j0_split_args(const char *line, char **buf, const char ***argv, size_t *argc)
{
    size_t n = strlen(line), count = 0, o = 0;
    char *b = malloc(n + 1), quote;
    const char **v = calloc(n / 2 + 2, sizeof(*v));
    const char *p = line;

    if (b == NULL || v == NULL)
        goto fail;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0')
            break;
        v[count++] = b + o;
        quote = 0;
        while (*p != '\0' && (quote || !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))) {
            if (quote == 0 && (*p == '\'' || *p == '"')) {
                quote = *p++;
            } else if (quote != 0 && *p == quote) {
                quote = 0;
                p++;
            } else if (*p == '\\' && quote != '\'' && p[1] != '\0') {
                b[o++] = p[1];
                p += 2;
            } else {
                b[o++] = *p++;
            }
        }
        if (quote != 0)
            goto fail;
        b[o++] = '\0';
    }
    *buf = b;
    *argv = v;
    *argc = count;
    return 0;
fail:
    free(b);
    free(v);
    return -1;
}

/* ------------------------------------------------------------ meta */

/* The meta's worst case fits the server's cap (judge0_submission.h). */
_Static_assert(2 * BASE64_ENCODE_RAW_LENGTH(J0_ECHO_MAX_BYTES) +
                       BASE64_ENCODE_RAW_LENGTH(J0_EXPECTED_MAX_BYTES) + J0_META_OTHER_MAX_BYTES <=
                   SCE_RUN_META_MAX_BYTES,
               "a Judge0 submission's meta can exceed SCE_RUN_META_MAX_BYTES");

static json_t *b64_json(const char *data, size_t len)
{
    size_t n = BASE64_ENCODE_RAW_LENGTH(len);
    char *t = malloc(n + 1);
    json_t *v;

    if (t == NULL)
        return NULL;
    base64_encode_raw(t, len, (const uint8_t *)data);
    t[n] = '\0';
    v = json_stringn(t, n);
    free(t);
    return v;
}

/* ------------------------------------------------------------ the submission */

typedef struct parsed {
    char *expected;
    size_t expected_len;
    char *cmdline;
    size_t cmdline_len;
    double cpu_s, extra_s, wall_s, memory_kb;
    int cpu_given, extra_given, wall_given, memory_given;
    long language_id;
} parsed;

/* language_id: an integer, or a string holding one, of a language sce runs. */
static int check_language(const json_t *obj, json_t *errors, j0_submission *s, parsed *p)
{
    const json_t *v = given(obj, "language_id");
    char msg[160], shown[64];
    double d = 0;

    if (v == NULL || (json_is_string(v) && blank(json_string_value(v), json_string_length(v))))
        return add_error(errors, "language_id", "can't be blank");
    if (number_of(v, &d) && d == floor(d) && fabs(d) < 1e9) {
        p->language_id = (long)d;
        if ((s->lang = j0_language_find(p->language_id)) != NULL)
            return SCE_OK;
        snprintf(shown, sizeof(shown), "%ld", p->language_id);
    } else if (json_is_string(v)) {
        snprintf(shown, sizeof(shown), "%.40s", json_string_value(v));
    } else {
        snprintf(shown, sizeof(shown), "%s", "?");
    }
    snprintf(msg, sizeof(msg), "language with id %s doesn't exist", shown);
    return add_error(errors, "language_id", msg);
}

/* What sce cannot honour, refused with the field's name. */
static int check_refused(const json_t *obj, json_t *errors)
{
    const json_t *v;
    int rv = SCE_OK;

    if (rv == SCE_OK && (v = given(obj, "stack_limit")) != NULL)
        rv = add_error(errors, "stack_limit",
                       "sce sets no stack limit of its own (the stack counts in memory_limit): "
                       "leave stack_limit out");
    if (rv == SCE_OK)
        rv = fixed_field(obj, "max_processes_and_or_threads", J0_PROCESSES,
                         "sce runs every program with at most 64 processes and threads: leave "
                         "it out or send 64",
                         errors);
    if (rv == SCE_OK)
        rv = fixed_field(obj, "max_file_size", J0_FILE_SIZE_KB,
                         "sce's programs may write files of up to 16384 KB, and 64 KiB of "
                         "output per stream: leave it out or send 16384",
                         errors);
    if (rv == SCE_OK && truthy(given(obj, "enable_per_process_and_thread_time_limit")))
        rv = add_error(errors, "enable_per_process_and_thread_time_limit",
                       "this option cannot be enabled");
    if (rv == SCE_OK && truthy(given(obj, "enable_per_process_and_thread_memory_limit")))
        rv = add_error(errors, "enable_per_process_and_thread_memory_limit",
                       "this option cannot be enabled");
    if (rv == SCE_OK && truthy(given(obj, "redirect_stderr_to_stdout")))
        rv = add_error(errors, "redirect_stderr_to_stdout",
                       "sce keeps stdout and stderr apart: redirecting stderr to stdout is not "
                       "supported");
    v = given(obj, "compiler_options");
    if (rv == SCE_OK && v != NULL &&
        !(json_is_string(v) && blank(json_string_value(v), json_string_length(v))))
        rv = add_error(errors, "compiler_options",
                       "setting compiler options is only allowed for compiled languages");
    v = given(obj, "callback_url");
    if (rv == SCE_OK && v != NULL &&
        !(json_is_string(v) && blank(json_string_value(v), json_string_length(v))))
        rv = add_error(errors, "callback_url",
                       "setting callback is not allowed: sce-gateway makes no requests to URLs "
                       "its users give (server-side request forgery, the subject of Judge0's "
                       "2024 advisories); poll GET /submissions/{token} or use wait=true");
    if (rv == SCE_OK && truthy(given(obj, "enable_network")))
        rv = add_error(errors, "enable_network",
                       "enabling network is not allowed: sce runs code without network access "
                       "(network access from submissions was part of Judge0's 2024 sandbox "
                       "escape advisories)");
    return rv;
}

static int check_limits(const json_t *obj, json_t *errors, parsed *p)
{
    double runs = 1;
    int runs_given = 0, rv;

    p->cpu_s = J0_TIME_LIMIT_S;
    p->wall_s = J0_TIME_LIMIT_S;
    p->extra_s = 0;
    p->memory_kb = J0_MEMORY_LIMIT_KB;
    if ((rv = number_field(obj, "number_of_runs", 0, 1, HUGE_VAL, 0, errors, &runs, &runs_given)) !=
        SCE_OK)
        return rv;
    if (runs_given && runs != 1 &&
        (rv = add_error(errors, "number_of_runs",
                        "sce runs each submission once: only 1 is supported")) != SCE_OK)
        return rv;
    /* Judge0's bounds, with the maxima /config_info gives (judge0_catalog.h). */
    if ((rv = number_field(obj, "cpu_time_limit", 0, 0, J0_TIME_LIMIT_S, 1, errors, &p->cpu_s,
                           &p->cpu_given)) != SCE_OK ||
        (rv = number_field(obj, "cpu_extra_time", 0, 0, J0_TIME_LIMIT_S, 1, errors, &p->extra_s,
                           &p->extra_given)) != SCE_OK ||
        (rv = number_field(obj, "wall_time_limit", 1, 0, J0_TIME_LIMIT_S, 1, errors, &p->wall_s,
                           &p->wall_given)) != SCE_OK ||
        (rv = number_field(obj, "memory_limit", J0_MEMORY_LIMIT_MIN_KB, 0, J0_MEMORY_LIMIT_KB, 0,
                           errors, &p->memory_kb, &p->memory_given)) != SCE_OK)
        return rv;
    if (p->cpu_given && p->cpu_s == 0)
        p->cpu_given = 0; /* isolate's 0: no limit, so the server's */
    return SCE_OK;
}

/* req's timeout: the lower of cpu_time_limit + cpu_extra_time and
 * wall_time_limit, among those given. */
static void set_timeout(j0_submission *s, const parsed *p)
{
    double cpu = p->cpu_given ? p->cpu_s + p->extra_s : 0, wall = p->wall_given ? p->wall_s : 0;
    double t = 0;

    if (cpu > 0 && (wall == 0 || cpu <= wall)) {
        t = cpu;
        s->timeout_field = "cpu_time_limit";
    } else if (wall > 0) {
        t = wall;
        s->timeout_field = "wall_time_limit";
    }
    s->req.timeout_ms = t > 0 ? (uint32_t)ceil(fmin(t, 4e6) * 1000) : 0;
    s->req.memory_bytes = p->memory_given ? (uint64_t)p->memory_kb * 1024 : 0;
}

/* additional_files: a base64 ZIP; the source becomes its entry. */
static int add_files(const json_t *obj, json_t *errors, j0_submission *s)
{
    const json_t *v = given(obj, "additional_files");
    char err[512], *zip = NULL;
    size_t zlen = 0, n = 0;
    int rv;

    if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
        return SCE_OK;
    if (!json_is_string(v))
        return add_error(errors, "additional_files", "must be a string");
    rv = j0_base64_decode(json_string_value(v), json_string_length(v), &zip, &zlen);
    if (rv != SCE_OK)
        return rv == SCE_ERR_INVALID_ARGUMENT
                   ? add_error(errors, "additional_files", "is not valid base64")
                   : rv;
    rv = sce_bundle_from_zip(zip, zlen, NULL, &s->bundle, err, sizeof(err));
    free(zip);
    if (rv != SCE_OK)
        return rv == SCE_ERR_INVALID_ARGUMENT ? add_error(errors, "additional_files", err) : rv;
    if ((s->files = calloc(s->bundle->count + 1, sizeof(*s->files))) == NULL)
        return SCE_ERR_NO_MEMORY;
    s->files[n].path = s->lang->source_file;
    s->files[n].data = s->source;
    s->files[n++].len = s->source_len;
    for (size_t i = 0; i < s->bundle->count; i++)
        if (strcmp(s->bundle->files[i].path, s->lang->source_file) != 0)
            s->files[n++] = s->bundle->files[i];
    s->req.files = s->files;
    s->req.nfiles = n;
    s->req.entry = s->lang->source_file;
    s->req.code = NULL;
    return SCE_OK;
}

static int build_meta(j0_submission *s, const parsed *p, int64_t created_at_ms)
{
    json_t *m = json_object();
    int bad = m == NULL;
    size_t echo_stdin = s->stdin_len < J0_ECHO_MAX_BYTES ? s->stdin_len : J0_ECHO_MAX_BYTES;
    size_t echo_src = s->source_len < J0_ECHO_MAX_BYTES ? s->source_len : J0_ECHO_MAX_BYTES;

#define SET(k, v) bad |= m == NULL || json_object_set_new(m, k, v) != 0
    SET("judge0", json_integer(1));
    SET("language_id", json_integer(p->language_id));
    SET("source_code", b64_json(s->source, echo_src));
    SET("stdin", s->stdin_data != NULL ? b64_json(s->stdin_data, echo_stdin) : json_null());
    SET("expected_output",
        p->expected != NULL ? b64_json(p->expected, p->expected_len) : json_null());
    SET("cpu_time_limit", json_real(p->cpu_given ? p->cpu_s : J0_TIME_LIMIT_S));
    SET("cpu_extra_time", json_real(p->extra_s));
    SET("wall_time_limit", json_real(p->wall_given ? p->wall_s : J0_TIME_LIMIT_S));
    SET("memory_limit", json_integer((json_int_t)p->memory_kb));
    SET("command_line_arguments",
        p->cmdline != NULL ? json_stringn(p->cmdline, p->cmdline_len) : json_null());
    SET("created_at_ms", json_integer(created_at_ms));
#undef SET
    if (!bad && (s->meta = json_dumps(m, JSON_COMPACT)) == NULL)
        bad = 1;
    json_decref(m);
    if (bad)
        return SCE_ERR_NO_MEMORY;
    s->meta_len = strlen(s->meta);
    return SCE_OK;
}

int j0_submission_parse(const json_t *obj, int base64, int64_t created_at_ms, j0_submission *s,
                        json_t **errors)
{
    json_t *errs = json_object();
    parsed p;
    char msg[96];
    size_t nargs = 0;
    int rv;

    memset(s, 0, sizeof(*s));
    memset(&p, 0, sizeof(p));
    *errors = NULL;
    if (errs == NULL)
        return SCE_ERR_NO_MEMORY;
    if (!json_is_object(obj)) {
        rv = add_error(errs, "base", "a submission is a JSON object");
        goto out;
    }
    if ((rv = text_of(obj, "source_code", base64, errs, &s->source, &s->source_len)) != SCE_OK ||
        (rv = text_of(obj, "stdin", base64, errs, &s->stdin_data, &s->stdin_len)) != SCE_OK ||
        (rv = text_of(obj, "expected_output", base64, errs, &p.expected, &p.expected_len)) !=
            SCE_OK ||
        (rv = text_of(obj, "command_line_arguments", 0, errs, &p.cmdline, &p.cmdline_len)) !=
            SCE_OK)
        goto out;
    if (json_object_get(errs, "source_code") == NULL) {
        if (blank(s->source, s->source_len))
            rv = add_error(errs, "source_code", "can't be blank");
        else if (memchr(s->source, '\0', s->source_len) != NULL)
            rv = add_error(errs, "source_code", "contains a NUL byte, which sce cannot run");
        if (rv != SCE_OK)
            goto out;
    }
    if ((rv = check_language(obj, errs, s, &p)) != SCE_OK ||
        (rv = check_limits(obj, errs, &p)) != SCE_OK || (rv = check_refused(obj, errs)) != SCE_OK)
        goto out;
    if (p.expected_len > J0_EXPECTED_MAX_BYTES) {
        snprintf(msg, sizeof(msg), "is too long (maximum is %d bytes)", J0_EXPECTED_MAX_BYTES);
        if ((rv = add_error(errs, "expected_output", msg)) != SCE_OK)
            goto out;
    }
    if (p.cmdline != NULL && strlen(p.cmdline) != p.cmdline_len)
        rv = add_error(errs, "command_line_arguments", "contains a NUL character");
    else if (p.cmdline != NULL && p.cmdline_len > J0_ARGS_MAX_CHARS)
        rv = add_error(errs, "command_line_arguments", "is too long (maximum is 512 characters)");
    else if (p.cmdline != NULL && j0_split_args(p.cmdline, &s->argbuf, &s->args, &nargs) != 0)
        rv = add_error(errs, "command_line_arguments", "has an unclosed quote");
    if (rv != SCE_OK)
        goto out;
    if (json_object_size(errs) == 0 && (rv = add_files(obj, errs, s)) != SCE_OK)
        goto out;
    if (json_object_size(errs) > 0) {
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    s->req.language = s->lang->sce_language;
    if (s->req.files == NULL)
        s->req.code = s->source;
    s->req.stdin_data = s->stdin_data;
    s->req.stdin_len = s->stdin_len;
    s->req.args = s->args;
    s->req.nargs = nargs;
    set_timeout(s, &p);
    rv = build_meta(s, &p, created_at_ms);
out:
    free(p.expected);
    free(p.cmdline);
    if (rv == SCE_OK && json_object_size(errs) == 0) {
        json_decref(errs);
        return SCE_OK;
    }
    j0_submission_free(s);
    if (json_object_size(errs) > 0 && rv != SCE_ERR_NO_MEMORY) {
        *errors = errs;
        return SCE_ERR_INVALID_ARGUMENT;
    }
    json_decref(errs);
    return SCE_ERR_NO_MEMORY;
}

void j0_submission_free(j0_submission *s)
{
    free(s->meta);
    free(s->source);
    free(s->stdin_data);
    free(s->argbuf);
    free(s->args);
    free(s->files);
    sce_bundle_free(s->bundle);
    memset(s, 0, sizeof(*s));
}

const char *j0_submission_field_of(const j0_submission *s, const char *m)
{
    if (strncmp(m, "code", 4) == 0)
        return "source_code";
    if (strncmp(m, "stdin", 5) == 0)
        return "stdin";
    if (strncmp(m, "args", 4) == 0)
        return "command_line_arguments";
    if (strncmp(m, "files", 5) == 0 || strncmp(m, "entry", 5) == 0)
        return "additional_files";
    if (strncmp(m, "limits.memory", 13) == 0)
        return "memory_limit";
    if (strncmp(m, "limits.timeout", 14) == 0)
        return s->timeout_field != NULL ? s->timeout_field : "wall_time_limit";
    if (strncmp(m, "language", 8) == 0 || strncmp(m, "unknown language", 16) == 0)
        return "language_id";
    return "base";
}
