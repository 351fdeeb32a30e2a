/*
 * test_oci_runtime.c - which runtime is gVisor, which runsc entries sce
 * accepts, and what the create request becomes on each (no engine: the
 * runtime facts are set as the prober would set them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/config.h"
#include "languages.h"
#include "oci_runtime.h"
#include "options.h"
#include "sandbox.h"
#include "sce/err.h"

static docker_runtime rt_of(const char *name, const char *path, const char *const *args)
{
    docker_runtime rt;

    memset(&rt, 0, sizeof(rt));
    snprintf(rt.name, sizeof(rt.name), "%s", name);
    snprintf(rt.path, sizeof(rt.path), "%s", path);
    for (size_t i = 0; args != NULL && args[i] != NULL; i++)
        snprintf(rt.args[rt.nargs++], sizeof(rt.args[0]), "%s", args[i]);
    return rt;
}

static void test_kind(void **state)
{
    docker_runtime a = rt_of("runc", "runc", NULL), b = rt_of("gvisor", "/usr/bin/runsc", NULL);
    docker_runtime c = rt_of("runsc", "/opt/runsc-debug", NULL);

    (void)state;
    assert_int_equal(oci_runtime_kind_of(&a), OCI_RUNTIME_RUNC);
    /* The binary decides, whatever the engine calls it. */
    assert_int_equal(oci_runtime_kind_of(&b), OCI_RUNTIME_GVISOR);
    assert_int_equal(oci_runtime_kind_of(&c), OCI_RUNTIME_RUNC);
}

/* runsc needs --network=none and --oci-seccomp, in any of its flag
 * spellings; runc needs nothing. */
static void test_check(void **state)
{
    static const struct {
        const char *args[4];
        const char *want; /* NULL: accepted; else in the message */
    } rows[] = {
        {{"--network=none", "--oci-seccomp", NULL}, NULL},
        {{"-network=none", "-oci-seccomp=true", NULL}, NULL},
        {{"--oci-seccomp", "--network", "none", NULL}, NULL},
        {{"--network=none", NULL}, "--oci-seccomp"},
        {{"--oci-seccomp", NULL}, "--network=none"},
        {{"--network=sandbox", "--oci-seccomp", NULL}, "--network=none"},
        {{"--oci-seccomp=false", "--network=none", NULL}, "--oci-seccomp"},
        {{"--network=nonesuch", "--oci-seccomp", NULL}, "--network=none"},
        {{NULL}, "--network=none"},
    };
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        docker_runtime rt = rt_of("runsc", "/usr/bin/runsc", rows[i].args);

        oci_runtime_check(&rt, msg, sizeof(msg));
        if (rows[i].want == NULL ? msg[0] != '\0' : strstr(msg, rows[i].want) == NULL)
            fail_msg("row %zu: '%s', expected %s", i, msg, rows[i].want ? rows[i].want : "none");
    }
    {
        docker_runtime rt = rt_of("runc", "runc", NULL);

        oci_runtime_check(&rt, msg, sizeof(msg));
        assert_string_equal(msg, "");
    }
}

static void set_runtime(const lang_def *l, int known, oci_runtime_kind kind, const char *name,
                        const char *message)
{
    oci_runtime rt;

    memset(&rt, 0, sizeof(rt));
    rt.known = known;
    rt.kind = kind;
    snprintf(rt.name, sizeof(rt.name), "%s", name);
    snprintf(rt.message, sizeof(rt.message), "%s", message);
    oci_runtime_set(l, &rt);
}

static int64_t ulimit_of(const sandbox_spec *s, const char *name)
{
    for (size_t i = 0; i < s->create.nulimits; i++)
        if (strcmp(s->create.ulimits[i].name, name) == 0)
            return s->create.ulimits[i].hard;
    return -1;
}

/* The create request on runc and on gVisor: the runtime by the engine's
 * name, the process cap (PidsLimit, or RLIMIT_NPROC inside gVisor with
 * room for gVisor's own threads on the host), clone3 let through to
 * gVisor's kernel; nothing before the runtime is known. */
