/*
 * sce.c - the `sce` command-line client: runs one program or one project (a
 * directory or a ZIP archive) on sce-server and passes its output through,
 * runs several programs as one batch, or shows the server's history,
 * languages and health.
 *
 * It uses only the public header sce/client.h, like any other libsce user,
 * plus common/result_json.h for --json, which prints the HTTP API's shapes
 * with the gateway's own writers (docs/API.md).  It does not retry, read a config file, or
 * interpret the program's output; the exit status carries the verdict (see
 * exit_for_verdict, exit_for_err and the help text).  `sce run` follows its
 * run (follow.c: output as it comes, stdin forwarded, Ctrl-C cancels)
 * unless --no-stream asks for one plain call, or the server is too old.
 */
#include "sce/client.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <ctype.h>
#include <time.h>

#include <jansson.h>

#include "common/result_json.h"
#include "common/config.h"
#include "common/utf8.h"

#include "follow.h"

#ifndef SCE_VERSION
#define SCE_VERSION "unknown"
#endif

/* Exit statuses besides the program's own and sysexits.h: the ones
 * timeout(1) and docker use for a time limit and a SIGKILL. */
#define EXIT_TIMEOUT 124
#define EXIT_KILLED 137

/* The largest code or stdin file read; the server's own caps are far lower
 * and it says so, this only bounds memory for a mistaken /dev/zero. */
#define INPUT_MAX_BYTES ((size_t)64 << 20)

/* The call waits this much longer than the run's time limit (queueing,
 * container start), and never less than the library's default. */
#define CALL_MARGIN_MS 30000u
#define CALL_MIN_TIMEOUT_MS 60000u

static const char usage_text[] =
    "usage: sce [--server URL] COMMAND [OPTIONS]\n"
    "\n"
    "Runs Python or Node.js code in a throw-away sandbox on sce-server.\n"
    "\n"
    "commands:\n"
    "  run [OPTIONS] FILE|- [-- ARG...]  run a program, print its output\n"
    "  run [OPTIONS] DIR|PROJECT.zip [--entry F] [-- ARG...]\n"
    "                                    run a project (its files, entry F)\n"
    "  batch [OPTIONS] FILE...           run programs at once, print each result\n"
    "  history [OPTIONS]                 list the server's recent runs\n"
    "  languages [--json]                list the server's languages (--json: as\n"
    "                                    GET /sce/languages answers)\n"
    "  health [--json]                   show the server's health (--json: as\n"
    "                                    GET /healthz answers, without \"gateway\")\n"
    "  help, --help                      show this help\n"
    "  --version                         show the client's version\n"
    "\n"
    "run options:\n"
    "  -l, --language LANG    python or node (default: from FILE's extension:\n"
    "                         .py python; .js .cjs .mjs node; required for -)\n"
    "      --stdin FILE       the program's standard input, read whole first\n"
    "                         ('-': sce's own; default: sce's own standard\n"
    "                         input, forwarded while the program runs, so a\n"
    "                         program that asks can be answered; with\n"
    "                         --no-stream or code from -: empty)\n"
    "      --timeout S        time limit in seconds, e.g. 2.5\n"
    "      --memory SIZE      memory limit, e.g. 128m, 1g (k, m, g = 1024^n)\n"
    "      --output-limit SIZE  cap on the output kept\n"
    "      --arg A            a program argument (repeatable; these come\n"
    "                         before the ones after --)\n"
    "      --json             print the whole result as one JSON object, as\n"
    "                         the HTTP API's POST /run answers (status, output...),\n"
    "                         at the end (stdin is forwarded as without it)\n"
    "      --no-stream        one call that answers at the end: the output is\n"
    "                         printed then, stdin is --stdin's or empty (by\n"
    "                         default the output is printed as the program\n"
    "                         writes it, and Ctrl-C cancels the run)\n"
    "      --entry F          the project file to run (default: main.py or\n"
    "                         main.js; the language follows from it)\n"
    "  FILE                   the program; '-' reads it from standard input\n"
    "  DIR                    a project: its regular files, without dot files,\n"
    "                         __pycache__ and node_modules (200 files, 1 MiB)\n"
    "  PROJECT.zip            a project in a ZIP archive (at most 2 MiB)\n"
    "  Options may come before or after FILE, and a long option may be cut\n"
    "  short while it stays unique (--lang python).  Everything after -- is the\n"
    "  program's, except that its first word is FILE when none came before it\n"
    "  (sce run -- -odd-name.py).\n"
    "\n"
    "batch options: -l, --stdin, --arg, --timeout, --memory, --output-limit and\n"
    "  --json as for run, for every FILE; up to 5 FILEs (the server's\n"
    "  batch_limit), run in parallel, printed in their order; --json prints\n"
    "  {\"results\": [...], \"request_id\"} as POST /run-batch answers\n"
    "\n"
    "history options:\n"
    "  -n, --limit N          runs per page (default 20, at most 100)\n"
    "      --offset N         runs skipped, newest first\n"
    "      --verdict V        only this verdict (ok, runtime_error, timeout, ...)\n"
    "  -l, --language L       only this language\n"
    "      --tenant NAME      only this tenant's runs (sce-gateway's token file names them)\n"
    "      --json             print the page as GET /history answers: {\"enabled\",\n"
    "                         \"total\", \"offset\", \"entries\": [{\"status\", \"time\"...}]}\n"
    "\n"
    "common options:\n"
    "      --server URL       sce-server's address (default: $" SCE_SERVER_ENV ", else\n"
    "                         " SCE_DEFAULT_SERVER_URL ")\n"
    "\n"
    "exit status of run: the program's exit code, or\n"
    "  124 timeout, 137 memory limit, output limit: the program's code or 1,\n"
    "  130 cancelled by Ctrl-C (a second Ctrl-C quits at once, also 130),\n"
    "  65 rejected or invalid request, 66 unreadable input file, 64 usage,\n"
    "  69 server unreachable or no answer in time, 75 server busy,\n"
    "  70 anything else (sandbox or internal error), 71 out of memory.\n"
    "batch exits 0 when every program ran OK, else 1 (or as run for errors).\n"
    "health exits 0 when the server serves and its engine is up, else 69.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("sce: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'sce --help'.\n", stderr);
}

