/*
 * exec.c - one run in one single-use container (see exec.h).
 *
 * The attach stream is opened before the container starts, so no output is
 * lost.  One poll loop then writes the bundle and the user's stdin and reads
 * the multiplexed output, so a program that prints before it reads can never
 * deadlock against us.  The clock starts when the first byte of the bundle
 * is written.  Teardown is the reaper's job, off the request path.
 *
 * What the container is allowed (environment, rlimits, masked paths,
 * seccomp, the create options) is sandbox.c's; this file is the run loop:
 * container -> feed code -> collect -> verdict, and the settle after the
 * answer.
 */
#define _GNU_SOURCE /* memmem */
#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activity.h"
#include "docker_stream.h"
#include "live.h"
#include "marker.h"
#include "oci_runtime.h"
#include "runner_input.h"
#include "sandbox.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/seterr.h"
#include "sce/err.h"

typedef struct stream_state {
    sce_buf *buf;
    int ended;            /* the runner's end marker arrived */
    marker_end end;       /* what it carried */
} stream_state;

typedef struct collector {
    stream_state s[2];    /* stdout, stderr */
    char prefix[MARKER_MAX]; /* MARKER_TAG <nonce> ':' */
    size_t prefix_len;
    size_t limit;         /* output cap per stream */
    int exceeded;
    int oom;
    live_run *live; /* a followed run: what is within the cap is published */
    size_t published[2];
} collector;

/* Where a possibly incomplete marker starts at the end of b (b->len if
 * none): those bytes do not count against the output cap yet. */
static size_t visible_len(const collector *c, const sce_buf *b)
{
    return marker_pending(c->prefix, c->prefix_len, b->data, b->len);
}

/* Looks for the complete marker in the bytes just appended (from `old`).
 * On a match the marker and anything after it are cut off, and the stream
 * is ended. */
static void find_marker(collector *c, stream_state *st, size_t old)
{
    sce_buf *b = st->buf;
    size_t from = old > MARKER_MAX ? old - MARKER_MAX : 0, at;

    if (marker_find(c->prefix, c->prefix_len, b->data, b->len, from, &at, &st->end)) {
        b->len = at;
        b->data[b->len] = '\0';
        st->ended = 1;
    }
}

static int collect_cb(void *arg, int stream, const void *p, size_t n)
{
    collector *c = arg;
    stream_state *st;
    size_t old;

    if (stream != 1 && stream != 2)
        return 0;
    st = &c->s[stream - 1];
    /* After the marker: a leftover child still writing; the run is over. */
    if (st->ended)
        return 0;
    old = st->buf->len;
    if (sce_buf_append(st->buf, p, n) != SCE_OK) {
        c->oom = 1;
        return 1;
    }
    find_marker(c, st, old);
    if (st->buf->truncated || visible_len(c, st->buf) > c->limit)
        c->exceeded = 1;
    if (c->live != NULL) {
        /* Readers get the output as it comes, never a byte past the cap
         * nor of a marker that may be forming. */
        size_t shown = st->ended ? st->buf->len : visible_len(c, st->buf);
        size_t *pub = &c->published[stream - 1];

        if (shown > c->limit)
            shown = c->limit;
        if (shown > *pub) {
            if (live_output(c->live, stream, st->buf->data + *pub, shown - *pub) != SCE_OK) {
                c->oom = 1;
                return 1;
            }
            *pub = shown;
        }
    }
    return 0;
}

/* The create request of a run's container.  The runtime decides some
 * limits: it is learned now if the prober has not yet (an engine that is
 * down fails here, as the create would, and *engine says so). */
static int container_spec(const exec_env *env, const lang_def *l, int64_t memory_bytes,
                          const char *image, const char *rid, sandbox_spec *sb, int *engine,
                          char *err, size_t errlen)
{
    oci_runtime rt;
    int rv;

    *engine = 0;
    oci_runtime_get(l, &rt);
    if (!rt.known && (rv = oci_runtime_resolve(env->d, env->opt, err, errlen)) != SCE_OK) {
        *engine = 1;
        return rv;
    }
    return sandbox_spec_fill(env->opt, l, memory_bytes, image, env->boot_id, rid, sb, err, errlen);
}

