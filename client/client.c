/*
 * client.c - libsce: the blocking, thread-safe C client of sce-server.
 *
 * Each call packs one sce.v1.Request, sends it on its own nng context of the
 * client's REQ socket, waits for the one Response and copies it into the
 * public structs of sce/client.h, which then belong to the caller.  (Reading
 * a project from a ZIP or a directory is in bundle.c.)  It does
 * not retry, queue, or interpret verdicts: a run that failed is still an
 * answer.  It never aborts on allocation failure (SCE_ERR_NO_MEMORY instead).
 *
 * Connecting.  sce_client_open creates the dialer (which validates the URL)
 * but the first call starts it, non-blocking; from then on nng reconnects in
 * the background.  Starting late means a client that is opened and closed
 * without a call never connects, and it avoids an nng 1.5 leak: closing a
 * socket whose dialer is in the middle of a connect loses the endpoint.
 *
 * Telling "server down" from "server slow".  nng hides connection failures:
 * the dialer keeps reconnecting in the background, and a request sent while
 * no pipe is connected just waits in the REQ queue until the send timeout.
 * Left alone, an absent server would look like a 60 s DEADLINE_EXCEEDED.  So
 * the client tracks its connected pipes through pipe events (ADD_POST,
 * REM_POST), and when a call finds none it probes the URL once, outside the
 * client's socket (see probe_url): refused, no such socket file,
 * unresolvable or no connection in time means UNAVAILABLE at once.  A
 * successful probe only proves that someone listens; the call then waits
 * for the background dialer as usual.  The probe never touches the client's
 * socket, so it cannot disturb other threads' requests, and it costs nothing
 * while connected (the common case of a long-lived client).  Rejected
 * alternatives: a blocking dial on the client's socket (no timeout, and a
 * second dialer per reconnect); waiting a grace period for a pipe (a guess,
 * and slow both ways).
 *
 * Never running a request twice.  Runs are not idempotent, so the REQ resend
 * timer is disabled (NNG_DURATION_INFINITE).  nng 1.5 still re-sends an
 * outstanding request on the next pipe when the pipe that carried it
 * closes; to prevent that, a REM_POST event marks every call in flight as
 * lost and cancels its receive, and a lost call closes its context (which
 * drops the queued request) and answers UNAVAILABLE.  Calls still waiting to
 * send are marked too: one of them may have just handed its request to the
 * dying pipe, and a false "lost" while the server goes away is better than
 * a program run twice.
 */
#include "sce/client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strcasecmp */
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "sce.pb-c.h"
#include "common/clock.h"
#include "common/nng_close.h"
#include "common/random.h"
#include "common/seterr.h"

#define CLIENT_DEFAULT_TIMEOUT_MS 60000u
/* The longest sce_client_close waits for nng to close the socket. */
#define CLIENT_CLOSE_WAIT_MS 5000
/* The largest answer accepted: a run result with both output streams at the
 * server's largest output cap, with room to spare. */
#define CLIENT_RECV_MAX_BYTES ((size_t)64 << 20)
/* Background reconnection: first retry within 100 ms, backing off to 1 s, so
 * a restarted server is found again within a second. */
#define CLIENT_RECONNECT_MIN_MS 100
#define CLIENT_RECONNECT_MAX_MS 1000
/* One dialer holds one pipe at a time; a few more slots cover the moment a
 * dying pipe and its replacement overlap. */
#define CLIENT_MAX_PIPES 16

/* One exchange in flight, linked into its client's list for the pipe-event
 * callback.  Lives on the calling thread's stack. */
typedef struct inflight {
    struct inflight *next;
    nng_aio *aio;
    int receiving; /* a receive may be pending on aio: cancel it if lost */
    int lost;      /* a pipe closed while the request was outstanding */
} inflight;

struct sce_client {
    nng_socket sock;
    int sock_open;
    nng_dialer dialer;
    atomic_flag dialer_started;
    char *url;
    _Atomic uint32_t timeout_ms;
    pthread_mutex_t mtx; /* guards pipes, npipes and calls */
    uint32_t pipes[CLIENT_MAX_PIPES];
    size_t npipes;
    inflight *calls;
};

/* The protobuf-c allocator used to unpack answers: plain malloc, but it
 * remembers a failure so that OOM is not mistaken for a malformed answer. */
typedef struct unpack_state {
    int oom;
} unpack_state;

static void *unpack_alloc_cb(void *data, size_t size)
{
    void *p = malloc(size);

    if (p == NULL)
        ((unpack_state *)data)->oom = 1;
    return p;
}

static void unpack_free_cb(void *data, void *p)
{
    (void)data;
    free(p);
}

/* Copies a protobuf string; protobuf-c gives "" for absent strings, NULL is
 * accepted all the same. */
static char *dup_str(const char *s)
{
    if (s == NULL)
        s = "";
    return strdup(s);
}

/* Copies bytes into a NUL-terminated buffer (the data may hold NULs). */
static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

const char *sce_verdict_name(int verdict)
{
    switch (verdict) {
    case SCE_VERDICT_OK:
        return "ok";
    case SCE_VERDICT_RUNTIME_ERROR:
        return "runtime_error";
    case SCE_VERDICT_TIMEOUT:
        return "timeout";
    case SCE_VERDICT_MEMORY_LIMIT:
        return "memory_limit";
    case SCE_VERDICT_OUTPUT_LIMIT:
        return "output_limit";
    case SCE_VERDICT_REJECTED:
        return "rejected";
    case SCE_VERDICT_INTERNAL_ERROR:
        return "internal_error";
    case SCE_VERDICT_CANCELLED:
        return "cancelled";
    default:
        return "unspecified";
    }
}

/* 16 lower-case hex digits from the kernel's generator (sce_random_hex,
 * never waiting for it: libsce runs in any program, early at boot too); if
 * it has none, a mix of the wall clock, the pid and a counter: the id only
 * correlates log lines, it guards nothing, so a guessable one will do. */
static void make_request_id(char id[17])
{
    static _Atomic uint64_t counter;
    uint64_t x;

    if (sce_random_hex(id, 17, 8, SCE_RANDOM_NOWAIT) == 0)
        return;
    x = (uint64_t)sce_wall_ms() * 1000000007u ^ ((uint64_t)getpid() << 40) ^
        (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15u);
    sce_hex(id, 17, (const unsigned char *)&x, sizeof(x));
}

/* ------------------------------------------------------------ connection */

static void pipe_event_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    sce_client *c = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);

    pthread_mutex_lock(&c->mtx);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        if (c->npipes < CLIENT_MAX_PIPES)
            c->pipes[c->npipes++] = id;
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        /* nng reports REM_POST also for pipes that never got ADD_POST
         * (rejected during setup); only a pipe we saw connected counts. */
        for (size_t i = 0; i < c->npipes; i++) {
            if (c->pipes[i] != id)
                continue;
            c->pipes[i] = c->pipes[--c->npipes];
            for (inflight *k = c->calls; k != NULL; k = k->next) {
                k->lost = 1;
                if (k->receiving)
                    nng_aio_cancel(k->aio);
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->mtx);
}

static size_t connected_pipes(sce_client *c)
{
    size_t n;

    pthread_mutex_lock(&c->mtx);
    n = c->npipes;
    pthread_mutex_unlock(&c->mtx);
    return n;
}