/* ------------------------------------------------------------ exit codes */

/* A process status for the shell: 1..255 as is, anything else 1. */
static int program_status(int exit_code)
{
    return exit_code >= 1 && exit_code <= 255 ? exit_code : 1;
}

static int exit_for_verdict(const sce_run_result *r)
{
    switch (r->verdict) {
    case SCE_VERDICT_OK:
        return 0;
    case SCE_VERDICT_RUNTIME_ERROR:
    case SCE_VERDICT_OUTPUT_LIMIT:
        return program_status(r->exit_code);
    case SCE_VERDICT_TIMEOUT:
        return EXIT_TIMEOUT;
    case SCE_VERDICT_MEMORY_LIMIT:
        return EXIT_KILLED;
    case SCE_VERDICT_REJECTED:
        return EX_DATAERR;
    case SCE_VERDICT_CANCELLED:
        return FOLLOW_EXIT_INTERRUPTED;
    default:
        return EX_SOFTWARE;
    }
}

static int exit_for_err(int err)
{
    switch (err) {
    case SCE_ERR_UNAVAILABLE:
    case SCE_ERR_DEADLINE_EXCEEDED:
        return EX_UNAVAILABLE;
    case SCE_ERR_INVALID_ARGUMENT:
        return EX_DATAERR;
    case SCE_ERR_RESOURCE_EXHAUSTED:
        return EX_TEMPFAIL;
    default:
        return EX_SOFTWARE;
    }
}

/* ------------------------------------------------------------ parsing */

/* Every option is parsed by getopt_long, so options may come before or
 * after FILE, a unique prefix names a long option (--lang for --language),
 * --name=VALUE and -cVALUE work, and -- ends the options.  The option
 * strings start with "-:": non-options come back in order as option 1 (run
 * tells FILE from the program arguments by where -- stands), and a missing
 * value as ':'.  getopt's own messages are off (opterr): these are sce's. */
enum {
    OPT_JSON = 256,
    OPT_SERVER,
    OPT_STDIN,
    OPT_ARG,
    OPT_TIMEOUT,
    OPT_MEMORY,
    OPT_OUTPUT_LIMIT,
    OPT_ENTRY,
    OPT_OFFSET,
    OPT_VERDICT,
    OPT_TENANT,
    OPT_NO_STREAM,
};

/* Starts a getopt_long scan of argv (argv[0]: the command's name). */
static void opt_reset(void)
{
    optind = 0; /* glibc: a full re-initialisation, for each scan */
    opterr = 0;
}

/* The usage error for what getopt_long returned as ':' or '?'. */
static void opt_error(int ch, char **argv, const char *cmd)
{
    char shortopt[3] = {'-', (char)optopt, '\0'};
    const char *a = optopt > 0 && optopt < 128 ? shortopt : argv[optind - 1];

    if (ch == ':')
        usage_error("option %s needs a value", sce_utf8_quote(a).text);
    else
        usage_error("unknown option '%s' for %s", sce_utf8_quote(a).text, cmd);
}

static int server_empty(const char *url)
{
    if (url[0] != '\0')
        return 0;
    usage_error("--server needs a URL");
    return 1;
}

/* Seconds with decimals, to milliseconds (1 ms at least). */
static int parse_seconds(const char *s, uint32_t *ms)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 ||
        v * 1000.0 > (double)UINT32_MAX)
        return -1;
    *ms = (uint32_t)llround(v * 1000.0);
    if (*ms == 0)
        *ms = 1;
    return 0;
}

