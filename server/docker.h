/*
 * docker.h - the Docker Engine API over its unix socket, through libcurl.
 *
 * This module (docker.c, the plain calls, and docker_attach.c, the attach
 * stream; the sce_docker library) is the only one that speaks Docker HTTP.  It never runs the docker
 * CLI and never mounts a host path, so the server works the same against a
 * remote engine reached through a forwarded socket.
 *
 * Every call is blocking, uses its own curl easy handle (one connection to
 * the socket), and has a bounded time: `request_timeout_ms` from
 * docker_open for ordinary calls, the caller's value for wait.  A `docker`
 * handle is immutable after docker_open, so one handle is shared by all
 * threads; a docker_attach belongs to one thread at a time.
 *
 * Errors (sce_err) and the one-line message written to err:
 *   SCE_ERR_UNAVAILABLE  the socket cannot be reached, the connection dropped,
 *                        or the engine did not answer in time
 *                        ("cannot reach the Docker engine at /var/run/docker.sock:
 *                        Couldn't connect to server")
 *   SCE_ERR_NOT_FOUND    the engine answered 404 (no such image / container);
 *                        the message is the engine's own
 *   SCE_ERR_INTERNAL     any other non-2xx answer ("engine error 500: <message>")
 *                        or an answer that is not the JSON we expect
 *   SCE_ERR_NO_MEMORY    out of memory (INTERNAL, "out of memory")
 * The engine's JSON {"message": "..."} is quoted in err when present.
 */
#ifndef SCE_DOCKER_H
#define SCE_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#define DOCKER_ID_MAX 64 /* full container id, hex */

typedef struct docker docker;

/* socket_path: "/var/run/docker.sock"; api_version: "v1.41" (the URL prefix,
 * "" for none); request_timeout_ms bounds every call except wait. */
int docker_open(const char *socket_path, const char *api_version, int request_timeout_ms,
                docker **out, char *err, size_t errlen);
void docker_close(docker *d);

/* GET /_ping then GET /version; version gets the engine's Version
 * ("20.10.24+dfsg1") and api its ApiVersion ("1.41"); either may be NULL. */
int docker_ping(docker *d, char *version, size_t vlen, char *api, size_t alen, char *err,
                size_t errlen);

/* An OCI runtime the engine knows (GET /info, "Runtimes"). */
#define DOCKER_RUNTIME_ARGS_MAX 16
typedef struct docker_runtime {
    char name[64];  /* the engine's name for it; the default's when asked for "" */
    char path[256]; /* its binary: "runc", "/usr/bin/runsc" */
    char args[DOCKER_RUNTIME_ARGS_MAX][64]; /* its runtimeArgs (the first ones) */
    size_t nargs;
} docker_runtime;

/* GET /info: the runtime called `name` ("" or NULL: the engine's
 * DefaultRuntime).  SCE_ERR_NOT_FOUND when the engine has no such runtime. */
int docker_runtime_find(docker *d, const char *name, docker_runtime *out, char *err,
                        size_t errlen);

typedef struct docker_label {
    const char *key;
    const char *value;
} docker_label;

typedef struct docker_ulimit {
    const char *name; /* "nofile", "fsize", "core", "nproc" */
    int64_t soft;
    int64_t hard;
} docker_ulimit;

/* Everything POST /containers/create needs.  Strings are borrowed. */
typedef struct docker_create_opts {
    const char *name;               /* NULL: the engine names it */
    const char *image;
    const char *const *cmd;         /* argv, ncmd entries */
    size_t ncmd;
    const char *const *env;         /* "KEY=value" */
    size_t nenv;
    const char *user;               /* "65534:65534" */
    const char *working_dir;        /* "/tmp" */
    const char *hostname;           /* NULL: engine default */
    const docker_label *labels;
    size_t nlabels;
    /* Stdin/stdout/stderr are always attached, OpenStdin+StdinOnce, Tty off. */

    /* HostConfig */
    int64_t memory_bytes;           /* Memory */
    int64_t memory_swap_bytes;      /* MemorySwap (memory + swap) */
    int64_t nano_cpus;              /* NanoCpus (1e9 = one CPU) */
    int64_t pids_limit;             /* PidsLimit */
    const char *tmpfs_path;         /* "/tmp" */
    const char *tmpfs_options;      /* "rw,nosuid,nodev,size=16m,mode=1777" */
    int read_only_rootfs;           /* ReadonlyRootfs */
    int network_disabled;           /* NetworkMode "none" */
    int cap_drop_all;               /* CapDrop ["ALL"] */
    int no_new_privileges;          /* SecurityOpt "no-new-privileges" */
    int init;                       /* Init: tini as PID 1 */
    int log_driver_none;            /* LogConfig {"Type": "none"} */
    const char *runtime;            /* Runtime; NULL: engine default */
    const char *const *security_opt; /* extra SecurityOpt entries ("seccomp=<json>") */
    size_t nsecurity_opt;
    const docker_ulimit *ulimits;
    size_t nulimits;
    const char *ipc_mode;           /* "private"; NULL: engine default */
    int64_t shm_size_bytes;         /* ShmSize; 0: engine default */
    const char *const *masked_paths; /* MaskedPaths: replaces the engine's list */
    size_t nmasked_paths;           /* 0: the engine's default list */
} docker_create_opts;

