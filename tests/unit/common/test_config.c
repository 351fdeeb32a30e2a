/*
 * test_config.c - the layered option loader (common/config.c).
 *
 * A small option table of every type stands in for a program's.  Tables
 * cover the value parsers (sizes, durations) and sce_config_set; the layer
 * tests write a config file, set environment variables and pass flags, and
 * check which layer wins and the exact one-line error of each layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

typedef struct tcfg {
    char *name;
    int64_t count;
    int64_t size_bytes;
    int64_t wait_ms;
    double ratio;
    int verbose;
    char *label;
    int64_t queue_depth;
    int64_t free_int;
} tcfg;

#define OPT(key, env, type, field, def, lo, hi)                                                    \
    SCE_OPTION(tcfg, key, env, type, field, def, lo, hi, "help of " key)

static const sce_option topts[] = {
    OPT("name", "SCET_NAME", SCE_OPT_STRING, name, "alpha", 1, 0),
    OPT("count", "SCET_COUNT", SCE_OPT_INT, count, "5", 1, 100),
    OPT("size", "SCET_SIZE", SCE_OPT_BYTES, size_bytes, "64k", 1024, 1 << 30),
    OPT("wait", "SCET_WAIT", SCE_OPT_MS, wait_ms, "10s", 100, 3600000),
    OPT("ratio", "SCET_RATIO", SCE_OPT_DOUBLE, ratio, "0.5", 0, 1),
    OPT("verbose", "SCET_VERBOSE", SCE_OPT_BOOL, verbose, "false", 1, 0),
    OPT("label", NULL, SCE_OPT_STRING, label, NULL, 1, 0),
    OPT("queue_depth", "SCET_QUEUE_DEPTH", SCE_OPT_INT, queue_depth, "32", 0, 4096),
    OPT("free_int", "SCET_FREE_INT", SCE_OPT_INT, free_int, NULL, 1, 0),
};

static const sce_config_spec tspec = {"prog", "SCET_CONFIG", topts,
                                      sizeof(topts) / sizeof(topts[0])};

static const char *const all_env[] = {"SCET_CONFIG",  "SCET_NAME",        "SCET_COUNT",
                                      "SCET_SIZE",    "SCET_WAIT",        "SCET_RATIO",
                                      "SCET_VERBOSE", "SCET_QUEUE_DEPTH", "SCET_FREE_INT"};

/* ------------------------------------------------------------ helpers */

static int clean_env(void **state)
{
    for (size_t i = 0; i < sizeof(all_env) / sizeof(all_env[0]); i++)
        unsetenv(all_env[i]);
    return 0;
}