/* A byte size as the servers' options take it (sce_parse_bytes: a number,
 * decimals allowed, with an optional binary suffix k, m, g, also KB, KiB,
 * ...).  0 and values above `max` are errors. */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
    int64_t v;

    if (sce_parse_bytes(s, &v) != 0 || v < 1 || (uint64_t)v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* The language of a file name, from its extension; NULL if unknown. */
static const char *language_of(const char *path)
{
    return sce_language_of_path(path);
}

/* Reads a whole file ("-": standard input) into a NUL-terminated buffer.
 * Returns 0, or an errno value (EFBIG past INPUT_MAX_BYTES). */
static int read_input(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t n = 0, cap = 0;
    char *buf = NULL;
    int rv = 0;

    if (f == NULL)
        return errno;
    for (;;) {
        size_t got;

        if (cap - n < 4096) {
            size_t want = cap ? cap * 2 : 65536;
            char *b;

            if (want > INPUT_MAX_BYTES + 1)
                want = INPUT_MAX_BYTES + 1;
            if (want <= n + 1) {
                rv = EFBIG;
                goto out;
            }
            if ((b = realloc(buf, want)) == NULL) {
                rv = ENOMEM;
                goto out;
            }
            buf = b;
            cap = want;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rv = errno ? errno : EIO;
            break;
        }
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rv;
}

static const char *read_error(int rv)
{
    return rv == EFBIG ? "larger than 64 MiB" : strerror(rv);
}

/* ------------------------------------------------------------ JSON */

/* Prints one JSON value (from a common/result_json.h writer) and a
 * newline; frees it.  Returns 0, or -1 when memory ran out while building
 * it (j NULL) or writing failed. */
static int json_print(json_t *j)
{
    int rv = -1;

    if (j != NULL && json_dumpf(j, stdout, JSON_COMPACT) == 0 && fputc('\n', stdout) != EOF)
        rv = 0;
    json_decref(j);
    if (rv != 0)
        fputs("sce: out of memory writing JSON\n", stderr);
    return rv;
}

/* A run's result (run, project) in the HTTP API's POST /run answer. */
static int print_run_json(const sce_run_result *r)
{
    return json_print(sce_json_run_result(r));
}

/* In --json mode an error is also one JSON object on stdout, so that a
 * script always has something to parse; the stderr line stays. */
static void print_err_json(int err, const char *msg)
{
    (void)json_print(sce_json_error(sce_json_err_rejected(err), err, msg, NULL));
}

/* A failed call: its error object on stdout in --json mode, its line on
 * stderr always.  Returns the exit status. */
static int report_err(int err, const char *msg, int json)
{
    if (json)
        print_err_json(err, msg);
    fprintf(stderr, "sce: %s: %s\n", sce_err_name(err), msg[0] ? msg : sce_strerror(err));
    return exit_for_err(err);
}

/* ------------------------------------------------------------ run */

/* What the verdict line says when the server gave no message. */
static const char *verdict_fallback(const sce_run_result *r, char *buf, size_t len)
{
    switch (r->verdict) {
    case SCE_VERDICT_RUNTIME_ERROR:
        if (r->signal != 0)
            snprintf(buf, len, "killed by signal %d (exit code %d)", r->signal, r->exit_code);
        else
            snprintf(buf, len, "exit code %d", r->exit_code);
        return buf;
    case SCE_VERDICT_TIMEOUT:
        return "killed at the time limit";
    case SCE_VERDICT_MEMORY_LIMIT:
        return "killed at the memory limit";
    case SCE_VERDICT_OUTPUT_LIMIT:
        return "killed for printing more than the output limit";
    case SCE_VERDICT_REJECTED:
        return "refused before running";
    case SCE_VERDICT_INTERNAL_ERROR:
        return "the sandbox failed";
    case SCE_VERDICT_CANCELLED:
        return "cancelled";
    default:
        return "the server gave no verdict";
    }
}

/* sce's own notes on a run on stderr, each on a line of its own (a newline
 * is added first when what was written to stderr last did not end with one,
 * fresh_line 0, so the note is never glued to the program's last line). */
static void print_run_notes(const sce_run_result *r, int fresh_line)
{
    char buf[128];

    if (r->stdout_truncated || r->stderr_truncated || r->verdict != SCE_VERDICT_OK) {
        if (!fresh_line)
            fputc('\n', stderr);
    }
    if (r->stdout_truncated)
        fprintf(stderr, "sce: stdout truncated at %zu bytes\n", r->stdout_len);
    if (r->stderr_truncated)
        fprintf(stderr, "sce: stderr truncated at %zu bytes\n", r->stderr_len);
    if (r->verdict != SCE_VERDICT_OK)
        fprintf(stderr, "sce: %s: %s\n", sce_verdict_name(r->verdict),
                r->message[0] ? r->message : verdict_fallback(r, buf, sizeof(buf)));
}

/* A plain run's output byte for byte, then the notes. */
static void print_run_plain(const sce_run_result *r)
{
    fwrite(r->stdout_data, 1, r->stdout_len, stdout);
    fflush(stdout);
    fwrite(r->stderr_data, 1, r->stderr_len, stderr);
    print_run_notes(r, r->stderr_len == 0 || r->stderr_data[r->stderr_len - 1] == '\n');
}

typedef enum run_kind { RUN_FILE, RUN_DIR, RUN_ZIP } run_kind;

typedef struct run_opts {
    const char *server;
    const char *language;
    const char *stdin_path;
    const char *file;
    const char *entry;
    run_kind kind;
    const char **files; /* batch: the programs (argc entries allocated) */
    size_t nfiles;
    int batch;
    uint32_t timeout_ms;
    uint64_t memory_bytes;
    uint32_t output_limit_bytes;
    const char **args; /* argc entries allocated */
    size_t nargs;
    int json;
    int no_stream; /* run: one plain call, as before followed runs */
} run_opts;

/* A path names a ZIP archive by its extension. */
static int is_zip_name(const char *path)
{
    size_t n = strlen(path);

    return n > 4 && strcasecmp(path + n - 4, ".zip") == 0;
}

/* FILE (run) or one more FILE (batch). */
static int run_positional(run_opts *o, const char *a)
{
    if (o->batch) {
        o->files[o->nfiles++] = a;
        return 0;
    }
    if (o->file != NULL) {
        usage_error("unexpected argument '%s' (program arguments go after --)",
                    sce_utf8_quote(a).text);
        return EX_USAGE;
    }
    o->file = a;
    return 0;
}

/* Returns 0, the exit status of a usage error, or -1 after printing help.
 * For run, it also tells a program from a project (o->kind).  Arguments
 * after -- are the program's; the first of them is FILE when none came
 * before (sce run -- -odd-name.py). */
static int run_parse(int argc, char **argv, run_opts *o)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"language", required_argument, NULL, 'l'},
        {"entry", required_argument, NULL, OPT_ENTRY},
        {"stdin", required_argument, NULL, OPT_STDIN},
        {"server", required_argument, NULL, OPT_SERVER},
        {"arg", required_argument, NULL, OPT_ARG},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT},
        {"no-stream", no_argument, NULL, OPT_NO_STREAM},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = o->batch ? "batch" : "run";
    struct stat st;
    uint64_t n;
    int ch, i;

    opt_reset();
    while ((ch = getopt_long(argc, argv, "-:hl:", options, NULL)) != -1) {
        const char *v = optarg;

        switch (ch) {
        case 1:
            if (run_positional(o, v) != 0)
                return EX_USAGE;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case OPT_JSON:
            o->json = 1;
            break;
        case 'l':
            o->language = v;
            break;
        case OPT_ENTRY:
            if (o->batch) {
                usage_error("unknown option '--entry' for batch");
                return EX_USAGE;
            }
            o->entry = v;
            break;
        case OPT_NO_STREAM:
            if (o->batch) {
                usage_error("unknown option '--no-stream' for batch");
                return EX_USAGE;
            }
            o->no_stream = 1;
            break;
        case OPT_STDIN:
            o->stdin_path = v;
            break;
        case OPT_SERVER:
            if (server_empty(v))
                return EX_USAGE;
            o->server = v;
            break;
        case OPT_ARG:
            o->args[o->nargs++] = v;
            break;
        case OPT_TIMEOUT:
            if (parse_seconds(v, &o->timeout_ms) != 0) {
                usage_error("bad --timeout '%s': give seconds, e.g. 10 or 2.5", v);
                return EX_USAGE;
            }
            break;
        case OPT_MEMORY:
            if (parse_size(v, UINT64_MAX, &o->memory_bytes) != 0) {
                usage_error("bad --memory '%s': give a size, e.g. 128m or 1g", v);
                return EX_USAGE;
            }
            break;
        case OPT_OUTPUT_LIMIT:
            if (parse_size(v, UINT32_MAX, &n) != 0) {
                usage_error("bad --output-limit '%s': give a size, e.g. 64k", v);
                return EX_USAGE;
            }
            o->output_limit_bytes = (uint32_t)n;
            break;
        default:
            opt_error(ch, argv, cmd);
            return EX_USAGE;
        }
    }
    i = optind;
    if (i < argc && o->file == NULL && o->nfiles == 0 && run_positional(o, argv[i++]) != 0)
        return EX_USAGE;
    for (; i < argc; i++)
        o->args[o->nargs++] = argv[i];
    if (o->batch) {
        if (o->nfiles == 0) {
            usage_error("batch needs at least one FILE");
            return EX_USAGE;
        }
        for (size_t k = 0; k < o->nfiles; k++) {
            if (strcmp(o->files[k], "-") == 0) {
                usage_error("batch reads programs from files, not from standard input");
                return EX_USAGE;
            }
            if (o->language == NULL && language_of(o->files[k]) == NULL) {
                usage_error("cannot tell the language of '%s': pass -l python or -l node",
                            o->files[k]);
                return EX_USAGE;
            }
        }
        if (o->stdin_path != NULL && strcmp(o->stdin_path, "-") == 0) {
            usage_error("batch: give --stdin a file");
            return EX_USAGE;
        }
        return 0;
    }
    if (o->file == NULL) {
        usage_error("run needs a FILE, DIR or PROJECT.zip (or - for standard input)");
        return EX_USAGE;
    }
    o->kind = RUN_FILE;
    if (strcmp(o->file, "-") != 0 && stat(o->file, &st) == 0 && S_ISDIR(st.st_mode))
        o->kind = RUN_DIR;
    else if (is_zip_name(o->file))
        o->kind = RUN_ZIP;
    if (o->kind == RUN_FILE && o->entry != NULL) {
        usage_error("--entry is for projects: a directory or a .zip archive");
        return EX_USAGE;
    }
    /* A project's language follows from its entry, later. */
    if (o->language == NULL && o->kind == RUN_FILE) {
        if (strcmp(o->file, "-") == 0) {
            usage_error("reading code from standard input: pass -l python or -l node");
            return EX_USAGE;
        }
        if ((o->language = language_of(o->file)) == NULL) {
            usage_error("cannot tell the language of '%s': pass -l python or -l node", o->file);
            return EX_USAGE;
        }
    }
    if (o->stdin_path != NULL && strcmp(o->stdin_path, "-") == 0 && strcmp(o->file, "-") == 0) {
        usage_error("the code already comes from standard input; give --stdin a file");
        return EX_USAGE;
    }
    return 0;
}

