/*
 * oci_runtime.h - the OCI runtime each language's containers run on, as the
 * engine knows it: its name (the engine's default one when the options name
 * none) and its kind.  runc runs the program on the host's kernel; gVisor
 * (runsc) puts a kernel of its own between them, which changes how some
 * limits are set (sandbox.c) and is checked here: runsc must have
 * --network=none (it refuses a sandbox network in the root network
 * namespace) and --oci-seccomp (without it the seccomp profile would be
 * ignored) among its runtimeArgs.
 *
 * The facts are learned from the engine (GET /info) by oci_runtime_resolve,
 * once before the pool starts and again before each probe round, and kept
 * behind a mutex: any thread may read them.
 */
#ifndef SCE_OCI_RUNTIME_H
#define SCE_OCI_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "docker.h"
#include "languages.h"
#include "options.h"

typedef enum oci_runtime_kind {
    OCI_RUNTIME_RUNC,   /* runc or another runtime on the host's kernel */
    OCI_RUNTIME_GVISOR, /* runsc */
} oci_runtime_kind;

typedef struct oci_runtime {
    int known; /* resolved against the engine */
    oci_runtime_kind kind;
    char name[64];     /* the engine's name for it: "runc", "runsc" */
    char message[256]; /* why sce cannot run on it; "" when it can */
} oci_runtime;

/* Asks the engine about the runtime of every language.  A language whose
 * runtime the engine lacks, or cannot run sce's containers, gets a message
 * (and runs nothing); an engine that does not answer changes nothing and is
 * the error. */
int oci_runtime_resolve(docker *d, const server_options *o, char *err, size_t errlen);

/* What was last learned for language l (known = 0: nothing yet). */
void oci_runtime_get(const lang_def *l, oci_runtime *out);

/* Records what was learned for language l (oci_runtime_resolve's way in,
 * and the unit tests'). */
void oci_runtime_set(const lang_def *l, const oci_runtime *rt);

/* The name to show for language l's runtime: the engine's, once known;
 * before that the configured one, or "default". */
void oci_runtime_name(const server_options *o, const lang_def *l, char *out, size_t outlen);

/* The kind of a runtime from the engine's description: gVisor when its
 * binary is runsc. */
oci_runtime_kind oci_runtime_kind_of(const docker_runtime *rt);

/* "" when runtime rt can run sce's containers, else why not (in out). */
void oci_runtime_check(const docker_runtime *rt, char *out, size_t outlen);

/* The peak memory of a running container as its host cgroup counts it (the
 * figure its memory limit is enforced on), read from the host's cgroup
 * filesystem: cgroup v1 under the cgroupfs or the systemd driver, or v2's
 * memory.peak.  For gVisor, whose kernel reports no figure the host
 * charges; 0 when the server cannot see the file (an engine on another
 * machine, a server in a container without the host's /sys/fs/cgroup). */
uint64_t oci_runtime_host_peak_bytes(const char *container_id);

#endif
