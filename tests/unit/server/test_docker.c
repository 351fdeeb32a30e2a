/*
 * test_docker.c - docker.c against a fake Engine API.
 *
 * The fake is one thread listening on a unix socket in a fresh temporary
 * directory.  Each test gives it a script, one step per connection it
 * expects: answer with a status and a body, send raw bytes and hang up, say
 * nothing until the client gives up, or play an attach session.  The fake
 * records every request (line, headers, body) so tests can check what
 * docker.c sent; it never asserts itself, because cmocka's checks belong to
 * the main thread.  No real engine is involved, and every wait in the fake
 * is bounded so a broken docker.c fails a test instead of hanging it.
 */
#define _GNU_SOURCE /* memmem, MSG_NOSIGNAL */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "docker_stream.h"
#include "sce/err.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FAKE_WAIT_MS 3000 /* the longest the fake waits for anything */
#define MAX_STEPS 4

/* ------------------------------------------------------------ the fake */

typedef enum step_kind {
    ANSWER,      /* status + body, with Content-Length, then close */
    RAW,         /* these exact bytes, then close (a broken answer) */
    SILENT,      /* read the request, answer nothing until the client leaves */
    BIG,         /* a 200 answer announcing and sending 5 MiB */
    ATTACH,      /* 101 + a frame in one packet, echo-less stdin capture, more frames */
    ATTACH_DROP, /* 101 + half a frame, then hang up */
} step_kind;

typedef struct step {
    step_kind kind;
    int status;
    const char *body; /* ANSWER: the body; RAW: the bytes */
} step;

typedef struct request {
    char *text; /* request line + headers + body, NUL-terminated */
    size_t len;
    const char *body; /* inside text */
} request;

typedef struct fake {
    char dir[64];
    char path[128];
    int lfd;
    pthread_t thread;
    int running;
    step steps[MAX_STEPS];
    size_t nsteps;

    request req[MAX_STEPS];
    size_t nreq;
    char stdin_got[256]; /* ATTACH: what the client wrote after the upgrade */
    size_t stdin_len;
    int stdin_eof; /* ATTACH: the client half-closed */

    docker *d;
} fake;

/* Frames the ATTACH step sends: one with the 101, two after stdin's EOF. */
static const char frame1[] = "\x01\0\0\0\0\0\0\x03hi\n";
static const char frame2[] = "\x02\0\0\0\0\0\0\x05warn\n";
static const char frame3[] = "\x01\0\0\0\0\0\0\x04"
                             "bye\n";
#define FRAME_LEN(f) (sizeof(f) - 1)

static const char upgraded[] = "HTTP/1.1 101 UPGRADED\r\n"
                               "Content-Type: application/vnd.docker.raw-stream\r\n"
                               "Connection: Upgrade\r\n"
                               "Upgrade: tcp\r\n"
                               "\r\n";

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client left; that is its business */
        c += w;
        n -= (size_t)w;
    }
}

/* Reads up to n bytes, waiting at most FAKE_WAIT_MS.  0 on EOF or timeout. */
static ssize_t recv_some(int fd, void *p, size_t n)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t r;

    if (poll(&pfd, 1, FAKE_WAIT_MS) <= 0)
        return 0;
    r = recv(fd, p, n, 0);
    return r < 0 ? 0 : r;
}

/* Reads one HTTP request: headers up to the blank line, then a body of
 * Content-Length bytes if one is announced. */
