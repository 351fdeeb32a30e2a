/*
 * fake_server.c - the scripted REP server behind the client tests (see
 * fake_server.h).  Test code: a failure aborts the process.
 */
#include "fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

struct fake_server {
    nng_socket sock;
    char url[128];
    pthread_t thread;
    fake_handler handler;
    void *arg;
    pthread_mutex_t mtx;
    Sce__V1__Request *last; /* guarded by mtx */
    atomic_int closed;      /* the socket has been closed (hang-up or stop) */
    atomic_int requests;
    atomic_int connections;
};

static void die(const char *what, int rv)
{
    fprintf(stderr, "fake_server: %s: %s\n", what, nng_strerror(rv));
    abort();
}

static void conn_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct fake_server *f = arg;

    (void)p;
    (void)ev;
    atomic_fetch_add(&f->connections, 1);
}

static void reply_init(fake_reply *r, const Sce__V1__Request *req)
{
    memset(r, 0, sizeof(*r));
    r->action = FAKE_REPLY;
    sce__v1__response__init(&r->resp);
    sce__v1__status__init(&r->status);
    sce__v1__run_result__init(&r->run);
    sce__v1__limits__init(&r->limits);
    sce__v1__languages_result__init(&r->languages);
    for (int i = 0; i < FAKE_MAX_LANGUAGES; i++) {
        sce__v1__language__init(&r->language[i]);
        r->language_ptrs[i] = &r->language[i];
    }
    r->languages.languages = r->language_ptrs;
    sce__v1__health_result__init(&r->health);
    r->resp.status = &r->status;
    r->run.limits = &r->limits;
    if (req == NULL)
        return;
    r->resp.method = req->method;
    r->resp.request_id = req->request_id;
    switch (req->method) {
    case SCE__V1__METHOD__METHOD_RUN:
        r->resp.body_case = SCE__V1__RESPONSE__BODY_RUN;
        r->resp.run = &r->run;
        r->run.verdict = SCE__V1__VERDICT__VERDICT_OK;
        break;
    case SCE__V1__METHOD__METHOD_LANGUAGES:
        r->resp.body_case = SCE__V1__RESPONSE__BODY_LANGUAGES;
        r->resp.languages = &r->languages;
        break;
    case SCE__V1__METHOD__METHOD_HEALTH:
        r->resp.body_case = SCE__V1__RESPONSE__BODY_HEALTH;
        r->resp.health = &r->health;
        break;
    default:
        break;
    }
}

static void *fake_thread(void *arg)
{
    struct fake_server *f = arg;

    for (;;) {
        nng_msg *msg = NULL, *out = NULL;
        Sce__V1__Request *req;
        fake_reply reply;
        int rv;

        if ((rv = nng_recvmsg(f->sock, &msg, 0)) != 0) {
            if (rv == NNG_ECLOSED)
                break;
            die("recv", rv);
        }
        req = sce__v1__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
        atomic_fetch_add(&f->requests, 1);
        reply_init(&reply, req);
        f->handler(req, nng_msg_body(msg), nng_msg_len(msg), &reply, f->arg);

        if (reply.action == FAKE_REPLY) {
            size_t n = sce__v1__response__get_packed_size(&reply.resp);

            if ((rv = nng_msg_alloc(&out, n)) != 0)
                die("alloc", rv);
            sce__v1__response__pack(&reply.resp, nng_msg_body(out));
        } else if (reply.action == FAKE_RAW) {
            if ((rv = nng_msg_alloc(&out, 0)) != 0 ||
                (rv = nng_msg_append(out, reply.raw, reply.raw_len)) != 0)
                die("alloc", rv);
        }
        /* Publish the request only now: the handler saw it first, and the
         * client cannot have its answer before this point. */
        pthread_mutex_lock(&f->mtx);
        if (f->last != NULL)
            sce__v1__request__free_unpacked(f->last, NULL);
        f->last = req;
        pthread_mutex_unlock(&f->mtx);
        nng_msg_free(msg);

        if (out != NULL && (rv = nng_sendmsg(f->sock, out, 0)) != 0) {
            nng_msg_free(out);
            if (rv == NNG_ECLOSED)
                break;
            die("send", rv);
        }
        if (reply.action == FAKE_HANGUP) {
            atomic_store(&f->closed, 1);
            nng_close(f->sock);
            break;
        }
    }
    return NULL;
}

fake_server *fake_start(const char *url, fake_handler h, void *arg)
{
    struct fake_server *f = calloc(1, sizeof(*f));
    nng_listener l;
    int rv;

    if (f == NULL)
        abort();
    f->handler = h;
    f->arg = arg;
    pthread_mutex_init(&f->mtx, NULL);
    if ((rv = nng_rep0_open(&f->sock)) != 0)
        die("rep0_open", rv);
    if ((rv = nng_pipe_notify(f->sock, NNG_PIPE_EV_ADD_POST, conn_cb, f)) != 0)
        die("pipe_notify", rv);
    if ((rv = nng_listen(f->sock, url, &l, 0)) != 0)
        die(url, rv);
    snprintf(f->url, sizeof(f->url), "%s", url);
    if (strncmp(url, "tcp://", 6) == 0) {
        nng_sockaddr sa;
        char *colon = strrchr(f->url, ':');

        if ((rv = nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa)) != 0)
            die("locaddr", rv);
        snprintf(colon + 1, sizeof(f->url) - (size_t)(colon + 1 - f->url), "%d",
                 ntohs(sa.s_in.sa_port));
    }
    if (pthread_create(&f->thread, NULL, fake_thread, f) != 0)
        abort();
    return f;
}

fake_server *fake_start_tcp(fake_handler h, void *arg)
{
    return fake_start("tcp://127.0.0.1:0", h, arg);
}

const char *fake_server_url(fake_server *f)
{
    return f->url;
}

void fake_stop(fake_server *f)
{
    if (f == NULL)
        return;
    if (!atomic_exchange(&f->closed, 1))
        nng_close(f->sock);
    pthread_join(f->thread, NULL);
    if (strncmp(f->url, "ipc://", 6) == 0)
        unlink(f->url + 6); /* nng 1.5 leaves the socket file behind */
    if (f->last != NULL)
        sce__v1__request__free_unpacked(f->last, NULL);
    pthread_mutex_destroy(&f->mtx);
    free(f);
}

int fake_requests(fake_server *f)
{
    return atomic_load(&f->requests);
}

int fake_connections(fake_server *f)
{
    return atomic_load(&f->connections);
}

Sce__V1__Request *fake_last_request(fake_server *f)
{
    Sce__V1__Request *r;

    pthread_mutex_lock(&f->mtx);
    r = f->last;
    pthread_mutex_unlock(&f->mtx);
    return r;
}

void fake_url(char *buf, size_t len)
{
    static atomic_int n;

    snprintf(buf, len, "ipc:///tmp/sce-test-%d-%d.sock", (int)getpid(), atomic_fetch_add(&n, 1));
}

void fake_dead_tcp_url(char *buf, size_t len)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        abort();
    close(fd);
    snprintf(buf, len, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
}
