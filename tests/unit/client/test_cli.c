/*
 * test_cli.c - the `sce` binary (SCE_CLI_PATH) run as a child process
 * against the scripted fake server: exit statuses, byte-exact output
 * pass-through, the request it sends, --json (with invalid UTF-8), and the
 * languages and health commands.  What the fake answers depends on the
 * first line of the code the test sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "fake_server.h"
#include "tcp_tap.h"

extern char **environ;

static char tmpdir[64];
static char url[128];
static fake_server *fake;
static atomic_int engine_ok = 1;
static atomic_int one_runtime = 0;

/* ------------------------------------------------------------ the fake */

static const char ok_stdout[] = "hello\0world\n"; /* 12 bytes */
static const char exit3_stderr[] = "Traceback (most recent call last):\nSystemExit: 3";
static const char utf8_in[] = "a\0\xff"
                              "b\xe2\x82"
                              "c\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"
                              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82";
#define FFFD "\xef\xbf\xbd"
static const char utf8_out[] = "a\0" FFFD "b" FFFD "c" FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD FFFD
                               "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" FFFD;

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void handler(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    static char xs[100];
    static char *py_ext[] = {".py"};
    const char *code;

    if (req == NULL)
        return;
    if (req->method == SCE__V1__METHOD__METHOD_LANGUAGES) {
        r->languages.n_languages = 2;
        r->language[0].name = "python";
        r->language[0].version = "3.11.2";
        r->language[0].image = "sce-python:latest";
        r->language[0].n_extensions = 1;
        r->language[0].extensions = py_ext;
        r->language[0].available = 1;
        r->language[0].runtime = "runsc";
        r->language[1].name = "node";
        r->language[1].image = "sce-node:latest";
        r->language[1].message = "image missing";
        return;
    }
    if (req->method == SCE__V1__METHOD__METHOD_HEALTH) {
        r->health.serving = 1;
        r->health.engine_ok = atomic_load(&engine_ok);
        r->health.engine_message = r->health.engine_ok ? "" : "no docker";
        r->health.engine_version = "20.10.24";
        r->health.server_version = "0.1.0";
        r->health.workers = 4;
        r->health.busy_workers = 1;
        r->health.uptime_ms = 3723000;
        {
            static Sce__V1__LanguageRuntime rts[2];
            static Sce__V1__LanguageRuntime *rtp[2] = {&rts[0], &rts[1]};
            static const char *names[2][2] = {{"python", "runsc"}, {"node", "runc"}};

            for (int i = 0; i < 2; i++) {
                sce__v1__language_runtime__init(&rts[i]);
                rts[i].language = (char *)names[i][0];
                rts[i].runtime = (char *)names[i][1];
            }
            /* python and node differ, unless the test asks for one runtime */
            rts[1].runtime = atomic_load(&one_runtime) ? "runsc" : "runc";
            r->health.n_runtimes = 2;
            r->health.runtimes = rtp;
        }
        return;
    }
    if (req->method == SCE__V1__METHOD__METHOD_RUN_BATCH) {
        /* Task 0 runs and prints "1"; every other task is refused. */
        static Sce__V1__BatchResult batch;
        static Sce__V1__BatchItem items[4], *item_ptrs[4];
        static Sce__V1__RunResult run0;
        static Sce__V1__Status refused;

        sce__v1__batch_result__init(&batch);
        sce__v1__run_result__init(&run0);
        sce__v1__status__init(&refused);
        run0.verdict = SCE__V1__VERDICT__VERDICT_OK;
        run0.language = "python";
        run0.stdout.data = (uint8_t *)"1\n";
        run0.stdout.len = 2;
        refused.code = SCE__V1__STATUS_CODE__STATUS_INVALID_ARGUMENT;
        refused.message = "unknown language 'ruby'";
        for (size_t i = 0; i < req->batch->n_tasks && i < 4; i++) {
            sce__v1__batch_item__init(&items[i]);
            if (i == 0)
                items[i].result = &run0;
            else
                items[i].status = &refused;
            item_ptrs[i] = &items[i];
            batch.n_items = i + 1;
        }
        batch.items = item_ptrs;
        r->resp.body_case = SCE__V1__RESPONSE__BODY_BATCH;
        r->resp.batch = &batch;
        return;
    }
    if (req->method == SCE__V1__METHOD__METHOD_HISTORY) {
        /* One run, 2026-11-22T07:46:17.310Z, that timed out. */
        static Sce__V1__HistoryResult page;
        static Sce__V1__HistoryEntry e0, *entry_ptrs[1];

        sce__v1__history_result__init(&page);
        sce__v1__history_entry__init(&e0);
        e0.id = 41;
        e0.time_ms = 1795333577310;
        e0.language = "python";
        e0.code = "while True: pass";
        e0.files = 1;
        e0.verdict = SCE__V1__VERDICT__VERDICT_TIMEOUT;
        e0.exit_code = -1;
        e0.message = "time limit exceeded";
        e0.wall_ms = 2000;
        e0.request_id = "rid-41";
        entry_ptrs[0] = &e0;
        page.entries = entry_ptrs;
        page.n_entries = 1;
        page.total = 3;
        page.enabled = 1;
        r->resp.body_case = SCE__V1__RESPONSE__BODY_HISTORY;
        r->resp.history = &page;
        return;
    }
    if (req->method == SCE__V1__METHOD__METHOD_RUN_START) {
        /* As a server older than followed runs answers: `sce run` then
         * falls back to one plain METHOD_RUN, which the tests check. */
        r->status.code = SCE__V1__STATUS_CODE__STATUS_INVALID_ARGUMENT;
        r->status.message = "unknown method 7";
        return;
    }
    if (req->method != SCE__V1__METHOD__METHOD_RUN)
        return;
    code = req->run->code;
    r->run.language = req->run->language;
    r->run.language_version = "3.11.2";
    r->limits.timeout_ms = req->run->limits ? req->run->limits->timeout_ms : 0;
    if (starts(code, "#ok")) {
        r->run.stdout.data = (uint8_t *)ok_stdout;
        r->run.stdout.len = sizeof(ok_stdout) - 1;
        r->run.stderr.data = (uint8_t *)"warn\n";
        r->run.stderr.len = 5;
    } else if (starts(code, "#exit3")) {
        r->run.verdict = SCE__V1__VERDICT__VERDICT_RUNTIME_ERROR;
        r->run.exit_code = 3;
        r->run.stderr.data = (uint8_t *)exit3_stderr;
        r->run.stderr.len = strlen(exit3_stderr);
        r->run.message = "SystemExit: 3";
    } else if (starts(code, "#timeout")) {
        r->run.verdict = SCE__V1__VERDICT__VERDICT_TIMEOUT;
        r->run.exit_code = 137;
        r->run.signal = 9;
        r->run.stdout.data = (uint8_t *)"partial\n";
        r->run.stdout.len = 8;
        r->run.message = "Execution timed out after 10 seconds";
    } else if (starts(code, "#memory")) {
        r->run.verdict = SCE__V1__VERDICT__VERDICT_MEMORY_LIMIT;
        r->run.exit_code = 137;
        r->run.signal = 9;
        r->run.message = "MemoryError";
    } else if (starts(code, "#trunc")) {
        memset(xs, 'x', sizeof(xs));
        r->run.verdict = SCE__V1__VERDICT__VERDICT_OUTPUT_LIMIT;
        r->run.stdout.data = (uint8_t *)xs;
        r->run.stdout.len = sizeof(xs);
        r->run.stdout_truncated = 1;
        r->run.message = "";
    } else if (starts(code, "#utf8")) {
        r->run.stdout.data = (uint8_t *)utf8_in;
        r->run.stdout.len = sizeof(utf8_in) - 1;
    } else if (starts(code, "#invalid")) {
        r->status.code = SCE__V1__STATUS_CODE__STATUS_INVALID_ARGUMENT;
        r->status.message = "code is too long";
        r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
    } else if (starts(code, "#busy")) {
        r->status.code = SCE__V1__STATUS_CODE__STATUS_RESOURCE_EXHAUSTED;
        r->status.message = "queue full";
        r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
    }
}