static void read_request(int fd, request *rq)
{
    size_t cap = 1 << 16, len = 0, want = 0;
    char *t = calloc(1, cap + 1);
    const char *end = NULL;

    while (len < cap) {
        ssize_t r = recv_some(fd, t + len, cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        t[len] = '\0';
        if (end == NULL && (end = memmem(t, len, "\r\n\r\n", 4)) != NULL) {
            const char *cl = strcasestr(t, "\r\nContent-Length:");
            want = (size_t)(end - t) + 4;
            if (cl != NULL && cl < end)
                want += strtoul(cl + 17, NULL, 10);
        }
        if (end != NULL && len >= want)
            break;
    }
    rq->text = t;
    rq->len = len;
    rq->body = end ? t + (end - t) + 4 : t + len;
}

static void play_attach(fake *f, int fd)
{
    char pkt[256];
    ssize_t r;

    /* The header and the first frame in one packet: docker.c must hand the
     * frame to the first recv calls. */
    memcpy(pkt, upgraded, sizeof(upgraded) - 1);
    memcpy(pkt + sizeof(upgraded) - 1, frame1, FRAME_LEN(frame1));
    send_all(fd, pkt, sizeof(upgraded) - 1 + FRAME_LEN(frame1));

    /* Like `cat`: take stdin until EOF, then the program "prints" more. */
    while ((r = recv_some(fd, f->stdin_got + f->stdin_len,
                          sizeof(f->stdin_got) - 1 - f->stdin_len)) > 0)
        f->stdin_len += (size_t)r;
    {
        /* recv_some says 0 for both EOF and timeout; tell them apart. */
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char c;
        f->stdin_eof = poll(&pfd, 1, 0) == 1 && recv(fd, &c, 1, 0) == 0;
    }
    send_all(fd, frame2, FRAME_LEN(frame2));
    usleep(20 * 1000); /* a separate packet, so recv sees the pieces arrive */
    send_all(fd, frame3, FRAME_LEN(frame3));
}

static void play(fake *f, const step *s, int fd)
{
    char head[256];
    request *rq = &f->req[f->nreq++];

    read_request(fd, rq);
    switch (s->kind) {
    case ANSWER:
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d Fake\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 s->status, strlen(s->body));
        send_all(fd, head, strlen(head));
        send_all(fd, s->body, strlen(s->body));
        break;
    case RAW:
        send_all(fd, s->body, strlen(s->body));
        break;
    case SILENT: {
        char c;
        while (recv_some(fd, &c, 1) > 0)
            ;
        break;
    }
    case BIG: {
        static char chunk[64 << 10];
        size_t total = 5u << 20;
        memset(chunk, ' ', sizeof(chunk));
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", total);
        send_all(fd, head, strlen(head));
        for (size_t off = 0; off < total; off += sizeof(chunk))
            send_all(fd, chunk, sizeof(chunk));
        break;
    }
    case ATTACH:
        play_attach(f, fd);
        break;
    case ATTACH_DROP: {
        static const char half[] = "\x01\0\0\0\0\0\0\x64par";
        send_all(fd, upgraded, sizeof(upgraded) - 1);
        send_all(fd, half, sizeof(half) - 1);
        break;
    }
    }
}

static void *fake_main(void *arg)
{
    fake *f = arg;

    for (size_t i = 0; i < f->nsteps; i++) {
        struct pollfd pfd = {.fd = f->lfd, .events = POLLIN};
        int fd;
        if (poll(&pfd, 1, FAKE_WAIT_MS) <= 0)
            break;
        fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            break;
        play(f, &f->steps[i], fd);
        close(fd);
    }
    return NULL;
}

static int setup(void **state)
{
    fake *f = calloc(1, sizeof(*f));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sce-test-docker.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/docker.sock", f->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    *state = f;
    return 0;
}

/* Waits for the fake to finish its script; after this the records are
 * safe to read from the test. */
static void fake_join(fake *f)
{
    if (f->running) {
        pthread_join(f->thread, NULL);
        f->running = 0;
    }
}

