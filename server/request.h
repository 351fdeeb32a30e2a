/*
 * request.h - turns a decoded RunRequest into a checked run_spec, or into
 * INVALID_ARGUMENT with a message that names the field and the limit.
 *
 * Everything a request can get wrong is caught here, before any container
 * exists.  The spec borrows every byte from the request (no copies): it
 * lives exactly as long as the decoded message.
 */
#ifndef SCE_REQUEST_H
#define SCE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "languages.h"
#include "options.h"
#include "sce.pb-c.h"

typedef struct run_file {
    const char *path;
    const uint8_t *data;
    size_t len;
} run_file;

typedef struct run_spec {
    const lang_def *lang;
    run_file *files;        /* malloc'd array (the structs, not the bytes) */
    size_t nfiles;
    const char *entry;
    const uint8_t *stdin_data;
    size_t stdin_len;
    const char *const *args;
    size_t nargs;
    int64_t timeout_ms;     /* limits in force, after the request's lowering */
    int64_t memory_bytes;
    int64_t output_limit_bytes;
    const char *nonce;      /* set by exec: the runner's end-marker secret */
    int linger_ms;          /* set by exec: the runner waits this long after its marker */
    struct live_run *live;  /* set by service: a followed run (live.h), else NULL */
} run_spec;

/* Checks rq against the options.  On SCE_OK *spec is filled (free with
 * request_spec_free); on SCE_ERR_INVALID_ARGUMENT err says why. */
int request_check_run(const server_options *o, const Sce__V1__RunRequest *rq, run_spec *spec,
                      char *err, size_t errlen);
void request_spec_free(run_spec *spec);

/* Number of Unicode code points in s, or -1 if s is not valid UTF-8. */
long request_utf8_chars(const char *s, size_t len);

/* "10 seconds", "2.5 seconds", "500 milliseconds"; "128 MiB", "64 KiB". */
void request_format_ms(int64_t ms, char *out, size_t outlen);
void request_format_bytes(int64_t bytes, char *out, size_t outlen);

#endif
