/*
 * exec.h - one run, from a checked run_spec to a verdict:
 * a warm container from the pool, or create (limit set, labels) -> attach ->
 * start; then feed bundle and stdin -> read capped output until the runner's
 * end markers (or the stream's end), the deadline or the output cap (then
 * kill) -> exit status -> OOM check when it matters -> hand the container to
 * the reaper.  The container is handed over on every path.
 */
#ifndef SCE_EXEC_H
#define SCE_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "docker.h"
#include "options.h"
#include "pool.h"
#include "reaper.h"
#include "request.h"
#include "verdict.h"

typedef struct exec_env {
    const server_options *opt;
    docker *d;
    reaper *r;
    pool *pool;             /* NULL: every run takes the cold path */
    const char *boot_id;
} exec_env;

/* A container whose program sent its end markers but whose stream had not
 * ended yet: the answer need not wait for its exit, but the run is not over
 * until it has stopped (exec_settle). */
typedef struct exec_tail {
    const exec_env *env;
    char id[DOCKER_ID_MAX + 1]; /* "" when there is nothing to settle */
    docker_attach *attach;      /* still open, read until EOF */
    char rid[40];
} exec_tail;

typedef struct exec_result {
    run_verdict v;
    int exit_code;
    sce_buf out;          /* kept head of stdout; caller frees */
    sce_buf err;
    uint32_t wall_ms;
    /* From the runner's end markers (see docs/API.md for what they count):
     * CPU time since the bundle arrived, and the container's peak memory.
     * 0 when not known: no markers (a kill, a signal, os._exit) or the
     * runner could not read them.  Reported by the program's own process:
     * never a basis for a limit. */
    uint64_t cpu_us;
    uint64_t peak_memory_bytes;
    int warm;             /* the run used a pooled container */
    exec_tail tail;       /* see exec_settle */
} exec_result;

/* Creates, attaches and starts a container for language l with the limit
 * set (memory_bytes as given), its runner waiting for a bundle.  On SCE_OK
 * the caller owns *out (close the attach, hand the id to the reaper); on
 * error nothing is left behind. */
int exec_prepare(const exec_env *env, const lang_def *l, int64_t memory_bytes,
                 const char *request_id, warm_container *out, char *err, size_t errlen);

/* Runs spec, in a pooled container when one fits, else a new one.  SCE_OK when the program ran, whatever its verdict (in res);
 * SCE_ERR_UNAVAILABLE when the engine or the image is missing (err says how
 * to fix it); SCE_ERR_INTERNAL when the sandbox itself failed.  res->out and
 * res->err are initialised in every case and must be freed with
 * exec_result_free. */
int exec_run(const exec_env *env, const run_spec *spec, const char *request_id,
             exec_result *res, char *err, size_t errlen);

/* Ends what exec_run may have left running: when the program's end markers
 * came before its stream ended, kills the container (reading its stream
 * until it ends, at most SCE_KILL_DRAIN_MS) and hands it to the reaper.
 * Call it after the answer is sent, on the thread that counts against the
 * server's capacity, so that a program which wrote its markers and went on
 * running holds its worker until it has stopped.  Idempotent; does nothing
 * when there is nothing to end. */
void exec_settle(exec_result *res);

/* Settles (exec_settle) and frees the output buffers. */
void exec_result_free(exec_result *res);

/* Runs the language's version probe with the full limit set and stores the
 * outcome with languages_status_set. */
int exec_probe_language(const exec_env *env, const lang_def *l);

#endif
