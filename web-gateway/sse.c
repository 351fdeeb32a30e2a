/*
 * sse.c - a followed run as Server-Sent Events (see sse.h).
 *
 * The reader callback is a small loop: hand out what is pending; else,
 * once the result has been written, end; else look for a hang-up, poll the
 * run, and turn the answer into events (or, after GW_SSE_KEEPALIVE_MS of
 * silence, a comment).  `pending` is the only buffer and holds one poll
 * answer's events at most.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "sse.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/result_json.h"
#include "common/utf8.h"
#include "gateway_limits.h"
#include "json.h"
#include "sce/err.h"

struct gw_sse {
    atomic_int refs;
    atomic_int ended;     /* the run was seen done (or cancelled by us): no cancel needed */
    atomic_int cancelled; /* gw_sse_abandon() sent the cancel */
    gw_backends *backends;
    gw_live *live;
    char *client_key;
    char *tenant;
    int fd;
    sce_run_started *started;

    /* the connection thread's alone */
    char *pending; /* events not yet handed to libmicrohttpd */
    size_t pending_len, pending_off;
    int started_sent;
    int finished; /* the last event is in pending */
    uint64_t next_seq;
    int64_t last_write_ms;
    sce_utf8_pieces text[2]; /* stdout's and stderr's text so far */
    char note[96];
};

/* ------------------------------------------------------------ events */

/* Appends to pending; -1 when out of memory. */
static int put(gw_sse *s, const char *text, size_t len)
{
    char *p = realloc(s->pending, s->pending_len + len + 1);

    if (p == NULL)
        return -1;
    memcpy(p + s->pending_len, text, len);
    s->pending = p;
    s->pending_len += len;
    p[s->pending_len] = '\0';
    return 0;
}

/* One event: "id: ID\n" (when id > 0), "event: NAME\n", "data: JSON\n",
 * "\n".  Takes `data`. */
static int put_event(gw_sse *s, uint64_t id, const char *name, json_t *data)
{
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    char head[96];
    int rv = -1;

    json_decref(data);
    if (text == NULL)
        return -1;
    if (id > 0)
        snprintf(head, sizeof(head), "id: %llu\nevent: %s\ndata: ", (unsigned long long)id, name);
    else
        snprintf(head, sizeof(head), "event: %s\ndata: ", name);
    if (put(s, head, strlen(head)) == 0 && put(s, text, strlen(text)) == 0 && put(s, "\n\n", 2) == 0)
        rv = 0;
    free(text);
    return rv;
}

static int put_start(gw_sse *s)
{
    const sce_run_started *st = s->started;

    return put_event(s, 0, "start",
                     json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I}}", "id", st->run_id, "language",
                               st->language != NULL ? st->language : "", "language_version",
                               st->language_version != NULL ? st->language_version : "",
                               "limits", "timeout_ms", (json_int_t)st->timeout_ms, "memory_bytes",
                               (json_int_t)st->memory_bytes, "output_limit_bytes",
                               (json_int_t)st->output_limit_bytes));
}

/* A stream's next text as a stdout or stderr event (none when it is
 * empty); the chunk's bytes, or with ch NULL what stream i still holds. */
static int put_text(gw_sse *s, int i, const sce_output_chunk *ch)
{
    size_t n = 0;
    char *text = sce_utf8_pieces_feed(&s->text[i], ch != NULL ? ch->data : NULL,
                                      ch != NULL ? ch->len : 0, ch == NULL, &n);
    int rv = 0;

    if (text == NULL)
        return -1;
    if (n > 0)
        rv = put_event(s, ch != NULL ? ch->seq : 0, i ? "stderr" : "stdout",
                       json_pack("{s:s%}", "data", text, n));
    free(text);
    return rv;
}

/* The end of the run: what the streams still hold (U+FFFD each), then
 * the result. */
static int put_result(gw_sse *s, const sce_run_result *res)
{
    for (int i = 0; i < 2; i++)
        if (put_text(s, i, NULL) != 0)
            return -1;
    snprintf(s->note, sizeof(s->note), "streamed: %s", sce_verdict_name(res->verdict));
    return put_event(s, 0, "result", sce_json_run_result(res));
}

static int put_error(gw_sse *s, int rv, const char *message)
{
    snprintf(s->note, sizeof(s->note), "streamed, then lost: %s", sce_err_name(rv));
    return put_event(s, 0, "error", gw_json_error(gw_json_http_status(rv), rv, message, NULL));
}

/* ------------------------------------------------------------ the stream */

