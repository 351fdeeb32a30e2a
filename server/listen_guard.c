/*
 * listen_guard.c - probes an idle ipc listener and listens again when nng
 * 1.5 has stopped passing its connections to the socket (see listen_guard.h).
 *
 * One thread per guard.  It wakes every SCE_LISTEN_CHECK_MS; if a pipe was
 * added since the last look the listener is plainly working and nothing is
 * done, so a busy server is never probed.  Otherwise the probe, on an nng
 * byte stream of its own (never an SP socket, so its timeouts are its own):
 *   connect -> send a REQ header -> read the REP header -> wait for ADD_POST.
 * The connection is dropped only after both headers have crossed, which is
 * the one way of hanging up that cannot itself trigger the defect.
 */
#include "listen_guard.h"

#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/util/platform.h>

#include "common/log.h"
#include "sce/err.h"
#include "sce_limits.h"
#include "common/seterr.h"

/* The SP connection header: 0, 'S', 'P', 0, protocol (big-endian), 0, 0. */
#define SP_HEADER_BYTES 8
#define SP_PROTO_REQ 0x30
#define SP_PROTO_REP 0x31

typedef enum { PROBE_ALIVE, PROBE_DEAD, PROBE_UNSURE } probe_outcome;

struct listen_guard {
    nng_socket sock;
    char *url;
    nng_listener listener;
    nng_thread *thread;
    nng_aio *aio;          /* the probe's; cancelled by stop */
    nng_mtx *mtx;
    nng_cv *cv;            /* a pipe was added, or stopping */
    unsigned long added;   /* ADD_POST events seen */
    unsigned restarts;     /* the guard thread's own */
    int stopping;
};

int listen_guard_needed(const char *url)
{
    return strncmp(url, "ipc://", 6) == 0 || strncmp(url, "abstract://", 11) == 0;
}

static void pipe_added_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    listen_guard *g = arg;

    (void)p;
    (void)ev;
    nng_mtx_lock(g->mtx);
    g->added++;
    nng_cv_wake(g->cv);
    nng_mtx_unlock(g->mtx);
}

static int stopping(listen_guard *g)
{
    int s;

    nng_mtx_lock(g->mtx);
    s = g->stopping;
    nng_mtx_unlock(g->mtx);
    return s;
}

/* Moves all `len` bytes of `buf` through the stream (send or receive) before
 * `deadline`.  Returns 0 or the nng error. */
static int transfer(listen_guard *g, nng_stream *st, uint8_t *buf, size_t len, int sending,
                    nng_time deadline)
{
    size_t done = 0;

    while (done < len) {
        nng_iov iov = {.iov_buf = buf + done, .iov_len = len - done};
        nng_time now = nng_clock();
        int rv;

        if (stopping(g))
            return NNG_ECANCELED;
        if (now >= deadline)
            return NNG_ETIMEDOUT;
        if ((rv = nng_aio_set_iov(g->aio, 1, &iov)) != 0)
            return rv;
        nng_aio_set_timeout(g->aio, (nng_duration)(deadline - now));
        if (sending)
            nng_stream_send(st, g->aio);
        else
            nng_stream_recv(st, g->aio);
        nng_aio_wait(g->aio);
        if ((rv = nng_aio_result(g->aio)) != 0)
            return rv;
        done += nng_aio_count(g->aio);
    }
    return 0;
}

static probe_outcome probe(listen_guard *g)
{
    uint8_t out[SP_HEADER_BYTES] = {0, 'S', 'P', 0, 0, SP_PROTO_REQ, 0, 0};
    uint8_t in[SP_HEADER_BYTES];
    nng_time deadline = nng_clock() + SCE_LISTEN_PROBE_MS;
    nng_stream_dialer *d = NULL;
    nng_stream *st = NULL;
    probe_outcome outcome = PROBE_UNSURE;
    unsigned long before;
    int rv;

    nng_mtx_lock(g->mtx);
    before = g->added;
    nng_mtx_unlock(g->mtx);

    if (stopping(g) || nng_stream_dialer_alloc(&d, g->url) != 0)
        goto out;
    nng_aio_set_timeout(g->aio, SCE_LISTEN_PROBE_MS);
    nng_stream_dialer_dial(d, g->aio);
    nng_aio_wait(g->aio);
    rv = nng_aio_result(g->aio);
    if (rv == NNG_ENOENT || rv == NNG_ECONNREFUSED) {
        /* The socket file is gone, or nobody listens on it any more. */
        SCE_LOG(SCE_LOG_WARN, NULL, "%s: cannot connect to the server's own listener: %s",
                g->url, nng_strerror(rv));
        outcome = PROBE_DEAD;
        goto out;
    }
    if (rv != 0)
        goto out;
    st = nng_aio_get_output(g->aio, 0);

    if (transfer(g, st, out, sizeof(out), 1, deadline) != 0 ||
        transfer(g, st, in, sizeof(in), 0, deadline) != 0)
        goto out; /* nng itself is stalled: the next round looks again */
    if (in[0] != 0 || in[1] != 'S' || in[2] != 'P' || in[3] != 0 || in[5] != SP_PROTO_REP) {
        SCE_LOG(SCE_LOG_WARN, NULL, "%s: the listener there does not speak REP", g->url);
        goto out;
    }

    /* Both headers crossed; now the socket must report the pipe, which nng
     * adds in the same chain of callbacks. */
    deadline = nng_clock() + SCE_LISTEN_PIPE_MS;
    nng_mtx_lock(g->mtx);
    while (g->added == before && !g->stopping && nng_clock() < deadline)
        nng_cv_until(g->cv, deadline);
    if (g->added != before)
        outcome = PROBE_ALIVE;
    else if (!g->stopping)
        outcome = PROBE_DEAD;
    nng_mtx_unlock(g->mtx);
    if (outcome == PROBE_DEAD)
        SCE_LOG(SCE_LOG_WARN, NULL,
                "%s stopped handing connections to the server (nng 1.5 does this after a "
                "client hangs up while connecting)",
                g->url);
out:
    nng_stream_free(st);
    nng_stream_dialer_free(d);
    return outcome;
}

