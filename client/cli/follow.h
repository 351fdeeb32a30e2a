/*
 * follow.h - `sce run`'s followed run: the program's output printed as it
 * comes, sce's own standard input forwarded to it while it runs, Ctrl-C
 * turned into a cancel (proto/sce.proto, "Followed runs"; sce/client.h).
 *
 * It prints only the program's output (and one line when Ctrl-C cancels);
 * the final result's notes, JSON and exit status stay sce.c's, the same as
 * for a plain run.  It does not fall back by itself: follow_unsupported
 * tells the caller when the server predates followed runs.
 */
#ifndef SCE_CLI_FOLLOW_H
#define SCE_CLI_FOLLOW_H

#include <stddef.h>

#include "sce/client.h"

/* How long one poll waits for news.  Well under SCE_RUN_READER_GONE_MS
 * (a run nobody polls for that long is cancelled), and the longest a
 * Ctrl-C waits before its cancel is sent. */
#define FOLLOW_POLL_WAIT_MS 1000u

/* The exit status of a run cancelled by Ctrl-C (verdict "cancelled"), as
 * shells report a command killed by SIGINT: 128 + 2. */
#define FOLLOW_EXIT_INTERRUPTED 130

typedef struct follow_opts {
    /* Write each chunk to sce's stdout or stderr as it arrives (0 for
     * --json, which prints the whole result at the end). */
    int print_output;
    /* Forward sce's fd 0 to the program until it reads EOF there; 0: the
     * program's stdin is req->stdin_data alone and is closed at once. */
    int forward_stdin;
} follow_opts;

/* Runs req (req->code, or req->files + req->entry) as a followed run on c
 * and waits for its end.  The calling thread polls; a second thread
 * forwards stdin when o->forward_stdin is set (both use c, which is
 * thread-safe) and is joined before the return.  While it runs, SIGINT's
 * handler is this module's: the first Ctrl-C cancels the run (its result
 * then comes as usual, verdict "cancelled"), a second one exits the
 * process at once with FOLLOW_EXIT_INTERRUPTED; the previous handler is
 * restored before the return.  A SIGINT ignored when this is called stays
 * ignored.
 *
 * Returns SCE_OK with *out (the caller frees it with sce_run_result_free)
 * and *stderr_fresh_line (1 when nothing was written to stderr or the last
 * byte written was a newline: sce.c's notes then need no newline first).
 * Otherwise an sce_err code with the reason in err; the start's errors are
 * a plain run's (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, ...),
 * and a run that started but whose server was lost is UNAVAILABLE. */
int follow_run(sce_client *c, const sce_run_request *req, const follow_opts *o,
               sce_run_result **out, int *stderr_fresh_line, char *err, size_t errlen);

/* 1 when follow_run's error (rv, err) says the server does not know
 * METHOD_RUN_START (UNIMPLEMENTED, or an older server's INVALID_ARGUMENT
 * "unknown method"): nothing ran, and a plain run may be sent instead. */
int follow_unsupported(int rv, const char *err);

#endif