/* Writes text to a new temporary file; returns its malloc'd path. */
static char *write_file(const char *text)
{
    char *path = strdup("/tmp/sce-test-config-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void drop_file(char *path)
{
    unlink(path);
    free(path);
}

/* Loads with argv = {"prog", args..., NULL}. */
static int load(tcfg *c, char *err, size_t errlen, int n, const char *const *args)
{
    char *argv[16];

    assert_true(n < 15);
    argv[0] = "prog";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    return sce_config_load(&tspec, c, n + 1, argv, err, errlen);
}

#define LOAD(c, err, ...)                                                                          \
    load((c), (err), sizeof(err),                                                                  \
         (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)),                 \
         (const char *const[]){__VA_ARGS__})

/* Runs fn with stdout sent to /dev/null (for --help). */
static int quiet_load(tcfg *c, char *err, size_t errlen, int n, const char *const *args)
{
    int saved, rv;
    FILE *null;

    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    null = fopen("/dev/null", "w");
    assert_non_null(null);
    dup2(fileno(null), STDOUT_FILENO);
    rv = load(c, err, errlen, n, args);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(null);
    return rv;
}

/* ------------------------------------------------------------ value parsers */

static void test_config_parse_bytes(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t want;
    } rows[] = {
        {"0", 1, 0},
        {"1", 1, 1},
        {"4096", 1, 4096},
        {"1b", 1, 1},
        {"64k", 1, 65536},
        {"64K", 1, 65536},
        {"64kb", 1, 65536},
        {"64KiB", 1, 65536},
        {"1.5k", 1, 1536},
        {"1m", 1, 1048576},
        {"128M", 1, 128LL << 20},
        {"128mib", 1, 128LL << 20},
        {"8 m", 1, 8LL << 20},
        {"  2g", 1, 2LL << 30},
        {"3GiB", 1, 3LL << 30},
        {"64g", 1, 64LL << 30},
        {"", 0, 0},
        {"k", 0, 0},
        {"-1", 0, 0},
        {"-1k", 0, 0},
        {"1x", 0, 0},
        {"1kk", 0, 0},
        {"1 k b", 0, 0},
        {"abc", 0, 0},
        {"nan", 0, 0},
        {"inf", 0, 0},
        {"1e30g", 0, 0},
        {"99999999999999999999", 0, 0},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t v = -42;
        int rv = sce_parse_bytes(rows[i].s, &v);
        if ((rv == 0) != rows[i].ok || (rows[i].ok && v != rows[i].want)) {
            print_error("'%s': rv %d value %lld, want ok=%d value %lld\n", rows[i].s, rv,
                        (long long)v, rows[i].ok, (long long)rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_config_parse_ms(void **state)
{
    static const struct {
        const char *s;
        int ok;
        int64_t want;
    } rows[] = {
        {"0", 1, 0},       {"500", 1, 500},    {"500ms", 1, 500}, {"500 ms", 1, 500},
        {"10s", 1, 10000}, {"10S", 1, 10000},  {"1.5s", 1, 1500}, {"3sec", 1, 3000},
        {"2m", 1, 120000}, {"1min", 1, 60000}, {"0.25s", 1, 250}, {"", 0, 0},
        {"s", 0, 0},       {"-5s", 0, 0},      {"10h", 0, 0},     {"ten", 0, 0},
        {"10 s x", 0, 0},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t v = -42;
        int rv = sce_parse_ms(rows[i].s, &v);
        if ((rv == 0) != rows[i].ok || (rows[i].ok && v != rows[i].want)) {
            print_error("'%s': rv %d value %lld, want ok=%d value %lld\n", rows[i].s, rv,
                        (long long)v, rows[i].ok, (long long)rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ sce_config_set */

static double field(const tcfg *c, const char *key)
{
    if (strcmp(key, "count") == 0)
        return (double)c->count;
    if (strcmp(key, "size") == 0)
        return (double)c->size_bytes;
    if (strcmp(key, "wait") == 0)
        return (double)c->wait_ms;
    if (strcmp(key, "ratio") == 0)
        return c->ratio;
    if (strcmp(key, "verbose") == 0)
        return c->verbose;
    if (strcmp(key, "queue_depth") == 0 || strcmp(key, "queue-depth") == 0)
        return (double)c->queue_depth;
    if (strcmp(key, "free_int") == 0)
        return (double)c->free_int;
    fail_msg("no field %s", key);
    return 0;
}

static void test_config_set_table(void **state)
{
    static const struct {
        const char *key, *value;
        const char *want_err; /* NULL: accepted, with value want */
        double want;
    } rows[] = {
        /* accepted, bounds inclusive */
        {"count", "1", NULL, 1},
        {"count", "100", NULL, 100},
        {"count", "+42", NULL, 42},
        {"size", "1k", NULL, 1024},
        {"size", "1g", NULL, 1 << 30},
        {"wait", "100", NULL, 100},
        {"wait", "1min", NULL, 60000},
        {"wait", "1h", "wait: expected a duration (e.g. 500ms, 10s), got '1h'", 0},
        {"ratio", "0", NULL, 0},
        {"ratio", "1", NULL, 1},
        {"ratio", "0.25", NULL, 0.25},
        {"verbose", "YES", NULL, 1},
        {"verbose", "on", NULL, 1},
        {"verbose", "1", NULL, 1},
        {"verbose", "true", NULL, 1},
        {"verbose", "off", NULL, 0},
        {"verbose", "False", NULL, 0},
        {"verbose", "no", NULL, 0},
        {"verbose", "0", NULL, 0},
        {"queue-depth", "7", NULL, 7},
        {"queue_depth", "0", NULL, 0},
        {"free_int", "-5", NULL, -5},
        {"free_int", "9000000000", NULL, 9000000000.0},
        /* refused */
        {"count", "abc", "count: expected an integer, got 'abc'", 0},
        {"count", "5x", "count: expected an integer, got '5x'", 0},
        {"count", "", "count: expected an integer, got ''", 0},
        {"count", "1.5", "count: expected an integer, got '1.5'", 0},
        {"count", "99999999999999999999", "count: expected an integer, got '99999999999999999999'",
         0},
        {"count", "0", "count: 0 is out of range [1, 100]", 0},
        {"count", "101", "count: 101 is out of range [1, 100]", 0},
        {"count", "-3", "count: -3 is out of range [1, 100]", 0},
        {"size", "12q", "size: expected a size (e.g. 64k, 128m), got '12q'", 0},
        {"size", "512", "size: 512 is out of range [1024, 1073741824]", 0},
        {"size", "1023b", "size: 1023b is out of range [1024, 1073741824]", 0},
        {"size", "2g", "size: 2g is out of range [1024, 1073741824]", 0},
        {"wait", "soon", "wait: expected a duration (e.g. 500ms, 10s), got 'soon'", 0},
        {"wait", "50ms", "wait: 50ms is out of range [100, 3600000]", 0},
        {"wait", "2h", "wait: expected a duration (e.g. 500ms, 10s), got '2h'", 0},
        {"wait", "61min", "wait: 61min is out of range [100, 3600000]", 0},
        {"ratio", "1.5", "ratio: 1.5 is out of range [0, 1]", 0},
        {"ratio", "-0.1", "ratio: -0.1 is out of range [0, 1]", 0},
        {"ratio", "x", "ratio: expected a number, got 'x'", 0},
        {"ratio", "0.5x", "ratio: expected a number, got '0.5x'", 0},
        {"ratio", "nan", "ratio: expected a number, got 'nan'", 0},
        {"ratio", "", "ratio: expected a number, got ''", 0},
        {"verbose", "maybe", "verbose: expected true or false, got 'maybe'", 0},
        {"verbose", "", "verbose: expected true or false, got ''", 0},
        {"nope", "1", "unknown option 'nope'", 0},
        {"Count", "1", "unknown option 'Count'", 0},
        {"", "1", "unknown option ''", 0},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tcfg c;
        char err[256] = "";
        int rv;

        memset(&c, 0, sizeof(c));
        rv = sce_config_set(&tspec, &c, rows[i].key, rows[i].value, err, sizeof(err));
        if (rows[i].want_err == NULL) {
            if (rv != SCE_CONFIG_OK || field(&c, rows[i].key) != rows[i].want) {
                print_error("%s = '%s': rv %d (%s), value %g, want %g\n", rows[i].key,
                            rows[i].value, rv, err, rv == 0 ? field(&c, rows[i].key) : 0.0,
                            rows[i].want);
                failures++;
            }
        } else if (rv != SCE_CONFIG_ERROR || strcmp(err, rows[i].want_err) != 0) {
            print_error("%s = '%s': rv %d\n   got '%s'\n  want '%s'\n", rows[i].key, rows[i].value,
                        rv, err, rows[i].want_err);
            failures++;
        }
        sce_config_free(&tspec, &c);
    }
    assert_int_equal(failures, 0);
}

/* A refused value leaves the field as it was. */
static void test_config_set_keeps_old_value(void **state)
{
    tcfg c;
    char err[256];

    memset(&c, 0, sizeof(c));
    assert_int_equal(sce_config_set(&tspec, &c, "count", "7", err, sizeof(err)), SCE_CONFIG_OK);
    assert_int_equal(sce_config_set(&tspec, &c, "count", "700", err, sizeof(err)),
                     SCE_CONFIG_ERROR);
    assert_int_equal(c.count, 7);
    assert_int_equal(sce_config_set(&tspec, &c, "name", "one", err, sizeof(err)), SCE_CONFIG_OK);
    assert_int_equal(sce_config_set(&tspec, &c, "name", "two", err, sizeof(err)), SCE_CONFIG_OK);
    assert_string_equal(c.name, "two");
    sce_config_free(&tspec, &c);
    assert_null(c.name);
    sce_config_free(&tspec, &c); /* twice is harmless */
}

/* ------------------------------------------------------------ layers */

static void test_config_defaults(void **state)
{
    tcfg c;
    char err[256];

    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_string_equal(c.name, "alpha");
    assert_int_equal(c.count, 5);
    assert_int_equal(c.size_bytes, 65536);
    assert_int_equal(c.wait_ms, 10000);
    assert_true(c.ratio == 0.5);
    assert_int_equal(c.verbose, 0);
    assert_string_equal(c.label, "");
    assert_int_equal(c.queue_depth, 32);
    assert_int_equal(c.free_int, 0);
    sce_config_free(&tspec, &c);
}

/* '#' starts a comment only at the start of a line or after a blank, so a
 * value (a token) may hold one. */
static void test_config_hash_in_value(void **state)
{
    char *path = write_file("#name = commented-out\n"
                            "   # indented comment\n"
                            "name = ab#cd\n"
                            "label = x#y  # and a comment\n"
                            "wait = 5s\t# tab before the comment\n");
    tcfg c;
    char err[256];

    (void)state;
    setenv("SCET_CONFIG", path, 1);
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_string_equal(c.name, "ab#cd");
    assert_string_equal(c.label, "x#y");
    assert_int_equal(c.wait_ms, 5000);
    sce_config_free(&tspec, &c);
    unlink(path);
    free(path);
}

/* defaults < file < environment < flags, option by option. */
static void test_config_precedence(void **state)
{
    char *path = write_file("# a comment\n"
                            "\n"
                            "name = from-file\n"
                            "count = 10\n"
                            "  size=1m  \n"
                            "wait = 20s # inline comment\n"
                            "label = a=b\n");
    tcfg c;
    char err[256];

    setenv("SCET_CONFIG", path, 1);
    setenv("SCET_COUNT", "20", 1);
    setenv("SCET_SIZE", "2m", 1);
    assert_int_equal(LOAD(&c, err, "--count", "30"), SCE_CONFIG_OK);
    assert_int_equal(c.count, 30);             /* flag */
    assert_int_equal(c.size_bytes, 2LL << 20); /* env over file */
    assert_int_equal(c.wait_ms, 20000);        /* file */
    assert_string_equal(c.name, "from-file");  /* file */
    assert_string_equal(c.label, "a=b");       /* the first '=' splits */
    assert_true(c.ratio == 0.5);               /* default */
    assert_int_equal(c.queue_depth, 32);       /* default */
    sce_config_free(&tspec, &c);

    /* Without the flag the environment wins; without both, the file. */
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_int_equal(c.count, 20);
    sce_config_free(&tspec, &c);
    unsetenv("SCET_COUNT");
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_int_equal(c.count, 10);
    sce_config_free(&tspec, &c);
    drop_file(path);
}

/* --config PATH and --config=PATH name the file, and win over $SCET_CONFIG. */
static void test_config_file_flag(void **state)
{
    char *from_env = write_file("count = 11\n");
    char *from_flag = write_file("count = 12\nwait = 1s\n");
    char eqarg[256];
    tcfg c;
    char err[256];

    setenv("SCET_CONFIG", from_env, 1);
    assert_int_equal(LOAD(&c, err, "--config", from_flag), SCE_CONFIG_OK);
    assert_int_equal(c.count, 12);
    assert_int_equal(c.wait_ms, 1000);
    sce_config_free(&tspec, &c);

    snprintf(eqarg, sizeof(eqarg), "--config=%s", from_flag);
    assert_int_equal(LOAD(&c, err, "--wait", "2s", eqarg), SCE_CONFIG_OK);
    assert_int_equal(c.count, 12);
    assert_int_equal(c.wait_ms, 2000); /* the flag over the file */
    sce_config_free(&tspec, &c);

    /* An empty $SCET_CONFIG means no file. */
    setenv("SCET_CONFIG", "", 1);
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_int_equal(c.count, 5);
    sce_config_free(&tspec, &c);
    drop_file(from_env);
    drop_file(from_flag);
}

static void test_config_flag_forms(void **state)
{
    tcfg c;
    char err[256];

    assert_int_equal(LOAD(&c, err, "--count=7", "--queue-depth", "9", "--name", "x y"),
                     SCE_CONFIG_OK);
    assert_int_equal(c.count, 7);
    assert_int_equal(c.queue_depth, 9);
    assert_string_equal(c.name, "x y");
    sce_config_free(&tspec, &c);

    assert_int_equal(LOAD(&c, err, "--queue_depth=3", "--size", "1m", "--ratio=0.75"),
                     SCE_CONFIG_OK);
    assert_int_equal(c.queue_depth, 3);
    assert_int_equal(c.size_bytes, 1 << 20);
    assert_true(c.ratio == 0.75);
    sce_config_free(&tspec, &c);

    /* The last of a repeated flag wins. */
    assert_int_equal(LOAD(&c, err, "--count", "2", "--count", "3"), SCE_CONFIG_OK);
    assert_int_equal(c.count, 3);
    sce_config_free(&tspec, &c);

    /* An empty string value. */
    assert_int_equal(LOAD(&c, err, "--name="), SCE_CONFIG_OK);
    assert_string_equal(c.name, "");
    sce_config_free(&tspec, &c);
}

static void test_config_bool_flags(void **state)
{
    static const struct {
        const char *args[3];
        int n;
        int want_verbose;
        int64_t want_count;
    } rows[] = {
        {{"--verbose"}, 1, 1, 5},          {{"--verbose", "--count", "8"}, 3, 1, 8},
        {{"--verbose", "false"}, 2, 0, 5}, {{"--verbose", "on"}, 2, 1, 5},
        {{"--verbose=no"}, 1, 0, 5},       {{"--verbose=1"}, 1, 1, 5},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tcfg c;
        char err[256];
        int rv = load(&c, err, sizeof(err), rows[i].n, rows[i].args);
        if (rv != SCE_CONFIG_OK || c.verbose != rows[i].want_verbose ||
            c.count != rows[i].want_count) {
            print_error("row %zu: rv %d (%s) verbose %d count %lld\n", i, rv, err, c.verbose,
                        (long long)c.count);
            failures++;
        }
        sce_config_free(&tspec, &c);
    }

    /* From the environment too. */
    tcfg c;
    char err[256];
    setenv("SCET_VERBOSE", "yes", 1);
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_OK);
    assert_int_equal(c.verbose, 1);
    sce_config_free(&tspec, &c);
    assert_int_equal(failures, 0);
}

/* Each layer's error names where the bad value came from. */
static void test_config_errors(void **state)
{
    static const struct {
        const char *args[3];
        int n;
        const char *want;
    } rows[] = {
        {{"--bogus", "1"}, 2, "unknown option '--bogus' (see --help)"},
        {{"--bogus=1"}, 1, "unknown option '--bogus' (see --help)"},
        {{"positional"}, 1, "unexpected argument 'positional' (see --help)"},
        {{"-c", "1"}, 2, "unexpected argument '-c' (see --help)"},
        {{"--count"}, 1, "option '--count' needs a value"},
        {{"--count=abc"}, 1, "--count: expected an integer, got 'abc'"},
        {{"--count", "0"}, 2, "--count: 0 is out of range [1, 100]"},
        {{"--wait", "5ms"}, 2, "--wait: 5ms is out of range [100, 3600000]"},
        {{"--verbose", "maybe"}, 2, "--verbose: expected true or false, got 'maybe'"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tcfg c;
        char err[256];
        int rv = load(&c, err, sizeof(err), rows[i].n, rows[i].args);
        if (rv != SCE_CONFIG_ERROR || strcmp(err, rows[i].want) != 0) {
            print_error("row %zu: rv %d\n   got '%s'\n  want '%s'\n", i, rv, err, rows[i].want);
            failures++;
        }
        sce_config_free(&tspec, &c);
    }
    assert_int_equal(failures, 0);
}

static void test_config_env_errors(void **state)
{
    tcfg c;
    char err[256];

    setenv("SCET_COUNT", "abc", 1);
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_ERROR);
    assert_string_equal(err, "$SCET_COUNT: count: expected an integer, got 'abc'");
    sce_config_free(&tspec, &c);
    unsetenv("SCET_COUNT");

    setenv("SCET_SIZE", "5g", 1);
    assert_int_equal(load(&c, err, sizeof(err), 0, NULL), SCE_CONFIG_ERROR);
    assert_string_equal(err, "$SCET_SIZE: size: 5g is out of range [1024, 1073741824]");
    sce_config_free(&tspec, &c);
}

/* A bad line of the file is reported as path:line. */
static void test_config_file_errors(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* after "<path>:" */
    } rows[] = {
        {"count = 3\n\n# c\njust words\n", "4: expected 'key = value'"},
        {"# header\nbogus = 1\n", "2: unknown option 'bogus'"},
        {"count = 3\nsize = 1m\nratio = 0.1\nwait = abc\n",
         "4: wait: expected a duration (e.g. 500ms, 10s), got 'abc'"},
        {"count = 1000\n", "1: count: 1000 is out of range [1, 100]"},
        {"count =\n", "1: count: expected an integer, got ''"},
        {"= 5\n", "1: unknown option ''"},
        {"count = 4 # ok\nverbose = perhaps", "2: verbose: expected true or false, got 'perhaps'"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *path = write_file(rows[i].text);
        char want[512];
        tcfg c;
        char err[512];
        int rv;

        snprintf(want, sizeof(want), "%s:%s", path, rows[i].want);
        rv = LOAD(&c, err, "--config", path);
        if (rv != SCE_CONFIG_ERROR || strcmp(err, want) != 0) {
            print_error("row %zu: rv %d\n   got '%s'\n  want '%s'\n", i, rv, err, want);
            failures++;
        }
        sce_config_free(&tspec, &c);
        drop_file(path);
    }
    assert_int_equal(failures, 0);
}

static void test_config_file_missing_and_long_line(void **state)
{
    tcfg c;
    char err[512], want[600];
    char *text = malloc(5001), *path;

    assert_int_equal(LOAD(&c, err, "--config", "/nonexistent/sce-test.conf"), SCE_CONFIG_ERROR);
    assert_string_equal(
        err, "cannot open config file /nonexistent/sce-test.conf: No such file or directory");
    sce_config_free(&tspec, &c);

    assert_non_null(text);
    memset(text, ' ', 5000);
    memcpy(text, "name = ", 7);
    text[4999] = '\n';
    text[5000] = '\0';
    path = write_file(text);
    assert_int_equal(LOAD(&c, err, "--config", path), SCE_CONFIG_ERROR);
    snprintf(want, sizeof(want), "%s:1: line too long", path);
    assert_string_equal(err, want);
    sce_config_free(&tspec, &c);
    drop_file(path);
    free(text);
}

/* A file ending without a newline, with CRLF lines, and dashes in keys. */
static void test_config_file_forms(void **state)
{
    char *path = write_file("count = 9\r\nqueue-depth = 4\r\n\tname\t=\tspaced\t\nratio = 0.125");
    tcfg c;
    char err[256];

    assert_int_equal(LOAD(&c, err, "--config", path), SCE_CONFIG_OK);
    assert_int_equal(c.count, 9);
    assert_int_equal(c.queue_depth, 4);
    assert_string_equal(c.name, "spaced");
    assert_true(c.ratio == 0.125);
    sce_config_free(&tspec, &c);
    drop_file(path);
}

/* ------------------------------------------------------------ help */

static void test_config_help(void **state)
{
    static const char *const forms[][1] = {{"--help"}, {"-h"}};
    tcfg c;
    char err[256];

    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(quiet_load(&c, err, sizeof(err), 1, forms[i]), SCE_CONFIG_EXIT);
        sce_config_free(&tspec, &c);
    }
    /* After other flags too. */
    const char *const late[] = {"--count", "3", "--help"};
    assert_int_equal(quiet_load(&c, err, sizeof(err), 3, late), SCE_CONFIG_EXIT);
    sce_config_free(&tspec, &c);
}

static void test_config_usage_text(void **state)
{
    FILE *f = tmpfile();
    char text[8192];
    size_t n;

    assert_non_null(f);
    sce_config_usage(&tspec, f);
    rewind(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "usage: prog [--config FILE] [--OPTION VALUE ...]"));
    assert_non_null(strstr(text, "$SCET_CONFIG"));
    assert_non_null(strstr(text, "--queue-depth"));
    assert_null(strstr(text, "--queue_depth"));
    assert_non_null(strstr(text, "help of queue_depth"));
    assert_non_null(strstr(text, "default: 32; env: SCET_QUEUE_DEPTH"));
    assert_non_null(strstr(text, "default: (none); env: -")); /* label */
}

/* config.h: SCE_CONFIG_EXIT is "--help or --version was handled: exit 0". */
static void test_config_version_flag(void **state)
{
    const char *const args[] = {"--version"};
    tcfg c;
    char err[256];

    int rv = quiet_load(&c, err, sizeof(err), 1, args);

    sce_config_free(&tspec, &c);
    assert_int_equal(rv, SCE_CONFIG_EXIT);
}

/* --help must work even when the environment or file holds a bad value:
 * that is when a user reaches for it. */
static void test_config_help_with_bad_env(void **state)
{
    const char *const args[] = {"--help"};
    tcfg c;
    char err[256];

    setenv("SCET_COUNT", "abc", 1);
    int rv = quiet_load(&c, err, sizeof(err), 1, args);

    sce_config_free(&tspec, &c);
    assert_int_equal(rv, SCE_CONFIG_EXIT);
}

/* "--config" with nothing after it is an error like any flag without its
 * value, not silently ignored. */
static void test_config_config_without_value(void **state)
{
    tcfg c;
    char err[256];

    int rv = LOAD(&c, err, "--count", "3", "--config");

    sce_config_free(&tspec, &c);
    assert_int_equal(rv, SCE_CONFIG_ERROR);
    assert_string_equal(err, "option '--config' needs a value");
}

/* ------------------------------------------------------------ memory */

/* Loading again into a loaded struct replaces its strings; a failed load
 * can be freed.  (valgrind checks nothing leaks.) */
static void test_config_reload_and_free(void **state)
{
    tcfg c;
    char err[256];
    char *argv1[] = {"prog", "--name", "first", "--label", "L1", NULL};
    char *argv2[] = {"prog", "--name", "second", "--count", "zero", NULL};

    memset(&c, 0, sizeof(c));
    assert_int_equal(sce_config_load(&tspec, &c, 5, argv1, err, sizeof(err)), SCE_CONFIG_OK);
    assert_string_equal(c.label, "L1");
    assert_int_equal(sce_config_load(&tspec, &c, 5, argv2, err, sizeof(err)), SCE_CONFIG_ERROR);
    assert_string_equal(err, "--count: expected an integer, got 'zero'");
    assert_string_equal(c.name, "second");
    sce_config_free(&tspec, &c);
    assert_null(c.name);
    assert_null(c.label);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, clean_env, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config_parse_bytes),
        T(test_config_parse_ms),
        T(test_config_set_table),
        T(test_config_set_keeps_old_value),
        T(test_config_defaults),
        T(test_config_precedence),
        T(test_config_hash_in_value),
        T(test_config_file_flag),
        T(test_config_flag_forms),
        T(test_config_bool_flags),
        T(test_config_errors),
        T(test_config_env_errors),
        T(test_config_file_errors),
        T(test_config_file_missing_and_long_line),
        T(test_config_file_forms),
        T(test_config_help),
        T(test_config_usage_text),
        T(test_config_version_flag),
        T(test_config_help_with_bad_env),
        T(test_config_config_without_value),
        T(test_config_reload_and_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
