/*
 * docker_attach.c - the attach stream (see docker.h, "attach"): the one
 * Engine API call that is not a plain request and answer.
 *
 * POST /containers/{id}/attach with Connection: Upgrade is written by hand
 * on a libcurl CONNECT_ONLY connection; after the engine's "101 UPGRADED"
 * the connection is taken over as a raw duplex pipe to the program's stdio,
 * driven with curl_easy_send/curl_easy_recv by the caller's poll loop.  This
 * file does not interpret the frames on it (docker_stream.c does); the
 * plain calls and the shared failure mapping are docker.c's.
 */
#define _GNU_SOURCE /* memmem, strcasestr, GNU strerror_r */

#include "docker.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "docker_internal.h"
#include "sce_limits.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/seterr.h"
#include "sce/err.h"

struct docker_attach {
    CURL *curl;
    int fd;
    char *pending; /* bytes that came with the response header */
    size_t pending_len;
    size_t pending_off;
    const char *socket_path; /* borrowed from the docker handle, for messages */
};

/* Waits until fd is ready for `events` or the deadline passes.  Returns 1
 * ready, 0 timed out, -1 poll failed. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;

    for (;;) {
        int64_t left = deadline_ms - sce_clock_ms();
        if (left <= 0)
            return 0;
        r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static int stream_broken(const docker_attach *a, const char *what, const char *detail, char *err,
                         size_t errlen)
{
    sce_seterr(err, errlen, "cannot reach the Docker engine at %s: %s%s%s", a->socket_path, what,
               detail[0] ? ": " : "", detail);
    return SCE_ERR_UNAVAILABLE;
}

/* Sends all of p before the deadline (only used for the request itself). */
static int send_all(docker_attach *a, const char *p, size_t n, int64_t deadline_ms,
                    const char *curl_err, char *err, size_t errlen)
{
    int rv = SCE_OK;

    while (n > 0) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(a->curl, p, n, &sent);
        if (cc == CURLE_AGAIN) {
            if (wait_fd(a->fd, POLLOUT, deadline_ms) <= 0) {
                rv = stream_broken(a, "did not accept the attach request in time", "", err, errlen);
                goto out;
            }
            continue;
        }
        if (cc != CURLE_OK) {
            rv = stream_broken(a, curl_easy_strerror(cc), curl_err, err, errlen);
            goto out;
        }
        p += sent;
        n -= sent;
    }
out:
    return rv;
}

/* Reads into b until `stop` says so, EOF, or the deadline.  Returns
 * UNAVAILABLE on a timeout or a broken connection; EOF is not an error here
 * (*eof says it happened). */
static int recv_until(docker_attach *a, sce_buf *b, int (*stop)(const sce_buf *, void *), void *arg,
                      int64_t deadline_ms, int *eof, const char *curl_err, char *err, size_t errlen)
{
    char chunk[4096];
    int rv = SCE_OK;

    *eof = 0;
    while (!stop(b, arg)) {
        size_t got = 0;
        CURLcode cc = curl_easy_recv(a->curl, chunk, sizeof(chunk), &got);
        if (cc == CURLE_AGAIN) {
            if (wait_fd(a->fd, POLLIN, deadline_ms) <= 0) {
                rv = stream_broken(a, "did not answer the attach request in time", "", err, errlen);
                goto out;
            }
            continue;
        }
        if (cc != CURLE_OK) {
            rv = stream_broken(a, curl_easy_strerror(cc), curl_err, err, errlen);
            goto out;
        }
        if (got == 0) {
            *eof = 1;
            goto out;
        }
        rv = sce_buf_append(b, chunk, got);
        if (rv != SCE_OK) {
            sce_seterr(err, errlen, "out of memory reading the attach answer");
            goto out;
        }
        if (b->truncated)
            goto out; /* the caller sees the cap was hit */
    }
out:
    return rv;
}

