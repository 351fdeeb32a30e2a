/*
 * piston_ws.c - Piston's interactive protocol on a followed run
 * (piston_ws.h).  First the pure parts, in the order a conversation meets
 * them (a client's message, the init, the output, the exit), then the
 * conversation: the socket's thread reads messages (on_message) and the
 * run's thread starts, polls and reports the run (run_main).
 *
 * Written from Piston's documented behaviour (api/src/api/v2.js and
 * job.js describe it); no code of Piston's is used.
 */
#include "piston_ws.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "piston_version.h"
#include "sce/err.h"
#include "ws.h"

/* ------------------------------------------------------------ messages */

static const struct {
    int code;
    const char *reason;
} close_reasons[] = {
    {PISTON_CLOSE_ALREADY_INITIALIZED, "Already Initialized"},
    {PISTON_CLOSE_INIT_TIMEOUT, "Initialization Timeout"},
    {PISTON_CLOSE_NOTIFIED_ERROR, "Notified Error"},
    {PISTON_CLOSE_NOT_INITIALIZED, "Not yet initialized"},
    {PISTON_CLOSE_STDIN_ONLY, "Can only write to stdin"},
    {PISTON_CLOSE_INVALID_SIGNAL, "Invalid signal"},
    {PISTON_CLOSE_JOB_COMPLETED, "Job Completed"},
};

const char *piston_ws_close_reason(int code)
{
    for (size_t i = 0; i < sizeof(close_reasons) / sizeof(close_reasons[0]); i++)
        if (close_reasons[i].code == code)
            return close_reasons[i].reason;
    return "";
}

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

/* The signal's number, or 0 if Piston does not know the name. */
static int signal_number(const char *name)
{
    for (int i = 1; i < 65; i++)
        if (signals[i].name != NULL && name != NULL && strcmp(signals[i].name, name) == 0)
            return i;
    return 0;
}

void piston_ws_read(const char *text, size_t len, int initialized, piston_msg *m)
{
    json_error_t jerr;
    const char *type;
    json_t *v;

    memset(m, 0, sizeof(*m));
    m->json = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (m->json == NULL) {
        m->action = PISTON_ERROR;
        snprintf(m->error, sizeof(m->error), "Unexpected token in JSON: %s", jerr.text);
        return;
    }
    if (json_is_null(m->json)) { /* reading a property of null throws in Piston */
        m->action = PISTON_ERROR;
        snprintf(m->error, sizeof(m->error), "Cannot read properties of null (reading 'type')");
        return;
    }
    type = json_string_value(json_object_get(m->json, "type"));
    if (type == NULL) {
        m->action = PISTON_IGNORE;
    } else if (strcmp(type, "init") == 0) {
        m->action = initialized ? PISTON_CLOSE : PISTON_INIT;
        m->close_code = PISTON_CLOSE_ALREADY_INITIALIZED;
    } else if (strcmp(type, "data") == 0) {
        const char *stream = json_string_value(json_object_get(m->json, "stream"));

        m->action = PISTON_CLOSE;
        m->close_code = PISTON_CLOSE_NOT_INITIALIZED;
        if (initialized && (stream == NULL || strcmp(stream, "stdin") != 0)) {
            m->close_code = PISTON_CLOSE_STDIN_ONLY;
        } else if (initialized) {
            v = json_object_get(m->json, "data");
            m->action = PISTON_STDIN;
            if (json_is_string(v)) {
                m->data = json_string_value(v);
                m->len = json_string_length(v);
            } else {
                m->data = ""; /* Piston writes nothing for a missing data */
            }
        }
    } else if (strcmp(type, "signal") == 0) {
        int sig = signal_number(json_string_value(json_object_get(m->json, "signal")));

        m->action = PISTON_CLOSE;
        m->close_code = PISTON_CLOSE_NOT_INITIALIZED;
        if (initialized && sig == 0) {
            m->close_code = PISTON_CLOSE_INVALID_SIGNAL;
        } else if (initialized) {
            m->action = PISTON_SIGNAL;
            m->kill = signals[sig].ends;
        }
    } else {
        m->action = PISTON_IGNORE;
    }
}

