/*
 * judge0_submission.h - one Judge0 CE 1.13 submission, as POST /submissions
 * (and each item of POST /submissions/batch) sends it, checked as Judge0's
 * model checks it and made into an sce run.
 *
 * Validation errors are Judge0's (Rails') shape, {"field": ["message",
 * ...]}, every field's problems at once, with Judge0's own messages where
 * it has one ("can't be blank", "language with id 4 doesn't exist", "must
 * be greater than or equal to 2048", "this option cannot be enabled").
 * What sce cannot honour is refused the same way, naming the field, rather
 * than dropped: number_of_runs other than 1, stack_limit,
 * max_processes_and_or_threads and max_file_size other than sce's own,
 * the per-process limits and redirect_stderr_to_stdout set, compiler
 * options (Python and Node.js are not compiled), callback_url (sce-gateway
 * makes no requests to URLs its users give) and enable_network (runs have
 * no network).  The limits are bounded as Judge0 bounds them, with the
 * maxima /config_info gives (judge0_catalog.h): cpu_time_limit and
 * cpu_extra_time 0..J0_TIME_LIMIT_S, wall_time_limit 1..J0_TIME_LIMIT_S,
 * memory_limit J0_MEMORY_LIMIT_MIN_KB..J0_MEMORY_LIMIT_KB ("must be less
 * than or equal to 10.0"); a server's own refusal (a server configured
 * lower) is put under the field, see j0_submission_field_of.
 *
 * Limits: cpu_time_limit + cpu_extra_time and wall_time_limit (seconds)
 * become the run's wall-clock timeout, the lower of the two (sce has no
 * CPU-time limit of its own); memory_limit (KB) its memory.  Absent, the
 * server's defaults apply.  additional_files is a base64 ZIP read by
 * libsce's bundle reader (the checks of POST /run-zip: paths, links,
 * sizes, counts); the source is then its script.py / script.js, the entry,
 * and wins over a file of that name in the archive (Judge0's unzip -n).
 *
 * The meta (judge0_result.h reads it back): a JSON object with
 * "judge0": 1, language_id, source_code, stdin, expected_output (base64,
 * the echoes capped at J0_ECHO_MAX_BYTES; expected_output whole, it is
 * refused above J0_EXPECTED_MAX_BYTES), cpu_time_limit, cpu_extra_time,
 * wall_time_limit, memory_limit (the values that apply), command_line_
 * arguments and created_at_ms.  At most about 240 KiB, under the server's
 * SCE_RUN_META_MAX_BYTES.
 *
 * Ownership: a parsed submission owns everything its request points to,
 * until j0_submission_free().  Pure: no I/O.
 */
#ifndef SCE_GATEWAY_JUDGE0_SUBMISSION_H
#define SCE_GATEWAY_JUDGE0_SUBMISSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "judge0_catalog.h"
#include "sce/client.h"

/* The meta's texts, base64 in it: the two echoes and expected_output (whole)
 * with everything else (keys, numbers, command_line_arguments escaped: six
 * bytes a character at worst) fit in SCE_RUN_META_MAX_BYTES (a static
 * assert in judge0_submission.c). */
#define J0_ECHO_MAX_BYTES (56 << 10)     /* source_code and stdin as GET echoes them */
#define J0_EXPECTED_MAX_BYTES (64 << 10) /* expected_output: sce's output cap per stream */
#define J0_META_OTHER_MAX_BYTES (6 * J0_ARGS_MAX_CHARS + 1024)

typedef struct j0_submission {
    sce_run_request req; /* language, code or files + entry, stdin, args, limits */
    const j0_language *lang;
    char *meta; /* the meta's JSON text (meta_len bytes, NUL-terminated) */
    size_t meta_len;
    const char *timeout_field; /* the field that set req.timeout_ms, or NULL */
    /* What req points into. */
    char *source;
    size_t source_len;
    char *stdin_data;
    size_t stdin_len;
    char *argbuf;
    const char **args;
    sce_bundle *bundle;
    sce_file *files;
} j0_submission;

/* Checks one submission object (base64: source_code, stdin and
 * expected_output are base64, as ?base64_encoded=true says).  SCE_OK:
 * *s is filled (free it with j0_submission_free).  SCE_ERR_INVALID_ARGUMENT:
 * *errors is the 422 body ({"field": ["message"]}, a new reference) and *s
 * holds nothing.  SCE_ERR_NO_MEMORY otherwise.  created_at_ms is the unix
 * time the submission is created at. */
int j0_submission_parse(const json_t *obj, int base64, int64_t created_at_ms, j0_submission *s,
                        json_t **errors);

/* Releases what j0_submission_parse() built; a zeroed struct is accepted. */
void j0_submission_free(j0_submission *s);

/* The field a server's INVALID_ARGUMENT message is about ("code is 9000
 * characters; ..." is source_code's, "limits.memory_bytes: ..."
 * memory_limit's, a timeout the field that set it), or "base" (Rails'
 * name for the submission as a whole). */
const char *j0_submission_field_of(const j0_submission *s, const char *message);

/* Splits command_line_arguments as the shell would split plain words:
 * blanks separate, '...' and "..." group (backslash escapes inside "..."
 * and outside quotes).  *buf holds the words (caller frees *buf and
 * *argv); -1 for an unclosed quote or out of memory. */
int j0_split_args(const char *line, char **buf, const char ***argv, size_t *argc);

#endif