static void relisten(listen_guard *g)
{
    int rv;

    nng_listener_close(g->listener);
    rv = nng_listen(g->sock, g->url, &g->listener, 0);
    if (rv != 0) {
        g->listener = (nng_listener)NNG_LISTENER_INITIALIZER;
        SCE_LOG(SCE_LOG_ERROR, NULL, "cannot listen on %s again: %s (trying again in %d ms)",
                g->url, nng_strerror(rv), SCE_LISTEN_CHECK_MS);
        return;
    }
    g->restarts++;
    SCE_LOG(SCE_LOG_INFO, NULL, "listening on %s again (%u time%s)", g->url, g->restarts,
            g->restarts == 1 ? "" : "s");
}

static void guard_main(void *arg)
{
    listen_guard *g = arg;
    unsigned long seen;

    nng_mtx_lock(g->mtx);
    seen = g->added;
    while (!g->stopping) {
        nng_time until = nng_clock() + SCE_LISTEN_CHECK_MS;
        probe_outcome outcome;

        while (!g->stopping && nng_clock() < until)
            nng_cv_until(g->cv, until);
        if (g->stopping)
            break;
        if (g->added != seen) {
            seen = g->added;
            continue;
        }
        nng_mtx_unlock(g->mtx);
        outcome = probe(g);
        if (outcome == PROBE_DEAD && !stopping(g))
            relisten(g);
        nng_mtx_lock(g->mtx);
        seen = g->added;
    }
    nng_mtx_unlock(g->mtx);
}

int listen_guard_start(nng_socket sock, const char *url, nng_listener listener,
                       listen_guard **out, char *err, size_t errlen)
{
    listen_guard *g = calloc(1, sizeof(*g));
    int rv;

    if (g == NULL || (g->url = strdup(url)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = NNG_ENOMEM;
        goto fail;
    }
    g->sock = sock;
    g->listener = listener;
    if ((rv = nng_mtx_alloc(&g->mtx)) != 0 || (rv = nng_cv_alloc(&g->cv, g->mtx)) != 0 ||
        (rv = nng_aio_alloc(&g->aio, NULL, NULL)) != 0 ||
        (rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, pipe_added_cb, g)) != 0) {
        sce_seterr(err, errlen, "cannot set up the listener guard: %s", nng_strerror(rv));
        goto fail;
    }
    if ((rv = nng_thread_create(&g->thread, guard_main, g)) != 0) {
        (void)nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
        sce_seterr(err, errlen, "cannot start the listener guard: %s", nng_strerror(rv));
        goto fail;
    }
    *out = g;
    return SCE_OK;
fail:
    listen_guard_stop(g);
    return rv == NNG_ENOMEM ? SCE_ERR_NO_MEMORY : SCE_ERR_INTERNAL;
}

void listen_guard_stop(listen_guard *g)
{
    if (g == NULL)
        return;
    if (g->thread != NULL) {
        nng_mtx_lock(g->mtx);
        g->stopping = 1;
        nng_cv_wake(g->cv);
        nng_mtx_unlock(g->mtx);
        nng_aio_cancel(g->aio);
        nng_thread_destroy(g->thread); /* joins */
        (void)nng_pipe_notify(g->sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
    }
    if (g->aio != NULL)
        nng_aio_free(g->aio);
    if (g->cv != NULL)
        nng_cv_free(g->cv);
    if (g->mtx != NULL)
        nng_mtx_free(g->mtx);
    free(g->url);
    free(g);
}