/* Turns an engine failure into the answer a user can act on. */
static int engine_failure(const exec_env *env, int rv, const char *image, const char *what,
                          const char *detail, char *err, size_t errlen)
{
    if (rv == SCE_ERR_NOT_FOUND && image != NULL) {
        sce_seterr(err, errlen,
                   "image %s is not on the Docker engine: build it with scripts/images.sh, or "
                   "point the language's *_image option at another image (%s)",
                   image, detail);
        return SCE_ERR_UNAVAILABLE;
    }
    if (rv == SCE_ERR_UNAVAILABLE) {
        reaper_engine_report(env->r, 0, detail);
        sce_seterr(err, errlen, "%s (is dockerd running? scripts/up.sh starts one)", detail);
        return SCE_ERR_UNAVAILABLE;
    }
    sce_seterr(err, errlen, "%s: %s", what, detail);
    return SCE_ERR_INTERNAL; /* out of memory (SCE_ERR_NO_MEMORY) included */
}

/* A kill sent from another thread.  The run outlives the thread
 * (kill_join), so the job only points. */
typedef struct kill_job {
    const exec_env *env;
    const char *id;
    const char *rid;
    pthread_t thread;
    int started;
} kill_job;

typedef struct io_state {
    const char *in;
    size_t in_len;
    size_t sent;
    int write_open;
    /* A followed run: after `in`, what its client writes (live.h). */
    live_run *live;
    char *more; /* SCE_LIVE_WRITE_CHUNK bytes */
    size_t more_len, more_sent;
    int more_waiting; /* nothing to write until the wake fd says so */
    int cancelled;    /* live_cancelled's reason: 1 client, 2 reader gone */
    int eof;
    int timed_out;
    int killed;
    int64_t t0;
    int64_t t_end;
    kill_job kill; /* the kill sent from another thread, if any */
} io_state;

static void kill_container(const exec_env *env, const char *id, const char *rid)
{
    char kerr[256];

    if (docker_container_kill(env->d, id, "KILL", kerr, sizeof(kerr)) != SCE_OK)
        SCE_LOG(SCE_LOG_WARN, rid, "kill %.12s: %s", id, kerr);
}

static void *kill_main(void *arg)
{
    kill_job *k = arg;

    kill_container(k->env, k->id, k->rid);
    return NULL;
}

/* Kills from another thread while the caller goes on reading: the engine
 * completes a kill only once it can deliver the output the program has
 * already written, and that output waits for us to read it.  The run joins
 * the thread (kill_join) before it ends, so the engine handle outlives it. */
static void kill_container_async(const exec_env *env, kill_job *k, const char *id, const char *rid)
{
    k->env = env;
    k->id = id;
    k->rid = rid;
    k->started = pthread_create(&k->thread, NULL, kill_main, k) == 0;
    if (!k->started)
        kill_main(k);
}

static void kill_join(kill_job *k)
{
    if (k->started)
        pthread_join(k->thread, NULL);
    k->started = 0;
}

static int ended(const collector *c)
{
    return c->s[0].ended && c->s[1].ended;
}

/* Writes what the program's stdin gets next, as much as the stream takes
 * now: the bundle and the request's stdin, then, for a followed run, what
 * its client writes; the write side is closed once all of it is sent (a
 * followed run's when its client closes it). */
static void feed(docker_attach *a, io_state *io)
{
    char serr[256];

    for (;;) {
        const char *p;
        size_t n, got = 0;
        int closed = 0;

        if (io->sent < io->in_len) {
            p = io->in + io->sent;
            n = io->in_len - io->sent;
        } else if (io->live != NULL && io->more_sent < io->more_len) {
            p = io->more + io->more_sent;
            n = io->more_len - io->more_sent;
        } else if (io->live != NULL) {
            io->more_len = live_stdin_take(io->live, io->more, SCE_LIVE_WRITE_CHUNK, &closed);
            io->more_sent = 0;
            if (io->more_len > 0)
                continue;
            if (!closed) {
                io->more_waiting = 1;
                return;
            }
            docker_attach_close_write(a, serr, sizeof(serr));
            io->write_open = 0;
            return;
        } else {
            docker_attach_close_write(a, serr, sizeof(serr));
            io->write_open = 0;
            return;
        }
        if (docker_attach_send(a, p, n, &got, serr, sizeof(serr)) != SCE_OK) {
            /* The program closed its stdin or ended: stop writing. */
            io->write_open = 0;
            return;
        }
        if (io->sent < io->in_len)
            io->sent += got;
        else
            io->more_sent += got;
        if (got < n)
            return;
    }
}

