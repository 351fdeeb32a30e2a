/*
 * judge0_result.h - what Judge0 CE 1.13 says about a submission, from what
 * sce knows of its run: the token, the status (Judge0's 14 and how its
 * isolate_job decides them), and the submission's JSON with ?fields= and
 * ?base64_encoded=.
 *
 * A submission is a followed run of sce's (routes_judge0.c): its token is
 * the run's id written as a UUID, what Judge0 echoes (source, stdin,
 * expected output, the limits as given) travels as the run's meta
 * (judge0_submission.h writes it), and the outcome is the run's result, or
 * its history entry once the server has forgotten the run.  This file
 * turns those into Judge0's answer; it does no I/O and keeps no state.
 *
 * Statuses, as Judge0's isolate_job decides them, from sce's verdicts:
 *   ok             3 Accepted, or 4 Wrong Answer when expected_output is
 *                  given and differs once the trailing whitespace of every
 *                  line and of the end is trimmed; 5 when cpu_time_limit
 *                  was passed within cpu_extra_time
 *   timeout        5 Time Limit Exceeded
 *   runtime_error  by signal: SIGSEGV 7, SIGXFSZ 8, SIGFPE 9, SIGABRT 10,
 *                  any other 12; without one (a non-zero exit) 11 NZEC
 *   memory_limit   12 Runtime Error (Other), exit_signal 9: isolate's cgroup
 *                  limit kills with SIGKILL, which Judge0 reports so
 *   output_limit   8 Runtime Error (SIGXFSZ), exit_signal 25: Judge0's own
 *                  output cap is isolate's file-size limit (max_file_size)
 *   anything else  13 Internal Error (cancelled, internal, rejected), with
 *                  sce's message
 *
 * Ownership: json_t * results are new references (NULL: out of memory);
 * inputs are borrowed.
 */
#ifndef SCE_GATEWAY_JUDGE0_RESULT_H
#define SCE_GATEWAY_JUDGE0_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sce/client.h"

/* Judge0's statuses (app/enumerations/status.rb). */
enum {
    J0_STATUS_QUEUE = 1,
    J0_STATUS_PROCESSING = 2,
    J0_STATUS_ACCEPTED = 3,
    J0_STATUS_WRONG_ANSWER = 4,
    J0_STATUS_TLE = 5,
    J0_STATUS_COMPILE_ERROR = 6,
    J0_STATUS_SIGSEGV = 7,
    J0_STATUS_SIGXFSZ = 8,
    J0_STATUS_SIGFPE = 9,
    J0_STATUS_SIGABRT = 10,
    J0_STATUS_NZEC = 11,
    J0_STATUS_OTHER = 12,
    J0_STATUS_INTERNAL = 13,
    J0_STATUS_EXEC_FORMAT = 14,
};
#define J0_STATUS_COUNT 14

/* A status's description ("Accepted"); "" for an id outside 1..14. */
const char *j0_status_name(int id);

/* GET /statuses: [{id, description}] for the 14. */
json_t *j0_statuses_json(void);

/* The token of a run id (32 hex digits): 8-4-4-4-12, lower case, into
 * out (at least 37 bytes).  0 if run_id is not 32 hex digits. */
int j0_token_from_run_id(const char *run_id, char *out, size_t outlen);

/* The run id of a token: a UUID of 32 hex digits (either case) with its
 * dashes where a UUID has them, or the 32 digits without dashes; into out
 * (at least 33 bytes), lower case.  0 for anything else. */
int j0_token_to_run_id(const char *token, char *out, size_t outlen);

/* Judge0's comparison of expected and actual output: equal once every
 * line's trailing whitespace (and NULs, as Ruby's rstrip) and the text's
 * trailing whitespace are trimmed.  1 when they match. */
int j0_output_matches(const char *expected, size_t elen, const char *actual, size_t alen);

/* Ruby's Base64.encode64: lines of 60 characters, each ending "\n".
 * NUL-terminated, malloc'd (caller frees); NULL when out of memory. */
char *j0_base64_encode(const void *data, size_t len);

