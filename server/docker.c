/*
 * docker.c - the Docker Engine API over its unix socket, through libcurl.
 *
 * Every ordinary call is one HTTP request on a fresh easy handle: the body
 * (built with jansson, never printf) goes out, the answer comes back into a
 * capped buffer, and the status and JSON are turned into an sce_err plus a
 * one-line message.  Sharing nothing between calls is what lets one `docker`
 * handle serve all worker threads without a lock; the cost, one connect(2)
 * on a local socket per call, is noise next to the engine's own work.
 *
 * The attach stream is not here: after its HTTP upgrade the connection is
 * a raw duplex pipe to the program's stdio, which docker_attach.c opens and
 * drives.  This file does not decide what a run is (exec.c does), nor what
 * a container is allowed (sandbox.c does).
 */
#define _GNU_SOURCE /* GNU strerror_r, asprintf */

#include "docker.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_internal.h"
#include "sce_limits.h"
#include "common/buf.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "sce/err.h"

/* ------------------------------------------------------------ helpers */

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    if (dst != NULL && dstlen > 0)
        snprintf(dst, dstlen, "%s", src ? src : "");
}

/* Container ids go into URLs unescaped, so only the engine's own id format
 * is accepted: 1 to 64 lower-case hex digits.  This also keeps a name like
 * "../images/x" from reaching another endpoint. */
