/*
 * fuzz_zip.c - libFuzzer driver for libsce's ZIP intake
 * (sce_bundle_from_zip in client/bundle.c, on libarchive).
 *
 * The input is the archive.  Beyond "no sanitizer report", it checks what
 * sce/client.h promises: a refusal has one line in errbuf and leaves *out
 * alone; an accepted bundle has 1..max_files files whose bytes add up to
 * total_bytes within max_bytes.  And since the intake exists to refuse
 * before sending what the server would refuse, every accepted bundle, sent
 * as a RunProject with the defaults, must pass the server's own check
 * (request_check_run, server/request.c): a path the client lets through and
 * the server rejects is a finding too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "request.h"
#include "sce.pb-c.h"
#include "sce/client.h"
#include "sce/err.h"
#include "common/utf8.h"

#define FUZZ_NAME "fuzz_zip"
#include "fuzz_server.h"

/* The bundle as the server would get it: RunProject with every file. */
static void check_server_accepts(const sce_bundle *b, const char *entry, const char *language)
{
    Sce__V1__RunRequest rq;
    Sce__V1__File *files = calloc(b->count, sizeof(*files));
    Sce__V1__File **ptrs = calloc(b->count, sizeof(*ptrs));
    run_spec spec;
    char err[1024];

    if (files == NULL || ptrs == NULL)
        fail("out of memory", NULL);
    sce__v1__run_request__init(&rq);
    for (size_t i = 0; i < b->count; i++) {
        sce__v1__file__init(&files[i]);
        files[i].path = (char *)b->files[i].path;
        files[i].content.data = (uint8_t *)b->files[i].data;
        files[i].content.len = b->files[i].len;
        ptrs[i] = &files[i];
    }
    rq.language = (char *)language;
    rq.entry = (char *)entry;
    rq.files = ptrs;
    rq.n_files = b->count;
    err[0] = '\0';
    if (request_check_run(&opt, &rq, &spec, err, sizeof(err)) != SCE_OK)
        fail("the server refuses a bundle the ZIP intake accepted", err);
    request_spec_free(&spec);
    free(ptrs);
    free(files);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sce_bundle *b = NULL;
    const char *entry = NULL, *language = NULL;
    char err[512];
    size_t total = 0;
    int rv;

    err[0] = '\0';
    rv = sce_bundle_from_zip(data, size, NULL, &b, err, sizeof(err));
    if (rv != SCE_OK) {
        if (rv != SCE_ERR_INVALID_ARGUMENT && rv != SCE_ERR_NO_MEMORY)
            fail("sce_bundle_from_zip returned an unexpected code", err);
        if (b != NULL)
            fail("refused archive, but *out was set", NULL);
        check_message(err);
        return 0;
    }
    if (b == NULL || b->count == 0 || b->count > SCE_BUNDLE_MAX_FILES || b->files == NULL)
        fail("accepted bundle without files or over max_files", NULL);
    for (size_t i = 0; i < b->count; i++) {
        if (b->files[i].path == NULL || (b->files[i].len != 0 && b->files[i].data == NULL))
            fail("file without path or data", NULL);
        total += b->files[i].len;
    }
    if (total != b->total_bytes || total > SCE_BUNDLE_MAX_BYTES)
        fail("total_bytes wrong or over max_bytes", NULL);

    /* The entry the CLI would choose, or else the first file. */
    err[0] = '\0';
    if (sce_bundle_pick_entry(b, NULL, NULL, &entry, &language, err, sizeof(err)) != SCE_OK) {
        check_message(err);
        entry = b->files[0].path;
        language = NULL;
    }
    if (language == NULL)
        language = "python";
    check_server_accepts(b, entry, language);
    sce_bundle_free(b);
    return 0;
}