int gw_sse_new(const gw_sse_config *cfg, sce_run_started *started, gw_sse **out)
{
    gw_sse *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return SCE_ERR_NO_MEMORY;
    atomic_init(&s->refs, 2);
    atomic_init(&s->ended, 0);
    atomic_init(&s->cancelled, 0);
    s->backends = cfg->backends;
    s->live = cfg->live;
    s->fd = cfg->fd;
    if ((s->client_key = strdup(cfg->client_key != NULL ? cfg->client_key : "")) == NULL ||
        (cfg->tenant != NULL && (s->tenant = strdup(cfg->tenant)) == NULL)) {
        free(s->client_key);
        free(s);
        return SCE_ERR_NO_MEMORY;
    }
    s->started = started;
    s->last_write_ms = sce_clock_ms();
    snprintf(s->note, sizeof(s->note), "streamed");
    *out = s;
    return SCE_OK;
}

int gw_sse_client_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};

    return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Polls the run once and turns the answer into pending events.  The poll
 * waits GW_SSE_POLL_WAIT_MS, or less when a keep-alive is due sooner. */
static void poll_once(gw_sse *s)
{
    sce_run_events *ev = NULL;
    char err[1024];
    int64_t quiet_ms = sce_clock_ms() - s->last_write_ms;
    int64_t wait_ms = GW_SSE_KEEPALIVE_MS - quiet_ms;
    int rv, bad = 0;

    if (wait_ms > GW_SSE_POLL_WAIT_MS)
        wait_ms = GW_SSE_POLL_WAIT_MS;
    if (wait_ms < GW_SSE_HANGUP_CHECK_MS)
        wait_ms = GW_SSE_HANGUP_CHECK_MS;
    rv = gw_backends_run_poll(s->backends, s->started->run_id, s->tenant, s->next_seq,
                              (uint32_t)wait_ms, &ev, err, sizeof(err));

    if (rv != SCE_OK) {
        SCE_LOG(SCE_LOG_WARN, s->started->request_id, "run %s: poll failed: %s",
                s->started->run_id, err);
        bad = put_error(s, rv, err);
        s->finished = 1;
        goto out;
    }
    for (size_t i = 0; i < ev->nchunks && !bad; i++)
        bad = put_text(s, ev->chunks[i].stream == SCE_STREAM_STDERR, &ev->chunks[i]);
    if (ev->next_seq > s->next_seq)
        s->next_seq = ev->next_seq;
    if (!bad && ev->done && ev->result != NULL) {
        atomic_store(&s->ended, 1);
        bad = put_result(s, ev->result);
        s->finished = 1;
    }
out:
    if (bad) {
        /* Out of memory: whatever was built is dropped, and the stream
         * ends with an error (the client may see a cut event). */
        snprintf(s->note, sizeof(s->note), "streamed: out of memory");
        s->finished = -1;
    }
    sce_run_events_free(ev);
}

ssize_t gw_sse_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    gw_sse *s = cls;

    (void)pos;
    for (;;) {
        if (s->pending_off < s->pending_len) {
            size_t n = s->pending_len - s->pending_off;

            if (n > max)
                n = max;
            memcpy(buf, s->pending + s->pending_off, n);
            s->pending_off += n;
            s->last_write_ms = sce_clock_ms();
            if (s->pending_off == s->pending_len) { /* all handed over: the next answer may come */
                free(s->pending);
                s->pending = NULL;
                s->pending_len = s->pending_off = 0;
            }
            return (ssize_t)n;
        }
        if (s->finished < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!s->started_sent) {
            s->started_sent = 1;
            if (put_start(s) != 0)
                s->finished = -1;
            continue;
        }
        if (gw_sse_client_gone(s->fd)) {
            snprintf(s->note, sizeof(s->note), "streamed: client gone");
            gw_sse_abandon(s);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        poll_once(s);
        if (s->pending_len == 0 && !s->finished &&
            sce_clock_ms() - s->last_write_ms >= GW_SSE_KEEPALIVE_MS &&
            put(s, ": keep-alive\n\n", 14) != 0)
            s->finished = -1;
    }
}

static void sse_unref(gw_sse *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    gw_sse_abandon(s);
    gw_live_release(s->live, s->client_key);
    sce_run_started_free(s->started);
    free(s->pending);
    free(s->client_key);
    free(s->tenant);
    free(s);
}

void gw_sse_free_cb(void *cls)
{
    if (cls != NULL)
        sse_unref(cls);
}

void gw_sse_release(gw_sse *s)
{
    if (s != NULL)
        sse_unref(s);
}

void gw_sse_abandon(gw_sse *s)
{
    char err[512];
    int rv;

    if (s == NULL || atomic_load(&s->ended) || atomic_exchange(&s->cancelled, 1))
        return;
    rv = gw_backends_run_cancel(s->backends, s->started->run_id, s->tenant, err, sizeof(err));
    if (rv != SCE_OK && rv != SCE_ERR_NOT_FOUND)
        SCE_LOG(SCE_LOG_WARN, s->started->request_id, "run %s: cancel failed: %s",
                s->started->run_id, err);
    else
        SCE_LOG(SCE_LOG_INFO, s->started->request_id, "run %s: cancelled (its stream ended before it did)",
                s->started->run_id);
}

void gw_sse_note(gw_sse *s, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", s != NULL ? s->note : "");
}
