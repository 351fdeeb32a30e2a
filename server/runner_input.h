/*
 * runner_input.h - the byte stream a runner reads on its stdin: the run's
 * files as a bundle, then the program's own stdin.  (Not to be confused with
 * libsce's sce_bundle, which is a project's files on the client side.)
 *
 *   "SCE1 <header_len>\n" <header: JSON {"entry", "args", "files": [{"path",
 *   "size"}], "nonce", "linger_ms"}> <file contents, concatenated in header
 *   order> <user stdin>
 *
 * With a nonce, the runner ends the run by writing "\x1eSCE-END:<nonce>:<exit
 * status>\n" on stdout and on stderr once the program has ended (exec.c
 * strips it), so the end is known without waiting for the container.  With
 * linger_ms (0 to 10000; gVisor runs) the runner then waits that long
 * before it exits, so the server can read the container's host cgroup.
 *
 * The runners (server/runners/) read exactly the bundle and leave the rest
 * for the program, so the program's stdin is only its own.
 */
#ifndef SCE_RUNNER_INPUT_H
#define SCE_RUNNER_INPUT_H

#include <stddef.h>

#include "request.h"

/* Builds the whole stream for spec.  On SCE_OK *out is malloc'd (free()). */
int runner_input_build(const run_spec *spec, char **out, size_t *outlen);

#endif