/* The poll loop: returns SCE_OK when the runner's markers or the stream's
 * end arrived, or the container was killed and drained; an error when the
 * connection failed. */
static int pump(const exec_env *env, const run_spec *spec, const char *id, const char *rid,
                docker_attach *a, io_state *io, collector *col, char *err, size_t errlen)
{
    docker_stream ds;
    char *chunk = malloc(SCE_IO_CHUNK);
    int64_t deadline, drain_until = 0;
    int rv = SCE_OK;

    if (chunk == NULL)
        return SCE_ERR_NO_MEMORY;
    docker_stream_init(&ds);
    io->t0 = sce_clock_ms();
    deadline = io->t0 + spec->timeout_ms;
    while (!io->eof && !ended(col)) {
        int64_t now = sce_clock_ms();
        struct pollfd pfd[2];
        nfds_t npfd = 1;
        int64_t wait;

        if (!io->killed && io->live != NULL && (io->cancelled = live_cancelled(io->live)) != 0) {
            io->t_end = now;
            io->killed = 1;
            kill_container_async(env, &io->kill, id, rid);
            drain_until = sce_clock_ms() + SCE_KILL_DRAIN_MS;
        }
        if (!io->killed && (now >= deadline || col->exceeded)) {
            io->timed_out = !col->exceeded;
            io->t_end = now;
            io->killed = 1;
            kill_container_async(env, &io->kill, id, rid);
            drain_until = sce_clock_ms() + SCE_KILL_DRAIN_MS;
        }
        if (io->killed && now >= drain_until)
            break;
        wait = (io->killed ? drain_until : deadline) - now;
        pfd[0].fd = docker_attach_fd(a);
        pfd[0].events = POLLIN;
        if (io->write_open && !io->more_waiting)
            pfd[0].events |= POLLOUT;
        pfd[0].revents = 0;
        if (io->live != NULL && !io->killed) {
            /* stdin, its close, or a cancel from the run's client */
            pfd[1].fd = live_wake_fd(io->live);
            pfd[1].events = POLLIN;
            pfd[1].revents = 0;
            npfd = 2;
        }
        if (poll(pfd, npfd, (int)(wait > 0 ? wait : 0)) < 0 && errno != EINTR) {
            sce_seterr(err, errlen, "poll: %s", strerror(errno));
            rv = SCE_ERR_INTERNAL;
            break;
        }
        if (npfd == 2 && pfd[1].revents != 0) {
            live_wake_clear(io->live);
            io->more_waiting = 0;
        }
        if (io->write_open && (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP)))
            feed(a, io);
        if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            for (;;) {
                size_t got = 0;
                int eof = 0;

                rv = docker_attach_recv(a, chunk, SCE_IO_CHUNK, &got, &eof, err, errlen);
                if (rv != SCE_OK) {
                    io->eof = 1;
                    break;
                }
                if (got > 0 && docker_stream_feed(&ds, chunk, got, collect_cb, col) < 0) {
                    sce_seterr(err, errlen, "malformed attach stream from the engine");
                    rv = SCE_ERR_INTERNAL;
                    io->eof = 1;
                    break;
                }
                if (col->oom) {
                    rv = SCE_ERR_NO_MEMORY;
                    sce_seterr(err, errlen, "out of memory collecting output");
                    io->eof = 1;
                    break;
                }
                if (eof) {
                    io->eof = 1;
                    break;
                }
                if (got == 0 || ended(col))
                    break;
            }
            if (rv != SCE_OK)
                break;
        }
    }
    if (!io->killed)
        io->t_end = sce_clock_ms();
    free(chunk);
    return rv;
}

int exec_prepare(const exec_env *env, const lang_def *l, int64_t memory_bytes, const char *rid,
                 warm_container *out, char *err, size_t errlen)
{
    const char *image = languages_image(env->opt, l);
    sandbox_spec sb;
    char detail[512];
    int rv, engine;

    memset(out, 0, sizeof(*out));
    rv = container_spec(env, l, memory_bytes, image, rid, &sb, &engine, detail, sizeof(detail));
    if (rv == SCE_ERR_UNAVAILABLE && !engine) {
        /* the language's runtime cannot be used: not an engine failure */
        sce_seterr(err, errlen, "%s", detail);
        return rv;
    }
    if (rv == SCE_OK)
        rv = docker_container_create(env->d, &sb.create, out->id, detail, sizeof(detail));
    if (rv != SCE_OK) {
        out->id[0] = '\0';
        return engine_failure(env, rv, image, "creating the container", detail, err, errlen);
    }
    reaper_track(env->r, out->id);
    rv = docker_attach_open(env->d, out->id, &out->attach, detail, sizeof(detail));
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "attaching to the container", detail, err, errlen);
        goto fail;
    }
    rv = docker_container_start(env->d, out->id, detail, sizeof(detail));
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "starting the container", detail, err, errlen);
        goto fail;
    }
    return SCE_OK;
