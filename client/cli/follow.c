/*
 * follow.c - `sce run`'s followed run (follow.h): start, long polls that
 * print each chunk of output as it arrives, stdin forwarded, Ctrl-C as a
 * cancel.
 *
 * Threads.  The calling thread starts the run and then polls it
 * (FOLLOW_POLL_WAIT_MS per poll) until the answer says done, printing the
 * chunks.  A helper thread, started once the run has its id, forwards
 * fd 0 to the program's stdin (closing it at EOF) and sends the cancel
 * when Ctrl-C is pressed: SIGINT's handler only counts and writes a byte
 * to a pipe, since libsce may not be called from a handler, and the
 * helper waits in poll(2) on that pipe, on fd 0 and on a wake pipe of its
 * own, never in a bare read(2).  So a cancel goes out at once, not after
 * the current poll, and when the program ends while sce's stdin is a
 * terminal nobody types into, the poller writes to the wake pipe and the
 * helper returns at once: sce neither hangs on its terminal nor pays a
 * timer's delay at the end of every run.  The helper does not read a
 * terminal while sce is a background job (that would stop it with
 * SIGTTIN); it looks again every FOLLOW_BACKGROUND_CHECK_MS.  libsce's
 * client is thread-safe, so both threads call it.
 *
 * Backpressure.  The server buffers at most 64 KiB of unread stdin and
 * answers RESOURCE_EXHAUSTED beyond; the helper then retries the same bytes
 * every FOLLOW_STDIN_RETRY_MS and reads no more meanwhile, so a large piped
 * input costs sce one buffer (FOLLOW_STDIN_CHUNK_BYTES).  Any other refusal
 * (FAILED_PRECONDITION: the program's stdin is closed or the run ended;
 * a lost server, which the poller reports) ends the forwarding.
 *
 * Ctrl-C.  The cancel is sent once; the poller goes on until the result,
 * whose verdict is then "cancelled" (or the run's own, when it ended
 * first).  A second Ctrl-C _exits at once with FOLLOW_EXIT_INTERRUPTED; the
 * server cancels the abandoned run after SCE_RUN_READER_GONE_MS without
 * polls.  The handler is not installed when SIGINT was ignored when sce
 * started, as for a background job of a shell without job control.
 */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/seterr.h"

/* What the stdin reader reads and sends at once; below the server's 64 KiB
 * of unread stdin, so one send never exceeds it by itself. */
#define FOLLOW_STDIN_CHUNK_BYTES 16384
/* The pause before a refused (RESOURCE_EXHAUSTED) stdin write is retried. */
#define FOLLOW_STDIN_RETRY_MS 50
/* How often a background job looks whether it is in the foreground yet. */
#define FOLLOW_BACKGROUND_CHECK_MS 250

/* Ctrl-C presses, and the pipe the handler writes one byte to per press
 * (write(2) is async-signal-safe; libsce is not). */
static volatile sig_atomic_t follow_interrupts;
static int follow_sigpipe[2] = {-1, -1};

static void sigint_cb(int sig)
{
    int saved_errno = errno;

    (void)sig;
    if (follow_interrupts++ > 0)
        _exit(FOLLOW_EXIT_INTERRUPTED);
    if (write(follow_sigpipe[1], "i", 1) < 0) {
        /* the poller sees the count after its current poll instead */
    }
    errno = saved_errno;
}

/* ------------------------------------------------------------ helper thread */

/* The helper thread's state; lives on follow_run's stack. */
typedef struct helper {
    sce_client *c;
    const char *run_id;
    int forward_stdin; /* fd 0 still to be forwarded */
    int wake[2];       /* the poller writes to wake[1] to stop the helper */
    atomic_int stop;
    atomic_int cancelled; /* the helper sent the cancel */
    pthread_t thread;
    int started;
} helper;

