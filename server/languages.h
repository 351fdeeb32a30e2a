/*
 * languages.h - the languages sce runs: fixed facts (entry name, extensions,
 * the interpreter command that starts the runner) and what the server last
 * learned about each image (available, real version).
 *
 * The table is static; the learned status is guarded by a mutex inside
 * languages.c, so any thread may read it.
 */
#ifndef SCE_LANGUAGES_H
#define SCE_LANGUAGES_H

#include <stddef.h>

#include "options.h"

typedef struct lang_def {
    const char *name;             /* "python" */
    const char *default_entry;    /* "main.py" */
    const char *const *extensions; /* NULL-terminated: ".py" */
    const char *const *argv;      /* interpreter and flags; the runner source follows */
    size_t nargv;
    const char *runner;           /* runner source, embedded at build time */
    const char *version_code;     /* a program printing the interpreter's version */
} lang_def;

typedef struct lang_status {
    int probed;           /* a probe has finished (successfully or not) */
    int available;
    char version[64];
    char message[256];
} lang_status;

size_t languages_count(void);
const lang_def *languages_at(size_t i);
/* NULL when the name is not a language. */
const lang_def *languages_find(const char *name);
/* "python, node" */
const char *languages_names(void);
/* The image the options name for this language. */
const char *languages_image(const server_options *o, const lang_def *l);
/* The OCI runtime the options name for this language (its own, else
 * `runtime`); "": the engine's default. */
const char *languages_runtime(const server_options *o, const lang_def *l);

void languages_status_get(const lang_def *l, lang_status *out);
void languages_status_set(const lang_def *l, const lang_status *st);

#endif
