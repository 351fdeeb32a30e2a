/*
 * history_pg.c - the PostgreSQL store of runs: one history for several
 * servers (see history.h for the contract, history_store.h for the
 * interface).
 *
 * Two connections, opened with libpq's blocking calls: `w`, the writer
 * thread's, and `r`, used under `rlock` by queries and explicit prunes.
 * Either is opened again when it was lost: the writer's by the front's
 * retries (history.c, with a backoff), the reader's on the next query.  Each
 * connection checks the schema (creating it, under an advisory lock so that
 * servers starting together do not race).
 *
 * The schema is SQLite's, with the database's own ids (bigserial: unique
 * across servers) and indexes led by time, since pages are ordered by
 * time, then id.  The retention keeps the newest max_entries runs in that
 * order, and is applied by every server after each batch, in its own
 * statement after the batch's commit (a retention that fails or deadlocks
 * with another server's never costs a batch).
 *
 * A failure is "down" (the batch is kept, history.c retries it) when the
 * connection is lost or the error is one of the database's state, not of
 * the data: SQLSTATE classes 08 (connection), 53 (resources: disk full),
 * 57 (operator: shutting down, cannot connect now), 40 (deadlock,
 * serialization), 55P03 (lock not available) and 25006 (read-only: a
 * standby).  Any other error fails its batch (history_pg_transient).
 *
 * The URL's password never reaches a log or a message: messages from libpq
 * are scrubbed of it, and the URL is shown redacted (history_url_redact).
 */
#include "history_store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sce_limits.h"
#include "common/clock.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "sce/err.h"

/* The schema version recorded in sce_history_schema.  The rule
 * (history_store.h): a change that servers of the recorded version can
 * live with does not bump it; it is applied at every connect, idempotently
 * (schema_additive_*).  3 was recorded by builds of issue 14 before the
 * rule, for the same additive columns: it is read as 2 and written back as
 * 2, and the next bump is to 4. */
#define SCHEMA_VERSION 2
#define SCHEMA_VERSION_READ_AS_2 3
#define SCHEMA_LOCK_KEY "7262651" /* pg_advisory_xact_lock's key while creating the schema */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS runs ("
    " id BIGSERIAL PRIMARY KEY,"
    " time_ms BIGINT NOT NULL,"
    " language TEXT NOT NULL,"
    " code TEXT NOT NULL,"
    " code_truncated INTEGER NOT NULL,"
    " entry TEXT NOT NULL,"
    " files BIGINT NOT NULL,"
    " verdict INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL,"
    " output TEXT NOT NULL,"
    " output_truncated INTEGER NOT NULL,"
    " stderr TEXT NOT NULL,"
    " stderr_truncated INTEGER NOT NULL,"
    " message TEXT NOT NULL,"
    " wall_ms BIGINT NOT NULL,"
    " request_id TEXT NOT NULL,"
    " tenant TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS runs_time ON runs(time_ms, id);"
    "CREATE INDEX IF NOT EXISTS runs_verdict ON runs(verdict, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS runs_language ON runs(language, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS runs_tenant ON runs(tenant, time_ms, id);";

/* Additive, at every connect (no bump: a server of version 2 names its
 * INSERT's columns, so these keep their defaults in its rows): what the
 * compatibility APIs read back (issue 14): a followed run's id, the signal,
 * CPU time, peak memory and the request's opaque meta.  Older rows read
 * "", 0 and empty. */
static const char schema_additive_columns_sql[] =
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS run_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS signal INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS cpu_ms BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS peak_memory_bytes BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS meta BYTEA NOT NULL DEFAULT ''::bytea;";

/* A followed run is looked up by its id: a partial index, of the rows that
 * have one (cheap to build on a big table, and it stays small); the
 * lookup's WHERE says run_id <> '' so that the planner may use it
 * (history_where).  A full index of that name (builds before) is replaced. */
static const char schema_additive_index_sql[] =
    "DROP INDEX IF EXISTS runs_run_id;"
    "CREATE INDEX IF NOT EXISTS runs_run_id ON runs(run_id) WHERE run_id <> '';";

/* Whether the columns, and the partial index, are all there: when they
 * are, no DDL runs (an ALTER TABLE takes the table's strongest lock even
 * when it changes nothing, and every connection checks). */
