/*
 * judge0_catalog.h - what a Judge0 CE 1.13 client learns before it submits
 * anything: GET /languages (and /languages/{id}, /languages/all), GET
 * /about and GET /config_info, with sce's real languages and figures; and
 * the figures themselves, which judge0_submission.c validates against.
 *
 * Languages: Judge0's ids 71 and 92 are Python, 63, 93, 97 and 102
 * JavaScript (Node.js); each is named with the version sce really runs
 * (from the server's Languages answer), "Python (3.11.9)", "JavaScript
 * (Node.js 20.11.1)", and listed only while the server can run it.  Several
 * ids are one runtime: a client that picks "its" id keeps working.
 *
 * Figures: the server's defaults (server/sce_limits.h) as Judge0's names
 * and units; sce has a wall-clock limit only, so cpu_time_limit is applied
 * as wall time (the lower of the two is the run's timeout), and its maxima
 * are the defaults (a request may only lower the server's limits).  A
 * server configured above its defaults still answers its own figures in
 * its errors.  max_queue_size is the first live server's real queue.
 *
 * Pure: no I/O.  Ownership: json_t * results are new references (NULL:
 * out of memory); inputs are borrowed.
 */
#ifndef SCE_GATEWAY_JUDGE0_CATALOG_H
#define SCE_GATEWAY_JUDGE0_CATALOG_H

#include <stddef.h>

#include <jansson.h>

#include "sce/client.h"

/* The server's defaults (server/sce_limits.h), in Judge0's units. */
#define J0_TIME_LIMIT_S 10          /* SCE_DEF_TIMEOUT: cpu_time_limit and wall_time_limit */
#define J0_MEMORY_LIMIT_KB 131072   /* SCE_DEF_MEMORY 128m */
#define J0_MEMORY_LIMIT_MIN_KB 2048 /* Judge0's own minimum */
#define J0_PROCESSES 64             /* SCE_DEF_PIDS */
#define J0_FILE_SIZE_KB 16384       /* SCE_DEF_FSIZE 16m */
#define J0_EXTRACT_KB 1024          /* SCE_BUNDLE_MAX_BYTES: an additional_files ZIP, unpacked */
#define J0_QUEUE_DEFAULT 32         /* SCE_DEF_QUEUE: when no server has said its own */
/* Judge0's own caps, kept. */
#define J0_BATCH_MAX 20       /* submissions of one batch (create or get) */
#define J0_ARGS_MAX_CHARS 512 /* command_line_arguments */
#define J0_VERSION "1.13.1"   /* the API /about says it speaks */

/* One of Judge0's language ids that sce runs. */
typedef struct j0_language {
    int id;
    const char *sce_language; /* "python", "node" */
    const char *family;       /* "Python", "JavaScript (Node.js" */
    const char *source_file;  /* Judge0's: "script.py", "script.js" */
    const char *run_cmd;
} j0_language;

/* The entry of a Judge0 language id; NULL when sce runs no such id. */
const j0_language *j0_language_find(long id);

/* The id's name with the version the server reports ("Python (3.11.9)"),
 * into out; "" when the id is unknown.  l may be NULL (no version). */
void j0_language_name(const j0_language *lang, const sce_language_list *l, char *out,
                      size_t outlen);

/* GET /languages ([{id, name}], by id) and, with all, GET /languages/all
 * ([{id, name, is_archived}], by name): the ids whose runtime the server
 * has available. */
json_t *j0_languages_json(const sce_language_list *l, int all);

/* GET /languages/{id}: {id, name, is_archived, source_file, compile_cmd,
 * run_cmd}; NULL when the id is not one sce runs (a 404). */
json_t *j0_language_json(const sce_language_list *l, long id);

/* GET /about. */
json_t *j0_about_json(void);

/* GET /config_info: Judge0's keys with sce's figures; queue_capacity 0:
 * J0_QUEUE_DEFAULT. */
json_t *j0_config_info_json(unsigned queue_capacity);

#endif
