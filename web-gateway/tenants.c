/*
 * tenants.c - the token file and constant-time token look-up (see
 * tenants.h).
 */
#include "tenants.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway_limits.h"
#include "common/log.h"
#include "common/seterr.h"
#include "sce/err.h"

#define WORDS_MAX 4 /* one more than a line may hold, to say how many there were */

typedef struct word {
    const char *p;
    size_t n;
} word;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A token goes into a header and is compared byte for byte: visible ASCII
 * only, long enough not to be guessed. */
static int token_ok(const char *t, size_t n, char *why, size_t whylen)
{
    if (n < GW_AUTH_TOKEN_MIN || n > GW_AUTH_TOKEN_MAX) {
        sce_seterr(why, whylen, "the token must have %d to %d characters, it has %zu",
                   GW_AUTH_TOKEN_MIN, GW_AUTH_TOKEN_MAX, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
            sce_seterr(why, whylen,
                       "the token may hold only visible ASCII characters (no spaces); "
                       "character %zu is not",
                       i + 1);
            return 0;
        }
    }
    return 1;
}

static int name_ok(const char *s, size_t n, char *why, size_t whylen)
{
    if (n == 0 || n > GW_TENANT_NAME_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") < n) {
        sce_seterr(why, whylen, "a tenant's name is 1 to %d of A-Z a-z 0-9 . _ -",
                   GW_TENANT_NAME_MAX);
        return 0;
    }
    return 1;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void gw_tenants_free(gw_tenants *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++) {
        if (t->items[i].token != NULL) {
            /* Not left behind in freed memory. */
            volatile char *p = t->items[i].token;

            for (size_t k = 0; k < t->items[i].token_len; k++)
                p[k] = 0;
        }
        free(t->items[i].token);
        free(t->items[i].name);
    }
    free(t->items);
    free(t);
}

/* Adds a tenant (name may be NULL); SCE_OK or SCE_ERR_NO_MEMORY. */
static int add(gw_tenants *t, const word *name, const word *token, int admin)
{
    gw_tenant *e = &t->items[t->count];

    memset(e, 0, sizeof(*e));
    if ((name != NULL && (e->name = dup_n(name->p, name->n)) == NULL) ||
        (e->token = dup_n(token->p, token->n)) == NULL) {
        free(e->name);
        return SCE_ERR_NO_MEMORY;
    }
    e->token_len = token->n;
    e->admin = admin;
    t->count++;
    return SCE_OK;
}

int gw_tenants_parse(const char *text, size_t len, const char *where, gw_tenants **out, char *err,
                     size_t errlen)
{
    gw_tenants *t = calloc(1, sizeof(*t));
    size_t *lines = NULL, pos = 0, lineno = 0, bare_line = 0;
    char why[160];
    int rv = SCE_ERR_INVALID_ARGUMENT;

    if (t == NULL || (t->items = calloc(GW_TENANTS_MAX, sizeof(*t->items))) == NULL ||
        (lines = calloc(GW_TENANTS_MAX, sizeof(*lines))) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        sce_seterr(err, errlen, "out of memory");
        goto out;
    }
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos, nw = 0, i = 0;
        word w[WORDS_MAX];

        pos += n + (nl != NULL);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (memchr(line, '\0', n) != NULL) {
            sce_seterr(err, errlen, "%s: line %zu: holds a NUL byte", where, lineno);
            goto out;
        }
        while (i < n && nw < WORDS_MAX) {
            while (i < n && is_blank(line[i]))
                i++;
            if (i == n)
                break;
            w[nw].p = line + i;
            while (i < n && !is_blank(line[i]))
                i++;
            w[nw].n = (size_t)(line + i - w[nw].p);
            nw++;
        }
        if (nw == 0 || w[0].p[0] == '#')
            continue;
        if (nw == WORDS_MAX || (nw == 3 && (w[2].n != 5 || memcmp(w[2].p, "admin", 5) != 0))) {
            sce_seterr(err, errlen, "%s: line %zu: expected NAME TOKEN [admin], got %s", where,
                       lineno, nw == 3 ? "a third word that is not 'admin'" : "4 words or more");
            goto out;
        }
        if (t->count == GW_TENANTS_MAX) {
            sce_seterr(err, errlen, "%s: line %zu: more than %d tenants", where, lineno,
                       GW_TENANTS_MAX);
            goto out;
        }
        if ((nw >= 2 && !name_ok(w[0].p, w[0].n, why, sizeof(why))) ||
            !token_ok(w[nw >= 2].p, w[nw >= 2].n, why, sizeof(why))) {
            sce_seterr(err, errlen, "%s: line %zu: %s", where, lineno, why);
            goto out;
        }
        if (nw == 1)
            bare_line = lineno;
        if (bare_line != 0 && t->count > 0) {
            sce_seterr(err, errlen,
                       "%s: line %zu: a bare TOKEN (no NAME) is allowed only as the file's one "
                       "line; give every line as NAME TOKEN [admin]",
                       where, bare_line);
            goto out;
        }
        for (size_t k = 0; k < t->count; k++) {
            const gw_tenant *o = &t->items[k];
            const word *tok = &w[nw >= 2];

            if (nw >= 2 && o->name != NULL && strlen(o->name) == w[0].n &&
                memcmp(o->name, w[0].p, w[0].n) == 0) {
                sce_seterr(err, errlen, "%s: line %zu: tenant '%s' is already named on line %zu",
                           where, lineno, o->name, lines[k]);
                goto out;
            }
            if (o->token_len == tok->n && memcmp(o->token, tok->p, tok->n) == 0) {
                sce_seterr(err, errlen,
                           "%s: line %zu: the same token as line %zu; each tenant needs its own",
                           where, lineno, lines[k]);
                goto out;
            }
        }
        lines[t->count] = lineno;
        if ((rv = add(t, nw >= 2 ? &w[0] : NULL, &w[nw >= 2], nw == 1 || nw == 3)) != SCE_OK) {
            sce_seterr(err, errlen, "out of memory");
            goto out;
        }
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
    if (t->count == 0) {
        sce_seterr(err, errlen, "%s: no token: expected a TOKEN, or lines of NAME TOKEN [admin]",
                   where);
        goto out;
    }
    *out = t;
    t = NULL;
    rv = SCE_OK;
out:
    free(lines);
    gw_tenants_free(t);
    return rv;
}

