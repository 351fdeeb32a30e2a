/*
 * routes_project.c - POST /run-zip, POST /run-batch, GET /history and
 * GET /history/{id}.
 *
 * Each route checks everything the gateway can check before anything is
 * sent: a ZIP is read in full with libsce's bundle reader (paths, links,
 * devices, duplicates, entry and byte caps) and its entry must be one of
 * its files; a batch must be well-formed JSON in every task; history
 * parameters must be numbers and verdict names.  Only then is the client's
 * rate limit asked (a request the gateway refuses by itself costs nothing)
 * and the server called (a history read counts as one run: it costs the
 * server a database read).  What the server alone knows (its languages, its
 * limits, its batch size) comes back as its own message, mapped to the HTTP
 * status like every other route's (gw_json_http_status()).
 *
 * The entry of a ZIP, when the form names none: main.py for Python;
 * index.js, else main.js, for Node.js (the reference executors use
 * index.js, the server's default is main.js); with no language either,
 * main.py or one of those two, and the language follows from it.
 *
 * Tenants (tenants.h): every run and batch is sent with the caller's
 * tenant, which the server records with it; a history read asks the
 * server for the caller's runs only, unless the caller's token is an
 * admin's (or there are no tenants), so the scope is enforced by the
 * server's query and not by filtering here.
 */
#include "routes_project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/seterr.h"
#include "gateway_limits.h"
#include "json.h"
#include "sce/err.h"

static const gw_multipart_field zip_fields[] = {
    {"file", SCE_ZIP_MAX_BYTES, 1},
    {"entry", GW_ZIP_ENTRY_MAX_BYTES, 0},
    {"language", GW_ZIP_LANGUAGE_MAX_BYTES, 0},
};
#define ZIP_NFIELDS (sizeof(zip_fields) / sizeof(zip_fields[0]))
#define ZIP_BODY_MAX                                                                               \
    (SCE_ZIP_MAX_BYTES + GW_ZIP_ENTRY_MAX_BYTES + GW_ZIP_LANGUAGE_MAX_BYTES +                      \
     GW_MULTIPART_SLACK_BYTES)

/* ------------------------------------------------------------ /run-zip */

int gw_route_run_zip_begin(struct MHD_Connection *c, unsigned long long announced,
                           gw_multipart **out, unsigned *status, char *err, size_t errlen)
{
    return gw_multipart_begin(c, announced, zip_fields, ZIP_NFIELDS, ZIP_BODY_MAX, out, status, err,
                              errlen);
}

/* A text field of the form: NULL when absent or empty (a form's empty
 * input means "not given"); SCE_ERR_INVALID_ARGUMENT if it holds a NUL. */
static int text_field(const gw_multipart *m, const char *name, const char **out, char *err,
                      size_t errlen)
{
    size_t len = 0;
    const char *v = gw_multipart_value(m, name, &len);

    *out = NULL;
    if (v == NULL || len == 0)
        return SCE_OK;
    if (strlen(v) != len) {
        sce_seterr(err, errlen, "%s: contains a NUL character", name);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    *out = v;
    return SCE_OK;
}

static int bundle_has(const sce_bundle *b, const char *path)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->files[i].path, path) == 0)
            return 1;
    return 0;
}

/* The entry when the form names none (see the top of this file); NULL
 * leaves the choice to sce_bundle_pick_entry(). */
