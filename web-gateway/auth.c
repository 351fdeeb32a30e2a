/*
 * auth.c - the bearer token check of auth.h.  The scheme name is matched
 * in any case and the token is trimmed of blanks, as RFC 6750 allows; the
 * comparison itself is tenants.c's, in constant time.
 *
 * Threads: any (no state).  Errors: a refusal is -1 with its lines.
 */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/seterr.h"

int gw_auth_check(const gw_tenants *tenants, const char *h, const gw_tenant **who, char *msg,
                  size_t msglen, char *www, size_t wwwlen)
{
    const char *tok;
    size_t n;

    if (h == NULL) {
        sce_seterr(msg, msglen, "Authorization: missing; send 'Authorization: Bearer <token>'");
        snprintf(www, wwwlen, "Bearer realm=\"sce\"");
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        sce_seterr(msg, msglen, "Authorization: expected the Bearer scheme: 'Bearer <token>'");
        snprintf(www, wwwlen, "Bearer realm=\"sce\", error=\"invalid_request\"");
        return -1;
    }
    for (tok = h + 6; *tok == ' ' || *tok == '\t'; tok++)
        ;
    for (n = strlen(tok); n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'); n--)
        ;
    if ((*who = gw_tenants_find(tenants, tok, n)) == NULL) {
        sce_seterr(msg, msglen, "Authorization: the bearer token is not valid");
        snprintf(www, wwwlen, "Bearer realm=\"sce\", error=\"invalid_token\"");
        return -1;
    }
    return 0;
}