/* ------------------------------------------------------------ init */

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

void piston_ws_unknown_runtime(const piston_init *in, char *err, size_t errlen)
{
    sce_seterr(err, errlen, "%s-%s runtime is unknown", in->language, in->version);
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

void piston_init_free(piston_init *in)
{
    if (in == NULL)
        return;
    if (in->decoded != NULL)
        for (size_t i = 0; i < in->req.nfiles; i++)
            free(in->decoded[i]);
    free(in->decoded);
    free(in->files);
    free(in->args);
    json_decref(in->msg);
    free(in);
}

/* The limits: Piston's checks of each given constraint, the run's kept. */
static int init_limits(piston_init *in, char *err, size_t errlen)
{
    static const char *const constraints[] = {"memory_limit", "timeout", "cpu_time"};
    static const char *const stages[] = {"compile", "run"};

    for (size_t c = 0; c < 3; c++)
        for (size_t s = 0; s < 2; s++) {
            char name[32];
            json_t *v;
            double d;

            snprintf(name, sizeof(name), "%s_%s", stages[s], constraints[c]);
            v = json_object_get(in->msg, name);
            if (!truthy(v))
                continue;
            if (!json_is_number(v)) {
                sce_seterr(err, errlen, "If specified, %s must be a number", name);
                return SCE_ERR_INVALID_ARGUMENT;
            }
            d = json_number_value(v);
            if (d < 0) {
                sce_seterr(err, errlen, "%s must be non-negative", name);
                return SCE_ERR_INVALID_ARGUMENT;
            }
            if (s == 0 || c == 2)
                continue; /* compile stages and CPU time: sce has neither */
            if (c == 1)
                in->req.timeout_ms = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            else
                in->req.memory_bytes = d > (double)UINT64_MAX ? UINT64_MAX : (uint64_t)d;
        }
    return SCE_OK;
}

/* The files: every file in the bundle, the first utf8 one its entry. */
static int init_files(piston_init *in, json_t *files, char *err, size_t errlen)
{
    size_t n = json_array_size(files), entry = n;

    in->req.nfiles = n;
    if ((in->files = calloc(n ? n : 1, sizeof(*in->files))) == NULL ||
        (in->decoded = calloc(n ? n : 1, sizeof(*in->decoded))) == NULL)
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
        in->files[i].path = name;
        if (strcmp(enc, "utf8") == 0) {
            in->files[i].data = json_string_value(content);
            in->files[i].len = json_string_length(content);
            if (entry == n)
                entry = i;
        } else if ((rv = decode(json_string_value(content), json_string_length(content),
                                enc[0] == 'b', &in->decoded[i], &in->files[i].len)) != SCE_OK) {
            return rv;
        } else {
            in->files[i].data = in->decoded[i];
        }
    }
    if (entry == n) {
        sce_seterr(err, errlen, "files must include at least one utf8 encoded file");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (n == 1) { /* a single file is the code, as a plain run's */
        in->req.code = in->files[0].data;
        in->req.nfiles = 0;
    } else {
        in->req.files = in->files;
        in->req.entry = in->files[entry].path;
    }
    return SCE_OK;
}

int piston_ws_init(json_t *msg, piston_init **out, char *err, size_t errlen)
{
    piston_init *in = calloc(1, sizeof(*in));
    json_t *files, *args;
    int rv = SCE_ERR_INVALID_ARGUMENT;

    if (in == NULL)
        return SCE_ERR_NO_MEMORY;
    in->msg = json_incref(msg);
    in->language = json_string_value(json_object_get(msg, "language"));
    in->version = json_string_value(json_object_get(msg, "version"));
    files = json_object_get(msg, "files");
    if (in->language == NULL || in->language[0] == '\0') {
        sce_seterr(err, errlen, "language is required as a string");
        goto out;
    }
    if (in->version == NULL || in->version[0] == '\0') {
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
        if (strcmp(languages[i].alias, in->language) == 0) {
            in->req.language = languages[i].sce;
            in->runtime_name = languages[i].piston;
        }
    if (in->req.language == NULL) {
        piston_ws_unknown_runtime(in, err, errlen);
        goto out;
    }
    if ((rv = init_files(in, files, err, errlen)) != SCE_OK)
        goto out;
    if ((rv = init_limits(in, err, errlen)) != SCE_OK)
        goto out;
    args = json_object_get(msg, "args");
    rv = SCE_ERR_INVALID_ARGUMENT;
    if (args != NULL && !json_is_null(args)) {
        if (!json_is_array(args)) {
            sce_seterr(err, errlen, "args must be an array of strings");
            goto out;
        }
        in->req.nargs = json_array_size(args);
        if ((in->args = calloc(in->req.nargs ? in->req.nargs : 1, sizeof(*in->args))) == NULL) {
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        for (size_t i = 0; i < in->req.nargs; i++)
            if ((in->args[i] = json_string_value(json_array_get(args, i))) == NULL) {
                sce_seterr(err, errlen, "args must be an array of strings");
                goto out;
            }
        in->req.args = in->args;
    }
    *out = in;
    in = NULL;
    rv = SCE_OK;
out:
    piston_init_free(in);
    return rv;
}

/* ------------------------------------------------------------ output, exit */

void piston_ws_exit_of(const sce_run_result *r, piston_exit *e)
{
    memset(e, 0, sizeof(*e));
    switch (r->verdict) {
    case SCE_VERDICT_OK:
    case SCE_VERDICT_RUNTIME_ERROR:
        if (r->signal > 0 && r->signal < 65 && signals[r->signal].name != NULL) {
            e->signal = signals[r->signal].name;
        } else {
            e->has_code = 1;
            e->code = r->exit_code;
        }
        break;
    case SCE_VERDICT_TIMEOUT:
    case SCE_VERDICT_MEMORY_LIMIT:
    case SCE_VERDICT_OUTPUT_LIMIT:
    case SCE_VERDICT_CANCELLED:
        e->signal = "SIGKILL"; /* as Piston reports the runs it kills */
        break;
    default:
        e->error =
            r->message != NULL && r->message[0] != '\0' ? r->message : sce_verdict_name(r->verdict);
        break;
    }
}

size_t piston_text_cut(const char *text, size_t len, size_t max)
{
    size_t n = len <= max ? len : max;

    while (n > 0 && n < len && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A message object as compact text; takes o. */
static char *dump(json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

    json_decref(o);
    return s;
}

char *piston_ws_msg_runtime(const char *language, const char *version)
{
    return dump(
        json_pack("{s:s, s:s, s:s}", "type", "runtime", "language", language, "version", version));
}

char *piston_ws_msg_stage(const char *stage)
{
    return dump(json_pack("{s:s, s:s}", "type", "stage", "stage", stage));
}

char *piston_ws_msg_data(const char *stream, const char *text, size_t len)
{
    return dump(json_pack("{s:s, s:s, s:s%}", "type", "data", "stream", stream, "data", text, len));
}

char *piston_ws_msg_exit(const char *stage, const piston_exit *e)
{
    return dump(json_pack("{s:s, s:s, s:o, s:o}", "type", "exit", "stage", stage, "code",
                          e->has_code ? json_integer(e->code) : json_null(), "signal",
                          e->signal != NULL ? json_string(e->signal) : json_null()));
}

char *piston_ws_msg_error(const char *message)
{
    return dump(json_pack("{s:s, s:s}", "type", "error", "message", message));
}

/* ------------------------------------------------------------ the conversation */

typedef struct session {
    const piston_ws_config *cfg;
    gw_ws *ws;
    pthread_t thread;
    int thread_started;
    int64_t opened_ms;

    pthread_mutex_t mu;          /* guards what follows */
    pthread_cond_t cv;           /* an init came, or the socket ended */
    json_t *init;                /* the init message, until the run's thread takes it */
    int initialized;             /* an init was taken (Piston's `job !== null`) */
    int ended;                   /* the socket's conversation is over */
    int kill;                    /* a signal asked for the program's end */
    sce_buf pending;             /* stdin sent before the run started */
    char run_id[SCE_RUN_ID_MAX]; /* "" until the run started */
} session;

/* Sends a message made by a piston_ws_msg_* function (taken). */
static void send_text(session *s, char *text)
{
    if (text != NULL)
        gw_ws_send(s->ws, text, strlen(text));
    free(text);
}

static void close_with(session *s, int code)
{
    gw_ws_close(s->ws, (uint16_t)code, piston_ws_close_reason(code));
}

static void fail(session *s, const char *message)
{
    send_text(s, piston_ws_msg_error(message));
    close_with(s, PISTON_CLOSE_NOTIFIED_ERROR);
}

static const char *tenant_of(const session *s)
{
    return s->cfg->tenant != NULL && s->cfg->tenant[0] != '\0' ? s->cfg->tenant : NULL;
}

/* Writes to the run's stdin; a full buffer is retried for a while.  Any
 * failure but "the stdin is closed or the run ended" (which Piston's
 * writes to a finished program ignore too) is the socket's error. */
static void write_stdin(session *s, const char *run_id, const void *data, size_t len)
{
    int64_t give_up_ms = sce_clock_ms() + PISTON_STDIN_RETRY_MS;
    char err[256];
    int rv;

    while ((rv = gw_backends_run_stdin(s->cfg->backends, run_id, tenant_of(s), data, len, 0, err,
                                       sizeof(err))) == SCE_ERR_RESOURCE_EXHAUSTED &&
           sce_clock_ms() < give_up_ms && !gw_ws_gone(s->ws))
        sce_sleep_ms(50);
    if (rv != SCE_OK && rv != SCE_ERR_FAILED_PRECONDITION && rv != SCE_ERR_NOT_FOUND)
        fail(s, err);
}

static void on_message(gw_ws *ws, const char *data, size_t len, void *arg)
{
    session *s = arg;
    char run_id[SCE_RUN_ID_MAX] = "";
    piston_msg m;
    int initialized;

    (void)ws;
    pthread_mutex_lock(&s->mu);
    initialized = s->initialized;
    pthread_mutex_unlock(&s->mu);
    piston_ws_read(data, len, initialized, &m);
    switch (m.action) {
    case PISTON_IGNORE:
        break;
    case PISTON_ERROR:
        fail(s, m.error);
        break;
    case PISTON_CLOSE:
        close_with(s, m.close_code);
        break;
    case PISTON_INIT:
        pthread_mutex_lock(&s->mu);
        s->initialized = 1;
        s->init = json_incref(m.json);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        break;
    case PISTON_STDIN:
        pthread_mutex_lock(&s->mu);
        snprintf(run_id, sizeof(run_id), "%s", s->run_id);
        if (run_id[0] == '\0' &&
            (sce_buf_append(&s->pending, m.data, m.len) != SCE_OK || s->pending.truncated)) {
            pthread_mutex_unlock(&s->mu);
            fail(s, "stdin: more than 64 KiB sent before the run started");
            break;
        }
        pthread_mutex_unlock(&s->mu);
        if (run_id[0] != '\0' && m.len > 0)
            write_stdin(s, run_id, m.data, m.len);
        break;
    case PISTON_SIGNAL:
        if (!m.kill)
            break;
        pthread_mutex_lock(&s->mu);
        s->kill = 1;
        snprintf(run_id, sizeof(run_id), "%s", s->run_id);
        pthread_mutex_unlock(&s->mu);
        if (run_id[0] != '\0')
            gw_backends_run_cancel(s->cfg->backends, run_id, tenant_of(s), NULL, 0);
        break;
    }
    json_decref(m.json);
}

/* The version range against the language's version on a server. */
static int version_ok(session *s, const piston_init *in, char *err, size_t errlen)
{
    sce_language_list *langs = NULL;
    int rv, found = 0;

    if (strcmp(in->version, "*") == 0)
        return SCE_OK;
    if ((rv = gw_backends_languages(s->cfg->backends, &langs, err, errlen)) != SCE_OK)
        return rv;
    for (size_t i = 0; i < langs->count; i++)
        if (strcmp(langs->items[i].name, in->req.language) == 0 &&
            piston_version_match(in->version, langs->items[i].version))
            found = 1;
    sce_language_list_free(langs);
    if (!found) {
        piston_ws_unknown_runtime(in, err, errlen);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return SCE_OK;
}

/* Sends one poll answer's output, at most PISTON_DATA_MAX_BYTES (and the
 * output cap) of text per message. */
static void send_output(session *s, const sce_run_events *ev, sce_utf8_pieces text[2],
                        size_t piece_max)
{
    for (size_t i = 0; i <= ev->nchunks; i++) {
        /* After the last chunk of a run, what each stream held back. */
        int final = i == ev->nchunks;

        for (int k = 0; k < 2; k++) {
            const sce_output_chunk *ch = final ? NULL : &ev->chunks[i];
            int stderr_k = k == 1;
            size_t n, off = 0;
            char *t;

            if (final ? !ev->done || text[k].nheld == 0
                      : (ch->stream == SCE_STREAM_STDERR) != stderr_k)
                continue;
            if ((t = sce_utf8_pieces_feed(&text[k], final ? NULL : ch->data, final ? 0 : ch->len,
                                          final, &n)) == NULL)
                continue;
            while (off < n) {
                size_t cut = piston_text_cut(t + off, n - off, piece_max);

                if (cut == 0) /* a piece smaller than one character */
                    cut = sce_utf8_seq((const unsigned char *)t + off, n - off);
                send_text(s, piston_ws_msg_data(stderr_k ? "stderr" : "stdout", t + off, cut));
                off += cut;
            }
            free(t);
        }
        if (final)
            break;
    }
}

/* Follows a started run to its end or the socket's. */
static void follow(session *s, const sce_run_started *st, const piston_init *in)
{
    sce_utf8_pieces text[2];
    size_t piece_max = PISTON_DATA_MAX_BYTES;
    uint64_t after = 0;
    int64_t give_up_ms;
    char err[256];

    memset(text, 0, sizeof(text));
    if (st->output_limit_bytes > 0 && st->output_limit_bytes < piece_max)
        piece_max = st->output_limit_bytes;
    send_text(s, piston_ws_msg_runtime(in->runtime_name, st->language_version));
    send_text(s, piston_ws_msg_stage("run"));
    for (;;) {
        sce_run_events *ev = NULL;
        int rv;

        if (gw_ws_gone(s->ws))
            break;
        rv = gw_backends_run_poll(s->cfg->backends, st->run_id, tenant_of(s), after,
                                  PISTON_POLL_WAIT_MS, &ev, err, sizeof(err));
        if (rv != SCE_OK) {
            fail(s, err);
            break;
        }
        send_output(s, ev, text, piece_max);
        after = ev->next_seq;
        if (ev->done && ev->result != NULL) {
            piston_exit e;

            piston_ws_exit_of(ev->result, &e);
            if (e.error != NULL) {
                fail(s, e.error);
            } else {
                send_text(s, piston_ws_msg_exit("run", &e));
                close_with(s, PISTON_CLOSE_JOB_COMPLETED);
            }
            sce_run_events_free(ev);
            return;
        }
        sce_run_events_free(ev);
        /* One poll answer at a time: the next waits until this one is out.
         * Meanwhile a poll past every chunk (it answers none) tells the
         * server the reader is still there, so a slow peer's run is not
         * taken for abandoned (SCE_RUN_READER_GONE_MS). */
        give_up_ms = sce_clock_ms() + GW_WS_PEER_TIMEOUT_MS;
        while (!gw_ws_wait_sent(s->ws, sce_clock_ms() + 2 * PISTON_POLL_WAIT_MS) &&
               !gw_ws_gone(s->ws) && sce_clock_ms() < give_up_ms) {
            sce_run_events *alive = NULL;

            if (gw_backends_run_poll(s->cfg->backends, st->run_id, tenant_of(s), UINT64_MAX, 0,
                                     &alive, err, sizeof(err)) == SCE_OK)
                sce_run_events_free(alive);
        }
    }
    /* The socket went first: the run goes with it. */
    gw_backends_run_cancel(s->cfg->backends, st->run_id, tenant_of(s), NULL, 0);
}

static void *run_main(void *arg)
{
    session *s = arg;
    int64_t deadline_ms = s->opened_ms + PISTON_INIT_TIMEOUT_MS;
    sce_run_started *st = NULL;
    piston_init *in = NULL;
    json_t *msg;
    char err[256];
    int kill;

    pthread_mutex_lock(&s->mu);
    while (s->init == NULL && !s->ended && sce_cond_wait_until(&s->cv, &s->mu, deadline_ms) == 0)
        ;
    msg = s->init;
    s->init = NULL;
    pthread_mutex_unlock(&s->mu);
    if (msg == NULL) {
        close_with(s, PISTON_CLOSE_INIT_TIMEOUT);
        goto out;
    }
    if (piston_ws_init(msg, &in, err, sizeof(err)) != SCE_OK ||
        version_ok(s, in, err, sizeof(err)) != SCE_OK) {
        fail(s, err);
        goto out;
    }
    in->req.tenant = tenant_of(s);
    if (gw_backends_run_start(s->cfg->backends, &in->req, &st, err, sizeof(err)) != SCE_OK) {
        fail(s, err);
        goto out;
    }
    /* What came for stdin before the start goes first, under the lock so
     * that the socket's thread, which now writes on its own, comes after. */
    pthread_mutex_lock(&s->mu);
    if (s->pending.len > 0)
        write_stdin(s, st->run_id, s->pending.data, s->pending.len);
    sce_buf_free(&s->pending);
    snprintf(s->run_id, sizeof(s->run_id), "%s", st->run_id);
    kill = s->kill;
    pthread_mutex_unlock(&s->mu);
    if (kill)
        gw_backends_run_cancel(s->cfg->backends, st->run_id, tenant_of(s), NULL, 0);
    follow(s, st, in);
out:
    sce_run_started_free(st);
    piston_init_free(in);
    json_decref(msg);
    return NULL;
}

static void started_cb(gw_ws *ws, void *arg)
{
    session *s = arg;

    s->ws = ws;
    if (s->cfg->refusal != NULL) {
        fail(s, s->cfg->refusal);
        return;
    }
    if (pthread_create(&s->thread, NULL, run_main, s) == 0)
        s->thread_started = 1;
    else
        fail(s, "out of threads");
}

static void ended_cb(gw_ws *ws, void *arg)
{
    session *s = arg;

    (void)ws;
    pthread_mutex_lock(&s->mu);
    s->ended = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
}

void piston_ws_serve(int sock, const char *extra, size_t extra_len, const piston_ws_config *cfg)
{
    static const gw_ws_handler handler = {started_cb, on_message, ended_cb};
    session s;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.opened_ms = sce_clock_ms();
    pthread_mutex_init(&s.mu, NULL);
    sce_cond_init(&s.cv);
    sce_buf_init(&s.pending, PISTON_STDIN_PENDING_MAX);
    gw_ws_serve(sock, extra, extra_len, &handler, &s);
    json_decref(s.init);
    sce_buf_free(&s.pending);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
}
