/*
 * history.h - the record of every run, kept in SQLite (one machine, the
 * default) or in PostgreSQL (history_url postgres://...: one history for
 * several servers).
 *
 * Runs are written by one writer thread of the store's own: a run hands over
 * a capped copy of what it wants recorded (history_record_run, a memory copy
 * that never waits for the database) and goes on to answer.  The writer
 * stores whatever has queued up in one transaction and applies the
 * retention (max_entries, max_age) after each, and once a minute when idle.
 *
 * SQLite: a write that fails (disk full, locked past busy_timeout, corrupt
 * file) is logged as one warning with the reason and the runs are dropped:
 * history never fails a run.  When the writer falls behind, records beyond
 * the queue's cap are dropped the same way.  (Warnings come at most every
 * SCE_HISTORY_WARN_INTERVAL_MS, with the count of runs lost since the last.)
 *
 * PostgreSQL: ids are the database's (bigserial), so one id names one run
 * whichever server ran it, and pages are ordered by time, then id, so the
 * runs of several servers read as one sequence.  A database that is down
 * (or unreachable when the server starts) loses nothing that can wait: the
 * records stay queued (up to SCE_HISTORY_PG_QUEUE_MAX_RECORDS / _BYTES), a
 * batch that failed for want of the database is put back at the head of the
 * queue, and the writer connects again with a backoff (SCE_HISTORY_RETRY_*);
 * only what the full queue cannot take is dropped, counted and logged.  An
 * error of the data itself (not of the connection) drops its batch as
 * SQLite does.  A malformed URL leaves the history unavailable (logged);
 * the server serves runs all the same.
 *
 * Durability of answered runs (the choice made for PostgreSQL): a server
 * may be killed at any moment (kill -9, a node lost), and a run it answered
 * must then be in the history.  So, while the database is connected, a run's
 * answer waits for the commit of its record (history_await, at most
 * SCE_HISTORY_ANSWER_WAIT_MS; the run itself is never slowed, only its
 * answer leaves a few milliseconds later).  While the database is known to
 * be down, the answer does not wait at all: its record waits in the queue,
 * and a server killed then loses the queued records (the price of answering
 * during an outage rather than failing runs).  SQLite keeps its answers
 * unwaited (a lost server there takes its file with it).
 *
 * Queries use a connection of their own (SQLite: WAL lets them read while
 * the writer writes; PostgreSQL: one reader connection, opened again when
 * it was lost).  A query first waits, briefly, for the records queued
 * before it, so a client that got its answer and then asks for the history
 * sees its run; not when the database is known to be down.
 *
 * The URL's password (if any) is never logged nor put in an error message:
 * the URL is shown with it replaced by "***" (history_url_redact).
 *
 * What it does not do: decide what a run is (service.c builds the
 * records), or speak protobuf.  The stores themselves are history_sqlite.c
 * and history_pg.c behind history_store.h.
 */
#ifndef SCE_HISTORY_H
#define SCE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "sce_limits.h" /* SCE_HISTORY_*: the store's caps and waits */

typedef struct history history;

typedef struct history_options {
    const char *path;    /* the database file; its directory is created */
    int64_t max_entries; /* runs kept, newest first; 0: no bound */
    int64_t max_age_ms;  /* runs older than this are dropped; 0: no bound */
    int busy_timeout_ms; /* how long a write waits for a lock; 0: the default */
    const char *url;     /* NULL or "": SQLite at path; postgres://... or postgresql://... */
} history_options;

/* One run as it is handed over.  The byte fields (code, output, stderr)
 * need be neither NUL-terminated nor valid UTF-8: the store keeps at most
 * SCE_HISTORY_TEXT_MAX_BYTES bytes of each and replaces invalid UTF-8 and NULs with
 * U+FFFD.  meta is kept as it is, whole, up to SCE_RUN_META_MAX_BYTES
 * (RunRequest.meta: the request check bounds it; more is cut).  Strings may
 * be NULL (stored as "").  Everything is borrowed for the call only. */
typedef struct history_record {
    int64_t time_ms; /* unix time of the run in ms; 0: now */
    const char *language;
    const char *code; /* the entry file's text */
    size_t code_len;
    const char *entry; /* the entry path of a project, "" for single files */
    uint32_t files;    /* files in the bundle */
    int verdict;       /* the proto's Verdict */
    int exit_code;
    const char *output; /* stdout */
    size_t output_len;
    int output_truncated; /* the run itself already cut it */
    const char *stderr_text;
    size_t stderr_len;
    int stderr_truncated;
    const char *message;
    uint32_t wall_ms;
    const char *request_id;
    const char *tenant; /* who ran it (sce-gateway's tenant); NULL or "": none */
    const char *run_id; /* a followed run's id (RUN_START); NULL or "": none */
    int signal;
    uint32_t cpu_ms;
    uint64_t peak_memory_bytes;
    const void *meta; /* opaque bytes (RunRequest.meta) */
    size_t meta_len;
} history_record;

