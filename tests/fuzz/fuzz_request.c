/*
 * fuzz_request.c - libFuzzer driver for what sce-server does with a request
 * message before any container exists: the size check and protobuf decode
 * of rpc.c, the Run / RunProject / Batch checks of service.c and
 * request_check_run (server/request.c) against the built-in default
 * options, and, for a request that passes, runner_input_build (server/runner_input.c).
 *
 * Beyond "no sanitizer report", it checks what the headers promise: a
 * refused request has a one-line, valid UTF-8 message (it travels as a
 * proto3 string); an accepted one stays within every limit, its paths pass
 * sce_path_problem, its entry is one of its files, and it always makes
 * a bundle whose header and length say exactly what the spec holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runner_input.h"
#include "options.h"
#include "common/path.h"
#include "request.h"
#include "sce.pb-c.h"
#include "sce/err.h"
#include "common/utf8.h"

#define FUZZ_NAME "fuzz_request"
#include "fuzz_server.h"

static int has_file(const run_spec *spec, const char *path)
{
    for (size_t i = 0; i < spec->nfiles; i++)
        if (strcmp(spec->files[i].path, path) == 0)
            return 1;
    return 0;
}

/* The spec of an accepted request stays within the options. */
static void check_spec(const run_spec *spec, const Sce__V1__RunRequest *rq)
{
    size_t total = 0;

    if (spec->lang == NULL || spec->nfiles == 0 || spec->files == NULL || spec->entry == NULL)
        fail("accepted spec without language, files or entry", NULL);
    if (spec->nfiles > (size_t)opt.files_limit)
        fail("accepted more files than files_limit", NULL);
    for (size_t i = 0; i < spec->nfiles; i++) {
        const char *why = sce_path_problem(spec->files[i].path);

        if (why != NULL)
            fail("accepted a bad path", spec->files[i].path);
        for (size_t j = 0; j < i; j++)
            if (strcmp(spec->files[i].path, spec->files[j].path) == 0)
                fail("accepted a duplicate path", spec->files[i].path);
        total += spec->files[i].len;
    }
    if (rq->code != NULL && rq->code[0] != '\0') {
        long chars = sce_utf8_count(rq->code, strlen(rq->code));

        if (spec->nfiles != 1 || chars < 0 || chars > (long)opt.code_limit_chars)
            fail("accepted code that is not one valid file within code_limit", NULL);
    } else if (total > (size_t)opt.project_limit_bytes) {
        fail("accepted more bytes than project_limit", NULL);
    }
    if (!has_file(spec, spec->entry))
        fail("entry is not among the files", spec->entry);
    if (spec->stdin_len > (size_t)opt.stdin_limit_bytes)
        fail("accepted more stdin than stdin_limit", NULL);
    if (spec->nargs > (size_t)opt.args_limit)
        fail("accepted more args than args_limit", NULL);
    for (size_t i = 0; i < spec->nargs; i++)
        if (strlen(spec->args[i]) > (size_t)opt.arg_limit_bytes)
            fail("accepted an argument over arg_limit", NULL);
    if (spec->timeout_ms <= 0 || spec->timeout_ms > opt.timeout_ms || spec->memory_bytes <= 0 ||
        spec->memory_bytes > opt.memory_bytes || spec->output_limit_bytes <= 0 ||
        spec->output_limit_bytes > opt.output_limit_bytes)
        fail("limits outside (0, server maximum]", NULL);
}

/* "SCE1 <n>\n" + n bytes of JSON header + the files + stdin, and nothing
 * else; the header names the entry, the args and each file's path and size. */
