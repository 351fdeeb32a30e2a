/*
 * test_request.c - RunRequest validation (server/request.c), table-driven.
 *
 * The options are the server's built-in defaults (code 5000 characters,
 * stdin 1 MiB, 64 arguments of at most 4096 bytes, 200 files, 1 MiB of
 * files, timeout 10 s, memory 128 MiB, output 64 KiB), loaded through
 * sce_config_load exactly as the daemon does.  Each row of the request table
 * is one request and either the exact INVALID_ARGUMENT message or the spec
 * it must produce.  The small helpers (path check, UTF-8 count, formatting)
 * have tables of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"
#include "common/path.h"
#include "request.h"
#include "sce/err.h"
#include "sce.pb-c.h"

#define MIB (1024 * 1024)

static server_options opt;

/* ------------------------------------------------------------ helpers */

/* An independent UTF-8 check (the one under test is request_utf8_chars). */
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

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* s repeated n times, malloc'd. */
static char *repeat(const char *s, size_t n)
{
    size_t m = strlen(s);
    char *r = malloc(m * n + 1);

    assert_non_null(r);
    for (size_t i = 0; i < n; i++)
        memcpy(r + i * m, s, m);
    r[m * n] = '\0';
    return r;
}

/* want matches got; one '*' in want stands for any run of bytes. */
static int msg_matches(const char *want, const char *got)
{
    const char *star = strchr(want, '*');
    size_t pre, post, n = strlen(got);

    if (star == NULL)
        return strcmp(got, want) == 0;
    pre = (size_t)(star - want);
    post = strlen(star + 1);
    return n >= pre + post && strncmp(got, want, pre) == 0 && strcmp(got + n - post, star + 1) == 0;
}

/* ------------------------------------------------------------ request table */

typedef struct file_in {
    const char *path;
    const char *content;
} file_in;

typedef struct req_row {
    const char *name;
    const char *language;  /* NULL: left empty */
    const char *code;      /* literal code, or ... */
    const char *code_unit; /* ... this repeated code_count times */
    size_t code_count;
    file_in files[4];      /* up to the first NULL path */
    size_t gen_files;      /* then this many files "fN.py" ... */
    size_t gen_file_bytes; /* ... of this many bytes each */
    size_t path_bytes;     /* > 0: files[0].path is this many 'a' */
    const char *entry;
    size_t stdin_bytes;
    const char *args[3]; /* literal args up to the first NULL, then ... */
    size_t gen_args;     /* ... this many "a" ... */
    size_t long_arg;     /* ... and one arg of this many bytes (0: none) */
    uint32_t timeout_ms; /* limits; all 0: no Limits message */
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;

    int want_rv;
    const char *want_msg;   /* on INVALID_ARGUMENT; '*' matches anything */
    const char *want_entry; /* on SCE_OK */
    size_t want_nfiles;
    int64_t want_timeout_ms, want_memory_bytes, want_output_limit_bytes;
} req_row;

#define BAD SCE_ERR_INVALID_ARGUMENT
#define WANT_LIMITS(t, m, o)                                                                       \
    .want_timeout_ms = (t), .want_memory_bytes = (m), .want_output_limit_bytes = (o)
#define DEF_LIMITS WANT_LIMITS(10000, 128LL * MIB, 65536)