/* ------------------------------------------------------------ running sce */

typedef struct cli_result {
    int status; /* exit status, or 1000 + signal */
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
} cli_result;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *name, const void *data, size_t len, char *path, size_t plen)
{
    FILE *f;

    snprintf(path, plen, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Runs sce with `args` (NULL-terminated, without argv[0]), standard input
 * from `stdin_path` (NULL: /dev/null) and SCE_SERVER set to `env_server`
 * (NULL: unset). */
static void run_sce(cli_result *r, const char *stdin_path, const char *env_server,
                    const char *const *args)
{
    char out_path[128], err_path[128], env_entry[192];
    const char *argv[32];
    char *envp[256];
    size_t na = 0, ne = 0;
    pid_t pid;
    int ws;

    snprintf(out_path, sizeof(out_path), "%s/out", tmpdir);
    snprintf(err_path, sizeof(err_path), "%s/err", tmpdir);
    argv[na++] = SCE_CLI_PATH;
    for (; *args != NULL && na < 31; args++)
        argv[na++] = *args;
    argv[na] = NULL;
    for (char **e = environ; *e != NULL && ne < 254; e++)
        if (!starts(*e, "SCE_SERVER="))
            envp[ne++] = *e;
    if (env_server != NULL) {
        snprintf(env_entry, sizeof(env_entry), "SCE_SERVER=%s", env_server);
        envp[ne++] = env_entry;
    }
    envp[ne] = NULL;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0 || chdir(tmpdir) != 0)
            _exit(99);
        execve(SCE_CLI_PATH, (char *const *)argv, envp);
        _exit(98);
    }
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000 + WTERMSIG(ws);
    r->out = slurp(out_path, &r->out_len);
    r->err = slurp(err_path, &r->err_len);
}

