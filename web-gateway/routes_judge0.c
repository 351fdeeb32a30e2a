/*
 * routes_judge0.c - see routes_judge0.h.  What the answers say is decided
 * in judge0_submission.c (requests), judge0_result.c (submissions, statuses)
 * and judge0_catalog.c (languages, config); this file calls the servers.
 *
 * A submission is a detached followed run (backends.h): it runs to its end
 * whoever reads it, its token is its run id as a UUID, and what Judge0
 * echoes travels as its meta.  GET asks the run first (a poll from the
 * start that does not wait: queued, processing, or its result) and, once
 * the server has forgotten it (SCE_RUN_KEPT_MS after its end), its history
 * entry; the history is written asynchronously, so the order matters.  A
 * run that failed in the engine (no result) answers its error to every
 * poll until the server forgets it; its history entry (an internal error
 * with its message, status 13) answers then, asked again over about a
 * second while it is being written.  wait=true polls the run to its end,
 * then answers as GET would; once the run exists its answer is 201 with
 * the token, whatever happens.  Every submission's stdin is closed by the
 * server once written (stdin_close), as a Judge0 program reads it to EOF.
 *
 * Tenants: a run is started and polled with the caller's tenant (another
 * tenant's run is NOT_FOUND to a poll); the history is asked for the
 * caller's runs, or any run when the caller sees all.  So an unknown token
 * and another tenant's are the same 404.
 *
 * Rate limit: a POST takes one run per submission it starts; a GET takes
 * one per history entry it reads (a database read, as GET /history/{id}
 * does; a batch may read several); polls of live runs are free, as
 * Judge0's clients poll.
 *
 * Errors in Judge0's shapes: 422 {"field": ["message"]}, 400 and 503
 * {"error": "..."}, 404 {"error": "Not Found", "status": 404} (Rails'
 * answer to an unknown record).  A full queue at the start is 503 {"error":
 * "queue is full"}, Judge0's own answer; a batch whose start fails part-way
 * cancels the runs it started and answers the error for the whole batch.
 */
#include "routes_judge0.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "json.h"
#include "judge0_catalog.h"
#include "judge0_result.h"
#include "judge0_submission.h"
#include "sce/err.h"

/* A wait=true poll's wait, and how long past the run's timeout the wait
 * goes on (queueing, the container's start) before answering whatever the
 * run's state is then. */
#define J0_WAIT_POLL_MS 2000
#define J0_WAIT_SLACK_MS 120000
/* A poll answer holds about 1 MiB of chunks: the polls of one read at
 * most (far past any run's output). */
#define J0_POLL_PAGES_MAX 64
/* A run whose poll fails: its history entry is asked this many times,
 * this far apart (the history is written asynchronously). */
#define J0_HISTORY_TRIES 5
#define J0_HISTORY_RETRY_MS 250
/* 422, whatever libmicrohttpd calls it (its newer name deprecates the old). */
#define J0_HTTP_UNPROCESSABLE 422

/* ------------------------------------------------------------ answers */

static const char *query(const gw_route_ctx *x, const char *name)
{
    return MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, name);
}

static int query_true(const gw_route_ctx *x, const char *name)
{
    const char *v = query(x, name);

    return v != NULL && strcmp(v, "true") == 0;
}

/* {"error": msg} with `status`. */
static void j0_error(gw_answer *a, unsigned status, const char *msg)
{
    gw_answer_ok(a, status, json_pack("{s:s}", "error", msg), NULL, msg);
}

/* Judge0's 400 for a batch over its size (create and get alike). */
static void batch_too_large(gw_answer *a)
{
    char msg[128];

    snprintf(msg, sizeof(msg),
             "number of submissions in a batch should be less than or equal to %d", J0_BATCH_MAX);
    j0_error(a, MHD_HTTP_BAD_REQUEST, msg);
}

static void not_found(gw_answer *a)
{
    gw_answer_ok(a, MHD_HTTP_NOT_FOUND,
                 json_pack("{s:s, s:i}", "error", "Not Found", "status", 404), NULL,
                 "no such submission");
}