fail:
    docker_attach_close(out->attach);
    out->attach = NULL;
    reaper_release(env->r, out->id);
    out->id[0] = '\0';
    return rv;
}

int exec_run(const exec_env *env, const run_spec *spec_in, const char *rid, exec_result *res,
             char *err, size_t errlen)
{
    run_spec spec = *spec_in;
    warm_container w;
    char detail[512];
    char nonce[2 * SCE_NONCE_BYTES + 1];
    char *input = NULL;
    size_t input_len = 0;
    io_state io;
    collector col;
    docker_state st;
    run_outcome oc;
    int status = -1, oom_killed = 0;
    int rv;

    memset(res, 0, sizeof(*res));
    memset(&w, 0, sizeof(w));
    /* Headroom for the end marker, which is cut off again. */
    sce_buf_init(&res->out, (size_t)spec.output_limit_bytes + MARKER_MAX);
    sce_buf_init(&res->err, (size_t)spec.output_limit_bytes + MARKER_MAX);
    memset(&io, 0, sizeof(io));
    memset(&col, 0, sizeof(col));
    col.s[0].buf = &res->out;
    col.s[1].buf = &res->err;
    col.limit = (size_t)spec.output_limit_bytes;
    /* No randomness: nonce "", and the run goes without markers (the
     * stream's end still works). */
    (void)sce_random_hex(nonce, sizeof(nonce), SCE_NONCE_BYTES, SCE_RANDOM_WAIT);
    spec.nonce = nonce;
    {
        oci_runtime rt;

        /* The peak of a gVisor run is read from the host's cgroup after the
         * markers: the container must still be there (exec_settle kills it). */
        oci_runtime_get(spec.lang, &rt);
        spec.linger_ms = rt.kind == OCI_RUNTIME_GVISOR ? SCE_GVISOR_LINGER_MS : 0;
    }
    if (nonce[0] != '\0')
        col.prefix_len = (size_t)snprintf(col.prefix, sizeof(col.prefix), "%s%s:", MARKER_TAG,
                                          nonce);

    rv = runner_input_build(&spec, &input, &input_len);
    if (rv == SCE_OK && spec.live != NULL && (io.more = malloc(SCE_LIVE_WRITE_CHUNK)) == NULL)
        rv = SCE_ERR_NO_MEMORY;
    if (rv != SCE_OK) {
        sce_seterr(err, errlen, "out of memory building the bundle");
        goto out;
    }
    res->warm = pool_acquire(env->pool, spec.lang, spec.memory_bytes, &w);
    if (!res->warm) {
        rv = exec_prepare(env, spec.lang, spec.memory_bytes, rid, &w, err, errlen);
        if (rv != SCE_OK)
            goto out;
    }
    SCE_LOG(SCE_LOG_DEBUG, rid, "%s container %.12s (%s)", res->warm ? "warm" : "new", w.id,
            spec.lang->name);

    io.in = input;
    io.in_len = input_len;
    io.write_open = 1;
    io.live = spec.live;
    col.live = spec.live;
    activity_run_begin();
    rv = pump(env, &spec, w.id, rid, w.attach, &io, &col, detail, sizeof(detail));
    activity_run_end();
    if (rv == SCE_OK && ended(&col) && !io.eof && !io.killed) {
        /* The markers came before the stream's end: the answer need not
         * wait for the exit, but the container is the caller's to settle
         * (exec_settle), stream and all. */
        res->tail.env = env;
        memcpy(res->tail.id, w.id, sizeof(w.id));
        res->tail.attach = w.attach;
        snprintf(res->tail.rid, sizeof(res->tail.rid), "%s", rid ? rid : "");
    } else {
        docker_attach_close(w.attach);
    }
    w.attach = NULL;
    kill_join(&io.kill);
    if (rv != SCE_OK) {
        kill_container(env, w.id, rid);
        rv = engine_failure(env, rv, NULL, "reading the program's output", detail, err, errlen);
        goto out;
    }

    /* The runner's figures, when both streams carried the same ones (it
     * writes one line twice); without the markers there are none.  On
     * gVisor no cgroup file is readable inside, and the resident size its
     * kernel reports is not what the host charges to the memory limit
     * (190 MB for a Node.js program whose container stayed under 128 MB):
     * the peak is the host cgroup's, read while the container still runs,
     * or none rather than a wrong one. */
    if (ended(&col) && col.s[0].end.cpu_us == col.s[1].end.cpu_us &&
        col.s[0].end.peak_bytes == col.s[1].end.peak_bytes) {
        /* linger_ms is set for gVisor runs only, and is what keeps the
         * container there for this read. */
        res->cpu_us = col.s[0].end.cpu_us;
        res->peak_memory_bytes = spec.linger_ms > 0 ? oci_runtime_host_peak_bytes(w.id)
                                                    : col.s[0].end.peak_bytes;
    }
    if (ended(&col) && col.s[0].end.status == col.s[1].end.status && col.s[0].end.status < 128) {
        /* The runner saw the program exit by itself: nothing to ask the
         * engine, and the container's teardown is the reaper's business. */
        status = col.s[0].end.status;
    } else {
        rv = docker_container_wait(env->d, w.id, SCE_EXIT_GRACE_MS, &status, detail,
                                   sizeof(detail));
        if (rv == SCE_ERR_DEADLINE_EXCEEDED && !io.killed) {
            /* Output ended but the program did not: it closed stdout and went on. */
            kill_container(env, w.id, rid);
            rv = docker_container_wait(env->d, w.id, SCE_EXIT_GRACE_MS, &status, detail,
                                       sizeof(detail));
        }
        if (rv != SCE_OK) {
            rv = engine_failure(env, rv, NULL, "waiting for the program's exit", detail, err,
                                errlen);
            goto out;
        }
        rv = docker_container_inspect(env->d, w.id, &st, detail, sizeof(detail));
        /* Killed by SIGKILL, not at the deadline or the output cap: most
         * likely the kernel's OOM killer, whose event can reach the engine
         * after the exit it reports.  Ask again for a moment before calling
         * it a plain signal.  Also after a late kill of ours: a gVisor
         * sandbox whose program was OOM-killed can take longer than the
         * grace to stop (its output has ended), and the OOM kill came first. */
        if (status == 128 + 9 && !io.killed) {
            for (int i = 0; rv == SCE_OK && !st.oom_killed && i < SCE_OOM_FLAG_RETRIES; i++) {
                sce_sleep_ms(SCE_OOM_FLAG_RETRY_MS);
                rv = docker_container_inspect(env->d, w.id, &st, detail, sizeof(detail));
            }
        }
        if (rv != SCE_OK) {
            rv = engine_failure(env, rv, NULL, "inspecting the container", detail, err, errlen);
            goto out;
        }
        oom_killed = st.oom_killed;
    }
    reaper_engine_report(env->r, 1, NULL);

    /* The cap is the cap: what went past it (before the kill) is cut. */
    for (int i = 0; i < 2; i++) {
        sce_buf *b = col.s[i].buf;
        if (b->len > col.limit) {
            b->len = col.limit;
            b->data[b->len] = '\0';
            b->truncated = 1;
        }
    }

    memset(&oc, 0, sizeof(oc));
    oc.language = spec.lang->name;
    oc.exit_code = status;
    oc.oom_killed = oom_killed;
    oc.timed_out = io.timed_out;
    oc.cancelled = io.cancelled;
    oc.output_exceeded = io.killed && !io.timed_out && !io.cancelled;
    oc.stderr_data = res->err.data;
    oc.stderr_len = res->err.len;
    oc.timeout_ms = spec.timeout_ms;
    oc.memory_bytes = spec.memory_bytes;
    oc.output_limit_bytes = spec.output_limit_bytes;
    verdict_decide(&oc, &res->v);
    res->exit_code = status;
    res->wall_ms = (uint32_t)(io.t_end - io.t0);
    SCE_LOG(SCE_LOG_INFO, rid, "%s run %.12s (%s): exit %d, verdict %d, %u ms, out %zu err %zu",
            spec.lang->name, w.id, res->warm ? "warm" : "cold", status, res->v.verdict,
            res->wall_ms, res->out.len, res->err.len);
out:
    docker_attach_close(w.attach);
    if (w.id[0] != '\0' && res->tail.id[0] == '\0')
        reaper_release(env->r, w.id);
    free(input);
    free(io.more);
    return rv;
}

