/*
 * routes.h - sce-gateway's route table and the API's answers: POST /run
 * (plain or streamed), POST /runs/{id}/stdin and /cancel, GET /sce/languages,
 * GET /healthz here; POST /run-zip, POST /run-batch,
 * GET /history and GET /history/{id} through routes_project.h.
 *
 * http.c owns the connection: it finds the route (gw_routes_find), applies
 * the guards, reads the body, and once the request is in asks
 * gw_routes_answer() for the answer, which it sends as it is.  The page's
 * routes ("/", "/assets/") are in the table but answered by static.c.
 *
 * The rate limit is applied here, to the client of the request (the TCP
 * peer, or the last address of client_ip_header behind a proxy), and only
 * once a request is known to be sent to the server: a request the gateway
 * refuses by itself costs nothing downstream.
 *
 * Threads: any request thread; the table is constant.  Ownership: every
 * input of gw_route_ctx is borrowed for the call; the answer's body is the
 * caller's.
 */
#ifndef SCE_GATEWAY_ROUTES_H
#define SCE_GATEWAY_ROUTES_H

#include <stddef.h>

#include <microhttpd.h>

#include "answer.h"
#include "backends.h"
#include "client_key.h"
#include "common/buf.h"
#include "live.h"
#include "multipart.h"
#include "rate_limit.h"
#include "routes_project.h"
#include "sce/client.h"
#include "sse.h"
#include "tenants.h"

typedef enum gw_route_id {
    GW_ROUTE_RUN,
    GW_ROUTE_LANGUAGES,
    GW_ROUTE_HEALTH,
    GW_ROUTE_PAGE,
    GW_ROUTE_ASSET,
    GW_ROUTE_RUN_ZIP,       /* routes_project.c; a multipart body */
    GW_ROUTE_RUN_BATCH,     /* routes_project.c; a JSON body read like /run's */
    GW_ROUTE_HISTORY,       /* routes_project.c */
    GW_ROUTE_HISTORY_ENTRY, /* GET /history/{id}, routes_project.c */
    GW_ROUTE_METRICS,       /* GET /metrics: text, answered by http.c */
    GW_ROUTE_RUNS,          /* POST /runs/{id}/stdin and /runs/{id}/cancel; a raw body */
    /* Piston v2 (routes_piston.h), also under /api/v2/piston/. */
    GW_ROUTE_PISTON_RUNTIMES, /* GET /api/v2/runtimes */
    GW_ROUTE_PISTON_EXECUTE,  /* POST /api/v2/execute; JSON whatever its Content-Type */
    /* Judge0 CE (routes_judge0.h). */
    GW_ROUTE_J0_LANGUAGES,   /* GET /languages, /languages/{id}, /languages/all */
    GW_ROUTE_J0_STATUSES,    /* GET /statuses */
    GW_ROUTE_J0_INFO,        /* GET /about, /config_info */
    GW_ROUTE_J0_SUBMISSIONS, /* POST and GET /submissions, /submissions/{token}, .../batch */
} gw_route_id;

typedef struct gw_route {
    const char *path; /* exact; or a prefix when it ends in '/' and is not "/" */
    gw_route_id id;
    const char *allow;
    const char *allow_cors; /* the same with OPTIONS, when CORS is on */
    int anonymous;          /* callable without a token (/healthz, the page) */
    int json_body;          /* a POST with a JSON body, kept up to body_limit */
    int is_static;          /* answered by static.c */
    int raw_body;           /* a POST whose body is kept as bytes, any Content-Type */
    int json_any_type;      /* with json_body: the body is JSON whatever its Content-Type
                             * (Piston's clients send none, or text/plain) */
} gw_route;

/* The route of a URL path, or NULL. */
const gw_route *gw_routes_find(const char *url);

/* The route's label in the metrics: its path ("/run", "/history/{id}"),
 * "page", "asset", or "other" for NULL (no route).  Static. */
const char *gw_routes_label(const gw_route *r);

/* 1 if `method` is one the route serves (OPTIONS is answered apart). */
int gw_routes_method_allowed(const gw_route *r, const char *method);

/* The Allow header's value for the route. */
const char *gw_routes_allow(const gw_route *r, int cors_on);

/* 1 if the request needs no token: an anonymous route, or a CORS
 * preflight (browsers send those without credentials; they run nothing).
 * Unknown paths (r NULL) do need one: an anonymous client learns
 * nothing. */
int gw_routes_anonymous(const gw_route *r, const char *method, int cors_on);

/* The 404 of a path no route serves: "no route for METHOD PATH", the path
 * cut at GW_ERROR_PATH_MAX bytes. */
void gw_routes_not_found(gw_answer *a, const char *method, const char *url);

/* The 405 of a method the route does not serve, with Allow. */
void gw_routes_not_allowed(gw_answer *a, const gw_route *r, const char *method, const char *url,
                           int cors_on);

/* What one API request has, once it is all in. */
typedef struct gw_route_ctx {
    gw_backends *backends;      /* the servers (backends.h) */
    struct gw_metrics *metrics; /* counts refusals; never NULL */
    struct MHD_Connection *c; /* for query parameters and the client's address */
    const char *url;
    const char *method;           /* "GET", "HEAD", "POST" */
    sce_buf *body;                /* a JSON body (json_body routes); freed once parsed */
    gw_multipart *upload;         /* POST /run-zip's form, else NULL */
    const gw_tenant *tenant;      /* whose token it carries; NULL without tokens */
    gw_rate *rate;                /* NULL: no rate limit */
    const char *client_ip_header; /* NULL: the client is the TCP peer */
    gw_live *live;                /* the live-run caps (live.h) */
    gw_sse **stream;              /* out: a streamed run's answer, or left NULL */
} gw_route_ctx;

/* The request's client as the rate limit and the live-run caps know it
 * (client_key.h): the last address of client_ip_header behind a proxy,
 * else the TCP peer. */
void gw_routes_client_key(const gw_route_ctx *x, unsigned char key[GW_CLIENT_KEY_BYTES]);

/* The caller as its token says (gw_caller, routes_project.h). */
gw_caller gw_routes_caller(const gw_route_ctx *x);

/* The rate limit, for `runs` runs of the request's client: 1 to go ahead,
 * else 0 with the 429 and its Retry-After in *a.  Ask only once the
 * request is known to be sent to the server. */
int gw_routes_admit(const gw_route_ctx *x, size_t runs, gw_answer *a);

/* The answer of an API route (not a static one) whose method is allowed.
 * POST /run and POST /run-zip with "Accept: text/event-stream" start a
 * followed run instead: on success *x->stream is its stream (sse.h; the
 * caller sends it and holds the request's reference) and *a a 200 for the
 * log; any error before the start is the usual answer in *a.  The stream
 * holds one live run (live.h) of the client, as rate_limit.h keys it. */
void gw_routes_answer(const gw_route *r, const gw_route_ctx *x, gw_answer *a);

#endif
