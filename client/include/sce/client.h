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
 * returns SCE_ERR_RESOURCE_EXHAUSTED.
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
} sce_verdict;

/* "ok", "runtime_error", "timeout", "memory_limit", "output_limit",
 * "rejected", "internal_error", "unspecified". Static, never NULL. */
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
 *   non-zero value may only lower the server's maximum. */
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
} sce_run_request;

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
} sce_language;

typedef struct sce_language_list {
    sce_language *items;
    size_t count;
} sce_language_list;

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
} sce_health;

/* Opens a client for `url` (NULL: $SCE_SERVER, else SCE_DEFAULT_SERVER_URL).
 * Connecting is asynchronous: an unreachable server shows up as
 * SCE_ERR_UNAVAILABLE on the first call, not here.  Errors: INVALID_ARGUMENT
 * for a malformed URL. */
int sce_client_open(const char *url, sce_client **out, char *errbuf, size_t errlen);

/* Closes the socket and frees the client.  Calls still running in other
 * threads must have returned.  NULL is accepted. */
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

/* Sends raw bytes as one request message and returns the raw answer.  For
 * tests and tools that must speak malformed protocol on purpose; *out is
 * malloc'd and freed with free(). */
int sce_client_call_raw(sce_client *c, const void *req, size_t req_len, void **out,
                        size_t *out_len, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* SCE_CLIENT_H */