/* A server's or libsce's error in Judge0's shape. */
static void server_error(gw_answer *a, int rv, const char *msg)
{
    char note[160];

    if (rv == SCE_ERR_RESOURCE_EXHAUSTED) {
        snprintf(note, sizeof(note), "queue is full (%s)", msg);
        gw_answer_ok(a, MHD_HTTP_SERVICE_UNAVAILABLE, json_pack("{s:s}", "error", "queue is full"),
                     NULL, note);
        gw_answer_header(a, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    }
    j0_error(a, gw_json_http_status(rv), msg);
}

/* ------------------------------------------------------------ languages, info */

static int languages_of(const gw_route_ctx *x, sce_language_list **l, gw_answer *a)
{
    char err[512];
    int rv = gw_backends_languages(x->backends, l, err, sizeof(err));

    if (rv != SCE_OK)
        server_error(a, rv, err);
    return rv == SCE_OK;
}

static void answer_languages(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    const char *rest = x->url + strlen(r->path);
    sce_language_list *l = NULL;
    json_t *body = NULL;
    char *end = NULL;
    long id;

    if (!languages_of(x, &l, a))
        return;
    if (rest[0] == '\0') {
        body = j0_languages_json(l, 0);
    } else if (strcmp(rest, "all") == 0) {
        body = j0_languages_json(l, 1);
    } else {
        id = strtol(rest, &end, 10);
        if (end == rest || *end != '\0' || (body = j0_language_json(l, id)) == NULL) {
            not_found(a);
            goto out;
        }
    }
    gw_answer_ok(a, MHD_HTTP_OK, body, NULL, NULL);
out:
    sce_language_list_free(l);
}

static void answer_info(const gw_route_ctx *x, gw_answer *a)
{
    gw_backends_snapshot *snap = NULL;
    unsigned queue = 0;

    if (strcmp(x->url, "/about") == 0) {
        gw_answer_ok(a, MHD_HTTP_OK, j0_about_json(), NULL, NULL);
        return;
    }
    /* The real queue of the first server that has reported one. */
    if (gw_backends_snapshot_take(x->backends, 0, &snap) == SCE_OK) {
        for (size_t i = 0; i < snap->count && queue == 0; i++)
            if (snap->items[i].health != NULL)
                queue = snap->items[i].health->queue_capacity;
        gw_backends_snapshot_free(snap);
    }
    gw_answer_ok(a, MHD_HTTP_OK, j0_config_info_json(queue), NULL, NULL);
}

/* ------------------------------------------------------------ reading a submission */

/* What a GET request carries along: its fields, base64, the history reads
 * it has paid for already, and the error of a submission it could not
 * read (READ_ERROR). */
typedef struct reader {
    const gw_route_ctx *x;
    json_t *fields;
    int base64;
    int paid_reads;               /* history reads already taken from the rate limit */
    sce_language_list *languages; /* for the language's name; may stay NULL */
    int languages_asked;
    int rv; /* READ_ERROR: the error and its message */
    char err[512];
} reader;

/* READ_OK; READ_NOT_FOUND; READ_UTF8 (a text is not UTF-8 and base64 was
 * not asked); READ_ERROR (rd->rv, rd->err: nothing answered);
 * READ_LIMITED (the 429 is in *a). */
enum { READ_OK, READ_NOT_FOUND, READ_UTF8, READ_ERROR, READ_LIMITED };

static void reader_free(reader *rd)
{
    json_decref(rd->fields);
    sce_language_list_free(rd->languages);
}

/* The fields and base64 of the query; 0 with the 400 in *a. */
static int reader_init(reader *rd, const gw_route_ctx *x, gw_answer *a)
{
    char *bad = NULL;

    memset(rd, 0, sizeof(*rd));
    rd->x = x;
    rd->base64 = query_true(x, "base64_encoded");
    if ((rd->fields = j0_fields_parse(query(x, "fields"), &bad)) == NULL) {
        if (bad != NULL)
            j0_error(a, MHD_HTTP_BAD_REQUEST, bad);
        else
            j0_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        free(bad);
        return 0;
    }
    return 1;
}

static int read_error(reader *rd, int rv, const char *msg)
{
    rd->rv = rv;
    snprintf(rd->err, sizeof(rd->err), "%s", msg);
    return READ_ERROR;
}

/* The run's state from its start to its last chunk: *first (its meta) and
 * *last (its state; NULL when *first has it).  One answer holds about
 * 1 MiB of chunks and `done` comes with the last of them, so the poll goes
 * on from next_seq until done, or until a poll brings nothing new (the
 * run is still going).  SCE_OK, or the first poll's error. */
static int poll_run(const gw_route_ctx *x, const char *run_id, const char *tenant,
                    sce_run_events **first, sce_run_events **last, char *err, size_t errlen)
{
    sce_run_events *e = NULL;
    const sce_run_events *cur;
    char ignored[256];
    int rv;

    *last = NULL;
    if ((rv = gw_backends_run_poll(x->backends, run_id, tenant, 0, 0, first, err, errlen)) !=
        SCE_OK)
        return rv;
    for (int i = 0; i < J0_POLL_PAGES_MAX; i++) {
        cur = *last != NULL ? *last : *first;
        if (cur->done)
            break;
        if (gw_backends_run_poll(x->backends, run_id, tenant, cur->next_seq, 0, &e, ignored,
                                 sizeof(ignored)) != SCE_OK)
            break; /* what is known so far stands */
        if (!e->done && e->next_seq <= cur->next_seq) {
            sce_run_events_free(e);
            break;
        }
        sce_run_events_free(*last);
        *last = e;
    }
    return SCE_OK;
}

/* The history entry of run_id into *h, taking one run from the rate limit
 * unless one was paid for.  With retry, a NOT_FOUND is asked again over
 * about a second (the history is written asynchronously, and a run that
 * failed in the engine has nothing else).  READ_OK, READ_NOT_FOUND,
 * READ_ERROR, READ_LIMITED. */
static int read_history(reader *rd, const char *run_id, int retry, sce_history_entry **h,
                        gw_answer *a)
{
    const gw_route_ctx *x = rd->x;
    gw_caller who = gw_routes_caller(x);
    char err[512];
    int rv = SCE_ERR_NOT_FOUND;

    if (rd->paid_reads > 0)
        rd->paid_reads--;
    else if (!gw_routes_admit(x, 1, a))
        return READ_LIMITED;
    for (int i = 0; i < (retry ? J0_HISTORY_TRIES : 1); i++) {
        if (i > 0)
            sce_sleep_ms(J0_HISTORY_RETRY_MS);
        rv = gw_backends_history_get_run(x->backends, run_id, who.sees_all ? NULL : who.tenant, h,
                                         err, sizeof(err));
        if (rv != SCE_ERR_NOT_FOUND)
            break;
    }
    if (rv == SCE_OK)
        return READ_OK;
    if (rv == SCE_ERR_NOT_FOUND || rv == SCE_ERR_INVALID_ARGUMENT)
        return READ_NOT_FOUND;
    return read_error(rd, rv, err);
}

/* The submission of `meta` and `o` as JSON into *out (READ_OK, READ_UTF8,
 * READ_NOT_FOUND for a run that is not a Judge0 submission). */
static int write_submission(reader *rd, const char *token, const json_t *meta, const j0_outcome *o,
                            json_t **out)
{
    char err[512], name[96];
    int utf8 = 0;

    /* A run that is not a Judge0 submission (sce's own streamed runs) has
     * no token. */
    if (!json_is_object(meta) || json_object_get(meta, "judge0") == NULL)
        return READ_NOT_FOUND;
    if (!rd->languages_asked) {
        /* The name only: without the server's list it has no version. */
        rd->languages_asked = 1;
        gw_backends_languages(rd->x->backends, &rd->languages, err, sizeof(err));
    }
    j0_language_name(j0_language_find(json_integer_value(json_object_get(meta, "language_id"))),
                     rd->languages, name, sizeof(name));
    *out = j0_submission_json(token, meta, o, rd->fields, rd->base64, name, &utf8);
    if (*out != NULL)
        return READ_OK;
    return utf8 ? READ_UTF8 : read_error(rd, SCE_ERR_NO_MEMORY, "out of memory");
}

/* The submission of run_id as JSON into *out: the run as a poll from its
 * start says it; once the server has forgotten it (NOT_FOUND), its history
 * entry; when the poll fails otherwise (a run that failed in the engine
 * answers its error to every poll), its history entry all the same, asked
 * again over about a second, else that error. */
static int read_submission(reader *rd, const char *run_id, json_t **out, gw_answer *a)
{
    const gw_route_ctx *x = rd->x;
    sce_run_events *first = NULL, *last = NULL;
    sce_history_entry *h = NULL;
    json_t *meta = NULL;
    j0_outcome o;
    char err[512], token[40] = "";
    int rv, result;

    *out = NULL;
    memset(&o, 0, sizeof(o));
    if (!j0_token_from_run_id(run_id, token, sizeof(token)))
        return READ_NOT_FOUND;
    rv = poll_run(x, run_id, gw_routes_caller(x).tenant, &first, &last, err, sizeof(err));
    if (rv == SCE_OK) {
        meta = json_loadb(first->meta != NULL ? first->meta : "", first->meta_len, 0, NULL);
        if (j0_outcome_from_events(last != NULL ? last : first, &o) != SCE_OK) {
            result = read_error(rd, SCE_ERR_NO_MEMORY, "out of memory");
            goto out;
        }
    } else {
        result = read_history(rd, run_id, rv != SCE_ERR_NOT_FOUND, &h, a);
        if ((result == READ_NOT_FOUND || result == READ_ERROR) && rv != SCE_ERR_NOT_FOUND)
            result = read_error(rd, rv, err); /* the poll's error, then */
        if (result != READ_OK)
            goto out;
        meta = json_loadb(h->meta != NULL ? h->meta : "", h->meta_len, 0, NULL);
        if (j0_outcome_from_history(h, &o) != SCE_OK) {
            result = read_error(rd, SCE_ERR_NO_MEMORY, "out of memory");
            goto out;
        }
    }
    result = write_submission(rd, token, meta, &o, out);
out:
    j0_outcome_free(&o);
    json_decref(meta);
    sce_run_events_free(first);
    sce_run_events_free(last);
    sce_history_entry_free(h);
    return result;
}

/* GET /submissions/{token}. */
static void answer_show(const gw_route_ctx *x, const char *token, gw_answer *a)
{
    char run_id[40];
    json_t *body = NULL;
    reader rd;

    if (!reader_init(&rd, x, a))
        return;
    if (!j0_token_to_run_id(token, run_id, sizeof(run_id))) {
        not_found(a);
        goto out;
    }
    switch (read_submission(&rd, run_id, &body, a)) {
    case READ_OK:
        gw_answer_ok(a, MHD_HTTP_OK, body, NULL, token);
        break;
    case READ_NOT_FOUND:
        not_found(a);
        break;
    case READ_UTF8:
        j0_error(a, MHD_HTTP_BAD_REQUEST, J0_UTF8_ERROR);
        break;
    case READ_ERROR:
        server_error(a, rd.rv, rd.err);
        break;
    default:
        break; /* READ_LIMITED: the 429 is in *a */
    }
out:
    reader_free(&rd);
}

/* GET /submissions/batch?tokens=a,b,c (or a "tokens" header, as Judge0
 * reads first).  Each token is read as GET reads it, and one's failure
 * does not fail the others: a token that is not a submission, and one
 * whose run cannot be read (its server is down, and its history has no
 * entry), is null, as Judge0 answers a token it has no submission of.
 * Each history read takes one run from the rate limit; a 429 answers the
 * whole batch. */
static void answer_batch_show(const gw_route_ctx *x, gw_answer *a)
{
    const char *tokens = MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, "tokens");
    json_t *list = NULL, *out;
    char *copy = NULL, *save = NULL, run_id[40];
    size_t n = 0;
    reader rd;

    if (tokens == NULL)
        tokens = query(x, "tokens");
    if (!reader_init(&rd, x, a))
        return;
    if ((copy = strdup(tokens != NULL ? tokens : "")) == NULL || (list = json_array()) == NULL) {
        j0_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto out;
    }
    for (const char *p = copy; *p != '\0'; p++)
        n += *p == ',';
    n = copy[0] != '\0' ? n + 1 : 0;
    if (n > J0_BATCH_MAX) {
        batch_too_large(a);
        goto out;
    }
    for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        for (size_t k = strlen(t); k > 0 && t[k - 1] == ' '; k--)
            t[k - 1] = '\0';
        out = NULL;
        if (j0_token_to_run_id(t, run_id, sizeof(run_id))) {
            switch (read_submission(&rd, run_id, &out, a)) {
            case READ_OK:
            case READ_NOT_FOUND:
            case READ_ERROR:
                break;
            case READ_UTF8:
                j0_error(a, MHD_HTTP_BAD_REQUEST,
                         "some attributes for one or more submissions cannot be converted to "
                         "UTF-8, use base64_encoded=true query parameter");
                goto out;
            default:
                goto out;
            }
        }
        json_array_append_new(list, out != NULL ? out : json_null());
    }
    if (json_array_size(list) == 0) {
        j0_error(a, MHD_HTTP_BAD_REQUEST, "there should be at least one submission in a batch");
        goto out;
    }
    gw_answer_ok(a, MHD_HTTP_OK, json_pack("{s:O}", "submissions", list), NULL, NULL);