static const char schema_additive_check_sql[] =
    "SELECT (SELECT count(*) FROM information_schema.columns"
    "  WHERE table_schema = current_schema() AND table_name = 'runs'"
    "  AND column_name IN ('run_id', 'signal', 'cpu_ms', 'peak_memory_bytes', 'meta')) = 5,"
    " EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema()"
    "  AND tablename = 'runs' AND indexname = 'runs_run_id' AND indexdef LIKE '% WHERE %')";

static const char insert_sql[] =
    "INSERT INTO runs (time_ms, language, code, code_truncated, entry, files, verdict,"
    " exit_code, output, output_truncated, stderr, stderr_truncated, message, wall_ms,"
    " request_id, tenant, run_id, signal, cpu_ms, peak_memory_bytes, meta)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
    " $19, $20, $21)";

/* The newest max_entries rows (by time, then id) stay; no row at that
 * offset (fewer rows) compares as NULL and deletes nothing. */
static const char prune_count_sql[] =
    "DELETE FROM runs WHERE (time_ms, id) <= (SELECT time_ms, id FROM runs"
    " ORDER BY time_ms DESC, id DESC LIMIT 1 OFFSET $1)";
static const char prune_age_sql[] = "DELETE FROM runs WHERE time_ms < $1";

typedef struct pg_store {
    history_store base;
    history_options opt;
    char *url;          /* as given: holds the password, never shown */
    char *password;     /* the password as libpq reads it, to scrub messages; NULL: none */
    char *password_raw; /* as written in the URL (percent-encoded) */
    char shown[512];    /* the URL, redacted */
    PGconn *w;          /* the writer thread's */
    PGconn *r;          /* under rlock */
    pthread_mutex_t rlock;
} pg_store;

/* ------------------------------------------------------------ pure helpers */

/* The URL's parts: the user info is what precedes the authority's last '@'
 * (so a password holding an unencoded '@' is still within it), the
 * authority ends at the first '/', '?' or '#' after "://". */
static void url_parts(const char *url, const char **userinfo, size_t *userinfo_len,
                      const char **query)
{
    const char *a = strstr(url, "://"), *end, *at = NULL;

    *userinfo = NULL;
    *userinfo_len = 0;
    *query = strchr(url, '?');
    if (a == NULL)
        return;
    a += 3;
    end = a + strcspn(a, "/?#");
    for (const char *p = a; p < end; p++)
        if (*p == '@')
            at = p;
    if (at != NULL) {
        *userinfo = a;
        *userinfo_len = (size_t)(at - a);
    }
}

void history_url_redact(const char *url, char *out, size_t outlen)
{
    const char *ui, *query, *colon = NULL;
    size_t ui_len, n = 0;

    if (outlen == 0)
        return;
    url_parts(url, &ui, &ui_len, &query);
    if (ui != NULL)
        colon = memchr(ui, ':', ui_len);
    for (const char *p = url; *p != '\0' && n + 1 < outlen;) {
        const char *stop = NULL;

        if (colon != NULL && p == colon + 1) {
            stop = ui + ui_len; /* the password in the user info, once */
            colon = NULL;
        } else if (query != NULL && p > query && (p[-1] == '?' || p[-1] == '&') &&
                   strncmp(p, "password=", 9) == 0) {
            n += (size_t)snprintf(out + n, outlen - n, "password=");
            p += 9;
            stop = p + strcspn(p, "&#");
        }
        if (stop != NULL) {
            n += (size_t)snprintf(out + n, outlen - n, "***");
            p = stop;
            continue;
        }
        out[n++] = *p++;
    }
    if (n >= outlen)
        n = outlen - 1;
    out[n] = '\0';
}

int history_pg_transient(const char *sqlstate, int connection_bad)
{
    static const char *const classes[] = {"08", "53", "57", "40"};
    static const char *const codes[] = {"55P03", "25006"};

    if (connection_bad || sqlstate == NULL || strlen(sqlstate) != 5)
        return 1;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strncmp(sqlstate, classes[i], 2) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(sqlstate, codes[i]) == 0)
            return 1;
    return 0;
}

/* s with each occurrence of secret (if any) replaced by "***", into out
 * (cut to fit). */