static void cli_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

/* Writes `code` to a file named `name` and runs `sce --server URL run
 * [extra...] FILE`. */
static void run_code(cli_result *r, const char *name, const char *code, const char *const *extra)
{
    char path[128];
    const char *args[24];
    size_t n = 0;

    write_file(name, code, strlen(code), path, sizeof(path));
    args[n++] = "--server";
    args[n++] = url;
    args[n++] = "run";
    for (; extra != NULL && *extra != NULL; extra++)
        args[n++] = *extra;
    args[n++] = path;
    args[n] = NULL;
    run_sce(r, NULL, NULL, args);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ tests */

static void test_ok_passthrough(void **state)
{
    cli_result r;
    const Sce__V1__Request *q;

    run_code(&r, "ok.py", "#ok\nprint('hello')\n", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, sizeof(ok_stdout) - 1);
    assert_memory_equal(r.out, ok_stdout, sizeof(ok_stdout) - 1);
    assert_int_equal(r.err_len, 5);
    assert_string_equal(r.err, "warn\n");
    q = fake_last_request(fake);
    assert_string_equal(q->run->language, "python");
    assert_string_equal(q->run->code, "#ok\nprint('hello')\n");
    assert_int_equal(q->run->stdin.len, 0);
    assert_int_equal(q->run->n_args, 0);
    assert_int_equal(q->deadline_ms, 60000);
    cli_free(&r);
}

static void test_runtime_error_exit_code(void **state)
{
    cli_result r;
    char want[256];

    run_code(&r, "exit3.py", "#exit3\n", NULL);
    assert_int_equal(r.status, 3);
    assert_int_equal(r.out_len, 0);
    /* The program's stderr byte for byte, then the verdict on its own line. */
    snprintf(want, sizeof(want), "%s\nsce: runtime_error: SystemExit: 3\n", exit3_stderr);
    assert_string_equal(r.err, want);
    cli_free(&r);
}

static void test_timeout_and_memory(void **state)
{
    cli_result r;

    run_code(&r, "t.py", "#timeout\n", NULL);
    assert_int_equal(r.status, 124);
    assert_string_equal(r.out, "partial\n");
    assert_string_equal(r.err, "sce: timeout: Execution timed out after 10 seconds\n");
    cli_free(&r);

    run_code(&r, "m.js", "#memory\n", NULL);
    assert_int_equal(r.status, 137);
    assert_string_equal(r.err, "sce: memory_limit: MemoryError\n");
    assert_string_equal(fake_last_request(fake)->run->language, "node");
    cli_free(&r);
}

static void test_truncated(void **state)
{
    cli_result r;

    run_code(&r, "trunc.py", "#trunc\n", NULL);
    assert_int_equal(r.status, 1); /* output limit, program exit code 0 */
    assert_int_equal(r.out_len, 100);
    assert_string_equal(r.err, "sce: stdout truncated at 100 bytes\n"
                               "sce: output_limit: killed for printing more than the output "
                               "limit\n");
    cli_free(&r);
}

static void test_server_status(void **state)
{
    cli_result r;

    run_code(&r, "inv.py", "#invalid\n", NULL);
    assert_int_equal(r.status, 65);
    assert_string_equal(r.err, "sce: INVALID_ARGUMENT: code is too long\n");
    assert_int_equal(r.out_len, 0);
    cli_free(&r);

    run_code(&r, "busy.py", "#busy\n", NULL);
    assert_int_equal(r.status, 75);
    assert_string_equal(r.err, "sce: RESOURCE_EXHAUSTED: queue full\n");
    cli_free(&r);
}

static void test_no_server(void **state)
{
    char dead[128], path[128], want[256];
    cli_result r;
    int64_t t0;

    write_file("x.py", "#ok\n", 4, path, sizeof(path));
    fake_dead_tcp_url(dead, sizeof(dead));
    t0 = now_ms();
    run_sce(&r, NULL, NULL, (const char *const[]){"--server", dead, "run", path, NULL});
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(r.status, 69);
    snprintf(want, sizeof(want),
             "sce: UNAVAILABLE: cannot reach sce-server at %s (is it running?)\n", dead);
    assert_string_equal(r.err, want);
    assert_int_equal(r.out_len, 0);
    cli_free(&r);

    /* ipc:// without a socket file, given through the environment. */
    snprintf(dead, sizeof(dead), "ipc://%s/nobody.sock", tmpdir);
    t0 = now_ms();
    run_sce(&r, NULL, dead, (const char *const[]){"run", path, NULL});
    assert_true(now_ms() - t0 < 2000);
    assert_int_equal(r.status, 69);
    assert_true(starts(r.err, "sce: UNAVAILABLE: cannot reach sce-server at ipc://"));
    cli_free(&r);

    run_sce(&r, NULL, dead, (const char *const[]){"health", NULL});
    assert_int_equal(r.status, 69);
    cli_free(&r);
}

static void test_usage_errors(void **state)
{
    const char *const *const cases[] = {
        (const char *const[]){NULL},
        (const char *const[]){"run", NULL},
        (const char *const[]){"run", "-", NULL},
        (const char *const[]){"bogus", NULL},
        (const char *const[]){"--bogus", "run", NULL},
        (const char *const[]){"run", "--timeout", "abc", "a.py", NULL},
        (const char *const[]){"run", "--timeout", "-1", "a.py", NULL},
        (const char *const[]){"run", "--memory", "12q", "a.py", NULL},
        (const char *const[]){"run", "--language", NULL},
        (const char *const[]){"run", "a.txt", NULL},
        (const char *const[]){"run", "a.py", "b.py", NULL},
        (const char *const[]){"run", "--nope", "a.py", NULL},
        (const char *const[]){"run", "-l", "python", "--stdin", "-", "-", NULL},
        (const char *const[]){"--server", "", "health", NULL},
        (const char *const[]){"health", "extra", NULL},
    };
    cli_result r;
    int before = fake_requests(fake);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_sce(&r, NULL, url, cases[i]);
        if (r.status != 64)
            fprintf(stderr, "case %zu: status %d, stderr %s\n", i, r.status, r.err);
        assert_int_equal(r.status, 64);
        assert_true(r.err_len > 0);
        cli_free(&r);
    }
    assert_int_equal(fake_requests(fake), before); /* none reached the server */

    /* A code file that cannot be read is EX_NOINPUT. */
    run_sce(&r, NULL, url, (const char *const[]){"run", "/nonexistent/a.py", NULL});
    assert_int_equal(r.status, 66);
    cli_free(&r);
}