static int valid_id(const char *id)
{
    size_t n = 0;

    if (id == NULL)
        return 0;
    for (; id[n] != '\0'; n++) {
        char c = id[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return n >= 1 && n <= DOCKER_ID_MAX;
}

int docker_check_id(const char *id, char *err, size_t errlen)
{
    int rv = SCE_OK;

    if (!valid_id(id)) {
        sce_seterr(err, errlen, "invalid container id (want 1-%d hex digits)", DOCKER_ID_MAX);
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
    return rv;
}

/* The message of an error answer: the engine's {"message": ...} when it sent
 * JSON, else the start of whatever text it sent ("" for none). */
static void engine_message(const char *body, size_t len, char *msg, size_t msglen)
{
    json_t *root = NULL;
    const char *m;

    msg[0] = '\0';
    if (body == NULL || len == 0)
        goto out;
    root = json_loadb(body, len, 0, NULL);
    m = json_string_value(json_object_get(root, "message"));
    if (m != NULL)
        sce_utf8_clean_line(m, strlen(m), msg, msglen);
    else
        sce_utf8_clean_line(
            body, len < SCE_DOCKER_QUOTE_MAX_BYTES ? len : SCE_DOCKER_QUOTE_MAX_BYTES, msg, msglen);
out:
    json_decref(root);
}

/* Maps an HTTP status to sce_err.  `also_ok` is one non-2xx status that the
 * caller treats as success (304 for start, 409 for kill, 404 for remove). */
int docker_check_status(long status, long also_ok, const char *body, size_t len, char *err,
                        size_t errlen)
{
    char msg[512];
    int rv = SCE_OK;

    if ((status >= 200 && status < 300) || status == also_ok)
        goto out;
    engine_message(body, len, msg, sizeof(msg));
    if (status == 404) {
        if (msg[0] != '\0')
            sce_seterr(err, errlen, "%s", msg);
        else
            sce_seterr(err, errlen, "engine error 404");
        rv = SCE_ERR_NOT_FOUND;
    } else {
        if (msg[0] != '\0')
            sce_seterr(err, errlen, "engine error %ld: %s", status, msg);
        else
            sce_seterr(err, errlen, "engine error %ld", status);
        rv = SCE_ERR_INTERNAL;
    }
out:
    return rv;
}

static int parse_json(const sce_buf *b, json_t **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    int rv = SCE_OK;

    root = json_loadb(b->data ? b->data : "", b->len, 0, &jerr);
    if (root == NULL) {
        sce_seterr(err, errlen, "the engine's answer is not JSON: %s", jerr.text);
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    *out = root;
out:
    return rv;
}

int docker_unexpected(const char *what, char *err, size_t errlen)
{
    sce_seterr(err, errlen, "unexpected answer from the engine: %s", what);
    return SCE_ERR_INTERNAL;
}

/* ------------------------------------------------------------ HTTP */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe; running it once here, from whichever
 * thread opens the first handle, keeps that concern out of main(). */
static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
    docker_sink *s = arg;
    size_t n = size * nmemb;

    if (sce_buf_append(s->b, p, n) != SCE_OK) {
        s->oom = 1;
        return 0;
    }
    /* Returning short makes curl stop with CURLE_WRITE_ERROR: an answer
     * past the cap is abandoned, not half-parsed. */
    return s->b->truncated ? 0 : n;
}

/* Options every connection to the engine shares. */
void docker_curl_opts(const docker *d, CURL *c, char *curl_err)
{
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
    /* Worker threads: no SIGALRM-based resolver timeouts. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* An http_proxy in the environment must not divert engine calls. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)d->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
}

/* A failed connection or transfer as sce_err.  The OS error is added when
 * there is one, because "Permission denied" on the socket is the most common
 * way to misconfigure this service and curl's own text does not say it. */
int docker_curl_failure(const docker *d, CURL *c, CURLcode cc, int timeout_ms, const docker_sink *s,
                        char *err, size_t errlen)
{
    long os_errno = 0;
    int rv;

    if (cc == CURLE_OUT_OF_MEMORY || (s != NULL && s->oom)) {
        sce_seterr(err, errlen, "out of memory talking to the Docker engine");
        rv = SCE_ERR_NO_MEMORY;
    } else if (cc == CURLE_WRITE_ERROR && s != NULL && s->b->truncated) {
        sce_seterr(err, errlen, "the engine's answer is larger than %u bytes",
                   SCE_DOCKER_BODY_MAX_BYTES);
        rv = SCE_ERR_INTERNAL;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        sce_seterr(err, errlen, "cannot reach the Docker engine at %s: did not answer within %d ms",
                   d->socket_path, timeout_ms);
        rv = SCE_ERR_DEADLINE_EXCEEDED; /* callers other than wait say UNAVAILABLE */
    } else {
        curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno != 0) {
            char ebuf[128];
            sce_seterr(err, errlen, "cannot reach the Docker engine at %s: %s (%s)", d->socket_path,
                       curl_easy_strerror(cc), strerror_r((int)os_errno, ebuf, sizeof(ebuf)));
        } else {
            sce_seterr(err, errlen, "cannot reach the Docker engine at %s: %s", d->socket_path,
                       curl_easy_strerror(cc));
        }
        rv = SCE_ERR_UNAVAILABLE;
    }
    return rv;
}

/* One request: method and path (without the version prefix), an optional
 * JSON body.  On SCE_OK, *status is the HTTP status (any, the caller judges
 * it) and answer holds the body.  A timeout returns DEADLINE_EXCEEDED. */
static int perform(const docker *d, const char *method, const char *path, const char *body,
                   int timeout_ms, long *status, sce_buf *answer, char *err, size_t errlen)
{
    char url[SCE_DOCKER_PATH_MAX_BYTES + 64];
    char curl_err[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL, *h;
    docker_sink s = {answer, 0};
    CURL *c = NULL;
    CURLcode cc;
    int rv = SCE_OK;

    if ((size_t)snprintf(url, sizeof(url), "http://localhost%s%s", d->api_prefix, path) >=
        sizeof(url)) {
        sce_seterr(err, errlen, "request path too long");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    c = curl_easy_init();
    if (c == NULL) {
        sce_seterr(err, errlen, "out of memory (curl_easy_init)");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    /* "Expect:" off: curl would otherwise wait for a 100 Continue before
     * sending a large create body, a round trip for nothing. */
    h = curl_slist_append(headers, "Expect:");
    if (h != NULL) {
        headers = h;
        h = body ? curl_slist_append(headers, "Content-Type: application/json") : headers;
    }
    if (h == NULL) {
        sce_seterr(err, errlen, "out of memory (curl headers)");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    headers = h;

    docker_curl_opts(d, c, curl_err);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, body ? (long)strlen(body) : 0L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rv = docker_curl_failure(d, c, cc, timeout_ms, &s, err, errlen);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
    curl_slist_free_all(headers);
    if (c != NULL)
        curl_easy_cleanup(c);
    return rv;
}

/* An ordinary call: bounded by request_timeout_ms, where running out of time
 * means the engine is unavailable. */
static int request(const docker *d, const char *method, const char *path, const char *body,
                   long *status, sce_buf *answer, char *err, size_t errlen)
{
    int rv = perform(d, method, path, body, d->request_timeout_ms, status, answer, err, errlen);

    if (rv == SCE_ERR_DEADLINE_EXCEEDED)
        rv = SCE_ERR_UNAVAILABLE;
    return rv;
}

/* request + status check + JSON parse, the shape of most calls. */
static int request_json(const docker *d, const char *method, const char *path, const char *body,
                        json_t **out, char *err, size_t errlen)
{
    sce_buf answer;
    long status = 0;
    int rv;

    sce_buf_init(&answer, SCE_DOCKER_BODY_MAX_BYTES);
    rv = request(d, method, path, body, &status, &answer, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = docker_check_status(status, 0, answer.data, answer.len, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = parse_json(&answer, out, err, errlen);
out:
    sce_buf_free(&answer);
    return rv;
}

/* request + status check for calls whose answer body does not matter. */
static int request_status(const docker *d, const char *method, const char *path, long also_ok,
                          char *err, size_t errlen)
{
    sce_buf answer;
    long status = 0;
    int rv;

    sce_buf_init(&answer, SCE_DOCKER_BODY_MAX_BYTES);
    rv = request(d, method, path, NULL, &status, &answer, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = docker_check_status(status, also_ok, answer.data, answer.len, err, errlen);
out:
    sce_buf_free(&answer);
    return rv;
}

/* "/containers/<id><suffix>" into path, once the id is checked. */
static int container_path(char path[SCE_DOCKER_PATH_MAX_BYTES], const char *id, const char *suffix,
                          char *err, size_t errlen)
{
    int rv = docker_check_id(id, err, errlen);

    if (rv == SCE_OK)
        snprintf(path, SCE_DOCKER_PATH_MAX_BYTES, "/containers/%s%s", id, suffix);
    return rv;
}

/* A call on one container whose answer body does not matter. */
static int container_call(const docker *d, const char *method, const char *id, const char *suffix,
                          long also_ok, char *err, size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    int rv = container_path(path, id, suffix, err, errlen);

    if (rv == SCE_OK)
        rv = request_status(d, method, path, also_ok, err, errlen);
    return rv;
}

/* Percent-encodes s for a URL path segment or query value. */
static int escape(const char *s, char **out, char *err, size_t errlen)
{
    int rv = SCE_OK;
    char *e = curl_easy_escape(NULL, s, 0);

    if (e == NULL) {
        sce_seterr(err, errlen, "out of memory (curl_easy_escape)");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    *out = e;
out:
    return rv;
}

/* ------------------------------------------------------------ open/close */

int docker_open(const char *socket_path, const char *api_version, int request_timeout_ms,
                docker **out, char *err, size_t errlen)
{
    docker *d = NULL;
    int rv = SCE_OK;

    if (socket_path == NULL || socket_path[0] == '\0' || request_timeout_ms <= 0) {
        sce_seterr(err, errlen, "docker_open: need a socket path and a positive timeout");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    if (api_version == NULL)
        api_version = "";
    if (strchr(api_version, '/') != NULL || strchr(api_version, '?') != NULL) {
        sce_seterr(err, errlen, "invalid Docker API version \"%s\" (want e.g. v1.41)", api_version);
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        sce_seterr(err, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_result));
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->socket_path = strdup(socket_path)) == NULL ||
        asprintf(&d->api_prefix, "%s%s", api_version[0] ? "/" : "", api_version) < 0) {
        if (d != NULL)
            d->api_prefix = NULL; /* asprintf leaves it undefined on failure */
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    d->request_timeout_ms = request_timeout_ms;
    *out = d;
    d = NULL;
out:
    docker_close(d);
    return rv;
}

void docker_close(docker *d)
{
    if (d == NULL)
        return;
    free(d->socket_path);
    free(d->api_prefix);
    free(d);
}

/* ------------------------------------------------------------ calls */

int docker_ping(docker *d, char *version, size_t vlen, char *api, size_t alen, char *err,
                size_t errlen)
{
    json_t *root = NULL;
    const char *v, *a;
    int rv;

    /* /_ping is the engine's liveness answer; it is cheap and also works
     * while /version would be slow on a busy engine. */
    rv = request_status(d, "GET", "/_ping", 0, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = request_json(d, "GET", "/version", NULL, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    v = json_string_value(json_object_get(root, "Version"));
    a = json_string_value(json_object_get(root, "ApiVersion"));
    if (v == NULL || a == NULL) {
        rv = docker_unexpected("/version without Version or ApiVersion", err, errlen);
        goto out;
    }
    copy_str(version, vlen, v);
    copy_str(api, alen, a);
out:
    json_decref(root);
    return rv;
}

int docker_runtime_find(docker *d, const char *name, docker_runtime *out, char *err, size_t errlen)
{
    json_t *root = NULL, *rt, *args;
    const char *path;
    size_t i;
    int rv;

    memset(out, 0, sizeof(*out));
    rv = request_json(d, "GET", "/info", NULL, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    if (name == NULL || name[0] == '\0')
        name = json_string_value(json_object_get(root, "DefaultRuntime"));
    if (name == NULL) {
        rv = docker_unexpected("/info without DefaultRuntime", err, errlen);
        goto out;
    }
    rt = json_object_get(json_object_get(root, "Runtimes"), name);
    if (!json_is_object(rt)) {
        rv = SCE_ERR_NOT_FOUND;
        sce_seterr(err, errlen, "the engine has no runtime '%s'", name);
        goto out;
    }
    path = json_string_value(json_object_get(rt, "path"));
    copy_str(out->name, sizeof(out->name), name);
    copy_str(out->path, sizeof(out->path), path ? path : "");
    args = json_object_get(rt, "runtimeArgs");
    for (i = 0; i < json_array_size(args) && out->nargs < DOCKER_RUNTIME_ARGS_MAX; i++) {
        const char *a = json_string_value(json_array_get(args, i));

        if (a != NULL)
            copy_str(out->args[out->nargs++], sizeof(out->args[0]), a);
    }
out:
    json_decref(root);
    return rv;
}

/* Builds JSON, remembering the first failure so the create code below reads
 * as a list of fields rather than a list of error checks.  json_string fails
 * on invalid UTF-8 (caller input) or on OOM; both are reported as the
 * former, because OOM inside jansson is indistinguishable and far rarer. */
typedef struct jb {
    int rv;
    const char *what;
} jb;

static void jb_fail(jb *b, int rv, const char *what)
{
    if (b->rv == SCE_OK) {
        b->rv = rv;
        b->what = what;
    }
}

static json_t *jb_str(jb *b, const char *what, const char *s)
{
    json_t *j = NULL;

    if (s == NULL)
        jb_fail(b, SCE_ERR_INVALID_ARGUMENT, what);
    else if ((j = json_string(s)) == NULL)
        jb_fail(b, SCE_ERR_INVALID_ARGUMENT, what);
    return j;
}

static json_t *jb_new(jb *b, json_t *j, const char *what)
{
    if (j == NULL)
        jb_fail(b, SCE_ERR_NO_MEMORY, what);
    return j;
}

/* Sets obj[key] = val, taking val.  A NULL val was already recorded. */
static void jb_set(jb *b, json_t *obj, const char *key, json_t *val)
{
    if (val != NULL && json_object_set_new(obj, key, val) != 0)
        jb_fail(b, SCE_ERR_INVALID_ARGUMENT, key); /* a label key that is not UTF-8 */
}

static void jb_push(jb *b, json_t *arr, json_t *val, const char *what)
{
    if (val != NULL && json_array_append_new(arr, val) != 0)
        jb_fail(b, SCE_ERR_NO_MEMORY, what);
}

static json_t *jb_strings(jb *b, const char *what, const char *const *v, size_t n)
{
    json_t *arr = jb_new(b, json_array(), what);

    for (size_t i = 0; arr != NULL && i < n; i++)
        jb_push(b, arr, jb_str(b, what, v[i]), what);
    return arr;
}

/* HostConfig: only fields that are set, so 0/NULL keeps the engine default. */
static json_t *host_config(jb *b, const docker_create_opts *o)
{
    json_t *hc = jb_new(b, json_object(), "HostConfig");
    json_t *sec;

    if (hc == NULL)
        return NULL;
    if (o->memory_bytes > 0)
        jb_set(b, hc, "Memory", jb_new(b, json_integer(o->memory_bytes), "Memory"));
    /* MemorySwap -1 (unlimited swap) is meaningful, so only 0 is "unset". */
    if (o->memory_swap_bytes != 0)
        jb_set(b, hc, "MemorySwap", jb_new(b, json_integer(o->memory_swap_bytes), "MemorySwap"));
    if (o->nano_cpus > 0)
        jb_set(b, hc, "NanoCpus", jb_new(b, json_integer(o->nano_cpus), "NanoCpus"));
    if (o->pids_limit != 0)
        jb_set(b, hc, "PidsLimit", jb_new(b, json_integer(o->pids_limit), "PidsLimit"));
    if (o->tmpfs_path != NULL) {
        json_t *t = jb_new(b, json_object(), "Tmpfs");
        if (t != NULL)
            jb_set(b, t, o->tmpfs_path,
                   jb_str(b, "Tmpfs", o->tmpfs_options ? o->tmpfs_options : ""));
        jb_set(b, hc, "Tmpfs", t);
    }
    if (o->read_only_rootfs)
        jb_set(b, hc, "ReadonlyRootfs", json_true());
    if (o->network_disabled) {
        /* Only loopback, in a network namespace of its own.  The engine
         * still writes /etc/hosts (localhost resolves: a program may talk
         * to itself) and /etc/resolv.conf, whose nameserver would be the
         * host's: 127.0.0.1 instead, so lookups fail at once and the host's
         * resolver stays out of sight. */
        const char *dns[] = {"127.0.0.1"};
        jb_set(b, hc, "NetworkMode", jb_str(b, "NetworkMode", "none"));
        jb_set(b, hc, "Dns", jb_strings(b, "Dns", dns, 1));
    }
    if (o->cap_drop_all) {
        const char *all[] = {"ALL"};
        jb_set(b, hc, "CapDrop", jb_strings(b, "CapDrop", all, 1));
    }
    if (o->no_new_privileges || o->nsecurity_opt > 0) {
        sec = jb_strings(b, "SecurityOpt", o->security_opt, o->nsecurity_opt);
        if (sec != NULL && o->no_new_privileges)
            jb_push(b, sec, jb_str(b, "SecurityOpt", "no-new-privileges"), "SecurityOpt");
        jb_set(b, hc, "SecurityOpt", sec);
    }
    if (o->init)
        jb_set(b, hc, "Init", json_true());
    if (o->log_driver_none) {
        json_t *lc = jb_new(b, json_object(), "LogConfig");
        if (lc != NULL) {
            jb_set(b, lc, "Type", jb_str(b, "LogConfig", "none"));
            jb_set(b, lc, "Config", jb_new(b, json_object(), "LogConfig"));
        }
        jb_set(b, hc, "LogConfig", lc);
    }
    if (o->runtime != NULL)
        jb_set(b, hc, "Runtime", jb_str(b, "Runtime", o->runtime));
    if (o->nulimits > 0) {
        json_t *ul = jb_new(b, json_array(), "Ulimits");
        for (size_t i = 0; ul != NULL && i < o->nulimits; i++) {
            json_t *u = jb_new(b, json_object(), "Ulimits");
            if (u == NULL)
                break;
            jb_set(b, u, "Name", jb_str(b, "Ulimits", o->ulimits[i].name));
            jb_set(b, u, "Soft", jb_new(b, json_integer(o->ulimits[i].soft), "Ulimits"));
            jb_set(b, u, "Hard", jb_new(b, json_integer(o->ulimits[i].hard), "Ulimits"));
            jb_push(b, ul, u, "Ulimits");
        }
        jb_set(b, hc, "Ulimits", ul);
    }
    if (o->ipc_mode != NULL)
        jb_set(b, hc, "IpcMode", jb_str(b, "IpcMode", o->ipc_mode));
    if (o->shm_size_bytes > 0)
        jb_set(b, hc, "ShmSize", jb_new(b, json_integer(o->shm_size_bytes), "ShmSize"));
    if (o->nmasked_paths > 0)
        jb_set(b, hc, "MaskedPaths",
               jb_strings(b, "MaskedPaths", o->masked_paths, o->nmasked_paths));
    return hc;
}

/* The body of POST /containers/create, as a malloc'd string. */
static int create_body(const docker_create_opts *o, char **out, char *err, size_t errlen)
{
    jb b = {SCE_OK, NULL};
    json_t *root = NULL;
    char *s = NULL;

    root = jb_new(&b, json_object(), "body");
    if (root == NULL)
        goto out;
    jb_set(&b, root, "Image", jb_str(&b, "Image", o->image));
    if (o->ncmd > 0)
        jb_set(&b, root, "Cmd", jb_strings(&b, "Cmd", o->cmd, o->ncmd));
    if (o->nenv > 0)
        jb_set(&b, root, "Env", jb_strings(&b, "Env", o->env, o->nenv));
    if (o->user != NULL)
        jb_set(&b, root, "User", jb_str(&b, "User", o->user));
    if (o->working_dir != NULL)
        jb_set(&b, root, "WorkingDir", jb_str(&b, "WorkingDir", o->working_dir));
    if (o->hostname != NULL)
        jb_set(&b, root, "Hostname", jb_str(&b, "Hostname", o->hostname));
    if (o->nlabels > 0) {
        json_t *l = jb_new(&b, json_object(), "Labels");
        for (size_t i = 0; l != NULL && i < o->nlabels; i++) {
            if (o->labels[i].key == NULL) {
                jb_fail(&b, SCE_ERR_INVALID_ARGUMENT, "Labels");
                break;
            }
            jb_set(&b, l, o->labels[i].key, jb_str(&b, "Labels", o->labels[i].value));
        }
        jb_set(&b, root, "Labels", l);
    }
    /* Output comes through attach, and stdin carries the code: the stream
     * must be multiplexed (no Tty) and stdin must close when we close it. */
    jb_set(&b, root, "AttachStdin", json_true());
    jb_set(&b, root, "AttachStdout", json_true());
    jb_set(&b, root, "AttachStderr", json_true());
    jb_set(&b, root, "OpenStdin", json_true());
    jb_set(&b, root, "StdinOnce", json_true());
    jb_set(&b, root, "Tty", json_false());
    /* No network: NetworkMode "none" in HostConfig.  Config's
     * NetworkDisabled is not set, as it also stops the engine from writing
     * /etc/hosts, leaving the empty placeholder of the container's init
     * layer (checked against engine 20.10). */
    jb_set(&b, root, "HostConfig", host_config(&b, o));
    if (b.rv != SCE_OK)
        goto out;
    s = json_dumps(root, JSON_COMPACT);
    if (s == NULL)
        jb_fail(&b, SCE_ERR_NO_MEMORY, "body");
out:
    if (b.rv == SCE_ERR_NO_MEMORY)
        sce_seterr(err, errlen, "out of memory building the create request (%s)", b.what);
    else if (b.rv != SCE_OK)
        sce_seterr(err, errlen, "create: %s is missing or not valid UTF-8", b.what);
    else
        *out = s;
    json_decref(root);
    return b.rv;
}

int docker_container_create(docker *d, const docker_create_opts *o, char id[DOCKER_ID_MAX + 1],
                            char *err, size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    char *body = NULL, *name = NULL;
    json_t *root = NULL;
    const char *new_id;
    int rv;

    if (o == NULL || o->image == NULL || o->image[0] == '\0') {
        sce_seterr(err, errlen, "create: no image");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    rv = create_body(o, &body, err, errlen);
    if (rv != SCE_OK)
        goto out;
    if (o->name != NULL) {
        rv = escape(o->name, &name, err, errlen);
        if (rv != SCE_OK)
            goto out;
        if ((size_t)snprintf(path, sizeof(path), "/containers/create?name=%s", name) >=
            sizeof(path)) {
            sce_seterr(err, errlen, "create: container name too long");
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
    } else {
        snprintf(path, sizeof(path), "/containers/create");
    }
    rv = request_json(d, "POST", path, body, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    new_id = json_string_value(json_object_get(root, "Id"));
    if (!valid_id(new_id)) {
        rv = docker_unexpected("create without a valid Id", err, errlen);
        goto out;
    }
    snprintf(id, DOCKER_ID_MAX + 1, "%s", new_id);
out:
    json_decref(root);
    curl_free(name);
    free(body);
    return rv;
}

int docker_container_start(docker *d, const char *id, char *err, size_t errlen)
{
    /* 304: already started. */
    return container_call(d, "POST", id, "/start", 304, err, errlen);
}

int docker_container_kill(docker *d, const char *id, const char *signal, char *err, size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    char *sig = NULL;
    int rv = docker_check_id(id, err, errlen);

    if (rv != SCE_OK)
        goto out;
    if (signal != NULL) {
        rv = escape(signal, &sig, err, errlen);
        if (rv != SCE_OK)
            goto out;
        if ((size_t)snprintf(path, sizeof(path), "/containers/%s/kill?signal=%s", id, sig) >=
            sizeof(path)) {
            sce_seterr(err, errlen, "kill: signal name too long");
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
    } else {
        snprintf(path, sizeof(path), "/containers/%s/kill", id); /* id checked above */
    }
    /* 409: the container is not running, which is what a kill wants. */
    rv = request_status(d, "POST", path, 409, err, errlen);
out:
    curl_free(sig);
    return rv;
}

int docker_container_wait(docker *d, const char *id, int timeout_ms, int *status_code, char *err,
                          size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    sce_buf answer;
    json_t *root = NULL, *code, *werr;
    long status = 0;
    int rv;

    sce_buf_init(&answer, SCE_DOCKER_BODY_MAX_BYTES);
    rv = container_path(path, id, "/wait", err, errlen);
    if (rv != SCE_OK)
        goto out;
    /* No time left is a deadline already passed, not "wait forever" (which
     * is what 0 would mean to curl). */
    if (timeout_ms <= 0) {
        sce_seterr(err, errlen, "container %.12s: no time left to wait", id);
        rv = SCE_ERR_DEADLINE_EXCEEDED;
        goto out;
    }
    rv = perform(d, "POST", path, NULL, timeout_ms, &status, &answer, err, errlen);
    if (rv == SCE_ERR_DEADLINE_EXCEEDED)
        sce_seterr(err, errlen, "container %.12s did not exit within %d ms", id, timeout_ms);
    if (rv != SCE_OK)
        goto out;
    rv = docker_check_status(status, 0, answer.data, answer.len, err, errlen);
    if (rv != SCE_OK)
        goto out;
    rv = parse_json(&answer, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    /* The engine sends 200 before it waits, so a failure while waiting
     * arrives in the body as {"Error": {"Message": ...}}. */
    werr = json_object_get(root, "Error");
    if (json_is_object(werr)) {
        const char *m = json_string_value(json_object_get(werr, "Message"));
        char msg[512];
        sce_utf8_clean_line(m ? m : "?", m ? strlen(m) : 1, msg, sizeof(msg));
        sce_seterr(err, errlen, "engine error while waiting: %s", msg);
        rv = SCE_ERR_INTERNAL;
        goto out;
    }
    code = json_object_get(root, "StatusCode");
    if (!json_is_integer(code)) {
        rv = docker_unexpected("wait without StatusCode", err, errlen);
        goto out;
    }
    *status_code = (int)json_integer_value(code);
out:
    json_decref(root);
    sce_buf_free(&answer);
    return rv;
}

int docker_container_inspect(docker *d, const char *id, docker_state *st, char *err, size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    json_t *root = NULL, *s;
    docker_state tmp;
    int rv = container_path(path, id, "/json", err, errlen);

    if (rv != SCE_OK)
        goto out;
    rv = request_json(d, "GET", path, NULL, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    s = json_object_get(root, "State");
    if (!json_is_object(s) || !json_is_string(json_object_get(s, "Status"))) {
        rv = docker_unexpected("inspect without State", err, errlen);
        goto out;
    }
    memset(&tmp, 0, sizeof(tmp));
    tmp.running = json_is_true(json_object_get(s, "Running"));
    tmp.exit_code = (int)json_integer_value(json_object_get(s, "ExitCode"));
    tmp.oom_killed = json_is_true(json_object_get(s, "OOMKilled"));
    copy_str(tmp.status, sizeof(tmp.status), json_string_value(json_object_get(s, "Status")));
    copy_str(tmp.started_at, sizeof(tmp.started_at),
             json_string_value(json_object_get(s, "StartedAt")));
    copy_str(tmp.finished_at, sizeof(tmp.finished_at),
             json_string_value(json_object_get(s, "FinishedAt")));
    *st = tmp;
out:
    json_decref(root);
    return rv;
}

int docker_container_remove(docker *d, const char *id, char *err, size_t errlen)
{
    /* 404: already gone, which is what a remove wants. */
    return container_call(d, "DELETE", id, "?force=1&v=1", 404, err, errlen);
}

int docker_container_list(docker *d, const char *label_filter, const char *instance_label,
                          docker_container_info **out, size_t *n, char *err, size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    json_t *root = NULL, *filters = NULL, *item;
    char *fjson = NULL, *fesc = NULL;
    docker_container_info *v = NULL;
    size_t count = 0, i;
    int rv = SCE_OK;

    if (label_filter != NULL) {
        filters = json_pack("{s:[s]}", "label", label_filter);
        fjson = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
        if (fjson == NULL) {
            sce_seterr(err, errlen, "list: label filter is not valid UTF-8");
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
        rv = escape(fjson, &fesc, err, errlen);
        if (rv != SCE_OK)
            goto out;
        if ((size_t)snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", fesc) >=
            sizeof(path)) {
            sce_seterr(err, errlen, "list: label filter too long");
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
    } else {
        snprintf(path, sizeof(path), "/containers/json?all=1");
    }
    rv = request_json(d, "GET", path, NULL, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    if (!json_is_array(root)) {
        rv = docker_unexpected("container list is not an array", err, errlen);
        goto out;
    }
    count = json_array_size(root);
    if (count > 0) {
        v = calloc(count, sizeof(*v));
        if (v == NULL) {
            sce_seterr(err, errlen, "out of memory");
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
    }
    json_array_foreach(root, i, item)
    {
        const char *cid = json_string_value(json_object_get(item, "Id"));
        const char *inst = NULL;
        if (!valid_id(cid)) {
            rv = docker_unexpected("container list item without a valid Id", err, errlen);
            goto out;
        }
        copy_str(v[i].id, sizeof(v[i].id), cid);
        v[i].created = (int64_t)json_integer_value(json_object_get(item, "Created"));
        copy_str(v[i].state, sizeof(v[i].state), json_string_value(json_object_get(item, "State")));
        if (instance_label != NULL)
            inst =
                json_string_value(json_object_get(json_object_get(item, "Labels"), instance_label));
        copy_str(v[i].instance, sizeof(v[i].instance), inst);
    }
    *out = v;
    *n = count;
    v = NULL;
out:
    free(v);
    json_decref(root);
    json_decref(filters);
    free(fjson);
    curl_free(fesc);
    return rv;
}

int docker_image_inspect(docker *d, const char *image, docker_image_info *info, char *err,
                         size_t errlen)
{
    char path[SCE_DOCKER_PATH_MAX_BYTES];
    char *name = NULL;
    json_t *root = NULL;
    const char *iid, *ver;
    int rv = SCE_OK;

    if (image == NULL || image[0] == '\0') {
        sce_seterr(err, errlen, "image inspect: no image name");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    /* "registry:5000/org/python:3.12" has ':' and '/': both are escaped so
     * the name stays one path segment whatever it contains. */
    rv = escape(image, &name, err, errlen);
    if (rv != SCE_OK)
        goto out;
    if ((size_t)snprintf(path, sizeof(path), "/images/%s/json", name) >= sizeof(path)) {
        sce_seterr(err, errlen, "image name too long");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    rv = request_json(d, "GET", path, NULL, &root, err, errlen);
    if (rv != SCE_OK)
        goto out;
    iid = json_string_value(json_object_get(root, "Id"));
    if (iid == NULL) {
        rv = docker_unexpected("image inspect without Id", err, errlen);
        goto out;
    }
    /* Imported images have "Labels": null; that is "no version", not an
     * error. */
    ver = json_string_value(json_object_get(
        json_object_get(json_object_get(root, "Config"), "Labels"), "org.sce.version"));
    copy_str(info->id, sizeof(info->id), iid);
    copy_str(info->version_label, sizeof(info->version_label), ver);
out:
    json_decref(root);
    curl_free(name);
    return rv;
}
