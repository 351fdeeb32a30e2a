/*
 * sce/client.h - libsce, the C client of sce-server.
 *
 * A client holds one nng REQ socket connected (and reconnecting) to the
 * server's URL ("tcp://127.0.0.1:7700", "ipc:///run/sce.sock").  Every call
 * opens its own nng context on that socket, so one sce_client may be used by
 * many threads at once; calls are blocking.
 *
 * Errors: every call returns an sce_err (see sce/err.h).  SCE_OK means the
 * server answered STATUS_OK; any other code is either the server's status
 * (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, ...) or a transport
 * failure (UNAVAILABLE when the server cannot be reached, DEADLINE_EXCEEDED
 * when no answer came within the client's timeout).  A one-line human message
 * is written to the caller's `errbuf` (always NUL-terminated, may be NULL).
 *
 * Ownership: inputs are borrowed for the duration of the call.  Results
 * (*out) are allocated by the library, belong to the caller on SCE_OK only,
 * and are freed with their matching _free function.  On any error *out is
 * left untouched.  The library never aborts on allocation failure: it
 * returns SCE_ERR_NO_MEMORY (= SCE_ERR_INTERNAL; RESOURCE_EXHAUSTED means
 * the server is busy, worth a retry).
 */
#ifndef SCE_CLIENT_H
#define SCE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "sce/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The server's default URL, and the environment variable that overrides it
 * in the sce command-line client. */
#define SCE_DEFAULT_SERVER_URL "tcp://127.0.0.1:7700"
#define SCE_SERVER_ENV "SCE_SERVER"

typedef struct sce_client sce_client;

/* Verdicts, equal to the Verdict enum of proto/sce.proto. */
typedef enum sce_verdict {
    SCE_VERDICT_UNSPECIFIED = 0,
    SCE_VERDICT_OK = 1,
    SCE_VERDICT_RUNTIME_ERROR = 2,
    SCE_VERDICT_TIMEOUT = 3,
    SCE_VERDICT_MEMORY_LIMIT = 4,
    SCE_VERDICT_OUTPUT_LIMIT = 5,
    SCE_VERDICT_REJECTED = 6,
    SCE_VERDICT_INTERNAL_ERROR = 7,
    SCE_VERDICT_CANCELLED = 8, /* a followed run cancelled (sce_client_run_cancel, or its reader left) */
} sce_verdict;
#define SCE_VERDICT_LAST SCE_VERDICT_CANCELLED /* the highest verdict */

/* "ok", "runtime_error", "timeout", "memory_limit", "output_limit",
 * "rejected", "internal_error", "cancelled", "unspecified". Static, never NULL. */
const char *sce_verdict_name(int verdict);

/* One file of a code bundle; `data` need not be NUL-terminated. */
typedef struct sce_file {
    const char *path;
    const void *data;
    size_t len;
} sce_file;

/* A run request.  Zero-initialise it, then set what you need:
 *   language  "python" or "node" (required)
 *   code      a single-file program, NUL-terminated UTF-8; or
 *   files/nfiles + entry for a bundle of files
 *   stdin_data/stdin_len  the program's standard input (may be empty)
 *   args/nargs            the program's arguments
 *   timeout_ms, memory_bytes, output_limit_bytes: 0 = server default; a
 *   non-zero value may only lower the server's maximum.
 *   tenant    who the run is for, recorded with it in the server's history
 *             (sce-gateway sets it from the caller's token); NULL or "":
 *             none.  The tasks of one batch must all name the same.
 *   meta/meta_len  opaque bytes kept with the run (at most
 *             SCE_RUN_META_MAX_BYTES, else INVALID_ARGUMENT): answered by
 *             the first poll of a followed run (after_seq 0) and in the
 *             run's history entry (sce_client_history_get[_run]).
 *   detached  sce_client_run_start only: the run is never cancelled for
 *             want of a reader (it runs to its end; poll it, or read its
 *             history entry, later).
 *   stdin_close  sce_client_run_start only: the program's stdin is closed
 *             once stdin_data is written, as if sce_client_run_stdin had
 *             closed it at once (the program reads EOF after it; later
 *             writes are SCE_ERR_FAILED_PRECONDITION).  Without it a
 *             followed run's stdin stays open until the client closes it. */
