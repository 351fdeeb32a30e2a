/*
 * runner_input.c - serialises a run_spec into the runner's stdin stream.  The
 * header is built with jansson so paths and arguments are always escaped
 * correctly.
 */
#include "runner_input.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sce/err.h"

static json_t *header_json(const run_spec *spec)
{
    json_t *h;
    json_t *args = json_array();
    json_t *files = json_array();

    if (args == NULL || files == NULL)
        goto fail;
    for (size_t i = 0; i < spec->nargs; i++)
        if (json_array_append_new(args, json_string(spec->args[i])) != 0)
            goto fail;
    for (size_t i = 0; i < spec->nfiles; i++) {
        json_t *f = json_pack("{s:s, s:I}", "path", spec->files[i].path, "size",
                              (json_int_t)spec->files[i].len);
        if (json_array_append_new(files, f) != 0)
            goto fail;
    }
    /* "o" steals both arrays, also when packing fails. */
    h = json_pack("{s:s, s:o, s:o}", "entry", spec->entry, "args", args, "files", files);
    if (h != NULL && spec->nonce != NULL && spec->nonce[0] != '\0' &&
        json_object_set_new(h, "nonce", json_string(spec->nonce)) != 0) {
        json_decref(h);
        h = NULL;
    }
    if (h != NULL && spec->linger_ms > 0 &&
        json_object_set_new(h, "linger_ms", json_integer(spec->linger_ms)) != 0) {
        json_decref(h);
        h = NULL;
    }
    return h;
fail:
    json_decref(args);
    json_decref(files);
    return NULL;
}

int runner_input_build(const run_spec *spec, char **out, size_t *outlen)
{
    int rv = SCE_ERR_NO_MEMORY;
    json_t *h = header_json(spec);
    char *hdr = NULL, *buf = NULL, *p;
    char prefix[32];
    size_t hlen, plen, total;

    if (h == NULL)
        goto out;
    hdr = json_dumps(h, JSON_COMPACT);
    if (hdr == NULL)
        goto out;
    hlen = strlen(hdr);
    plen = (size_t)snprintf(prefix, sizeof(prefix), "SCE1 %zu\n", hlen);
    total = plen + hlen + spec->stdin_len;
    for (size_t i = 0; i < spec->nfiles; i++)
        total += spec->files[i].len;
    buf = malloc(total ? total : 1);
    if (buf == NULL)
        goto out;
    p = buf;
    memcpy(p, prefix, plen);
    p += plen;
    memcpy(p, hdr, hlen);
    p += hlen;
    for (size_t i = 0; i < spec->nfiles; i++) {
        if (spec->files[i].len)
            memcpy(p, spec->files[i].data, spec->files[i].len);
        p += spec->files[i].len;
    }
    if (spec->stdin_len)
        memcpy(p, spec->stdin_data, spec->stdin_len);
    *out = buf;
    *outlen = total;
    buf = NULL;
    rv = SCE_OK;
out:
    free(buf);
    free(hdr);
    json_decref(h);
    return rv;
}
