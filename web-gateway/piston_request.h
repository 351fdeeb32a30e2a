/*
 * piston_request.h - what Piston's execute request and its WebSocket init
 * message mean to sce, and how sce's result reads as Piston's answer: the
 * one mapping shared by POST /api/v2/execute (routes_piston.c) and GET
 * /api/v2/connect (piston_ws.c), written from Piston's documented
 * behaviour (api/src/api/v2.js, api/src/job.js); no code of Piston's is
 * used.
 *
 * The languages are sce's, under Piston's names and aliases: "python"
 * (py, py3, python3, and python3.<minor> of the version sce runs) and
 * "javascript" (runtime "node"; node, js, node-js, node-javascript).
 *
 * What it does not do: any I/O.  The caller asks a server for its
 * language list (gw_backends_languages) and passes it in; the run is the
 * caller's.  Pure: any thread.  Ownership: documented per function.
 */
#ifndef SCE_GATEWAY_PISTON_REQUEST_H
#define SCE_GATEWAY_PISTON_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "sce/client.h"

/* A request (execute's body or an init message) made into a run request.
 * req's pointers point into the struct and the message, which it holds a
 * reference of. */
typedef struct piston_request {
    sce_run_request req;
    const char *language;     /* as the client wrote it */
    const char *version;      /* the range, as written */
    const char *runtime_name; /* Piston's name: "python" or "javascript" */
    char runtime_version[64]; /* the version sce runs, once piston_request_runtime() found it */
    json_t *msg;
    sce_file *files;
    void **decoded; /* base64 / hex contents, freed with it */
    const char **args;
    char *stdin_text; /* execute's stdin with Piston's final newline */
} piston_request;

/* Checks a request as Piston does (its messages, in its order: "language
 * is required as a string", "version is required as a string", "files is
 * required as an array", "files[0].content is required as a string",
 * "<language>-<version> runtime is unknown" for a language sce does not
 * have, "files must include at least one utf8 encoded file", "If
 * specified, run_timeout must be a number", "run_timeout must be
 * non-negative", "args must be an array of strings", "stdin must be a
 * string") and makes the request.  One utf8 file is the code; several are
 * a bundle whose entry is the first utf8 one (unnamed files are
 * file<i>.code, as in Piston).  run_timeout (ms) and run_memory_limit
 * (bytes) lower sce's limits; a memory limit of -1 means the default;
 * compile_* and *_cpu_time are checked and not used (sce has no compile
 * stage and no CPU-time limit).  with_stdin: execute's stdin is written to
 * the program, with a newline added when it does not end in one (as
 * Piston does); the WebSocket's init ignores it.  The version range is
 * checked by piston_request_runtime().  On SCE_OK *out is the caller's
 * (piston_request_free); INVALID_ARGUMENT with Piston's message in err;
 * NO_MEMORY. */
int piston_request_parse(json_t *msg, int with_stdin, piston_request **out, char *err,
                         size_t errlen);
void piston_request_free(piston_request *p);

/* Finds the request's runtime in a server's language list: its language
 * available, a python3.<minor> alias naming the version run, the version
 * range satisfied (piston_version.h).  SCE_OK with p->runtime_version set,
 * else INVALID_ARGUMENT "<language>-<version> runtime is unknown". */
int piston_request_runtime(piston_request *p, const sce_language_list *langs, char *err,
                           size_t errlen);

/* GET /api/v2/runtimes: [{language, version, aliases, runtime?}] of the
 * available languages Piston has a name for.  NULL when out of memory. */
json_t *piston_request_runtimes(const sce_language_list *langs);

/* How Piston would report a run's end. */
typedef struct piston_exit {
    int has_code; /* 0: "code": null */
    int code;
    const char *signal; /* NULL: "signal": null; static */
    const char *status; /* "RE", "SG", "TO", "OL", "EL", "XX"; NULL: "status": null */
    char message[160];  /* isolate's words ("Exited with error status 1"); "": null */
    const char *error;  /* not NULL: the run was refused (no answer of a run); points into r */
} piston_exit;

/* The exit of a result: an exit status as "code"; a signal by its name
 * ("SIGSEGV", status SG); a run sce killed as Piston reports the runs it
 * kills, "signal": "SIGKILL" (a timeout TO, output over the cap OL or EL
 * by the stream that went over, memory SG, cancelled SG); an internal
 * error XX (its message; also `error`, for the WebSocket); a rejected
 * run only `error`.  Pure. */
void piston_exit_of(const sce_run_result *r, piston_exit *e);

/* A signal's name as Piston knows it ("SIGKILL"), or NULL. */
const char *piston_signal_name(int sig);

/* The number of a signal Piston knows by name, or 0; *ends (may be NULL):
 * its default action ends the program. */
int piston_signal_number(const char *name, int *ends);

/* Called with each piece of text a poll answer brings, in the order
 * written (stream 1: stderr); len > 0. */
typedef void (*piston_text_fn)(void *arg, int is_stderr, const char *text, size_t len);

/* Turns one poll answer's chunks into text (text[0] stdout's decoder,
 * text[1] stderr's, zeroed at the start) and hands it to fn in order;
 * once the run is done, what each stream held back too.  SCE_OK, or
 * NO_MEMORY (the rest of the answer is dropped). */
int piston_output_each(const sce_run_events *ev, sce_utf8_pieces text[2], piston_text_fn fn,
                       void *arg);

/* What execute collects of a run: stdout, stderr, and both in order. */
typedef struct piston_output {
    sce_buf out[3]; /* stdout, stderr, output */
    sce_utf8_pieces text[2];
    int failed; /* out of memory */
} piston_output;

/* Each buffer keeps at most limit_bytes. */
void piston_output_init(piston_output *o, size_t limit_bytes);
void piston_output_free(piston_output *o);

/* Adds one poll answer (piston_output_each). */
void piston_output_add(piston_output *o, const sce_run_events *ev);

/* Execute's answer: {language, version, run: {stdout, stderr, output,
 * code, signal, message, status, cpu_time, wall_time, memory}} (ms and
 * bytes; cpu_time and memory 0 when the engine does not report them).
 * NULL when out of memory. */
json_t *piston_request_answer(const piston_request *p, const sce_run_result *r,
                              const piston_output *o);

/* The body of an error answer: {"message": message}. */
json_t *piston_request_error(const char *message);

#endif
