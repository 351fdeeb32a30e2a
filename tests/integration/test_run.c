/*
 * test_run.c - integration tests of Run against the real server and the real
 * Docker Engine: every demo case of the reference executors, for one
 * language (argv[1]: python or node), through libsce.
 *
 * The server is started by the ctest fixture `stack` (stack.sh), which
 * writes its URL to the file named by $SCE_TEST_STACK_ENV.  A missing stack
 * is a failure, never a skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "sce.pb-c.h"
#include "sce/client.h"

#include "stack_env.h"

static char server_url[512];
static const char *lang;
static int is_py;
static sce_client *client;
/* The language runs on gVisor (runsc): where its kernel answers otherwise
 * (an errno, a /proc field), the tests expect its answer (docs/SECURITY.md). */
static int gvisor;

/* ------------------------------------------------------------ helpers */

static void load_stack_env(void)
{
    stack_value v[] = {{"SCE_SERVER", server_url, sizeof(server_url), 1}};

    stack_env_load(v, 1);
}

/* Runs code (Python or Node, as the test chooses) and returns the result. */
static sce_run_result *run_full(const char *code, const char *in, const char *const *args,
                                size_t nargs, uint32_t timeout_ms)
{
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[512];
    int rv;

    memset(&rq, 0, sizeof(rq));
    rq.language = lang;
    rq.code = code;
    rq.stdin_data = in;
    rq.stdin_len = in ? strlen(in) : 0;
    rq.args = args;
    rq.nargs = nargs;
    rq.timeout_ms = timeout_ms;
    rv = sce_client_run(client, &rq, &res, err, sizeof(err));
    if (rv != SCE_OK)
        fail_msg("run failed: %s: %s", sce_err_name(rv), err);
    return res;
}

static sce_run_result *run(const char *py, const char *js)
{
    return run_full(is_py ? py : js, NULL, NULL, 0, 0);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay ? hay : "(null)");
}

static void assert_verdict(const sce_run_result *r, sce_verdict v)
{
    if (r->verdict != v)
        fail_msg("verdict %s, expected %s; exit %d, message \"%s\"\nstdout: %.2000s\nstderr: "
                 "%.2000s",
                 sce_verdict_name(r->verdict), sce_verdict_name(v), r->exit_code, r->message,
                 r->stdout_data, r->stderr_data);
}

/* ------------------------------------------------------------ the demo cases */