/* 1 when fd 0 is a terminal whose foreground process group is not ours. */
static int in_background(void)
{
    pid_t fg;

    if (!isatty(0))
        return 0;
    fg = tcgetpgrp(0);
    return fg != -1 && fg != getpgrp();
}

/* Sends len bytes (and the close when `close`), retrying while the server
 * has too much unread, unless the run ends or Ctrl-C is pressed meanwhile
 * (the helper must go and cancel).  Returns the last answer's code. */
static int stdin_send(helper *h, const char *data, size_t len, int close)
{
    char err[256];
    int rv;

    for (;;) {
        rv = sce_client_run_stdin(h->c, h->run_id, NULL, data, len, close, err, sizeof(err));
        if (rv != SCE_ERR_RESOURCE_EXHAUSTED || atomic_load(&h->stop) || follow_interrupts > 0)
            return rv;
        sce_sleep_ms(FOLLOW_STDIN_RETRY_MS);
    }
}

/* Forwards one read of fd 0; 0 when forwarding goes on, -1 when it ended
 * (EOF sent as a close, fd 0 unreadable, or the run refused the data). */
static int stdin_forward_once(helper *h)
{
    char buf[FOLLOW_STDIN_CHUNK_BYTES];
    ssize_t got = read(0, buf, sizeof(buf));

    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    /* EOF, or fd 0 unreadable (closed, EIO): the program's stdin ends. */
    if (got <= 0) {
        (void)stdin_send(h, NULL, 0, 1);
        return -1;
    }
    return stdin_send(h, buf, (size_t)got, 0) == SCE_OK ? 0 : -1;
}

/* Waits on the wake pipe, Ctrl-C's pipe and (while forwarding, and sce is
 * not a background job) fd 0. */