typedef struct sce_run_request {
    const char *language;
    const char *code;
    const sce_file *files;
    size_t nfiles;
    const char *entry;
    const void *stdin_data;
    size_t stdin_len;
    const char *const *args;
    size_t nargs;
    uint32_t timeout_ms;
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;
    const char *tenant;
    const void *meta;
    size_t meta_len;
    int detached;
    int stdin_close;
} sce_run_request;

#define SCE_RUN_META_MAX_BYTES (256 * 1024)

/* The outcome of a run.  stdout_data/stderr_data are NUL-terminated for
 * convenience but may contain NUL bytes: use the _len fields. */
typedef struct sce_run_result {
    sce_verdict verdict;
    int exit_code;
    int signal;
    char *stdout_data;
    size_t stdout_len;
    char *stderr_data;
    size_t stderr_len;
    int stdout_truncated;
    int stderr_truncated;
    char *message;           /* one line, "" on success */
    uint32_t wall_ms;
    uint32_t cpu_ms;         /* 0 when the engine does not report it */
    uint64_t peak_memory_bytes; /* 0 when the engine does not report it */
    char *language;
    char *language_version;
    uint32_t timeout_ms;     /* the limits that applied */
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;
    char *request_id;
} sce_run_result;

typedef struct sce_language {
    char *name;
    char *version;
    char *image;
    char *default_entry;
    char **extensions;
    size_t nextensions;
    int available;
    char *message;
    char *runtime;           /* OCI runtime of its runs: "runc", "runsc" (gVisor) */
} sce_language;

typedef struct sce_language_list {
    sce_language *items;
    size_t count;
} sce_language_list;

typedef struct sce_language_runtime {
    char *language;
    char *runtime;           /* "runc", "runsc" (gVisor) */
} sce_language_runtime;

typedef struct sce_health {
    int serving;
    int engine_ok;
    char *engine_message;
    char *engine_version;
    char *server_version;
    char *instance_id;
    uint32_t workers;
    uint32_t busy_workers;
    uint32_t queued;
    uint32_t queue_capacity;
    uint64_t uptime_ms;
    uint64_t runs_total;
    uint32_t pool_ready;     /* warm containers ready, all languages */
    uint64_t pool_hits;      /* runs served by a warm container */
    uint64_t pool_misses;    /* runs that started their own */
    sce_language_runtime *runtimes; /* the runtime of each language's runs */
    size_t nruntimes;
} sce_health;

/* Opens a client for `url` (NULL: $SCE_SERVER, else SCE_DEFAULT_SERVER_URL).
 * Connecting is asynchronous: an unreachable server shows up as
 * SCE_ERR_UNAVAILABLE on the first call, not here.  Errors: INVALID_ARGUMENT
 * for a malformed URL. */
int sce_client_open(const char *url, sce_client **out, char *errbuf, size_t errlen);

/* Closes the socket and frees the client.  Calls still running in other
 * threads must have returned.  NULL is accepted.  If nng does not close
 * the socket within 5 s (an nng 1.5 defect, common/nng_close.h), the call
 * returns anyway and the client's memory is left to nng's callbacks:
 * leaked, not freed under them. */
void sce_client_close(sce_client *c);

/* How long a call waits for the answer (default 60000 ms, enough for the
 * longest run plus queueing).  Also sent to the server as the deadline. */
void sce_client_set_timeout(sce_client *c, uint32_t timeout_ms);

/* Runs code and waits for the verdict.  A program that fails is still
 * SCE_OK: its failure is in (*out)->verdict. */
