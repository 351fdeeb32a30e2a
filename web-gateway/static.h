/*
 * static.h - the page sce-gateway serves: index.html at "/" and the files
 * of its assets at "/assets/<name>", read into memory once at start-up.
 *
 * Files are found by exact URL, so no file path is ever built from request
 * input; only regular files are read, never through a symlink, and the
 * set is capped (GW_STATIC_FILES_MAX files, GW_STATIC_FILE_MAX_BYTES each,
 * GW_STATIC_TOTAL_MAX_BYTES in all).  A missing directory is not an error:
 * the page is then answered 503 "not built".
 *
 * What it does not do: talk HTTP (http.c sends what gw_static_lookup()
 * finds), reload files, or serve anything outside static_dir's top level
 * and its assets/ folder.
 *
 * Threads: loaded before the daemon starts, then read-only, so any thread
 * may look files up without a lock.  Ownership: the set owns its files'
 * bytes until gw_static_free().
 */
#ifndef SCE_GATEWAY_STATIC_H
#define SCE_GATEWAY_STATIC_H

#include <stddef.h>

#include "answer.h"

typedef struct gw_static_file {
    char *url; /* "/" or "/assets/<name>" */
    char *data;
    size_t len;
    const char *content_type;
    int is_html; /* served with the page's Content-Security-Policy */
} gw_static_file;

typedef struct gw_static gw_static;

/* Loads the page from directory `path`.  INVALID_ARGUMENT with one line in
 * err for a page over the caps, INTERNAL when a file cannot be read,
 * NO_MEMORY. */
int gw_static_load(const char *path, gw_static **out, char *err, size_t errlen);

/* NULL is accepted. */
void gw_static_free(gw_static *st);

/* The file at `url`; or NULL with the error answer in *a: 503 when the
 * page is not built, 404 ("no route for METHOD PATH") when there is no
 * such file.  `method` is the request's, printable. */
const gw_static_file *gw_static_lookup(const gw_static *st, const char *method, const char *url,
                                       gw_answer *a);

#endif