static int teardown(void **state)
{
    fake *f = *state;

    fake_join(f);
    docker_close(f->d);
    for (size_t i = 0; i < f->nreq; i++)
        free(f->req[i].text);
    close(f->lfd);
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Starts the fake with a script and opens a docker handle on it. */
static void fake_start(fake *f, const step *steps, size_t n, int timeout_ms)
{
    char err[256] = "";

    assert_true(n <= MAX_STEPS);
    if (n > 0)
        memcpy(f->steps, steps, n * sizeof(*steps));
    f->nsteps = n;
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    f->running = 1;
    assert_int_equal(docker_open(f->path, "v1.41", timeout_ms, &f->d, err, sizeof(err)), SCE_OK);
}

/* True when request i starts with this request line. */
static void assert_request_line(const fake *f, size_t i, const char *line)
{
    assert_true(i < f->nreq);
    if (strncmp(f->req[i].text, line, strlen(line)) != 0)
        fail_msg("request %zu is\n%s\nwant request line\n%s", i, f->req[i].text, line);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ create */

static void test_create_sends_limits(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 201, "{\"Id\":\"" ID64 "\",\"Warnings\":[]}"}};
    const char *cmd[] = {"python3", "-u", "/runner.py"};
    const char *env[] = {"LANG=C.UTF-8", "HOME=/tmp"};
    const char *sec[] = {"seccomp=unconfined"};
    const docker_label labels[] = {{"org.sce.instance", "host-1"}, {"org.sce.run", "r-42"}};
    const docker_ulimit ulimits[] = {{"nofile", 256, 512}};
    const char *masked[] = {"/proc/kcore", "/proc/interrupts"};
    /* clang-format off */
    docker_create_opts o = {
        .name = "sce-run-42",
        .image = "sce-python:latest",
        .cmd = cmd, .ncmd = 3,
        .env = env, .nenv = 2,
        .user = "65534:65534",
        .working_dir = "/tmp",
        .hostname = "sandbox",
        .labels = labels, .nlabels = 2,
        .memory_bytes = 128 << 20,
        .memory_swap_bytes = 128 << 20,
        .nano_cpus = 500000000,
        .pids_limit = 64,
        .tmpfs_path = "/tmp",
        .tmpfs_options = "rw,nosuid,nodev,size=16m,mode=1777",
        .read_only_rootfs = 1,
        .network_disabled = 1,
        .cap_drop_all = 1,
        .no_new_privileges = 1,
        .init = 1,
        .log_driver_none = 1,
        .runtime = "runc",
        .security_opt = sec, .nsecurity_opt = 1,
        .ulimits = ulimits, .nulimits = 1,
        .ipc_mode = "private",
        .shm_size_bytes = 8 << 20,
        .masked_paths = masked, .nmasked_paths = 2,
    };
    /* clang-format on */
    char id[DOCKER_ID_MAX + 1] = "", err[256] = "";
    json_t *body, *hc, *so;
    json_error_t jerr;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_create(f->d, &o, id, err, sizeof(err)), SCE_OK);
    assert_string_equal(id, ID64);
    fake_join(f);

    assert_request_line(f, 0, "POST /v1.41/containers/create?name=sce-run-42 HTTP/1.1\r\n");
    assert_non_null(strcasestr(f->req[0].text, "\r\nContent-Type: application/json\r\n"));
    body = json_loads(f->req[0].body, 0, &jerr);
    if (body == NULL)
        fail_msg("create body is not JSON (%s): %s", jerr.text, f->req[0].body);

    assert_string_equal(json_string_value(json_object_get(body, "Image")), "sce-python:latest");
    assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Cmd"), 2)),
                        "/runner.py");
    assert_int_equal(json_array_size(json_object_get(body, "Env")), 2);
    assert_string_equal(json_string_value(json_object_get(body, "User")), "65534:65534");
    assert_string_equal(json_string_value(json_object_get(body, "WorkingDir")), "/tmp");
    assert_string_equal(json_string_value(json_object_get(body, "Hostname")), "sandbox");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(body, "Labels"), "org.sce.run")), "r-42");
    assert_true(json_is_true(json_object_get(body, "AttachStdin")));
    assert_true(json_is_true(json_object_get(body, "AttachStdout")));
    assert_true(json_is_true(json_object_get(body, "AttachStderr")));
    assert_true(json_is_true(json_object_get(body, "OpenStdin")));
    assert_true(json_is_true(json_object_get(body, "StdinOnce")));
    assert_true(json_is_false(json_object_get(body, "Tty")));
    /* NetworkMode none only: NetworkDisabled would also drop /etc/hosts. */
    assert_null(json_object_get(body, "NetworkDisabled"));

    hc = json_object_get(body, "HostConfig");
    assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 128 << 20);
    assert_int_equal(json_integer_value(json_object_get(hc, "MemorySwap")), 128 << 20);
    assert_int_equal(json_integer_value(json_object_get(hc, "NanoCpus")), 500000000);
    assert_int_equal(json_integer_value(json_object_get(hc, "PidsLimit")), 64);
    assert_string_equal(json_string_value(json_object_get(json_object_get(hc, "Tmpfs"), "/tmp")),
                        "rw,nosuid,nodev,size=16m,mode=1777");
    assert_true(json_is_true(json_object_get(hc, "ReadonlyRootfs")));
    /* MaskedPaths replaces the engine's list: all of it is sent. */
    assert_int_equal(json_array_size(json_object_get(hc, "MaskedPaths")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "MaskedPaths"), 1)),
                        "/proc/interrupts");
    assert_string_equal(json_string_value(json_object_get(hc, "NetworkMode")), "none");
    assert_int_equal(json_array_size(json_object_get(hc, "Dns")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "Dns"), 0)),
                        "127.0.0.1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(hc, "CapDrop"), 0)),
                        "ALL");
    so = json_object_get(hc, "SecurityOpt");
    assert_int_equal(json_array_size(so), 2);
    assert_string_equal(json_string_value(json_array_get(so, 0)), "seccomp=unconfined");
    assert_string_equal(json_string_value(json_array_get(so, 1)), "no-new-privileges");
    assert_true(json_is_true(json_object_get(hc, "Init")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(hc, "LogConfig"), "Type")), "none");
    assert_true(json_is_object(json_object_get(json_object_get(hc, "LogConfig"), "Config")));
    assert_string_equal(json_string_value(json_object_get(hc, "Runtime")), "runc");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(hc, "Ulimits"), 0), "Name")),
                        "nofile");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(hc, "Ulimits"), 0), "Hard")),
                     512);
    assert_string_equal(json_string_value(json_object_get(hc, "IpcMode")), "private");
    assert_int_equal(json_integer_value(json_object_get(hc, "ShmSize")), 8 << 20);
    json_decref(body);
}