int gw_tenants_load(const char *path, gw_tenants **out, char *err, size_t errlen)
{
    char *buf = NULL;
    struct stat st;
    size_t got = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rv = SCE_ERR_INVALID_ARGUMENT;

    if (fd < 0) {
        sce_seterr(err, errlen, "auth_token_file: cannot open %s: %s", path, strerror(errno));
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
        SCE_LOG(SCE_LOG_WARN, NULL, "auth_token_file %s can be read by other users (chmod 600 it)",
                path);
    if ((buf = malloc(GW_TENANTS_FILE_MAX + 1)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    while (got <= GW_TENANTS_FILE_MAX &&
           (r = read(fd, buf + got, GW_TENANTS_FILE_MAX + 1 - got)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            sce_seterr(err, errlen, "auth_token_file: cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        got += (size_t)r;
    }
    if (got > GW_TENANTS_FILE_MAX) {
        sce_seterr(err, errlen, "auth_token_file: %s is larger than %d bytes", path,
                   GW_TENANTS_FILE_MAX);
        goto out;
    }
    rv = gw_tenants_parse(buf, got, "auth_token_file", out, err, errlen);
out:
    if (buf != NULL) {
        volatile char *p = buf;

        for (size_t i = 0; i < got; i++)
            p[i] = 0;
        free(buf);
    }
    close(fd);
    return rv;
}

int gw_tenants_single(const char *token, gw_tenants **out, char *err, size_t errlen)
{
    gw_tenants *t = NULL;
    word w = {token, strlen(token)};
    char why[160];

    if (!token_ok(w.p, w.n, why, sizeof(why))) {
        sce_seterr(err, errlen, "auth_token: %s", why);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->items = calloc(1, sizeof(*t->items))) == NULL ||
        add(t, NULL, &w, 1) != SCE_OK) {
        gw_tenants_free(t);
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    *out = t;
    return SCE_OK;
}

/* 1 if given[0..n) is the token, else 0; time depends on the token's
 * length only. */
static unsigned token_equal(const gw_tenant *e, const char *given, size_t n)
{
    volatile unsigned diff = n != e->token_len;

    for (size_t i = 0; i < e->token_len; i++)
        diff |= (unsigned char)e->token[i] ^ (unsigned char)(i < n ? given[i] : 0);
    return ((diff | (0u - diff)) >> (sizeof(diff) * 8 - 1)) ^ 1u;
}

const gw_tenant *gw_tenants_find(const gw_tenants *t, const char *given, size_t n)
{
    size_t match = SIZE_MAX;

    if (t == NULL)
        return NULL;
    /* Every token is compared, and the match is picked without a branch on
     * the comparison: the time depends on the tokens, never on the guess. */
    for (size_t i = 0; i < t->count; i++) {
        size_t mask = (size_t)0 - (size_t)token_equal(&t->items[i], given, n);

        match = (match & ~mask) | (i & mask);
    }
    return match != SIZE_MAX ? &t->items[match] : NULL;
}