static void *helper_thread(void *arg)
{
    helper *h = arg;

    while (!atomic_load(&h->stop)) {
        struct pollfd p[3] = {{.fd = h->wake[0], .events = POLLIN},
                              {.fd = follow_sigpipe[0], .events = POLLIN},
                              {.fd = 0, .events = POLLIN}};
        int background = h->forward_stdin && in_background();
        nfds_t n = h->forward_stdin && !background ? 3 : 2;

        if (poll(p, n, background ? FOLLOW_BACKGROUND_CHECK_MS : -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents != 0)
            break;
        if (p[1].revents != 0) {
            char e[256], b[8];

            (void)!read(follow_sigpipe[0], b, sizeof(b));
            if (!atomic_exchange(&h->cancelled, 1))
                (void)sce_client_run_cancel(h->c, h->run_id, NULL, e, sizeof(e));
        }
        if (n == 3 && p[2].revents != 0 && stdin_forward_once(h) != 0)
            h->forward_stdin = 0;
    }
    return NULL;
}

static int helper_start(helper *h, sce_client *c, const char *run_id, int forward_stdin)
{
    h->c = c;
    h->run_id = run_id;
    h->forward_stdin = forward_stdin;
    atomic_init(&h->stop, 0);
    atomic_init(&h->cancelled, 0);
    if (pipe(h->wake) != 0)
        return -1;
    (void)fcntl(h->wake[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(h->wake[1], F_SETFD, FD_CLOEXEC);
    if (pthread_create(&h->thread, NULL, helper_thread, h) != 0) {
        close(h->wake[0]);
        close(h->wake[1]);
        return -1;
    }
    h->started = 1;
    return 0;
}

/* Stops the helper (at once, unless it is in the middle of a call) and
 * joins it.  Accepts a helper that never started. */
static void helper_stop(helper *h)
{
    if (!h->started)
        return;
    atomic_store(&h->stop, 1);
    while (write(h->wake[1], "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(h->thread, NULL);
    close(h->wake[0]);
    close(h->wake[1]);
    h->started = 0;
}

/* ------------------------------------------------------------ output */

/* Writes one chunk where the program wrote it; tracks stderr's last byte. */
static void print_chunk(const sce_output_chunk *ch, int *stderr_fresh_line)
{
    FILE *f = ch->stream == SCE_STREAM_STDERR ? stderr : stdout;

    if (ch->len == 0)
        return;
    fwrite(ch->data, 1, ch->len, f);
    fflush(f);
    if (f == stderr)
        *stderr_fresh_line = ch->data[ch->len - 1] == '\n';
}

/* ------------------------------------------------------------ the run */

int follow_unsupported(int rv, const char *err)
{
    return rv == SCE_ERR_UNIMPLEMENTED ||
           (rv == SCE_ERR_INVALID_ARGUMENT && strstr(err, "unknown method") != NULL);
}

int follow_run(sce_client *c, const sce_run_request *req, const follow_opts *o,
               sce_run_result **out, int *stderr_fresh_line, char *err, size_t errlen)
{
    struct sigaction sa, old_sa;
    sce_run_started *st = NULL;
    sce_run_events *ev = NULL;
    helper h = {.started = 0};
    uint64_t after_seq = 0;
    int fresh = 1, noted = 0, handler = 0, rv;

    /* Ctrl-C's pipe first, then the handler that writes to it.  A SIGINT
     * ignored from the start stays ignored (a shell's background job
     * without job control): Ctrl-C at the terminal is not for us. */
    follow_interrupts = 0;
    sigaction(SIGINT, NULL, &old_sa);
    if (old_sa.sa_handler != SIG_IGN && pipe(follow_sigpipe) == 0) {
        for (int i = 0; i < 2; i++) {
            (void)fcntl(follow_sigpipe[i], F_SETFD, FD_CLOEXEC);
            (void)fcntl(follow_sigpipe[i], F_SETFL, O_NONBLOCK);
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = sigint_cb;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        handler = 1;
    }

    if ((rv = sce_client_run_start(c, req, &st, err, errlen)) != SCE_OK)
        goto out;
    /* The program's stdin: sce's own, or only what the request carried. */
    if (handler || o->forward_stdin)
        (void)helper_start(&h, c, st->run_id, o->forward_stdin);
    if (!o->forward_stdin || !h.started) {
        char e[256];

        (void)sce_client_run_stdin(c, st->run_id, NULL, NULL, 0, 1, e, sizeof(e));
    }
    for (;;) {
        if (follow_interrupts > 0 && !noted) {
            char e[256];

            if (!fresh)
                fputc('\n', stderr);
            fputs("sce: interrupted: cancelling the run (Ctrl-C again quits at once)\n", stderr);
            fresh = 1;
            noted = 1;
            /* The helper sends it at once; without one, it is sent here. */
            if (!h.started)
                (void)sce_client_run_cancel(c, st->run_id, NULL, e, sizeof(e));
        }
        rv = sce_client_run_poll(c, st->run_id, NULL, after_seq, FOLLOW_POLL_WAIT_MS, &ev, err,
                                 errlen);
        if (rv != SCE_OK)
            goto out;
        for (size_t i = 0; o->print_output && i < ev->nchunks; i++)
            print_chunk(&ev->chunks[i], &fresh);
        after_seq = ev->next_seq;
        if (ev->done && ev->result != NULL)
            break;
        if (ev->done) {
            sce_seterr(err, errlen, "sce-server ended run %s without its result", st->run_id);
            rv = SCE_ERR_INTERNAL;
            goto out;
        }
        sce_run_events_free(ev);
        ev = NULL;
    }
    *out = ev->result;
    ev->result = NULL;
    *stderr_fresh_line = fresh;
    rv = SCE_OK;
out:
    helper_stop(&h);
    sce_run_events_free(ev);
    sce_run_started_free(st);
    if (handler) {
        sigaction(SIGINT, &old_sa, NULL);
        close(follow_sigpipe[0]);
        close(follow_sigpipe[1]);
        follow_sigpipe[0] = follow_sigpipe[1] = -1;
    }
    return rv;
}