/* Opens the client; a run with a time limit waits that long plus margin. */
static int open_for_runs(const run_opts *o, sce_client **c, char *err, size_t errlen)
{
    int rv = sce_client_open(o->server, c, err, errlen);

    if (rv == SCE_OK && o->timeout_ms > 0) {
        uint64_t t = (uint64_t)o->timeout_ms + CALL_MARGIN_MS;

        if (t < CALL_MIN_TIMEOUT_MS)
            t = CALL_MIN_TIMEOUT_MS;
        sce_client_set_timeout(*c, t > UINT32_MAX ? UINT32_MAX : (uint32_t)t);
    }
    return rv;
}

/* Reads the project named by o->file into *b.  Returns 0 or an exit
 * status (the message has been printed). */
static int load_project(const run_opts *o, sce_bundle **b)
{
    char err[512];
    char *zip = NULL;
    size_t zip_len = 0;
    int rv;

    if (o->kind == RUN_DIR) {
        rv = sce_bundle_from_dir(o->file, NULL, b, err, sizeof(err));
    } else {
        if ((rv = read_input(o->file, &zip, &zip_len)) != 0) {
            fprintf(stderr, "sce: cannot read %s: %s\n", o->file, read_error(rv));
            return EX_NOINPUT;
        }
        rv = sce_bundle_from_zip(zip, zip_len, NULL, b, err, sizeof(err));
        free(zip);
    }
    if (rv == SCE_OK)
        return 0;
    if (o->json)
        print_err_json(rv, err);
    fprintf(stderr, "sce: %s\n", err);
    return rv == SCE_ERR_NOT_FOUND   ? EX_NOINPUT
           : rv == SCE_ERR_NO_MEMORY ? EX_OSERR
                                     : EX_DATAERR;
}