static const req_row req_rows[] = {
    /* ---- language and code */
    {.name = "language missing",
     .code = "print(1)",
     .want_rv = BAD,
     .want_msg = "language is required: one of python, node"},
    {.name = "unknown language",
     .language = "ruby",
     .code = "puts 1",
     .want_rv = BAD,
     .want_msg = "unknown language 'ruby': use one of python, node"},
    {.name = "language is case-sensitive",
     .language = "Python",
     .code = "print(1)",
     .want_rv = BAD,
     .want_msg = "unknown language 'Python': use one of python, node"},
    {.name = "code and files both",
     .language = "python",
     .code = "print(1)",
     .files = {{"main.py", "print(2)"}},
     .want_rv = BAD,
     .want_msg = "give either code or files, not both"},
    {.name = "empty code, no files",
     .language = "python",
     .code = "",
     .want_rv = BAD,
     .want_msg = "code is empty"},
    {.name = "no code at all", .language = "node", .want_rv = BAD, .want_msg = "code is empty"},
    {.name = "code of 5001 ASCII characters",
     .language = "python",
     .code_unit = "x",
     .code_count = 5001,
     .want_rv = BAD,
     .want_msg = "code is 5001 characters; the limit is 5000"},
    {.name = "code of 5001 'é' (10002 bytes)",
     .language = "python",
     .code_unit = "é",
     .code_count = 5001,
     .want_rv = BAD,
     .want_msg = "code is 5001 characters; the limit is 5000"},
    {.name = "code of 5001 emoji",
     .language = "node",
     .code_unit = "\xF0\x9F\x98\x80",
     .code_count = 5001,
     .want_rv = BAD,
     .want_msg = "code is 5001 characters; the limit is 5000"},
    {.name = "code: lone continuation byte",
     .language = "python",
     .code = "print('\x80')",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: overlong '/'",
     .language = "python",
     .code = "\xC0\xAF",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: overlong 3-byte",
     .language = "python",
     .code = "\xE0\x80\xAF",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: UTF-16 surrogate",
     .language = "python",
     .code = "\xED\xA0\x80",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: past U+10FFFF",
     .language = "python",
     .code = "\xF4\x90\x80\x80",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: sequence cut at the end",
     .language = "python",
     .code = "x = 1 # \xE2\x82",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: 0xFF byte",
     .language = "node",
     .code = "\xFF",
     .want_rv = BAD,
     .want_msg = "code is not valid UTF-8"},
    {.name = "code: bad entry path",
     .language = "python",
     .code = "print(1)",
     .entry = "../x.py",
     .want_rv = BAD,
     .want_msg = "entry '../x.py' has a '..' segment"},
    {.name = "code: absolute entry",
     .language = "python",
     .code = "print(1)",
     .entry = "/tmp/x.py",
     .want_rv = BAD,
     .want_msg = "entry '/tmp/x.py' is absolute"},

    /* ---- stdin and args */
    {.name = "stdin over the cap",
     .language = "python",
     .code = "print(1)",
     .stdin_bytes = MIB + 1,
     .want_rv = BAD,
     .want_msg = "stdin is 1048577 bytes; the limit is 1 MiB"},
    {.name = "too many args",
     .language = "python",
     .code = "print(1)",
     .gen_args = 65,
     .want_rv = BAD,
     .want_msg = "args: 65 arguments; the limit is 64"},
    {.name = "over-long arg",
     .language = "python",
     .code = "print(1)",
     .args = {"ok"},
     .long_arg = 4097,
     .want_rv = BAD,
     .want_msg = "args[1] is 4097 bytes; the limit is 4096"},
    {.name = "arg not UTF-8",
     .language = "node",
     .code = "1",
     .args = {"fine", "\xC3("},
     .want_rv = BAD,
     .want_msg = "args[1] is not valid UTF-8"},

    /* ---- limits above the maximum */
    {.name = "timeout above max",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 20000,
     .want_rv = BAD,
     .want_msg = "limits.timeout_ms: 20 seconds is more than the server's maximum of 10 seconds"},
    {.name = "timeout 1 ms above max",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 10001,
     .want_rv = BAD,
     .want_msg =
         "limits.timeout_ms: 10.001 seconds is more than the server's maximum of 10 seconds"},
    {.name = "memory above max",
     .language = "python",
     .code = "print(1)",
     .memory_bytes = 256LL * MIB,
     .want_rv = BAD,
     .want_msg = "limits.memory_bytes: 256 MiB is more than the server's maximum of 128 MiB"},
    {.name = "memory 1 byte above max",
     .language = "python",
     .code = "print(1)",
     .memory_bytes = 128LL * MIB + 1,
     .want_rv = BAD,
     .want_msg = "limits.memory_bytes: 134217729 bytes is more than the server's maximum of "
                 "128 MiB"},
    {.name = "memory of 2^64-1",
     .language = "python",
     .code = "print(1)",
     .memory_bytes = UINT64_MAX,
     .want_rv = BAD,
     .want_msg = "limits.memory_bytes: 18446744073709551615 bytes is more than the server's "
                 "maximum of 128 MiB"},
    {.name = "output above max",
     .language = "python",
     .code = "print(1)",
     .output_limit_bytes = 65537,
     .want_rv = BAD,
     .want_msg = "limits.output_limit_bytes: 65537 bytes is more than the server's maximum of "
                 "64 KiB"},
    {.name = "output 1 MiB",
     .language = "node",
     .code = "1",
     .output_limit_bytes = MIB,
     .want_rv = BAD,
     .want_msg = "limits.output_limit_bytes: 1 MiB is more than the server's maximum of 64 KiB"},

    /* ---- limits below the minimum */
    {.name = "timeout below min",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 50,
     .want_rv = BAD,
     .want_msg = "limits.timeout_ms: 50 milliseconds is less than the minimum of 100 "
                 "milliseconds"},
    {.name = "timeout of 1 ms",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 1,
     .want_rv = BAD,
     .want_msg = "limits.timeout_ms: 1 millisecond is less than the minimum of 100 milliseconds"},
    {.name = "memory below min",
     .language = "python",
     .code = "print(1)",
     .memory_bytes = MIB,
     .want_rv = BAD,
     .want_msg = "limits.memory_bytes: 1 MiB is less than the minimum of 16 MiB"},
    {.name = "memory 1 byte below min",
     .language = "python",
     .code = "print(1)",
     .memory_bytes = 16LL * MIB - 1,
     .want_rv = BAD,
     .want_msg = "limits.memory_bytes: 16777215 bytes is less than the minimum of 16 MiB"},
    {.name = "first bad limit wins",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 50,
     .memory_bytes = MIB,
     .want_rv = BAD,
     .want_msg = "limits.timeout_ms: 50 milliseconds is less than the minimum of 100 "
                 "milliseconds"},

    /* ---- bundle paths */
    {.name = "path absolute",
     .language = "python",
     .files = {{"/main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path '/main.py' is absolute"},
    {.name = "path '..'",
     .language = "python",
     .files = {{"../main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path '../main.py' has a '..' segment"},
    {.name = "path '..' inside",
     .language = "python",
     .files = {{"main.py", "1"}, {"a/../../etc/x", "1"}},
     .want_rv = BAD,
     .want_msg = "files[1].path 'a/../../etc/x' has a '..' segment"},
    {.name = "path '.' segment",
     .language = "python",
     .files = {{"./main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path './main.py' has a '.' segment"},
    {.name = "path empty segment",
     .language = "python",
     .files = {{"a//main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'a//main.py' has an empty segment"},
    {.name = "path trailing slash",
     .language = "python",
     .files = {{"lib/", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'lib/' has an empty segment"},
    {.name = "path empty",
     .language = "python",
     .files = {{"", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path '' is empty"},
    {.name = "path backslash",
     .language = "python",
     .files = {{"lib\\main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'lib\\main.py' contains a backslash"},
    /* How the control character itself is shown is left open. */
    {.name = "path control char",
     .language = "python",
     .files = {{"ma\x01in.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'ma*in.py' contains a control character"},
    {.name = "path DEL",
     .language = "python",
     .files = {{"main.py\x7f", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'main.py*' contains a control character"},
    {.name = "path not UTF-8",
     .language = "python",
     .files = {{"m\xE9in.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[0].path 'm*in.py' is not valid UTF-8"},
    {.name = "path of 256 bytes",
     .language = "python",
     .files = {{"-", "1"}},
     .path_bytes = 256,
     .want_rv = BAD,
     .want_msg =
         "files[0].path 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaa' is longer than 255 bytes"},
    {.name = "duplicate path",
     .language = "python",
     .files = {{"main.py", "1"}, {"util.py", "2"}, {"main.py", "3"}},
     .want_rv = BAD,
     .want_msg = "files[2].path 'main.py' clashes with files[0]"},
    {.name = "file then its directory",
     .language = "python",
     .files = {{"lib", "x"}, {"lib/util.py", "2"}, {"main.py", "1"}},
     .want_rv = BAD,
     .want_msg = "files[1].path 'lib/util.py' clashes with files[0]"},
    {.name = "directory then the file",
     .language = "python",
     .files = {{"main.py", "1"}, {"lib/a/util.py", "2"}, {"lib/a", "x"}},
     .want_rv = BAD,
     .want_msg = "files[2].path 'lib/a' clashes with files[1]"},
    {.name = "too many files",
     .language = "python",
     .gen_files = 201,
     .want_rv = BAD,
     .want_msg = "files: 201 files; the limit is 200"},
    {.name = "bundle over the cap",
     .language = "python",
     .files = {{"main.py", "1"}},
     .gen_files = 2,
     .gen_file_bytes = 512 * 1024,
     .want_rv = BAD,
     .want_msg = "files: 1048577 bytes in all; the limit is 1 MiB"},

    /* ---- entry */
    {.name = "entry missing (python)",
     .language = "python",
     .files = {{"app.py", "1"}},
     .want_rv = BAD,
     .want_msg = "entry: not given, and there is no main.py among the files"},
    {.name = "entry missing (node)",
     .language = "node",
     .files = {{"index.js", "1"}, {"lib/main.js", "2"}},
     .want_rv = BAD,
     .want_msg = "entry: not given, and there is no main.js among the files"},
    {.name = "entry not among files",
     .language = "python",
     .files = {{"app.py", "1"}},
     .entry = "main.py",
     .want_rv = BAD,
     .want_msg = "entry 'main.py' is not among the files"},
    {.name = "entry names a directory",
     .language = "python",
     .files = {{"pkg/main.py", "1"}},
     .entry = "pkg",
     .want_rv = BAD,
     .want_msg = "entry 'pkg' is not among the files"},

    /* ---- good requests */
    {.name = "python code",
     .language = "python",
     .code = "print(1)\n",
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "node code",
     .language = "node",
     .code = "console.log(1)",
     .want_rv = SCE_OK,
     .want_entry = "main.js",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "code under another entry name",
     .language = "python",
     .code = "print(1)",
     .entry = "pkg/app.py",
     .want_rv = SCE_OK,
     .want_entry = "pkg/app.py",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "code of 5000 'é'",
     .language = "python",
     .code_unit = "é",
     .code_count = 5000,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "code of 5000 emoji",
     .language = "node",
     .code_unit = "\xF0\x9F\x98\x80",
     .code_count = 5000,
     .want_rv = SCE_OK,
     .want_entry = "main.js",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "default entry picked",
     .language = "python",
     .files = {{"util.py", "x = 1"}, {"main.py", "import util"}, {"data/in.txt", "7"}},
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 3,
     DEF_LIMITS},
    {.name = "default entry picked (node)",
     .language = "node",
     .files = {{"lib/x.js", ""}, {"main.js", "require('./lib/x')"}},
     .want_rv = SCE_OK,
     .want_entry = "main.js",
     .want_nfiles = 2,
     DEF_LIMITS},
    {.name = "named entry",
     .language = "python",
     .files = {{"main.py", "1"}, {"pkg/app.py", "2"}},
     .entry = "pkg/app.py",
     .want_rv = SCE_OK,
     .want_entry = "pkg/app.py",
     .want_nfiles = 2,
     DEF_LIMITS},
    {.name = "prefix that is not a directory",
     .language = "python",
     .files = {{"lib", "x"}, {"lib2/a.py", "2"}, {"libx", "3"}, {"main.py", "1"}},
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 4,
     DEF_LIMITS},
    {.name = "dots inside names",
     .language = "python",
     .files = {{"main.py", "1"}, {"..a/.b/c..", "2"}, {"é/ü.py", "3"}},
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 3,
     DEF_LIMITS},
    {.name = "path of 255 bytes",
     .language = "python",
     .files = {{"-", "1"}, {"main.py", "1"}},
     .path_bytes = 255,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 2,
     DEF_LIMITS},
    {.name = "bundle of exactly 1 MiB",
     .language = "python",
     .files = {{"main.py", ""}},
     .gen_files = 2,
     .gen_file_bytes = 512 * 1024,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 3,
     DEF_LIMITS},
    {.name = "200 files",
     .language = "python",
     .files = {{"main.py", "1"}},
     .gen_files = 199,
     .gen_file_bytes = 10,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 200,
     DEF_LIMITS},
    {.name = "everything at its cap",
     .language = "python",
     .code_unit = "x",
     .code_count = 5000,
     .stdin_bytes = MIB,
     .gen_args = 63,
     .long_arg = 4096,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "lowered limits",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 2500,
     .memory_bytes = 32LL * MIB,
     .output_limit_bytes = 1024,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     WANT_LIMITS(2500, 32LL * MIB, 1024)},
    {.name = "only the timeout lowered",
     .language = "node",
     .code = "1",
     .timeout_ms = 1000,
     .want_rv = SCE_OK,
     .want_entry = "main.js",
     .want_nfiles = 1,
     WANT_LIMITS(1000, 128LL * MIB, 65536)},
    {.name = "limits at the maximum",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 10000,
     .memory_bytes = 128LL * MIB,
     .output_limit_bytes = 65536,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     DEF_LIMITS},
    {.name = "limits at the minimum",
     .language = "python",
     .code = "print(1)",
     .timeout_ms = 100,
     .memory_bytes = 16LL * MIB,
     .output_limit_bytes = 1,
     .want_rv = SCE_OK,
     .want_entry = "main.py",
     .want_nfiles = 1,
     WANT_LIMITS(100, 16LL * MIB, 1)},
};

/* Everything a row allocates, so one free_request releases it. */
typedef struct built {
    Sce__V1__RunRequest rq;
    Sce__V1__Limits limits;
    Sce__V1__File *files;
    Sce__V1__File **filep;
    char **fpaths; /* generated paths */
    char **fdata;  /* generated contents */
    char **args;
    char **argbuf; /* generated args */
    size_t nargbuf;
    char *code;
    char *stdin_data;
} built;

static void build_request(const req_row *r, built *b)
{
    size_t nlit = 0, nargs_lit = 0;

    memset(b, 0, sizeof(*b));
    b->rq = (Sce__V1__RunRequest)SCE__V1__RUN_REQUEST__INIT;
    if (r->language != NULL)
        b->rq.language = (char *)r->language;
    if (r->code_unit != NULL) {
        b->code = repeat(r->code_unit, r->code_count);
        b->rq.code = b->code;
    } else if (r->code != NULL) {
        b->rq.code = (char *)r->code;
    }

    while (nlit < 4 && r->files[nlit].path != NULL)
        nlit++;
    size_t nf = nlit + r->gen_files;
    if (nf > 0) {
        b->files = calloc(nf, sizeof(*b->files));
        b->filep = calloc(nf, sizeof(*b->filep));
        b->fpaths = calloc(nf, sizeof(*b->fpaths));
        b->fdata = calloc(nf, sizeof(*b->fdata));
        assert_true(b->files && b->filep && b->fpaths && b->fdata);
        for (size_t i = 0; i < nf; i++) {
            Sce__V1__File *f = &b->files[i];

            *f = (Sce__V1__File)SCE__V1__FILE__INIT;
            if (i < nlit) {
                f->path = (char *)r->files[i].path;
                f->content.data = (uint8_t *)r->files[i].content;
                f->content.len = strlen(r->files[i].content);
            } else {
                b->fpaths[i] = malloc(32);
                assert_non_null(b->fpaths[i]);
                snprintf(b->fpaths[i], 32, "f%zu.py", i);
                f->path = b->fpaths[i];
                b->fdata[i] = malloc(r->gen_file_bytes + 1);
                assert_non_null(b->fdata[i]);
                memset(b->fdata[i], 'd', r->gen_file_bytes);
                f->content.data = (uint8_t *)b->fdata[i];
                f->content.len = r->gen_file_bytes;
            }
            b->filep[i] = f;
        }
        if (r->path_bytes > 0) {
            b->fpaths[0] = repeat("a", r->path_bytes);
            b->files[0].path = b->fpaths[0];
        }
        b->rq.n_files = nf;
        b->rq.files = b->filep;
    }
    if (r->entry != NULL)
        b->rq.entry = (char *)r->entry;

    if (r->stdin_bytes > 0) {
        b->stdin_data = malloc(r->stdin_bytes);
        assert_non_null(b->stdin_data);
        memset(b->stdin_data, 'i', r->stdin_bytes);
        b->rq.stdin.data = (uint8_t *)b->stdin_data;
        b->rq.stdin.len = r->stdin_bytes;
    }

    while (nargs_lit < 3 && r->args[nargs_lit] != NULL)
        nargs_lit++;
    size_t na = nargs_lit + r->gen_args + (r->long_arg ? 1 : 0);
    if (na > 0) {
        b->args = calloc(na, sizeof(char *));
        b->argbuf = calloc(na, sizeof(char *));
        assert_true(b->args && b->argbuf);
        for (size_t i = 0; i < nargs_lit; i++)
            b->args[i] = (char *)r->args[i];
        for (size_t i = 0; i < r->gen_args; i++)
            b->args[nargs_lit + i] = "a";
        if (r->long_arg) {
            b->argbuf[0] = repeat("L", r->long_arg);
            b->nargbuf = 1;
            b->args[na - 1] = b->argbuf[0];
        }
        b->rq.n_args = na;
        b->rq.args = b->args;
    }

    if (r->timeout_ms || r->memory_bytes || r->output_limit_bytes) {
        b->limits = (Sce__V1__Limits)SCE__V1__LIMITS__INIT;
        b->limits.timeout_ms = r->timeout_ms;
        b->limits.memory_bytes = r->memory_bytes;
        b->limits.output_limit_bytes = r->output_limit_bytes;
        b->rq.limits = &b->limits;
    }
}

static void free_request(built *b)
{
    for (size_t i = 0; i < b->rq.n_files; i++) {
        free(b->fpaths[i]);
        free(b->fdata[i]);
    }
    free(b->files);
    free(b->filep);
    free(b->fpaths);
    free(b->fdata);
    for (size_t i = 0; i < b->nargbuf; i++)
        free(b->argbuf[i]);
    free(b->argbuf);
    free(b->args);
    free(b->code);
    free(b->stdin_data);
}

static void test_request_table(void **state)
{
    int failures = 0;

    for (size_t i = 0; i < sizeof(req_rows) / sizeof(req_rows[0]); i++) {
        const req_row *r = &req_rows[i];
        built b;
        run_spec spec;
        char err[512] = "";
        int rv;

        build_request(r, &b);
        rv = request_check_run(&opt, &b.rq, &spec, err, sizeof(err));
        if (rv != r->want_rv) {
            print_error("row '%s': rv %d, want %d (message '%s')\n", r->name, rv, r->want_rv, err);
            failures++;
        } else if (rv != SCE_OK) {
            int ok = msg_matches(r->want_msg, err);

            if (!ok) {
                print_error("row '%s':\n   got '%s'\n  want '%s'\n", r->name, err, r->want_msg);
                failures++;
            }
            /* A refused request leaves nothing to free. */
            if (spec.files != NULL) {
                print_error("row '%s': spec.files left allocated on error\n", r->name);
                failures++;
            }
        } else {
            int ok = spec.lang != NULL && spec.entry != NULL &&
                     strcmp(spec.entry, r->want_entry) == 0 && spec.nfiles == r->want_nfiles &&
                     spec.timeout_ms == r->want_timeout_ms &&
                     spec.memory_bytes == r->want_memory_bytes &&
                     spec.output_limit_bytes == r->want_output_limit_bytes &&
                     spec.stdin_len == r->stdin_bytes && spec.nargs == b.rq.n_args &&
                     strcmp(spec.lang->name, r->language) == 0;
            if (!ok) {
                print_error("row '%s': entry '%s' nfiles %zu limits %lld/%lld/%lld "
                            "stdin %zu nargs %zu\n",
                            r->name, spec.entry ? spec.entry : "(null)", spec.nfiles,
                            (long long)spec.timeout_ms, (long long)spec.memory_bytes,
                            (long long)spec.output_limit_bytes, spec.stdin_len, spec.nargs);
                failures++;
            }
            request_spec_free(&spec);
            assert_null(spec.files);
        }
        free_request(&b);
    }
    assert_int_equal(failures, 0);
}

/* The spec borrows: it points into the request, and the entry is one of the
 * spec's own files. */
static void test_request_spec_borrows(void **state)
{
    Sce__V1__RunRequest rq = SCE__V1__RUN_REQUEST__INIT;
    Sce__V1__File f[2] = {SCE__V1__FILE__INIT, SCE__V1__FILE__INIT};
    Sce__V1__File *fp[2] = {&f[0], &f[1]};
    char *args[2] = {"one", "zwei"};
    uint8_t in[] = {'4', '2', '\n'};
    run_spec spec;
    char err[512] = "";

    f[0].path = "main.py";
    f[0].content.data = (uint8_t *)"import lib";
    f[0].content.len = 10;
    f[1].path = "lib.py";
    f[1].content.data = (uint8_t *)"";
    f[1].content.len = 0;
    rq.language = "python";
    rq.files = fp;
    rq.n_files = 2;
    rq.args = args;
    rq.n_args = 2;
    rq.stdin.data = in;
    rq.stdin.len = sizeof(in);
    assert_int_equal(request_check_run(&opt, &rq, &spec, err, sizeof(err)), SCE_OK);
    assert_int_equal(spec.nfiles, 2);
    assert_ptr_equal(spec.files[0].path, f[0].path);
    assert_ptr_equal(spec.files[0].data, f[0].content.data);
    assert_int_equal(spec.files[0].len, 10);
    assert_ptr_equal(spec.files[1].path, f[1].path);
    assert_int_equal(spec.files[1].len, 0);
    assert_ptr_equal(spec.entry, spec.files[0].path);
    assert_ptr_equal(spec.stdin_data, in);
    assert_int_equal(spec.stdin_len, 3);
    assert_ptr_equal(spec.args, args);
    assert_int_equal(spec.nargs, 2);
    assert_string_equal(spec.lang->default_entry, "main.py");
    request_spec_free(&spec);
    request_spec_free(&spec); /* idempotent */

    /* code: one file under the default entry, pointing at the code bytes. */
    Sce__V1__RunRequest rc = SCE__V1__RUN_REQUEST__INIT;
    rc.language = "node";
    rc.code = "console.log('é')";
    assert_int_equal(request_check_run(&opt, &rc, &spec, err, sizeof(err)), SCE_OK);
    assert_int_equal(spec.nfiles, 1);
    assert_string_equal(spec.files[0].path, "main.js");
    assert_ptr_equal(spec.files[0].data, (const uint8_t *)rc.code);
    assert_int_equal(spec.files[0].len, strlen(rc.code));
    assert_ptr_equal(spec.entry, spec.files[0].path);
    assert_null(spec.stdin_data);
    assert_int_equal(spec.stdin_len, 0);
    request_spec_free(&spec);
}

/* The limits of a server configured otherwise are the ones enforced. */
static void test_request_other_options(void **state)
{
    server_options o = opt;
    Sce__V1__RunRequest rq = SCE__V1__RUN_REQUEST__INIT;
    Sce__V1__Limits lm = SCE__V1__LIMITS__INIT;
    run_spec spec;
    char err[512] = "";

    o.code_limit_chars = 3;
    o.timeout_ms = 2500;
    o.memory_bytes = 1LL << 30;
    rq.language = "python";
    rq.code = "abcd";
    assert_int_equal(request_check_run(&o, &rq, &spec, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "code is 4 characters; the limit is 3");

    rq.code = "abc";
    lm.timeout_ms = 3000;
    rq.limits = &lm;
    assert_int_equal(request_check_run(&o, &rq, &spec, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(
        err, "limits.timeout_ms: 3 seconds is more than the server's maximum of 2.5 seconds");

    lm.timeout_ms = 0;
    lm.memory_bytes = 2LL << 30;
    assert_int_equal(request_check_run(&o, &rq, &spec, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err,
                        "limits.memory_bytes: 2 GiB is more than the server's maximum of 1 GiB");

    lm.memory_bytes = 0;
    assert_int_equal(request_check_run(&o, &rq, &spec, err, sizeof(err)), SCE_OK);
    assert_int_equal(spec.timeout_ms, 2500);
    assert_int_equal(spec.memory_bytes, 1LL << 30);
    request_spec_free(&spec);
}

/*
 * Every message is one line of valid UTF-8, whatever the request held: the
 * message travels in a proto3 string (other protobuf runtimes reject invalid
 * UTF-8 there) and the gateway turns it into JSON.  Echoed input is cut at
 * 40/80 bytes, which must not split a character, and raw control characters
 * from the request must not reach it.
 */
static void test_request_messages_are_clean(void **state)
{
    static const struct {
        const char *name;
        const char *language;
        const char *path;
        const char *entry;
    } rows[] = {
        {"path cut inside 'é' at 80 bytes", "python",
         "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xC3\xA9."
         "py",
         NULL},
        {"language cut inside 'é' at 40 bytes", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xC3\xA9",
         "main.py", NULL},
        {"language not UTF-8", "py\xFFthon", "main.py", NULL},
        {"newline in language", "py\nthon", "main.py", NULL},
        {"newline in path", "python", "ma\nin.py", NULL},
        {"escape in path", "python", "\x1b[2Jmain.py", NULL},
        {"newline in entry", "python", "main.py", "x\ny.py"},
        {"entry not UTF-8", "python", "main.py", "\xFF.py"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        Sce__V1__RunRequest rq = SCE__V1__RUN_REQUEST__INIT;
        Sce__V1__File f = SCE__V1__FILE__INIT;
        Sce__V1__File *fp = &f;
        run_spec spec;
        char err[512] = "";

        rq.language = (char *)rows[i].language;
        f.path = (char *)rows[i].path;
        f.content.data = (uint8_t *)"1";
        f.content.len = 1;
        rq.files = &fp;
        rq.n_files = 1;
        if (rows[i].entry)
            rq.entry = (char *)rows[i].entry;
        assert_int_equal(request_check_run(&opt, &rq, &spec, err, sizeof(err)),
                         SCE_ERR_INVALID_ARGUMENT);
        if (!valid_utf8(err) || has_control(err)) {
            print_error("row '%s': message is not one line of valid UTF-8: '%s'\n", rows[i].name,
                        err);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ path table */

static void test_sce_path_problem(void **state)
{
    static const struct {
        const char *path;
        const char *want; /* NULL: fine */
    } rows[] = {
        {"main.py", NULL},
        {"a/b/c.py", NULL},
        {".hidden", NULL},
        {"..a", NULL},
        {"a..", NULL},
        {"...", NULL},
        {"é/ü.py", NULL},
        {"with space.py", NULL},
        {NULL, "is empty"},
        {"", "is empty"},
        {"/", "is absolute"},
        {"/main.py", "is absolute"},
        {"a\\b", "contains a backslash"},
        {"\\\\server\\share", "contains a backslash"},
        {"a\tb", "contains a control character"},
        {"a\nb", "contains a control character"},
        {"a\x1f", "contains a control character"},
        {"a\x7f", "contains a control character"},
        {"\xFF", "is not valid UTF-8"},
        {"a\xC3", "is not valid UTF-8"},
        {".", "has a '.' segment"},
        {"..", "has a '..' segment"},
        {"a/.", "has a '.' segment"},
        {"a/../b", "has a '..' segment"},
        {"./a", "has a '.' segment"},
        {"a//b", "has an empty segment"},
        {"a/", "has an empty segment"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got = sce_path_problem(rows[i].path);
        int ok = (got == NULL && rows[i].want == NULL) ||
                 (got != NULL && rows[i].want != NULL && strcmp(got, rows[i].want) == 0);
        if (!ok) {
            print_error("path '%s': got '%s', want '%s'\n", rows[i].path ? rows[i].path : "NULL",
                        got ? got : "NULL", rows[i].want ? rows[i].want : "NULL");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_request_path_length(void **state)
{
    char *p255 = repeat("a", 255), *p256 = repeat("a", 256);
    char *deep = repeat("ab/", 85); /* 255 bytes, but ends with '/' */

    assert_null(sce_path_problem(p255));
    assert_string_equal(sce_path_problem(p256), "is longer than 255 bytes");
    deep[254] = 'c';
    assert_null(sce_path_problem(deep));
    free(p255);
    free(p256);
    free(deep);
}

/* ------------------------------------------------------------ UTF-8 table */

static void test_request_utf8_chars(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        long want;
    } rows[] = {
        {"", 0, 0},
        {"abc", 3, 3},
        {"a\0b", 3, 3},
        {"é", 2, 1},
        {"€", 3, 1},
        {"\xF0\x9F\x98\x80", 4, 1},
        {"\xF4\x8F\xBF\xBF", 4, 1}, /* U+10FFFF */
        {"\xEF\xBF\xBD", 3, 1},     /* U+FFFD */
        {"\xED\x9F\xBF", 3, 1},     /* U+D7FF */
        {"\xEE\x80\x80", 3, 1},     /* U+E000 */
        {"aé€\xF0\x9F\x98\x80", 10, 4},
        {"é", 1, -1}, /* cut */
        {"€", 2, -1}, /* cut */
        {"\x80", 1, -1},
        {"\xBF", 1, -1},
        {"\xC0\x80", 2, -1}, /* overlong NUL */
        {"\xC1\xBF", 2, -1},
        {"\xE0\x9F\xBF", 3, -1},     /* overlong */
        {"\xF0\x8F\xBF\xBF", 4, -1}, /* overlong */
        {"\xED\xA0\x80", 3, -1},     /* surrogate */
        {"\xED\xBF\xBF", 3, -1},
        {"\xF4\x90\x80\x80", 4, -1}, /* past U+10FFFF */
        {"\xF8\x88\x80\x80\x80", 5, -1},
        {"\xFE", 1, -1},
        {"\xFF", 1, -1},
        {"\xC3(", 2, -1},
        {"\xE2\x82(", 3, -1},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        long got = request_utf8_chars(rows[i].s, rows[i].len);
        if (got != rows[i].want) {
            print_error("row %zu: got %ld, want %ld\n", i, got, rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------ formatting */

static void test_request_format_ms(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } rows[] = {
        {0, "0 seconds"},
        {1, "1 millisecond"},
        {100, "100 milliseconds"},
        {999, "999 milliseconds"},
        {1000, "1 second"},
        {1500, "1.5 seconds"},
        {2000, "2 seconds"},
        {2500, "2.5 seconds"},
        {10000, "10 seconds"},
        {12500, "12.5 seconds"},
        {60000, "60 seconds"},
        {3600000, "3600 seconds"},
        /* Not whole seconds: every millisecond shown, never rounded away. */
        {1001, "1.001 seconds"},
        {10001, "10.001 seconds"},
        {12345, "12.345 seconds"},
        {123456, "123.456 seconds"},
        {3600001, "3600.001 seconds"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[64];
        request_format_ms(rows[i].ms, out, sizeof(out));
        if (strcmp(out, rows[i].want) != 0) {
            print_error("%lld ms: got '%s', want '%s'\n", (long long)rows[i].ms, out, rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_request_format_bytes(void **state)
{
    static const struct {
        int64_t bytes;
        const char *want;
    } rows[] = {
        {0, "0 bytes"},
        {1, "1 byte"},
        {2, "2 bytes"},
        {1023, "1023 bytes"},
        {1024, "1 KiB"},
        {1025, "1025 bytes"},
        {1536, "1536 bytes"},
        {65536, "64 KiB"},
        {MIB, "1 MiB"},
        {MIB + 1024, "1025 KiB"},
        {MIB + 1, "1048577 bytes"},
        {128LL * MIB, "128 MiB"},
        {1LL << 30, "1 GiB"},
        {3LL << 30, "3 GiB"},
        {(1LL << 30) + MIB, "1025 MiB"},
        {64LL << 30, "64 GiB"},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[64];
        request_format_bytes(rows[i].bytes, out, sizeof(out));
        if (strcmp(out, rows[i].want) != 0) {
            print_error("%lld bytes: got '%s', want '%s'\n", (long long)rows[i].bytes, out,
                        rows[i].want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A short buffer truncates but stays terminated. */
static void test_request_format_small_buffer(void **state)
{
    char out[5];

    request_format_bytes(128LL * MIB, out, sizeof(out));
    assert_string_equal(out, "128 ");
    request_format_ms(10000, out, sizeof(out));
    assert_string_equal(out, "10 s");
}

/* ------------------------------------------------------------ main */

static int setup(void **state)
{
    char err[512];
    char *argv[] = {"x", NULL};

    /* Built-in defaults only: no SCE_* variable of the caller leaks in. */
    unsetenv(server_options_spec.config_env);
    for (size_t i = 0; i < server_options_spec.nopts; i++)
        if (server_options_spec.opts[i].env != NULL)
            unsetenv(server_options_spec.opts[i].env);
    memset(&opt, 0, sizeof(opt));
    if (sce_config_load(&server_options_spec, &opt, 1, argv, err, sizeof(err)) != SCE_CONFIG_OK) {
        print_error("defaults: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    sce_config_free(&server_options_spec, &opt);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_table),
        cmocka_unit_test(test_request_spec_borrows),
        cmocka_unit_test(test_request_other_options),
        cmocka_unit_test(test_request_messages_are_clean),
        cmocka_unit_test(test_sce_path_problem),
        cmocka_unit_test(test_request_path_length),
        cmocka_unit_test(test_request_utf8_chars),
        cmocka_unit_test(test_request_format_ms),
        cmocka_unit_test(test_request_format_bytes),
        cmocka_unit_test(test_request_format_small_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
