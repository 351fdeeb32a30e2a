/*
 * history_store.h - what the history's front (history.c: the queue, the
 * writer thread, the waits, the counts) asks of a database, and what the
 * databases share.  Two stores implement it: history_sqlite.c and
 * history_pg.c.  Internal to the history: nothing outside history*.c
 * includes it.
 *
 * Threads: `write` and `retain` are called by the writer thread only, one
 * at a time; `connect` too.  `fetch` and `prune` may be called by any
 * thread at any time, also while the writer writes: the store serializes
 * them on its own reader connection.  `close` is called once, after the
 * writer has stopped.
 *
 * What it does not do: queue, count, or log lost runs (the front does).
 *
 * Schema versions: each store records one (2 now: tenants).  A change
 * that servers of the recorded version can live with (a column with a
 * default, which their INSERTs, naming their columns, never mention; an
 * index) does NOT bump it: `connect` applies it at every connect,
 * idempotently (PostgreSQL: ADD COLUMN IF NOT EXISTS under the schema's
 * advisory lock; SQLite: each column PRAGMA table_info lacks, in the
 * schema's transaction), so servers of the older build keep working on a
 * database a newer one has touched (a rolling upgrade of servers sharing
 * one PostgreSQL).  Only a change older servers would break on bumps the
 * version; they refuse the database from then on ("schema version N is
 * newer than this server's").  Version 3 was recorded by builds of issue
 * 14 before this rule, for additive columns only: it is read as 2 and
 * written back as 2, so the next bump is to 4.
 */
#ifndef SCE_HISTORY_STORE_H
#define SCE_HISTORY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

/* One run on its way to a database: owned copies.  The front fills them
 * capped on the run's thread (history_entry_make) and cleans them on the
 * writer's (history_entry_clean): after that every string is valid UTF-8
 * with no NUL, the one-line fields have no control characters, and *_cut
 * say whether a text was cut (by the run, the cap or the cleaning). */
typedef struct history_entry {
    struct history_entry *next;
    uint64_t seq; /* its ticket: the front's count of records queued */
    int64_t time_ms;
    char *language, *entry, *message, *request_id, *tenant, *run_id;
    char *code, *output, *err;
    size_t code_len, output_len, err_len;
    int code_cut, output_cut, err_cut;
    uint32_t files, wall_ms, cpu_ms;
    int verdict, exit_code, signal;
    uint64_t peak_memory_bytes;
    unsigned char *meta; /* opaque, never cleaned; NULL when meta_len is 0 */
    size_t meta_len;
    size_t bytes; /* what it counts against the queue's cap */
    int cleaned;
} history_entry;

/* What a write did. */
enum {
    HISTORY_STORE_OK = 0, /* committed */
    HISTORY_STORE_DOWN,   /* the database could not be reached: keep the batch, retry later */
    HISTORY_STORE_FAILED, /* the database refused the batch: drop it (counted as failed) */
};

typedef struct history_store history_store;

typedef struct history_store_ops {
    /* Connects (again) and checks the schema; SQLite is always connected.
     * HISTORY_STORE_OK, or HISTORY_STORE_DOWN with why. */
    int (*connect)(history_store *s, char *why, size_t whylen);
    /* Stores the list in one transaction and applies the retention (its
     * removed rows added to *removed).  One of HISTORY_STORE_*, with why on
     * failure. */
    int (*write)(history_store *s, history_entry *list, uint64_t *removed, char *why,
                 size_t whylen);
    /* The retention alone (the idle tick).  0, or -1 with why. */
    int (*retain)(history_store *s, uint64_t *removed, char *why, size_t whylen);
    /* history_fetch's contract, minus the front's wait. */
    int (*fetch)(history_store *s, const history_query *q, history_page **out, char *err,
                 size_t errlen);
    /* history_prune's contract; the removed rows in *removed. */
    int (*prune)(history_store *s, uint64_t *removed, char *err, size_t errlen);
    void (*close)(history_store *s);
} history_store_ops;

/* The part of every store the front sees.  A store embeds it first. */
struct history_store {
    const history_store_ops *ops;
    const char *shown;    /* the path or the redacted URL, for messages */
    int answer_wait_ms;   /* how long history_await waits; 0: never */
    size_t queue_records; /* the queue's caps for this store */
    size_t queue_bytes;
};

/* Opens the stores (history_sqlite.c, history_pg.c).  On SCE_OK *out. */
int history_sqlite_open(const history_options *o, history_store **out, char *err, size_t errlen);
int history_pg_open(const history_options *o, history_store **out, char *err, size_t errlen);

/* Whether a PostgreSQL failure is of the database's state (connection
 * lost, shutting down, disk full, deadlock: keep the batch and retry) rather
 * than of the statement: sqlstate is the error's SQLSTATE (NULL: none, the
 * client failed), connection_bad whether the connection is gone.  1 or 0. */
int history_pg_transient(const char *sqlstate, int connection_bad);

/* Cleans e's text in place (once; see history_entry).  0, or -1 when out of
 * memory. */
int history_entry_clean(history_entry *e);

/* One parameter of a query's filter, in the order of the WHERE clause's
 * placeholders. */
typedef struct history_param {
    int is_text;
    int64_t num;
    const char *text;
} history_param;

#define HISTORY_PARAMS_MAX 5

/* The WHERE clause of q (" WHERE verdict = ?1 AND ..." or ""), with
 * placeholders written as mark followed by their number ('?' for SQLite,
 * '$' for PostgreSQL), and its parameters in params[0..*nparams).  A
 * run_id condition comes with "AND run_id <> ''": the run_id index is
 * partial (of the rows that have one), and a planner uses it only when the
 * query says so. */
void history_where(const history_query *q, char mark, char *out, size_t outlen,
                   history_param params[HISTORY_PARAMS_MAX], int *nparams);

/* The columns every query reads, in history_row's order; a query for one
 * run (history_query_single) reads HISTORY_COLUMN_META after them. */
#define HISTORY_COLUMNS                                                                            \
    "id, time_ms, language, code, code_truncated, entry, files, verdict, exit_code, output,"       \
    " output_truncated, stderr, stderr_truncated, message, wall_ms, request_id, tenant, run_id,"   \
    " signal, cpu_ms, peak_memory_bytes"
#define HISTORY_COLUMN_META 21 /* its index in a single run's row */

/* Whether q asks for one run (by id or run_id): it then comes whole, with
 * its meta, in a page of at most one row. */
int history_query_single(const history_query *q);

/* Cuts a listed row's text to the page budget (history_budget.h). */
void history_row_budget(history_row *r);

/* Copies b[0..n) into r->meta, NUL-terminated; 0, or -1 when out of
 * memory. */
int history_row_set_meta(history_row *r, const void *b, size_t n);

/* A new page with room for cap rows; NULL when out of memory. */
history_page *history_page_new(size_t cap);

#endif