static void test_help_version(void **state)
{
    cli_result r;

    run_sce(&r, NULL, NULL, (const char *const[]){"--help", NULL});
    assert_int_equal(r.status, 0);
    assert_true(starts(r.out, "usage: sce"));
    cli_free(&r);
    run_sce(&r, NULL, NULL, (const char *const[]){"run", "--help", NULL});
    assert_int_equal(r.status, 0);
    cli_free(&r);
    run_sce(&r, NULL, NULL, (const char *const[]){"--version", NULL});
    assert_int_equal(r.status, 0);
    assert_true(starts(r.out, "sce "));
    cli_free(&r);
}

static void test_request_fields(void **state)
{
    char code_path[128], in_path[128];
    const Sce__V1__Request *q;
    cli_result r;

    write_file("prog.mjs", "#ok\nconsole.log(1)\n", 19, code_path, sizeof(code_path));
    write_file("in.bin", "line\0two\n", 9, in_path, sizeof(in_path));
    run_sce(&r, NULL, NULL,
            (const char *const[]){"run", "--server", url, "--stdin", in_path, "--timeout", "2.5",
                                  "--memory", "256m", "--output-limit=64KiB", "--arg", "A1",
                                  code_path, "--", "x", "y z", "--json", NULL});
    assert_int_equal(r.status, 0);
    q = fake_last_request(fake);
    assert_string_equal(q->run->language, "node");
    assert_string_equal(q->run->code, "#ok\nconsole.log(1)\n");
    assert_int_equal(q->run->stdin.len, 9);
    assert_memory_equal(q->run->stdin.data, "line\0two\n", 9);
    assert_int_equal(q->run->n_args, 4);
    assert_string_equal(q->run->args[0], "A1");
    assert_string_equal(q->run->args[1], "x");
    assert_string_equal(q->run->args[2], "y z");
    assert_string_equal(q->run->args[3], "--json"); /* after --, for the program */
    assert_int_equal(q->run->limits->timeout_ms, 2500);
    assert_true(q->run->limits->memory_bytes == 268435456ull);
    assert_int_equal(q->run->limits->output_limit_bytes, 65536);
    assert_int_equal(q->deadline_ms, 60000); /* 2.5 s + margin, at least 60 s */
    assert_memory_equal(r.out, ok_stdout, sizeof(ok_stdout) - 1);
    cli_free(&r);

    run_sce(&r, NULL, url,
            (const char *const[]){"run", "-lpython", "--timeout=100", code_path, NULL});
    assert_int_equal(r.status, 0);
    q = fake_last_request(fake);
    assert_string_equal(q->run->language, "python");
    assert_int_equal(q->run->limits->timeout_ms, 100000);
    assert_int_equal(q->deadline_ms, 130000);
    cli_free(&r);
}