/* One stored run.  Every string is valid UTF-8, NUL-terminated, and owned
 * by the page it came in. */
typedef struct history_row {
    int64_t id;
    int64_t time_ms;
    char *language;
    char *code;
    int code_truncated;
    char *entry;
    uint32_t files;
    int verdict;
    int exit_code;
    char *output;
    int output_truncated;
    char *stderr_text;
    int stderr_truncated;
    char *message;
    uint32_t wall_ms;
    char *request_id;
    char *tenant;  /* "" when the run had none */
    int truncated; /* a listing cut text fields to the page budget (history_budget.h) */
    char *run_id;  /* "" when the run was not a followed one */
    int signal;
    uint32_t cpu_ms;
    uint64_t peak_memory_bytes;
    /* Only in the answer to a query for one run (id or run_id); a listing
     * leaves it out (NULL, 0).  meta[meta_len] is a NUL. */
    unsigned char *meta;
    size_t meta_len;
} history_row;

typedef struct history_query {
    uint32_t limit;       /* rows wanted (the caller bounds it) */
    uint32_t offset;      /* rows skipped, newest first */
    int verdict;          /* 0: any */
    const char *language; /* NULL or "": any */
    const char *tenant;   /* NULL or "": every tenant's runs; else only this one's */
    int64_t id;           /* non-zero: only this run, its text whole (limit is ignored) */
    const char *run_id;   /* non-empty: only the followed run of this id, likewise */
} history_query;

typedef struct history_page {
    history_row *rows; /* newest first */
    size_t count;
    uint64_t total; /* rows matching the filter */
} history_page;

typedef struct history_stats {
    uint64_t written; /* runs stored */
    uint64_t failed;  /* runs lost to a failed write */
    uint64_t dropped; /* runs lost to a full queue or an unavailable store */
    uint64_t pruned;  /* runs removed by the retention */
    uint64_t queued;  /* runs waiting for the writer now (kept through an outage) */
    int store_down;   /* the database is known to be unreachable (PostgreSQL) */
} history_stats;

/* With o->url empty: opens the SQLite store at o->path, creating the file
 * (mode 0600) and its directory (0700) when missing, the schema, WAL mode
 * and the busy timeout; applies the retention once and starts the writer.
 * With o->url postgres://...: checks the URL and starts the writer, which
 * connects (and creates the schema) on its own, so a database that is down
 * does not fail the call.  On SCE_OK *out is the store (history_close frees
 * it).  On error (SCE_ERR_UNAVAILABLE) err says why, e.g.
 * "/var/lib/sce/history.db: file is not a database" or "history_url: ...",
 * never with a password, and nothing is left open. */
int history_open(const history_options *o, history **out, char *err, size_t errlen);

/* A store that keeps nothing and answers every query with UNAVAILABLE
 * "history is unavailable: <reason>": what the server uses when
 * history_open failed.  NULL when memory ran out.  Free with history_close. */
history *history_unavailable(const char *reason);

/* Queues a copy of one run for the writer.  Never waits for the database
 * and never fails the caller; a record that cannot be queued is counted as
 * dropped and logged.  NULL h is accepted (history off).  Returns the
 * record's ticket for history_await, 0 when it was not queued. */
uint64_t history_record_run(history *h, const history_record *rec);

/* Before a run's answer is sent: with a store that promises answered runs
 * (PostgreSQL) and is connected, waits until the record of `ticket` is
 * committed or failed, at most SCE_HISTORY_ANSWER_WAIT_MS; returns at once
 * when the store is down (the record stays queued), for SQLite, for ticket
 * 0 and for NULL h. */
void history_await(history *h, uint64_t ticket);

/* Waits until every record queued before the call has been written (or has
 * failed), at most timeout_ms.  Returns 0 when so, -1 on timeout or when
 * the database is down with records still queued. */
int history_flush(history *h, int timeout_ms);

/* One page of runs, newest first.  SCE_OK with *out (free with
 * history_page_free); SCE_ERR_UNAVAILABLE with err "history is unavailable:
 * <reason>" when the store is unavailable or the database fails.  A listing
 * (q->id 0) keeps each entry within HISTORY_LIST_ENTRY_COST (rows cut to it
 * have `truncated` set, and no meta); with q->id or q->run_id the one run
 * comes as stored, meta included, in a page of one row, or of none when no
 * run of q->tenant has that id. */
int history_fetch(history *h, const history_query *q, history_page **out, char *err, size_t errlen);
void history_page_free(history_page *p);

/* Applies the retention now (also done by the writer on its own).  Returns
 * SCE_OK or SCE_ERR_UNAVAILABLE with err. */
int history_prune(history *h, char *err, size_t errlen);

void history_get_stats(history *h, history_stats *out);

/* url with the password of its user part (postgres://user:PASSWORD@host)
 * replaced by "***", for logs and messages; cut to fit outlen. */
void history_url_redact(const char *url, char *out, size_t outlen);

/* Writes what is still queued, stops the writer, closes the database and
 * frees.  NULL is accepted. */
void history_close(history *h);

#endif
