/*
 * sce_limits.h - every cap, timeout and default of the server named in one
 * place.
 *
 * The SCE_DEF_* strings are the defaults of configurable options (see
 * options.c, where each is bounded); the SCE_* numbers are fixed caps,
 * waits and periods that protect the server itself and are not
 * configurable.  Each name carries its unit (_MS, _S, _BYTES, _CHARS, ...).
 * The sce_docker library (docker.c, docker_attach.c) includes this file
 * too, for its own caps.
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

/* ---- the engine and the images (configurable) ---- */
#define SCE_DEF_DOCKER_SOCKET "/var/run/docker.sock" /* the Engine API's unix socket */
#define SCE_DEF_DOCKER_API_VERSION "v1.41" /* the URL prefix of every Engine API call */
#define SCE_DEF_PYTHON_IMAGE "sce-python:latest" /* built by scripts/images.sh */
#define SCE_DEF_NODE_IMAGE "sce-node:latest"   /* built by scripts/images.sh */
#define SCE_DEF_RUNTIME ""             /* the engine's default runtime */
#define SCE_DEF_LANG_RUNTIME ""        /* a language's own runtime: none, `runtime` applies */
/* On gVisor the run's processes are the sandbox kernel's tasks, capped by
 * RLIMIT_NPROC at pids_limit inside it (it counts that sandbox only); the
 * host's pids cgroup holds gVisor's own threads and one or more host
 * threads per task (measured: 38 for a hello, 330 for 64 processes), so it
 * gets this much room, as a bound on gVisor itself. */
#define SCE_GVISOR_HOST_PIDS_BASE 256
#define SCE_GVISOR_HOST_PIDS_PER_TASK 8
/* A gVisor run's runner waits this long after its end marker, so that its
 * container's host cgroup (its peak memory) can still be read; the server
 * kills the container as soon as it has read it. */
#define SCE_GVISOR_LINGER_MS 3000
#define SCE_DEF_INSTANCE "default"     /* this server's name on the engine (labels, sweeps) */
#define SCE_DEF_LOG_LEVEL "info"       /* debug logs user code and output */

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
#define SCE_DEF_HISTORY_URL ""         /* empty: SQLite at history_path; postgres://...: PostgreSQL */
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
#define SCE_OOM_FLAG_RETRIES 30            /* inspects after an unexplained SIGKILL (1.5 s: */
#define SCE_OOM_FLAG_RETRY_MS 50           /* a loaded gVisor host was seen later than 0.5 s) */
#define SCE_IO_CHUNK 65536                 /* one read from the attach stream */
#define SCE_RUNNER_BAD_BUNDLE 125          /* runner's exit code for a bundle it rejects */
#define SCE_MESSAGE_MAX 512                /* the one-line human message */
#define SCE_LISTEN_CHECK_MS 1000           /* an ipc listener with no new pipe is probed */
#define SCE_LISTEN_PROBE_MS 5000           /* the probe's connect and handshake */
#define SCE_LISTEN_PIPE_MS 2000            /* then the socket's new pipe */
#define SCE_LANGUAGES_MAX 8                /* languages the table may hold (pool lists, Languages answer) */
#define SCE_PROBE_OUTPUT_MAX_BYTES 4096    /* output kept of a language's version probe */

/* ---- random identifiers (hex: twice as many digits) ---- */
#define SCE_NONCE_BYTES 16                 /* a run's end-marker nonce: 128 bits, never guessable */
#define SCE_REQUEST_ID_BYTES 8             /* the server's own request id (16 hex digits) */
#define SCE_BOOT_ID_BYTES 8                /* this process's boot id, the org.sce.boot label */
#define SCE_REQUEST_ID_MAX_CHARS 32        /* a client's request id longer than this is replaced */

/* ---- start-up checks and the probe (main.c) ---- */
#define SCE_PROBE_RETRY_MS 10000           /* a language whose image did not answer is probed again */
#define SCE_STALE_MARGIN_MS 60000          /* stale_after must exceed the longest run by this much */
#define SCE_INSTANCE_MAX_CHARS 100         /* the instance name (a container label) */

/* ---- the RPC front (rpc.c) ---- */
#define SCE_RPC_SPARE_SLOTS 8              /* contexts kept free to refuse work quickly */
#define SCE_NNG_MESSAGE_MAX_BYTES (64 << 20) /* nng's receive cap: 2 x message_limit, at most this */
#define SCE_SOCKET_CLOSE_WAIT_MS 3000      /* nng_close's bound at shutdown (common/nng_close.h) */
#define SCE_STOP_CANCEL_MS 100             /* at shutdown, pending receives are cancelled this often */

