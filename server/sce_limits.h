/*
 * sce_limits.h - every cap and timeout of the server named in one place.
 *
 * The SCE_DEF_* strings are the defaults of configurable options (see
 * options.c, where each is bounded); the SCE_* numbers are fixed caps that
 * protect the server itself and are not configurable.
 */
#ifndef SCE_LIMITS_H
#define SCE_LIMITS_H

/* ---- defaults of the standard limit set (configurable) ---- */
#define SCE_DEF_TIMEOUT "10s"          /* wall time of one run */
#define SCE_DEF_MEMORY "128m"          /* memory; swap is set equal, so no swap */
#define SCE_DEF_CPUS "1"               /* CPUs */
#define SCE_DEF_PIDS "64"              /* processes + threads */
#define SCE_DEF_TMPFS "16m"            /* the writable /tmp */
#define SCE_DEF_OUTPUT "64k"           /* per stream (stdout, stderr) */
#define SCE_DEF_CODE_CHARS "5000"      /* characters of `code` */
#define SCE_DEF_STDIN "1m"             /* the program's stdin */
#define SCE_DEF_PROJECT "1m"           /* total bytes of a file bundle */
#define SCE_DEF_FILES "200"            /* files in a bundle */
#define SCE_DEF_ARGS "64"              /* program arguments */
#define SCE_DEF_ARG_BYTES "4096"       /* bytes of one argument */
#define SCE_DEF_USER "65534:65534"     /* nobody:nogroup */

/* ---- hardening beyond the standard set (configurable; docs/SECURITY.md) ---- */
#define SCE_DEF_SECCOMP "sce"          /* the embedded profile, server/seccomp.json */
#define SCE_DEF_NOFILE "256"           /* open files per process */
#define SCE_DEF_FSIZE "16m"            /* largest file written (= the /tmp tmpfs) */
#define SCE_DEF_NPROC "0"              /* RLIMIT_NPROC: off; counted per uid host-wide */
#define SCE_DEF_IPC "private"          /* a private IPC namespace */
#define SCE_DEF_SHM "16m"              /* its /dev/shm (counted in the memory limit) */
#define SCE_DEF_HOSTNAME "sandbox"     /* one fixed hostname for every run */
#define SCE_SECCOMP_FILE_MAX_BYTES (1 << 20) /* a seccomp profile read from a file */

/* ---- server capacity (configurable) ---- */
#define SCE_DEF_LISTEN "tcp://127.0.0.1:7700"
#define SCE_DEF_WORKERS "8"            /* runs at once */
#define SCE_DEF_QUEUE "32"             /* accepted requests waiting for a worker */
#define SCE_DEF_MESSAGE "8m"           /* largest request message accepted */
#define SCE_DEF_DOCKER_TIMEOUT "30s"   /* one Engine API call */
#define SCE_DEF_SWEEP "60s"            /* leftover sweep period */
#define SCE_DEF_STALE "10m"            /* a labelled container older than this is a leftover */

/* ---- the warm pool (configurable) ---- */
#define SCE_DEF_POOL_SIZE "4"          /* ready containers per language; 0 = off */
#define SCE_DEF_POOL_REFILL "2"        /* containers prepared at once */
#define SCE_DEF_POOL_IDLE "5m"         /* a ready container older than this is recycled */

/* ---- batches and history (configurable) ---- */
#define SCE_DEF_BATCH_LIMIT "5"        /* tasks of one RunBatch */
#define SCE_DEF_HISTORY "on"           /* record every run */
#define SCE_DEF_HISTORY_PATH "/var/lib/sce/history.db"
#define SCE_DEF_HISTORY_MAX_ENTRIES "10000"
#define SCE_DEF_HISTORY_MAX_AGE "43200m" /* 30 days (durations take ms, s, m) */

/* ---- fixed caps ---- */
#define SCE_HISTORY_PAGE_DEFAULT 20        /* History rows when the request says 0 */
#define SCE_HISTORY_PAGE_MAX 100           /* at most this many rows per page (history_budget.h) */
#define SCE_HISTORY_READERS 2              /* threads serving History, apart from the workers */
#define SCE_HISTORY_READ_QUEUE 8           /* History reads waiting for them; then RESOURCE_EXHAUSTED */
#define SCE_MIN_MEMORY_BYTES (16LL << 20)  /* below this an interpreter cannot start */
#define SCE_MIN_TIMEOUT_MS 100
#define SCE_KILL_DRAIN_MS 1000             /* output still read after a kill */
#define SCE_EXIT_GRACE_MS 2000             /* wait for the exit status after EOF */
#define SCE_OOM_FLAG_RETRIES 10            /* inspects after an unexplained SIGKILL, */
#define SCE_OOM_FLAG_RETRY_MS 50           /* this far apart, for a late OOM flag */
#define SCE_IO_CHUNK 65536                 /* one read from the attach stream */
#define SCE_RUNNER_BAD_BUNDLE 125          /* runner's exit code for a bundle it rejects */
#define SCE_MESSAGE_MAX 512                /* the one-line human message */
#define SCE_LISTEN_CHECK_MS 1000           /* an ipc listener with no new pipe is probed */
#define SCE_LISTEN_PROBE_MS 5000           /* the probe's connect and handshake */
#define SCE_LISTEN_PIPE_MS 2000            /* then the socket's new pipe */

#endif