/* POST /containers/create; the new container's full id goes to id. */
int docker_container_create(docker *d, const docker_create_opts *o, char id[DOCKER_ID_MAX + 1],
                            char *err, size_t errlen);

/* POST /containers/{id}/start (304 "already started" is SCE_OK). */
int docker_container_start(docker *d, const char *id, char *err, size_t errlen);

/* POST /containers/{id}/kill?signal=SIG (409 "not running" is SCE_OK). */
int docker_container_kill(docker *d, const char *id, const char *signal, char *err, size_t errlen);

/* POST /containers/{id}/wait; *status_code gets the exit status.  Waits at
 * most timeout_ms (then SCE_ERR_DEADLINE_EXCEEDED). */
int docker_container_wait(docker *d, const char *id, int timeout_ms, int *status_code, char *err,
                          size_t errlen);

typedef struct docker_state {
    int running;
    int exit_code;
    int oom_killed;
    char status[32];          /* "created", "running", "exited", ... */
    char started_at[40];      /* RFC 3339 as the engine gives it */
    char finished_at[40];
} docker_state;

/* GET /containers/{id}/json, State only. */
int docker_container_inspect(docker *d, const char *id, docker_state *st, char *err,
                             size_t errlen);

/* DELETE /containers/{id}?force=1&v=1 (404 "no such container" is SCE_OK). */
int docker_container_remove(docker *d, const char *id, char *err, size_t errlen);

typedef struct docker_container_info {
    char id[DOCKER_ID_MAX + 1];
    int64_t created;          /* unix seconds */
    char state[32];
    char instance[128];       /* value of the label named in docker_container_list, "" if none */
} docker_container_info;

/* GET /containers/json?all=1&filters={"label":[label_filter]}.
 * label_filter is "key" or "key=value".  instance_label names a label whose
 * value is copied into each item's `instance` (may be NULL).  *out is a
 * malloc'd array of *n items (NULL when n is 0), freed with free(). */
int docker_container_list(docker *d, const char *label_filter, const char *instance_label,
                          docker_container_info **out, size_t *n, char *err, size_t errlen);

typedef struct docker_image_info {
    char id[DOCKER_ID_MAX + 8];   /* "sha256:..." */
    char version_label[64];       /* label org.sce.version, "" if none */
} docker_image_info;

/* GET /images/{name}/json.  SCE_ERR_NOT_FOUND when the image is missing. */
int docker_image_inspect(docker *d, const char *image, docker_image_info *info, char *err,
                         size_t errlen);

/* ---------------------------------------------------------------- attach
 * (docker_attach.c)
 *
 * A hijacked, duplex byte stream to the container's stdio:
 * POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 with
 * Connection: Upgrade / Upgrade: tcp, over a CURLOPT_CONNECT_ONLY connection.
 * Open it BEFORE start so no output is lost.  After the engine's
 * "101 UPGRADED" (or 200) header, bytes written go to the program's stdin and
 * bytes read are the multiplexed stdout/stderr frames (see docker_stream.h);
 * any bytes that arrived together with the response header are returned by
 * the first docker_attach_recv calls.
 *
 * send/recv never block: the caller polls docker_attach_fd() (POLLIN/POLLOUT).
 */
typedef struct docker_attach docker_attach;

int docker_attach_open(docker *d, const char *id, docker_attach **out, char *err, size_t errlen);

/* The socket, for poll(2).  Owned by the attach: do not close it. */
int docker_attach_fd(const docker_attach *a);

/* Writes up to n bytes; *sent = 0 means the socket is full (poll POLLOUT). */
int docker_attach_send(docker_attach *a, const void *p, size_t n, size_t *sent, char *err,
                       size_t errlen);

/* Reads up to n bytes.  *got > 0: data; *got == 0 and *eof == 0: nothing
 * yet (poll POLLIN); *eof == 1: the engine closed the stream (the program's
 * stdout and stderr are done). */
int docker_attach_recv(docker_attach *a, void *p, size_t n, size_t *got, int *eof, char *err,
                       size_t errlen);

/* Half-closes the write side: the program sees EOF on stdin. */
int docker_attach_close_write(docker_attach *a, char *err, size_t errlen);

/* Closes the connection and frees.  NULL is accepted. */
void docker_attach_close(docker_attach *a);

#endif