int sce_client_run(sce_client *c, const sce_run_request *req, sce_run_result **out,
                   char *errbuf, size_t errlen);
void sce_run_result_free(sce_run_result *r);

int sce_client_languages(sce_client *c, sce_language_list **out, char *errbuf, size_t errlen);
void sce_language_list_free(sce_language_list *l);

int sce_client_health(sce_client *c, sce_health **out, char *errbuf, size_t errlen);
void sce_health_free(sce_health *h);

/* ------------------------------------------------------------ projects */

/* Runs a bundle of files (a project) with METHOD_RUN_PROJECT: req->files,
 * req->nfiles (at least one) and req->entry (NULL: the language's
 * main.py / main.js) are required, req->code must be NULL.  Otherwise like
 * sce_client_run: SCE_OK with the verdict in *out.  sce_client_run keeps
 * sending METHOD_RUN, also with files, as it always did. */
int sce_client_run_project(sce_client *c, const sce_run_request *req, sce_run_result **out,
                           char *errbuf, size_t errlen);

/* ------------------------------------------------------------ batches */

/* One task of a batch: SCE_OK with its result, or why it did not run. */
typedef struct sce_batch_item {
    int status;              /* an sce_err */
    char *message;           /* the server's reason when status != SCE_OK, else "" */
    sce_run_result *result;  /* NULL unless status == SCE_OK */
} sce_batch_item;

typedef struct sce_batch_result {
    sce_batch_item *items;   /* in the order of the tasks */
    size_t count;
    char *request_id;        /* the batch's; task i ran as "<request_id>-<i>" */
} sce_batch_result;

/* Runs up to the server's batch limit (5 by default) of tasks in parallel
 * and returns one item per task, in order.  A task that is invalid, fails or
 * times out only marks its own item; the call's own status is about the
 * batch: INVALID_ARGUMENT for no tasks or more than the server allows,
 * plus the transport errors of every call.  Each task is a sce_run_request
 * as for sce_client_run (code, or files + entry).  The call waits for the
 * slowest task: set the client's timeout accordingly. */
int sce_client_run_batch(sce_client *c, const sce_run_request *tasks, size_t ntasks,
                         sce_batch_result **out, char *errbuf, size_t errlen);
void sce_batch_result_free(sce_batch_result *b);

/* ------------------------------------------------------------ followed runs */

/* A run whose output is read while it runs and whose stdin stays open
 * (proto/sce.proto, "Followed runs"):
 *
 *   sce_client_run_start     queue the run, get its id at once
 *   sce_client_run_poll      the output after a sequence number; waits up
 *                            to wait_ms for news; repeat with next_seq
 *                            until done (then the result is there)
 *   sce_client_run_stdin     write to its stdin; close it
 *   sce_client_run_cancel    kill it
 *
 * Every limit of a plain run holds.  A run that nobody polls for
 * SCE_RUN_READER_GONE_MS is cancelled, so poll at least that often (a
 * poll that waits counts from its arrival), unless it was started with
 * `detached` set.  Follow-ups name the run's
 * id and the same tenant as the start (NULL or "": none); a run of another
 * tenant, an unknown id or one forgotten since (SCE_RUN_KEPT_MS after
 * its end) is SCE_ERR_NOT_FOUND.  The id is only known to the server that
 * started the run. */
#define SCE_RUN_ID_MAX 64               /* run ids are 32 hex digits */
#define SCE_RUN_POLL_WAIT_MAX_MS 10000  /* a longer wait is cut to this */
#define SCE_RUN_READER_GONE_MS 5000
#define SCE_RUN_KEPT_MS 60000

typedef enum sce_stream {
    SCE_STREAM_STDOUT = 1,
    SCE_STREAM_STDERR = 2,
} sce_stream;