static void test_code_from_stdin(void **state)
{
    char code_path[128], in_path[128];
    cli_result r;

    /* Code on stdin, the server from $SCE_SERVER. */
    write_file("stdin.py", "#ok\nfrom stdin\n", 15, code_path, sizeof(code_path));
    run_sce(&r, code_path, url, (const char *const[]){"run", "-l", "python", "-", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(fake_last_request(fake)->run->code, "#ok\nfrom stdin\n");
    assert_int_equal(fake_last_request(fake)->run->stdin.len, 0);
    cli_free(&r);

    /* --stdin - hands sce's own standard input to the program. */
    write_file("prog.py", "#ok\n", 4, code_path, sizeof(code_path));
    write_file("input.txt", "42\n", 3, in_path, sizeof(in_path));
    run_sce(&r, in_path, url, (const char *const[]){"run", "--stdin", "-", code_path, NULL});
    assert_int_equal(r.status, 0);
    assert_int_equal(fake_last_request(fake)->run->stdin.len, 3);
    assert_memory_equal(fake_last_request(fake)->run->stdin.data, "42\n", 3);
    cli_free(&r);
}

static void test_json(void **state)
{
    cli_result r;
    json_error_t jerr;
    json_t *j, *v;

    run_code(&r, "u.py", "#utf8\n", (const char *const[]){"--json", NULL});
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    assert_int_equal(r.out[r.out_len - 1], '\n');
    assert_null(memchr(r.out, '\n', r.out_len - 1)); /* one line */
    j = json_loadb(r.out, r.out_len, JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    /* The HTTP API's POST /run answer, field for field (docs/API.md). */
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_null(json_object_get(j, "verdict"));
    assert_string_equal(json_string_value(json_object_get(j, "error")), "");
    v = json_object_get(j, "stdout");
    assert_int_equal(json_string_length(v), sizeof(utf8_out) - 1);
    assert_memory_equal(json_string_value(v), utf8_out, sizeof(utf8_out) - 1);
    assert_true(json_equal(json_object_get(j, "output"), v));
    assert_true(json_is_true(json_object_get(j, "stdout_lossy")));
    assert_true(json_is_false(json_object_get(j, "stderr_lossy")));
    assert_true(json_is_false(json_object_get(j, "truncated")));
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), "");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "signal")), 0);
    assert_true(json_is_false(json_object_get(j, "stdout_truncated")));
    assert_true(json_is_false(json_object_get(j, "stderr_truncated")));
    assert_string_equal(json_string_value(json_object_get(j, "message")), "");
    assert_true(json_is_integer(json_object_get(j, "wall_ms")));
    assert_true(json_is_integer(json_object_get(j, "cpu_ms")));
    assert_true(json_is_integer(json_object_get(j, "peak_memory_bytes")));
    assert_string_equal(json_string_value(json_object_get(j, "language")), "python");
    assert_string_equal(json_string_value(json_object_get(j, "language_version")), "3.11.2");
    v = json_object_get(j, "limits");
    assert_true(json_is_integer(json_object_get(v, "timeout_ms")));
    assert_true(json_is_integer(json_object_get(v, "memory_bytes")));
    assert_true(json_is_integer(json_object_get(v, "output_limit_bytes")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "request_id"))), 16);
    json_decref(j);
    cli_free(&r);

    /* Same exit statuses in --json mode; the output is in the object. */
    run_code(&r, "e.py", "#exit3\n", (const char *const[]){"--json", NULL});
    assert_int_equal(r.status, 3);
    assert_int_equal(r.err_len, 0);
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "runtime_error");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "SystemExit: 3");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 3);
    assert_string_equal(json_string_value(json_object_get(j, "stderr")), exit3_stderr);
    json_decref(j);
    cli_free(&r);

    /* A server error is a JSON object too. */
    run_code(&r, "i.py", "#invalid\n", (const char *const[]){"--json", NULL});
    assert_int_equal(r.status, 65);
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_non_null(j);
    /* The HTTP API's error shape (docs/API.md, "Errors"). */
    assert_string_equal(json_string_value(json_object_get(j, "error")), "code is too long");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "rejected");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "INVALID_ARGUMENT");
    json_decref(j);
    cli_free(&r);

    /* A failure on the server's side is "error", not "rejected". */
    run_sce(&r, NULL, NULL,
            (const char *const[]){"--server", "ipc:///nonexistent/sce.sock", "run", "--json",
                                  "-l", "python", "/dev/null", NULL});
    assert_int_equal(r.status, 69);
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "UNAVAILABLE");
    json_decref(j);
    cli_free(&r);
}