static int cmd_run(int argc, char **argv, const char *server)
{
    run_opts o = {.server = server};
    sce_run_request req = {0};
    sce_client *c = NULL;
    sce_run_result *r = NULL;
    sce_bundle *bundle = NULL;
    char *code = NULL, *input = NULL, err[512];
    size_t code_len = 0, input_len = 0;
    int status, rv, streamed = 0, fresh_line = 1;

    if ((o.args = calloc((size_t)argc + 1, sizeof(*o.args))) == NULL) {
        fputs("sce: out of memory\n", stderr);
        return EX_OSERR;
    }
    if ((status = run_parse(argc, argv, &o)) != 0) {
        status = status < 0 ? 0 : status;
        goto out;
    }

    if (o.kind != RUN_FILE) {
        if ((status = load_project(&o, &bundle)) != 0)
            goto out;
        rv = sce_bundle_pick_entry(bundle, o.language, o.entry, &req.entry, &req.language, err,
                                   sizeof(err));
        if (rv != SCE_OK) {
            if (o.json)
                print_err_json(rv, err);
            fprintf(stderr, "sce: %s\n", err);
            status = EX_DATAERR;
            goto out;
        }
        req.files = bundle->files;
        req.nfiles = bundle->count;
    } else {
        if ((rv = read_input(o.file, &code, &code_len)) != 0) {
            fprintf(stderr, "sce: cannot read %s: %s\n",
                    strcmp(o.file, "-") == 0 ? "standard input" : o.file, read_error(rv));
            status = EX_NOINPUT;
            goto out;
        }
        if (memchr(code, '\0', code_len) != NULL) {
            fprintf(stderr, "sce: %s contains NUL bytes; code must be text\n", o.file);
            status = EX_DATAERR;
            goto out;
        }
        req.language = o.language;
        req.code = code;
    }
    if (o.stdin_path != NULL && (rv = read_input(o.stdin_path, &input, &input_len)) != 0) {
        fprintf(stderr, "sce: cannot read %s: %s\n",
                strcmp(o.stdin_path, "-") == 0 ? "standard input" : o.stdin_path, read_error(rv));
        status = EX_NOINPUT;
        goto out;
    }

    req.stdin_data = input;
    req.stdin_len = input_len;
    req.args = o.args;
    req.nargs = o.nargs;
    req.timeout_ms = o.timeout_ms;
    req.memory_bytes = o.memory_bytes;
    req.output_limit_bytes = o.output_limit_bytes;

    if ((rv = open_for_runs(&o, &c, err, sizeof(err))) == SCE_OK && !o.no_stream) {
        /* sce's own stdin goes to the program unless the code came from it
         * or --stdin gave the input. */
        follow_opts fo = {.print_output = !o.json,
                          .forward_stdin = o.stdin_path == NULL && strcmp(o.file, "-") != 0};

        rv = follow_run(c, &req, &fo, &r, &fresh_line, err, sizeof(err));
        streamed = rv == SCE_OK;
        if (follow_unsupported(rv, err)) {
            o.no_stream = 1; /* an older server: one plain call, as before */
            rv = SCE_OK;
        }
    }
    if (rv == SCE_OK && o.no_stream) {
        if (bundle != NULL)
            rv = sce_client_run_project(c, &req, &r, err, sizeof(err));
        else
            rv = sce_client_run(c, &req, &r, err, sizeof(err));
    }
    if (rv != SCE_OK) {
        status = report_err(rv, err, o.json);
        goto out;
    }
    status = exit_for_verdict(r);
    if (o.json) {
        if (print_run_json(r) != 0)
            status = EX_OSERR;
    } else if (streamed) {
        print_run_notes(r, fresh_line); /* the output has been printed */
    } else {
        print_run_plain(r);
    }
out:
    sce_run_result_free(r);
    sce_client_close(c);
    sce_bundle_free(bundle);
    free(code);
    free(input);
    free(o.args);
    return status;
}

/* ------------------------------------------------------------ batch */