/* Unset options are left out, so the engine's defaults apply. */
static void test_create_minimal_leaves_defaults(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 201, "{\"Id\":\"" ID64 "\"}"}};
    docker_create_opts o = {.image = "sce-node:latest"};
    char id[DOCKER_ID_MAX + 1] = "", err[256] = "";
    json_t *body, *hc;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_create(f->d, &o, id, err, sizeof(err)), SCE_OK);
    fake_join(f);
    assert_request_line(f, 0, "POST /v1.41/containers/create HTTP/1.1\r\n");
    body = json_loads(f->req[0].body, 0, NULL);
    assert_non_null(body);
    assert_null(json_object_get(body, "Cmd"));
    assert_null(json_object_get(body, "User"));
    assert_null(json_object_get(body, "NetworkDisabled"));
    hc = json_object_get(body, "HostConfig");
    assert_true(json_is_object(hc));
    assert_int_equal(json_object_size(hc), 0);
    json_decref(body);
}

static void test_create_engine_error_500(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 500, "{\"message\":\"boom\"}"}};
    docker_create_opts o = {.image = "sce-python:latest"};
    char id[DOCKER_ID_MAX + 1] = "", err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_create(f->d, &o, id, err, sizeof(err)), SCE_ERR_INTERNAL);
    assert_string_equal(err, "engine error 500: boom");
    assert_string_equal(id, ""); /* results only on success */
}

static void test_create_unknown_image_404(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 404, "{\"message\":\"No such image: nope:1\"}"}};
    docker_create_opts o = {.image = "nope:1"};
    char id[DOCKER_ID_MAX + 1] = "", err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_create(f->d, &o, id, err, sizeof(err)), SCE_ERR_NOT_FOUND);
    assert_string_equal(err, "No such image: nope:1");
}

static void test_create_answer_without_id(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 201, "{\"Id\":\"not hex!\"}"}};
    docker_create_opts o = {.image = "x"};
    char id[DOCKER_ID_MAX + 1] = "", err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_create(f->d, &o, id, err, sizeof(err)), SCE_ERR_INTERNAL);
}

/* ------------------------------------------------------------ transport */

