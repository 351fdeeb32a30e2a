/*
 * verdict.h - from what happened to a run to the verdict and the one-line
 * message a user reads.  Pure: no I/O, unit-tested as a table.
 */
#ifndef SCE_VERDICT_H
#define SCE_VERDICT_H

#include <stddef.h>
#include <stdint.h>

/* What the executor observed. */
typedef struct run_outcome {
    const char *language;     /* "python", "node" */
    int exit_code;            /* from the engine; 128+N after signal N */
    int oom_killed;           /* the engine's State.OOMKilled */
    int timed_out;            /* we killed it at the time limit */
    int output_exceeded;      /* we killed it past the output cap */
    int cancelled;            /* a followed run we killed: 1 its client asked, 2 its reader left */
    const char *stderr_data;  /* the kept head of stderr */
    size_t stderr_len;
    int64_t timeout_ms;
    int64_t memory_bytes;
    int64_t output_limit_bytes;
} run_outcome;

typedef struct run_verdict {
    int verdict;              /* SCE__V1__VERDICT__* values */
    int signal;               /* 0 or the signal that ended the program */
    char message[512];
} run_verdict;

void verdict_decide(const run_outcome *o, run_verdict *v);

/* The message of a failed program: for Python the traceback's last line,
 * for Node the error line above the first stack frame; "" if none. */
void verdict_error_line(const char *language, const char *err, size_t len, char *out,
                        size_t outlen);

#endif