static void check_bundle(const run_spec *spec, const char *b, size_t len)
{
    size_t hlen = 0, pos = 5, total;
    json_t *h, *files, *args;
    json_error_t jerr;

    if (len < 7 || memcmp(b, "SCE1 ", 5) != 0)
        fail("bundle does not start with 'SCE1 '", NULL);
    while (pos < len && b[pos] >= '0' && b[pos] <= '9')
        hlen = hlen * 10 + (size_t)(b[pos++] - '0');
    if (pos >= len || b[pos] != '\n' || hlen > len - pos - 1)
        fail("bundle prefix is malformed", NULL);
    pos++;
    total = pos + hlen + spec->stdin_len;
    for (size_t i = 0; i < spec->nfiles; i++)
        total += spec->files[i].len;
    if (total != len)
        fail("bundle length differs from prefix + header + files + stdin", NULL);

    h = json_loadb(b + pos, hlen, 0, &jerr);
    if (h == NULL)
        fail("bundle header is not JSON", jerr.text);
    files = json_object_get(h, "files");
    args = json_object_get(h, "args");
    if (!json_is_string(json_object_get(h, "entry")) ||
        strcmp(json_string_value(json_object_get(h, "entry")), spec->entry) != 0)
        fail("bundle header names another entry", NULL);
    if (json_array_size(files) != spec->nfiles || json_array_size(args) != spec->nargs)
        fail("bundle header has another number of files or args", NULL);
    pos += hlen;
    for (size_t i = 0; i < spec->nfiles; i++) {
        json_t *f = json_array_get(files, i);
        json_t *path = json_object_get(f, "path"), *size = json_object_get(f, "size");

        if (!json_is_string(path) || strcmp(json_string_value(path), spec->files[i].path) != 0 ||
            !json_is_integer(size) || (size_t)json_integer_value(size) != spec->files[i].len)
            fail("bundle header describes a file differently", spec->files[i].path);
        if (spec->files[i].len != 0 &&
            memcmp(b + pos, spec->files[i].data, spec->files[i].len) != 0)
            fail("bundle holds other bytes for a file", spec->files[i].path);
        pos += spec->files[i].len;
    }
    for (size_t i = 0; i < spec->nargs; i++) {
        json_t *a = json_array_get(args, i);

        if (!json_is_string(a) || strcmp(json_string_value(a), spec->args[i]) != 0)
            fail("bundle header has another argument", spec->args[i]);
    }
    if (spec->stdin_len != 0 &&
        memcmp(b + len - spec->stdin_len, spec->stdin_data, spec->stdin_len) != 0)
        fail("bundle does not end with the program's stdin", NULL);
    json_decref(h);
}

/* One RunRequest, as service_run checks it (project: METHOD_RUN_PROJECT). */
static void check_run(const Sce__V1__RunRequest *rq, int project)
{
    run_spec spec;
    char err[1024]; /* service_run_answer.message */
    char *bundle = NULL;
    size_t bundle_len = 0;
    int rv;

    if (project && ((rq->code != NULL && rq->code[0] != '\0') || rq->n_files == 0))
        return; /* refused by service_run with a fixed message */
    err[0] = '\0';
    rv = request_check_run(&opt, rq, &spec, err, sizeof(err));
    if (rv != SCE_OK) {
        if (rv != SCE_ERR_INVALID_ARGUMENT && rv != SCE_ERR_NO_MEMORY)
            fail("request_check_run returned an unexpected code", err);
        if (spec.files != NULL)
            fail("refused spec still holds files", NULL);
        check_message(err);
        return;
    }
    check_spec(&spec, rq);
    spec.nonce = "0123456789abcdef0123456789abcdef"; /* exec.c sets one */
    if (runner_input_build(&spec, &bundle, &bundle_len) != SCE_OK)
        fail("runner_input_build refused an accepted request", NULL);
    check_bundle(&spec, bundle, bundle_len);
    free(bundle);
    request_spec_free(&spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Sce__V1__Request *req;

    if (size > (size_t)opt.message_limit_bytes)
        return 0; /* rpc.c refuses it before decoding */
    req = sce__v1__request__unpack(NULL, size, data);
    if (req == NULL)
        return 0;
    switch (req->body_case) {
    case SCE__V1__REQUEST__BODY_RUN:
        check_run(req->run, 0);
        break;
    case SCE__V1__REQUEST__BODY_RUN_PROJECT:
        check_run(req->run_project, 1);
        break;
    case SCE__V1__REQUEST__BODY_BATCH:
        if (req->batch->n_tasks <= (size_t)opt.batch_limit)
            for (size_t i = 0; i < req->batch->n_tasks; i++)
                check_run(req->batch->tasks[i], 0);
        break;
    default:
        break;
    }
    sce__v1__request__free_unpacked(req, NULL);
    return 0;
}
