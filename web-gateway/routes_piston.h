/*
 * routes_piston.h - Piston v2's REST API on sce-gateway: GET
 * /api/v2/runtimes and POST /api/v2/execute (also under /api/v2/piston/),
 * answered as Piston answers them, over the same RPC, limits, auth, rate
 * limit and history as sce's own routes.  Piston's interactive WebSocket
 * (/api/v2/connect) is ws.h and piston_ws.h.
 *
 * Threads: any request thread.  Ownership: as gw_routes_answer().
 */
#ifndef SCE_GATEWAY_ROUTES_PISTON_H
#define SCE_GATEWAY_ROUTES_PISTON_H

#include "routes.h"

/* The answer of a GW_ROUTE_PISTON_* route whose method is allowed. */
void gw_route_piston(const gw_route *r, const gw_route_ctx *x, gw_answer *a);

#endif
