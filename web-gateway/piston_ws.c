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
        int ends = 0;
        int sig =
            piston_signal_number(json_string_value(json_object_get(m->json, "signal")), &ends);

        m->action = PISTON_CLOSE;
        m->close_code = PISTON_CLOSE_NOT_INITIALIZED;
        if (initialized && sig == 0) {
            m->close_code = PISTON_CLOSE_INVALID_SIGNAL;
        } else if (initialized) {
            m->action = PISTON_SIGNAL;
            m->kill = ends;
        }
    } else {
        m->action = PISTON_IGNORE;
    }
}

/* ------------------------------------------------------------ output, exit */

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

/* The request's runtime among a server's languages (piston_request.h). */
static int version_ok(session *s, piston_request *in, char *err, size_t errlen)
{
    sce_language_list *langs = NULL;
    int rv;

    if ((rv = gw_backends_languages(s->cfg->backends, &langs, err, errlen)) != SCE_OK)
        return rv;
    rv = piston_request_runtime(in, langs, err, errlen);
    sce_language_list_free(langs);
    return rv;
}

/* What send_output's callback needs. */
typedef struct output_sink {
    session *s;
    size_t piece_max;
} output_sink;

/* One piece of text as data messages of at most piece_max bytes each. */
static void send_text_cb(void *arg, int is_stderr, const char *t, size_t n)
{
    output_sink *o = arg;
    size_t off = 0;

    while (off < n) {
        size_t cut = piston_text_cut(t + off, n - off, o->piece_max);

        if (cut == 0) /* a piece smaller than one character */
            cut = sce_utf8_seq((const unsigned char *)t + off, n - off);
        send_text(o->s, piston_ws_msg_data(is_stderr ? "stderr" : "stdout", t + off, cut));
        off += cut;
    }
}

/* Sends one poll answer's output, at most PISTON_DATA_MAX_BYTES (and the
 * output cap) of text per message. */
static void send_output(session *s, const sce_run_events *ev, sce_utf8_pieces text[2],
                        size_t piece_max)
{
    output_sink o = {s, piece_max};

    piston_output_each(ev, text, send_text_cb, &o);
}

/* Follows a started run to its end or the socket's. */
static void follow(session *s, const sce_run_started *st, const piston_request *in)
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

            piston_exit_of(ev->result, &e);
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
    piston_request *in = NULL;
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
    if (piston_request_parse(msg, 0, &in, err, sizeof(err)) != SCE_OK ||
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
    piston_request_free(in);
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
