/*
 * sandbox.c - what a run's container is allowed (see sandbox.h): the
 * environment, rlimits, masked paths, seccomp profile and create options
 * every run's container gets, warm or cold.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "oci_runtime.h"
#include "reaper.h"
#include "sce_limits.h"
#include "common/file.h"
#include "common/seterr.h"
#include "sce/err.h"

/* Every container gets the same environment: nothing of the server's. */
static const char *const container_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONIOENCODING=utf-8",
};

/* Paths the runtime hides (bind-mounts /dev/null over a file, an empty
 * read-only tmpfs over a directory; a path the kernel lacks is skipped).
 * The engine's list is replaced, not extended, so it comes first, as
 * Docker 20.10 has it (plus powercap, added later).  Then what it leaves
 * readable that tells a run about the rest of the machine while it runs:
 * interrupt and softirq counters (the host's keyboard, network and disk
 * activity, a side channel), disk, memory-zone, lock and swap activity,
 * pressure stall figures, device and module lists.  Programs do not need
 * them.  /proc/stat stays, though it carries the interrupt total too: Node
 * reads its CPU lines (os.cpus()) and aborts in a worker without them. */
static const char *const masked_paths[] = {
    /* the engine's own */
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    /* sce's */
    "/proc/interrupts",
    "/proc/softirqs",
    "/proc/schedstat",
    "/proc/diskstats",
    "/proc/partitions",
    "/proc/buddyinfo",
    "/proc/zoneinfo",
    "/proc/pagetypeinfo",
    "/proc/vmstat",
    "/proc/vmallocinfo",
    "/proc/slabinfo",
    "/proc/iomem",
    "/proc/ioports",
    "/proc/dma",
    "/proc/locks",
    "/proc/swaps",
    "/proc/modules",
    "/proc/kallsyms",
    "/proc/key-users",
    "/proc/mtrr",
    "/proc/pressure",
    "/proc/sysvipc",
};

/* The rlimits of every process of a run (soft = hard, so the program cannot
 * raise them): no core dumps, open files, the largest file it may write.
 * On runc, RLIMIT_NPROC only when configured (it counts every process of
 * the uid on the host, so PidsLimit, per container, is the real process
 * cap).  On gVisor, RLIMIT_NPROC is the process cap: the sandbox's kernel
 * counts its own tasks only, threads included, as the pids cgroup does. */
static size_t container_ulimits(const server_options *o, int gvisor, docker_ulimit u[4])
{
    size_t n = 0;
    int64_t nproc = o->nproc_limit;

    if (gvisor && (nproc == 0 || nproc > o->pids_limit))
        nproc = o->pids_limit;
    u[n++] = (docker_ulimit){"core", 0, 0};
    u[n++] = (docker_ulimit){"nofile", o->nofile_limit, o->nofile_limit};
    u[n++] = (docker_ulimit){"fsize", o->fsize_limit_bytes, o->fsize_limit_bytes};
    if (nproc > 0)
        u[n++] = (docker_ulimit){"nproc", nproc, nproc};
    return n;
}

/* ------------------------------------------------------------ seccomp
 *
 * The `seccomp` option names the profile: "sce" is server/seccomp.json,
 * embedded at build time (server/runners/embed.cmake); "engine" passes no
 * profile, so the engine applies its default; anything else is the path of
 * a profile in Docker's JSON format, read once (the server's own
 * configuration: never a path a run could influence).  The Engine API takes
 * the profile inline, as SecurityOpt "seccomp=<JSON>".  Each profile is
 * checked and compacted once, then kept for the life of the process, so the
 * strings handed out are never freed under a running create. */
extern const char sce_seccomp_profile[];
extern const unsigned long sce_seccomp_profile_len;

typedef struct seccomp_entry {
    struct seccomp_entry *next;
    char *key;  /* the option's value */
    int gvisor; /* the built-in profile as gVisor gets it (see below) */
    char *opt; /* "seccomp=<compact JSON>" */
} seccomp_entry;

static pthread_mutex_t seccomp_lock = PTHREAD_MUTEX_INITIALIZER;
static seccomp_entry *seccomp_cache;

