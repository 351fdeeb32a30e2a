/*
 * auth.h - sce-gateway's bearer tokens: is the Authorization header one of
 * the tenants' tokens (tenants.h), and if not, what the 401 says.
 *
 * Which routes need a token is the route table's to say (routes.h:
 * /healthz, the page and CORS preflights are anonymous).  The check runs
 * on the headers alone, before a byte of body is read, so a refused client
 * never gets a run started.
 *
 * What it does not do: load tokens (tenants.c), read the connection (the
 * caller passes the header's value), answer (http.c).  Pure: the result
 * depends on its arguments only.  Threads: any.
 */
#ifndef SCE_GATEWAY_AUTH_H
#define SCE_GATEWAY_AUTH_H

#include <stddef.h>

#include "tenants.h"

/* Checks an `Authorization: Bearer <token>` value (NULL: no header)
 * against every tenant's token in constant time.  Returns 0 with the
 * tenant in *who (borrowed from tenants) if one matches; else -1 with the
 * error line in msg and the WWW-Authenticate value (RFC 6750) in www. */
int gw_auth_check(const gw_tenants *tenants, const char *authorization, const gw_tenant **who,
                  char *msg, size_t msglen, char *www, size_t wwwlen);

#endif