/* Reads and drops what the stream brings until its end or until_ms (one
 * look without waiting when that has passed); 1 when it ended (or failed:
 * nothing more will come), 0 on time. */
static int drain_until(docker_attach *a, int64_t until_ms)
{
    char scratch[16384], err[256];

    for (;;) {
        int64_t left = until_ms - sce_clock_ms();
        struct pollfd pfd = {docker_attach_fd(a), POLLIN, 0};
        int n = poll(&pfd, 1, left > 0 ? (int)left : 0);

        if (n < 0 && errno != EINTR)
            return 1;
        if (n == 0 && left <= 0)
            return 0;
        if (n <= 0)
            continue;
        for (;;) {
            size_t got = 0;
            int eof = 0;

            if (docker_attach_recv(a, scratch, sizeof(scratch), &got, &eof, err, sizeof(err)) !=
                    SCE_OK ||
                eof)
                return 1;
            if (got == 0)
                break;
        }
    }
}

/* The markers are written by code in the program's own process, so a
 * program can write them and go on.  Nothing cheap tells that apart from a
 * program that has exited and whose container the engine is still tearing
 * down (that takes 70 ms on an idle machine and seconds on a loaded one), so
 * every container whose stream has not ended is killed at once, while its
 * stream is read: the engine completes a kill only once it has delivered
 * what the program wrote, and it answers a SIGKILL only once the container
 * has stopped.  For a program that did exit the kill finds it stopping and
 * costs one engine call. */