/* Reads a profile file: a regular file of at most SCE_SECCOMP_FILE_MAX_BYTES. */
static int read_profile(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char why[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), rv = SCE_ERR_INVALID_ARGUMENT;

    if (fd < 0) {
        sce_seterr(err, errlen, "seccomp: cannot open %s: %s", path, strerror(errno));
        return rv;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SCE_SECCOMP_FILE_MAX_BYTES) {
        sce_seterr(err, errlen, "seccomp: %s is not a regular file of at most %d bytes", path,
                   SCE_SECCOMP_FILE_MAX_BYTES);
        goto out;
    }
    rv = sce_file_read(fd, (size_t)st.st_size, out, why, sizeof(why));
    if (rv == SCE_OK) {
        *len = (size_t)st.st_size;
    } else if (rv == SCE_ERR_INTERNAL) {
        sce_seterr(err, errlen, "seccomp: cannot read %s: %s", path, why);
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
out:
    close(fd);
    return rv;
}

/* gVisor applies a profile's rules (runsc --oci-seccomp) but not their
 * errnoRet: every denial answers EPERM.  The built-in profile's one rule
 * with another errno answers ENOSYS to clone3, so that glibc falls back to
 * clone (with EPERM, pthread_create fails, and Node.js with it).  On gVisor
 * that rule lets the call through to gVisor's own kernel, which does not
 * implement clone3 either and answers ENOSYS itself. */
static void allow_enosys_rules(json_t *root)
{
    json_t *rule;
    size_t i;

    json_array_foreach(json_object_get(root, "syscalls"), i, rule)
    {
        if (json_integer_value(json_object_get(rule, "errnoRet")) == ENOSYS) {
            json_object_set_new(rule, "action", json_string("SCMP_ACT_ALLOW"));
            json_object_del(rule, "errnoRet");
        }
    }
}

/* Checks that text is a profile that confines (an allowlist: its default
 * action denies) and writes "seccomp=<compact JSON>" to *out; for_gvisor:
 * see allow_enosys_rules. */
static int compact_profile(const char *what, const char *text, size_t len, int for_gvisor,
                           char **out, char *err, size_t errlen)
{
    static const char *const denying[] = {"SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                          "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                          "SCMP_ACT_TRAP"};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *def;
    char *compact = NULL;
    size_t i, n = sizeof(denying) / sizeof(denying[0]);
    int rv = SCE_ERR_INVALID_ARGUMENT;

    if (root == NULL) {
        sce_seterr(err, errlen, "seccomp: %s: not JSON: line %d: %s", what, jerr.line, jerr.text);
        return rv;
    }
    def = json_string_value(json_object_get(root, "defaultAction"));
    for (i = 0; def != NULL && i < n && strcmp(def, denying[i]) != 0; i++)
        ;
    if (def == NULL || i == n || !json_is_array(json_object_get(root, "syscalls"))) {
        sce_seterr(err, errlen,
                   "seccomp: %s: expected a profile in Docker's format whose defaultAction "
                   "denies (SCMP_ACT_ERRNO, SCMP_ACT_KILL*, SCMP_ACT_TRAP) and a syscalls list",
                   what);
        goto out;
    }
    if (for_gvisor)
        allow_enosys_rules(root);
    compact = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (compact == NULL || (*out = malloc(strlen(compact) + 9)) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    memcpy(*out, "seccomp=", 8);
    memcpy(*out + 8, compact, strlen(compact) + 1);
    rv = SCE_OK;
out:
    free(compact);
    json_decref(root);
    return rv;
}

/* The SecurityOpt entry for the `seccomp` option: *out is NULL for
 * "engine", else a string that lives as long as the process.  gvisor: the
 * run is on gVisor (the built-in profile differs there). */
static int seccomp_security_opt(const char *choice, int gvisor, const char **out, char *err,
                                size_t errlen)
{
    seccomp_entry *e;
    char *text = NULL, *opt = NULL;
    size_t len = 0;
    int rv = SCE_OK;

    *out = NULL;
    if (strcmp(choice, "engine") == 0)
        return SCE_OK;
    if (strcmp(choice, "unconfined") == 0 || choice[0] == '\0') {
        sce_seterr(err, errlen,
                   "seccomp: '%s' is not allowed; use sce, engine or the path of a profile",
                   choice);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    pthread_mutex_lock(&seccomp_lock);
    gvisor = gvisor && strcmp(choice, "sce") == 0;
    for (e = seccomp_cache; e != NULL && (strcmp(e->key, choice) != 0 || e->gvisor != gvisor);
         e = e->next)
        ;
    if (e != NULL) {
        *out = e->opt;
        goto out;
    }
    if (strcmp(choice, "sce") == 0) {
        rv = compact_profile("the built-in profile", sce_seccomp_profile,
                             (size_t)sce_seccomp_profile_len, gvisor, &opt, err, errlen);
    } else if (choice[0] != '/') {
        sce_seterr(err, errlen,
                   "seccomp: expected sce, engine or an absolute path to a profile, got '%s'",
                   choice);
        rv = SCE_ERR_INVALID_ARGUMENT;
    } else if ((rv = read_profile(choice, &text, &len, err, errlen)) == SCE_OK) {
        rv = compact_profile(choice, text, len, 0, &opt, err, errlen);
    }
    if (rv != SCE_OK)
        goto out;
    if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = strdup(choice)) == NULL) {
        free(e);
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    e->opt = opt;
    e->gvisor = gvisor;
    opt = NULL;
    e->next = seccomp_cache;
    seccomp_cache = e;
    *out = e->opt;
out:
    pthread_mutex_unlock(&seccomp_lock);
    free(text);
    free(opt);
    return rv;
}

/* Checks the hardening options that are not numbers (their bounds are in
 * options.c) and finds the seccomp profile. */
static int security_opts(const server_options *o, int gvisor, const char **seccomp, char *err,
                         size_t errlen)
{
    size_t n = strlen(o->hostname);

    if (strcmp(o->ipc_mode, "private") != 0 && strcmp(o->ipc_mode, "none") != 0) {
        sce_seterr(err, errlen, "ipc_mode: expected private or none, got '%s'", o->ipc_mode);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (n == 0 || n > 63 ||
        strspn(o->hostname, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n ||
        o->hostname[0] == '-' || o->hostname[n - 1] == '-') {
        sce_seterr(err, errlen,
                   "hostname: expected 1 to 63 letters, digits and inner '-', got '%s'",
                   o->hostname);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return seccomp_security_opt(o->seccomp, gvisor, seccomp, err, errlen);
}

int sandbox_spec_fill(const server_options *o, const lang_def *l, int64_t memory_bytes,
                      const char *image, const char *boot_id, const char *request_id,
                      sandbox_spec *out, char *err, size_t errlen)
{
    docker_create_opts *c = &out->create;
    oci_runtime rt;
    int gvisor;
    size_t n = 0;
    int rv;

    memset(out, 0, sizeof(*out));
    /* The limits are set differently on gVisor: its kind must be known. */
    oci_runtime_get(l, &rt);
    if (!rt.known) {
        sce_seterr(err, errlen, "%s: the engine has not said yet what runtime '%s' is", l->name,
                   languages_runtime(o, l)[0] ? languages_runtime(o, l) : "default");
        return SCE_ERR_UNAVAILABLE;
    }
    if (rt.message[0] != '\0') {
        sce_seterr(err, errlen, "%s: %s", l->name, rt.message);
        return SCE_ERR_UNAVAILABLE;
    }
    gvisor = rt.kind == OCI_RUNTIME_GVISOR;
    rv = security_opts(o, gvisor, &out->seccomp, err, errlen);
    if (rv != SCE_OK)
        return rv;
    snprintf(out->runtime, sizeof(out->runtime), "%s", rt.name);
    for (size_t i = 0; i < l->nargv && n < 7; i++)
        out->argv[n++] = l->argv[i];
    out->argv[n++] = l->runner;
    snprintf(out->tmpfs_options, sizeof(out->tmpfs_options),
             "rw,nosuid,nodev,noexec,size=%lld,mode=1777", (long long)o->tmpfs_bytes);
    out->labels[0] = (docker_label){REAPER_LABEL_MANAGED, REAPER_LABEL_MANAGED_VALUE};
    out->labels[1] = (docker_label){REAPER_LABEL_INSTANCE, o->instance};
    out->labels[2] = (docker_label){REAPER_LABEL_BOOT, boot_id};
    out->labels[3] = (docker_label){"org.sce.language", l->name};
    out->labels[4] = (docker_label){"org.sce.request-id", request_id ? request_id : ""};

    c->image = image;
    c->cmd = out->argv;
    c->ncmd = n;
    c->env = container_env;
    c->nenv = sizeof(container_env) / sizeof(container_env[0]);
    c->user = o->user;
    c->working_dir = "/tmp";
    c->hostname = o->hostname;
    c->labels = out->labels;
    c->nlabels = sizeof(out->labels) / sizeof(out->labels[0]);
    c->memory_bytes = memory_bytes;
    c->memory_swap_bytes = memory_bytes; /* swap limit = memory: no swap */
    c->nano_cpus = (int64_t)(o->cpus * 1e9);
    c->pids_limit =
        gvisor ? (int64_t)o->pids_limit * SCE_GVISOR_HOST_PIDS_PER_TASK + SCE_GVISOR_HOST_PIDS_BASE
               : o->pids_limit;
    c->tmpfs_path = "/tmp";
    c->tmpfs_options = out->tmpfs_options;
    c->read_only_rootfs = 1;
    c->network_disabled = 1;
    c->cap_drop_all = 1;
    c->no_new_privileges = 1;
    c->init = 1;
    c->log_driver_none = 1;
    c->runtime = out->runtime;
    c->security_opt = &out->seccomp;
    c->nsecurity_opt = out->seccomp != NULL ? 1 : 0;
    c->ulimits = out->ulimits;
    c->nulimits = container_ulimits(o, gvisor, out->ulimits);
    c->ipc_mode = o->ipc_mode;
    c->shm_size_bytes = strcmp(o->ipc_mode, "private") == 0 ? o->shm_size_bytes : 0;
    c->masked_paths = masked_paths;
    c->nmasked_paths = sizeof(masked_paths) / sizeof(masked_paths[0]);
    return SCE_OK;
}
