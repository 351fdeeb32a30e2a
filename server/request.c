/*
 * request.c - validation of RunRequest.  Each check writes one message a
 * user can act on: what was wrong, and the limit or the accepted values.
 */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/path.h"
#include "sce/client.h" /* SCE_RUN_META_MAX_BYTES */
#include "sce/err.h"
#include "sce_limits.h"
#include "common/utf8.h"
#include "common/seterr.h"

long request_utf8_chars(const char *s, size_t len)
{
    return sce_utf8_count(s, len);
}

void request_format_ms(int64_t ms, char *out, size_t outlen)
{
    if (ms % 1000 == 0) {
        snprintf(out, outlen, "%lld second%s", (long long)(ms / 1000), ms == 1000 ? "" : "s");
    } else if (ms > 1000) {
        /* Every millisecond shown, trailing zeros dropped: 1.5, 10.001. */
        char frac[8];
        int n = snprintf(frac, sizeof(frac), "%03lld", (long long)(ms % 1000));
        while (n > 1 && frac[n - 1] == '0')
            frac[--n] = '\0';
        snprintf(out, outlen, "%lld.%s seconds", (long long)(ms / 1000), frac);
    } else {
        snprintf(out, outlen, "%lld millisecond%s", (long long)ms, ms == 1 ? "" : "s");
    }
}

void request_format_bytes(int64_t bytes, char *out, size_t outlen)
{
    if (bytes >= (1LL << 30) && bytes % (1LL << 30) == 0)
        snprintf(out, outlen, "%lld GiB", (long long)(bytes >> 30));
    else if (bytes >= (1LL << 20) && bytes % (1LL << 20) == 0)
        snprintf(out, outlen, "%lld MiB", (long long)(bytes >> 20));
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(out, outlen, "%lld KiB", (long long)(bytes >> 10));
    else
        snprintf(out, outlen, "%lld byte%s", (long long)bytes, bytes == 1 ? "" : "s");
}