/* Base64 text (whitespace ignored) to bytes: malloc'd, NUL-terminated for
 * convenience, *outlen its length.  SCE_ERR_INVALID_ARGUMENT for anything
 * that is not base64, SCE_ERR_NO_MEMORY. */
int j0_base64_decode(const char *text, size_t len, char **out, size_t *outlen);

/* What the server's history keeps of a program's text (its
 * SCE_HISTORY_TEXT_MAX_BYTES, server/sce_limits.h): the first 64 KiB,
 * cleaned by sce_utf8_clean into at most as many bytes. */
#define J0_HISTORY_TEXT_MAX_BYTES (64 << 10)

/* How far a submission's run got and how it ended.  Strings need not be
 * NUL-terminated; those of j0_outcome_from_events/_from_history are the
 * outcome's own (j0_outcome_free), a hand-filled outcome's are borrowed. */
typedef struct j0_outcome {
    int state; /* J0_STATUS_QUEUE, J0_STATUS_PROCESSING, or 0: ended (below) */
    sce_verdict verdict;
    int exit_code;
    int signal;
    const char *stdout_data;
    size_t stdout_len;
    const char *stderr_data;
    size_t stderr_len;
    const char *message; /* sce's, NUL-terminated; may be NULL */
    uint32_t wall_ms;
    uint32_t cpu_ms;            /* 0: not reported (time is then the wall time) */
    uint64_t peak_memory_bytes; /* 0: not reported (memory is then null) */
    char *owned[3];             /* what the strings above point into */
} j0_outcome;

/* The outcome of a followed run's poll (queued, processing, or its result)
 * and of its history entry, in the same form: stdout and stderr as the
 * history stores them (the first J0_HISTORY_TEXT_MAX_BYTES bytes, invalid
 * UTF-8 and NULs made U+FFFD, cut to J0_HISTORY_TEXT_MAX_BYTES), the
 * message as one clean line, so that the status (Wrong Answer compares
 * stdout) and the texts a submission answers do not change when the
 * server forgets the run and its history entry answers instead.  SCE_OK,
 * or SCE_ERR_NO_MEMORY (*o then holds nothing).  Free with
 * j0_outcome_free. */
int j0_outcome_from_events(const sce_run_events *e, j0_outcome *o);
int j0_outcome_from_history(const sce_history_entry *h, j0_outcome *o);

/* Releases an outcome's own strings; a zeroed or hand-filled one is
 * accepted. */
void j0_outcome_free(j0_outcome *o);

/* The submission's status, exit_code, exit_signal and message as Judge0
 * would say them, from its outcome and its meta (the expected output and
 * cpu_time_limit it was sent with).  message is static or points into o;
 * exit_code/exit_signal are -1 for null. */
typedef struct j0_verdict {
    int status;
    int exit_code;
    int exit_signal;
    char message[160]; /* "" for null */
} j0_verdict;
void j0_decide(const j0_outcome *o, const json_t *meta, j0_verdict *v);

/* ?fields=: NULL or "" is Judge0's default 8 (token, time, memory, stdout,
 * stderr, compile_output, message, status); "*" is every field; else a
 * comma-separated list.  Returns a JSON array of the names to write; NULL
 * with *bad (malloc'd: "invalid fields: [a, b]", Judge0's 400 message) for
 * unknown names, or NULL with *bad NULL when out of memory. */
json_t *j0_fields_parse(const char *fields, char **bad);

/* The submission as Judge0 serialises it: the fields in `fields` (from
 * j0_fields_parse), texts as they are or, with base64, encoded as Ruby's
 * encode64.  `meta` is the run's meta (judge0_submission.h), `token` the
 * submission's.  Without base64 a text that is not valid UTF-8 cannot be
 * written: NULL with *utf8_error set (Judge0 then answers its "cannot be
 * converted to UTF-8, use base64_encoded=true" error).  `language_name` is
 * the name /languages gives its language_id ("" when unknown). */
json_t *j0_submission_json(const char *token, const json_t *meta, const j0_outcome *o,
                           const json_t *fields, int base64, const char *language_name,
                           int *utf8_error);

/* Judge0's message when a text field cannot be sent as JSON. */
#define J0_UTF8_ERROR                                                                              \
    "some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true "   \
    "query parameter"

#endif
