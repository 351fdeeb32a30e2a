/*
 * piston_request.c - Piston's requests and answers on sce's runs
 * (piston_request.h).  In the order a request meets them: the languages
 * and their aliases, the request's fields, its runtime in a server's
 * list, then the run's output and exit as Piston reports them.
 */
#include "piston_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/seterr.h"
#include "piston_version.h"
#include "sce/err.h"

/* ------------------------------------------------------------ signals */

/* Linux's signals by number, the names Piston accepts; `ends`: the
 * default action ends the program (so sce cancels the run). */
static const struct {
    const char *name;
    int ends;
} signals[65] = {
    [1] = {"SIGHUP", 1},       [2] = {"SIGINT", 1},       [3] = {"SIGQUIT", 1},
    [4] = {"SIGILL", 1},       [5] = {"SIGTRAP", 1},      [6] = {"SIGABRT", 1},
    [7] = {"SIGBUS", 1},       [8] = {"SIGFPE", 1},       [9] = {"SIGKILL", 1},
    [10] = {"SIGUSR1", 1},     [11] = {"SIGSEGV", 1},     [12] = {"SIGUSR2", 1},
    [13] = {"SIGPIPE", 1},     [14] = {"SIGALRM", 1},     [15] = {"SIGTERM", 1},
    [16] = {"SIGSTKFLT", 1},   [17] = {"SIGCHLD", 0},     [18] = {"SIGCONT", 0},
    [19] = {"SIGSTOP", 0},     [20] = {"SIGTSTP", 0},     [21] = {"SIGTTIN", 0},
    [22] = {"SIGTTOU", 0},     [23] = {"SIGURG", 0},      [24] = {"SIGXCPU", 1},
    [25] = {"SIGXFSZ", 1},     [26] = {"SIGVTALRM", 1},   [27] = {"SIGPROF", 1},
    [28] = {"SIGWINCH", 0},    [29] = {"SIGIO", 1},       [30] = {"SIGPWR", 1},
    [31] = {"SIGSYS", 1},      [34] = {"SIGRTMIN", 1},    [35] = {"SIGRTMIN+1", 1},
    [36] = {"SIGRTMIN+2", 1},  [37] = {"SIGRTMIN+3", 1},  [38] = {"SIGRTMIN+4", 1},
    [39] = {"SIGRTMIN+5", 1},  [40] = {"SIGRTMIN+6", 1},  [41] = {"SIGRTMIN+7", 1},
    [42] = {"SIGRTMIN+8", 1},  [43] = {"SIGRTMIN+9", 1},  [44] = {"SIGRTMIN+10", 1},
    [45] = {"SIGRTMIN+11", 1}, [46] = {"SIGRTMIN+12", 1}, [47] = {"SIGRTMIN+13", 1},
    [48] = {"SIGRTMIN+14", 1}, [49] = {"SIGRTMIN+15", 1}, [50] = {"SIGRTMAX-14", 1},
    [51] = {"SIGRTMAX-13", 1}, [52] = {"SIGRTMAX-12", 1}, [53] = {"SIGRTMAX-11", 1},
    [54] = {"SIGRTMAX-10", 1}, [55] = {"SIGRTMAX-9", 1},  [56] = {"SIGRTMAX-8", 1},
    [57] = {"SIGRTMAX-7", 1},  [58] = {"SIGRTMAX-6", 1},  [59] = {"SIGRTMAX-5", 1},
    [60] = {"SIGRTMAX-4", 1},  [61] = {"SIGRTMAX-3", 1},  [62] = {"SIGRTMAX-2", 1},
    [63] = {"SIGRTMAX-1", 1},  [64] = {"SIGRTMAX", 1},
};

int piston_signal_number(const char *name, int *ends)
{
    for (int i = 1; i < 65; i++)
        if (signals[i].name != NULL && name != NULL && strcmp(signals[i].name, name) == 0) {
            if (ends != NULL)
                *ends = signals[i].ends;
            return i;
        }
    return 0;
}

const char *piston_signal_name(int sig)
{
    return sig > 0 && sig < 65 ? signals[sig].name : NULL;
}

/* ------------------------------------------------------------ languages */

static const struct {
    const char *alias;
    const char *sce;    /* sce's language */
    const char *piston; /* Piston's name of it */
} languages[] = {
    {"python", "python", "python"},
    {"py", "python", "python"},
    {"py3", "python", "python"},
    {"python3", "python", "python"},
    {"javascript", "node", "javascript"},
    {"js", "node", "javascript"},
    {"node", "node", "javascript"},
    {"node-js", "node", "javascript"},
    {"node-javascript", "node", "javascript"},
};