/* One line before each task's output: "--- hello.py: ok, exit 0, 45 ms". */
static void print_batch_item_plain(const char *file, const sce_batch_item *it)
{
    const sce_run_result *r = it->result;
    char buf[128];

    fflush(stderr);
    if (it->status != SCE_OK) {
        printf("--- %s: %s: %s\n", file, sce_err_name(it->status),
               it->message[0] ? it->message : sce_strerror(it->status));
        fflush(stdout);
        return;
    }
    printf("--- %s: %s, exit %d, %" PRIu32 " ms%s%s\n", file, sce_verdict_name(r->verdict),
           r->exit_code, r->wall_ms, r->verdict != SCE_VERDICT_OK ? ": " : "",
           r->verdict == SCE_VERDICT_OK ? ""
           : r->message[0]              ? r->message
                                        : verdict_fallback(r, buf, sizeof(buf)));
    fwrite(r->stdout_data, 1, r->stdout_len, stdout);
    if (r->stdout_len > 0 && r->stdout_data[r->stdout_len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
    fwrite(r->stderr_data, 1, r->stderr_len, stderr);
    if (r->stderr_len > 0 && r->stderr_data[r->stderr_len - 1] != '\n')
        fputc('\n', stderr);
    fflush(stderr);
}

/* The HTTP API's POST /run-batch answer, one item per FILE in order. */
static int print_batch_json(const sce_batch_result *b)
{
    return json_print(sce_json_batch_result(b));
}

static int cmd_batch(int argc, char **argv, const char *server)
{
    run_opts o = {.server = server, .batch = 1};
    sce_run_request *tasks = NULL;
    char **codes = NULL;
    sce_client *c = NULL;
    sce_batch_result *b = NULL;
    char *input = NULL, err[512];
    size_t input_len = 0;
    int status, rv;

    o.args = calloc((size_t)argc + 1, sizeof(*o.args));
    o.files = calloc((size_t)argc + 1, sizeof(*o.files));
    if (o.args == NULL || o.files == NULL) {
        fputs("sce: out of memory\n", stderr);
        status = EX_OSERR;
        goto out;
    }
    if ((status = run_parse(argc, argv, &o)) != 0) {
        status = status < 0 ? 0 : status;
        goto out;
    }
    tasks = calloc(o.nfiles, sizeof(*tasks));
    codes = calloc(o.nfiles, sizeof(*codes));
    if (tasks == NULL || codes == NULL) {
        fputs("sce: out of memory\n", stderr);
        status = EX_OSERR;
        goto out;
    }
    if (o.stdin_path != NULL && (rv = read_input(o.stdin_path, &input, &input_len)) != 0) {
        fprintf(stderr, "sce: cannot read %s: %s\n", o.stdin_path, read_error(rv));
        status = EX_NOINPUT;
        goto out;
    }
    for (size_t i = 0; i < o.nfiles; i++) {
        size_t len;

        if ((rv = read_input(o.files[i], &codes[i], &len)) != 0) {
            fprintf(stderr, "sce: cannot read %s: %s\n", o.files[i], read_error(rv));
            status = EX_NOINPUT;
            goto out;
        }
        tasks[i].language = o.language != NULL ? o.language : language_of(o.files[i]);
        tasks[i].code = codes[i];
        tasks[i].stdin_data = input;
        tasks[i].stdin_len = input_len;
        tasks[i].args = o.args;
        tasks[i].nargs = o.nargs;
        tasks[i].timeout_ms = o.timeout_ms;
        tasks[i].memory_bytes = o.memory_bytes;
        tasks[i].output_limit_bytes = o.output_limit_bytes;
    }
    if ((rv = open_for_runs(&o, &c, err, sizeof(err))) == SCE_OK)
        rv = sce_client_run_batch(c, tasks, o.nfiles, &b, err, sizeof(err));
    if (rv != SCE_OK) {
        status = report_err(rv, err, o.json);
        goto out;
    }
    status = 0;
    for (size_t i = 0; i < b->count; i++)
        if (b->items[i].status != SCE_OK || b->items[i].result->verdict != SCE_VERDICT_OK)
            status = 1;
    if (o.json) {
        if (print_batch_json(b) != 0)
            status = EX_OSERR;
    } else {
        for (size_t i = 0; i < b->count; i++)
            print_batch_item_plain(o.files[i], &b->items[i]);
    }
out:
    sce_batch_result_free(b);
    sce_client_close(c);
    for (size_t i = 0; codes != NULL && i < o.nfiles; i++)
        free(codes[i]);
    free(codes);
    free(tasks);
    free(input);
    free(o.args);
    free(o.files);
    return status;
}

/* ------------------------------------------------------------ history */

typedef struct history_opts {
    const char *server;
    sce_history_query q;
    int json;
} history_opts;

/* A verdict by name: "ok", "runtime_error" (also "runtime-error", any case). */
static int parse_verdict(const char *s, sce_verdict *out)
{
    char norm[32];
    size_t n = strlen(s);

    if (n == 0 || n >= sizeof(norm))
        return -1;
    for (size_t i = 0; i <= n; i++)
        norm[i] = s[i] == '-' ? '_' : (char)tolower((unsigned char)s[i]);
    for (int v = SCE_VERDICT_OK; v <= SCE_VERDICT_LAST; v++) {
        if (strcmp(norm, sce_verdict_name(v)) == 0) {
            *out = (sce_verdict)v;
            return 0;
        }
    }
    return -1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int history_parse(int argc, char **argv, history_opts *o)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"server", required_argument, NULL, OPT_SERVER},
        {"limit", required_argument, NULL, 'n'},
        {"offset", required_argument, NULL, OPT_OFFSET},
        {"verdict", required_argument, NULL, OPT_VERDICT},
        {"language", required_argument, NULL, 'l'},
        {"tenant", required_argument, NULL, OPT_TENANT},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opt_reset();
    while ((ch = getopt_long(argc, argv, "-:hn:l:", options, NULL)) != -1) {
        const char *v = optarg;

        switch (ch) {
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_SERVER:
            if (server_empty(v))
                return EX_USAGE;
            o->server = v;
            break;
        case 'n':
            if (parse_u32(v, &o->q.limit) != 0 || o->q.limit == 0) {
                usage_error("bad --limit '%s': give a number of runs, e.g. 20", v);
                return EX_USAGE;
            }
            break;
        case OPT_OFFSET:
            if (parse_u32(v, &o->q.offset) != 0) {
                usage_error("bad --offset '%s': give a number of runs to skip", v);
                return EX_USAGE;
            }
            break;
        case OPT_VERDICT:
            if (parse_verdict(v, &o->q.verdict) != 0) {
                usage_error("bad --verdict '%s': one of ok, runtime_error, timeout, "
                            "memory_limit, output_limit, rejected, internal_error",
                            v);
                return EX_USAGE;
            }
            break;
        case 'l':
            o->q.language = v;
            break;
        case OPT_TENANT:
            if (v[0] == '\0') {
                usage_error("bad --tenant '': give a tenant's name");
                return EX_USAGE;
            }
            o->q.tenant = v;
            break;
        case 1:
            usage_error("unexpected argument '%s' for history", sce_utf8_quote(v).text);
            return EX_USAGE;
        default:
            opt_error(ch, argv, "history");
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s' for history", sce_utf8_quote(argv[optind]).text);
        return EX_USAGE;
    }
    return 0;
}

/* GET /history's answer; `offset` is the query's. */
static int print_history_json(const sce_history_page *p, uint32_t offset)
{
    return json_print(sce_json_history_page(p, offset, 0));
}

/* The first non-blank line of s, cleaned as sce_utf8_clean_line does, cut
 * to at most `max` characters, for one table cell. */
static void summary_cell(const char *s, char *out, size_t outlen, size_t max)
{
    size_t n, chars = 0;

    s += strspn(s, " \t\r\n");
    n = sce_utf8_clean_line(s, strcspn(s, "\n"), out, outlen);
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)out[i] & 0xc0) != 0x80 && chars++ == max) {
            out[i] = '\0';
            break;
        }
    }
}

