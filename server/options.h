/*
 * options.h - sce-server's configuration: one struct, one table.
 *
 * Filled by sce_config_load (common/config.h) from defaults < config file <
 * SCE_* environment < flags; immutable once the server runs, so every
 * thread reads it without locking.  docs/ARCHITECTURE.md and
 * config/sce-server.conf.example list the same options.
 */
#ifndef SCE_SERVER_OPTIONS_H
#define SCE_SERVER_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

typedef struct server_options {
    char *listen;
    char *docker_socket;
    char *docker_api_version;
    int64_t docker_timeout_ms;
    int64_t workers;
    int64_t queue_depth;
    int64_t message_limit_bytes;

    int64_t timeout_ms;
    int64_t memory_bytes;
    double cpus;
    int64_t pids_limit;
    int64_t tmpfs_bytes;
    int64_t output_limit_bytes;
    int64_t code_limit_chars;
    int64_t stdin_limit_bytes;
    int64_t project_limit_bytes;
    int64_t files_limit;
    int64_t args_limit;
    int64_t arg_limit_bytes;
    char *user;
    char *runtime;

    /* Hardening beyond the standard limit set (docs/SECURITY.md). */
    char *seccomp;            /* "sce" (embedded), "engine" (its default) or a profile's path */
    int64_t nofile_limit;     /* RLIMIT_NOFILE, soft = hard */
    int64_t fsize_limit_bytes; /* RLIMIT_FSIZE: largest file a program may write */
    int64_t nproc_limit;      /* RLIMIT_NPROC; 0: not set (pids_limit is the process cap) */
    char *ipc_mode;           /* "private" or "none" */
    int64_t shm_size_bytes;   /* /dev/shm of a private IPC namespace */
    char *hostname;           /* the container's hostname */

    int64_t pool_size;
    int64_t pool_refill_concurrency;
    int64_t pool_max_idle_ms;

    int64_t batch_limit;

    int history;
    char *history_path;
    char *history_url; /* "": SQLite at history_path; postgres://...: PostgreSQL */
    int64_t history_max_entries;
    int64_t history_max_age_ms;

    char *python_image;
    char *node_image;
    char *python_runtime; /* "": `runtime` */
    char *node_runtime;

    char *instance;
    int64_t sweep_interval_ms;
    int64_t stale_after_ms;
    char *log_level;
} server_options;

extern const sce_config_spec server_options_spec;

/* Checks the `user` option: "UID:GID", both decimal numbers, neither 0.
 * Names are refused (an image's /etc/passwd could map any name to uid 0),
 * and so is a bare uid (the engine then gives the process gid 0).  The
 * values are compared as numbers, so "00", "+0" and "00:00" are root too.
 * Returns 0, or -1 with the reason in err. */
int options_check_user(const char *user, char *err, size_t errlen);

#endif