static void test_no_socket(void **state)
{
    fake *f = *state;
    char path[160], err[256] = "", prefix[200];
    docker *d = NULL;

    snprintf(path, sizeof(path), "%s/missing.sock", f->dir);
    assert_int_equal(docker_open(path, "v1.41", 1000, &d, err, sizeof(err)), SCE_OK);
    assert_int_equal(docker_container_start(d, ID64, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    snprintf(prefix, sizeof(prefix), "cannot reach the Docker engine at %s: ", path);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("err is \"%s\"", err);
    docker_close(d);
}

static void test_dropped_mid_answer(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {RAW, 0, "HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n{\"State\":{\"Sta"}};
    docker_state st;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_inspect(f->d, ID64, &st, err, sizeof(err)),
                     SCE_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot reach the Docker engine"));
}

static void test_dropped_before_answer(void **state)
{
    fake *f = *state;
    static const step script[] = {{RAW, 0, ""}};
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_start(f->d, ID64, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
}

static void test_engine_too_slow(void **state)
{
    fake *f = *state;
    static const step script[] = {{SILENT, 0, NULL}};
    docker_state st;
    char err[256] = "";
    int64_t t0 = now_ms(), took;

    fake_start(f, script, 1, 200);
    assert_int_equal(docker_container_inspect(f->d, ID64, &st, err, sizeof(err)),
                     SCE_ERR_UNAVAILABLE);
    took = now_ms() - t0;
    assert_true(took >= 150 && took < 1000);
    assert_non_null(strstr(err, "did not answer within 200 ms"));
}

static void test_answer_too_large(void **state)
{
    fake *f = *state;
    static const step script[] = {{BIG, 0, NULL}};
    docker_state st;
    char err[256] = "";

    fake_start(f, script, 1, 2000);
    assert_int_equal(docker_container_inspect(f->d, ID64, &st, err, sizeof(err)), SCE_ERR_INTERNAL);
    assert_non_null(strstr(err, "larger than"));
}

static void test_answer_not_json(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 200, "<html>proxy says hi</html>"}};
    docker_state st;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_inspect(f->d, ID64, &st, err, sizeof(err)), SCE_ERR_INTERNAL);
}

/* Ids go into URLs unescaped, so anything but hex is refused up front. */
static void test_bad_container_id(void **state)
{
    fake *f = *state;
    char err[256] = "";

    fake_start(f, NULL, 0, 1000);
    assert_int_equal(docker_container_start(f->d, "../../images/x", err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(docker_container_remove(f->d, "", err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(docker_container_kill(f->d, ID64 "0", "SIGKILL", err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    fake_join(f);
    assert_int_equal(f->nreq, 0);
}

/* ------------------------------------------------------------ other calls */

static void test_ping(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {ANSWER, 200, "OK"},
        {ANSWER, 200, "{\"Version\":\"20.10.24+dfsg1\",\"ApiVersion\":\"1.41\"}"}};
    char version[64] = "", api[16] = "", err[256] = "";

    fake_start(f, script, 2, 1000);
    assert_int_equal(
        docker_ping(f->d, version, sizeof(version), api, sizeof(api), err, sizeof(err)), SCE_OK);
    assert_string_equal(version, "20.10.24+dfsg1");
    assert_string_equal(api, "1.41");
    fake_join(f);
    assert_request_line(f, 0, "GET /v1.41/_ping HTTP/1.1\r\n");
    assert_request_line(f, 1, "GET /v1.41/version HTTP/1.1\r\n");
}

/* GET /info: the default runtime when none is named, a named one with its
 * runtimeArgs, and NOT_FOUND for one the engine lacks. */
static void test_runtime_find(void **state)
{
    fake *f = *state;
    static const char info[] =
        "{\"DefaultRuntime\":\"runc\",\"Runtimes\":{\"runc\":{\"path\":\"runc\"},"
        "\"runsc\":{\"path\":\"/usr/bin/runsc\",\"runtimeArgs\":[\"--network=none\","
        "\"--oci-seccomp\"]}}}";
    static const step script[] = {{ANSWER, 200, info}, {ANSWER, 200, info}, {ANSWER, 200, info}};
    docker_runtime rt;
    char err[256] = "";

    fake_start(f, script, 3, 1000);
    assert_int_equal(docker_runtime_find(f->d, "", &rt, err, sizeof(err)), SCE_OK);
    assert_string_equal(rt.name, "runc");
    assert_string_equal(rt.path, "runc");
    assert_int_equal(rt.nargs, 0);
    assert_int_equal(docker_runtime_find(f->d, "runsc", &rt, err, sizeof(err)), SCE_OK);
    assert_string_equal(rt.path, "/usr/bin/runsc");
    assert_int_equal(rt.nargs, 2);
    assert_string_equal(rt.args[1], "--oci-seccomp");
    assert_int_equal(docker_runtime_find(f->d, "kata", &rt, err, sizeof(err)), SCE_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no runtime 'kata'"));
    fake_join(f);
    assert_request_line(f, 0, "GET /v1.41/info HTTP/1.1\r\n");
}

static void test_start_already_started_304(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 304, ""}};
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_start(f->d, ID64, err, sizeof(err)), SCE_OK);
    fake_join(f);
    assert_request_line(f, 0, "POST /v1.41/containers/" ID64 "/start HTTP/1.1\r\n");
}

static void test_kill_stopped_409(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {ANSWER, 409, "{\"message\":\"Container " ID64 " is not running\"}"}};
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_kill(f->d, ID64, "SIGKILL", err, sizeof(err)), SCE_OK);
    fake_join(f);
    assert_request_line(f, 0, "POST /v1.41/containers/" ID64 "/kill?signal=SIGKILL HTTP/1.1\r\n");
}

static void test_remove_missing_404(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 404, "{\"message\":\"No such container: " ID64 "\"}"}};
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_remove(f->d, ID64, err, sizeof(err)), SCE_OK);
    fake_join(f);
    assert_request_line(f, 0, "DELETE /v1.41/containers/" ID64 "?force=1&v=1 HTTP/1.1\r\n");
}

