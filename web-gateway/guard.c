/*
 * guard.c - the Host and Origin checks and the connection counts of
 * guard.h.
 *
 * Names are parsed once, at start-up, into a small table: exact names
 * (lower case, without a trailing dot), suffixes ("*.localhost" matches
 * a.localhost, not localhost itself), and IPv4 and IPv6 addresses compared
 * as bytes, so that [::1] and [0:0::1] are one name.  A Host or an Origin
 * is parsed the same way and looked up; nothing is ever resolved.
 *
 * The connection table has one row per client that holds a connection,
 * found by a linear scan: there are at most max_connections +
 * GW_BUSY_CONNECTIONS_MAX rows in use (a few thousand at the most), and a
 * scan happens once per connection, not per request.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway_limits.h"
#include "common/seterr.h"
#include "sce/err.h"
#include "common/utf8.h"

typedef enum name_kind {
    NAME_EXACT,  /* "localhost", "sce.example.com" */
    NAME_SUFFIX, /* "*.localhost": text holds ".localhost" */
    NAME_V4,
    NAME_V6,
} name_kind;

typedef struct host_name {
    name_kind kind;
    char text[GW_HOST_NAME_MAX + 2]; /* lower case; for addresses, as shown */
    unsigned char addr[16];
} host_name;

/* One client holding connections; free when both counts are 0. */
typedef struct conn_row {
    unsigned char key[GW_CLIENT_KEY_BYTES];
    unsigned served, busy;
} conn_row;

struct gw_guard {
    host_name names[GW_ALLOWED_HOSTS_MAX + 8]; /* the localhost names, listen, allowed_hosts */
    size_t nnames;
    int any_host;        /* allowed_hosts = "*" */
    int wildcard_listen; /* 0.0.0.0, :: or an empty host */
    size_t nallowed;     /* names from allowed_hosts */
    char *cors_origin;   /* NULL: CORS off */

    unsigned max_connections, per_ip;
    pthread_mutex_t lock; /* guards everything below */
    conn_row *rows;
    size_t nrows;
    unsigned served, busy;
};

/* The names every gateway answers to: a browser reaches loopback only by
 * them, and a rebinding attacker cannot make a page of its own carry them
 * (*.localhost never leaves the machine, RFC 6761). */
static const char *const localhost_names[] = {"localhost", "*.localhost", "127.0.0.1", "[::1]"};

/* ------------------------------------------------------------ parsing */

/* One host: "[v6]", a bare v6 address when bare_v6, an IPv4 address, a
 * name, or "*.name" when wildcard.  Returns 0, or -1 if it is none of
 * them. */
static int parse_name(const char *p, size_t n, int bare_v6, int wildcard, host_name *out)
{
    char buf[GW_HOST_NAME_MAX + 2];
    size_t i, start = 0;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n > GW_HOST_NAME_MAX)
        return -1;
    if (p[0] == '[') {
        if (n < 3 || p[n - 1] != ']')
            return -1;
        memcpy(buf, p + 1, n - 2);
        buf[n - 2] = '\0';
        if (inet_pton(AF_INET6, buf, out->addr) != 1)
            return -1;
        out->kind = NAME_V6;
        snprintf(out->text, sizeof(out->text), "[%s]", buf);
        return 0;
    }
    for (i = 0; i < n; i++)
        buf[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
    buf[n] = '\0';
    if (memchr(buf, ':', n) != NULL) {
        if (!bare_v6 || inet_pton(AF_INET6, buf, out->addr) != 1)
            return -1;
        out->kind = NAME_V6;
        snprintf(out->text, sizeof(out->text), "[%s]", buf);
        return 0;
    }
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->kind = NAME_V4;
        snprintf(out->text, sizeof(out->text), "%s", buf);
        return 0;
    }
    if (n > 1 && buf[n - 1] == '.') /* "localhost." is localhost */
        buf[--n] = '\0';
    out->kind = NAME_EXACT;
    if (wildcard && n > 2 && buf[0] == '*' && buf[1] == '.') {
        out->kind = NAME_SUFFIX;
        start = 2;
    }
    if (buf[start] == '\0' || buf[start] == '.' || strstr(buf + start, "..") != NULL)
        return -1;
    for (i = start; i < n; i++)
        if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= '0' && buf[i] <= '9') ||
              buf[i] == '-' || buf[i] == '.' || buf[i] == '_'))
            return -1;
    /* A suffix keeps its dot (".localhost"), so that it never matches the
     * bare name or a name that merely ends in the same letters. */
    snprintf(out->text, sizeof(out->text), "%s%s", out->kind == NAME_SUFFIX ? "." : "",
             buf + start);
    return 0;
}