static void scrub_one(const char *s, const char *secret, char *out, size_t outlen)
{
    size_t n = 0, slen = secret != NULL ? strlen(secret) : 0;

    while (*s != '\0' && n + 1 < outlen) {
        if (slen > 0 && strncmp(s, secret, slen) == 0) {
            n += (size_t)snprintf(out + n, outlen - n, "***");
            if (n >= outlen)
                n = outlen - 1;
            s += slen;
            continue;
        }
        out[n++] = *s++;
    }
    out[n] = '\0';
}

/* msg without the password, as one clean line, into out. */
static void scrubbed(const pg_store *s, const char *msg, char *out, size_t outlen)
{
    char a[1024], b[1024];

    scrub_one(msg != NULL ? msg : "", s->password, a, sizeof(a));
    scrub_one(a, s->password_raw, b, sizeof(b));
    sce_utf8_clean_line(b, strlen(b), out, outlen);
    if (out[0] == '\0')
        sce_seterr(out, outlen, "unknown error");
}

/* ------------------------------------------------------------ connections */

static void quiet_notice_cb(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

/* Runs sql (no parameters, no rows wanted); 0, or -1 with why. */
static int run_sql(pg_store *s, PGconn *c, const char *sql, char *why, size_t whylen)
{
    PGresult *res = PQexec(c, sql);
    int ok = res != NULL &&
             (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);

    if (!ok)
        scrubbed(s, PQerrorMessage(c), why, whylen);
    PQclear(res);
    return ok ? 0 : -1;
}

/* The additive changes the database lacks (schema_additive_check_sql);
 * inside the caller's transaction. */
static int schema_additive(pg_store *s, PGconn *c, char *why, size_t whylen)
{
    PGresult *res = PQexec(c, schema_additive_check_sql);
    int cols = 0, index = 0, rv = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        scrubbed(s, PQerrorMessage(c), why, whylen);
        goto out;
    }
    cols = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    index = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    if ((!cols && run_sql(s, c, schema_additive_columns_sql, why, whylen) != 0) ||
        (!index && run_sql(s, c, schema_additive_index_sql, why, whylen) != 0))
        goto out;
    rv = 0;
out:
    PQclear(res);
    return rv;
}

/* Creates the schema when missing, or checks its version, and applies the
 * additive changes, in one transaction under an advisory lock. */