static void test_wait_status_code(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 200, "{\"Error\":null,\"StatusCode\":137}"}};
    char err[256] = "";
    int code = -1;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_wait(f->d, ID64, 1000, &code, err, sizeof(err)), SCE_OK);
    assert_int_equal(code, 137);
    fake_join(f);
    assert_request_line(f, 0, "POST /v1.41/containers/" ID64 "/wait HTTP/1.1\r\n");
}

/* wait has its own time limit, and running out of it is a deadline, not an
 * unavailable engine. */
static void test_wait_deadline(void **state)
{
    fake *f = *state;
    static const step script[] = {{SILENT, 0, NULL}};
    char err[256] = "";
    int code = -1;
    int64_t t0 = now_ms(), took;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_wait(f->d, ID64, 150, &code, err, sizeof(err)),
                     SCE_ERR_DEADLINE_EXCEEDED);
    took = now_ms() - t0;
    assert_true(took >= 100 && took < 900);
    assert_int_equal(code, -1);
}

static void test_inspect_oom(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 200,
                                   "{\"Id\":\"" ID64
                                   "\",\"State\":{\"Status\":\"exited\",\"Running\":false,"
                                   "\"OOMKilled\":true,\"ExitCode\":137,"
                                   "\"StartedAt\":\"2024-05-01T10:00:00.123456789Z\","
                                   "\"FinishedAt\":\"2024-05-01T10:00:01.5Z\"}}"}};
    docker_state st;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_inspect(f->d, ID64, &st, err, sizeof(err)), SCE_OK);
    assert_false(st.running);
    assert_true(st.oom_killed);
    assert_int_equal(st.exit_code, 137);
    assert_string_equal(st.status, "exited");
    assert_string_equal(st.started_at, "2024-05-01T10:00:00.123456789Z");
    assert_string_equal(st.finished_at, "2024-05-01T10:00:01.5Z");
    fake_join(f);
    assert_request_line(f, 0, "GET /v1.41/containers/" ID64 "/json HTTP/1.1\r\n");
}