static int default_entry(const sce_bundle *b, const char *language, const char **entry, char *err,
                         size_t errlen)
{
    const char *js = bundle_has(b, "index.js")  ? "index.js"
                     : bundle_has(b, "main.js") ? "main.js"
                                                : NULL;
    int py = bundle_has(b, "main.py");

    *entry = NULL;
    if (language != NULL && strcmp(language, "node") == 0) {
        if (js == NULL) {
            sce_seterr(err, errlen,
                       "zip: neither 'index.js' nor 'main.js' is in the archive; name "
                       "the entry file");
            return SCE_ERR_INVALID_ARGUMENT;
        }
        *entry = js;
    } else if (language == NULL) {
        if (py && js != NULL) {
            sce_seterr(err, errlen,
                       "zip: both main.py and %s are in the archive; name the entry file", js);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        if (!py && js == NULL) {
            sce_seterr(err, errlen,
                       "zip: none of main.py, index.js and main.js is in the archive; "
                       "name the entry file");
            return SCE_ERR_INVALID_ARGUMENT;
        }
        *entry = py ? "main.py" : js;
    }
    return SCE_OK;
}

int gw_route_run_zip_request(gw_multipart *m, const gw_caller *who, sce_run_request *rq,
                             sce_bundle **bundle, gw_answer *a)
{
    const char *file, *entry, *language, *picked_entry, *picked_language;
    sce_bundle *b = NULL;
    char err[1024];
    unsigned status = 0;
    size_t flen = 0;
    int rv;

    gw_answer_init(a);
    *bundle = NULL;
    if ((rv = gw_multipart_end(m, &status, err, sizeof(err))) != SCE_OK) {
        gw_answer_error(a, status, rv, err);
        return 0;
    }
    if ((file = gw_multipart_value(m, "file", &flen)) == NULL) {
        gw_answer_error(a, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT, "file: missing");
        return 0;
    }
    if ((rv = text_field(m, "entry", &entry, err, sizeof(err))) != SCE_OK ||
        (rv = text_field(m, "language", &language, err, sizeof(err))) != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        return 0;
    }
    /* Every check of a hostile archive happens here, before anything is
     * sent to the server. */
    if ((rv = sce_bundle_from_zip(file, flen, NULL, &b, err, sizeof(err))) != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        return 0;
    }
    if (entry == NULL && (rv = default_entry(b, language, &entry, err, sizeof(err))) != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        sce_bundle_free(b);
        return 0;
    }
    rv = sce_bundle_pick_entry(b, language, entry, &picked_entry, &picked_language, err,
                               sizeof(err));
    if (rv != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        sce_bundle_free(b);
        return 0;
    }
    memset(rq, 0, sizeof(*rq));
    rq->language = picked_language;
    rq->files = b->files;
    rq->nfiles = b->count;
    rq->entry = picked_entry;
    rq->tenant = who->tenant;
    *bundle = b;
    return 1;
}

void gw_route_run_zip(gw_backends *bs, gw_multipart *m, gw_admit_fn admit, void *admit_arg,
                      const gw_caller *who, gw_answer *a)
{
    sce_bundle *b = NULL;
    sce_run_request rq;
    sce_run_result *res = NULL;
    char err[1024];
    int rv;

    if (!gw_route_run_zip_request(m, who, &rq, &b, a))
        return;
    if (gw_answer_admitted(admit, admit_arg, 1, a)) {
        rv = gw_backends_run_project(bs, &rq, &res, err, sizeof(err));
        gw_answer_run(a, rv, res, err);
    }
    sce_bundle_free(b);
}

/* ------------------------------------------------------------ /run-batch */

void gw_route_run_batch(gw_backends *bs, const char *body, size_t len, gw_admit_fn admit,
                        void *admit_arg, const gw_caller *who, gw_answer *a)
{
    gw_batch_input in;
    sce_batch_result *res = NULL;
    char err[1024], note[64];
    size_t ok = 0;
    int rv;

    gw_answer_init(a);
    if ((rv = gw_json_batch_input(body, len, &in, err, sizeof(err))) != SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        return;
    }
    /* Each task is a run. */
    if (!gw_answer_admitted(admit, admit_arg, in.count, a))
        goto out;
    for (size_t i = 0; i < in.count; i++)
        in.reqs[i].tenant = who->tenant;
    rv = gw_backends_run_batch(bs, in.reqs, in.count, &res, err, sizeof(err));
    if (rv != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        goto out;
    }
    for (size_t i = 0; i < res->count; i++)
        ok += res->items[i].status == SCE_OK;
    snprintf(note, sizeof(note), "batch of %zu tasks, %zu ran", res->count, ok);
    gw_answer_ok(a, MHD_HTTP_OK, sce_json_batch_result(res), res->request_id, note);
    sce_batch_result_free(res);
out:
    gw_batch_input_free(&in);
}

/* ------------------------------------------------------------ /history */

void gw_route_history(gw_backends *bs, const char *limit, const char *offset, const char *verdict,
                      const char *language, const char *tenant, gw_admit_fn admit, void *admit_arg,
                      const gw_caller *who, gw_answer *a)
{
    sce_history_query q;
    sce_history_page *p = NULL;
    char err[1024], note[64];
    int rv;

    gw_answer_init(a);
    if ((rv = gw_json_history_query(limit, offset, verdict, language, &q, err, sizeof(err))) !=
        SCE_OK) {
        gw_answer_parse_error(a, rv, err);
        return;
    }
    if (tenant != NULL && tenant[0] == '\0')
        tenant = NULL;
    /* A tenant's token lists its own runs only; naming itself is allowed. */
    if (!who->sees_all && tenant != NULL &&
        (who->tenant == NULL || strcmp(tenant, who->tenant) != 0)) {
        gw_answer_error(a, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT,
                        "tenant: only an admin token may list another tenant's runs");
        return;
    }
    if (!who->sees_all && who->tenant == NULL) {
        /* Not reached (a caller who does not see all has a name); should it
         * be, nothing is listed rather than everything. */
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                        "caller has no tenant");
        return;
    }
    q.tenant = who->sees_all ? tenant : who->tenant;
    if (!gw_answer_admitted(admit, admit_arg, 1, a))
        return;
    if ((rv = gw_backends_history(bs, &q, &p, err, sizeof(err))) != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        return;
    }
    snprintf(note, sizeof(note), "%zu of %llu entries", p->count, (unsigned long long)p->total);
    gw_answer_ok(a, MHD_HTTP_OK, gw_json_history(p, q.offset), NULL, note);
    sce_history_page_free(p);
}

