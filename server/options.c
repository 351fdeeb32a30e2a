/*
 * options.c - the table of sce-server's options.  Adding an option means a
 * field in options.h, a row here and a line in
 * config/sce-server.conf.example; then `tests/docs/options_docs.py --write`
 * regenerates docs/ARCHITECTURE.md's table (the docs_options test says so).
 */
#include "options.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "sce_limits.h"
#include "common/seterr.h"

/* One row a option: SCE_OPTION(server_options, key, env, type, field,
 * default, min, max, help); bounds "1, 0" (min > max) mean unbounded.  The
 * defaults are named in sce_limits.h. */
static const sce_option server_opts[] = {
    SCE_OPTION(server_options, "listen", "SCE_LISTEN", SCE_OPT_STRING, listen, SCE_DEF_LISTEN, 1, 0,
               "nng URL to serve on (tcp://HOST:PORT, ipc:///path)"),
    SCE_OPTION(server_options, "docker_socket", "SCE_DOCKER_SOCKET", SCE_OPT_STRING, docker_socket,
               SCE_DEF_DOCKER_SOCKET, 1, 0, "the Docker Engine API unix socket"),
    SCE_OPTION(server_options, "docker_api_version", "SCE_DOCKER_API_VERSION", SCE_OPT_STRING,
               docker_api_version, SCE_DEF_DOCKER_API_VERSION, 1, 0,
               "Engine API version prefix of every request"),
    SCE_OPTION(server_options, "docker_timeout", "SCE_DOCKER_TIMEOUT", SCE_OPT_MS,
               docker_timeout_ms, SCE_DEF_DOCKER_TIMEOUT, 1000, 600000,
               "longest wait for one Engine API call"),
    SCE_OPTION(server_options, "workers", "SCE_WORKERS", SCE_OPT_INT, workers, SCE_DEF_WORKERS, 1,
               256, "runs executed at once"),
    SCE_OPTION(server_options, "queue_depth", "SCE_QUEUE_DEPTH", SCE_OPT_INT, queue_depth,
               SCE_DEF_QUEUE, 0, 4096,
               "requests waiting for a worker; beyond it: RESOURCE_EXHAUSTED"),
    SCE_OPTION(server_options, "message_limit", "SCE_MESSAGE_LIMIT", SCE_OPT_BYTES,
               message_limit_bytes, SCE_DEF_MESSAGE, 4096, 1 << 30,
               "largest request message accepted"),

    SCE_OPTION(server_options, "timeout", "SCE_TIMEOUT", SCE_OPT_MS, timeout_ms, SCE_DEF_TIMEOUT,
               SCE_MIN_TIMEOUT_MS, 3600000,
               "wall-time limit of a run (requests may only lower it)"),
    SCE_OPTION(server_options, "memory", "SCE_MEMORY", SCE_OPT_BYTES, memory_bytes, SCE_DEF_MEMORY,
               SCE_MIN_MEMORY_BYTES, 64LL << 30,
               "memory limit of a run; swap is set equal (no swap)"),
    SCE_OPTION(server_options, "cpus", "SCE_CPUS", SCE_OPT_DOUBLE, cpus, SCE_DEF_CPUS, 0.01, 256,
               "CPUs of a run"),
    SCE_OPTION(server_options, "pids_limit", "SCE_PIDS_LIMIT", SCE_OPT_INT, pids_limit,
               SCE_DEF_PIDS, 8, 65536, "processes and threads of a run"),
    SCE_OPTION(server_options, "tmpfs_size", "SCE_TMPFS_SIZE", SCE_OPT_BYTES, tmpfs_bytes,
               SCE_DEF_TMPFS, 1 << 20, 1LL << 30, "size of the writable /tmp of a run"),
    SCE_OPTION(server_options, "output_limit", "SCE_OUTPUT_LIMIT", SCE_OPT_BYTES,
               output_limit_bytes, SCE_DEF_OUTPUT, 1024, 64 << 20,
               "bytes kept per stream (stdout, stderr); more is OUTPUT_LIMIT"),
    SCE_OPTION(server_options, "code_limit", "SCE_CODE_LIMIT", SCE_OPT_INT, code_limit_chars,
               SCE_DEF_CODE_CHARS, 1, 10000000, "characters of single-file code"),
    SCE_OPTION(server_options, "stdin_limit", "SCE_STDIN_LIMIT", SCE_OPT_BYTES, stdin_limit_bytes,
               SCE_DEF_STDIN, 0, 64 << 20, "bytes of a run's stdin"),
    SCE_OPTION(server_options, "project_limit", "SCE_PROJECT_LIMIT", SCE_OPT_BYTES,
               project_limit_bytes, SCE_DEF_PROJECT, 1024, 64 << 20,
               "total bytes of a multi-file bundle"),
    SCE_OPTION(server_options, "files_limit", "SCE_FILES_LIMIT", SCE_OPT_INT, files_limit,
               SCE_DEF_FILES, 1, 10000, "files in a bundle"),
    SCE_OPTION(server_options, "args_limit", "SCE_ARGS_LIMIT", SCE_OPT_INT, args_limit,
               SCE_DEF_ARGS, 0, 4096, "arguments of a run"),
    SCE_OPTION(server_options, "arg_limit", "SCE_ARG_LIMIT", SCE_OPT_BYTES, arg_limit_bytes,
               SCE_DEF_ARG_BYTES, 1, 1 << 20, "bytes of one argument"),
    SCE_OPTION(server_options, "user", "SCE_USER", SCE_OPT_STRING, user, SCE_DEF_USER, 1, 0,
               "uid:gid the program runs as (never root)"),
    SCE_OPTION(server_options, "runtime", "SCE_RUNTIME", SCE_OPT_STRING, runtime, SCE_DEF_RUNTIME,
               1, 0, "OCI runtime of every language (runc, runsc for gVisor); empty: the engine's default"),

    SCE_OPTION(server_options, "seccomp", "SCE_SECCOMP", SCE_OPT_STRING, seccomp, SCE_DEF_SECCOMP,
               1, 0,
               "seccomp profile: sce (the built-in one), engine (the engine's default) or the path "
               "of a profile in Docker's JSON format; unconfined is refused"),
    SCE_OPTION(server_options, "nofile_limit", "SCE_NOFILE_LIMIT", SCE_OPT_INT, nofile_limit,
               SCE_DEF_NOFILE, 16, 1048576, "open files per process of a run"),
    SCE_OPTION(server_options, "fsize_limit", "SCE_FSIZE_LIMIT", SCE_OPT_BYTES, fsize_limit_bytes,
               SCE_DEF_FSIZE, 1 << 20, 64LL << 30,
               "largest file a run may write (keep it >= project_limit)"),
    SCE_OPTION(server_options, "nproc_limit", "SCE_NPROC_LIMIT", SCE_OPT_INT, nproc_limit,
               SCE_DEF_NPROC, 0, 1048576,
               "RLIMIT_NPROC (counted per uid across the host, not per run); 0: not set"),
    SCE_OPTION(server_options, "ipc_mode", "SCE_IPC_MODE", SCE_OPT_STRING, ipc_mode, SCE_DEF_IPC, 1,
               0, "private (own IPC namespace and /dev/shm) or none (no /dev/shm at all)"),
    SCE_OPTION(server_options, "shm_size", "SCE_SHM_SIZE", SCE_OPT_BYTES, shm_size_bytes,
               SCE_DEF_SHM, 1 << 20, 1LL << 30,
               "size of /dev/shm with ipc_mode private (counted in the memory limit)"),
    SCE_OPTION(server_options, "hostname", "SCE_HOSTNAME", SCE_OPT_STRING, hostname,
               SCE_DEF_HOSTNAME, 1, 0,
               "hostname every run sees (letters, digits, '-', at most 63)"),

    SCE_OPTION(server_options, "pool_size", "SCE_POOL_SIZE", SCE_OPT_INT, pool_size,
               SCE_DEF_POOL_SIZE, 0, 256,
               "warm containers kept ready per language (0: every run starts its own)"),
    SCE_OPTION(server_options, "pool_refill_concurrency", "SCE_POOL_REFILL_CONCURRENCY",
               SCE_OPT_INT, pool_refill_concurrency, SCE_DEF_POOL_REFILL, 1, 64,
               "warm containers prepared at once"),
    SCE_OPTION(server_options, "pool_max_idle", "SCE_POOL_MAX_IDLE", SCE_OPT_MS, pool_max_idle_ms,
               SCE_DEF_POOL_IDLE, 1000, 86400000, "a warm container unused this long is replaced"),

    SCE_OPTION(server_options, "batch_limit", "SCE_BATCH_LIMIT", SCE_OPT_INT, batch_limit,
               SCE_DEF_BATCH_LIMIT, 1, 64,
               "tasks of one RunBatch, run at once; more is INVALID_ARGUMENT"),

    SCE_OPTION(server_options, "history", "SCE_HISTORY", SCE_OPT_BOOL, history, SCE_DEF_HISTORY, 1,
               0, "record every run in the history database (off: History answers enabled=false)"),
    SCE_OPTION(server_options, "history_path", "SCE_HISTORY_PATH", SCE_OPT_STRING, history_path,
               SCE_DEF_HISTORY_PATH, 1, 0, "the SQLite history database; its directory is created"),
    SCE_OPTION(server_options, "history_url", "SCE_HISTORY_URL", SCE_OPT_STRING, history_url,
               SCE_DEF_HISTORY_URL, 1, 0,
               "postgres://USER@HOST:PORT/DB: one history in PostgreSQL shared by several "
               "servers (history_path is then unused; prefer PGPASSWORD or ~/.pgpass to a "
               "password in the URL); empty: SQLite"),
    SCE_OPTION(server_options, "history_max_entries", "SCE_HISTORY_MAX_ENTRIES", SCE_OPT_INT,
               history_max_entries, SCE_DEF_HISTORY_MAX_ENTRIES, 0, 100000000,
               "runs kept in the history (0: no bound)"),
    SCE_OPTION(server_options, "history_max_age", "SCE_HISTORY_MAX_AGE", SCE_OPT_MS,
               history_max_age_ms, SCE_DEF_HISTORY_MAX_AGE, 0, 3650.0 * 86400000,
               "older runs are dropped (0: no bound)"),

    SCE_OPTION(server_options, "python_image", "SCE_PYTHON_IMAGE", SCE_OPT_STRING, python_image,
               SCE_DEF_PYTHON_IMAGE, 1, 0, "image for python (needs python3 on PATH)"),
    SCE_OPTION(server_options, "node_image", "SCE_NODE_IMAGE", SCE_OPT_STRING, node_image,
               SCE_DEF_NODE_IMAGE, 1, 0, "image for node (needs node on PATH)"),
    SCE_OPTION(server_options, "python_runtime", "SCE_PYTHON_RUNTIME", SCE_OPT_STRING,
               python_runtime, SCE_DEF_LANG_RUNTIME, 1, 0, "OCI runtime for python; empty: the runtime option's"),
    SCE_OPTION(server_options, "node_runtime", "SCE_NODE_RUNTIME", SCE_OPT_STRING, node_runtime,
               SCE_DEF_LANG_RUNTIME, 1, 0, "OCI runtime for node; empty: the runtime option's"),

    SCE_OPTION(
        server_options, "instance", "SCE_INSTANCE", SCE_OPT_STRING, instance, SCE_DEF_INSTANCE, 1,
        0, "name of this server on the engine; a restart removes the leftovers of the same name"),
    SCE_OPTION(server_options, "sweep_interval", "SCE_SWEEP_INTERVAL", SCE_OPT_MS,
               sweep_interval_ms, SCE_DEF_SWEEP, 1000, 86400000,
               "how often leftover containers are looked for"),
    SCE_OPTION(server_options, "stale_after", "SCE_STALE_AFTER", SCE_OPT_MS, stale_after_ms,
               SCE_DEF_STALE, 60000, 604800000, "age after which any sce container is a leftover"),
    SCE_OPTION(server_options, "log_level", "SCE_LOG_LEVEL", SCE_OPT_STRING, log_level,
               SCE_DEF_LOG_LEVEL, 1, 0,
               "debug, info, warn or error (debug logs user code and output)"),
};