/* ---- followed runs (live.c; the client-visible ones are in sce/client.h) ---- */
#define SCE_LIVE_RUN_ID_BYTES 16          /* a followed run's id: 32 hex digits */
#define SCE_LIVE_STDIN_MAX_BYTES 65536    /* stdin written but not yet read by the program */
#define SCE_LIVE_POLL_MAX_BYTES (1 << 20) /* output in one poll's answer (at least one chunk) */
#define SCE_LIVE_TICK_MS 100              /* the timer: waits that pass, readers gone, forgetting */
#define SCE_LIVE_EXTRA_RUNS 64            /* room for ended runs kept, beyond workers + queue */
#define SCE_LIVE_KEPT_MIN_MS 10000 /* an ended run is kept this long even when room is short */
#define SCE_LIVE_WRITE_CHUNK 16384        /* stdin handed to the attach stream at a time */

/* ---- background engine work yields to runs (activity.c) ---- */
#define SCE_QUIET_OVERLAP_RUNS 2           /* from this many runs at once, no waiting for quiet */
#define SCE_POOL_QUIET_WAIT_MS 1000        /* longest a pool refill yields to runs in progress */
#define SCE_REAPER_QUIET_WAIT_MS 500       /* longest a removal yields to runs in progress */
#define SCE_REAPER_QUIET_BACKLOG 8         /* ... and only while fewer removals are waiting */

/* ---- the warm pool (pool.c) ---- */
#define SCE_POOL_CHECK_MS 1000             /* idle expiry and back-off are checked this often */
#define SCE_POOL_BACKOFF_MS 1000           /* after a failed refill (no engine, no image), doubling */
#define SCE_POOL_BACKOFF_MAX_MS 5000       /* so refills resume at most this long after the engine is back */
#define SCE_POOL_SLOW_PREPARE_MS 5000      /* a refill slower than this is logged as a warning */
#define SCE_POOL_RECYCLE_BATCH 16          /* idle containers recycled per pass */

/* ---- the reaper (reaper.c) ---- */
#define SCE_REAPER_PING_MS 5000            /* the engine is pinged this often */
#define SCE_REAPER_UNTRACKED_GRACE_S 60    /* a container of this boot may be un-tracked this long */
#define SCE_REAPER_LIST_INITIAL 64         /* first size of its id lists (they double as needed) */

/* ---- the Engine API client (docker.c, docker_attach.c) ---- */
#define SCE_DOCKER_BODY_MAX_BYTES (4u << 20) /* a JSON answer: a list of thousands of containers fits */
#define SCE_ATTACH_HEADER_MAX_BYTES (16u << 10) /* the attach answer's header: a few lines */
#define SCE_ATTACH_ERROR_BODY_MAX_BYTES (16u << 10) /* the error text after a refused attach: one line */
#define SCE_DOCKER_PATH_MAX_BYTES 2048     /* a request path: an image name, percent-encoded, fits */
#define SCE_DOCKER_QUOTE_MAX_BYTES 200     /* how much of a non-JSON error body is quoted in err */

/* ---- the history store (history.c) ---- */
#define SCE_HISTORY_TEXT_MAX_BYTES (64 * 1024) /* bytes kept of code, output, stderr */
#define SCE_HISTORY_BUSY_TIMEOUT_MS 5000   /* default wait for an SQLite lock */
#define SCE_HISTORY_QUEUE_MAX_RECORDS 1024 /* records waiting for the writer */
#define SCE_HISTORY_QUEUE_MAX_BYTES (32u << 20) /* their bytes */
#define SCE_HISTORY_PRUNE_INTERVAL_MS 60000 /* retention when nothing is written */
#define SCE_HISTORY_QUERY_WAIT_MS 2000     /* a query waits this long for queued writes */
#define SCE_HISTORY_WARN_INTERVAL_MS 10000 /* at most one lost-runs warning this often */
#define SCE_HISTORY_CACHE_KIB "512"        /* SQLite page cache per connection (a PRAGMA's text) */
#define SCE_HISTORY_TENANT_MAX_BYTES 128   /* a stored tenant name; sce-gateway's are at most 64 */

/* ---- the PostgreSQL history (history_pg.c) ---- */
/* While PostgreSQL is down the runs wait in memory: about 10 minutes of
 * runs at one engine's ceiling (~12 a second), within 64 MiB. */
#define SCE_HISTORY_PG_QUEUE_MAX_RECORDS 8192
#define SCE_HISTORY_PG_QUEUE_MAX_BYTES (64u << 20)
#define SCE_HISTORY_ANSWER_WAIT_MS 1000    /* a run's answer waits this long for its commit */
#define SCE_HISTORY_RETRY_MIN_MS 250       /* first wait before connecting again */
#define SCE_HISTORY_RETRY_MAX_MS 5000      /* the backoff doubles up to this */
#define SCE_HISTORY_CONNECT_TIMEOUT_S "3"  /* libpq connect_timeout (text; the URL may override) */
#define SCE_HISTORY_TCP_TIMEOUT_MS "10000" /* libpq tcp_user_timeout: a silent peer is down */

#endif
