/*
 * exec.c - one run in one single-use container (see exec.h).
 *
 * The attach stream is opened before the container starts, so no output is
 * lost.  One poll loop then writes the bundle and the user's stdin and reads
 * the multiplexed output, so a program that prints before it reads can never
 * deadlock against us.  The clock starts when the first byte of the bundle
 * is written.  Teardown is the reaper's job, off the request path.
 */
#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bundle.h"
#include "docker_stream.h"
#include "sce_limits.h"
#include "log.h"
#include "sce/err.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every container gets the same environment: nothing of the server's. */
static const char *const container_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONIOENCODING=utf-8",
};

static const docker_ulimit container_ulimits[] = {
    {"core", 0, 0},       /* no core dumps */
    {"nofile", 1024, 1024},
};

typedef struct collector {
    sce_buf *out;
    sce_buf *err;
    int exceeded;
    int oom;
} collector;

static int collect_cb(void *arg, int stream, const void *p, size_t n)
{
    collector *c = arg;
    sce_buf *b = stream == 2 ? c->err : c->out;

    if (stream == 0)
        return 0;
    if (sce_buf_append(b, p, n) != SCE_OK) {
        c->oom = 1;
        return 1;
    }
    if (b->truncated)
        c->exceeded = 1;
    return 0;
}

static int create_container(const exec_env *env, const run_spec *spec, const char *image,
                            const char *rid, char id[DOCKER_ID_MAX + 1], char *err, size_t errlen)
{
    const server_options *o = env->opt;
    const lang_def *l = spec->lang;
    const char *argv[8];
    char tmpfs_opts[128];
    docker_label labels[] = {
        {REAPER_LABEL_MANAGED, REAPER_LABEL_MANAGED_VALUE},
        {REAPER_LABEL_INSTANCE, o->instance},
        {REAPER_LABEL_BOOT, env->boot_id},
        {"org.sce.language", l->name},
        {"org.sce.request-id", rid ? rid : ""},
    };
    docker_create_opts c;
    size_t n = 0;

    for (size_t i = 0; i < l->nargv && n < 7; i++)
        argv[n++] = l->argv[i];
    argv[n++] = l->runner;
    snprintf(tmpfs_opts, sizeof(tmpfs_opts), "rw,nosuid,nodev,noexec,size=%lld,mode=1777",
             (long long)o->tmpfs_bytes);

    memset(&c, 0, sizeof(c));
    c.image = image;
    c.cmd = argv;
    c.ncmd = n;
    c.env = container_env;
    c.nenv = sizeof(container_env) / sizeof(container_env[0]);
    c.user = o->user;
    c.working_dir = "/tmp";
    c.hostname = "sandbox";
    c.labels = labels;
    c.nlabels = sizeof(labels) / sizeof(labels[0]);
    c.memory_bytes = spec->memory_bytes;
    c.memory_swap_bytes = spec->memory_bytes; /* swap limit = memory: no swap */
    c.nano_cpus = (int64_t)(o->cpus * 1e9);
    c.pids_limit = o->pids_limit;
    c.tmpfs_path = "/tmp";
    c.tmpfs_options = tmpfs_opts;
    c.read_only_rootfs = 1;
    c.network_disabled = 1;
    c.cap_drop_all = 1;
    c.no_new_privileges = 1;
    c.init = 1;
    c.log_driver_none = 1;
    c.runtime = o->runtime && o->runtime[0] ? o->runtime : NULL;
    c.ulimits = container_ulimits;
    c.nulimits = sizeof(container_ulimits) / sizeof(container_ulimits[0]);
    return docker_container_create(env->d, &c, id, err, errlen);
}

/* Turns an engine failure into the answer a user can act on. */
static int engine_failure(const exec_env *env, int rv, const char *image, const char *what,
                          const char *detail, char *err, size_t errlen)
{
    if (rv == SCE_ERR_NOT_FOUND && image != NULL) {
        snprintf(err, errlen,
                 "image %s is not on the Docker engine: build it with scripts/images.sh, or "
                 "point the language's *_image option at another image (%s)",
                 image, detail);
        return SCE_ERR_UNAVAILABLE;
    }
    if (rv == SCE_ERR_UNAVAILABLE) {
        reaper_engine_report(env->r, 0, detail);
        snprintf(err, errlen, "%s (is dockerd running? scripts/up.sh starts one)", detail);
        return SCE_ERR_UNAVAILABLE;
    }
    snprintf(err, errlen, "%s: %s", what, detail);
    return rv == SCE_ERR_RESOURCE_EXHAUSTED ? rv : SCE_ERR_INTERNAL;
}