/* batch --json: the HTTP API's POST /run-batch answer, a refused task as
 * an error object with the task's id. */
static void test_batch_json(void **state)
{
    char a[128], b[128];
    json_error_t jerr;
    json_t *j, *res;
    cli_result r;
    const char *rid;

    write_file("one.py", "print(1)\n", 9, a, sizeof(a));
    write_file("two.py", "puts 2\n", 7, b, sizeof(b));
    run_sce(&r, NULL, url, (const char *const[]){"batch", a, "--json", b, NULL});
    assert_int_equal(r.status, 1); /* not every task ran OK */
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_non_null(j);
    rid = json_string_value(json_object_get(j, "request_id"));
    assert_int_equal(strlen(rid), 16);
    res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "status")),
                        "ok");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "output")),
                        "1\n");
    assert_null(json_object_get(json_array_get(res, 0), "file"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "error")),
                        "unknown language 'ruby'");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "status")),
                        "rejected");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "code")),
                        "INVALID_ARGUMENT");
    assert_true(starts(json_string_value(json_object_get(json_array_get(res, 1), "request_id")),
                       rid));
    assert_true(strcmp(json_string_value(json_object_get(json_array_get(res, 1), "request_id")) +
                           16,
                       "-1") == 0);
    json_decref(j);
    cli_free(&r);
}

