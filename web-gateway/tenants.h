/*
 * tenants.h - who may call the gateway: the bearer tokens and the tenant
 * each one stands for.
 *
 * The token file (auth_token_file) holds one tenant per line:
 *
 *     # NAME   TOKEN                              [admin]
 *     alice    3f9c0d6e8a7b41d2a5c6e7f8091a2b3c
 *     bob      b7e1c2d3f4a5968778695a4b3c2d1e0f
 *     ops      0a1b2c3d4e5f60718293a4b5c6d7e8f9   admin
 *
 * Words are separated by blanks (spaces, tabs); blank lines and lines whose
 * first word starts with '#' are skipped; a CR before the line end is
 * dropped.  NAME is 1 to 64 of [A-Za-z0-9._-]; TOKEN is 16 to 1024 visible
 * ASCII characters.  A run is recorded under its caller's NAME and GET
 * /history lists only the caller's runs; a third word `admin` lets that
 * token list every tenant's.  A file whose one line is a bare TOKEN is the
 * single-token set-up of before tenants (like the auth_token option): that
 * token is one caller with no name who sees the whole history.  Anything
 * else (a line of one word among others, four words, a third word that is
 * not `admin`, a bad name or token, a name or a token given twice, no
 * tenant at all) is refused with the line's number, never with the token
 * itself.
 *
 * Tokens are compared in constant time: gw_tenants_find() looks at every
 * byte of every token whatever the guess, so the time taken tells nothing
 * of where a guess went wrong or which tenant it was close to.
 *
 * What it does not do: read HTTP headers or decide statuses (http.c), or
 * limit rates.
 */
#ifndef SCE_GATEWAY_TENANTS_H
#define SCE_GATEWAY_TENANTS_H

#include <stddef.h>

#define GW_TENANT_NAME_MAX 64         /* characters of a tenant's name */
#define GW_TENANTS_MAX 1024           /* tenants in one file */
#define GW_TENANTS_FILE_MAX (1 << 20) /* bytes of the token file */

typedef struct gw_tenant {
    char *name; /* NULL for the single token of before tenants */
    char *token;
    size_t token_len;
    int admin; /* lists every tenant's history */
} gw_tenant;

typedef struct gw_tenants {
    gw_tenant *items;
    size_t count;
} gw_tenants;

/* Parses the token file's text (text[0..len), need not be NUL-terminated;
 * `where` names it in messages, e.g. "auth_token_file /etc/sce/tokens").
 * SCE_OK with *out (free with gw_tenants_free); SCE_ERR_INVALID_ARGUMENT
 * with err such as "auth_token_file: line 3: expected NAME TOKEN [admin],
 * got 4 words or more"; SCE_ERR_NO_MEMORY (INTERNAL) when memory runs out. */
int gw_tenants_parse(const char *text, size_t len, const char *where, gw_tenants **out, char *err,
                     size_t errlen);

/* Reads and parses the file at path (at most GW_TENANTS_FILE_MAX bytes).
 * Errors as gw_tenants_parse, and SCE_ERR_INVALID_ARGUMENT when it cannot
 * be read ("auth_token_file: cannot open PATH: <reason>").  A file other
 * users may read is accepted with a warning. */
int gw_tenants_load(const char *path, gw_tenants **out, char *err, size_t errlen);

/* The set of one nameless token that sees everything (the auth_token
 * option).  The token is checked as in a file. */
int gw_tenants_single(const char *token, gw_tenants **out, char *err, size_t errlen);

/* The tenant whose token is given[0..n), or NULL.  Constant time in the
 * guess (see above). */
const gw_tenant *gw_tenants_find(const gw_tenants *t, const char *given, size_t n);

/* Wipes the tokens and frees.  NULL is accepted. */
void gw_tenants_free(gw_tenants *t);

#endif