/* What sce_client_run_start answers: the run's id and what it runs with. */
typedef struct sce_run_started {
    char *run_id;
    char *language;
    char *language_version;
    uint32_t timeout_ms;     /* the limits that apply */
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;
    char *request_id;        /* the start call's */
} sce_run_started;

/* One piece of output, as the program wrote it (not NUL-terminated text:
 * use len; data[len] is a NUL for convenience). */
typedef struct sce_output_chunk {
    uint64_t seq;            /* 1, 2, 3, ... */
    sce_stream stream;
    char *data;
    size_t len;
} sce_output_chunk;

/* One poll's news. */
typedef struct sce_run_events {
    sce_output_chunk *chunks;
    size_t nchunks;
    uint64_t next_seq;       /* after_seq of the next poll */
    int done;                /* the run ended and these are its last chunks */
    sce_run_result *result;  /* when done: as sce_client_run answers it */
    int running;             /* it has started (not queued any more) */
    int stdin_open;
    /* The start's meta (meta[meta_len] is a NUL); NULL/0 unless after_seq
     * was 0 (or the run has none). */
    char *meta;
    size_t meta_len;
} sce_run_events;

/* Checks req as sce_client_run does (INVALID_ARGUMENT at once for a bad
 * one), queues the run and answers its id; RESOURCE_EXHAUSTED when the
 * server is busy, as for a plain run.  req->stdin_data is written first;
 * the stdin then stays open.  req->code, or req->files + req->entry. */
int sce_client_run_start(sce_client *c, const sce_run_request *req, sce_run_started **out,
                         char *errbuf, size_t errlen);
void sce_run_started_free(sce_run_started *s);

/* The output after chunk `after_seq` (0: from the start), waiting up to
 * wait_ms (capped at SCE_RUN_POLL_WAIT_MAX_MS) when there is none yet.
 * The client's timeout must be longer than the wait. */
int sce_client_run_poll(sce_client *c, const char *run_id, const char *tenant, uint64_t after_seq,
                        uint32_t wait_ms, sce_run_events **out, char *errbuf, size_t errlen);
void sce_run_events_free(sce_run_events *e);

/* Appends len bytes to the run's stdin (len may be 0), and closes it when
 * `close` is set.  FAILED_PRECONDITION once its stdin is closed or the run
 * has ended; RESOURCE_EXHAUSTED when more than the server buffers (64 KiB)
 * waits unread: retry later. */
int sce_client_run_stdin(sce_client *c, const char *run_id, const char *tenant, const void *data,
                         size_t len, int close, char *errbuf, size_t errlen);

/* Kills the run (its verdict becomes SCE_VERDICT_CANCELLED unless it had
 * already ended).  Idempotent. */
int sce_client_run_cancel(sce_client *c, const char *run_id, const char *tenant, char *errbuf,
                          size_t errlen);

/* ------------------------------------------------------------ history */

/* Which runs to list.  Zero-initialise: the newest page of any verdict and
 * language. */
typedef struct sce_history_query {
    uint32_t limit;          /* 0: the server's page size (20); at most 100 */
    uint32_t offset;         /* runs skipped, newest first */
    sce_verdict verdict;     /* SCE_VERDICT_UNSPECIFIED: any */
    const char *language;    /* NULL or "": any */
    const char *tenant;      /* NULL or "": every tenant's runs; else only this tenant's */
} sce_history_query;

/* One recorded run.  Strings are valid UTF-8 and NUL-terminated; code,
 * output and stderr_text are capped by the server (64 KiB each).  In a page
 * an entry's text is also kept within the page budget (at most 9 KiB of
 * JSON-escaped text per entry, so that a page of 100 is under 1 MiB of
 * JSON): `truncated` says its code, output, stderr or message were
 * shortened, and sce_client_history_get returns the run whole. */
