/*
 * result_json.h - libsce's results as the JSON of the HTTP API, the one
 * writer of each shape for every program that prints them.
 *
 * sce-gateway answers its routes with these objects and `sce --json` prints
 * the same ones, so a script reads the same fields from either: a run
 * (POST /run's answer), a batch (POST /run-batch's), a history entry and
 * page (GET /history/{id}, GET /history), the language list
 * (GET /languages), the health report (GET /healthz, less what only the
 * gateway knows) and the error object of every non-2xx answer.  docs/API.md
 * is the schema.  Nothing here does I/O or knows about HTTP: the gateway
 * maps errors to statuses and adds its own fields itself.
 *
 * Every string from outside (program output, messages, names) goes through
 * sce_utf8_lossy(), so the JSON is valid whatever bytes a program printed.
 *
 * Threads: pure functions, safe from any thread.  Ownership: every json_t *
 * returned is a new reference the caller json_decref()s; inputs are
 * borrowed.  A NULL return means out of memory.
 */
#ifndef SCE_RESULT_JSON_H
#define SCE_RESULT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sce/client.h"

/* Bytes of the "error" line of an error object; a longer message is cut at
 * a character boundary and ends in "...". */
#define SCE_JSON_ERROR_MESSAGE_MAX 512

/* 1 when err is the caller's to fix (the HTTP API answers it with a 4xx and
 * "status": "rejected"): INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED,
 * PERMISSION_DENIED, UNAUTHENTICATED.  0 for everything else ("error"). */
int sce_json_err_rejected(int err);

/* The error object:
 *   {"error": message, "status": "rejected" (rejected != 0) or "error",
 *    "code": sce_err_name(err), "request_id": request_id (if not NULL/"")}.
 * The message (sce_strerror(err) when NULL or "") is made one line of valid
 * UTF-8 of at most SCE_JSON_ERROR_MESSAGE_MAX bytes, and "..." after it
 * when it was cut. */
json_t *sce_json_error(int rejected, int err, const char *message, const char *request_id);

/* A run's result, whatever its verdict:
 *   output/error keep the reference service's meaning (stdout, and the
 *   one-line failure, "" on success); status is the verdict's name;
 *   stdout/stderr are made valid UTF-8, each invalid sequence becoming
 *   U+FFFD, and <stream>_lossy tells whether anything was replaced. */
json_t *sce_json_run_result(const sce_run_result *r);

/* {"results": [...], "request_id": batch id}: one item per task, in order,
 * each sce_json_run_result(), or for a task that did not run
 * sce_json_error() with the task's own request id ("<batch id>-<i>"). */
json_t *sce_json_batch_result(const sce_batch_result *b);

/* One history entry: {id, time (ISO 8601, UTC, ms), time_ms, language,
 * status, exit_code, code, code_truncated, entry, files, output,
 * output_truncated, stderr, stderr_truncated, message, wall_ms, cpu_ms,
 * peak_memory_bytes, signal, request_id, run_id (a followed run's; ""),
 * tenant, truncated}. */
json_t *sce_json_history_entry(const sce_history_entry *e);

/* {"enabled", "total", "offset", "entries": [entry, ...]}, newest first;
 * `offset` is the query's.  max_entry_bytes > 0 caps the entries' compact
 * size (each counted with one separator): entries past it are left out, for
 * the next page; 0 writes them all. */
json_t *sce_json_history_page(const sce_history_page *p, uint32_t offset, size_t max_entry_bytes);

/* {"languages": [{name, version, image, default_entry, extensions,
 * available, message}, ...]}; l may be NULL (no languages). */
json_t *sce_json_languages(const sce_language_list *l);

/* The server's side of a health report:
 *   {"status": "ok" | "degraded" | "unavailable", "server": {...},
 *    "engine": {"ok", "version", "message"}}.
 * `h` is the server's report, or NULL when asking for it failed with `err`
 * (an sce_err) and `message`; server then holds reachable false, code and
 * error.  "status" is "ok" only when the server serves and its engine is
 * fine. */
json_t *sce_json_health(const sce_health *h, int err, const char *message);

#endif
