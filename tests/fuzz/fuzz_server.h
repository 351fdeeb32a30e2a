/*
 * fuzz_server.h - what the drivers that check requests against the server's
 * rules share (fuzz_request.c, fuzz_zip.c): a finding aborts with a line
 * naming the driver, the options are the built-in defaults, and a refusal's
 * message must be fit for Status.message.  Define FUZZ_NAME (the driver's
 * name for its findings) before including it.
 */
#ifndef SCE_FUZZ_SERVER_H
#define SCE_FUZZ_SERVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "sce/err.h"
#include "common/utf8.h"

static server_options opt;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, FUZZ_NAME ": %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];
    char *args[] = {"sce-server", NULL};

    (void)argc;
    (void)argv;
    /* The built-in defaults, whatever SCE_* variables the caller has. */
    unsetenv(server_options_spec.config_env);
    for (size_t i = 0; i < server_options_spec.nopts; i++)
        if (server_options_spec.opts[i].env != NULL)
            unsetenv(server_options_spec.opts[i].env);
    if (sce_config_load(&server_options_spec, &opt, 1, args, err, sizeof(err)) != SCE_CONFIG_OK)
        fail("default options", err);
    return 0;
}

/* A message for Status.message: one line of valid UTF-8, not empty. */
static void check_message(const char *err)
{
    size_t len = strlen(err);

    if (len == 0)
        fail("refused without a message", NULL);
    if (sce_utf8_count(err, len) < 0)
        fail("message is not valid UTF-8", err);
    if (strchr(err, '\n') != NULL || strchr(err, '\r') != NULL)
        fail("message is not one line", err);
}

#endif