typedef struct sce_history_entry {
    int64_t id;
    int64_t time_ms;         /* unix time of the run, milliseconds */
    char *language;
    char *code;              /* the entry file's text */
    int code_truncated;
    char *entry;             /* the entry path of a project, "" for single files */
    uint32_t files;
    sce_verdict verdict;
    int exit_code;
    char *output;            /* stdout */
    int output_truncated;
    char *stderr_text;
    int stderr_truncated;
    char *message;
    uint32_t wall_ms;
    char *request_id;
    char *tenant;            /* who ran it; "" when the run had no tenant */
    int truncated;           /* shortened to the page budget (see above) */
    char *run_id;            /* the followed run's id; "" when not started with run_start */
    int signal;              /* the signal that ended the program, 0 if none */
    uint32_t cpu_ms;         /* 0 where not known */
    uint64_t peak_memory_bytes;
    /* The run's meta, whole (meta[meta_len] is a NUL); NULL/0 in a page:
     * only sce_client_history_get[_run] return it. */
    char *meta;
    size_t meta_len;
} sce_history_entry;

typedef struct sce_history_page {
    sce_history_entry *entries; /* newest first */
    size_t count;
    uint64_t total;          /* runs matching the filter */
    int enabled;             /* 0: the server keeps no history (count is 0) */
} sce_history_page;

/* One page of the server's record of runs.  q may be NULL (the newest
 * page).  Errors: INVALID_ARGUMENT for a bad filter; UNAVAILABLE "history is
 * unavailable: <reason>" when the server's database cannot be used. */
int sce_client_history(sce_client *c, const sce_history_query *q, sce_history_page **out,
                       char *errbuf, size_t errlen);
void sce_history_page_free(sce_history_page *p);

/* The one run with this id, its text as stored.  `tenant` NULL or "": any
 * tenant's run; else only a run of that tenant.  Errors: NOT_FOUND "no run
 * <id> in the history" when there is none (or it is another tenant's: the
 * two are not told apart), INVALID_ARGUMENT for an id below 1, and
 * UNAVAILABLE as for sce_client_history.  *out is freed with
 * sce_history_entry_free. */
int sce_client_history_get(sce_client *c, int64_t id, const char *tenant, sce_history_entry **out,
                           char *errbuf, size_t errlen);
/* The same, for the entry of the followed run `run_id` (its
 * sce_run_started.run_id): NOT_FOUND "no run <run_id> in the history",
 * INVALID_ARGUMENT when run_id is not 32 hex digits.  The history is
 * written a moment after the run ends: poll the run first
 * (after_seq 0, wait 0), and ask here once it is NOT_FOUND there. */
int sce_client_history_get_run(sce_client *c, const char *run_id, const char *tenant,
                               sce_history_entry **out, char *errbuf, size_t errlen);
void sce_history_entry_free(sce_history_entry *e);

/* ------------------------------------------------------------ bundles */

/* Reading a project from a ZIP archive or a directory into memory, the same
 * way for every libsce user (the sce CLI, the gateway).  Nothing is run and
 * nothing is written to disk: a hostile archive is refused here, before any
 * request is sent.  The caps below match the server's defaults
 * (files_limit, project_limit). */
#define SCE_BUNDLE_MAX_FILES 200
#define SCE_BUNDLE_MAX_BYTES ((size_t)1 << 20) /* files' bytes, as read */
#define SCE_ZIP_MAX_BYTES ((size_t)2 << 20)    /* the archive itself */

typedef struct sce_bundle_limits {
    size_t max_files;         /* 0: SCE_BUNDLE_MAX_FILES */
    size_t max_bytes;         /* 0: SCE_BUNDLE_MAX_BYTES */
    size_t max_archive_bytes; /* 0: SCE_ZIP_MAX_BYTES */
} sce_bundle_limits;

/* Files with their paths and bytes owned by the bundle; `files` can be
 * passed as sce_run_request.files as it is. */
typedef struct sce_bundle {
    sce_file *files;
    size_t count;
    size_t total_bytes;
    const char *kind;         /* "zip" or "dir": the prefix of messages */
} sce_bundle;