/* "name", "name:port", "[v6]", "[v6]:port" (a Host header, or an origin
 * after its scheme).  *port gets the port, -1 when there is none.
 * Returns 0, or -1 if malformed. */
static int parse_authority(const char *s, host_name *name, long *port)
{
    const char *rest;
    long v = 0;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (end == NULL)
            return -1;
        rest = end + 1;
    } else {
        rest = s + strcspn(s, ":");
    }
    if (parse_name(s, (size_t)(rest - s), 0, 0, name) != 0)
        return -1;
    *port = -1;
    if (*rest == '\0')
        return 0;
    if (*rest != ':')
        return -1;
    if (*++rest == '\0')
        return 0; /* "name:" is allowed by RFC 9110, and means no port */
    for (size_t i = 0; rest[i] != '\0'; i++) {
        if (rest[i] < '0' || rest[i] > '9' || i >= 5)
            return -1;
        v = v * 10 + (rest[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = v;
    return 0;
}

static int same_name(const host_name *a, const host_name *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == NAME_V4)
        return memcmp(a->addr, b->addr, 4) == 0;
    if (a->kind == NAME_V6)
        return memcmp(a->addr, b->addr, 16) == 0;
    return strcmp(a->text, b->text) == 0;
}

/* Whether a name from a request is entry `want` of the table. */
static int name_matches(const host_name *want, const host_name *got)
{
    size_t n, m;

    if (want->kind != NAME_SUFFIX)
        return same_name(want, got);
    if (got->kind != NAME_EXACT)
        return 0;
    n = strlen(got->text);
    m = strlen(want->text);
    return n > m && strcmp(got->text + n - m, want->text) == 0;
}

static int add_name(gw_guard *g, const char *p, size_t n, char *err, size_t errlen)
{
    char raw[GW_HOST_NAME_MAX + 1], text[GW_GUARD_SHOWN_MAX + 4];
    size_t k = n < GW_HOST_NAME_MAX ? n : GW_HOST_NAME_MAX;
    host_name *h;

    if (g->nnames >= sizeof(g->names) / sizeof(g->names[0]) ||
        g->nallowed >= GW_ALLOWED_HOSTS_MAX) {
        sce_seterr(err, errlen, "allowed_hosts: more than %d names", GW_ALLOWED_HOSTS_MAX);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    h = &g->names[g->nnames];
    if (parse_name(p, n, 1, 1, h) != 0) {
        memcpy(raw, p, k);
        raw[k] = '\0';
        sce_ascii_shown(text, sizeof(text), raw, GW_GUARD_SHOWN_MAX);
        sce_seterr(err, errlen,
                   "allowed_hosts: '%s' is not a host name, '*.' + a name, an IPv4 "
                   "address or an [IPv6] address (give names without scheme, port or path)",
                   text);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    g->nnames++;
    return SCE_OK;
}

/* The host part of the listen address, unless it is a wildcard.  Runs
 * first after the localhost names, so there is room in the table. */
static void add_listen(gw_guard *g, const char *listen)
{
    static const unsigned char zero[16];
    const host_name *h;
    const char *end;
    size_t n;

    if (listen == NULL)
        return;
    if (listen[0] == '[') {
        end = strchr(listen, ']');
        n = end != NULL ? (size_t)(end - listen) + 1 : strlen(listen);
    } else {
        end = strrchr(listen, ':');
        n = end != NULL ? (size_t)(end - listen) : strlen(listen);
    }
    if (n == 0) {
        g->wildcard_listen = 1;
        return;
    }
    /* A malformed address is http.c's to report (it binds it); a name is
     * taken as it is, never resolved. */
    h = &g->names[g->nnames];
    if (parse_name(listen, n, 1, 0, &g->names[g->nnames]) != 0)
        return;
    g->nnames++;
    if ((h->kind == NAME_V4 && memcmp(h->addr, zero, 4) == 0) ||
        (h->kind == NAME_V6 && memcmp(h->addr, zero, 16) == 0)) {
        g->wildcard_listen = 1; /* no client writes 0.0.0.0 or [::] in Host */
        g->nnames--;
        return;
    }
    for (size_t i = 0; i + 1 < g->nnames; i++) {
        if (same_name(&g->names[i], h)) {
            g->nnames--; /* 127.0.0.1 is a localhost name already */
            break;
        }
    }
}

static int add_allowed(gw_guard *g, const char *list, char *err, size_t errlen)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");
        const char *q = p;
        size_t m = n;

        while (m > 0 && (*q == ' ' || *q == '\t')) {
            q++;
            m--;
        }
        while (m > 0 && (q[m - 1] == ' ' || q[m - 1] == '\t'))
            m--;
        if (m == 1 && q[0] == '*') {
            g->any_host = 1;
        } else if (m > 0) {
            if (add_name(g, q, m, err, errlen) != SCE_OK)
                return SCE_ERR_INVALID_ARGUMENT;
            g->nallowed++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return SCE_OK;
}

/* ------------------------------------------------------------ lifecycle */

int gw_guard_new(const gw_guard_config *cfg, gw_guard **out, char *err, size_t errlen)
{
    gw_guard *g = calloc(1, sizeof(*g));
    int rv = SCE_OK;

    if (g == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&g->lock, NULL);
    g->max_connections = cfg->max_connections;
    g->per_ip = cfg->max_connections_per_ip;
    for (size_t i = 0; i < sizeof(localhost_names) / sizeof(localhost_names[0]); i++)
        if ((rv = add_name(g, localhost_names[i], strlen(localhost_names[i]), err, errlen)) !=
            SCE_OK)
            goto out;
    add_listen(g, cfg->listen);
    if ((rv = add_allowed(g, cfg->allowed_hosts, err, errlen)) != SCE_OK)
        goto out;
    if (cfg->cors_origin != NULL && cfg->cors_origin[0] != '\0' &&
        (g->cors_origin = strdup(cfg->cors_origin)) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    g->nrows = (size_t)g->max_connections + GW_BUSY_CONNECTIONS_MAX;
    if ((g->rows = calloc(g->nrows, sizeof(*g->rows))) == NULL) {
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    *out = g;
    g = NULL;
out:
    if (rv == SCE_ERR_NO_MEMORY)
        sce_seterr(err, errlen, "out of memory");
    gw_guard_free(g);
    return rv;
}

void gw_guard_free(gw_guard *g)
{
    if (g == NULL)
        return;
    free(g->rows);
    free(g->cors_origin);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void gw_guard_describe(const gw_guard *g, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    if (g->any_host) {
        snprintf(out, outlen, "any (allowed_hosts = *)");
        return;
    }
    for (size_t i = 0; i < g->nnames && used < outlen; i++) {
        int k = snprintf(out + used, outlen - used, "%s%s%s", i > 0 ? ", " : "",
                         g->names[i].kind == NAME_SUFFIX ? "*" : "", g->names[i].text);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

int gw_guard_only_localhost(const gw_guard *g)
{
    return g->wildcard_listen && g->nallowed == 0 && !g->any_host;
}

/* ------------------------------------------------------------ Host, Origin */

static int host_allowed(const gw_guard *g, const host_name *h)
{
    for (size_t i = 0; i < g->nnames; i++)
        if (name_matches(&g->names[i], h))
            return 1;
    return 0;
}

/* Whether origin is the gateway's own for this request: http or https,
 * the Host's name, and the Host's port (a Host without a port matches an
 * origin without one: both mean the scheme's default). */
static int own_origin(const char *origin, const host_name *host, long host_port)
{
    host_name oh;
    long oport, dport;
    const char *rest;

    if (strncasecmp(origin, "http://", 7) == 0) {
        rest = origin + 7;
        dport = 80;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        rest = origin + 8;
        dport = 443;
    } else {
        return 0; /* "null" (sandboxed frames, file:), other schemes */
    }
    if (parse_authority(rest, &oh, &oport) != 0 || !same_name(&oh, host))
        return 0;
    if (host_port < 0)
        return oport < 0;
    return (oport < 0 ? dport : oport) == host_port;
}

static int safe_method(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
           strcmp(method, "OPTIONS") == 0;
}

unsigned gw_guard_check(const gw_guard *g, const char *method, const char *host, const char *origin,
                        char *msg, size_t msglen)
{
    char text[GW_GUARD_SHOWN_MAX + 4];
    host_name h;
    long port = -1;
    int host_ok = 0;

    if (host != NULL) {
        host_ok = parse_authority(host, &h, &port) == 0;
        if (!g->any_host && (!host_ok || !host_allowed(g, &h))) {
            sce_ascii_shown(text, sizeof(text), host, GW_GUARD_SHOWN_MAX);
            sce_seterr(msg, msglen,
                       "Host: '%s' is not a name of this gateway; it answers to localhost, its "
                       "listen address and allowed_hosts",
                       text);
            return 403;
        }
    }
    if (origin == NULL || safe_method(method))
        return 0;
    if (g->cors_origin != NULL &&
        (strcmp(g->cors_origin, "*") == 0 || strcasecmp(origin, g->cors_origin) == 0))
        return 0;
    if (host != NULL && host_ok && own_origin(origin, &h, port))
        return 0;
    sce_ascii_shown(text, sizeof(text), origin, GW_GUARD_SHOWN_MAX);
    sce_seterr(msg, msglen,
               "Origin: '%s' may not send %s requests here; only this gateway's own page%s may",
               text, strlen(method) < 16 ? method : "such",
               g->cors_origin != NULL ? " and cors_origin" : "");
    return 403;
}

/* ------------------------------------------------------------ connections */

gw_admit gw_guard_conn_open(gw_guard *g, const unsigned char key[GW_CLIENT_KEY_BYTES])
{
    conn_row *row = NULL, *free_row = NULL;
    gw_admit how = GW_ADMIT_DROP;

    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nrows && row == NULL; i++) {
        conn_row *r = &g->rows[i];

        if (r->served == 0 && r->busy == 0) {
            if (free_row == NULL)
                free_row = r;
        } else if (memcmp(r->key, key, GW_CLIENT_KEY_BYTES) == 0) {
            row = r;
        }
    }
    if (row == NULL && free_row != NULL) {
        row = free_row;
        memcpy(row->key, key, GW_CLIENT_KEY_BYTES);
    }
    if (row == NULL)
        goto out; /* cannot happen: the table holds every counted connection */
    if ((g->per_ip == 0 || row->served < g->per_ip) && g->served < g->max_connections) {
        row->served++;
        g->served++;
        how = GW_ADMIT_SERVE;
    } else if (row->busy < GW_BUSY_PER_CLIENT_MAX && g->busy < GW_BUSY_CONNECTIONS_MAX) {
        row->busy++;
        g->busy++;
        how = g->per_ip != 0 && row->served >= g->per_ip ? GW_ADMIT_BUSY_CLIENT : GW_ADMIT_BUSY_ALL;
    }
out:
    pthread_mutex_unlock(&g->lock);
    return how;
}

void gw_guard_conn_close(gw_guard *g, const unsigned char key[GW_CLIENT_KEY_BYTES], gw_admit how)
{
    if (how == GW_ADMIT_DROP)
        return; /* never counted */
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nrows; i++) {
        conn_row *r = &g->rows[i];

        if ((r->served == 0 && r->busy == 0) || memcmp(r->key, key, GW_CLIENT_KEY_BYTES) != 0)
            continue;
        if (how == GW_ADMIT_SERVE && r->served > 0) {
            r->served--;
            g->served--;
        } else if (how != GW_ADMIT_SERVE && r->busy > 0) {
            r->busy--;
            g->busy--;
        }
        break;
    }
    pthread_mutex_unlock(&g->lock);
}

unsigned gw_guard_connection_limit(const gw_guard *g)
{
    return g->max_connections + GW_BUSY_CONNECTIONS_MAX;
}

void gw_guard_busy_message(const gw_guard *g, gw_admit how, char *msg, size_t msglen)
{
    if (how == GW_ADMIT_BUSY_CLIENT)
        sce_seterr(msg, msglen,
                   "too many connections from your address: %u at once (max_connections_per_ip); "
                   "retry in %d s",
                   g->per_ip, GW_BUSY_RETRY_AFTER_S);
    else
        sce_seterr(msg, msglen,
                   "the gateway holds its most connections, %u (max_connections); retry in %d s",
                   g->max_connections, GW_BUSY_RETRY_AFTER_S);
}