/* 1 if s is "python<digits>.<digits>", the alias of one Python version;
 * which one is checked against the version sce runs. */
static int python_version_alias(const char *s)
{
    size_t n;

    if (strncmp(s, "python", 6) != 0)
        return 0;
    s += 6;
    if ((n = strspn(s, "0123456789")) == 0 || s[n] != '.')
        return 0;
    s += n + 1;
    return (n = strspn(s, "0123456789")) > 0 && s[n] == '\0';
}

/* "python3.11" of version "3.11.2" (Piston's alias of that version). */
static void python_alias_of(const char *version, char *out, size_t outlen)
{
    size_t major = strspn(version, "0123456789"), minor = 0;

    if (version[major] == '.')
        minor = strspn(version + major + 1, "0123456789");
    snprintf(out, outlen, "python%.*s", (int)(major + (minor > 0 ? minor + 1 : 0)), version);
}

/* ------------------------------------------------------------ the request */

static void unknown_runtime(const piston_request *p, char *err, size_t errlen)
{
    sce_seterr(err, errlen, "%s-%s runtime is unknown", p->language, p->version);
}

/* JavaScript's truthiness of a JSON value (absent is falsy). */
static int truthy(const json_t *v)
{
    if (v == NULL || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_number(v))
        return json_number_value(v) != 0;
    return 1;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Node's Buffer.from(s, "hex") and (s, "base64"): decoding stops at the
 * first character that does not belong, as Node's does.  *out malloc'd. */
static int decode(const char *s, size_t len, int base64, void **out, size_t *outlen)
{
    unsigned char *o = malloc(len + 1);
    size_t n = 0;

    if (o == NULL)
        return SCE_ERR_NO_MEMORY;
    if (!base64) {
        for (size_t i = 0; i + 1 < len; i += 2) {
            int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

            if (hi < 0 || lo < 0)
                break;
            o[n++] = (unsigned char)(hi << 4 | lo);
        }
    } else {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned acc = 0;
        int bits = 0;

        for (size_t i = 0; i < len; i++) {
            const char *p;
            char c = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i]; /* url-safe too */

            if (c == '=' || c == '\0' || (p = strchr(b64, c)) == NULL)
                break;
            acc = (acc << 6) | (unsigned)(p - b64);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                o[n++] = (unsigned char)(acc >> bits);
            }
        }
    }
    *out = o;
    *outlen = n;
    return SCE_OK;
}

void piston_request_free(piston_request *p)
{
    if (p == NULL)
        return;
    if (p->decoded != NULL)
        for (size_t i = 0; i < p->req.nfiles; i++)
            free(p->decoded[i]);
    free(p->decoded);
    free(p->files);
    free(p->args);
    free(p->stdin_text);
    json_decref(p->msg);
    free(p);
}

/* The limits: Piston's checks of each given constraint, the run's kept.
 * A memory limit of -1 is Piston's "no limit of my own": sce's default. */
static int parse_limits(piston_request *p, char *err, size_t errlen)
{
    static const char *const constraints[] = {"memory_limit", "timeout", "cpu_time"};
    static const char *const stages[] = {"compile", "run"};

    for (size_t c = 0; c < 3; c++)
        for (size_t s = 0; s < 2; s++) {
            char name[32];
            json_t *v;
            double d;

            snprintf(name, sizeof(name), "%s_%s", stages[s], constraints[c]);
            v = json_object_get(p->msg, name);
            if (!truthy(v))
                continue;
            if (!json_is_number(v)) {
                sce_seterr(err, errlen, "If specified, %s must be a number", name);
                return SCE_ERR_INVALID_ARGUMENT;
            }
            d = json_number_value(v);
            if (c == 0 && d == -1)
                continue;
            if (d < 0) {
                sce_seterr(err, errlen, "%s must be non-negative", name);
                return SCE_ERR_INVALID_ARGUMENT;
            }
            if (s == 0 || c == 2)
                continue; /* compile stages and CPU time: sce has neither */
            if (c == 1)
                p->req.timeout_ms = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            else
                /* 2^64 itself is (double)UINT64_MAX: >=, or the cast is undefined. */
                p->req.memory_bytes = d >= (double)UINT64_MAX ? UINT64_MAX : (uint64_t)d;
        }
    return SCE_OK;
}