/* A per-request limit: 0 keeps the server's value; more than it is refused. */
static int lower_limit(const char *name, uint64_t asked, int64_t server_max, int64_t floor,
                       int is_bytes, int64_t *out, char *err, size_t errlen)
{
    char a[64], m[64];

    if (asked == 0) {
        *out = server_max;
        return SCE_OK;
    }
    if (is_bytes && asked > (uint64_t)INT64_MAX) {
        snprintf(a, sizeof(a), "%llu bytes", (unsigned long long)asked);
        request_format_bytes(server_max, m, sizeof(m));
    } else if (is_bytes) {
        request_format_bytes((int64_t)asked, a, sizeof(a));
        request_format_bytes(server_max, m, sizeof(m));
    } else {
        request_format_ms((int64_t)asked, a, sizeof(a));
        request_format_ms(server_max, m, sizeof(m));
    }
    if (asked > (uint64_t)server_max) {
        sce_seterr(err, errlen, "limits.%s: %s is more than the server's maximum of %s", name, a,
                   m);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((int64_t)asked < floor) {
        if (is_bytes)
            request_format_bytes(floor, m, sizeof(m));
        else
            request_format_ms(floor, m, sizeof(m));
        sce_seterr(err, errlen, "limits.%s: %s is less than the minimum of %s", name, a, m);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *out = (int64_t)asked;
    return SCE_OK;
}

static int check_files(const server_options *o, const Sce__V1__RunRequest *rq, run_spec *spec,
                       char *err, size_t errlen)
{
    size_t total = 0;
    char lim[64];

    if (rq->n_files > (size_t)o->files_limit) {
        sce_seterr(err, errlen, "files: %zu files; the limit is %lld", rq->n_files,
                   (long long)o->files_limit);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    spec->files = calloc(rq->n_files, sizeof(run_file));
    if (spec->files == NULL)
        return SCE_ERR_NO_MEMORY;
    for (size_t i = 0; i < rq->n_files; i++) {
        const Sce__V1__File *f = rq->files[i];
        const char *why = sce_path_problem(f->path);

        if (why != NULL) {
            sce_seterr(err, errlen, "files[%zu].path '%s' %s", i, sce_utf8_quote(f->path).text,
                       why);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        for (size_t j = 0; j < i; j++) {
            /* A file may not also be a directory of another ("a" and "a/b"). */
            if (sce_path_clash(spec->files[j].path, f->path)) {
                sce_seterr(err, errlen, "files[%zu].path '%s' clashes with files[%zu]", i,
                           sce_utf8_quote(f->path).text, j);
                return SCE_ERR_INVALID_ARGUMENT;
            }
        }
        total += f->content.len;
        spec->files[i].path = f->path;
        spec->files[i].data = f->content.data;
        spec->files[i].len = f->content.len;
    }
    spec->nfiles = rq->n_files;
    if (total > (size_t)o->project_limit_bytes) {
        request_format_bytes(o->project_limit_bytes, lim, sizeof(lim));
        sce_seterr(err, errlen, "files: %zu bytes in all; the limit is %s", total, lim);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (rq->entry == NULL || rq->entry[0] == '\0') {
        spec->entry = NULL;
        for (size_t i = 0; i < spec->nfiles; i++)
            if (strcmp(spec->files[i].path, spec->lang->default_entry) == 0)
                spec->entry = spec->files[i].path;
        if (spec->entry == NULL) {
            sce_seterr(err, errlen, "entry: not given, and there is no %s among the files",
                       spec->lang->default_entry);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        return SCE_OK;
    }
    for (size_t i = 0; i < spec->nfiles; i++)
        if (strcmp(spec->files[i].path, rq->entry) == 0)
            spec->entry = spec->files[i].path;
    if (spec->entry == NULL) {
        sce_seterr(err, errlen, "entry '%s' is not among the files",
                   sce_utf8_quote(rq->entry).text);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    return SCE_OK;
}

int request_check_run(const server_options *o, const Sce__V1__RunRequest *rq, run_spec *spec,
                      char *err, size_t errlen)
{
    int rv = SCE_ERR_INVALID_ARGUMENT;
    char lim[64];
    const Sce__V1__Limits *lm = rq->limits;

    memset(spec, 0, sizeof(*spec));
    if (rq->language == NULL || rq->language[0] == '\0') {
        sce_seterr(err, errlen, "language is required: one of %s", languages_names());
        goto out;
    }
    spec->lang = languages_find(rq->language);
    if (spec->lang == NULL) {
        sce_seterr(err, errlen, "unknown language '%s': use one of %s",
                   sce_utf8_quote(rq->language).text, languages_names());
        goto out;
    }

    if (rq->code != NULL && rq->code[0] != '\0') {
        size_t len = strlen(rq->code);
        long chars;

        if (rq->n_files > 0) {
            sce_seterr(err, errlen, "give either code or files, not both");
            goto out;
        }
        chars = request_utf8_chars(rq->code, len);
        if (chars < 0) {
            sce_seterr(err, errlen, "code is not valid UTF-8");
            goto out;
        }
        if (chars > o->code_limit_chars) {
            sce_seterr(err, errlen, "code is %ld characters; the limit is %lld", chars,
                       (long long)o->code_limit_chars);
            goto out;
        }
        spec->files = calloc(1, sizeof(run_file));
        if (spec->files == NULL) {
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        spec->files[0].path = spec->lang->default_entry;
        if (rq->entry != NULL && rq->entry[0] != '\0') {
            const char *why = sce_path_problem(rq->entry);
            if (why != NULL) {
                sce_seterr(err, errlen, "entry '%s' %s", sce_utf8_quote(rq->entry).text, why);
                goto out;
            }
            spec->files[0].path = rq->entry;
        }
        spec->files[0].data = (const uint8_t *)rq->code;
        spec->files[0].len = len;
        spec->nfiles = 1;
        spec->entry = spec->files[0].path;
    } else if (rq->n_files > 0) {
        rv = check_files(o, rq, spec, err, errlen);
        if (rv != SCE_OK)
            goto out;
        rv = SCE_ERR_INVALID_ARGUMENT;
    } else {
        sce_seterr(err, errlen, "code is empty");
        goto out;
    }

    if (rq->stdin.len > (size_t)o->stdin_limit_bytes) {
        request_format_bytes(o->stdin_limit_bytes, lim, sizeof(lim));
        sce_seterr(err, errlen, "stdin is %zu bytes; the limit is %s", rq->stdin.len, lim);
        goto out;
    }
    spec->stdin_data = rq->stdin.data;
    spec->stdin_len = rq->stdin.len;

    /* Opaque to the server, but kept with a followed run and in its
     * history entry: bounded like any text it keeps. */
    if (rq->meta.len > SCE_RUN_META_MAX_BYTES) {
        sce_seterr(err, errlen, "meta is %zu bytes; the limit is %d", rq->meta.len,
                   SCE_RUN_META_MAX_BYTES);
        goto out;
    }

    if (rq->n_args > (size_t)o->args_limit) {
        sce_seterr(err, errlen, "args: %zu arguments; the limit is %lld", rq->n_args,
                   (long long)o->args_limit);
        goto out;
    }
    for (size_t i = 0; i < rq->n_args; i++) {
        size_t n = strlen(rq->args[i]);
        if (n > (size_t)o->arg_limit_bytes) {
            sce_seterr(err, errlen, "args[%zu] is %zu bytes; the limit is %lld", i, n,
                       (long long)o->arg_limit_bytes);
            goto out;
        }
        if (request_utf8_chars(rq->args[i], n) < 0) {
            sce_seterr(err, errlen, "args[%zu] is not valid UTF-8", i);
            goto out;
        }
    }
    spec->args = (const char *const *)rq->args;
    spec->nargs = rq->n_args;

    rv = lower_limit("timeout_ms", lm ? lm->timeout_ms : 0, o->timeout_ms, SCE_MIN_TIMEOUT_MS, 0,
                     &spec->timeout_ms, err, errlen);
    if (rv == SCE_OK)
        rv = lower_limit("memory_bytes", lm ? lm->memory_bytes : 0, o->memory_bytes,
                         SCE_MIN_MEMORY_BYTES, 1, &spec->memory_bytes, err, errlen);
    if (rv == SCE_OK)
        rv = lower_limit("output_limit_bytes", lm ? lm->output_limit_bytes : 0,
                         o->output_limit_bytes, 1, 1, &spec->output_limit_bytes, err, errlen);
out:
    if (rv != SCE_OK)
        request_spec_free(spec);
    return rv;
}

void request_spec_free(run_spec *spec)
{
    free(spec->files);
    spec->files = NULL;
    spec->nfiles = 0;
}