static void test_hello(void **state)
{
    sce_run_result *r = run("print('Hello, World!')\n", "console.log('Hello, World!');\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "Hello, World!\n");
    assert_int_equal(r->stderr_len, 0);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(r->message, "");
    assert_string_equal(r->language, lang);
    assert_true(strlen(r->language_version) > 0);
    assert_int_equal(r->timeout_ms, 10000);
    assert_int_equal(r->memory_bytes, 128u << 20);
    assert_int_equal(r->output_limit_bytes, 65536);
    assert_int_equal(strlen(r->request_id), 16);
    sce_run_result_free(r);
}

/* cpu_ms and peak_memory_bytes come from the runner's end marker (the
 * container's cgroup).  What is certain, and so asserted: a program that
 * touches 60 MiB and burns 300 ms of its own CPU time reports at least that
 * much of both; any run that ended by itself used some CPU (cpu_ms is
 * rounded up) and memory; no run reports more memory than its limit; and
 * since the runner reads the CPU counter inside the server's clock, under
 * a 1-CPU quota (the stack's) cpu_ms is at most wall_ms plus one quota
 * period of 100 ms, which a count that included the interpreter's start-up
 * or the warm-up of a pooled container would break.
 * On gVisor the CPU figure is gVisor's own account and the peak is read
 * from the host after the markers (docs/API.md); a run there once reported
 * cpu_ms 0 and a 34 MB peak for the 60 MiB program below, not seen again
 * in dozens of runs, so there a figure below what is certain is printed as
 * a NOTE, not failed; the upper bounds hold on both runtimes. */
static void usage_too_low(const char *what)
{
    if (!gvisor)
        fail_msg("%s", what);
    printf("  NOTE (gVisor): %s\n", what);
}

static void assert_usage_bounds(const sce_run_result *r)
{
    char what[160];

    snprintf(what, sizeof(what), "cpu_ms %u, peak_memory_bytes %llu: expected both measured",
             r->cpu_ms, (unsigned long long)r->peak_memory_bytes);
    if (r->cpu_ms == 0 || r->peak_memory_bytes == 0)
        usage_too_low(what);
    if (r->cpu_ms > r->wall_ms + 100)
        fail_msg("cpu_ms %u is more than wall_ms %u + 100", r->cpu_ms, r->wall_ms);
    if (r->peak_memory_bytes > r->memory_bytes)
        fail_msg("peak_memory_bytes %llu is over the limit %llu",
                 (unsigned long long)r->peak_memory_bytes, (unsigned long long)r->memory_bytes);
}

static void test_usage_figures(void **state)
{
    sce_run_result *r =
        run("import time\nx = bytearray(60 << 20)\nfor i in range(0, len(x), 4096):\n"
            "    x[i] = 1\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n"
            "    pass\nprint(len(x))\n",
            "const b = Buffer.alloc(60 << 20, 1);\nconst t = process.cpuUsage();\nlet u;\n"
            "do { u = process.cpuUsage(t); } while (u.user + u.system < 300000);\n"
            "console.log(b.length);\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "62914560\n");
    assert_usage_bounds(r);
    if (r->cpu_ms < 300 || r->peak_memory_bytes < 60u << 20) {
        char what[160];

        snprintf(what, sizeof(what),
                 "cpu_ms %u (expected >= 300), peak_memory_bytes %llu (expected >= 60 MiB)",
                 r->cpu_ms, (unsigned long long)r->peak_memory_bytes);
        usage_too_low(what);
    }
    sce_run_result_free(r);

    r = run("print('hi')\n", "console.log('hi');\n");
    assert_verdict(r, SCE_VERDICT_OK);
    assert_usage_bounds(r);
    sce_run_result_free(r);

    /* A failing Python program's figures are reported too: its runner
     * wrote the markers.  Node.js emits 'exit' before it prints an uncaught
     * exception, so there its runner writes none (see node_runner.js). */
    r = run("raise ValueError('no')\n", "process.exitCode = 2;\n");
    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_usage_bounds(r);
    sce_run_result_free(r);

    /* Without the markers (an exit that skips the exit handlers) there are
     * no figures: 0, never a guess. */
    r = run("import os\nos._exit(3)\n", "process.reallyExit(3);\n");
    assert_int_equal(r->exit_code, 3);
    assert_int_equal(r->cpu_ms, 0);
    assert_int_equal(r->peak_memory_bytes, 0);
    sce_run_result_free(r);
}

static void test_arithmetic(void **state)
{
    sce_run_result *r = run("print(2 + 2)\nprint(7 * 6, 2 ** 100)\n",
                            "console.log(2 + 2);\nconsole.log(7 * 6, 2n ** 100n);\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, is_py ? "4\n42 1267650600228229401496703205376\n"
                                              : "4\n42 1267650600228229401496703205376n\n");
    sce_run_result_free(r);
}

static void test_loops(void **state)
{
    sce_run_result *r = run("for i in range(5):\n    print(i)\ntotal = sum(range(1001))\n"
                            "print(total)\n",
                            "for (let i = 0; i < 5; i++) console.log(i);\n"
                            "let t = 0; for (let i = 0; i <= 1000; i++) t += i;\nconsole.log(t);\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "0\n1\n2\n3\n4\n500500\n");
    sce_run_result_free(r);
}

static void test_runtime_error(void **state)
{
    sce_run_result *r = run("print('before')\nprint(x)\n", "console.log('before');\nx;\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_int_equal(r->exit_code, 1);
    assert_string_equal(r->stdout_data, "before\n");
    if (is_py) {
        assert_string_equal(r->message, "NameError: name 'x' is not defined");
        assert_contains(r->stderr_data, "Traceback (most recent call last):");
        assert_contains(r->stderr_data, "main.py\", line 2, in <module>");
        /* The runner's own frames never show. */
        assert_null(strstr(r->stderr_data, "runpy"));
        assert_null(strstr(r->stderr_data, "sce"));
    } else {
        assert_string_equal(r->message, "ReferenceError: x is not defined");
        assert_contains(r->stderr_data, "main.js:2");
    }
    sce_run_result_free(r);
}

static void test_syntax_error(void **state)
{
    sce_run_result *r = run("print('unclosed'\n", "console.log('unclosed';\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_contains(r->message, "SyntaxError");
    sce_run_result_free(r);
}

static void test_infinite_loop(void **state)
{
    struct timespec t0, t1;
    long ms;
    sce_run_result *r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = run("print('started', flush=True)\nwhile True:\n    pass\n",
            "console.log('started');\nwhile (true) {}\n");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

    assert_verdict(r, SCE_VERDICT_TIMEOUT);
    assert_string_equal(r->message, "Execution timed out after 10 seconds");
    /* The output printed before the kill is kept. */
    assert_string_equal(r->stdout_data, "started\n");
    assert_in_range(r->wall_ms, 10000, 11000);
    /* Seen by the client: the server's 10 s, plus any wait for a worker
     * (other suites share the stack's server, and a worker stays busy until
     * its run's container has stopped) and the kill.  Far below what a kill
     * stuck for docker_timeout (30 s) would take. */
    assert_in_range(ms, 10000, 20000);
    assert_int_equal(r->exit_code, 137);
    assert_int_equal(r->signal, 9);
    /* Killed: no end marker, so no figures. */
    assert_int_equal(r->cpu_ms, 0);
    assert_int_equal(r->peak_memory_bytes, 0);
    sce_run_result_free(r);
}

static void test_lowered_timeout(void **state)
{
    sce_run_result *r = run_full(is_py ? "import time\ntime.sleep(30)\n"
                                       : "setTimeout(() => {}, 30000);\n",
                                 NULL, NULL, 0, 1500);

    assert_verdict(r, SCE_VERDICT_TIMEOUT);
    assert_string_equal(r->message, "Execution timed out after 1.5 seconds");
    assert_int_equal(r->timeout_ms, 1500);
    assert_in_range(r->wall_ms, 1500, 2500);
    sce_run_result_free(r);
}

static void test_memory_bomb(void **state)
{
    sce_run_result *r = run("x = 'a' * 10**9\nprint(len(x))\n",
                            "const a = [];\nwhile (true) a.push(new Array(1e6).fill(1.5));\n");

    /* On gVisor, under load, the engine's OOM flag was seen to miss the
     * server's 1.5 s wait: the kill is the kernel's at the limit all the
     * same (exit 137), reported as a plain SIGKILL; noted, as the security
     * suite notes it (docs/SECURITY.md). */
    if (gvisor && r->verdict == SCE_VERDICT_RUNTIME_ERROR && r->exit_code == 137 &&
        r->signal == 9) {
        printf("  NOTE (gVisor): an OOM kill reported as \"%s\" (the engine's OOMKilled came "
               "late)\n",
               r->message);
    } else {
        assert_verdict(r, SCE_VERDICT_MEMORY_LIMIT);
        assert_string_equal(r->message, "Killed: memory limit of 128 MiB exceeded");
    }
    assert_int_equal(r->stdout_len, 0);
    sce_run_result_free(r);
}

static void test_network_call(void **state)
{
    sce_run_result *r =
        run("import socket\n"
            "try:\n"
            "    print(socket.gethostbyname('example.com'))\n"
            "except OSError as e:\n"
            "    print('dns failed:', e)\n"
            "s = socket.socket()\n"
            "s.settimeout(3)\n"
            "s.connect(('1.1.1.1', 80))\n",
            "const dns = require('dns');\n"
            "dns.lookup('example.com', (err, a) => {\n"
            "  console.log(err ? 'dns failed: ' + err.code : a);\n"
            "  require('net').connect(80, '1.1.1.1').on('error', e => {\n"
            "    console.log('connect failed: ' + e.code); process.exit(2); });\n"
            "});\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_contains(r->stdout_data, "dns failed");
    /* gVisor's network stack is absent (--network=none): no route. */
    if (is_py)
        assert_contains(r->message, gvisor ? "OSError: [Errno 113] No route to host"
                                           : "OSError: [Errno 101] Network is unreachable");
    else
        assert_contains(r->stdout_data,
                        gvisor ? "connect failed: EHOSTUNREACH" : "connect failed: ENETUNREACH");
    sce_run_result_free(r);
}

/* Networking is off, yet a program can talk to itself: localhost resolves
 * and the loopback interface works inside its own container. */
static void test_loopback_within_the_run(void **state)
{
    sce_run_result *r =
        run("import socket, threading\n"
            "srv = socket.create_server(('localhost', 0))\n"
            "def serve():\n"
            "    c, _ = srv.accept()\n"
            "    c.sendall(c.recv(100).upper())\n"
            "    c.close()\n"
            "threading.Thread(target=serve).start()\n"
            "with socket.create_connection(('localhost', srv.getsockname()[1])) as s:\n"
            "    s.sendall(b'ping')\n"
            "    print(s.recv(100).decode())\n",
            "const net = require('net');\n"
            "const srv = net.createServer((c) => c.on('data', (d) => c.end(String(d).toUpperCase())));\n"
            "srv.listen(0, 'localhost', () => {\n"
            "  const c = net.connect(srv.address().port, 'localhost', () => c.write('ping'));\n"
            "  c.on('data', (d) => { console.log(String(d)); srv.close(); });\n"
            "});\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "PING\n");
    sce_run_result_free(r);
}

static void test_write_outside_tmp(void **state)
{
    sce_run_result *r = run("open('/etc/hacked', 'w').write('x')\n",
                            "require('fs').writeFileSync('/etc/hacked', 'x');\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    /* gVisor checks /etc's permission before the read-only mount. */
    if (gvisor)
        assert_contains(is_py ? r->message : r->stderr_data,
                        is_py ? "Permission denied" : "EACCES");
    else
        assert_contains(is_py ? r->message : r->stderr_data,
                        is_py ? "Read-only file system" : "EROFS");
    sce_run_result_free(r);
}

static void test_read_passwd_is_the_containers(void **state)
{
    sce_run_result *r = run("print(open('/etc/passwd').read())\n",
                            "console.log(require('fs').readFileSync('/etc/passwd', 'utf8'));\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_contains(r->stdout_data, "nobody:x:65534");
    sce_run_result_free(r);
}

static void test_write_tmp(void **state)
{
    sce_run_result *r =
        run("import os\n"
            "open('/tmp/a.txt', 'w').write('hello')\n"
            "print(open('/tmp/a.txt').read(), os.getuid())\n"
            "try:\n"
            "    with open('/tmp/big', 'wb') as f:\n"
            "        for i in range(20):\n"
            "            f.write(b'x' * (1 << 20))\n"
            "except OSError as e:\n"
            "    print('full after', os.path.getsize('/tmp/big') >> 20, 'MiB:', e.strerror)\n",
            "const fs = require('fs');\n"
            "fs.writeFileSync('/tmp/a.txt', 'hello');\n"
            "console.log(fs.readFileSync('/tmp/a.txt', 'utf8'), process.getuid());\n"
            "try { const fd = fs.openSync('/tmp/big', 'w');\n"
            "  for (let i = 0; i < 20; i++) fs.writeSync(fd, Buffer.alloc(1 << 20, 120));\n"
            "} catch (e) { console.log('full after', fs.statSync('/tmp/big').size >> 20, "
            "'MiB:', e.code); }\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_contains(r->stdout_data, "hello 65534\n");
    assert_contains(r->stdout_data, is_py ? "MiB: No space left on device" : "MiB: ENOSPC");
    assert_in_range(atoi(strstr(r->stdout_data, "full after ") + 11), 14, 16);
    sce_run_result_free(r);
}

static void test_fork_bomb(void **state)
{
    sce_run_result *r, *after;

    r = run("import os, time\n"
            "n = 0\n"
            "try:\n"
            "    for i in range(500):\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(60)\n"
            "            os._exit(0)\n"
            "        n += 1\n"
            "except OSError as e:\n"
            "    print('fork failed after', n, 'children:', e.strerror)\n",
            "const { spawn } = require('child_process');\n"
            "let n = 0;\n"
            "function next() {\n"
            "  if (n >= 500) { console.log('no limit hit'); process.exit(1); }\n"
            "  const c = spawn('sleep', ['60']);\n"
            "  c.on('spawn', () => { n++; next(); });\n"
            "  c.on('error', e => { console.log('spawn failed after', n, 'children:', e.code);\n"
            "    process.exit(0); });\n"
            "}\n"
            "next();\n");
    /* Contained: the program learns it cannot make more processes, its
     * children die with the container, and the run ends.  On gVisor each
     * process costs about 4 MiB of the memory limit and a spawn from
     * Node.js about 150 ms: the memory limit or the time limit may stop
     * the bomb first, which contains it as well (docs/SECURITY.md; the
     * security suite shows the process cap itself there). */
    if (gvisor && (r->verdict == SCE_VERDICT_MEMORY_LIMIT || r->verdict == SCE_VERDICT_TIMEOUT ||
                   (r->verdict == SCE_VERDICT_RUNTIME_ERROR && r->signal == 9))) {
        printf("  gVisor: the bomb was stopped by the %s\n",
               r->verdict == SCE_VERDICT_TIMEOUT ? "time limit" : "memory limit");
        sce_run_result_free(r);
        after = run("print('still here')\n", "console.log('still here');\n");
        assert_verdict(after, SCE_VERDICT_OK);
        sce_run_result_free(after);
        return;
    }
    assert_verdict(r, SCE_VERDICT_OK);
    if (is_py) {
        assert_contains(r->stdout_data, "Resource temporarily unavailable");
        assert_in_range(atoi(strstr(r->stdout_data, "after ") + 6), 1, 63);
    } else {
        assert_contains(r->stdout_data, "EAGAIN");
    }
    sce_run_result_free(r);

    after = run("print('still here')\n", "console.log('still here');\n");
    assert_verdict(after, SCE_VERDICT_OK);
    sce_run_result_free(after);
}

static void test_output_flood(void **state)
{
    sce_run_result *r = run("while True:\n    print('y' * 99)\n",
                            "const s = 'y'.repeat(99) + '\\n';\nwhile (true) process.stdout.write(s);\n");

    assert_verdict(r, SCE_VERDICT_OUTPUT_LIMIT);
    assert_string_equal(r->message, "Output limit of 64 KiB exceeded: the program was stopped");
    assert_int_equal(r->stdout_len, 65536);
    assert_true(r->stdout_truncated);
    /* The head is kept, byte-exact. */
    assert_memory_equal(r->stdout_data, "yyyyyyyyyy", 10);
    assert_int_equal(r->stdout_data[99], '\n');
    sce_run_result_free(r);
}

static void test_stdin_echo(void **state)
{
    sce_run_result *r = run_full(is_py ? "name = input()\nrest = __import__('sys').stdin.read()\n"
                                         "print('hello', name)\nprint(rest.upper(), end='')\n"
                                       : "let d = '';\nprocess.stdin.on('data', c => d += c);\n"
                                         "process.stdin.on('end', () => { const [n, ...r] = "
                                         "d.split('\\n');\n console.log('hello', n);\n"
                                         " process.stdout.write(r.join('\\n').toUpperCase()); "
                                         "});\n",
                                 "world\nline two\nline three\n", NULL, 0, 0);

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "hello world\nLINE TWO\nLINE THREE\n");
    sce_run_result_free(r);
}

static void test_exit_code(void **state)
{
    sce_run_result *r = run("print('bye')\nexit(3)\n", "console.log('bye');\nprocess.exit(3);\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_int_equal(r->exit_code, 3);
    assert_int_equal(r->signal, 0);
    assert_string_equal(r->message, "Process exited with code 3");
    assert_string_equal(r->stdout_data, "bye\n");
    sce_run_result_free(r);
}

static void test_args_and_main(void **state)
{
    const char *args[] = {"one", "two words", "$(id)", "--flag"};
    sce_run_result *r = run_full(
        is_py ? "import sys\nprint(__name__, sys.argv)\n"
              : "console.log(require.main === module, JSON.stringify(process.argv.slice(1)));\n",
        NULL, args, 4, 0);

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data,
                        is_py ? "__main__ ['main.py', 'one', 'two words', '$(id)', '--flag']\n"
                              : "true [\"/tmp/code/main.js\",\"one\",\"two words\",\"$(id)\","
                                "\"--flag\"]\n");
    sce_run_result_free(r);
}

static void test_sandbox_identity(void **state)
{
    sce_run_result *r =
        run("import os\ns = open('/proc/self/status').read()\n"
            "print(os.getuid(), os.getgid(), os.environ.get('SCE_SERVER'), "
            "s.split('CapEff:')[1].split()[0], "
            "s.split('NoNewPrivs:')[1].split()[0] if 'NoNewPrivs:' in s else 'absent')\n",
            "const s = require('fs').readFileSync('/proc/self/status', 'utf8');\n"
            "console.log(process.getuid(), process.getgid(), process.env.SCE_SERVER, "
            "s.split('CapEff:')[1].trim().split(/\\s/)[0], "
            "s.includes('NoNewPrivs:') ? s.split('NoNewPrivs:')[1].trim().split(/\\s/)[0] "
            ": 'absent');\n");

    /* gVisor's /proc/self/status has no NoNewPrivs line. */
    assert_verdict(r, SCE_VERDICT_OK);
    if (gvisor)
        assert_string_equal(r->stdout_data,
                            is_py ? "65534 65534 None 0000000000000000 absent\n"
                                  : "65534 65534 undefined 0000000000000000 absent\n");
    else
        assert_string_equal(r->stdout_data, is_py ? "65534 65534 None 0000000000000000 1\n"
                                                  : "65534 65534 undefined 0000000000000000 1\n");
    sce_run_result_free(r);
}

static void test_code_too_long(void **state)
{
    char *code = malloc(5002);
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[512];
    int rv;

    memset(code, ' ', 5001);
    code[5001] = '\0';
    code[0] = '1';
    memset(&rq, 0, sizeof(rq));
    rq.language = lang;
    rq.code = code;
    rv = sce_client_run(client, &rq, &res, err, sizeof(err));
    assert_int_equal(rv, SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "code is 5001 characters; the limit is 5000");
    assert_null(res);

    /* 5000 characters are fine. */
    code[5000] = '\0';
    rv = sce_client_run(client, &rq, &res, err, sizeof(err));
    assert_int_equal(rv, SCE_OK);
    sce_run_result_free(res);
    free(code);
}

/* Counts "create" events of containers labelled with this request id since
 * `since` (unix seconds), asking the engine directly. */
static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
    size_t *count = arg;
    const char *q = p;
    size_t len = size * n;

    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(q + i, "\"Action\":\"create", 16) == 0)
            (*count)++;
    return len;
}

static size_t container_creates(const char *request_id, long since)
{
    char url[1024];
    size_t count = 0;
    CURL *h = curl_easy_init();
    long until = (long)time(NULL) + 1;

    snprintf(url, sizeof(url),
             "http://localhost/v1.41/events?since=%ld&until=%ld&filters=%%7B%%22label%%22%%3A%%5B%%22"
             "org.sce.request-id%%3D%s%%22%%5D%%7D",
             since, until, request_id);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, "/var/run/docker.sock");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &count);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    return count;
}

/* Sends a Run with a chosen request id through the raw call; returns the
 * status code. */
static int raw_run(const char *request_id, const char *code, uint64_t memory_bytes)
{
    Sce__V1__Request rq = SCE__V1__REQUEST__INIT;
    Sce__V1__RunRequest run_rq = SCE__V1__RUN_REQUEST__INIT;
    Sce__V1__Limits lim = SCE__V1__LIMITS__INIT;
    Sce__V1__Response *resp;
    uint8_t *buf;
    void *out = NULL;
    size_t out_len = 0, len;
    char err[256];
    int code_rv;

    run_rq.language = (char *)lang;
    run_rq.code = (char *)code;
    lim.memory_bytes = memory_bytes;
    run_rq.limits = &lim;
    rq.method = SCE__V1__METHOD__METHOD_RUN;
    rq.request_id = (char *)request_id;
    rq.body_case = SCE__V1__REQUEST__BODY_RUN;
    rq.run = &run_rq;
    len = sce__v1__request__get_packed_size(&rq);
    buf = malloc(len);
    sce__v1__request__pack(&rq, buf);
    assert_int_equal(sce_client_call_raw(client, buf, len, &out, &out_len, err, sizeof(err)),
                     SCE_OK);
    resp = sce__v1__response__unpack(NULL, out_len, out);
    assert_non_null(resp);
    assert_string_equal(resp->request_id, request_id);
    code_rv = resp->status ? (int)resp->status->code : 0;
    sce__v1__response__free_unpacked(resp, NULL);
    free(out);
    free(buf);
    return code_rv;
}

static void test_rejected_before_any_container(void **state)
{
    char *code = malloc(5002);
    char rid_bad[64], rid_good[64];
    long since = (long)time(NULL) - 1;

    snprintf(rid_bad, sizeof(rid_bad), "reject%d%s", (int)getpid(), lang);
    snprintf(rid_good, sizeof(rid_good), "accept%d%s", (int)getpid(), lang);
    memset(code, 'a', 5001);
    code[5001] = '\0';
    assert_int_equal(raw_run(rid_bad, code, 0), SCE_ERR_INVALID_ARGUMENT);
    /* The control: an accepted run does show a create event.  Its memory
     * limit differs from the warm pool's, so it gets a container of its own,
     * created for it and labelled with its request id. */
    assert_int_equal(raw_run(rid_good, is_py ? "print(1)" : "console.log(1)", 100u << 20),
                     SCE_OK);
    assert_int_equal(container_creates(rid_good, since), 1);
    assert_int_equal(container_creates(rid_bad, since), 0);
    free(code);
}

static void test_bad_requests(void **state)
{
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[512];

    memset(&rq, 0, sizeof(rq));
    rq.language = "ruby";
    rq.code = "puts 1";
    assert_int_equal(sce_client_run(client, &rq, &res, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "unknown language 'ruby': use one of python, node");

    rq.language = lang;
    rq.timeout_ms = 20000;
    assert_int_equal(sce_client_run(client, &rq, &res, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err,
                        "limits.timeout_ms: 20 seconds is more than the server's maximum of 10 "
                        "seconds");
    assert_null(res);
}

static void test_malformed_protobuf(void **state)
{
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01, 0x00};
    void *out = NULL;
    size_t out_len = 0;
    char err[256];
    Sce__V1__Response *resp;
    sce_health *h = NULL;

    assert_int_equal(sce_client_call_raw(client, junk, sizeof(junk), &out, &out_len, err,
                                         sizeof(err)),
                     SCE_OK);
    resp = sce__v1__response__unpack(NULL, out_len, out);
    assert_non_null(resp);
    assert_int_equal(resp->status->code, SCE__V1__STATUS_CODE__STATUS_INVALID_ARGUMENT);
    assert_string_equal(resp->status->message,
                        "malformed request: not a protobuf sce.v1.Request message");
    sce__v1__response__free_unpacked(resp, NULL);
    free(out);

    /* The server keeps serving. */
    assert_int_equal(sce_client_health(client, &h, err, sizeof(err)), SCE_OK);
    assert_true(h->serving);
    assert_true(h->engine_ok);
    sce_health_free(h);
}

/* The kernel a program sees: the host's on runc, gVisor's own (which
 * says 4.4.0) on runsc. */
static void test_kernel(void **state)
{
    struct utsname u;
    char want[300];
    sce_run_result *r =
        run("import os\nprint(os.uname().release)\n", "console.log(require('os').release());\n");

    assert_int_equal(uname(&u), 0);
    snprintf(want, sizeof(want), "%s\n", gvisor ? "4.4.0" : u.release);
    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, want);
    sce_run_result_free(r);
}

static void test_languages(void **state)
{
    sce_language_list *l = NULL;
    char err[256];
    int found = 0;

    assert_int_equal(sce_client_languages(client, &l, err, sizeof(err)), SCE_OK);
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->items[i].name, lang) != 0)
            continue;
        found = 1;
        assert_true(l->items[i].available);
        /* The runtime the stack was started on (scripts/test.sh's gVisor
         * stage sets SCE_RUNTIME=runsc), as the engine names it. */
        assert_string_equal(l->items[i].runtime, getenv("SCE_RUNTIME") && *getenv("SCE_RUNTIME")
                                                     ? getenv("SCE_RUNTIME")
                                                     : "runc");
        /* The real version, read from the image. */
        assert_true(strncmp(l->items[i].version, is_py ? "3." : "24.", is_py ? 2 : 3) == 0);
    }
    assert_true(found);
    sce_language_list_free(l);
}


/* ------------------------------------------------------------ warm pool semantics
 * Runs usually land in a container started before the code was known; the
 * program must not be able to tell, and nothing may pass between runs. */

static void test_isolation_between_runs(void **state)
{
    sce_run_result *a, *b;

    a = run("import os, sys\n"
            "open('/tmp/secret.txt', 'w').write('from run A')\n"
            "os.environ['SCE_LEAK'] = 'A'\n"
            "import json\n"
            "json.leaked = True\n"
            "open('/tmp/code/helper_mod.py', 'w').write('X = 1')\n"
            "import helper_mod\n"
            "print('written')\n",
            "const fs = require('fs');\n"
            "fs.writeFileSync('/tmp/secret.txt', 'from run A');\n"
            "process.env.SCE_LEAK = 'A';\n"
            "globalThis.leaked = true;\n"
            "require('path').leaked = true;\n"
            "console.log('written');\n");
    assert_verdict(a, SCE_VERDICT_OK);
    assert_string_equal(a->stdout_data, "written\n");
    b = run("import os, sys, json\n"
            "print(os.path.exists('/tmp/secret.txt'), os.environ.get('SCE_LEAK'),\n"
            "      hasattr(json, 'leaked'), 'helper_mod' in sys.modules,\n"
            "      os.path.exists('/tmp/code/helper_mod.py'))\n",
            "const fs = require('fs');\n"
            "console.log(fs.existsSync('/tmp/secret.txt'), process.env.SCE_LEAK,\n"
            "  typeof globalThis.leaked, require('path').leaked);\n");
    assert_verdict(b, SCE_VERDICT_OK);
    assert_string_equal(b->stdout_data, is_py ? "False None False False False\n"
                                              : "false undefined undefined undefined\n");
    sce_run_result_free(a);
    sce_run_result_free(b);
}

static void test_plain_interpreter_view(void **state)
{
    /* What a plain `python3 main.py` / `node main.js` would show. */
    sce_run_result *r = run(
        "import sys, os\n"
        "print(__name__, __file__, sys.argv, os.getcwd())\n"
        "print(sorted(k for k in globals() if not k.startswith('__')))\n"
        "print(sys.stdin.read() == '', [m for m in sys.modules if 'sce' in m])\n",
        "console.log(require.main === module, __filename, process.argv.length, process.cwd());\n"
        "console.log(Object.keys(globalThis).filter(k => /sce|runner/i.test(k)));\n"
        "let d = ''; process.stdin.on('data', c => d += c);\n"
        "process.stdin.on('end', () => console.log(JSON.stringify(d)));\n");

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data,
                        is_py ? "__main__ /tmp/code/main.py ['main.py'] /tmp/code\n['os', 'sys']\nTrue []\n"
                              : "true /tmp/code/main.js 2 /tmp/code\n[]\n\"\"\n");
    sce_run_result_free(r);
}

static void test_uncaught_in_callback_and_exit_handlers(void **state)
{
    /* Output printed by exit handlers is kept, and their exit code counts. */
    sce_run_result *r = run("import atexit, threading, time\n"
                            "atexit.register(lambda: print('atexit ran'))\n"
                            "def late():\n"
                            "    time.sleep(0.3)\n"
                            "    print('thread done')\n"
                            "threading.Thread(target=late).start()\n"
                            "raise SystemExit(4)\n",
                            "process.on('exit', (c) => { console.log('exit handler', c); "
                            "process.exitCode = 4; });\n"
                            "setTimeout(() => console.log('timer done'), 300);\n");

    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_int_equal(r->exit_code, 4);
    assert_string_equal(r->stdout_data, is_py ? "thread done\natexit ran\n"
                                              : "timer done\nexit handler 0\n");
    sce_run_result_free(r);
}

static void test_project_files(void **state)
{
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[512];
    const char *py_main = "from pkg.util import double\nimport helper\n"
                          "print(double(21), helper.NAME)\n";
    const char *js_main = "const { double } = require('./lib/util');\n"
                          "const helper = require('./helper.js');\n"
                          "console.log(double(21), helper.NAME);\n";
    sce_file files[] = {
        {is_py ? "main.py" : "main.js", is_py ? py_main : js_main, 0},
        {is_py ? "pkg/__init__.py" : "lib/util.js",
         is_py ? "" : "exports.double = (x) => 2 * x;\n", 0},
        {is_py ? "pkg/util.py" : "helper.js",
         is_py ? "def double(x):\n    return 2 * x\n" : "exports.NAME = 'helper';\n", 0},
        {is_py ? "helper.py" : "unused.txt", is_py ? "NAME = 'helper'\n" : "x", 0},
    };

    for (size_t i = 0; i < 4; i++)
        files[i].len = strlen(files[i].data);
    memset(&rq, 0, sizeof(rq));
    rq.language = lang;
    rq.files = files;
    rq.nfiles = 4;
    rq.entry = files[0].path;
    assert_int_equal(sce_client_run(client, &rq, &res, err, sizeof(err)), SCE_OK);
    assert_verdict(res, SCE_VERDICT_OK);
    assert_string_equal(res->stdout_data, "42 helper\n");
    sce_run_result_free(res);
}

static void test_cold_path_same_semantics(void **state)
{
    /* A memory limit below the pool's takes a container of its own. */
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[512];

    memset(&rq, 0, sizeof(rq));
    rq.language = lang;
    rq.code = is_py ? "print(input()[::-1])\nexit(5)\n"
                    : "process.stdin.on('data', d => { console.log(String(d).trim()"
                      ".split('').reverse().join('')); process.exit(5); });\n";
    rq.stdin_data = "olleh\n";
    rq.stdin_len = 6;
    rq.memory_bytes = 96u << 20;
    assert_int_equal(sce_client_run(client, &rq, &res, err, sizeof(err)), SCE_OK);
    assert_verdict(res, SCE_VERDICT_RUNTIME_ERROR);
    assert_int_equal(res->exit_code, 5);
    assert_int_equal(res->memory_bytes, 96u << 20);
    assert_string_equal(res->stdout_data, "hello\n");
    sce_run_result_free(res);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_usage_figures),
        cmocka_unit_test(test_arithmetic),
        cmocka_unit_test(test_loops),
        cmocka_unit_test(test_runtime_error),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_infinite_loop),
        cmocka_unit_test(test_lowered_timeout),
        cmocka_unit_test(test_memory_bomb),
        cmocka_unit_test(test_network_call),
        cmocka_unit_test(test_loopback_within_the_run),
        cmocka_unit_test(test_write_outside_tmp),
        cmocka_unit_test(test_read_passwd_is_the_containers),
        cmocka_unit_test(test_write_tmp),
        cmocka_unit_test(test_fork_bomb),
        cmocka_unit_test(test_output_flood),
        cmocka_unit_test(test_stdin_echo),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_args_and_main),
        cmocka_unit_test(test_sandbox_identity),
        cmocka_unit_test(test_code_too_long),
        cmocka_unit_test(test_rejected_before_any_container),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_malformed_protobuf),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_kernel),
        cmocka_unit_test(test_isolation_between_runs),
        cmocka_unit_test(test_plain_interpreter_view),
        cmocka_unit_test(test_uncaught_in_callback_and_exit_handlers),
        cmocka_unit_test(test_project_files),
        cmocka_unit_test(test_cold_path_same_semantics),
    };
    char err[256];
    int failed;

    if (argc != 2 || (strcmp(argv[1], "python") != 0 && strcmp(argv[1], "node") != 0)) {
        fprintf(stderr, "usage: test_run python|node\n");
        return 2;
    }
    lang = argv[1];
    is_py = strcmp(lang, "python") == 0;
    load_stack_env();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sce_client_open(server_url, &client, err, sizeof(err)) != SCE_OK) {
        fprintf(stderr, "sce_client_open(%s): %s\n", server_url, err);
        return 1;
    }
    sce_client_set_timeout(client, 60000);
    {
        sce_language_list *l = NULL;

        if (sce_client_languages(client, &l, err, sizeof(err)) != SCE_OK) {
            fprintf(stderr, "languages: %s\n", err);
            return 1;
        }
        for (size_t i = 0; i < l->count; i++)
            if (strcmp(l->items[i].name, lang) == 0)
                gvisor = strcmp(l->items[i].runtime, "runsc") == 0;
        sce_language_list_free(l);
        printf("%s runs on %s\n", lang, gvisor ? "gVisor (runsc)" : "runc");
    }
    failed = _cmocka_run_group_tests(lang, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    sce_client_close(client);
    curl_global_cleanup();
    return failed;
}
