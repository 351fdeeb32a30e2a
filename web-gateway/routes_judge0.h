/*
 * routes_judge0.h - Judge0 CE 1.13's API on sce-gateway: /submissions
 * (single, batch, wait, base64_encoded, fields), /languages, /statuses,
 * /about and /config_info, answered as Judge0 answers them, over the same
 * RPC, limits, auth, rate limit and history as sce's own routes.
 *
 * Threads: any request thread.  Ownership: as gw_routes_answer().
 */
#ifndef SCE_GATEWAY_ROUTES_JUDGE0_H
#define SCE_GATEWAY_ROUTES_JUDGE0_H

#include "routes.h"

/* The answer of a GW_ROUTE_J0_* route whose method is allowed. */
void gw_route_judge0(const gw_route *r, const gw_route_ctx *x, gw_answer *a);

#endif