void exec_settle(exec_result *res)
{
    exec_tail *t = &res->tail;
    kill_job k;

    if (t->id[0] == '\0')
        return;
    memset(&k, 0, sizeof(k));
    if (!drain_until(t->attach, 0)) {
        SCE_LOG(SCE_LOG_DEBUG, t->rid, "container %.12s: killed after its end markers", t->id);
        kill_container_async(t->env, &k, t->id, t->rid);
        if (!drain_until(t->attach, sce_clock_ms() + SCE_KILL_DRAIN_MS))
            SCE_LOG(SCE_LOG_WARN, t->rid, "container %.12s: no end of stream %d ms after the kill",
                    t->id, SCE_KILL_DRAIN_MS);
    }
    docker_attach_close(t->attach);
    t->attach = NULL;
    kill_join(&k);
    reaper_release(t->env->r, t->id);
    t->id[0] = '\0';
}

void exec_result_free(exec_result *res)
{
    exec_settle(res);
    sce_buf_free(&res->out);
    sce_buf_free(&res->err);
}

int exec_probe_language(const exec_env *env, const lang_def *l)
{
    run_spec spec;
    run_file file;
    exec_result res;
    lang_status st;
    char err[512];
    int rv;

    memset(&spec, 0, sizeof(spec));
    memset(&st, 0, sizeof(st));
    file.path = l->default_entry;
    file.data = (const uint8_t *)l->version_code;
    file.len = strlen(l->version_code);
    spec.lang = l;
    spec.files = &file;
    spec.nfiles = 1;
    spec.entry = file.path;
    spec.timeout_ms = env->opt->timeout_ms;
    spec.memory_bytes = env->opt->memory_bytes;
    spec.output_limit_bytes = SCE_PROBE_OUTPUT_MAX_BYTES;

    rv = exec_run(env, &spec, "probe", &res, err, sizeof(err));
    st.probed = 1;
    if (rv == SCE_OK && res.v.verdict == SCE__V1__VERDICT__VERDICT_OK && res.out.len > 0) {
        st.available = 1;
        snprintf(st.version, sizeof(st.version), "%.*s", (int)strcspn(res.out.data, "\r\n"),
                 res.out.data);
    } else if (rv == SCE_OK) {
        rv = SCE_ERR_UNAVAILABLE;
        sce_seterr(st.message, sizeof(st.message), "the version probe failed: %s",
                   res.v.message[0] ? res.v.message : "no output");
    } else {
        sce_seterr(st.message, sizeof(st.message), "%s", err);
    }
    exec_result_free(&res);
    languages_status_set(l, &st);
    SCE_LOG(st.available ? SCE_LOG_INFO : SCE_LOG_WARN, NULL, "%s: %s%s", l->name,
            st.available ? "version " : "unavailable: ", st.available ? st.version : st.message);
    return rv;
}