static void print_history_table(const sce_history_page *p, const sce_history_query *q)
{
    int tenants = 0;

    /* The TENANT column only when some run has one (a gateway with a token
     * file in front). */
    for (size_t i = 0; i < p->count; i++)
        tenants |= p->entries[i].tenant[0] != '\0';
    if (!p->enabled) {
        printf("the server keeps no history (its option history is off)\n");
        return;
    }
    if (p->count == 0) {
        printf("no runs%s\n", p->total > 0 ? " on this page" : " recorded");
        return;
    }
    printf("%8s  %-19s  %s%s%-6s  %-14s  %4s  %8s  %s\n", "ID", "TIME", tenants ? "TENANT" : "",
           tenants ? "            " : "", "LANG", "VERDICT", "EXIT", "WALL", "SUMMARY");
    for (size_t i = 0; i < p->count; i++) {
        const sce_history_entry *e = &p->entries[i];
        time_t t = (time_t)(e->time_ms / 1000);
        struct tm tm;
        char when[32] = "-", summary[256], wall[32];

        if (localtime_r(&t, &tm) != NULL)
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        summary_cell(e->message[0] ? e->message : e->output, summary, sizeof(summary), 60);
        snprintf(wall, sizeof(wall), "%" PRIu32 " ms", e->wall_ms);
        printf("%8" PRId64 "  %-19s  ", e->id, when);
        if (tenants)
            printf("%-16s  ", e->tenant[0] != '\0' ? e->tenant : "-");
        printf("%-6s  %-14s  %4d  %8s  %s%s%s\n", e->language, sce_verdict_name(e->verdict),
               e->exit_code, wall, e->entry[0] ? e->entry : "", e->entry[0] ? ": " : "", summary);
    }
    printf("runs %" PRIu32 "-%" PRIu64 " of %" PRIu64 "%s\n", q->offset + 1,
           (uint64_t)q->offset + p->count, p->total,
           (uint64_t)q->offset + p->count < p->total ? " (--offset for more)" : "");
}

static int cmd_history(int argc, char **argv, const char *server)
{
    history_opts o = {.server = server};
    sce_client *c = NULL;
    sce_history_page *p = NULL;
    char err[512];
    int status, rv;

    if ((status = history_parse(argc, argv, &o)) != 0)
        return status < 0 ? 0 : status;
    if ((rv = sce_client_open(o.server, &c, err, sizeof(err))) == SCE_OK)
        rv = sce_client_history(c, &o.q, &p, err, sizeof(err));
    if (rv != SCE_OK) {
        status = report_err(rv, err, o.json);
    } else if (o.json) {
        status = print_history_json(p, o.q.offset) == 0 ? 0 : EX_OSERR;
    } else {
        print_history_table(p, &o.q);
        status = 0;
    }
    sce_history_page_free(p);
    sce_client_close(c);
    return status;
}

/* ------------------------------------------------------------ languages, health */

/* Parses the options of languages and health: --json and --server.
 * Returns like run_parse. */
static int info_parse(const char *cmd, int argc, char **argv, const char **server, int *json)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"server", required_argument, NULL, OPT_SERVER},
        {NULL, 0, NULL, 0},
    };
    int ch;

    opt_reset();
    while ((ch = getopt_long(argc, argv, "-:h", options, NULL)) != -1) {
        switch (ch) {
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        case OPT_JSON:
            *json = 1;
            break;
        case OPT_SERVER:
            if (server_empty(optarg))
                return EX_USAGE;
            *server = optarg;
            break;
        case 1:
            usage_error("unexpected argument '%s' for %s", sce_utf8_quote(optarg).text, cmd);
            return EX_USAGE;
        default:
            opt_error(ch, argv, cmd);
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s' for %s", sce_utf8_quote(argv[optind]).text, cmd);
        return EX_USAGE;
    }
    return 0;
}

/* GET /sce/languages' answer: {"languages": [...]}. */
static int print_languages_json(const sce_language_list *l)
{
    return json_print(sce_json_languages(l));
}

static void print_languages_table(const sce_language_list *l)
{
    int wn = 4, wv = 7, wi = 5, wr = 7;

    for (size_t i = 0; i < l->count; i++) {
        const sce_language *x = &l->items[i];
        int n = (int)strlen(x->name), v = (int)strlen(x->version), im = (int)strlen(x->image);
        int r = (int)strlen(x->runtime);

        wn = n > wn ? n : wn;
        wv = v > wv ? v : wv;
        wi = im > wi ? im : wi;
        wr = r > wr ? r : wr;
    }
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", wn, "NAME", wv, "VERSION", wi, "IMAGE", wr, "RUNTIME",
           "STATUS");
    for (size_t i = 0; i < l->count; i++) {
        const sce_language *x = &l->items[i];

        printf("%-*s  %-*s  %-*s  %-*s  ", wn, x->name, wv, x->version[0] ? x->version : "-", wi,
               x->image, wr, x->runtime[0] ? x->runtime : "-");
        if (x->available)
            printf("available\n");
        else if (x->message[0])
            printf("unavailable: %s\n", x->message);
        else
            printf("unavailable\n");
    }
}