/* Reads a ZIP archive held in memory (lim may be NULL: the defaults).
 * Only regular files become files; directory entries are skipped.  Every
 * path must be relative, '/'-separated, without empty, '.' or '..'
 * segments, backslashes or control characters, valid UTF-8 and at most 255
 * bytes.  Refused, with SCE_ERR_INVALID_ARGUMENT and one line in errbuf:
 * not a ZIP ("zip: not a ZIP archive"), an archive over max_archive_bytes,
 * a bad path ("zip: entry 'a/../../etc/x' has a '..' segment"), symbolic
 * links, hard links, devices, FIFOs and sockets ("zip: 'link' is a symbolic
 * link"), duplicate names and a file that is also a directory, more than
 * max_files files ("zip: more than 200 entries"), more than max_bytes
 * decompressed (counted as the data comes out, whatever the headers claim:
 * "zip: more than 1 MiB uncompressed"), no file at all, and data that
 * cannot be read (damaged, encrypted).  SCE_ERR_NO_MEMORY when
 * memory runs out.  On SCE_OK *out belongs to the caller. */
int sce_bundle_from_zip(const void *zip, size_t len, const sce_bundle_limits *lim,
                        sce_bundle **out, char *errbuf, size_t errlen);

/* Reads the regular files under directory `dir`, sorted by path.  Names
 * starting with '.' (.git, .env) and the directories __pycache__ and
 * node_modules are skipped; symbolic links are never followed (one below
 * `dir` is refused, as are devices, FIFOs and sockets).  Same path rules,
 * caps and errors as sce_bundle_from_zip, with "dir:" messages; an
 * unreadable directory or file is SCE_ERR_NOT_FOUND with the system's
 * reason. */
int sce_bundle_from_dir(const char *dir, const sce_bundle_limits *lim, sce_bundle **out,
                        char *errbuf, size_t errlen);

/* Chooses what a bundle runs.  `entry` given: it must be one of the files
 * ("zip: 'main.py' is not in the archive").  NULL: the default entry of
 * `language` (main.py, main.js), or with no language either, main.py or
 * else main.js.  `language` NULL: guessed from the entry's extension (see
 * sce_language_of_path).  On SCE_OK *entry_out and *language_out point into
 * the bundle or to static strings.  Errors: SCE_ERR_INVALID_ARGUMENT. */
int sce_bundle_pick_entry(const sce_bundle *b, const char *language, const char *entry,
                          const char **entry_out, const char **language_out, char *errbuf,
                          size_t errlen);

/* The language of a file name from its extension: "python" for .py,
 * "node" for .js, .cjs and .mjs; NULL for anything else.  Static. */
const char *sce_language_of_path(const char *path);

void sce_bundle_free(sce_bundle *b);

/* How far the calling thread's latest call (on any client) got, for a
 * caller that spreads requests over several servers and may send one
 * elsewhere only if it never arrived (sce-gateway):
 *   SCE_CALL_NOT_SENT  provably never reached a server: no connection, or
 *                      none within the timeout, or an error before sending
 *   SCE_CALL_SENT      handed to a connection, then no answer came (lost
 *                      with the connection, or timed out): the server may
 *                      or may not have carried it out
 *   SCE_CALL_ANSWERED  the server answered (with any status)
 * Kept per thread, like errno: read it right after the call. */
#define SCE_CALL_NOT_SENT 0
#define SCE_CALL_SENT 1
#define SCE_CALL_ANSWERED 2
int sce_client_last_call(void);

/* Sends raw bytes as one request message and returns the raw answer.  For
 * tests and tools that must speak malformed protocol on purpose; *out is
 * malloc'd and freed with free(). */
int sce_client_call_raw(sce_client *c, const void *req, size_t req_len, void **out,
                        size_t *out_len, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SCE_CLIENT_H */
