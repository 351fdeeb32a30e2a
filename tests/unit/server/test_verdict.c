/*
 * test_verdict.c - verdict rules and the one-line error message
 * (server/verdict.c), table-driven.
 *
 * The first table maps what the executor observed (exit code, OOM flag,
 * timeout, output cap, stderr) to (verdict, signal, message); the second
 * maps a language's stderr to the error line alone.  Stderr samples are what
 * python3 and node really print.  Separate tests cover lines longer than the
 * message buffer, which must be cut on a UTF-8 boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sce.pb-c.h"
#include "verdict.h"

#define MIB (1024 * 1024)

#define V_OK SCE__V1__VERDICT__VERDICT_OK
#define V_RTE SCE__V1__VERDICT__VERDICT_RUNTIME_ERROR
#define V_TLE SCE__V1__VERDICT__VERDICT_TIMEOUT
#define V_MLE SCE__V1__VERDICT__VERDICT_MEMORY_LIMIT
#define V_OLE SCE__V1__VERDICT__VERDICT_OUTPUT_LIMIT
#define V_IE SCE__V1__VERDICT__VERDICT_INTERNAL_ERROR

/* An independent UTF-8 check of a NUL-terminated string. */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int k;
        uint32_t cp;

        if (*p < 0x80) {
            p++;
            continue;
        }
        if (*p >= 0xC2 && *p <= 0xDF) {
            k = 1;
            cp = *p & 0x1F;
        } else if ((*p & 0xF0) == 0xE0) {
            k = 2;
            cp = *p & 0x0F;
        } else if (*p >= 0xF0 && *p <= 0xF4) {
            k = 3;
            cp = *p & 0x07;
        } else {
            return 0;
        }
        for (int j = 1; j <= k; j++) {
            if ((p[j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += k + 1;
    }
    return 1;
}

/* ------------------------------------------------------------ stderr samples */

#define PY_NAME_ERROR                                                                              \
    "Traceback (most recent call last):\n"                                                         \
    "  File \"/tmp/code/main.py\", line 1, in <module>\n"                                          \
    "    print(x)\n"                                                                               \
    "          ^\n"                                                                                \
    "NameError: name 'x' is not defined\n"

#define PY_SYNTAX_ERROR                                                                            \
    "  File \"/tmp/code/main.py\", line 1\n"                                                       \
    "    print(\n"                                                                                 \
    "         ^\n"                                                                                 \
    "SyntaxError: '(' was never closed\n"

#define PY_CHAINED                                                                                 \
    "Traceback (most recent call last):\n"                                                         \
    "  File \"/tmp/code/main.py\", line 2, in <module>\n"                                          \
    "    {}['k']\n"                                                                                \
    "KeyError: 'k'\n"                                                                              \
    "\n"                                                                                           \
    "During handling of the above exception, another exception occurred:\n"                        \
    "\n"                                                                                           \
    "Traceback (most recent call last):\n"                                                         \
    "  File \"/tmp/code/main.py\", line 4, in <module>\n"                                          \
    "    raise RuntimeError('wrapped')\n"                                                          \
    "RuntimeError: wrapped\n"

#define PY_MEMORY_ERROR                                                                            \
    "Traceback (most recent call last):\n"                                                         \
    "  File \"/tmp/code/main.py\", line 1, in <module>\n"                                          \
    "    x = ' ' * (1 << 40)\n"                                                                    \
    "MemoryError\n"

#define NODE_TYPE_ERROR                                                                            \
    "/tmp/code/main.js:3\n"                                                                        \
    "console.log(o.x.y);\n"                                                                        \
    "                ^\n"                                                                          \
    "\n"                                                                                           \
    "TypeError: Cannot read properties of undefined (reading 'y')\n"                               \
    "    at Object.<anonymous> (/tmp/code/main.js:3:17)\n"                                         \
    "    at Module._compile (node:internal/modules/cjs/loader:1256:14)\n"                          \
    "    at Module.runMain (node:internal/modules/run_main:135:12)\n"                              \
    "\n"                                                                                           \
    "Node.js v18.19.0\n"

#define NODE_THROW_ERROR                                                                           \
    "/tmp/code/main.js:1\n"                                                                        \
    "throw new Error('boom')\n"                                                                    \
    "^\n"                                                                                          \
    "\n"                                                                                           \
    "Error: boom\n"                                                                                \
    "    at Object.<anonymous> (/tmp/code/main.js:1:7)\n"                                          \
    "\n"                                                                                           \
    "Node.js v18.19.0\n"

/* throw 'boom' (a string): Node prints no frames, only a hint. */
#define NODE_THROW_STRING                                                                          \
    "/tmp/code/main.js:1\n"                                                                        \
    "throw 'boom';\n"                                                                              \
    "^\n"                                                                                          \
    "boom\n"                                                                                       \
    "(Use `node --trace-uncaught ...` to show where the exception was thrown)\n"                   \
    "\n"                                                                                           \
    "Node.js v18.19.0\n"

#define NODE_HEAP_OOM                                                                              \
    "\n"                                                                                           \
    "<--- Last few GCs --->\n"                                                                     \
    "\n"                                                                                           \
    "[1:0x6a3c9e0]     1234 ms: Mark-sweep 250.1 (258.3) -> 249.6 (258.8) MB, 150.2 / 0.0 ms "     \
    " allocation failure; scavenge might not succeed\n"                                            \
    "\n"                                                                                           \
    "<--- JS stacktrace --->\n"                                                                    \
    "\n"                                                                                           \
    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n"          \
    " 1: 0xb7b3e0 node::Abort() [node]\n"                                                          \
    " 2: 0xa8e823  [node]\n"

/* ------------------------------------------------------------ verdict table */

typedef struct v_row {
    const char *name;
    const char *language;
    int exit_code, oom_killed, timed_out, output_exceeded;
    const char *err;
    size_t err_len;                                       /* 0: strlen(err) */
    int64_t timeout_ms, memory_bytes, output_limit_bytes; /* 0: 10 s, 128 MiB, 64 KiB */

    int want_verdict, want_signal;
    const char *want_msg;
} v_row;

static const v_row v_rows[] = {
    /* ---- OK */
    {.name = "clean exit", .language = "python", .want_verdict = V_OK, .want_msg = ""},
    {.name = "exit 0 with warnings on stderr",
     .language = "python",
     .err = "main.py:1: DeprecationWarning: x\n",
     .want_verdict = V_OK,
     .want_msg = ""},
    {.name = "caught MemoryError, exit 0",
     .language = "python",
     .err = "MemoryError\n",
     .want_verdict = V_OK,
     .want_msg = ""},
    {.name = "node exit 0, no stderr", .language = "node", .want_verdict = V_OK, .want_msg = ""},

    /* ---- runtime errors with a message from stderr */
    {.name = "python NameError",
     .language = "python",
     .exit_code = 1,
     .err = PY_NAME_ERROR,
     .want_verdict = V_RTE,
     .want_msg = "NameError: name 'x' is not defined"},
    {.name = "python SyntaxError",
     .language = "python",
     .exit_code = 1,
     .err = PY_SYNTAX_ERROR,
     .want_verdict = V_RTE,
     .want_msg = "SyntaxError: '(' was never closed"},
    {.name = "python chained exceptions",
     .language = "python",
     .exit_code = 1,
     .err = PY_CHAINED,
     .want_verdict = V_RTE,
     .want_msg = "RuntimeError: wrapped"},
    {.name = "python CRLF",
     .language = "python",
     .exit_code = 1,
     .err = "Traceback (most recent call last):\r\n  File \"main.py\"\r\nValueError: bad\r\n",
     .want_verdict = V_RTE,
     .want_msg = "ValueError: bad"},
    {.name = "python no trailing newline",
     .language = "python",
     .exit_code = 1,
     .err = "Traceback (most recent call last):\n  File \"main.py\"\nZeroDivisionError: "
            "division by zero",
     .want_verdict = V_RTE,
     .want_msg = "ZeroDivisionError: division by zero"},
    {.name = "python trailing blank lines",
     .language = "python",
     .exit_code = 1,
     .err = "Traceback:\nKeyError: 'k'\n\n  \t\n\r\n",
     .want_verdict = V_RTE,
     .want_msg = "KeyError: 'k'"},
    {.name = "surrounding blanks trimmed",
     .language = "python",
     .exit_code = 1,
     .err = "   \tValueError: x \t \n",
     .want_verdict = V_RTE,
     .want_msg = "ValueError: x"},
    {.name = "control characters become spaces",
     .language = "python",
     .exit_code = 1,
     .err = "ValueError: a\x1b[31mred\x1b[0m\tb\x07"
            "c\x7f!\n",
     .want_verdict = V_RTE,
     .want_msg = "ValueError: a [31mred [0m b c !"},
    {.name = "NUL byte in the line",
     .language = "python",
     .exit_code = 1,
     .err = "ValueError: a\0b\n",
     .err_len = 16,
     .want_verdict = V_RTE,
     .want_msg = "ValueError: a b"},
    {.name = "sys.exit('bye')",
     .language = "python",
     .exit_code = 1,
     .err = "bye\n",
     .want_verdict = V_RTE,
     .want_msg = "bye"},
    {.name = "MemoryError look-alike",
     .language = "python",
     .exit_code = 1,
     .err = "MemoryErrorish: no\n",
     .want_verdict = V_RTE,
     .want_msg = "MemoryErrorish: no"},
    {.name = "node TypeError",
     .language = "node",
     .exit_code = 1,
     .err = NODE_TYPE_ERROR,
     .want_verdict = V_RTE,
     .want_msg = "TypeError: Cannot read properties of undefined (reading 'y')"},
    {.name = "node thrown Error",
     .language = "node",
     .exit_code = 1,
     .err = NODE_THROW_ERROR,
     .want_verdict = V_RTE,
     .want_msg = "Error: boom"},
    {.name = "node thrown string",
     .language = "node",
     .exit_code = 1,
     .err = NODE_THROW_STRING,
     .want_verdict = V_RTE,
     .want_msg = "boom"},
    {.name = "node CRLF",
     .language = "node",
     .exit_code = 1,
     .err = "Error: crlf\r\n    at x (main.js:1:1)\r\n\r\nNode.js v18.19.0\r\n",
     .want_verdict = V_RTE,
     .want_msg = "Error: crlf"},
    {.name = "node trailer only skipped",
     .language = "node",
     .exit_code = 1,
     .err = "custom failure\n\nNode.js v18.19.0",
     .want_verdict = V_RTE,
     .want_msg = "custom failure"},
    {.name = "python keeps a 'Node.js v' line",
     .language = "python",
     .exit_code = 1,
     .err = "Node.js v18.19.0\n",
     .want_verdict = V_RTE,
     .want_msg = "Node.js v18.19.0"},

    /* ---- runtime errors without a line */
    {.name = "sys.exit(3)",
     .language = "python",
     .exit_code = 3,
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 3"},
    {.name = "blank stderr",
     .language = "python",
     .exit_code = 2,
     .err = "\n  \n\r\n",
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 2"},
    {.name = "node trailer alone",
     .language = "node",
     .exit_code = 1,
     .err = "\nNode.js v18.19.0\n",
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 1"},
    {.name = "exit 125 without the runner's tag",
     .language = "python",
     .exit_code = 125,
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 125"},
    {.name = "runner tag after other output",
     .language = "python",
     .exit_code = 125,
     .err = "hello\nsce-runner: fake\n",
     .want_verdict = V_RTE,
     .want_msg = "sce-runner: fake"},
    {.name = "exit 128",
     .language = "python",
     .exit_code = 128,
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 128"},
    {.name = "exit 255",
     .language = "node",
     .exit_code = 255,
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 255"},
    {.name = "exit 193 (past the signals)",
     .language = "node",
     .exit_code = 193,
     .want_verdict = V_RTE,
     .want_msg = "Process exited with code 193"},

    /* ---- signals */
    {.name = "SIGKILL",
     .language = "python",
     .exit_code = 137,
     .want_verdict = V_RTE,
     .want_signal = 9,
     .want_msg = "Killed by signal 9 (SIGKILL)"},
    {.name = "SIGSEGV",
     .language = "python",
     .exit_code = 139,
     .want_verdict = V_RTE,
     .want_signal = 11,
     .want_msg = "Killed by signal 11 (SIGSEGV)"},
    {.name = "SIGHUP",
     .language = "node",
     .exit_code = 129,
     .want_verdict = V_RTE,
     .want_signal = 1,
     .want_msg = "Killed by signal 1 (SIGHUP)"},
    {.name = "SIGTERM",
     .language = "node",
     .exit_code = 143,
     .want_verdict = V_RTE,
     .want_signal = 15,
     .want_msg = "Killed by signal 15 (SIGTERM)"},
    {.name = "SIGABRT with a line",
     .language = "python",
     .exit_code = 134,
     .err = "free(): invalid pointer\n",
     .want_verdict = V_RTE,
     .want_signal = 6,
     .want_msg = "free(): invalid pointer"},

    /* ---- timeout */
    {.name = "timeout",
     .language = "python",
     .exit_code = 137,
     .timed_out = 1,
     .want_verdict = V_TLE,
     .want_signal = 9,
     .want_msg = "Execution timed out after 10 seconds"},
    {.name = "timeout lowered",
     .language = "node",
     .exit_code = 137,
     .timed_out = 1,
     .timeout_ms = 2500,
     .want_verdict = V_TLE,
     .want_signal = 9,
     .want_msg = "Execution timed out after 2.5 seconds"},
    {.name = "timeout of 1 s",
     .language = "node",
     .exit_code = 137,
     .timed_out = 1,
     .timeout_ms = 1000,
     .want_verdict = V_TLE,
     .want_signal = 9,
     .want_msg = "Execution timed out after 1 second"},
    {.name = "timeout in ms",
     .language = "node",
     .exit_code = 137,
     .timed_out = 1,
     .timeout_ms = 500,
     .want_verdict = V_TLE,
     .want_signal = 9,
     .want_msg = "Execution timed out after 500 milliseconds"},
    {.name = "timeout with a traceback",
     .language = "python",
     .exit_code = 1,
     .timed_out = 1,
     .err = PY_NAME_ERROR,
     .want_verdict = V_TLE,
     .want_msg = "Execution timed out after 10 seconds"},

    /* ---- output limit */
    {.name = "output limit",
     .language = "python",
     .exit_code = 137,
     .output_exceeded = 1,
     .want_verdict = V_OLE,
     .want_signal = 9,
     .want_msg = "Output limit of 64 KiB exceeded: the program was stopped"},
    {.name = "output limit lowered",
     .language = "node",
     .exit_code = 137,
     .output_exceeded = 1,
     .output_limit_bytes = 1000,
     .want_verdict = V_OLE,
     .want_signal = 9,
     .want_msg = "Output limit of 1000 bytes exceeded: the program was stopped"},

    /* ---- memory */
    {.name = "OOM-killed",
     .language = "python",
     .exit_code = 137,
     .oom_killed = 1,
     .want_verdict = V_MLE,
     .want_signal = 9,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},
    {.name = "OOM-killed, lowered",
     .language = "node",
     .exit_code = 137,
     .oom_killed = 1,
     .memory_bytes = 32LL * MIB,
     .want_verdict = V_MLE,
     .want_signal = 9,
     .want_msg = "Killed: memory limit of 32 MiB exceeded"},
    {.name = "python MemoryError",
     .language = "python",
     .exit_code = 1,
     .err = PY_MEMORY_ERROR,
     .want_verdict = V_MLE,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},
    {.name = "python MemoryError with text",
     .language = "python",
     .exit_code = 1,
     .err = "Traceback:\nMemoryError: cannot allocate\n",
     .want_verdict = V_MLE,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},
    {.name = "node heap out of memory",
     .language = "node",
     .exit_code = 134,
     .err = NODE_HEAP_OOM,
     .want_verdict = V_MLE,
     .want_signal = 6,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},
    {.name = "OOM flag with exit 0",
     .language = "python",
     .oom_killed = 1,
     .want_verdict = V_MLE,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},

    /* ---- the runner rejected its bundle */
    {.name = "runner rejected the bundle",
     .language = "node",
     .exit_code = 125,
     .err = "sce-runner: bad bundle magic\n",
     .want_verdict = V_IE,
     .want_msg = "sce-runner: bad bundle magic"},
    {.name = "runner line, CRLF and more",
     .language = "python",
     .exit_code = 125,
     .err = "sce-runner: truncated bundle\r\nsecond line\n",
     .want_verdict = V_IE,
     .want_msg = "sce-runner: truncated bundle"},
    /* stderr is (data, len): bytes after len are not the program's. */
    {.name = "runner line without newline, not terminated",
     .language = "python",
     .exit_code = 125,
     .err = "sce-runner: truncated bundleGARBAGE",
     .err_len = 28,
     .want_verdict = V_IE,
     .want_msg = "sce-runner: truncated bundle"},

    /* ---- priority */
    {.name = "timeout beats output and OOM",
     .language = "python",
     .exit_code = 137,
     .timed_out = 1,
     .output_exceeded = 1,
     .oom_killed = 1,
     .want_verdict = V_TLE,
     .want_signal = 9,
     .want_msg = "Execution timed out after 10 seconds"},
    {.name = "output beats OOM",
     .language = "python",
     .exit_code = 137,
     .output_exceeded = 1,
     .oom_killed = 1,
     .want_verdict = V_OLE,
     .want_signal = 9,
     .want_msg = "Output limit of 64 KiB exceeded: the program was stopped"},
    {.name = "runner failure beats timeout",
     .language = "python",
     .exit_code = 125,
     .timed_out = 1,
     .err = "sce-runner: cannot write main.py: ENOSPC\n",
     .want_verdict = V_IE,
     .want_msg = "sce-runner: cannot write main.py: ENOSPC"},
    {.name = "OOM beats a traceback",
     .language = "python",
     .exit_code = 137,
     .oom_killed = 1,
     .err = PY_NAME_ERROR,
     .want_verdict = V_MLE,
     .want_signal = 9,
     .want_msg = "Killed: memory limit of 128 MiB exceeded"},
};

static void test_verdict_table(void **state)
{
    int failures = 0;

    for (size_t i = 0; i < sizeof(v_rows) / sizeof(v_rows[0]); i++) {
        const v_row *r = &v_rows[i];
        run_outcome o = {0};
        run_verdict v;

        o.language = r->language;
        o.exit_code = r->exit_code;
        o.oom_killed = r->oom_killed;
        o.timed_out = r->timed_out;
        o.output_exceeded = r->output_exceeded;
        o.stderr_data = r->err;
        o.stderr_len = r->err ? (r->err_len ? r->err_len : strlen(r->err)) : 0;
        o.timeout_ms = r->timeout_ms ? r->timeout_ms : 10000;
        o.memory_bytes = r->memory_bytes ? r->memory_bytes : 128LL * MIB;
        o.output_limit_bytes = r->output_limit_bytes ? r->output_limit_bytes : 65536;
        memset(&v, 0x55, sizeof(v));
        verdict_decide(&o, &v);
        if (v.verdict != r->want_verdict || v.signal != r->want_signal ||
            strcmp(v.message, r->want_msg) != 0) {
            print_error("row '%s':\n   got (%d, %d, '%s')\n  want (%d, %d, '%s')\n", r->name,
                        v.verdict, v.signal, v.message, r->want_verdict, r->want_signal,
                        r->want_msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ error-line table */

static void test_verdict_error_line_table(void **state)
{
    static const struct {
        const char *language;
        const char *err;
        const char *want;
    } rows[] = {
        {"python", "", ""},
        {"python", "\n\n", ""},
        {"python", "one line", "one line"},
        {"python", "first\nsecond\n", "second"},
        {"python", "first\r\nsecond\r\n", "second"},
        {"python", "a\rb\n", "a b"},
        {"python", PY_NAME_ERROR, "NameError: name 'x' is not defined"},
        {"python", "    at x\n", "at x"},
        {"node", NODE_TYPE_ERROR, "TypeError: Cannot read properties of undefined (reading 'y')"},
        {"node", "    at first (a.js:1:1)\n", ""},
        {"node", "Error: a\n\n   \n    at f (a.js:1:1)\nError: later\n", "Error: a"},
        {"node", "Node.js v20.11.1\n", ""},
        {"node", "Node.js v\n", "Node.js v"},
        {"node", "message\n  \nNode.js v18.19.0\n\n", "message"},
        {NULL, "plain\n", "plain"},
        {"other", "x\n    at y\n", "at y"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[512];

        memset(out, 'Z', sizeof(out));
        verdict_error_line(rows[i].language, rows[i].err, strlen(rows[i].err), out, sizeof(out));
        if (strcmp(out, rows[i].want) != 0) {
            print_error("row %zu (%s): got '%s', want '%s'\n", i,
                        rows[i].language ? rows[i].language : "NULL", out, rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A NULL stderr of length 0 is no line. */
static void test_verdict_error_line_null(void **state)
{
    char out[16] = "junk";

    verdict_error_line("python", NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");
}

/* ------------------------------------------------------------ long lines */

/* "ValueError: " then n copies of ch: the message is cut to fit 511 bytes,
 * on a character boundary, keeping as many whole characters as fit. */
static void check_long_line(const char *ch, size_t n)
{
    const char *head = "ValueError: ";
    size_t hl = strlen(head), cl = strlen(ch);
    size_t len = hl + cl * n + 1;
    char *err = malloc(len + 1);
    run_outcome o = {0};
    run_verdict v;

    assert_non_null(err);
    memcpy(err, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(err + hl + i * cl, ch, cl);
    err[len - 1] = '\n';
    err[len] = '\0';
    o.language = "python";
    o.exit_code = 1;
    o.stderr_data = err;
    o.stderr_len = len;
    o.timeout_ms = 10000;
    o.memory_bytes = 128LL * MIB;
    o.output_limit_bytes = 65536;
    verdict_decide(&o, &v);
    assert_int_equal(v.verdict, V_RTE);

    size_t ml = strlen(v.message);
    size_t whole = (sizeof(v.message) - 1 - hl) / cl; /* whole characters that fit */
    assert_true(ml < sizeof(v.message));
    assert_true(valid_utf8(v.message));
    assert_memory_equal(v.message, err, ml); /* a prefix of the line */
    assert_int_equal(ml, hl + whole * cl);
    free(err);
}

static void test_verdict_long_line_ascii(void **state)
{
    check_long_line("x", 2000);
}

static void test_verdict_long_line_2byte(void **state)
{
    check_long_line("\xC3\xA9", 300); /* é */
}

static void test_verdict_long_line_3byte(void **state)
{
    check_long_line("\xE2\x82\xAC", 300); /* € */
    check_long_line("\xE2\x82\xAC", 200);
}

static void test_verdict_long_line_4byte(void **state)
{
    check_long_line("\xF0\x9F\x98\x80", 200); /* 😀, cut at every offset in turn below */
}

/* The cut at every position of a 4-byte character, with a small buffer. */
static void test_verdict_cut_small_buffer(void **state)
{
    static const struct {
        const char *err;
        size_t outlen;
        const char *want;
    } rows[] = {
        {"abcdefgh", 9, "abcdefgh"},
        {"abcdefghi", 9, "abcdefgh"},
        {"abcdef\xF0\x9F\x98\x80", 7, "abcdef"},
        {"abcdef\xF0\x9F\x98\x80", 8, "abcdef"},
        {"abcdef\xF0\x9F\x98\x80", 9, "abcdef"},
        {"abcdef\xF0\x9F\x98\x80", 10, "abcdef"},
        {"abcdef\xF0\x9F\x98\x80"
         "x",
         11, "abcdef\xF0\x9F\x98\x80"},
        {"ab\xC3\xA9\xC3\xA9", 6, "ab\xC3\xA9"},
        {"ab\xC3\xA9\xC3\xA9", 5, "ab\xC3\xA9"},
        {"ab\xC3\xA9\xC3\xA9", 4, "ab"},
        {"x", 1, ""},
        /* The line fits exactly: nothing may be dropped. */
        {"abcdef\xF0\x9F\x98\x80", 11, "abcdef\xF0\x9F\x98\x80"},
        {"ab\xC3\xA9\xC3\xA9", 7, "ab\xC3\xA9\xC3\xA9"},
        {"\xC3\xA9", 3, "\xC3\xA9"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[64];

        verdict_error_line("python", rows[i].err, strlen(rows[i].err), out, rows[i].outlen);
        if (strcmp(out, rows[i].want) != 0) {
            print_error("row %zu (outlen %zu): got '%s', want '%s'\n", i, rows[i].outlen, out,
                        rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A line that exactly fills the 511 bytes of the message is kept whole. */
static void test_verdict_line_fits_exactly(void **state)
{
    char err[600];
    run_outcome o = {0};
    run_verdict v;

    memset(err, 'a', 509);
    memcpy(err + 509, "\xC3\xA9", 2); /* 511 bytes, ending in é */
    o.language = "python";
    o.exit_code = 1;
    o.stderr_data = err;
    o.stderr_len = 511;
    verdict_decide(&o, &v);
    assert_int_equal(strlen(v.message), 511);
    assert_memory_equal(v.message, err, 511);
}

/*
 * The program controls its stderr.  Whatever bytes it writes, the message is
 * valid UTF-8: it goes into a proto3 string, which other protobuf runtimes
 * refuse to decode otherwise, and into the gateway's JSON.
 */
static void test_verdict_invalid_utf8_stderr(void **state)
{
    static const char *const errs[] = {
        "ValueError: \xFF\xFE\n",     "ValueError: caf\xE9\n", /* Latin-1 */
        "ValueError: \xED\xA0\x80\n",                          /* surrogate */
        "ValueError: cut \xE2\x82\n", "\xC0\xAF\n",
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        run_outcome o = {0};
        run_verdict v;

        o.language = "python";
        o.exit_code = 1;
        o.stderr_data = errs[i];
        o.stderr_len = strlen(errs[i]);
        verdict_decide(&o, &v);
        if (v.verdict != V_RTE || v.message[0] == '\0' || !valid_utf8(v.message)) {
            print_error("stderr %zu: verdict %d, message not valid UTF-8: '%s'\n", i, v.verdict,
                        v.message);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_table),
        cmocka_unit_test(test_verdict_error_line_table),
        cmocka_unit_test(test_verdict_error_line_null),
        cmocka_unit_test(test_verdict_long_line_ascii),
        cmocka_unit_test(test_verdict_long_line_2byte),
        cmocka_unit_test(test_verdict_long_line_3byte),
        cmocka_unit_test(test_verdict_long_line_4byte),
        cmocka_unit_test(test_verdict_cut_small_buffer),
        cmocka_unit_test(test_verdict_line_fits_exactly),
        cmocka_unit_test(test_verdict_invalid_utf8_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