static void test_list(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {ANSWER, 200,
         "[{\"Id\":\"" ID64 "\",\"Created\":1714557600,\"State\":\"running\","
         "\"Labels\":{\"org.sce.instance\":\"host-1\"}},"
         "{\"Id\":\"abcdef\",\"Created\":1714557601,\"State\":\"exited\",\"Labels\":null}]"}};
    docker_container_info *v = NULL;
    size_t n = 0;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_list(f->d, "org.sce.instance", "org.sce.instance", &v, &n,
                                           err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, ID64);
    assert_int_equal(v[0].created, 1714557600);
    assert_string_equal(v[0].state, "running");
    assert_string_equal(v[0].instance, "host-1");
    assert_string_equal(v[1].id, "abcdef");
    assert_string_equal(v[1].state, "exited");
    assert_string_equal(v[1].instance, "");
    free(v);
    fake_join(f);
    /* filters={"label":["org.sce.instance"]}, percent-encoded */
    assert_request_line(f, 0,
                        "GET /v1.41/containers/json?all=1&filters="
                        "%7B%22label%22%3A%5B%22org.sce.instance%22%5D%7D HTTP/1.1\r\n");
}

static void test_list_empty(void **state)
{
    fake *f = *state;
    static const step script[] = {{ANSWER, 200, "[]"}};
    docker_container_info *v = (docker_container_info *)&v; /* must become NULL */
    size_t n = 99;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_container_list(f->d, "org.sce=1", NULL, &v, &n, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(n, 0);
    assert_null(v);
}

static void test_image_inspect(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {ANSWER, 200,
         "{\"Id\":\"sha256:125f67\",\"Config\":{\"Labels\":{\"org.sce.version\":\"7\"}}}"}};
    docker_image_info info;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(
        docker_image_inspect(f->d, "registry:5000/org/python:3.12", &info, err, sizeof(err)),
        SCE_OK);
    assert_string_equal(info.id, "sha256:125f67");
    assert_string_equal(info.version_label, "7");
    fake_join(f);
    assert_request_line(f, 0,
                        "GET /v1.41/images/registry%3A5000%2Forg%2Fpython%3A3.12/json "
                        "HTTP/1.1\r\n");
}

static void test_image_inspect_missing(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {ANSWER, 404, "{\"message\":\"no such image: sce-python:latest\"}"}};
    docker_image_info info;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_image_inspect(f->d, "sce-python:latest", &info, err, sizeof(err)),
                     SCE_ERR_NOT_FOUND);
    assert_string_equal(err, "no such image: sce-python:latest");
}

/* ------------------------------------------------------------ attach */

/* Receives until `want` bytes in total are in got, or EOF; fails the test
 * on an error or if nothing comes for FAKE_WAIT_MS. */
static int recv_until(docker_attach *a, char *got, size_t cap, size_t *len, size_t want)
{
    char err[256] = "";
    int eof = 0;

    while (*len < want && !eof) {
        struct pollfd pfd = {.fd = docker_attach_fd(a), .events = POLLIN};
        size_t n = 0;
        int rv = docker_attach_recv(a, got + *len, cap - *len, &n, &eof, err, sizeof(err));
        if (rv != SCE_OK)
            return rv;
        *len += n;
        if (n == 0 && !eof && poll(&pfd, 1, FAKE_WAIT_MS) <= 0)
            fail_msg("attach: nothing received for %d ms", FAKE_WAIT_MS);
    }
    return eof ? -1 : SCE_OK; /* -1: EOF came first */
}

static int transcript_cb(void *arg, int stream, const void *p, size_t n)
{
    char *t = arg;
    size_t len = strlen(t);

    snprintf(t + len, 128 - len, "%d:%.*s", stream, (int)n, (const char *)p);
    return 0;
}