/* The files: every file in the bundle, the first utf8 one its entry. */
static int parse_files(piston_request *p, json_t *files, char *err, size_t errlen)
{
    size_t n = json_array_size(files), entry = n;
    const char *first_name = json_string_value(json_object_get(json_array_get(files, 0), "name"));
    int first_named = first_name != NULL && first_name[0] != '\0';

    p->req.nfiles = n;
    if ((p->files = calloc(n ? n : 1, sizeof(*p->files))) == NULL ||
        (p->decoded = calloc(n ? n : 1, sizeof(*p->decoded))) == NULL)
        return SCE_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(files, i), *content = json_object_get(f, "content");
        const char *enc = json_string_value(json_object_get(f, "encoding"));
        const char *name = json_string_value(json_object_get(f, "name"));
        int rv;

        if (enc == NULL || (strcmp(enc, "base64") != 0 && strcmp(enc, "hex") != 0))
            enc = "utf8";
        if (name == NULL || name[0] == '\0') {
            /* Piston's name for an unnamed file; kept in the message. */
            char unnamed[32];

            snprintf(unnamed, sizeof(unnamed), "file%zu.code", i);
            if (json_object_set_new(f, "name", json_string(unnamed)) != 0)
                return SCE_ERR_NO_MEMORY;
            name = json_string_value(json_object_get(f, "name"));
        }
        p->files[i].path = name;
        if (strcmp(enc, "utf8") == 0) {
            p->files[i].data = json_string_value(content);
            p->files[i].len = json_string_length(content);
            if (entry == n)
                entry = i;
        } else if ((rv = decode(json_string_value(content), json_string_length(content),
                                enc[0] == 'b', &p->decoded[i], &p->files[i].len)) != SCE_OK) {
            return rv;
        } else {
            p->files[i].data = p->decoded[i];
        }
    }
    if (entry == n) {
        sce_seterr(err, errlen, "files must include at least one utf8 encoded file");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (n == 1) { /* a single file is the code, as a plain run's, under its name if it has one */
        p->req.code = p->files[0].data;
        p->req.nfiles = 0;
        if (first_named)
            p->req.entry = p->files[0].path;
    } else {
        p->req.files = p->files;
        p->req.entry = p->files[entry].path;
    }
    return SCE_OK;
}