static int ensure_schema(pg_store *s, PGconn *c, char *why, size_t whylen)
{
    PGresult *res = NULL;
    long version = 0;
    char sql[64];
    int rv = -1;

    if (run_sql(s, c, "BEGIN", why, whylen) != 0 ||
        run_sql(s, c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", why, whylen) != 0 ||
        run_sql(s, c, "CREATE TABLE IF NOT EXISTS sce_history_schema (version INTEGER NOT NULL)",
                why, whylen) != 0)
        goto out;
    res = PQexec(c, "SELECT coalesce(max(version), 0) FROM sce_history_schema");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        scrubbed(s, PQerrorMessage(c), why, whylen);
        goto out;
    }
    version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    if (version > SCHEMA_VERSION_READ_AS_2) {
        sce_seterr(why, whylen, "schema version %ld is newer than this server's (%d)", version,
                   SCHEMA_VERSION);
        goto out;
    }
    snprintf(sql, sizeof(sql), "INSERT INTO sce_history_schema VALUES (%d)", SCHEMA_VERSION);
    if ((version < SCHEMA_VERSION && run_sql(s, c, schema_sql, why, whylen) != 0) ||
        schema_additive(s, c, why, whylen) != 0 ||
        (version != SCHEMA_VERSION &&
         (run_sql(s, c, "DELETE FROM sce_history_schema", why, whylen) != 0 ||
          run_sql(s, c, sql, why, whylen) != 0)))
        goto out;
    rv = run_sql(s, c, "COMMIT", why, whylen);
out:
    PQclear(res);
    if (rv != 0 && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    return rv;
}

/* A new connection with its schema checked; NULL with why. */
static PGconn *connect_one(pg_store *s, char *why, size_t whylen)
{
    /* Ours first, so that the URL may override them (expand_dbname: its
     * keywords are read where "dbname" stands); client_encoding last. */
    const char *const keys[] = {"connect_timeout",  "keepalives_idle",  "keepalives_interval",
                                "keepalives_count", "tcp_user_timeout", "application_name",
                                "dbname",           "client_encoding",  NULL};
    const char *const vals[] = {SCE_HISTORY_CONNECT_TIMEOUT_S,
                                "5",
                                "2",
                                "3",
                                SCE_HISTORY_TCP_TIMEOUT_MS,
                                "sce-server",
                                s->url,
                                "UTF8",
                                NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);

    if (c == NULL) {
        sce_seterr(why, whylen, "out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        scrubbed(s, PQerrorMessage(c), why, whylen);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice_cb, NULL);
    if (ensure_schema(s, c, why, whylen) != 0) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static int usable(PGconn *c)
{
    return c != NULL && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
}

static int pg_connect(history_store *base, char *why, size_t whylen)
{
    pg_store *s = (pg_store *)base;

    if (usable(s->w))
        return HISTORY_STORE_OK;
    PQfinish(s->w);
    s->w = connect_one(s, why, whylen);
    return s->w != NULL ? HISTORY_STORE_OK : HISTORY_STORE_DOWN;
}

/* ------------------------------------------------------------ opening */

static const history_store_ops pg_ops;

static void pg_close(history_store *base)
{
    pg_store *s = (pg_store *)base;

    if (s == NULL)
        return;
    PQfinish(s->w);
    PQfinish(s->r);
    pthread_mutex_destroy(&s->rlock);
    free(s->url);
    free(s->password);
    free(s->password_raw);
    free(s);
}

/* The password as it is written in the URL's user info, or NULL. */
static char *raw_password(const char *url)
{
    const char *ui, *query, *colon;
    size_t ui_len;

    url_parts(url, &ui, &ui_len, &query);
    if (ui == NULL || (colon = memchr(ui, ':', ui_len)) == NULL || colon + 1 == ui + ui_len)
        return NULL;
    return strndup(colon + 1, (size_t)(ui + ui_len - colon - 1));
}

int history_pg_open(const history_options *o, history_store **out, char *err, size_t errlen)
{
    pg_store *s = NULL;
    PQconninfoOption *opts = NULL;
    char *perr = NULL, detail[512];

    if ((s = calloc(1, sizeof(*s))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_UNAVAILABLE;
    }
    pthread_mutex_init(&s->rlock, NULL);
    history_url_redact(o->url, s->shown, sizeof(s->shown));
    if ((s->url = strdup(o->url)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        goto fail;
    }
    s->password_raw = raw_password(o->url);
    if (strncmp(o->url, "postgres://", 11) != 0 && strncmp(o->url, "postgresql://", 13) != 0) {
        sce_seterr(err, errlen, "history_url: '%s' is not a postgres:// or postgresql:// URL",
                   s->shown);
        goto fail;
    }
    if ((opts = PQconninfoParse(o->url, &perr)) == NULL) {
        scrubbed(s, perr != NULL ? perr : "out of memory", detail, sizeof(detail));
        sce_seterr(err, errlen, "history_url: %s: %s", s->shown, detail);
        goto fail;
    }
    for (PQconninfoOption *p = opts; p->keyword != NULL; p++)
        if (strcmp(p->keyword, "password") == 0 && p->val != NULL && p->val[0] != '\0')
            s->password = strdup(p->val);
    s->base.ops = &pg_ops;
    s->base.shown = s->shown;
    s->base.answer_wait_ms = SCE_HISTORY_ANSWER_WAIT_MS;
    s->base.queue_records = SCE_HISTORY_PG_QUEUE_MAX_RECORDS;
    s->base.queue_bytes = SCE_HISTORY_PG_QUEUE_MAX_BYTES;
    s->opt = *o;
    s->opt.url = NULL;
    s->opt.path = NULL;
    PQconninfoFree(opts);
    *out = &s->base;
    return SCE_OK;
fail:
    PQfreemem(perr);
    PQconninfoFree(opts);
    pg_close(&s->base);
    return SCE_ERR_UNAVAILABLE;
}

/* ------------------------------------------------------------ writing */

/* Runs a statement of parameters (text, or binary where formats says 1:
 * then lens gives their length; formats NULL: all text); the result (the
 * caller clears it), NULL with why on failure and *down set when it is the
 * database's state rather than the statement's fault. */
static PGresult *exec_params(pg_store *s, PGconn *c, const char *sql, int n,
                             const char *const *vals, const int *lens, const int *formats,
                             ExecStatusType want, char *why, size_t whylen, int *down)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, vals, lens, formats, 0);

    if (res != NULL && PQresultStatus(res) == want)
        return res;
    scrubbed(s, PQerrorMessage(c), why, whylen);
    *down = history_pg_transient(res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL,
                                 PQstatus(c) != CONNECTION_OK);
    PQclear(res);
    return NULL;
}

static int insert_one(pg_store *s, const history_entry *p, char *why, size_t whylen, int *down)
{
    char num[11][24];
    const char *vals[21];
    int lens[21] = {0}, formats[21] = {0};
    PGresult *res;

    snprintf(num[0], sizeof(num[0]), "%lld", (long long)p->time_ms);
    snprintf(num[1], sizeof(num[1]), "%d", p->code_cut);
    snprintf(num[2], sizeof(num[2]), "%u", p->files);
    snprintf(num[3], sizeof(num[3]), "%d", p->verdict);
    snprintf(num[4], sizeof(num[4]), "%d", p->exit_code);
    snprintf(num[5], sizeof(num[5]), "%d", p->output_cut);
    snprintf(num[6], sizeof(num[6]), "%d", p->err_cut);
    snprintf(num[7], sizeof(num[7]), "%u", p->wall_ms);
    snprintf(num[8], sizeof(num[8]), "%d", p->signal);
    snprintf(num[9], sizeof(num[9]), "%u", p->cpu_ms);
    /* BIGINT is signed: a figure past its range (none is) would fail the batch. */
    snprintf(num[10], sizeof(num[10]), "%lld",
             (long long)(p->peak_memory_bytes > INT64_MAX ? INT64_MAX : p->peak_memory_bytes));
    vals[0] = num[0];
    vals[1] = p->language;
    vals[2] = p->code;
    vals[3] = num[1];
    vals[4] = p->entry;
    vals[5] = num[2];
    vals[6] = num[3];
    vals[7] = num[4];
    vals[8] = p->output;
    vals[9] = num[5];
    vals[10] = p->err;
    vals[11] = num[6];
    vals[12] = p->message;
    vals[13] = num[7];
    vals[14] = p->request_id;
    vals[15] = p->tenant;
    vals[16] = p->run_id;
    vals[17] = num[8];
    vals[18] = num[9];
    vals[19] = num[10];
    /* The meta's bytes as they are (binary: no escaping of 256 KiB). */
    vals[20] = p->meta != NULL ? (const char *)p->meta : "";
    lens[20] = (int)p->meta_len;
    formats[20] = 1;
    res = exec_params(s, s->w, insert_sql, 21, vals, lens, formats, PGRES_COMMAND_OK, why, whylen,
                      down);
    PQclear(res);
    return res != NULL ? 0 : -1;
}

/* The retention on c; 0 or -1 with why (and *down as exec_params). */
static int prune_on(pg_store *s, PGconn *c, uint64_t *removed, char *why, size_t whylen, int *down)
{
    char num[24];
    const char *vals[1] = {num};
    PGresult *res;

    if (s->opt.max_entries > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)s->opt.max_entries);
        res = exec_params(s, c, prune_count_sql, 1, vals, NULL, NULL, PGRES_COMMAND_OK, why, whylen,
                          down);
        if (res == NULL)
            return -1;
        *removed += strtoull(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    if (s->opt.max_age_ms > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)(sce_wall_ms() - s->opt.max_age_ms));
        res = exec_params(s, c, prune_age_sql, 1, vals, NULL, NULL, PGRES_COMMAND_OK, why, whylen,
                          down);
        if (res == NULL)
            return -1;
        *removed += strtoull(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    return 0;
}

static int pg_write(history_store *base, history_entry *list, uint64_t *removed, char *why,
                    size_t whylen)
{
    pg_store *s = (pg_store *)base;
    char ignored[256];
    int down = 0, rc = HISTORY_STORE_OK;

    if (pg_connect(base, why, whylen) != HISTORY_STORE_OK)
        return HISTORY_STORE_DOWN;
    if (run_sql(s, s->w, "BEGIN", why, whylen) != 0) {
        down = history_pg_transient(NULL, 1);
        rc = -1;
    }
    for (history_entry *p = list; p != NULL && rc == HISTORY_STORE_OK; p = p->next)
        if (insert_one(s, p, why, whylen, &down) != 0)
            rc = -1;
    if (rc == HISTORY_STORE_OK && run_sql(s, s->w, "COMMIT", why, whylen) != 0) {
        /* A commit whose answer was lost may have committed; PostgreSQL
         * down before it answered almost always has not.  Retrying can
         * store the batch twice, dropping it can lose it: it is retried. */
        down = 1;
        rc = -1;
    }
    if (rc != HISTORY_STORE_OK) {
        if (PQstatus(s->w) == CONNECTION_OK && PQtransactionStatus(s->w) != PQTRANS_IDLE)
            PQclear(PQexec(s->w, "ROLLBACK"));
        return down ? HISTORY_STORE_DOWN : HISTORY_STORE_FAILED;
    }
    /* After the commit: a retention that fails is tried again after the
     * next batch, and never costs this one. */
    (void)prune_on(s, s->w, removed, ignored, sizeof(ignored), &down);
    return HISTORY_STORE_OK;
}

static int pg_retain(history_store *base, uint64_t *removed, char *why, size_t whylen)
{
    pg_store *s = (pg_store *)base;
    int down = 0;

    if (pg_connect(base, why, whylen) != HISTORY_STORE_OK)
        return -1;
    return prune_on(s, s->w, removed, why, whylen, &down);
}

/* ------------------------------------------------------------ reading */

static int row_fill(PGresult *res, int i, history_row *r, int with_meta)
{
    char **texts[] = {&r->language, &r->code,       &r->entry,  &r->output, &r->stderr_text,
                      &r->message,  &r->request_id, &r->tenant, &r->run_id};
    static const int text_cols[] = {2, 3, 5, 9, 11, 13, 15, 16, 17};

    r->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    r->time_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    r->code_truncated = atoi(PQgetvalue(res, i, 4));
    r->files = (uint32_t)strtoul(PQgetvalue(res, i, 6), NULL, 10);
    r->verdict = atoi(PQgetvalue(res, i, 7));
    r->exit_code = atoi(PQgetvalue(res, i, 8));
    r->output_truncated = atoi(PQgetvalue(res, i, 10));
    r->stderr_truncated = atoi(PQgetvalue(res, i, 12));
    r->wall_ms = (uint32_t)strtoul(PQgetvalue(res, i, 14), NULL, 10);
    r->signal = atoi(PQgetvalue(res, i, 18));
    r->cpu_ms = (uint32_t)strtoul(PQgetvalue(res, i, 19), NULL, 10);
    r->peak_memory_bytes = strtoull(PQgetvalue(res, i, 20), NULL, 10);
    if (with_meta) {
        /* bytea comes as text ("\\x..."): libpq decodes it. */
        size_t n = 0;
        unsigned char *b =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, HISTORY_COLUMN_META), &n);
        int rc = b != NULL ? history_row_set_meta(r, b, n) : -1;

        PQfreemem(b);
        if (rc != 0)
            return -1;
    }
    for (size_t k = 0; k < sizeof(text_cols) / sizeof(text_cols[0]); k++)
        if ((*texts[k] = strdup(PQgetvalue(res, i, text_cols[k]))) == NULL)
            return -1;
    return 0;
}

/* The reader's connection, opened when missing or lost; NULL with why. */
static PGconn *reader(pg_store *s, char *why, size_t whylen)
{
    if (usable(s->r))
        return s->r;
    PQfinish(s->r);
    s->r = connect_one(s, why, whylen);
    return s->r;
}

/* One attempt at a page on the reader's connection.  SCE_OK, or an error
 * with why; *lost says the connection was lost (worth one more try). */
static int fetch_once(pg_store *s, const history_query *q, history_page **out, char *why,
                      size_t whylen, int *lost)
{
    char where[256], sql[768], nums[HISTORY_PARAMS_MAX + 2][24];
    history_param params[HISTORY_PARAMS_MAX];
    const char *vals[HISTORY_PARAMS_MAX + 2];
    PGresult *res = NULL;
    history_page *page = NULL;
    PGconn *c;
    int nparams, down = 0, rv = SCE_ERR_UNAVAILABLE;
    int single = history_query_single(q);
    size_t cap = single ? 1 : q->limit;

    if ((c = reader(s, why, whylen)) == NULL)
        return SCE_ERR_UNAVAILABLE;
    history_where(q, '$', where, sizeof(where), params, &nparams);
    for (int i = 0; i < nparams; i++) {
        snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)params[i].num);
        vals[i] = params[i].is_text ? params[i].text : nums[i];
    }
    snprintf(nums[nparams], sizeof(nums[0]), "%zu", cap);
    snprintf(nums[nparams + 1], sizeof(nums[0]), "%u", single ? 0 : q->offset);
    vals[nparams] = nums[nparams];
    vals[nparams + 1] = nums[nparams + 1];

    /* One snapshot for both statements, so total and rows agree. */
    if (run_sql(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", why, whylen) != 0)
        goto out;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs%s", where);
    if ((res = exec_params(s, c, sql, nparams, vals, NULL, NULL, PGRES_TUPLES_OK, why, whylen,
                           &down)) == NULL)
        goto out;
    if ((page = history_page_new(cap)) == NULL)
        goto oom;
    page->total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    snprintf(sql, sizeof(sql),
             "SELECT %s%s FROM runs%s ORDER BY time_ms DESC, id DESC LIMIT $%d OFFSET $%d",
             HISTORY_COLUMNS, single ? ", meta" : "", where, nparams + 1, nparams + 2);
    if ((res = exec_params(s, c, sql, nparams + 2, vals, NULL, NULL, PGRES_TUPLES_OK, why, whylen,
                           &down)) == NULL)
        goto out;
    for (int i = 0; i < PQntuples(res) && page->count < cap; i++) {
        page->count++;
        if (row_fill(res, i, &page->rows[page->count - 1], single) != 0)
            goto oom;
        /* A listing stays within its budget; one run asked for by id comes
         * whole. */
        if (!single)
            history_row_budget(&page->rows[page->count - 1]);
    }
    *out = page;
    page = NULL;
    rv = SCE_OK;
    goto out;
oom:
    sce_seterr(why, whylen, "out of memory");
    rv = SCE_ERR_NO_MEMORY;
out:
    PQclear(res);
    history_page_free(page);
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, rv == SCE_OK ? "COMMIT" : "ROLLBACK"));
    *lost = PQstatus(c) != CONNECTION_OK;
    return rv;
}