static void test_spec(void **state)
{
    server_options o;
    const lang_def *py = languages_find("python");
    sandbox_spec s;
    char err[256];
    json_t *prof;

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(
        sce_config_load(&server_options_spec, &o, 1, (char *[]){"test", NULL}, err, sizeof(err)),
        SCE_CONFIG_OK);

    set_runtime(py, 0, OCI_RUNTIME_RUNC, "", "");
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_ERR_UNAVAILABLE);

    set_runtime(py, 1, OCI_RUNTIME_RUNC, "runsc", "runtime 'runsc' (gVisor) lacks --oci-seccomp");
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "lacks --oci-seccomp"));

    set_runtime(py, 1, OCI_RUNTIME_RUNC, "runc", "");
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_OK);
    assert_string_equal(s.create.runtime, "runc");
    assert_int_equal(s.create.pids_limit, 64);
    assert_int_equal(ulimit_of(&s, "nproc"), -1);
    assert_non_null(strstr(s.seccomp, "\"clone3\""));
    prof = json_loads(s.seccomp + strlen("seccomp="), 0, NULL);
    assert_non_null(prof);
    {
        json_t *rule;
        size_t i;
        int enosys = 0;

        json_array_foreach(json_object_get(prof, "syscalls"), i, rule) enosys +=
            json_integer_value(json_object_get(rule, "errnoRet")) == 38;
        assert_int_equal(enosys, 1);
    }
    json_decref(prof);

    set_runtime(py, 1, OCI_RUNTIME_GVISOR, "runsc", "");
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_OK);
    assert_string_equal(s.create.runtime, "runsc");
    assert_int_equal(s.create.pids_limit, 64 * 8 + 256);
    assert_int_equal(ulimit_of(&s, "nproc"), 64);
    prof = json_loads(s.seccomp + strlen("seccomp="), 0, NULL);
    assert_non_null(prof);
    {
        json_t *rule;
        size_t i;
        int enosys = 0, clone3_allowed = 0;

        json_array_foreach(json_object_get(prof, "syscalls"), i, rule)
        {
            enosys += json_object_get(rule, "errnoRet") != NULL &&
                      json_integer_value(json_object_get(rule, "errnoRet")) == 38;
            if (strcmp(json_string_value(json_array_get(json_object_get(rule, "names"), 0)),
                       "clone3") == 0)
                clone3_allowed = strcmp(json_string_value(json_object_get(rule, "action")),
                                        "SCMP_ACT_ALLOW") == 0;
        }
        assert_int_equal(enosys, 0);
        assert_true(clone3_allowed);
    }
    json_decref(prof);

    /* nproc_limit lower than pids_limit wins on gVisor; higher does not. */
    o.nproc_limit = 10;
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_OK);
    assert_int_equal(ulimit_of(&s, "nproc"), 10);
    o.nproc_limit = 5000;
    assert_int_equal(
        sandbox_spec_fill(&o, py, o.memory_bytes, "img", "boot", NULL, &s, err, sizeof(err)),
        SCE_OK);
    assert_int_equal(ulimit_of(&s, "nproc"), 64);
    sce_config_free(&server_options_spec, &o);
}

/* A language's own runtime wins over `runtime`; neither: the engine's. */
static void test_language_runtime_option(void **state)
{
    server_options o;
    char err[256];
    const lang_def *py = languages_find("python"), *js = languages_find("node");

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(sce_config_load(&server_options_spec, &o, 3,
                                     (char *[]){"test", "--node-runtime", "runsc", NULL}, err,
                                     sizeof(err)),
                     SCE_CONFIG_OK);
    assert_string_equal(languages_runtime(&o, py), "");
    assert_string_equal(languages_runtime(&o, js), "runsc");
    sce_config_free(&server_options_spec, &o);
    assert_int_equal(
        sce_config_load(&server_options_spec, &o, 5,
                        (char *[]){"test", "--runtime", "runsc", "--python-runtime", "runc", NULL},
                        err, sizeof(err)),
        SCE_CONFIG_OK);
    assert_string_equal(languages_runtime(&o, py), "runc");
    assert_string_equal(languages_runtime(&o, js), "runsc");
    sce_config_free(&server_options_spec, &o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_spec),
        cmocka_unit_test(test_language_runtime_option),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
