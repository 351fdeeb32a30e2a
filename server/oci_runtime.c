/*
 * oci_runtime.c - the runtime of each language, learned from the engine
 * (see oci_runtime.h).
 */
#include "oci_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sce_limits.h"
#include "common/log.h"
#include "common/seterr.h"
#include "sce/err.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static oci_runtime table[SCE_LANGUAGES_MAX];

oci_runtime_kind oci_runtime_kind_of(const docker_runtime *rt)
{
    const char *base = strrchr(rt->path, '/');

    base = base ? base + 1 : rt->path;
    return strcmp(base, "runsc") == 0 ? OCI_RUNTIME_GVISOR : OCI_RUNTIME_RUNC;
}

/* True when runsc flag `flag` ("network") is given as value `value`
 * ("none"; NULL for a boolean flag): -flag=value, --flag=value, or the
 * value as the next argument; a boolean flag also alone or =true. */
static int has_flag(const docker_runtime *rt, const char *flag, const char *value)
{
    for (size_t i = 0; i < rt->nargs; i++) {
        const char *a = rt->args[i];
        size_t n = strlen(flag);

        a += a[0] == '-' ? (a[1] == '-' ? 2 : 1) : 0;
        if (a == rt->args[i] || strncmp(a, flag, n) != 0)
            continue;
        a += n;
        if (value == NULL && (a[0] == '\0' || strcmp(a, "=true") == 0))
            return 1;
        if (value != NULL && a[0] == '=' && strcmp(a + 1, value) == 0)
            return 1;
        if (value != NULL && a[0] == '\0' && i + 1 < rt->nargs &&
            strcmp(rt->args[i + 1], value) == 0)
            return 1;
    }
    return 0;
}

void oci_runtime_check(const docker_runtime *rt, char *out, size_t outlen)
{
    out[0] = '\0';
    if (oci_runtime_kind_of(rt) != OCI_RUNTIME_GVISOR)
        return;
    if (!has_flag(rt, "network", "none"))
        sce_seterr(out, outlen,
                   "runtime '%s' (gVisor) lacks --network=none in its runtimeArgs: every sandbox "
                   "would fail to start",
                   rt->name);
    else if (!has_flag(rt, "oci-seccomp", NULL))
        sce_seterr(out, outlen,
                   "runtime '%s' (gVisor) lacks --oci-seccomp in its runtimeArgs: the seccomp "
                   "profile would be ignored",
                   rt->name);
}

int oci_runtime_resolve(docker *d, const server_options *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < languages_count() && i < sizeof(table) / sizeof(table[0]); i++) {
        const lang_def *l = languages_at(i);
        const char *want = languages_runtime(o, l);
        docker_runtime rt;
        oci_runtime now;
        char msg[256];
        int rv;

        memset(&now, 0, sizeof(now));
        rv = docker_runtime_find(d, want, &rt, msg, sizeof(msg));
        if (rv == SCE_ERR_NOT_FOUND) {
            snprintf(now.name, sizeof(now.name), "%s", want);
            sce_seterr(now.message, sizeof(now.message),
                       "the engine has no runtime '%s' (SCE_RUNTIME=runsc scripts/up.sh "
                       "registers gVisor's)",
                       want);
        } else if (rv != SCE_OK) {
            sce_seterr(err, errlen, "%s", msg);
            return rv;
        } else {
            snprintf(now.name, sizeof(now.name), "%s", rt.name);
            now.kind = oci_runtime_kind_of(&rt);
            oci_runtime_check(&rt, now.message, sizeof(now.message));
        }
        now.known = 1;
        oci_runtime_set(l, &now);
    }
    return SCE_OK;
}

void oci_runtime_set(const lang_def *l, const oci_runtime *rt)
{
    size_t i = 0;

    while (i < languages_count() && languages_at(i) != l)
        i++;
    if (i >= sizeof(table) / sizeof(table[0]))
        return;
    pthread_mutex_lock(&lock);
    if (table[i].known != rt->known || table[i].kind != rt->kind ||
        strcmp(table[i].name, rt->name) != 0 || strcmp(table[i].message, rt->message) != 0)
        SCE_LOG(rt->message[0] ? SCE_LOG_ERROR : SCE_LOG_INFO, NULL, "%s: runtime %s%s%s%s",
                l->name, rt->name, rt->kind == OCI_RUNTIME_GVISOR ? " (gVisor)" : "",
                rt->message[0] ? ": " : "", rt->message);
    table[i] = *rt;
    pthread_mutex_unlock(&lock);
}

void oci_runtime_get(const lang_def *l, oci_runtime *out)
{
    size_t i = 0;

    while (i < languages_count() && languages_at(i) != l)
        i++;
    pthread_mutex_lock(&lock);
    if (i < languages_count())
        *out = table[i];
    else
        memset(out, 0, sizeof(*out));
    pthread_mutex_unlock(&lock);
}

uint64_t oci_runtime_host_peak_bytes(const char *container_id)
{
    /* {what comes before the id, what comes after it} */
    static const char *const layouts[][2] = {
        {"/sys/fs/cgroup/memory/docker/", "/memory.max_usage_in_bytes"},
        {"/sys/fs/cgroup/memory/system.slice/docker-", ".scope/memory.max_usage_in_bytes"},
        {"/sys/fs/cgroup/system.slice/docker-", ".scope/memory.peak"},
        {"/sys/fs/cgroup/docker/", "/memory.peak"},
    };
    char path[256], text[32];

    if (container_id == NULL || container_id[0] == '\0' ||
        strspn(container_id, "0123456789abcdef") != strlen(container_id))
        return 0;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        int fd;
        ssize_t n;
        char *end;
        unsigned long long v;

        snprintf(path, sizeof(path), "%s%s%s", layouts[i][0], container_id, layouts[i][1]);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, text, sizeof(text) - 1);
        close(fd);
        if (n <= 0)
            continue;
        text[n] = '\0';
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno == 0 && end != text && (*end == '\n' || *end == '\0'))
            return (uint64_t)v;
    }
    return 0;
}

void oci_runtime_name(const server_options *o, const lang_def *l, char *out, size_t outlen)
{
    oci_runtime rt;
    const char *want = languages_runtime(o, l);

    oci_runtime_get(l, &rt);
    snprintf(out, outlen, "%s", rt.known ? rt.name : want[0] ? want : "default");
}
