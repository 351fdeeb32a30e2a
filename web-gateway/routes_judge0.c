/*
 * routes_judge0.c - see routes_judge0.h.  (Being written: every route answers 501.)
 */
#include "routes_judge0.h"

#include "sce/err.h"

void gw_route_judge0(const gw_route *r, const gw_route_ctx *x, gw_answer *a)
{
    (void)r;
    (void)x;
    gw_answer_error(a, MHD_HTTP_NOT_IMPLEMENTED, SCE_ERR_UNIMPLEMENTED, "not implemented yet");
}
