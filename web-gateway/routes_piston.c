/*
 * routes_piston.c - see routes_piston.h.  (Being written: every route answers 501.)
 */
#include "routes_piston.h"

#include "sce/err.h"

void gw_route_piston(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    (void)r;
    (void)x;
    gw_answer_error(a, MHD_HTTP_NOT_IMPLEMENTED, SCE_ERR_UNIMPLEMENTED, "not implemented yet");
}