static int nng_to_err(int nrv, char *errbuf, size_t errlen, const char *what)
{
    if (nrv == NNG_ENOMEM) {
        sce_seterr(errbuf, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    sce_seterr(errbuf, errlen, "%s: %s", what, nng_strerror(nrv));
    return SCE_ERR_INTERNAL;
}

/* Milliseconds left until `deadline_ms` (an sce_clock_ms value; 0: none),
 * for an aio timeout. */
static nng_duration time_left(int64_t deadline_ms)
{
    int64_t now_ms;

    if (deadline_ms == 0)
        return NNG_DURATION_INFINITE;
    now_ms = sce_clock_ms();
    if (now_ms >= deadline_ms)
        return NNG_DURATION_ZERO;
    return deadline_ms - now_ms > INT32_MAX ? INT32_MAX : (nng_duration)(deadline_ms - now_ms);
}

/* Whether `url` starts with one of the schemes in the NULL-terminated list. */
static int url_scheme_in(const char *url, const char *const *schemes)
{
    for (; *schemes != NULL; schemes++)
        if (strncmp(url, *schemes, strlen(*schemes)) == 0)
            return 1;
    return 0;
}

/* The SP connection header each side sends first: 0, 'S', 'P', 0, the
 * protocol number (big-endian), 0, 0. */
#define SP_HEADER_BYTES 8
#define SP_PROTO_REQ 0x30

/* Moves all `len` bytes of `buf` through the stream (send or receive)
 * before `deadline_ms` (0: none).  Returns 0 or the nng error. */
static int probe_transfer(nng_stream *st, nng_aio *aio, uint8_t *buf, size_t len, int sending,
                          int64_t deadline_ms)
{
    size_t done = 0;
    int rv = 0;

    while (done < len && rv == 0) {
        nng_iov iov = {.iov_buf = buf + done, .iov_len = len - done};

        if ((rv = nng_aio_set_iov(aio, 1, &iov)) != 0)
            break;
        nng_aio_set_timeout(aio, time_left(deadline_ms));
        if (sending)
            nng_stream_send(st, aio);
        else
            nng_stream_recv(st, aio);
        nng_aio_wait(aio);
        if ((rv = nng_aio_result(aio)) == 0)
            done += nng_aio_count(aio);
    }
    return rv;
}

/* Connects to `url` once and hangs up.  Returns 0 when something accepted
 * the connection, NNG_ENOTSUP when the scheme is not probed, else the nng
 * error.
 *
 * The probe never hangs up in the middle of an SP handshake: every nng 1.5
 * listener takes that badly.  The ipc listener stops accepting altogether
 * (measured), so a bare connect would break the server until its listener
 * guard (server/listen_guard.c) notices; the tcp listener counts it as an
 * accept error and sleeps 100 ms before its next accept (core/listener.c),
 * so the call's own connection, made right after the probe, waited those
 * 100 ms: every fresh `sce` process paid them, and so did anyone else
 * connecting to the server at that moment.
 *
 * Local transports get a full SP handshake on a throwaway socket: their
 * connect is immediate, and the handshake is bounded by nng's own 10 s
 * negotiation timeout.  TCP gets a connect and the exchange of the two SP
 * headers on an nng byte stream, all bounded by `timeout` (a blocking SP
 * dial to a black-holed host waits for the kernel's ~2 minutes); once both
 * headers have crossed the listener hands on a pipe, which the server drops
 * when the probe hangs up, like any client leaving.  Only the connect
 * decides the outcome: a peer that accepted but does not complete the
 * handshake is left to the call (nng's dialer will meet it too).  Other
 * transports (ws, tls) are not probed. */
static int probe_url(const char *url, nng_duration timeout)
{
    static const char *const local[] = {"inproc://", "ipc://", "abstract://", "unix://", NULL};
    static const char *const tcp[] = {"tcp://", "tcp4://", "tcp6://", NULL};
    uint8_t hdr_out[SP_HEADER_BYTES] = {0, 'S', 'P', 0, 0, SP_PROTO_REQ, 0, 0};
    uint8_t hdr_in[SP_HEADER_BYTES];
    int64_t deadline_ms = timeout >= 0 ? sce_clock_ms() + timeout : 0;
    nng_stream_dialer *d = NULL;
    nng_stream *st = NULL;
    nng_aio *aio = NULL;
    nng_socket s;
    int rv;

    if (url_scheme_in(url, local)) {
        if ((rv = nng_req0_open(&s)) != 0)
            return rv;
        rv = nng_dial(s, url, NULL, 0);
        nng_close(s);
        return rv;
    }
    if (!url_scheme_in(url, tcp))
        return NNG_ENOTSUP;
    if ((rv = nng_stream_dialer_alloc(&d, url)) != 0)
        goto out;
    if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)
        goto out;
    nng_aio_set_timeout(aio, timeout);
    nng_stream_dialer_dial(d, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0)
        goto out;
    st = nng_aio_get_output(aio, 0);
    /* Connected: the outcome is 0 whatever the handshake gives, except
     * for memory. */
    if (probe_transfer(st, aio, hdr_out, sizeof(hdr_out), 1, deadline_ms) == 0 &&
        probe_transfer(st, aio, hdr_in, sizeof(hdr_in), 0, deadline_ms) == NNG_ENOMEM)
        rv = NNG_ENOMEM;
out:
    nng_stream_free(st);
    nng_aio_free(aio);
    nng_stream_dialer_free(d);
    return rv;
}

/* Starts the background dialer on the first call.  Non-blocking: an absent
 * server is found by the probe, and nng keeps retrying.  Concurrent first
 * calls do not wait for the one that starts it: their sends queue until a
 * pipe comes up. */
static int client_start_dialer(sce_client *c, char *errbuf, size_t errlen)
{
    int nrv;

    if (atomic_flag_test_and_set(&c->dialer_started))
        return SCE_OK;
    if ((nrv = nng_dialer_start(c->dialer, NNG_FLAG_NONBLOCK)) != 0) {
        atomic_flag_clear(&c->dialer_started);
        return nng_to_err(nrv, errbuf, errlen, "cannot start dialing");
    }
    return SCE_OK;
}

/* When no pipe is connected, finds out whether the server is there at all.
 * Only a definite "nobody there" is an error; anything inconclusive (a
 * transport the probe cannot speak, a TLS failure) lets the call go on. */
static int client_check_reachable(sce_client *c, int64_t deadline_ms, char *errbuf, size_t errlen)
{
    int rv;

    if (connected_pipes(c) > 0)
        return SCE_OK;
    rv = probe_url(c->url, time_left(deadline_ms));
    switch (rv) {
    case 0:
        return SCE_OK;
    case NNG_ECONNREFUSED:
    case NNG_ENOENT:
        sce_seterr(errbuf, errlen, "cannot reach sce-server at %s (is it running?)", c->url);
        return SCE_ERR_UNAVAILABLE;
    case NNG_ETIMEDOUT:
        sce_seterr(errbuf, errlen,
                   "cannot reach sce-server at %s: no connection within the timeout", c->url);
        return SCE_ERR_UNAVAILABLE;
    case NNG_EADDRINVAL:
    case NNG_EUNREACHABLE:
    case NNG_ECONNRESET:
    case NNG_ECONNSHUT:
    case NNG_EPERM:
        sce_seterr(errbuf, errlen, "cannot reach sce-server at %s: %s", c->url, nng_strerror(rv));
        return SCE_ERR_UNAVAILABLE;
    case NNG_ENOMEM:
        sce_seterr(errbuf, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    default:
        return SCE_OK;
    }
}

static void call_register(sce_client *c, inflight *k)
{
    pthread_mutex_lock(&c->mtx);
    k->next = c->calls;
    c->calls = k;
    pthread_mutex_unlock(&c->mtx);
}

static void call_unregister(sce_client *c, inflight *k)
{
    pthread_mutex_lock(&c->mtx);
    for (inflight **pp = &c->calls; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->mtx);
}

static int call_lost(sce_client *c, inflight *k)
{
    int lost;

    pthread_mutex_lock(&c->mtx);
    lost = k->lost;
    pthread_mutex_unlock(&c->mtx);
    return lost;
}

/* How far the calling thread's latest exchange got (sce_client_last_call). */
static _Thread_local int last_call = SCE_CALL_NOT_SENT;

int sce_client_last_call(void)
{
    return last_call;
}

/* Sends `msg` (consumed, always) and waits for the answer, all within
 * `timeout_ms` (0: no limit).  On SCE_OK *reply is the answer (caller
 * frees).  `id` is the request's id, for the message of an answer lost
 * with its connection. */
static int client_exchange(sce_client *c, nng_msg *msg, const char *id, uint32_t timeout_ms,
                           nng_msg **reply, char *errbuf, size_t errlen)
{
    nng_duration tmo = timeout_ms ? (nng_duration)timeout_ms : NNG_DURATION_INFINITE;
    int64_t deadline_ms = timeout_ms ? sce_clock_ms() + timeout_ms : 0;
    inflight call = {0};
    nng_ctx ctx = NNG_CTX_INITIALIZER;
    int ctx_open = 0, registered = 0;
    int rv, nrv;

    last_call = SCE_CALL_NOT_SENT;

    /* Probe first: a dialer started for a call that then fails at once
     * could be halfway through its handshake when the caller exits, which
     * is what stops an nng 1.5 ipc listener (see probe_url). */
    if ((rv = client_check_reachable(c, deadline_ms, errbuf, errlen)) != SCE_OK ||
        (rv = client_start_dialer(c, errbuf, errlen)) != SCE_OK)
        goto out;
    if ((nrv = nng_ctx_open(&ctx, c->sock)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot open an nng context");
        goto out;
    }
    ctx_open = 1;
    if ((nrv = nng_ctx_set_ms(ctx, NNG_OPT_SENDTIMEO, tmo)) != 0 ||
        (nrv = nng_ctx_set_ms(ctx, NNG_OPT_RECVTIMEO, tmo)) != 0 ||
        (nrv = nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot set nng context options");
        goto out;
    }
    if ((nrv = nng_aio_alloc(&call.aio, NULL, NULL)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot allocate an nng aio");
        goto out;
    }
    call_register(c, &call);
    registered = 1;

    nng_aio_set_msg(call.aio, msg);
    msg = NULL;
    nng_aio_set_timeout(call.aio, time_left(deadline_ms));
    nng_ctx_send(ctx, call.aio);
    nng_aio_wait(call.aio);
    if ((nrv = nng_aio_result(call.aio)) != 0) {
        /* A failed send leaves the message with the aio. */
        nng_msg_free(nng_aio_get_msg(call.aio));
        nng_aio_set_msg(call.aio, NULL);
        if (nrv == NNG_ETIMEDOUT && connected_pipes(c) == 0) {
            sce_seterr(errbuf, errlen, "cannot reach sce-server at %s (is it running?)", c->url);
            rv = SCE_ERR_UNAVAILABLE;
        } else if (nrv == NNG_ETIMEDOUT) {
            sce_seterr(errbuf, errlen, "no answer from %s within %u ms", c->url, timeout_ms);
            rv = SCE_ERR_DEADLINE_EXCEEDED;
        } else {
            rv = nng_to_err(nrv, errbuf, errlen, "cannot send the request");
        }
        goto out;
    }

    /* Handed to a pipe (nng completes a REQ send only then): from here on
     * the server may have it. */
    last_call = SCE_CALL_SENT;
    pthread_mutex_lock(&c->mtx);
    call.receiving = !call.lost;
    pthread_mutex_unlock(&c->mtx);
    if (call.receiving) {
        nng_aio_set_timeout(call.aio, time_left(deadline_ms));
        nng_ctx_recv(ctx, call.aio);
        /* A pipe may have closed between the check above and the start of
         * the receive, when the callback's cancel had nothing to cancel. */
        if (call_lost(c, &call))
            nng_aio_cancel(call.aio);
        nng_aio_wait(call.aio);
        nrv = nng_aio_result(call.aio);
    } else {
        nrv = NNG_ECONNRESET;
    }
    if (nrv == 0) {
        *reply = nng_aio_get_msg(call.aio);
        last_call = SCE_CALL_ANSWERED;
        rv = SCE_OK;
    } else if (call_lost(c, &call) || nrv == NNG_ECONNRESET || nrv == NNG_ECONNSHUT ||
               nrv == NNG_ECLOSED) {
        sce_seterr(errbuf, errlen,
                   "lost the connection to sce-server at %s before it answered request %s "
                   "(it may or may not have been carried out)",
                   c->url, id);
        rv = SCE_ERR_UNAVAILABLE;
    } else if (nrv == NNG_ETIMEDOUT) {
        sce_seterr(errbuf, errlen, "no answer from %s within %u ms", c->url, timeout_ms);
        rv = SCE_ERR_DEADLINE_EXCEEDED;
    } else {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot receive the answer");
    }

out:
    if (registered)
        call_unregister(c, &call);
    /* Closing the context also drops a request still queued for (re)send. */
    if (ctx_open)
        nng_ctx_close(ctx);
    nng_aio_free(call.aio);
    if (msg != NULL)
        nng_msg_free(msg);
    return rv;
}

/* ------------------------------------------------------------ protocol */

static const char *method_name(int method)
{
    switch (method) {
    case SCE__V1__METHOD__METHOD_RUN:
        return "run";
    case SCE__V1__METHOD__METHOD_LANGUAGES:
        return "languages";
    case SCE__V1__METHOD__METHOD_HEALTH:
        return "health";
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
        return "run_project";
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        return "batch";
    case SCE__V1__METHOD__METHOD_HISTORY:
        return "history";
    case SCE__V1__METHOD__METHOD_RUN_START:
        return "run_start";
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        return "run_poll";
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
        return "run_stdin";
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        return "run_cancel";
    default:
        return "unknown";
    }
}

/* The opening of every public call: clears errbuf and refuses a NULL
 * client or result pointer. */
static int call_args_check(const sce_client *c, const void *out, char *errbuf, size_t errlen)
{
    last_call = SCE_CALL_NOT_SENT;
    sce_seterr(errbuf, errlen, "%s", "");
    if (c == NULL || out == NULL) {
        sce_seterr(errbuf, errlen, "%s is NULL", c == NULL ? "the client" : "out");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return SCE_OK;
}

/* The one request/answer exchange of every method: sends `method` with its
 * `body` (a Sce__V1__RunRequest for RUN and RUN_PROJECT, a BatchRequest,
 * LanguagesRequest, HealthRequest, HistoryRequest, or a followed run's
 * RunRequest, RunPollRequest, RunStdinRequest, RunCancelRequest; borrowed) for `tenant`
 * (NULL: none), and returns the server's Response when its status is OK and
 * it carries the body the method calls for.  *resp_out is freed with
 * sce__v1__response__free_unpacked(r, NULL); `id` receives the request id
 * that was sent. */
static int client_call(sce_client *c, int method, void *body, const char *tenant,
                       Sce__V1__Response **resp_out, char id[17], char *errbuf, size_t errlen)
{
    Sce__V1__Request request = SCE__V1__REQUEST__INIT;
    Sce__V1__Request *req = &request;
    Sce__V1__Response__BodyCase answer;
    nng_msg *msg = NULL, *reply = NULL;
    Sce__V1__Response *resp = NULL;
    unpack_state ust = {0};
    ProtobufCAllocator alloc = {unpack_alloc_cb, unpack_free_cb, &ust};
    size_t len;
    int rv, nrv;

    request.method = (Sce__V1__Method)method;
    request.tenant = (char *)(tenant != NULL ? tenant : "");
    switch (method) {
    case SCE__V1__METHOD__METHOD_RUN:
        request.body_case = SCE__V1__REQUEST__BODY_RUN;
        request.run = body;
        answer = SCE__V1__RESPONSE__BODY_RUN;
        break;
    case SCE__V1__METHOD__METHOD_RUN_PROJECT:
        request.body_case = SCE__V1__REQUEST__BODY_RUN_PROJECT;
        request.run_project = body;
        answer = SCE__V1__RESPONSE__BODY_RUN;
        break;
    case SCE__V1__METHOD__METHOD_RUN_BATCH:
        request.body_case = SCE__V1__REQUEST__BODY_BATCH;
        request.batch = body;
        answer = SCE__V1__RESPONSE__BODY_BATCH;
        break;
    case SCE__V1__METHOD__METHOD_LANGUAGES:
        request.body_case = SCE__V1__REQUEST__BODY_LANGUAGES;
        request.languages = body;
        answer = SCE__V1__RESPONSE__BODY_LANGUAGES;
        break;
    case SCE__V1__METHOD__METHOD_HEALTH:
        request.body_case = SCE__V1__REQUEST__BODY_HEALTH;
        request.health = body;
        answer = SCE__V1__RESPONSE__BODY_HEALTH;
        break;
    case SCE__V1__METHOD__METHOD_RUN_START:
        request.body_case = SCE__V1__REQUEST__BODY_RUN_START;
        request.run_start = body;
        answer = SCE__V1__RESPONSE__BODY_RUN_STARTED;
        break;
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        request.body_case = SCE__V1__REQUEST__BODY_RUN_POLL;
        request.run_poll = body;
        answer = SCE__V1__RESPONSE__BODY_RUN_EVENTS;
        break;
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
        request.body_case = SCE__V1__REQUEST__BODY_RUN_STDIN;
        request.run_stdin = body;
        answer = SCE__V1__RESPONSE__BODY__NOT_SET; /* a status only */
        break;
    case SCE__V1__METHOD__METHOD_RUN_CANCEL:
        request.body_case = SCE__V1__REQUEST__BODY_RUN_CANCEL;
        request.run_cancel = body;
        answer = SCE__V1__RESPONSE__BODY__NOT_SET;
        break;
    default:
        request.body_case = SCE__V1__REQUEST__BODY_HISTORY;
        request.history = body;
        answer = SCE__V1__RESPONSE__BODY_HISTORY;
        break;
    }
    make_request_id(id);
    req->request_id = id;
    req->deadline_ms = atomic_load(&c->timeout_ms);

    len = sce__v1__request__get_packed_size(req);
    if ((nrv = nng_msg_alloc(&msg, len)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot allocate the request");
        goto out;
    }
    sce__v1__request__pack(req, nng_msg_body(msg));
    rv = client_exchange(c, msg, id, req->deadline_ms, &reply, errbuf, errlen);
    msg = NULL;
    if (rv != SCE_OK)
        goto out;

    resp = sce__v1__response__unpack(&alloc, nng_msg_len(reply), nng_msg_body(reply));
    if (resp == NULL && ust.oom) {
        sce_seterr(errbuf, errlen, "out of memory decoding the answer");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    if (resp == NULL) {
        sce_seterr(errbuf, errlen, "malformed answer from sce-server at %s (%zu bytes)", c->url,
                   nng_msg_len(reply));
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    if (resp->method != req->method) {
        sce_seterr(errbuf, errlen, "sce-server answered a %s request with method %s (%d)",
                   method_name(req->method), method_name(resp->method), (int)resp->method);
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    if (resp->status != NULL && resp->status->code != SCE__V1__STATUS_CODE__STATUS_OK) {
        int code = (int)resp->status->code;
        const char *m = resp->status->message;

        rv = sce_err_known(code) ? code : SCE_ERR_UNKNOWN;
        if (m != NULL && m[0] != '\0')
            sce_seterr(errbuf, errlen, "%s", m);
        else if (rv == SCE_ERR_UNKNOWN && code != SCE_ERR_UNKNOWN)
            sce_seterr(errbuf, errlen, "sce-server answered status %d", code);
        else
            sce_seterr(errbuf, errlen, "%s", sce_strerror(rv));
        goto out;
    }
    if (resp->body_case != answer) {
        sce_seterr(errbuf, errlen, "sce-server's answer to a %s request carries no %s result",
                   method_name(req->method), method_name(req->method));
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    *resp_out = resp;
    resp = NULL;
    rv = SCE_OK;

out:
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    if (reply != NULL)
        nng_msg_free(reply);
    if (msg != NULL)
        nng_msg_free(msg);
    return rv;
}

/* ------------------------------------------------------------ public API */

int sce_client_open(const char *url, sce_client **out, char *errbuf, size_t errlen)
{
    sce_client *c = NULL;
    int rv = SCE_OK, nrv;

    sce_seterr(errbuf, errlen, "%s", "");
    if (out == NULL) {
        sce_seterr(errbuf, errlen, "out is NULL");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (url == NULL) {
        url = getenv(SCE_SERVER_ENV);
        if (url == NULL || url[0] == '\0')
            url = SCE_DEFAULT_SERVER_URL;
    }
    if (url[0] == '\0') {
        sce_seterr(errbuf, errlen, "the server URL is empty");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->url = strdup(url)) == NULL) {
        sce_seterr(errbuf, errlen, "out of memory");
        free(c);
        return SCE_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&c->mtx, NULL);
    atomic_init(&c->timeout_ms, CLIENT_DEFAULT_TIMEOUT_MS);
    atomic_flag_clear(&c->dialer_started);

    if ((nrv = nng_req0_open(&c->sock)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot open an nng REQ socket");
        goto out;
    }
    c->sock_open = 1;
    if ((nrv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, CLIENT_RECV_MAX_BYTES)) != 0 ||
        (nrv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
        (nrv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_event_cb, c)) != 0 ||
        (nrv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_event_cb, c)) != 0) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot set nng socket options");
        goto out;
    }
    if ((nrv = nng_dialer_create(&c->dialer, c->sock, url)) != 0) {
        if (nrv == NNG_ENOMEM) {
            rv = nng_to_err(nrv, errbuf, errlen, "");
        } else {
            sce_seterr(errbuf, errlen, "malformed server URL '%s': %s", url, nng_strerror(nrv));
            rv = SCE_ERR_INVALID_ARGUMENT;
        }
        goto out;
    }
    /* Failing to tune reconnection is harmless: nng's defaults also work. */
    (void)nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMINT, CLIENT_RECONNECT_MIN_MS);
    (void)nng_dialer_set_ms(c->dialer, NNG_OPT_RECONNMAXT, CLIENT_RECONNECT_MAX_MS);
    *out = c;
    c = NULL;

out:
    sce_client_close(c);
    return rv;
}

void sce_client_close(sce_client *c)
{
    if (c == NULL)
        return;
    /* nng_close returns after every pipe has been removed, which includes
     * their REM_POST callbacks: none can run on `c` afterwards.  When nng
     * 1.5 does not return (common/nng_close.h), `c` stays allocated for
     * those callbacks: a leak, not a host that hangs in its cleanup. */
    if (c->sock_open && sce_nng_close_within(c->sock, CLIENT_CLOSE_WAIT_MS) != 0)
        return;
    pthread_mutex_destroy(&c->mtx);
    free(c->url);
    free(c);
}

void sce_client_set_timeout(sce_client *c, uint32_t timeout_ms)
{
    if (c != NULL)
        atomic_store(&c->timeout_ms, timeout_ms);
}

/* Checks what would crash here: lengths without pointers, NULL paths and
 * arguments.  `what` names the request in messages ("the run request",
 * "task 3"). */
static int run_request_sane(const sce_run_request *req, const char *what, char *errbuf,
                            size_t errlen)
{
    if (req->nfiles > 0 && req->files == NULL) {
        sce_seterr(errbuf, errlen, "%snfiles is %zu but files is NULL", what, req->nfiles);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < req->nfiles; i++) {
        if (req->files[i].path == NULL) {
            sce_seterr(errbuf, errlen, "%sfile %zu has no path", what, i);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        if (req->files[i].len > 0 && req->files[i].data == NULL) {
            sce_seterr(errbuf, errlen, "%sfile '%s' has %zu bytes but no data", what,
                       req->files[i].path, req->files[i].len);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    if (req->stdin_len > 0 && req->stdin_data == NULL) {
        sce_seterr(errbuf, errlen, "%sstdin_len is %zu but stdin_data is NULL", what,
                   req->stdin_len);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->meta_len > 0 && req->meta == NULL) {
        sce_seterr(errbuf, errlen, "%smeta_len is %zu but meta is NULL", what, req->meta_len);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->meta_len > SCE_RUN_META_MAX_BYTES) {
        sce_seterr(errbuf, errlen, "%smeta is %zu bytes; the limit is %d", what, req->meta_len,
                   SCE_RUN_META_MAX_BYTES);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->nargs > 0 && req->args == NULL) {
        sce_seterr(errbuf, errlen, "%snargs is %zu but args is NULL", what, req->nargs);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < req->nargs; i++) {
        if (req->args[i] == NULL) {
            sce_seterr(errbuf, errlen, "%sargument %zu is NULL", what, i);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    return SCE_OK;
}

/* Checks what the server would reject anyway, plus what would crash here. */
static int run_request_check(const sce_run_request *req, char *errbuf, size_t errlen)
{
    if (req == NULL) {
        sce_seterr(errbuf, errlen, "the run request is NULL");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->language == NULL || req->language[0] == '\0') {
        sce_seterr(errbuf, errlen, "the run request names no language");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->code != NULL && req->nfiles > 0) {
        sce_seterr(errbuf, errlen, "the run request gives both code and files; give one");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (req->code == NULL && req->nfiles == 0) {
        sce_seterr(errbuf, errlen, "the run request gives neither code nor files");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return run_request_sane(req, "", errbuf, errlen);
}

static int run_result_copy(const Sce__V1__RunResult *pb, const char *request_id,
                           sce_run_result **out)
{
    sce_run_result *r = calloc(1, sizeof(*r));
    int rv = SCE_ERR_NO_MEMORY;

    if (r == NULL)
        goto out;
    r->verdict = (sce_verdict)pb->verdict;
    r->exit_code = pb->exit_code;
    r->signal = pb->signal;
    r->stdout_len = pb->stdout.len;
    r->stderr_len = pb->stderr.len;
    r->stdout_truncated = pb->stdout_truncated ? 1 : 0;
    r->stderr_truncated = pb->stderr_truncated ? 1 : 0;
    r->wall_ms = pb->wall_ms;
    r->cpu_ms = pb->cpu_ms;
    r->peak_memory_bytes = pb->peak_memory_bytes;
    if (pb->limits != NULL) {
        r->timeout_ms = pb->limits->timeout_ms;
        r->memory_bytes = pb->limits->memory_bytes;
        r->output_limit_bytes = pb->limits->output_limit_bytes;
    }
    if ((r->stdout_data = dup_bytes(pb->stdout.data, pb->stdout.len)) == NULL ||
        (r->stderr_data = dup_bytes(pb->stderr.data, pb->stderr.len)) == NULL ||
        (r->message = dup_str(pb->message)) == NULL ||
        (r->language = dup_str(pb->language)) == NULL ||
        (r->language_version = dup_str(pb->language_version)) == NULL ||
        (r->request_id = dup_str(request_id)) == NULL)
        goto out;
    *out = r;
    r = NULL;
    rv = SCE_OK;
out:
    sce_run_result_free(r);
    return rv;
}

/* The wire form of one sce_run_request.  Every pointer is borrowed from
 * the request (packing only reads them); the file arrays are owned. */
typedef struct packed_run {
    Sce__V1__RunRequest run;
    Sce__V1__Limits limits;
    Sce__V1__File *files;
    Sce__V1__File **file_ptrs;
} packed_run;

/* Fills p from req (already checked by run_request_sane).  `p` must not
 * move afterwards: p->run points at p->limits. */
static int packed_run_init(packed_run *p, const sce_run_request *req)
{
    sce__v1__run_request__init(&p->run);
    sce__v1__limits__init(&p->limits);
    p->files = NULL;
    p->file_ptrs = NULL;
    p->run.language = (char *)(req->language != NULL ? req->language : "");
    p->run.code = (char *)(req->code != NULL ? req->code : "");
    p->run.entry = (char *)(req->entry != NULL ? req->entry : "");
    p->run.stdin.data = (uint8_t *)req->stdin_data;
    p->run.stdin.len = req->stdin_len;
    p->run.meta.data = (uint8_t *)req->meta;
    p->run.meta.len = req->meta_len;
    p->run.detached = req->detached != 0;
    p->run.stdin_close = req->stdin_close != 0;
    p->run.n_args = req->nargs;
    p->run.args = (char **)req->args;
    p->limits.timeout_ms = req->timeout_ms;
    p->limits.memory_bytes = req->memory_bytes;
    p->limits.output_limit_bytes = req->output_limit_bytes;
    p->run.limits = &p->limits;
    if (req->nfiles > 0) {
        p->files = calloc(req->nfiles, sizeof(*p->files));
        p->file_ptrs = calloc(req->nfiles, sizeof(*p->file_ptrs));
        if (p->files == NULL || p->file_ptrs == NULL)
            return SCE_ERR_NO_MEMORY;
        for (size_t i = 0; i < req->nfiles; i++) {
            sce__v1__file__init(&p->files[i]);
            p->files[i].path = (char *)req->files[i].path;
            p->files[i].content.data = (uint8_t *)req->files[i].data;
            p->files[i].content.len = req->files[i].len;
            p->file_ptrs[i] = &p->files[i];
        }
        p->run.n_files = req->nfiles;
        p->run.files = p->file_ptrs;
    }
    return SCE_OK;
}

static void packed_run_free(packed_run *p)
{
    free(p->files);
    free(p->file_ptrs);
    p->files = NULL;
    p->file_ptrs = NULL;
}

/* Run and RunProject: the same request and answer, another method. */
static int client_run_method(sce_client *c, int method, const sce_run_request *req,
                             sce_run_result **out, char *errbuf, size_t errlen)
{
    Sce__V1__Response *resp = NULL;
    packed_run pr;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK ||
        (rv = run_request_check(req, errbuf, errlen)) != SCE_OK)
        return rv;
    if (method == SCE__V1__METHOD__METHOD_RUN_PROJECT && req->nfiles == 0) {
        sce_seterr(errbuf, errlen,
                   "a project needs files; for a single program use sce_client_run");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((rv = packed_run_init(&pr, req)) != SCE_OK) {
        sce_seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    rv = client_call(c, method, &pr.run, req->tenant, &resp, id, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = run_result_copy(
        resp->run, resp->request_id != NULL && resp->request_id[0] != '\0' ? resp->request_id : id,
        out);
    if (rv != SCE_OK)
        sce_seterr(errbuf, errlen, "out of memory");
out:
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    packed_run_free(&pr);
    return rv;
}

int sce_client_run(sce_client *c, const sce_run_request *req, sce_run_result **out, char *errbuf,
                   size_t errlen)
{
    return client_run_method(c, SCE__V1__METHOD__METHOD_RUN, req, out, errbuf, errlen);
}

int sce_client_run_project(sce_client *c, const sce_run_request *req, sce_run_result **out,
                           char *errbuf, size_t errlen)
{
    return client_run_method(c, SCE__V1__METHOD__METHOD_RUN_PROJECT, req, out, errbuf, errlen);
}

void sce_run_result_free(sce_run_result *r)
{
    if (r == NULL)
        return;
    free(r->stdout_data);
    free(r->stderr_data);
    free(r->message);
    free(r->language);
    free(r->language_version);
    free(r->request_id);
    free(r);
}

static int language_copy(const Sce__V1__Language *pb, sce_language *l)
{
    if ((l->name = dup_str(pb->name)) == NULL || (l->version = dup_str(pb->version)) == NULL ||
        (l->image = dup_str(pb->image)) == NULL ||
        (l->default_entry = dup_str(pb->default_entry)) == NULL ||
        (l->message = dup_str(pb->message)) == NULL || (l->runtime = dup_str(pb->runtime)) == NULL)
        return SCE_ERR_NO_MEMORY;
    l->available = pb->available ? 1 : 0;
    if (pb->n_extensions > 0) {
        if ((l->extensions = calloc(pb->n_extensions, sizeof(*l->extensions))) == NULL)
            return SCE_ERR_NO_MEMORY;
        for (size_t i = 0; i < pb->n_extensions; i++) {
            if ((l->extensions[i] = dup_str(pb->extensions[i])) == NULL)
                return SCE_ERR_NO_MEMORY;
            l->nextensions = i + 1;
        }
    }
    return SCE_OK;
}

int sce_client_languages(sce_client *c, sce_language_list **out, char *errbuf, size_t errlen)
{
    Sce__V1__LanguagesRequest body = SCE__V1__LANGUAGES_REQUEST__INIT;
    Sce__V1__Response *resp = NULL;
    sce_language_list *l = NULL;
    const Sce__V1__LanguagesResult *pb;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK)
        return rv;
    rv = client_call(c, SCE__V1__METHOD__METHOD_LANGUAGES, &body, NULL, &resp, id, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    pb = resp->languages;
    rv = SCE_ERR_NO_MEMORY;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        goto oom;
    if (pb->n_languages > 0) {
        if ((l->items = calloc(pb->n_languages, sizeof(*l->items))) == NULL)
            goto oom;
        for (size_t i = 0; i < pb->n_languages; i++) {
            l->count = i + 1; /* so that a half-copied item is freed too */
            if (language_copy(pb->languages[i], &l->items[i]) != SCE_OK)
                goto oom;
        }
    }
    *out = l;
    l = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(errbuf, errlen, "out of memory");
out:
    sce_language_list_free(l);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

void sce_language_list_free(sce_language_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->count; i++) {
        sce_language *x = &l->items[i];

        free(x->name);
        free(x->version);
        free(x->image);
        free(x->default_entry);
        for (size_t j = 0; j < x->nextensions; j++)
            free(x->extensions[j]);
        free(x->extensions);
        free(x->message);
        free(x->runtime);
    }
    free(l->items);
    free(l);
}

int sce_client_health(sce_client *c, sce_health **out, char *errbuf, size_t errlen)
{
    Sce__V1__HealthRequest body = SCE__V1__HEALTH_REQUEST__INIT;
    Sce__V1__Response *resp = NULL;
    const Sce__V1__HealthResult *pb;
    sce_health *h = NULL;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK)
        return rv;
    rv = client_call(c, SCE__V1__METHOD__METHOD_HEALTH, &body, NULL, &resp, id, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    pb = resp->health;
    rv = SCE_ERR_NO_MEMORY;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        goto oom;
    h->serving = pb->serving ? 1 : 0;
    h->engine_ok = pb->engine_ok ? 1 : 0;
    h->workers = pb->workers;
    h->busy_workers = pb->busy_workers;
    h->queued = pb->queued;
    h->queue_capacity = pb->queue_capacity;
    h->uptime_ms = pb->uptime_ms;
    h->runs_total = pb->runs_total;
    h->pool_ready = pb->pool_ready;
    h->pool_hits = pb->pool_hits;
    h->pool_misses = pb->pool_misses;
    if ((h->engine_message = dup_str(pb->engine_message)) == NULL ||
        (h->engine_version = dup_str(pb->engine_version)) == NULL ||
        (h->server_version = dup_str(pb->server_version)) == NULL ||
        (h->instance_id = dup_str(pb->instance_id)) == NULL)
        goto oom;
    if (pb->n_runtimes > 0 && (h->runtimes = calloc(pb->n_runtimes, sizeof(*h->runtimes))) == NULL)
        goto oom;
    for (size_t i = 0; i < pb->n_runtimes; i++) {
        h->nruntimes = i + 1;
        if ((h->runtimes[i].language = dup_str(pb->runtimes[i]->language)) == NULL ||
            (h->runtimes[i].runtime = dup_str(pb->runtimes[i]->runtime)) == NULL)
            goto oom;
    }
    *out = h;
    h = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(errbuf, errlen, "out of memory");
out:
    sce_health_free(h);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

void sce_health_free(sce_health *h)
{
    if (h == NULL)
        return;
    free(h->engine_message);
    free(h->engine_version);
    free(h->server_version);
    free(h->instance_id);
    for (size_t i = 0; i < h->nruntimes; i++) {
        free(h->runtimes[i].language);
        free(h->runtimes[i].runtime);
    }
    free(h->runtimes);
    free(h);
}

/* ------------------------------------------------------------ batches */

int sce_client_run_batch(sce_client *c, const sce_run_request *tasks, size_t ntasks,
                         sce_batch_result **out, char *errbuf, size_t errlen)
{
    Sce__V1__BatchRequest batch = SCE__V1__BATCH_REQUEST__INIT;
    Sce__V1__Response *resp = NULL;
    const Sce__V1__BatchResult *pb;
    Sce__V1__RunRequest **task_ptrs = NULL;
    packed_run *packed = NULL;
    sce_batch_result *b = NULL;
    size_t npacked = 0;
    char id[17], what[64];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK)
        return rv;
    if (tasks == NULL && ntasks > 0) {
        sce_seterr(errbuf, errlen, "tasks is NULL");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (ntasks == 0) {
        sce_seterr(errbuf, errlen, "the batch has no tasks");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    /* Only what would crash here is checked: the server judges each task
     * on its own and answers for each.  The tenant travels once, in the
     * envelope: the tasks must agree on it. */
    for (size_t i = 0; i < ntasks; i++) {
        snprintf(what, sizeof(what), "task %zu: ", i);
        if ((rv = run_request_sane(&tasks[i], what, errbuf, errlen)) != SCE_OK)
            return rv;
        if (strcmp(tasks[i].tenant != NULL ? tasks[i].tenant : "",
                   tasks[0].tenant != NULL ? tasks[0].tenant : "") != 0) {
            sce_seterr(errbuf, errlen, "task %zu: its tenant is not task 0's; a batch is one "
                       "tenant's", i);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    packed = calloc(ntasks, sizeof(*packed));
    task_ptrs = calloc(ntasks, sizeof(*task_ptrs));
    if (packed == NULL || task_ptrs == NULL)
        goto oom;
    for (; npacked < ntasks; npacked++) {
        if (packed_run_init(&packed[npacked], &tasks[npacked]) != SCE_OK) {
            npacked++; /* its arrays may be half-allocated */
            goto oom;
        }
        task_ptrs[npacked] = &packed[npacked].run;
    }
    batch.n_tasks = ntasks;
    batch.tasks = task_ptrs;
    rv = client_call(c, SCE__V1__METHOD__METHOD_RUN_BATCH, &batch, tasks[0].tenant, &resp, id,
                     errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    pb = resp->batch;
    if (pb->n_items != ntasks) {
        sce_seterr(errbuf, errlen, "sce-server answered a batch of %zu tasks with %zu results",
                   ntasks, pb->n_items);
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    if ((b = calloc(1, sizeof(*b))) == NULL ||
        (b->items = calloc(ntasks, sizeof(*b->items))) == NULL ||
        (b->request_id =
             dup_str(resp->request_id != NULL && resp->request_id[0] != '\0' ? resp->request_id
                                                                             : id)) == NULL)
        goto oom;
    for (size_t i = 0; i < ntasks; i++) {
        const Sce__V1__BatchItem *it = pb->items[i];
        sce_batch_item *x = &b->items[i];
        int code = it->status != NULL ? (int)it->status->code : SCE_OK;

        b->count = i + 1; /* so that a half-copied item is freed too */
        x->status = sce_err_known(code) ? code : SCE_ERR_UNKNOWN;
        if ((x->message = dup_str(it->status != NULL ? it->status->message : "")) == NULL)
            goto oom;
        if (x->status != SCE_OK)
            continue;
        if (it->result == NULL) {
            sce_seterr(errbuf, errlen, "sce-server's answer for task %zu carries no result", i);
            rv = SCE_ERR_INTERNAL;
            goto out;
        }
        snprintf(what, sizeof(what), "%s-%zu", b->request_id, i);
        if (run_result_copy(it->result, what, &x->result) != SCE_OK)
            goto oom;
    }
    *out = b;
    b = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(errbuf, errlen, "out of memory");
    rv = SCE_ERR_NO_MEMORY;
out:
    sce_batch_result_free(b);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    for (size_t i = 0; i < npacked; i++)
        packed_run_free(&packed[i]);
    free(packed);
    free(task_ptrs);
    return rv;
}

void sce_batch_result_free(sce_batch_result *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->count; i++) {
        free(b->items[i].message);
        sce_run_result_free(b->items[i].result);
    }
    free(b->items);
    free(b->request_id);
    free(b);
}

/* ------------------------------------------------------------ followed runs */

int sce_client_run_start(sce_client *c, const sce_run_request *req, sce_run_started **out,
                         char *errbuf, size_t errlen)
{
    Sce__V1__Response *resp = NULL;
    sce_run_started *s = NULL;
    const Sce__V1__RunStarted *rs;
    packed_run pr;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK ||
        (rv = run_request_check(req, errbuf, errlen)) != SCE_OK)
        return rv;
    if ((rv = packed_run_init(&pr, req)) != SCE_OK) {
        sce_seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    rv = client_call(c, SCE__V1__METHOD__METHOD_RUN_START, &pr.run, req->tenant, &resp, id, errbuf,
                     errlen);
    if (rv != SCE_OK)
        goto out;
    rs = resp->run_started;
    rv = SCE_ERR_NO_MEMORY;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->run_id = dup_str(rs->run_id)) == NULL ||
        (s->language = dup_str(rs->language)) == NULL ||
        (s->language_version = dup_str(rs->language_version)) == NULL ||
        (s->request_id =
             dup_str(resp->request_id != NULL && resp->request_id[0] != '\0' ? resp->request_id
                                                                             : id)) == NULL) {
        sce_seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    if (rs->limits != NULL) {
        s->timeout_ms = rs->limits->timeout_ms;
        s->memory_bytes = rs->limits->memory_bytes;
        s->output_limit_bytes = rs->limits->output_limit_bytes;
    }
    if (s->run_id[0] == '\0') {
        sce_seterr(errbuf, errlen, "sce-server at %s started a run without an id", c->url);
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    *out = s;
    s = NULL;
    rv = SCE_OK;
out:
    sce_run_started_free(s);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    packed_run_free(&pr);
    return rv;
}

void sce_run_started_free(sce_run_started *s)
{
    if (s == NULL)
        return;
    free(s->run_id);
    free(s->language);
    free(s->language_version);
    free(s->request_id);
    free(s);
}

/* A run id as the caller gave it: present, and short enough to send. */
static int run_id_check(const char *run_id, char *errbuf, size_t errlen)
{
    if (run_id == NULL || run_id[0] == '\0' || strlen(run_id) > SCE_RUN_ID_MAX) {
        sce_seterr(errbuf, errlen, "run id: expected 1 to %d characters", SCE_RUN_ID_MAX);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return SCE_OK;
}

static int run_events_copy(const Sce__V1__RunEvents *pb, const char *request_id,
                           sce_run_events **out)
{
    sce_run_events *e = calloc(1, sizeof(*e));
    int rv = SCE_ERR_NO_MEMORY;

    if (e == NULL)
        goto out;
    e->next_seq = pb->next_seq;
    e->done = pb->done && pb->result != NULL;
    e->running = pb->running ? 1 : 0;
    e->stdin_open = pb->stdin_open ? 1 : 0;
    if (pb->n_chunks > 0 && (e->chunks = calloc(pb->n_chunks, sizeof(*e->chunks))) == NULL)
        goto out;
    for (size_t i = 0; i < pb->n_chunks; i++) {
        const Sce__V1__OutputChunk *ch = pb->chunks[i];
        sce_output_chunk *o = &e->chunks[i];

        o->seq = ch->seq;
        o->stream =
            ch->stream == SCE__V1__STREAM__STREAM_STDERR ? SCE_STREAM_STDERR : SCE_STREAM_STDOUT;
        o->len = ch->data.len;
        if ((o->data = dup_bytes(ch->data.data, ch->data.len)) == NULL)
            goto out;
        e->nchunks++;
    }
    if (e->done && run_result_copy(pb->result, request_id, &e->result) != SCE_OK)
        goto out;
    if (pb->meta.len > 0) {
        if ((e->meta = dup_bytes(pb->meta.data, pb->meta.len)) == NULL)
            goto out;
        e->meta_len = pb->meta.len;
    }
    *out = e;
    e = NULL;
    rv = SCE_OK;
out:
    sce_run_events_free(e);
    return rv;
}

int sce_client_run_poll(sce_client *c, const char *run_id, const char *tenant, uint64_t after_seq,
                        uint32_t wait_ms, sce_run_events **out, char *errbuf, size_t errlen)
{
    Sce__V1__RunPollRequest body = SCE__V1__RUN_POLL_REQUEST__INIT;
    Sce__V1__Response *resp = NULL;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK ||
        (rv = run_id_check(run_id, errbuf, errlen)) != SCE_OK)
        return rv;
    body.run_id = (char *)run_id;
    body.after_seq = after_seq;
    body.wait_ms = wait_ms < SCE_RUN_POLL_WAIT_MAX_MS ? wait_ms : SCE_RUN_POLL_WAIT_MAX_MS;
    rv = client_call(c, SCE__V1__METHOD__METHOD_RUN_POLL, &body, tenant, &resp, id, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    if ((rv = run_events_copy(resp->run_events, id, out)) != SCE_OK)
        sce_seterr(errbuf, errlen, "out of memory");
out:
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

void sce_run_events_free(sce_run_events *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nchunks; i++)
        free(e->chunks[i].data);
    free(e->chunks);
    sce_run_result_free(e->result);
    free(e->meta);
    free(e);
}

/* A follow-up answered with a status only (RUN_STDIN, RUN_CANCEL). */
static int follow_status_call(sce_client *c, int method, void *body, const char *tenant,
                              char *errbuf, size_t errlen)
{
    Sce__V1__Response *resp = NULL;
    char id[17];
    int rv = client_call(c, method, body, tenant, &resp, id, errbuf, errlen);

    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

int sce_client_run_stdin(sce_client *c, const char *run_id, const char *tenant, const void *data,
                         size_t len, int close, char *errbuf, size_t errlen)
{
    Sce__V1__RunStdinRequest body = SCE__V1__RUN_STDIN_REQUEST__INIT;
    int rv;

    if ((rv = call_args_check(c, &body, errbuf, errlen)) != SCE_OK ||
        (rv = run_id_check(run_id, errbuf, errlen)) != SCE_OK)
        return rv;
    if (len > 0 && data == NULL) {
        sce_seterr(errbuf, errlen, "len is %zu but data is NULL", len);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    body.run_id = (char *)run_id;
    body.data.data = (uint8_t *)data;
    body.data.len = len;
    body.close = close != 0;
    return follow_status_call(c, SCE__V1__METHOD__METHOD_RUN_STDIN, &body, tenant, errbuf, errlen);
}

int sce_client_run_cancel(sce_client *c, const char *run_id, const char *tenant, char *errbuf,
                          size_t errlen)
{
    Sce__V1__RunCancelRequest body = SCE__V1__RUN_CANCEL_REQUEST__INIT;
    int rv;

    if ((rv = call_args_check(c, &body, errbuf, errlen)) != SCE_OK ||
        (rv = run_id_check(run_id, errbuf, errlen)) != SCE_OK)
        return rv;
    body.run_id = (char *)run_id;
    return follow_status_call(c, SCE__V1__METHOD__METHOD_RUN_CANCEL, &body, tenant, errbuf,
                              errlen);
}

/* ------------------------------------------------------------ history */

static int history_entry_copy(const Sce__V1__HistoryEntry *pb, sce_history_entry *e)
{
    e->id = pb->id;
    e->time_ms = pb->time_ms;
    e->code_truncated = pb->code_truncated ? 1 : 0;
    e->files = pb->files;
    e->verdict = (sce_verdict)pb->verdict;
    e->exit_code = pb->exit_code;
    e->output_truncated = pb->output_truncated ? 1 : 0;
    e->stderr_truncated = pb->stderr_truncated ? 1 : 0;
    e->wall_ms = pb->wall_ms;
    e->truncated = pb->truncated ? 1 : 0;
    e->signal = pb->signal;
    e->cpu_ms = pb->cpu_ms;
    e->peak_memory_bytes = pb->peak_memory_bytes;
    if (pb->meta.len > 0) {
        if ((e->meta = dup_bytes(pb->meta.data, pb->meta.len)) == NULL)
            return SCE_ERR_NO_MEMORY;
        e->meta_len = pb->meta.len;
    }
    if ((e->run_id = dup_str(pb->run_id)) == NULL || (e->tenant = dup_str(pb->tenant)) == NULL ||
        (e->language = dup_str(pb->language)) == NULL || (e->code = dup_str(pb->code)) == NULL ||
        (e->entry = dup_str(pb->entry)) == NULL || (e->output = dup_str(pb->output)) == NULL ||
        (e->stderr_text = dup_str(pb->stderr)) == NULL ||
        (e->message = dup_str(pb->message)) == NULL ||
        (e->request_id = dup_str(pb->request_id)) == NULL)
        return SCE_ERR_NO_MEMORY;
    return SCE_OK;
}

int sce_client_history(sce_client *c, const sce_history_query *q, sce_history_page **out,
                       char *errbuf, size_t errlen)
{
    Sce__V1__HistoryRequest body = SCE__V1__HISTORY_REQUEST__INIT;
    Sce__V1__Response *resp = NULL;
    const Sce__V1__HistoryResult *pb;
    sce_history_page *p = NULL;
    char id[17];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK)
        return rv;
    if (q != NULL) {
        body.limit = q->limit;
        body.offset = q->offset;
        body.verdict = (Sce__V1__Verdict)q->verdict;
        body.language = (char *)(q->language != NULL ? q->language : "");
    }
    rv = client_call(c, SCE__V1__METHOD__METHOD_HISTORY, &body, q != NULL ? q->tenant : NULL, &resp,
                     id, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    pb = resp->history;
    rv = SCE_ERR_NO_MEMORY;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        goto oom;
    p->total = pb->total;
    p->enabled = pb->enabled ? 1 : 0;
    if (pb->n_entries > 0) {
        if ((p->entries = calloc(pb->n_entries, sizeof(*p->entries))) == NULL)
            goto oom;
        for (size_t i = 0; i < pb->n_entries; i++) {
            p->count = i + 1;
            if (history_entry_copy(pb->entries[i], &p->entries[i]) != SCE_OK)
                goto oom;
        }
    }
    *out = p;
    p = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(errbuf, errlen, "out of memory");
out:
    sce_history_page_free(p);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

static void history_entry_clear(sce_history_entry *e)
{
    free(e->language);
    free(e->code);
    free(e->entry);
    free(e->output);
    free(e->stderr_text);
    free(e->message);
    free(e->request_id);
    free(e->tenant);
    free(e->run_id);
    free(e->meta);
}

void sce_history_page_free(sce_history_page *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        history_entry_clear(&p->entries[i]);
    free(p->entries);
    free(p);
}

/* The one entry a History call with body.id or body.run_id answers: its
 * copy in *out, or NOT_FOUND `missing` (also for a server that keeps no
 * history: it answers an empty page). */
static int history_get_one(sce_client *c, Sce__V1__HistoryRequest *body, const char *tenant,
                           const char *missing, sce_history_entry **out, char *errbuf,
                           size_t errlen)
{
    Sce__V1__Response *resp = NULL;
    const Sce__V1__HistoryEntry *pb;
    sce_history_entry *e = NULL;
    char rid[17];
    int rv;

    rv = client_call(c, SCE__V1__METHOD__METHOD_HISTORY, body, tenant, &resp, rid, errbuf, errlen);
    if (rv != SCE_OK)
        goto out;
    pb = resp->history->n_entries > 0 ? resp->history->entries[0] : NULL;
    if (pb == NULL || (body->id != 0 && pb->id != body->id) ||
        (body->run_id[0] != '\0' && strcasecmp(pb->run_id, body->run_id) != 0)) {
        sce_seterr(errbuf, errlen, "%s", missing);
        rv = SCE_ERR_NOT_FOUND;
        goto out;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL || history_entry_copy(pb, e) != SCE_OK) {
        sce_seterr(errbuf, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    *out = e;
    e = NULL;
    rv = SCE_OK;
out:
    sce_history_entry_free(e);
    if (resp != NULL)
        sce__v1__response__free_unpacked(resp, NULL);
    return rv;
}

int sce_client_history_get(sce_client *c, int64_t id, const char *tenant, sce_history_entry **out,
                           char *errbuf, size_t errlen)
{
    Sce__V1__HistoryRequest body = SCE__V1__HISTORY_REQUEST__INIT;
    char missing[64];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK)
        return rv;
    if (id < 1) {
        sce_seterr(errbuf, errlen, "id: %lld is not a run's id", (long long)id);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    body.id = id;
    snprintf(missing, sizeof(missing), "no run %lld in the history", (long long)id);
    return history_get_one(c, &body, tenant, missing, out, errbuf, errlen);
}

int sce_client_history_get_run(sce_client *c, const char *run_id, const char *tenant,
                               sce_history_entry **out, char *errbuf, size_t errlen)
{
    Sce__V1__HistoryRequest body = SCE__V1__HISTORY_REQUEST__INIT;
    char missing[128];
    int rv;

    if ((rv = call_args_check(c, out, errbuf, errlen)) != SCE_OK ||
        (rv = run_id_check(run_id, errbuf, errlen)) != SCE_OK)
        return rv;
    body.run_id = (char *)run_id;
    snprintf(missing, sizeof(missing), "no run %s in the history", run_id);
    return history_get_one(c, &body, tenant, missing, out, errbuf, errlen);
}

void sce_history_entry_free(sce_history_entry *e)
{
    if (e == NULL)
        return;
    history_entry_clear(e);
    free(e);
}

int sce_client_call_raw(sce_client *c, const void *req, size_t req_len, void **out, size_t *out_len,
                        char *errbuf, size_t errlen)
{
    nng_msg *msg = NULL, *reply = NULL;
    void *copy;
    int rv, nrv;

    sce_seterr(errbuf, errlen, "%s", "");
    if (c == NULL || out == NULL || out_len == NULL || (req == NULL && req_len > 0)) {
        sce_seterr(errbuf, errlen, "%s is NULL",
                   c == NULL     ? "the client"
                   : req == NULL ? "req"
                   : out == NULL ? "out"
                                 : "out_len");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((nrv = nng_msg_alloc(&msg, 0)) != 0 ||
        (req_len > 0 && (nrv = nng_msg_append(msg, req, req_len)) != 0)) {
        rv = nng_to_err(nrv, errbuf, errlen, "cannot allocate the request");
        goto out;
    }
    rv = client_exchange(c, msg, "(raw)", atomic_load(&c->timeout_ms), &reply, errbuf, errlen);
    msg = NULL;
    if (rv != SCE_OK)
        goto out;
    /* One spare byte so that an empty answer is still a valid pointer. */
    if ((copy = malloc(nng_msg_len(reply) + 1)) == NULL) {
        sce_seterr(errbuf, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    memcpy(copy, nng_msg_body(reply), nng_msg_len(reply));
    *out = copy;
    *out_len = nng_msg_len(reply);
out:
    if (reply != NULL)
        nng_msg_free(reply);
    if (msg != NULL)
        nng_msg_free(msg);
    return rv;
}
