/*
 * verdict.c - verdict rules, in priority order:
 *   a runner that rejected its bundle   -> INTERNAL_ERROR (the sandbox failed)
 *   killed at the time limit             -> TIMEOUT
 *   killed past the output cap           -> OUTPUT_LIMIT
 *   OOM-killed, or the interpreter's own out-of-memory failure -> MEMORY_LIMIT
 *   exit code 0                          -> OK
 *   anything else                        -> RUNTIME_ERROR
 */
#define _GNU_SOURCE /* sigabbrev_np */
#include "verdict.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sce_limits.h"
#include "request.h"
#include "sce.pb-c.h"
#include "common/utf8.h"

static const char runner_tag[] = "sce-runner: ";

/* One line of program output, fit for a message: valid UTF-8, no control
 * characters, cut at a character boundary. */
static void copy_line(const char *p, size_t n, char *out, size_t outlen)
{
    sce_utf8_clean_line(p, n, out, outlen);
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

void verdict_error_line(const char *language, const char *err, size_t len, char *out,
                        size_t outlen)
{
    const char *best = NULL;
    size_t best_len = 0;
    const char *prev = NULL;
    size_t prev_len = 0;
    const char *p = err, *end = err ? err + len : err;
    int node = language && strcmp(language, "node") == 0;

    out[0] = '\0';
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (node && n >= 7 && strncmp(p, "    at ", 7) == 0) {
            /* The error line is the last non-blank line above the first frame. */
            if (prev != NULL) {
                copy_line(prev, prev_len, out, outlen);
                return;
            }
        } else if (!is_blank(p, n)) {
            /* "Node.js v18.19.0" closes every Node crash report, and a thrown
             * non-Error is followed by a hint; neither is the error. */
            if (!(node && ((n > 9 && strncmp(p, "Node.js v", 9) == 0) ||
                           (n > 26 && strncmp(p, "(Use `node --trace-uncaught", 27) == 0)))) {
                best = p;
                best_len = n;
            }
            prev = p;
            prev_len = n;
        }
        p = nl ? nl + 1 : end;
    }
    if (best != NULL)
        copy_line(best, best_len, out, outlen);
}

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);

    if (hay == NULL || m > n)
        return 0;
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static int interpreter_out_of_memory(const run_outcome *o, const char *line)
{
    if (o->exit_code == 0)
        return 0;
    if (contains(o->stderr_data, o->stderr_len, "JavaScript heap out of memory"))
        return 1;
    return strcmp(line, "MemoryError") == 0 || strncmp(line, "MemoryError:", 12) == 0;
}

void verdict_decide(const run_outcome *o, run_verdict *v)
{
    char line[SCE_MESSAGE_MAX];
    char amount[64];

    memset(v, 0, sizeof(*v));
    if (o->exit_code > 128 && o->exit_code < 128 + 65)
        v->signal = o->exit_code - 128;
    verdict_error_line(o->language, o->stderr_data, o->stderr_len, line, sizeof(line));

    if (o->exit_code == SCE_RUNNER_BAD_BUNDLE && o->stderr_len >= sizeof(runner_tag) - 1 &&
        memcmp(o->stderr_data, runner_tag, sizeof(runner_tag) - 1) == 0) {
        v->verdict = SCE__V1__VERDICT__VERDICT_INTERNAL_ERROR;
        const char *nl = memchr(o->stderr_data, '\n', o->stderr_len);
        copy_line(o->stderr_data, nl ? (size_t)(nl - o->stderr_data) : o->stderr_len, v->message,
                  sizeof(v->message));
    } else if (o->cancelled) {
        v->verdict = SCE__V1__VERDICT__VERDICT_CANCELLED;
        snprintf(v->message, sizeof(v->message), "%s",
                 o->cancelled == 2 ? "Cancelled: nobody was reading the run's output any more"
                                   : "Cancelled by the client");
    } else if (o->timed_out) {
        v->verdict = SCE__V1__VERDICT__VERDICT_TIMEOUT;
        request_format_ms(o->timeout_ms, amount, sizeof(amount));
        snprintf(v->message, sizeof(v->message), "Execution timed out after %s", amount);
    } else if (o->output_exceeded) {
        v->verdict = SCE__V1__VERDICT__VERDICT_OUTPUT_LIMIT;
        request_format_bytes(o->output_limit_bytes, amount, sizeof(amount));
        snprintf(v->message, sizeof(v->message),
                 "Output limit of %s exceeded: the program was stopped", amount);
    } else if (o->oom_killed || interpreter_out_of_memory(o, line)) {
        v->verdict = SCE__V1__VERDICT__VERDICT_MEMORY_LIMIT;
        request_format_bytes(o->memory_bytes, amount, sizeof(amount));
        snprintf(v->message, sizeof(v->message), "Killed: memory limit of %s exceeded", amount);
    } else if (o->exit_code == 0) {
        v->verdict = SCE__V1__VERDICT__VERDICT_OK;
    } else {
        v->verdict = SCE__V1__VERDICT__VERDICT_RUNTIME_ERROR;
        if (line[0] != '\0')
            snprintf(v->message, sizeof(v->message), "%s", line);
        else if (v->signal > 0 && sigabbrev_np(v->signal) != NULL)
            snprintf(v->message, sizeof(v->message), "Killed by signal %d (SIG%s)", v->signal,
                     sigabbrev_np(v->signal));
        else
            snprintf(v->message, sizeof(v->message), "Process exited with code %d",
                     o->exit_code);
    }
}