static int header_complete(const sce_buf *b, void *arg)
{
    return b->len >= 4 && memmem(b->data, b->len, "\r\n\r\n", 4) != NULL;
}

static int body_complete(const sce_buf *b, void *arg)
{
    return b->len >= *(const size_t *)arg;
}

/* A refused attach: read the rest of the error body (the engine closes the
 * hijacked connection after it, usually with no Content-Length), then map
 * the status like any other answer. */
static int attach_refused(docker_attach *a, long status, const char *head, sce_buf *hdr,
                          size_t body_off, int64_t deadline_ms, const char *curl_err, char *err,
                          size_t errlen)
{
    sce_buf body;
    size_t want = SCE_ATTACH_ERROR_BODY_MAX_BYTES;
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    int eof = 0, rv;

    sce_buf_init(&body, SCE_ATTACH_ERROR_BODY_MAX_BYTES);
    if (cl != NULL) {
        unsigned long v = strtoul(cl + strlen("\r\nContent-Length:"), NULL, 10);
        if (v < want)
            want = v;
    }
    /* Whatever arrives is enough to quote: a slow, broken or oversized body
     * does not hide the status, so the read's own result is not used. */
    if (sce_buf_append(&body, hdr->data + body_off, hdr->len - body_off) == SCE_OK &&
        !hdr->truncated)
        (void)recv_until(a, &body, body_complete, &want, deadline_ms, &eof, curl_err, err, errlen);
    rv = docker_check_status(status, 0, body.data, body.len, err, errlen);
    sce_buf_free(&body);
    return rv;
}