const sce_config_spec server_options_spec = {
    "sce-server",
    "SCE_CONFIG",
    server_opts,
    sizeof(server_opts) / sizeof(server_opts[0]),
};

/* One decimal id: digits only (no sign, no blanks), at most 2^31 - 1. */
static int parse_id(const char *s, size_t len, unsigned long *out)
{
    unsigned long v = 0;

    if (len == 0 || len > 10 || strspn(s, "0123456789") < len)
        return -1;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (unsigned long)(s[i] - '0');
    if (v > 2147483647UL)
        return -1;
    *out = v;
    return 0;
}

int options_check_user(const char *user, char *err, size_t errlen)
{
    const char *colon = strchr(user, ':');
    unsigned long uid, gid;

    if (colon == NULL || parse_id(user, (size_t)(colon - user), &uid) != 0 ||
        parse_id(colon + 1, strlen(colon + 1), &gid) != 0) {
        sce_seterr(err, errlen, "user: expected UID:GID in decimal (e.g. 65534:65534), got '%s'",
                   user);
        return -1;
    }
    if (uid == 0 || gid == 0) {
        sce_seterr(err, errlen,
                   "user: '%s' would run programs as root (%s 0); use a non-root "
                   "uid:gid",
                   user, uid == 0 ? "uid" : "gid");
        return -1;
    }
    return 0;
}