typedef struct io_state {
    const char *in;
    size_t in_len;
    size_t sent;
    int write_open;
    int eof;
    int timed_out;
    int killed;
    int64_t t0;
    int64_t t_end;
} io_state;

static void kill_container(const exec_env *env, const char *id, const char *rid)
{
    char kerr[256];

    if (docker_container_kill(env->d, id, "KILL", kerr, sizeof(kerr)) != SCE_OK)
        SCE_LOG(SCE_LOG_WARN, rid, "kill %.12s: %s", id, kerr);
}

/* The poll loop: returns SCE_OK when the stream ended or the container was
 * killed and drained; an error when the connection failed. */
static int pump(const exec_env *env, const run_spec *spec, const char *id, const char *rid,
                docker_attach *a, io_state *io, collector *col, char *err, size_t errlen)
{
    docker_stream ds;
    char *chunk = malloc(SCE_IO_CHUNK);
    int64_t deadline, drain_until = 0;
    int rv = SCE_OK;

    if (chunk == NULL)
        return SCE_ERR_RESOURCE_EXHAUSTED;
    docker_stream_init(&ds);
    io->t0 = now_ms();
    deadline = io->t0 + spec->timeout_ms;
    while (!io->eof) {
        int64_t now = now_ms();
        struct pollfd pfd;
        int64_t wait;

        if (!io->killed && (now >= deadline || col->exceeded)) {
            io->timed_out = !col->exceeded;
            io->t_end = now;
            io->killed = 1;
            kill_container(env, id, rid);
            drain_until = now_ms() + SCE_KILL_DRAIN_MS;
        }
        if (io->killed && now >= drain_until)
            break;
        wait = (io->killed ? drain_until : deadline) - now;
        pfd.fd = docker_attach_fd(a);
        pfd.events = POLLIN;
        if (io->write_open)
            pfd.events |= POLLOUT;
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)(wait > 0 ? wait : 0)) < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            rv = SCE_ERR_INTERNAL;
            break;
        }
        if (io->write_open && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            size_t n = 0;
            char serr[256];

            if (docker_attach_send(a, io->in + io->sent, io->in_len - io->sent, &n, serr,
                                   sizeof(serr)) != SCE_OK) {
                /* The program closed its stdin or ended: stop writing. */
                io->write_open = 0;
            } else {
                io->sent += n;
                if (io->sent == io->in_len) {
                    docker_attach_close_write(a, serr, sizeof(serr));
                    io->write_open = 0;
                }
            }
        }
        if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
            for (;;) {
                size_t got = 0;
                int eof = 0;

                rv = docker_attach_recv(a, chunk, SCE_IO_CHUNK, &got, &eof, err, errlen);
                if (rv != SCE_OK) {
                    io->eof = 1;
                    break;
                }
                if (got > 0 && docker_stream_feed(&ds, chunk, got, collect_cb, col) < 0) {
                    snprintf(err, errlen, "malformed attach stream from the engine");
                    rv = SCE_ERR_INTERNAL;
                    io->eof = 1;
                    break;
                }
                if (col->oom) {
                    rv = SCE_ERR_RESOURCE_EXHAUSTED;
                    snprintf(err, errlen, "out of memory collecting output");
                    io->eof = 1;
                    break;
                }
                if (eof) {
                    io->eof = 1;
                    break;
                }
                if (got == 0)
                    break;
            }
            if (rv != SCE_OK)
                break;
        }
    }
    if (!io->killed)
        io->t_end = now_ms();
    free(chunk);
    return rv;
}