static int pg_fetch(history_store *base, const history_query *q, history_page **out, char *err,
                    size_t errlen)
{
    pg_store *s = (pg_store *)base;
    char why[512];
    int lost = 0, rv;

    pthread_mutex_lock(&s->rlock);
    /* A connection lost while idle (the database restarted) shows only on
     * its next use: one more try on a new one. */
    rv = fetch_once(s, q, out, why, sizeof(why), &lost);
    if (rv == SCE_ERR_UNAVAILABLE && lost)
        rv = fetch_once(s, q, out, why, sizeof(why), &lost);
    pthread_mutex_unlock(&s->rlock);
    if (rv == SCE_ERR_NO_MEMORY)
        sce_seterr(err, errlen, "%s", why);
    else if (rv != SCE_OK)
        sce_seterr(err, errlen, "history is unavailable: %s: %s", s->shown, why);
    return rv;
}

static int pg_prune(history_store *base, uint64_t *removed, char *err, size_t errlen)
{
    pg_store *s = (pg_store *)base;
    char why[512];
    PGconn *c;
    int down = 0, rv = SCE_OK;

    pthread_mutex_lock(&s->rlock);
    if ((c = reader(s, why, sizeof(why))) == NULL ||
        prune_on(s, c, removed, why, sizeof(why), &down) != 0) {
        sce_seterr(err, errlen, "%s: retention: %s", s->shown, why);
        rv = SCE_ERR_UNAVAILABLE;
    }
    pthread_mutex_unlock(&s->rlock);
    return rv;
}

static const history_store_ops pg_ops = {
    pg_connect, pg_write, pg_retain, pg_fetch, pg_prune, pg_close,
};