static void test_attach_session(void **state)
{
    fake *f = *state;
    static const step script[] = {{ATTACH, 0, NULL}};
    size_t all = FRAME_LEN(frame1) + FRAME_LEN(frame2) + FRAME_LEN(frame3);
    docker_attach *a = NULL;
    char got[256], err[256] = "", transcript[128] = "";
    size_t len = 0, sent = 0;
    docker_stream ds;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_attach_open(f->d, ID64, &a, err, sizeof(err)), SCE_OK);
    assert_true(docker_attach_fd(a) >= 0);

    /* The frame that came in the same packet as the 101. */
    assert_int_equal(recv_until(a, got, sizeof(got), &len, FRAME_LEN(frame1)), SCE_OK);
    assert_memory_equal(got, frame1, FRAME_LEN(frame1));

    assert_int_equal(docker_attach_send(a, "hello", 5, &sent, err, sizeof(err)), SCE_OK);
    assert_int_equal(sent, 5); /* an empty socket takes 5 bytes at once */
    assert_int_equal(docker_attach_close_write(a, err, sizeof(err)), SCE_OK);

    /* The rest, then EOF. */
    assert_int_equal(recv_until(a, got, sizeof(got), &len, sizeof(got)), -1);
    assert_int_equal(len, all);
    docker_stream_init(&ds);
    assert_int_equal(docker_stream_feed(&ds, got, len, transcript_cb, transcript), 0);
    assert_false(docker_stream_partial(&ds));
    assert_string_equal(transcript, "1:hi\n2:warn\n1:bye\n");
    docker_attach_close(a);

    fake_join(f);
    assert_request_line(f, 0,
                        "POST /v1.41/containers/" ID64
                        "/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n");
    assert_non_null(strcasestr(f->req[0].text, "\r\nUpgrade: tcp\r\n"));
    assert_non_null(strcasestr(f->req[0].text, "\r\nConnection: Upgrade\r\n"));
    assert_null(strcasestr(f->req[0].text, "Content-Length"));
    assert_int_equal(f->stdin_len, 5);
    assert_memory_equal(f->stdin_got, "hello", 5);
    assert_true(f->stdin_eof);
}

/* The engine goes away mid-frame: recv ends (EOF or an error), never hangs,
 * and the demuxer can tell the stream was cut. */
static void test_attach_dropped(void **state)
{
    fake *f = *state;
    static const step script[] = {{ATTACH_DROP, 0, NULL}};
    docker_attach *a = NULL;
    char got[256], err[256] = "", transcript[128] = "";
    size_t len = 0;
    docker_stream ds;
    int rv;

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_attach_open(f->d, ID64, &a, err, sizeof(err)), SCE_OK);
    rv = recv_until(a, got, sizeof(got), &len, sizeof(got));
    assert_true(rv == -1 || rv == SCE_ERR_UNAVAILABLE);
    docker_stream_init(&ds);
    assert_int_equal(docker_stream_feed(&ds, got, len, transcript_cb, transcript), 0);
    assert_true(docker_stream_partial(&ds));
    docker_attach_close(a);
}

/* Attach to a missing container: the engine answers 404 with a plain-text
 * body and no Content-Length, then hangs up. */
static void test_attach_missing_container(void **state)
{
    fake *f = *state;
    static const step script[] = {
        {RAW, 0,
         "HTTP/1.1 404 Not Found\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
         "No such container: " ID64 "\r\n"}};
    docker_attach *a = NULL;
    char err[256] = "";

    fake_start(f, script, 1, 1000);
    assert_int_equal(docker_attach_open(f->d, ID64, &a, err, sizeof(err)), SCE_ERR_NOT_FOUND);
    assert_null(a);
    assert_string_equal(err, "No such container: " ID64);
}

static void test_attach_no_answer(void **state)
{
    fake *f = *state;
    static const step script[] = {{SILENT, 0, NULL}};
    docker_attach *a = NULL;
    char err[256] = "";
    int64_t t0 = now_ms();

    fake_start(f, script, 1, 200);
    assert_int_equal(docker_attach_open(f->d, ID64, &a, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 1000);
    assert_null(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_create_sends_limits),
        T(test_create_minimal_leaves_defaults),
        T(test_create_engine_error_500),
        T(test_create_unknown_image_404),
        T(test_create_answer_without_id),
        T(test_no_socket),
        T(test_dropped_mid_answer),
        T(test_dropped_before_answer),
        T(test_engine_too_slow),
        T(test_answer_too_large),
        T(test_answer_not_json),
        T(test_bad_container_id),
        T(test_ping),
        T(test_runtime_find),
        T(test_start_already_started_304),
        T(test_kill_stopped_409),
        T(test_remove_missing_404),
        T(test_wait_status_code),
        T(test_wait_deadline),
        T(test_inspect_oom),
        T(test_list),
        T(test_list_empty),
        T(test_image_inspect),
        T(test_image_inspect_missing),
        T(test_attach_session),
        T(test_attach_dropped),
        T(test_attach_missing_container),
        T(test_attach_no_answer),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