/* getopt_long: options after FILE, abbreviated long options, and --
 * before a FILE whose name starts with '-'. */
static void test_argument_order(void **state)
{
    char path[128];
    const Sce__V1__Request *q;
    cli_result r;

    write_file("order.txt", "#ok\n", 4, path, sizeof(path));
    run_sce(&r, NULL, NULL,
            (const char *const[]){"run", path, "--lang", "node", "--server", url, "--time=3",
                                  "--", "a", "-b", NULL});
    assert_int_equal(r.status, 0);
    q = fake_last_request(fake);
    assert_string_equal(q->run->language, "node");
    assert_int_equal(q->run->limits->timeout_ms, 3000);
    assert_int_equal(q->run->n_args, 2);
    assert_string_equal(q->run->args[0], "a");
    assert_string_equal(q->run->args[1], "-b");
    cli_free(&r);

    /* The child runs in tmpdir: "-odd.py" is a relative name there. */
    write_file("-odd.py", "#ok\nodd\n", 8, path, sizeof(path));
    run_sce(&r, NULL, url, (const char *const[]){"run", "--json", "--", "-odd.py", "x", NULL});
    assert_int_equal(r.status, 0);
    q = fake_last_request(fake);
    assert_string_equal(q->run->language, "python");
    assert_string_equal(q->run->code, "#ok\nodd\n");
    assert_int_equal(q->run->n_args, 1);
    assert_string_equal(q->run->args[0], "x");
    cli_free(&r);

    /* history takes its options in any order too, and nothing else. */
    run_sce(&r, NULL, url, (const char *const[]){"history", "extra", NULL});
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unexpected argument 'extra' for history"));
    cli_free(&r);
    run_sce(&r, NULL, url, (const char *const[]){"run", "x.py", "--timeout", NULL});
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "option --timeout needs a value"));
    cli_free(&r);
    run_sce(&r, NULL, url, (const char *const[]){"batch", "--entry", "a.py", "x.py", NULL});
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unknown option '--entry' for batch"));
    cli_free(&r);
}

static void test_languages(void **state)
{
    cli_result r;
    json_error_t jerr;
    json_t *j, *arr;

    run_sce(&r, NULL, url, (const char *const[]){"languages", NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(
        r.out, "NAME    VERSION  IMAGE              RUNTIME  STATUS\n"
               "python  3.11.2   sce-python:latest  runsc    available\n"
               "node    -        sce-node:latest    -        unavailable: image missing\n");
    cli_free(&r);

    run_sce(&r, NULL, url, (const char *const[]){"languages", "--json", NULL});
    assert_int_equal(r.status, 0);
    /* GET /languages' shape: {"languages": [...]}. */
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_true(json_is_object(j));
    arr = json_object_get(j, "languages");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(arr, 0), "extensions"), 0)),
        ".py");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")),
                        "python");
    assert_true(json_is_false(json_object_get(json_array_get(arr, 1), "available")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "message")),
                        "image missing");
    json_decref(j);
    cli_free(&r);
}