out:
    json_decref(list);
    free(copy);
    reader_free(&rd);
}

/* ------------------------------------------------------------ creating */

/* Starts a checked submission as a detached run for the caller: SCE_OK
 * with its run id in run_id; else the error with its message. */
static int start(const gw_route_ctx *x, j0_submission *s, char *run_id, size_t idlen,
                 uint32_t *timeout_ms, char *err, size_t errlen)
{
    sce_run_started *st = NULL;
    int rv;

    s->req.tenant = gw_routes_caller(x).tenant;
    s->req.meta = s->meta;
    s->req.meta_len = s->meta_len;
    s->req.detached = 1;
    /* A Judge0 program reads its stdin to its end: the server closes it
     * once stdin_data is written (a followed run's stays open otherwise). */
    s->req.stdin_close = 1;
    if ((rv = gw_backends_run_start(x->backends, &s->req, &st, err, errlen)) != SCE_OK)
        return rv;
    snprintf(run_id, idlen, "%s", st->run_id);
    *timeout_ms = st->timeout_ms;
    sce_run_started_free(st);
    return SCE_OK;
}

/* The 422 of a server's INVALID_ARGUMENT at the start, under its field. */
static json_t *start_refusal(const j0_submission *s, const char *msg)
{
    return json_pack("{s:[s]}", j0_submission_field_of(s, msg), msg);
}

