/*
 * docker_internal.h - what docker.c (the Engine API's plain HTTP calls) and
 * docker_attach.c (the hijacked attach stream) share: the handle's fields
 * and the helpers both use to connect to the socket and to turn failures
 * and error answers into an sce_err and a one-line message.  Not for use
 * outside the sce_docker library.
 */
#ifndef SCE_DOCKER_INTERNAL_H
#define SCE_DOCKER_INTERNAL_H

#include <curl/curl.h>
#include <stddef.h>

#include "docker.h"
#include "common/buf.h"

/* Immutable after docker_open: shared by every thread. */
struct docker {
    char *socket_path;
    char *api_prefix; /* "/v1.41", or "" for none */
    int request_timeout_ms;
};

/* Where an answer's body is collected: a capped buffer; oom is set when it
 * could not grow. */
typedef struct docker_sink {
    sce_buf *b;
    int oom;
} docker_sink;

/* SCE_OK when id is 1 to DOCKER_ID_MAX lower-case hex digits (ids go into
 * URLs unescaped), else SCE_ERR_INVALID_ARGUMENT with err. */
int docker_check_id(const char *id, char *err, size_t errlen);

/* Maps an HTTP status and its body to sce_err and a one-line err quoting
 * the engine's message; also_ok is one non-2xx status that counts as
 * success. */
int docker_check_status(long status, long also_ok, const char *body, size_t len, char *err,
                        size_t errlen);

/* SCE_ERR_INTERNAL with "unexpected answer from the engine: <what>". */
int docker_unexpected(const char *what, char *err, size_t errlen);

/* The options every connection to the engine shares (socket, no signals,
 * no proxy, the connect timeout, curl's error buffer). */
void docker_curl_opts(const docker *d, CURL *c, char *curl_err);

/* A failed connection or transfer as sce_err (DEADLINE_EXCEEDED on a
 * timeout, UNAVAILABLE when the socket cannot be reached); s may be NULL. */
int docker_curl_failure(const docker *d, CURL *c, CURLcode cc, int timeout_ms, const docker_sink *s,
                        char *err, size_t errlen);

#endif