/* A run's id in a path: 1 to 18 decimal digits, no sign, no leading zero
 * (so each run has one path); 0 when it is not one. */
static int64_t path_id(const char *text)
{
    int64_t v = 0;
    size_t n = text != NULL ? strlen(text) : 0;

    if (n == 0 || n > 18 || text[0] == '0' || strspn(text, "0123456789") != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (text[i] - '0');
    return v;
}

void gw_route_history_entry(gw_backends *bs, const char *id, gw_admit_fn admit, void *admit_arg,
                            const gw_caller *who, gw_answer *a)
{
    sce_history_entry *e = NULL;
    int64_t n = path_id(id);
    char err[1024], note[40];
    int rv;

    gw_answer_init(a);
    if (!who->sees_all && who->tenant == NULL) {
        gw_answer_error(a, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL,
                        "caller has no tenant");
        return;
    }
    if (n == 0) {
        gw_answer_error(a, MHD_HTTP_NOT_FOUND, SCE_ERR_NOT_FOUND,
                        "no such run: /history/ takes a run's id, e.g. /history/42");
        return;
    }
    if (!gw_answer_admitted(admit, admit_arg, 1, a))
        return;
    /* Another tenant's run is looked for among the caller's own, so the
     * answer is the same 404 as for a run that does not exist: ids tell
     * nothing of other tenants. */
    rv = gw_backends_history_get(bs, n, who->sees_all ? NULL : who->tenant, &e, err, sizeof(err));
    if (rv != SCE_OK) {
        gw_answer_sce_error(a, rv, err);
        return;
    }
    snprintf(note, sizeof(note), "run %lld", (long long)n);
    gw_answer_ok(a, MHD_HTTP_OK, sce_json_history_entry(e), NULL, note);
    sce_history_entry_free(e);
}