/* The body as JSON, or the 400 Rails answers a body it cannot parse. */
static json_t *body_json(const gw_route_ctx *x, gw_answer *a)
{
    json_t *root = NULL;
    json_error_t jerr;

    if (x->body != NULL)
        root = json_loadb(x->body->data, x->body->len, 0, &jerr);
    if (root == NULL)
        gw_answer_ok(a, MHD_HTTP_BAD_REQUEST,
                     json_pack("{s:i, s:s}", "status", 400, "error", "Bad Request"), NULL,
                     "the body is not JSON");
    return root;
}

/* A submission of which only its meta and how far its run got (queued,
 * processing) are known, as GET would write it; NULL when out of memory. */
static json_t *known_submission(reader *rd, const char *token, const char *meta_text, int state)
{
    json_t *meta = json_loads(meta_text, 0, NULL), *body = NULL;
    j0_outcome o;

    memset(&o, 0, sizeof(o));
    o.state = state;
    if (write_submission(rd, token, meta, &o, &body) != READ_OK)
        body = json_pack("{s:s, s:{s:i, s:s}}", "token", token, "status", "id", state,
                         "description", j0_status_name(state));
    json_decref(meta);
    return body;
}

/* wait=true: polls the run until it ends, or J0_WAIT_SLACK_MS past its
 * timeout, then answers as GET does, with 201.  The run exists: whatever
 * happens the answer is 201 with its token, and when its result cannot be
 * read, the status last known (In Queue, Processing) so that the client
 * polls GET /submissions/{token}.  Its one history read is paid for by the
 * POST's run. */
