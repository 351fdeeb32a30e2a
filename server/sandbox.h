/*
 * sandbox.h - what a run's container is allowed, in one place to audit:
 * its environment (nothing of the server's), its rlimits, the paths the
 * runtime masks, the seccomp profile, the labels that tie it to this server,
 * and the whole POST /containers/create request (read-only root, no
 * network, no capabilities, no new privileges, the memory, CPU, pids and
 * /tmp limits).  docs/SECURITY.md explains each choice.
 *
 * This module decides; it does not talk to the engine (docker.c does) and
 * does not run anything (exec.c does).  The seccomp profiles it reads are
 * checked and compacted once, then kept for the life of the process behind
 * a lock, so any thread may call sandbox_spec_fill.
 */
#ifndef SCE_SANDBOX_H
#define SCE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "languages.h"
#include "options.h"

/* A container's create request and the storage it points into.  `create`
 * points into this very struct (and borrows the strings passed to
 * sandbox_spec_fill): fill it where it is used, do not copy it. */
typedef struct sandbox_spec {
    docker_create_opts create;
    const char *argv[8];
    docker_ulimit ulimits[4];
    docker_label labels[5];
    char tmpfs_options[128];
    char runtime[64]; /* the engine's name of the language's runtime */
    const char *seccomp; /* "seccomp=<JSON>", lives as long as the process; NULL: the engine's */
} sandbox_spec;

/* Fills *out with the create request for a run of language l under the
 * server's options o (memory_bytes as given: a request may lower it), with
 * the labels org.sce.managed-by, org.sce.instance, org.sce.boot (boot_id),
 * org.sce.language and org.sce.request-id (request_id, may be NULL).
 * SCE_ERR_INVALID_ARGUMENT with a line in err when a hardening option is
 * not acceptable (ipc_mode, hostname, seccomp), SCE_ERR_NO_MEMORY. */
int sandbox_spec_fill(const server_options *o, const lang_def *l, int64_t memory_bytes,
                      const char *image, const char *boot_id, const char *request_id,
                      sandbox_spec *out, char *err, size_t errlen);

#endif