static int cmd_languages(int argc, char **argv, const char *server)
{
    sce_client *c = NULL;
    sce_language_list *l = NULL;
    char err[512];
    int json = 0, status, rv;

    if ((status = info_parse("languages", argc, argv, &server, &json)) != 0)
        return status < 0 ? 0 : status;
    if ((rv = sce_client_open(server, &c, err, sizeof(err))) == SCE_OK)
        rv = sce_client_languages(c, &l, err, sizeof(err));
    if (rv != SCE_OK) {
        status = report_err(rv, err, json);
    } else if (json) {
        status = print_languages_json(l) == 0 ? 0 : EX_OSERR;
    } else {
        print_languages_table(l);
        status = 0;
    }
    sce_language_list_free(l);
    sce_client_close(c);
    return status;
}

static void print_duration(uint64_t ms)
{
    uint64_t s = ms / 1000;

    if (s >= 86400)
        printf("%" PRIu64 "d ", s / 86400);
    if (s >= 3600)
        printf("%" PRIu64 "h ", s / 3600 % 24);
    if (s >= 60)
        printf("%" PRIu64 "m ", s / 60 % 60);
    printf("%" PRIu64 "s\n", s % 60);
}

/* GET /healthz's answer without its "gateway" part: {status, server,
 * engine}. */
static int print_health_json(const sce_health *h)
{
    return json_print(sce_json_health(h, SCE_OK, NULL));
}

/* "runsc" when every language runs on the same runtime, else
 * "python runc, node runsc"; gVisor named where it is. */
static void print_runtimes(const sce_health *h)
{
    int same = 1;

    for (size_t i = 1; i < h->nruntimes; i++)
        same &= strcmp(h->runtimes[i].runtime, h->runtimes[0].runtime) == 0;
    if (h->nruntimes == 0) {
        printf("-\n");
        return;
    }
    for (size_t i = 0; i < h->nruntimes; i++) {
        const char *rt = h->runtimes[i].runtime;

        if (same && i > 0)
            break;
        printf("%s%s%s%s%s", i > 0 ? ", " : "", same ? "" : h->runtimes[i].language,
               same ? "" : " ", rt, strcmp(rt, "runsc") == 0 ? " (gVisor)" : "");
    }
    printf("\n");
}

static void print_health_plain(const sce_health *h)
{
    printf("serving:         %s\n", h->serving ? "yes" : "no");
    if (h->engine_ok)
        printf("engine:          ok%s%s%s\n", h->engine_version[0] ? " (Docker " : "",
               h->engine_version, h->engine_version[0] ? ")" : "");
    else
        printf("engine:          down%s%s\n", h->engine_message[0] ? ": " : "", h->engine_message);
    printf("runtime:         ");
    print_runtimes(h);
    printf("server version:  %s\n", h->server_version[0] ? h->server_version : "-");
    printf("instance:        %s\n", h->instance_id[0] ? h->instance_id : "-");
    printf("workers:         %" PRIu32 " busy of %" PRIu32 "\n", h->busy_workers, h->workers);
    printf("queue:           %" PRIu32 " of %" PRIu32 "\n", h->queued, h->queue_capacity);
    printf("uptime:          ");
    print_duration(h->uptime_ms);
    printf("runs:            %" PRIu64 "\n", h->runs_total);
    printf("warm pool:       %u ready; %" PRIu64 " runs warm, %" PRIu64 " cold\n", h->pool_ready,
           h->pool_hits, h->pool_misses);
}

static int cmd_health(int argc, char **argv, const char *server)
{
    sce_client *c = NULL;
    sce_health *h = NULL;
    char err[512];
    int json = 0, status, rv;

    if ((status = info_parse("health", argc, argv, &server, &json)) != 0)
        return status < 0 ? 0 : status;
    if ((rv = sce_client_open(server, &c, err, sizeof(err))) == SCE_OK)
        rv = sce_client_health(c, &h, err, sizeof(err));
    if (rv != SCE_OK) {
        status = report_err(rv, err, json);
        goto out;
    }
    status = h->serving && h->engine_ok ? 0 : EX_UNAVAILABLE;
    if (json) {
        if (print_health_json(h) != 0)
            status = EX_OSERR;
    } else {
        print_health_plain(h);
    }
out:
    sce_health_free(h);
    sce_client_close(c);
    return status;
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"server", required_argument, NULL, OPT_SERVER},
        {NULL, 0, NULL, 0},
    };
    static const struct command {
        const char *name;
        int (*fn)(int argc, char **argv, const char *server);
    } commands[] = {
        {"run", cmd_run},         {"batch", cmd_batch},   {"history", cmd_history},
        {"languages", cmd_languages}, {"health", cmd_health},
    };
    const char *server = NULL, *cmd;
    int ch;

    /* Options before the command ("+": the command ends them). */
    opt_reset();
    while ((ch = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
        switch (ch) {
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        case 'V':
            printf("sce %s\n", SCE_VERSION);
            return 0;
        case OPT_SERVER:
            if (server_empty(optarg))
                return EX_USAGE;
            server = optarg;
            break;
        default:
            opt_error(ch, argv, "sce");
            return EX_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return EX_USAGE;
    }
    /* The command's own scan sees the command as its argv[0]. */
    cmd = argv[optind];
    for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
        if (strcmp(cmd, commands[k].name) == 0)
            return commands[k].fn(argc - optind, argv + optind, server);
    if (strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    usage_error("unknown command '%s'", sce_utf8_quote(cmd).text);
    return EX_USAGE;
}