static void wait_and_answer(const gw_route_ctx *x, const char *run_id, const char *meta_text,
                            uint32_t timeout_ms, gw_answer *a)
{
    const char *tenant = gw_routes_caller(x).tenant;
    int64_t deadline = sce_clock_ms() + timeout_ms + J0_WAIT_SLACK_MS;
    uint64_t seq = 0;
    char err[512], token[40] = "";
    int state = J0_STATUS_QUEUE, rv;
    json_t *body = NULL;
    reader rd;

    if (!j0_token_from_run_id(run_id, token, sizeof(token))) {
        j0_error(a, MHD_HTTP_BAD_GATEWAY, "the server answered a run id that is not 32 hex digits");
        return;
    }
    while (sce_clock_ms() < deadline) {
        sce_run_events *e = NULL;
        int done;

        rv = gw_backends_run_poll(x->backends, run_id, tenant, seq, J0_WAIT_POLL_MS, &e, err,
                                  sizeof(err));
        if (rv != SCE_OK)
            break; /* forgotten already, failed, or lost: GET below says what there is */
        done = e->done;
        if (e->running)
            state = J0_STATUS_PROCESSING;
        seq = e->next_seq;
        sce_run_events_free(e);
        if (done)
            break;
    }
    if (!reader_init(&rd, x, a)) {
        /* Checked before the run started: only out of memory here. */
        gw_answer_ok(a, MHD_HTTP_CREATED, json_pack("{s:s}", "token", token), NULL, token);
        return;
    }
    rd.paid_reads = 1;
    switch (read_submission(&rd, run_id, &body, a)) {
    case READ_OK:
        break;
    case READ_UTF8:
        body = json_pack("{s:s, s:s}", "token", token, "error", J0_UTF8_ERROR);
        break;
    default:
        body = known_submission(&rd, token, meta_text, state);
        break;
    }
    gw_answer_ok(a, MHD_HTTP_CREATED, body, NULL, token);
    reader_free(&rd);
}