static void test_health(void **state)
{
    cli_result r;

    atomic_store(&engine_ok, 1);
    run_sce(&r, NULL, url, (const char *const[]){"health", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "serving:         yes\n"));
    assert_non_null(strstr(r.out, "engine:          ok (Docker 20.10.24)\n"));
    assert_non_null(strstr(r.out, "workers:         1 busy of 4\n"));
    assert_non_null(strstr(r.out, "uptime:          1h 2m 3s\n"));
    assert_non_null(strstr(r.out, "runtime:         python runsc (gVisor), node runc\n"));
    cli_free(&r);
    atomic_store(&one_runtime, 1);
    run_sce(&r, NULL, url, (const char *const[]){"health", NULL});
    atomic_store(&one_runtime, 0);
    assert_non_null(strstr(r.out, "runtime:         runsc (gVisor)\n"));
    cli_free(&r);

    atomic_store(&engine_ok, 0);
    run_sce(&r, NULL, url, (const char *const[]){"health", NULL});
    assert_int_equal(r.status, 69);
    assert_non_null(strstr(r.out, "engine:          down: no docker\n"));
    cli_free(&r);
    /* GET /healthz's shape, less the gateway's part. */
    run_sce(&r, NULL, url, (const char *const[]){"health", "--json", NULL});
    assert_int_equal(r.status, 69);
    assert_string_equal(
        r.out, "{\"status\":\"degraded\",\"server\":{\"reachable\":true,\"serving\":true,"
               "\"version\":\"0.1.0\",\"instance_id\":\"\",\"workers\":4,\"busy_workers\":1,"
               "\"queued\":0,\"queue_capacity\":0,\"uptime_ms\":3723000,\"runs_total\":0},"
               "\"engine\":{\"ok\":false,\"version\":\"20.10.24\",\"message\":\"no docker\","
               "\"runtimes\":{\"python\":\"runsc\",\"node\":\"runc\"}}}\n");
    cli_free(&r);
    atomic_store(&engine_ok, 1);
    run_sce(&r, NULL, url, (const char *const[]){"health", "--json", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "{\"status\":\"ok\",\"server\":{"));
    assert_null(strstr(r.out, "\"gateway\""));
    cli_free(&r);
}

/* history --json is GET /history's page: status (not verdict), time in ISO
 * 8601 and time_ms, and the query's offset. */
static void test_history_json(void **state)
{
    cli_result r;
    json_error_t jerr;
    json_t *j, *e;

    (void)state;
    run_sce(&r, NULL, url, (const char *const[]){"history", "--offset", "7", "--json", NULL});
    assert_int_equal(r.status, 0);
    j = json_loadb(r.out, r.out_len, 0, &jerr);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), 7);
    assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
    e = json_array_get(json_object_get(j, "entries"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), 41);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "timeout");
    assert_null(json_object_get(e, "verdict"));
    assert_string_equal(json_string_value(json_object_get(e, "time")), "2026-11-22T07:46:17.310Z");
    assert_int_equal(json_integer_value(json_object_get(e, "time_ms")), 1795333577310);
    assert_string_equal(json_string_value(json_object_get(e, "message")), "time limit exceeded");
    assert_string_equal(json_string_value(json_object_get(e, "request_id")), "rid-41");
    json_decref(j);
    cli_free(&r);

    /* The table reads the same page. */
    run_sce(&r, NULL, url, (const char *const[]){"history", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "timeout"));
    cli_free(&r);
}

/* A fresh `sce` process must not hang up on the server in the middle of an
 * SP handshake (its reachability probe included): nng 1.5's listener then
 * sleeps 100 ms before accepting the process's real connection, which made
 * every CLI call take 100 ms.  A tap between the CLI and the fake counts
 * the bytes each connection sent before it ended; the SP header is 8. */
static void test_connections_complete_handshake(void **state)
{
    tcp_tap *tap = tap_start(url);
    cli_result r;

    for (int i = 0; i < 2; i++) {
        run_sce(&r, NULL, tap_url(tap), (const char *const[]){"health", NULL});
        assert_int_equal(r.status, 0);
        cli_free(&r);
    }
    assert_true(tap_wait_idle(tap, 5000));
    assert_true(tap_connections(tap) >= 2);
    assert_int_equal(tap_short_connections(tap, 8), 0);
    tap_stop(tap);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sce-test-cli-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    fake = fake_start_tcp(handler, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(fake));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    fake_stop(fake);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_passthrough),
        cmocka_unit_test(test_runtime_error_exit_code),
        cmocka_unit_test(test_timeout_and_memory),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_server_status),
        cmocka_unit_test(test_no_server),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_help_version),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_code_from_stdin),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_argument_order),
        cmocka_unit_test(test_batch_json),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_history_json),
        cmocka_unit_test(test_connections_complete_handshake),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);

    nng_fini();
    return failed;
}
