/*
 * tcp_tap.c - the recording TCP relay of the client tests (see tcp_tap.h).
 * One thread polls the listening socket and both ends of every connection;
 * the mutex makes "accept and record" one step, so tap_wait_idle never sees
 * a connection that is neither in the backlog nor in the table.  Test code:
 * a failure aborts the process.
 */
#define _GNU_SOURCE /* pipe2 */
#include "tcp_tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct tap_conn {
    int client_fd;   /* -1 once the connection ended */
    int upstream_fd; /* -1 once the connection ended */
    size_t client_bytes;
} tap_conn;

struct tcp_tap {
    int listen_fd;
    int wake[2]; /* a byte on wake[1] stops the thread */
    char url[64];
    struct sockaddr_in upstream;
    pthread_t thread;
    pthread_mutex_t mtx; /* guards conns and nconns */
    tap_conn conns[TAP_MAX_CONNECTIONS];
    int nconns;
};

static void die(const char *what)
{
    fprintf(stderr, "tcp_tap: %s: %s\n", what, strerror(errno));
    abort();
}

static void conn_end(tap_conn *c)
{
    close(c->client_fd);
    close(c->upstream_fd);
    c->client_fd = -1;
    c->upstream_fd = -1;
}

/* Writes all of buf to fd (blocking).  Returns 0, or -1 when fd is gone. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Moves what is readable on one end of `c` to the other; ends the
 * connection when either end is done. */
static void relay(tap_conn *c, int from_client)
{
    char buf[16384];
    int from = from_client ? c->client_fd : c->upstream_fd;
    int to = from_client ? c->upstream_fd : c->client_fd;
    ssize_t n = recv(from, buf, sizeof(buf), 0);

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        conn_end(c);
        return;
    }
    if (from_client)
        c->client_bytes += (size_t)n;
    if (write_all(to, buf, (size_t)n) != 0)
        conn_end(c);
}

/* Accepts one pending connection and dials the upstream for it.  Called
 * with the mutex held. */
static void accept_one(tcp_tap *t)
{
    tap_conn *c;
    int fd = accept(t->listen_fd, NULL, NULL);

    if (fd < 0)
        return; /* gone from the backlog already, or EAGAIN */
    if (t->nconns == TAP_MAX_CONNECTIONS) {
        fprintf(stderr, "tcp_tap: more than %d connections\n", TAP_MAX_CONNECTIONS);
        abort();
    }
    c = &t->conns[t->nconns++];
    c->client_fd = fd;
    c->client_bytes = 0;
    c->upstream_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->upstream_fd < 0 ||
        connect(c->upstream_fd, (struct sockaddr *)&t->upstream, sizeof(t->upstream)) != 0)
        die("connect upstream");
}

static void *tap_thread(void *arg)
{
    tcp_tap *t = arg;

    for (;;) {
        struct pollfd pfd[2 + 2 * TAP_MAX_CONNECTIONS];
        int owner[2 + 2 * TAP_MAX_CONNECTIONS]; /* conn index * 2 + (0 client, 1 upstream) */
        nfds_t n = 0;

        pfd[n++] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = t->listen_fd, .events = POLLIN};
        pthread_mutex_lock(&t->mtx);
        for (int i = 0; i < t->nconns; i++) {
            if (t->conns[i].client_fd < 0)
                continue;
            owner[n] = 2 * i;
            pfd[n++] = (struct pollfd){.fd = t->conns[i].client_fd, .events = POLLIN};
            owner[n] = 2 * i + 1;
            pfd[n++] = (struct pollfd){.fd = t->conns[i].upstream_fd, .events = POLLIN};
        }
        pthread_mutex_unlock(&t->mtx);

        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pfd[0].revents != 0)
            break;
        pthread_mutex_lock(&t->mtx);
        if (pfd[1].revents & POLLIN)
            accept_one(t);
        for (nfds_t k = 2; k < n; k++) {
            tap_conn *c = &t->conns[owner[k] / 2];

            /* An end that relay() closed earlier in this round is skipped. */
            if (pfd[k].revents != 0 && c->client_fd >= 0)
                relay(c, owner[k] % 2 == 0);
        }
        pthread_mutex_unlock(&t->mtx);
    }
    return NULL;
}

tcp_tap *tap_start(const char *upstream_url)
{
    tcp_tap *t = calloc(1, sizeof(*t));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    char host[32];
    int port;

    if (t == NULL)
        abort();
    if (sscanf(upstream_url, "tcp://%31[^:]:%d", host, &port) != 2) {
        fprintf(stderr, "tcp_tap: not a tcp://HOST:PORT URL: %s\n", upstream_url);
        abort();
    }
    t->upstream.sin_family = AF_INET;
    t->upstream.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &t->upstream.sin_addr) != 1)
        die("upstream address");
    pthread_mutex_init(&t->mtx, NULL);
    t->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (t->listen_fd < 0 || bind(t->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(t->listen_fd, TAP_MAX_CONNECTIONS) != 0 ||
        getsockname(t->listen_fd, (struct sockaddr *)&a, &alen) != 0)
        die("listen");
    if (pipe2(t->wake, O_CLOEXEC) != 0)
        die("pipe");
    snprintf(t->url, sizeof(t->url), "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    if (pthread_create(&t->thread, NULL, tap_thread, t) != 0)
        abort();
    return t;
}

const char *tap_url(tcp_tap *t)
{
    return t->url;
}

/* Whether nothing waits in the backlog and every accepted connection has
 * ended.  Called with the mutex held. */
static int idle(tcp_tap *t)
{
    struct pollfd p = {.fd = t->listen_fd, .events = POLLIN};

    if (poll(&p, 1, 0) != 0)
        return 0;
    for (int i = 0; i < t->nconns; i++)
        if (t->conns[i].client_fd >= 0)
            return 0;
    return 1;
}

int tap_wait_idle(tcp_tap *t, int wait_ms)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
    int is_idle = 0;

    for (int waited = 0; !is_idle && waited <= wait_ms; waited += 5) {
        pthread_mutex_lock(&t->mtx);
        is_idle = idle(t);
        pthread_mutex_unlock(&t->mtx);
        if (!is_idle)
            nanosleep(&pause, NULL);
    }
    return is_idle;
}

int tap_connections(tcp_tap *t)
{
    int n;

    pthread_mutex_lock(&t->mtx);
    n = t->nconns;
    pthread_mutex_unlock(&t->mtx);
    return n;
}

int tap_short_connections(tcp_tap *t, size_t min_bytes)
{
    int n = 0;

    pthread_mutex_lock(&t->mtx);
    for (int i = 0; i < t->nconns; i++)
        if (t->conns[i].client_fd < 0 && t->conns[i].client_bytes < min_bytes)
            n++;
    pthread_mutex_unlock(&t->mtx);
    return n;
}

void tap_stop(tcp_tap *t)
{
    if (t == NULL)
        return;
    if (write(t->wake[1], "x", 1) != 1)
        die("wake");
    pthread_join(t->thread, NULL);
    for (int i = 0; i < t->nconns; i++)
        if (t->conns[i].client_fd >= 0)
            conn_end(&t->conns[i]);
    close(t->listen_fd);
    close(t->wake[0]);
    close(t->wake[1]);
    pthread_mutex_destroy(&t->mtx);
    free(t);
}