/* POST /submissions. */
static void answer_create(const gw_route_ctx *x, gw_answer *a)
{
    int base64 = query_true(x, "base64_encoded"), wait = query_true(x, "wait");
    json_t *root, *errors = NULL, *fields;
    char err[1024], run_id[SCE_RUN_ID_MAX + 1], token[40] = "", *bad = NULL;
    uint32_t timeout_ms = 0;
    j0_submission s;
    int rv;

    /* Judge0 checks ?fields= before anything else. */
    if ((fields = j0_fields_parse(query(x, "fields"), &bad)) == NULL) {
        j0_error(a, bad != NULL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                 bad != NULL ? bad : "out of memory");
        free(bad);
        return;
    }
    json_decref(fields);
    if ((root = body_json(x, a)) == NULL)
        return;
    rv = j0_submission_parse(root, base64, sce_wall_ms(), &s, &errors);
    json_decref(root);
    if (rv == SCE_ERR_INVALID_ARGUMENT) {
        gw_answer_ok(a, J0_HTTP_UNPROCESSABLE, errors, NULL, "submission refused");
        return;
    }
    if (rv != SCE_OK) {
        j0_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    if (!gw_routes_admit(x, 1, a))
        goto out;
    rv = start(x, &s, run_id, sizeof(run_id), &timeout_ms, err, sizeof(err));
    if (rv == SCE_ERR_INVALID_ARGUMENT) {
        gw_answer_ok(a, J0_HTTP_UNPROCESSABLE, start_refusal(&s, err), NULL, err);
        goto out;
    }
    if (rv != SCE_OK) {
        server_error(a, rv, err);
        goto out;
    }
    if (wait) {
        wait_and_answer(x, run_id, s.meta, timeout_ms, a);
        goto out;
    }
    if (!j0_token_from_run_id(run_id, token, sizeof(token))) {
        j0_error(a, MHD_HTTP_BAD_GATEWAY, "the server answered a run id that is not 32 hex digits");
        goto out;
    }
    gw_answer_ok(a, MHD_HTTP_CREATED, json_pack("{s:s}", "token", token), NULL, token);
out:
    j0_submission_free(&s);
}

/* POST /submissions/batch: {"submissions": [...]}; never waits (as Judge0). */
static void answer_batch_create(const gw_route_ctx *x, gw_answer *a)
{
    int base64 = query_true(x, "base64_encoded"), rv = SCE_OK;
    json_t *root, *items, *list = NULL;
    j0_submission subs[J0_BATCH_MAX];
    char ids[J0_BATCH_MAX][SCE_RUN_ID_MAX + 1], err[1024], msg[128], token[40] = "";
    size_t n = 0, valid = 0, started = 0, i;
    uint32_t timeout_ms;
    int64_t now_ms = sce_wall_ms();

    memset(subs, 0, sizeof(subs));
    memset(ids, 0, sizeof(ids));
    if ((root = body_json(x, a)) == NULL)
        return;
    items = json_object_get(root, "submissions");
    n = json_is_array(items) ? json_array_size(items) : 0;
    if (n > J0_BATCH_MAX) {
        batch_too_large(a);
        goto out;
    }
    if (n == 0) {
        j0_error(a, MHD_HTTP_BAD_REQUEST, "there should be at least one submission in a batch");
        goto out;
    }
    if ((list = json_array()) == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        json_t *errors = NULL;

        rv = j0_submission_parse(json_array_get(items, i), base64, now_ms, &subs[i], &errors);
        if (rv == SCE_ERR_INVALID_ARGUMENT)
            json_array_append_new(list, errors);
        else if (rv != SCE_OK)
            goto oom;
        else {
            json_array_append_new(list, json_null()); /* its token, once started */
            valid++;
        }
    }
    if (valid > 0 && !gw_routes_admit(x, valid, a))
        goto out;
    for (i = 0; i < n; i++) {
        if (subs[i].meta == NULL)
            continue;
        rv = start(x, &subs[i], ids[i], sizeof(ids[i]), &timeout_ms, err, sizeof(err));
        if (rv == SCE_ERR_INVALID_ARGUMENT) {
            json_array_set_new(list, i, start_refusal(&subs[i], err));
            continue;
        }
        if (rv != SCE_OK) {
            /* All or nothing, as Judge0 checks its queue for the whole
             * batch first: the runs started are cancelled. */
            for (size_t k = 0; k < i; k++)
                if (ids[k][0] != '\0')
                    gw_backends_run_cancel(x->backends, ids[k], gw_routes_caller(x).tenant, msg,
                                           sizeof(msg));
            server_error(a, rv, err);
            goto out;
        }
        started++;
        if (j0_token_from_run_id(ids[i], token, sizeof(token)))
            json_array_set_new(list, i, json_pack("{s:s}", "token", token));
        else
            json_array_set_new(list, i,
                               json_pack("{s:[s]}", "base",
                                         "the server answered a run id that is not 32 hex "
                                         "digits"));
    }
    snprintf(msg, sizeof(msg), "batch of %zu submissions, %zu started", n, started);
    gw_answer_ok(a, started > 0 ? MHD_HTTP_CREATED : J0_HTTP_UNPROCESSABLE, json_incref(list), NULL,
                 msg);
    goto out;
oom:
    j0_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
out:
    for (i = 0; i < J0_BATCH_MAX; i++)
        j0_submission_free(&subs[i]);
    json_decref(list);
    json_decref(root);
}

/* ------------------------------------------------------------ the routes */

static void answer_submissions(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    const char *rest = x->url + strlen(r->path);
    int post = strcmp(x->method, "POST") == 0;

    if (rest[0] == '\0' && strcmp(r->path, "/submissions") == 0) {
        if (post)
            answer_create(x, a);
        else
            j0_error(a, MHD_HTTP_FORBIDDEN,
                     "listing submissions is not available on sce-gateway: GET /history lists "
                     "the runs");
        return;
    }
    if (strcmp(rest, "batch") == 0) {
        if (post)
            answer_batch_create(x, a);
        else
            answer_batch_show(x, a);
        return;
    }
    if (post || strchr(rest, '/') != NULL) {
        gw_routes_not_found(a, x->method, x->url);
        return;
    }
    answer_show(x, rest, a);
}

void gw_route_judge0(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    switch (r->id) {
    case GW_ROUTE_J0_LANGUAGES:
        answer_languages(r, x, a);
        return;
    case GW_ROUTE_J0_STATUSES:
        gw_answer_ok(a, MHD_HTTP_OK, j0_statuses_json(), NULL, NULL);
        return;
    case GW_ROUTE_J0_INFO:
        answer_info(x, a);
        return;
    case GW_ROUTE_J0_SUBMISSIONS:
        answer_submissions(r, x, a);
        return;
    default:
        gw_routes_not_found(a, x->method, x->url);
        return;
    }
}
