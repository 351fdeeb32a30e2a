/*
 * routes_project.h - what POST /run-zip, POST /run-batch, GET /history and
 * GET /history/{id} answer.
 *
 * http.c owns the connection: it reads the body, applies the guards and
 * sends; routes.c routes and applies the rate limit.  The functions here
 * take what was read, call sce-server through libsce and fill a gw_answer
 * (answer.h) that http.c sends as it is.  The run-zip body is a
 * multipart/form-data upload (multipart.h) read into memory and turned
 * into a project by libsce's sce_bundle_from_zip(), the same code as the
 * sce CLI's, so a hostile archive is refused here and never reaches the
 * server.
 *
 * Ownership: a->body is a new reference for the sender; inputs are
 * borrowed.  Every function fills *a on every path.
 */
#ifndef SCE_GATEWAY_ROUTES_PROJECT_H
#define SCE_GATEWAY_ROUTES_PROJECT_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "answer.h"
#include "backends.h"
#include "multipart.h"
#include "sce/client.h"

/* Who is calling, as the bearer token says (tenants.h).  Without tokens, or
 * with the single token of before tenants: no tenant, and the whole
 * history. */
typedef struct gw_caller {
    const char *tenant; /* recorded with the caller's runs; NULL: none */
    int sees_all;       /* GET /history lists every tenant's runs (admin) */
} gw_caller;

/* POST /run-zip, when the headers are in: starts reading the form (fields
 * file, entry, language; see gw_multipart_begin() for what is refused at
 * once, with *status and err). */
int gw_route_run_zip_begin(struct MHD_Connection *c, unsigned long long announced,
                           gw_multipart **out, unsigned *status, char *err, size_t errlen);

/* POST /run-zip, when the body is in, up to the run: checks the archive,
 * picks the entry and language and fills *req for `who` (its strings and
 * files point into the form and into *bundle, which the caller frees with
 * sce_bundle_free() once the request is sent).  Returns 1; or 0 with the
 * error in *a and nothing to free.  Takes nothing from the rate limit:
 * the caller does, once it knows it will send the request (a plain run,
 * or a streamed one once its live run is taken). */
int gw_route_run_zip_request(gw_multipart *m, const gw_caller *who, sce_run_request *req,
                             sce_bundle **bundle, gw_answer *a);

/* POST /run-zip, when the body is in: checks the archive, picks the entry
 * and language, takes one run from admit and runs the project for `who`. */
void gw_route_run_zip(gw_backends *bs, gw_multipart *m, gw_admit_fn admit, void *admit_arg,
                      const gw_caller *who, gw_answer *a);

/* POST /run-batch with its JSON body: takes one run per task from admit
 * and runs them in one call for `who`. */
void gw_route_run_batch(gw_backends *bs, const char *body, size_t len, gw_admit_fn admit,
                        void *admit_arg, const gw_caller *who, gw_answer *a);

/* GET /history with its query parameters (each NULL when absent): the
 * caller's runs, or with who->sees_all every tenant's (`tenant` then
 * narrows them to one; for any other caller it may only name itself).
 * A read takes one run from admit, like a run. */
void gw_route_history(gw_backends *bs, const char *limit, const char *offset, const char *verdict,
                      const char *language, const char *tenant, gw_admit_fn admit, void *admit_arg,
                      const gw_caller *who, gw_answer *a);

/* GET /history/{id}: that run whole, under the same rule: another
 * tenant's run, like a missing one or an id that is not a number, is 404. */
void gw_route_history_entry(gw_backends *bs, const char *id, gw_admit_fn admit, void *admit_arg,
                            const gw_caller *who, gw_answer *a);

#endif