int exec_run(const exec_env *env, const run_spec *spec, const char *rid, exec_result *res,
             char *err, size_t errlen)
{
    const char *image = languages_image(env->opt, spec->lang);
    char id[DOCKER_ID_MAX + 1] = "";
    char detail[512];
    docker_attach *a = NULL;
    char *input = NULL;
    size_t input_len = 0;
    io_state io;
    collector col;
    docker_state st;
    run_outcome oc;
    int status = -1;
    int rv;

    memset(res, 0, sizeof(*res));
    sce_buf_init(&res->out, (size_t)spec->output_limit_bytes);
    sce_buf_init(&res->err, (size_t)spec->output_limit_bytes);
    memset(&io, 0, sizeof(io));
    memset(&col, 0, sizeof(col));
    col.out = &res->out;
    col.err = &res->err;

    rv = bundle_build(spec, &input, &input_len);
    if (rv != SCE_OK) {
        snprintf(err, errlen, "out of memory building the bundle");
        goto out;
    }
    rv = create_container(env, spec, image, rid, id, detail, sizeof(detail));
    if (rv != SCE_OK) {
        id[0] = '\0';
        rv = engine_failure(env, rv, image, "creating the container", detail, err, errlen);
        goto out;
    }
    reaper_track(env->r, id);
    SCE_LOG(SCE_LOG_DEBUG, rid, "created %.12s (%s)", id, spec->lang->name);

    rv = docker_attach_open(env->d, id, &a, detail, sizeof(detail));
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "attaching to the container", detail, err, errlen);
        goto out;
    }
    rv = docker_container_start(env->d, id, detail, sizeof(detail));
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "starting the container", detail, err, errlen);
        goto out;
    }

    io.in = input;
    io.in_len = input_len;
    io.write_open = 1;
    rv = pump(env, spec, id, rid, a, &io, &col, detail, sizeof(detail));
    docker_attach_close(a);
    a = NULL;
    if (rv != SCE_OK) {
        kill_container(env, id, rid);
        rv = engine_failure(env, rv, NULL, "reading the program's output", detail, err, errlen);
        goto out;
    }

    rv = docker_container_wait(env->d, id, SCE_EXIT_GRACE_MS, &status, detail, sizeof(detail));
    if (rv == SCE_ERR_DEADLINE_EXCEEDED && !io.killed) {
        /* Output ended but the program did not: it closed stdout and went on. */
        kill_container(env, id, rid);
        rv = docker_container_wait(env->d, id, SCE_EXIT_GRACE_MS, &status, detail,
                                   sizeof(detail));
    }
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "waiting for the program's exit", detail, err, errlen);
        goto out;
    }
    rv = docker_container_inspect(env->d, id, &st, detail, sizeof(detail));
    if (rv != SCE_OK) {
        rv = engine_failure(env, rv, NULL, "inspecting the container", detail, err, errlen);
        goto out;
    }
    reaper_engine_report(env->r, 1, NULL);

    memset(&oc, 0, sizeof(oc));
    oc.language = spec->lang->name;
    oc.exit_code = status;
    oc.oom_killed = st.oom_killed;
    oc.timed_out = io.timed_out;
    oc.output_exceeded = io.killed && !io.timed_out;
    oc.stderr_data = res->err.data;
    oc.stderr_len = res->err.len;
    oc.timeout_ms = spec->timeout_ms;
    oc.memory_bytes = spec->memory_bytes;
    oc.output_limit_bytes = spec->output_limit_bytes;
    verdict_decide(&oc, &res->v);
    res->exit_code = status;
    res->wall_ms = (uint32_t)(io.t_end - io.t0);
    SCE_LOG(SCE_LOG_INFO, rid, "%s run %.12s: exit %d, verdict %d, %u ms, out %zu err %zu bytes",
            spec->lang->name, id, status, res->v.verdict, res->wall_ms, res->out.len,
            res->err.len);
out:
    docker_attach_close(a);
    if (id[0] != '\0')
        reaper_release(env->r, id);
    free(input);
    return rv;
}

void exec_result_free(exec_result *res)
{
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
    spec.output_limit_bytes = 4096;

    rv = exec_run(env, &spec, "probe", &res, err, sizeof(err));
    st.probed = 1;
    if (rv == SCE_OK && res.v.verdict == 1 && res.out.len > 0) {
        st.available = 1;
        snprintf(st.version, sizeof(st.version), "%.*s", (int)strcspn(res.out.data, "\r\n"),
                 res.out.data);
    } else if (rv == SCE_OK) {
        rv = SCE_ERR_UNAVAILABLE;
        snprintf(st.message, sizeof(st.message), "the version probe failed: %s",
                 res.v.message[0] ? res.v.message : "no output");
    } else {
        snprintf(st.message, sizeof(st.message), "%s", err);
    }
    exec_result_free(&res);
    languages_status_set(l, &st);
    SCE_LOG(st.available ? SCE_LOG_INFO : SCE_LOG_WARN, NULL, "%s: %s%s", l->name,
            st.available ? "version " : "unavailable: ", st.available ? st.version : st.message);
    return rv;
}