int docker_attach_open(docker *d, const char *id, docker_attach **out, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    char req[SCE_DOCKER_PATH_MAX_BYTES + 256];
    int64_t deadline_ms = sce_clock_ms() + d->request_timeout_ms;
    curl_socket_t sock = CURL_SOCKET_BAD;
    docker_attach *a = NULL;
    sce_buf hdr;
    const char *end;
    size_t head_len;
    long status = 0;
    int eof = 0, rv;
    CURLcode cc;

    sce_buf_init(&hdr, SCE_ATTACH_HEADER_MAX_BYTES);
    rv = docker_check_id(id, err, errlen);
    if (rv != SCE_OK)
        goto out;
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->curl = curl_easy_init()) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    a->fd = -1;
    a->socket_path = d->socket_path;

    /* CONNECT_ONLY: curl connects and stops, leaving us a raw socket that it
     * still owns (and closes in curl_easy_cleanup). */
    docker_curl_opts(d, a->curl, curl_err);
    curl_easy_setopt(a->curl, CURLOPT_URL, "http://localhost/");
    curl_easy_setopt(a->curl, CURLOPT_CONNECT_ONLY, 1L);
    cc = curl_easy_perform(a->curl);
    if (cc != CURLE_OK) {
        rv = docker_curl_failure(d, a->curl, cc, d->request_timeout_ms, NULL, err, errlen);
        if (rv == SCE_ERR_DEADLINE_EXCEEDED)
            rv = SCE_ERR_UNAVAILABLE;
        goto out;
    }
    cc = curl_easy_getinfo(a->curl, CURLINFO_ACTIVESOCKET, &sock);
    if (cc != CURLE_OK || sock == CURL_SOCKET_BAD) {
        sce_seterr(err, errlen, "attach: curl gave no socket");
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    a->fd = (int)sock;

    /* No Content-Length: the request has no body, and after the upgrade
     * everything we write is the program's stdin. */
    snprintf(req, sizeof(req),
             "POST %s/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
             "Host: docker\r\n"
             "Connection: Upgrade\r\n"
             "Upgrade: tcp\r\n"
             "\r\n",
             d->api_prefix, id);
    rv = send_all(a, req, strlen(req), deadline_ms, curl_err, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = recv_until(a, &hdr, header_complete, NULL, deadline_ms, &eof, curl_err, err, errlen);
    if (rv != SCE_OK)
        goto out;
    end = hdr.len >= 4 ? memmem(hdr.data, hdr.len, "\r\n\r\n", 4) : NULL;
    if (end == NULL) {
        if (hdr.truncated)
            rv = docker_unexpected("attach answer header too large", err, errlen);
        else
            rv = stream_broken(a, "connection closed before the attach answer", "", err, errlen);
        goto out;
    }
    head_len = (size_t)(end - hdr.data) + 4;
    if (sscanf(hdr.data, "HTTP/1.%*d %ld", &status) != 1) {
        rv = docker_unexpected("attach answer is not HTTP", err, errlen);
        goto out;
    }
    if (status != 101 && status != 200) {
        /* Terminate the header so strcasestr stays inside it. */
        hdr.data[head_len - 2] = '\0';
        rv =
            attach_refused(a, status, hdr.data, &hdr, head_len, deadline_ms, curl_err, err, errlen);
        if (rv == SCE_OK)
            rv = docker_unexpected("attach answered with an unexpected 2xx", err, errlen);
        goto out;
    }
    if (hdr.len > head_len) {
        a->pending_len = hdr.len - head_len;
        a->pending = malloc(a->pending_len);
        if (a->pending == NULL) {
            sce_seterr(err, errlen, "out of memory");
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        memcpy(a->pending, hdr.data + head_len, a->pending_len);
    }
    *out = a;
    a = NULL;
out:
    sce_buf_free(&hdr);
    docker_attach_close(a);
    return rv;
}

int docker_attach_fd(const docker_attach *a)
{
    return a->fd;
}

int docker_attach_send(docker_attach *a, const void *p, size_t n, size_t *sent, char *err,
                       size_t errlen)
{
    size_t done = 0;
    CURLcode cc;
    int rv = SCE_OK;

    cc = curl_easy_send(a->curl, p, n, &done);
    if (cc == CURLE_AGAIN) {
        done = 0;
    } else if (cc != CURLE_OK) {
        /* The program exited (or the engine dropped us) while we were still
         * feeding it; curl sends with MSG_NOSIGNAL, so this is EPIPE, not a
         * SIGPIPE. */
        rv = stream_broken(a, "attach stream closed while sending", curl_easy_strerror(cc), err,
                           errlen);
        goto out;
    }
    *sent = done;
out:
    return rv;
}

int docker_attach_recv(docker_attach *a, void *p, size_t n, size_t *got, int *eof, char *err,
                       size_t errlen)
{
    size_t done = 0;
    CURLcode cc;
    int rv = SCE_OK;

    /* Bytes that came with the header go first, so the frame order holds. */
    if (a->pending_off < a->pending_len) {
        done = a->pending_len - a->pending_off;
        if (done > n)
            done = n;
        memcpy(p, a->pending + a->pending_off, done);
        a->pending_off += done;
        *got = done;
        *eof = 0;
        goto out;
    }
    cc = curl_easy_recv(a->curl, p, n, &done);
    if (cc == CURLE_AGAIN) {
        *got = 0;
        *eof = 0;
    } else if (cc != CURLE_OK) {
        rv = stream_broken(a, "attach stream broke", curl_easy_strerror(cc), err, errlen);
    } else {
        *got = done;
        *eof = done == 0 && n > 0;
    }
out:
    return rv;
}

int docker_attach_close_write(docker_attach *a, char *err, size_t errlen)
{
    int rv = SCE_OK;

    /* The engine copies our side into the program's stdin until it reads
     * EOF, and with StdinOnce it then closes that stdin. */
    if (shutdown(a->fd, SHUT_WR) != 0 && errno != ENOTCONN) {
        char ebuf[128];
        rv = stream_broken(a, "shutdown", strerror_r(errno, ebuf, sizeof(ebuf)), err, errlen);
    }
    return rv;
}

void docker_attach_close(docker_attach *a)
{
    if (a == NULL)
        return;
    if (a->curl != NULL)
        curl_easy_cleanup(a->curl);
    free(a->pending);
    free(a);
}