static int parse_args(piston_request *p, char *err, size_t errlen)
{
    json_t *args = json_object_get(p->msg, "args");

    if (args == NULL || json_is_null(args))
        return SCE_OK;
    if (!json_is_array(args)) {
        sce_seterr(err, errlen, "args must be an array of strings");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    p->req.nargs = json_array_size(args);
    if ((p->args = calloc(p->req.nargs ? p->req.nargs : 1, sizeof(*p->args))) == NULL)
        return SCE_ERR_NO_MEMORY;
    for (size_t i = 0; i < p->req.nargs; i++)
        if ((p->args[i] = json_string_value(json_array_get(args, i))) == NULL) {
            sce_seterr(err, errlen, "args must be an array of strings");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    p->req.args = p->args;
    return SCE_OK;
}

/* Execute's stdin: Piston adds a newline when it does not end in one
 * (an absent stdin is "", so the program reads "\n"). */
static int parse_stdin(piston_request *p, char *err, size_t errlen)
{
    json_t *v = json_object_get(p->msg, "stdin");
    size_t n;

    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        sce_seterr(err, errlen, "stdin must be a string");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    n = json_is_string(v) ? json_string_length(v) : 0;
    if ((p->stdin_text = malloc(n + 2)) == NULL)
        return SCE_ERR_NO_MEMORY;
    if (n > 0)
        memcpy(p->stdin_text, json_string_value(v), n);
    if (n == 0 || p->stdin_text[n - 1] != '\n')
        p->stdin_text[n++] = '\n';
    p->stdin_text[n] = '\0';
    p->req.stdin_data = p->stdin_text;
    p->req.stdin_len = n;
    return SCE_OK;
}

int piston_request_parse(json_t *msg, int with_stdin, piston_request **out, char *err,
                         size_t errlen)
{
    piston_request *p = calloc(1, sizeof(*p));
    json_t *files;
    int rv = SCE_ERR_INVALID_ARGUMENT;

    if (p == NULL)
        return SCE_ERR_NO_MEMORY;
    p->msg = json_incref(msg);
    p->language = json_string_value(json_object_get(msg, "language"));
    p->version = json_string_value(json_object_get(msg, "version"));
    files = json_object_get(msg, "files");
    if (p->language == NULL || p->language[0] == '\0') {
        sce_seterr(err, errlen, "language is required as a string");
        goto out;
    }
    if (p->version == NULL || p->version[0] == '\0') {
        sce_seterr(err, errlen, "version is required as a string");
        goto out;
    }
    if (!json_is_array(files)) {
        sce_seterr(err, errlen, "files is required as an array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(files); i++)
        if (!json_is_string(json_object_get(json_array_get(files, i), "content"))) {
            sce_seterr(err, errlen, "files[%zu].content is required as a string", i);
            goto out;
        }
    for (size_t i = 0; i < sizeof(languages) / sizeof(languages[0]); i++)
        if (strcmp(languages[i].alias, p->language) == 0) {
            p->req.language = languages[i].sce;
            p->runtime_name = languages[i].piston;
        }
    if (p->req.language == NULL && python_version_alias(p->language)) {
        p->req.language = "python";
        p->runtime_name = "python";
    }
    if (p->req.language == NULL) {
        unknown_runtime(p, err, errlen);
        goto out;
    }
    if ((rv = parse_files(p, files, err, errlen)) != SCE_OK ||
        (rv = parse_limits(p, err, errlen)) != SCE_OK ||
        (rv = parse_args(p, err, errlen)) != SCE_OK ||
        (with_stdin && (rv = parse_stdin(p, err, errlen)) != SCE_OK))
        goto out;
    *out = p;
    p = NULL;
    rv = SCE_OK;
out:
    piston_request_free(p);
    return rv;
}

int piston_request_runtime(piston_request *p, const sce_language_list *langs, char *err,
                           size_t errlen)
{
    for (size_t i = 0; langs != NULL && i < langs->count; i++) {
        const sce_language *l = &langs->items[i];
        char alias[64];

        if (!l->available || l->version == NULL || strcmp(l->name, p->req.language) != 0)
            continue;
        python_alias_of(l->version, alias, sizeof(alias));
        if (python_version_alias(p->language) && strcmp(alias, p->language) != 0)
            continue;
        if (!piston_version_match(p->version, l->version))
            continue;
        snprintf(p->runtime_version, sizeof(p->runtime_version), "%s", l->version);
        return SCE_OK;
    }
    unknown_runtime(p, err, errlen);
    return SCE_ERR_INVALID_ARGUMENT;
}

json_t *piston_request_runtimes(const sce_language_list *langs)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < langs->count; i++) {
        const sce_language *l = &langs->items[i];
        json_t *o = NULL, *aliases = json_array();
        const char *name = NULL;
        int bad = aliases == NULL;

        if (l->available && l->version != NULL)
            for (size_t k = 0; k < sizeof(languages) / sizeof(languages[0]); k++)
                if (strcmp(languages[k].sce, l->name) == 0) {
                    name = languages[k].piston;
                    if (strcmp(languages[k].alias, name) != 0)
                        bad |= json_array_append_new(aliases, json_string(languages[k].alias));
                }
        if (name == NULL) {
            json_decref(aliases);
            continue;
        }
        if (strcmp(name, "python") == 0) {
            char alias[64];

            python_alias_of(l->version, alias, sizeof(alias));
            bad |= json_array_append_new(aliases, json_string(alias));
        }
        o = json_pack("{s:s, s:s, s:o}", "language", name, "version", l->version, "aliases",
                      aliases);
        if (o != NULL && strcmp(name, "javascript") == 0)
            bad |= json_object_set_new(o, "runtime", json_string("node"));
        if (bad || o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* ------------------------------------------------------------ output, exit */

void piston_exit_of(const sce_run_result *r, piston_exit *e)
{
    const char *name;

    memset(e, 0, sizeof(*e));
    switch (r->verdict) {
    case SCE_VERDICT_OK:
    case SCE_VERDICT_RUNTIME_ERROR:
        if ((name = piston_signal_name(r->signal)) != NULL) {
            e->signal = name;
            e->status = "SG";
            snprintf(e->message, sizeof(e->message), "Caught fatal signal %d", r->signal);
        } else {
            e->has_code = 1;
            e->code = r->exit_code;
            if (r->exit_code != 0) {
                e->status = "RE";
                snprintf(e->message, sizeof(e->message), "Exited with error status %d",
                         r->exit_code);
            }
        }
        break;
    case SCE_VERDICT_TIMEOUT:
        e->signal = "SIGKILL"; /* as Piston reports the runs it kills */
        e->status = "TO";
        snprintf(e->message, sizeof(e->message), "Time limit exceeded (wall clock)");
        break;
    case SCE_VERDICT_OUTPUT_LIMIT:
        e->signal = "SIGKILL";
        e->status = r->stderr_truncated && !r->stdout_truncated ? "EL" : "OL";
        snprintf(e->message, sizeof(e->message), "%s length exceeded",
                 e->status[0] == 'E' ? "stderr" : "stdout");
        break;
    case SCE_VERDICT_MEMORY_LIMIT: /* the kernel's OOM kill, as isolate reports it */
    case SCE_VERDICT_CANCELLED:
        e->signal = "SIGKILL";
        e->status = "SG";
        snprintf(e->message, sizeof(e->message), "Caught fatal signal 9");
        break;
    default:
        e->error =
            r->message != NULL && r->message[0] != '\0' ? r->message : sce_verdict_name(r->verdict);
        if (r->verdict != SCE_VERDICT_REJECTED) {
            e->status = "XX";
            sce_utf8_clean_line(e->error, strlen(e->error), e->message, sizeof(e->message));
        }
        break;
    }
}

int piston_output_each(const sce_run_events *ev, sce_utf8_pieces text[2], piston_text_fn fn,
                       void *arg)
{
    for (size_t i = 0; i <= ev->nchunks; i++) {
        /* After the last chunk of a run, what each stream held back. */
        int final = i == ev->nchunks;

        for (int k = 0; k < 2; k++) {
            const sce_output_chunk *ch = final ? NULL : &ev->chunks[i];
            size_t n;
            char *t;

            if (final ? !ev->done || text[k].nheld == 0
                      : (ch->stream == SCE_STREAM_STDERR) != (k == 1))
                continue;
            if ((t = sce_utf8_pieces_feed(&text[k], final ? NULL : ch->data, final ? 0 : ch->len,
                                          final, &n)) == NULL)
                return SCE_ERR_NO_MEMORY;
            if (n > 0)
                fn(arg, k, t, n);
            free(t);
        }
        if (final)
            break;
    }
    return SCE_OK;
}

void piston_output_init(piston_output *o, size_t limit_bytes)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < 3; i++)
        sce_buf_init(&o->out[i], limit_bytes);
}

void piston_output_free(piston_output *o)
{
    for (int i = 0; i < 3; i++)
        sce_buf_free(&o->out[i]);
}

static void output_cb(void *arg, int is_stderr, const char *text, size_t len)
{
    piston_output *o = arg;

    if (sce_buf_append(&o->out[is_stderr], text, len) != SCE_OK ||
        sce_buf_append(&o->out[2], text, len) != SCE_OK)
        o->failed = 1;
}

void piston_output_add(piston_output *o, const sce_run_events *ev)
{
    if (piston_output_each(ev, o->text, output_cb, o) != SCE_OK)
        o->failed = 1;
}

/* A collected stream as a JSON string ("" when nothing came). */
static json_t *text_of(const sce_buf *b)
{
    return json_stringn(b->data != NULL ? b->data : "", b->len);
}

json_t *piston_request_answer(const piston_request *p, const sce_run_result *r,
                              const piston_output *o)
{
    piston_exit e;

    piston_exit_of(r, &e);
    return json_pack("{s:s, s:s, s:{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I}}", "language",
                     p->runtime_name, "version",
                     p->runtime_version[0] != '\0' ? p->runtime_version
                     : r->language_version != NULL ? r->language_version
                                                   : "",
                     "run", "stdout", text_of(&o->out[0]), "stderr", text_of(&o->out[1]), "output",
                     text_of(&o->out[2]), "code", e.has_code ? json_integer(e.code) : json_null(),
                     "signal", e.signal != NULL ? json_string(e.signal) : json_null(), "message",
                     e.message[0] != '\0' ? json_string(e.message) : json_null(), "status",
                     e.status != NULL ? json_string(e.status) : json_null(), "cpu_time",
                     (json_int_t)r->cpu_ms, "wall_time", (json_int_t)r->wall_ms, "memory",
                     (json_int_t)r->peak_memory_bytes);
}

json_t *piston_request_error(const char *message)
{
    char line[1024] = "";

    if (message != NULL)
        sce_utf8_clean_line(message, strlen(message), line, sizeof(line));
    return json_pack("{s:s}", "message", line);
}
