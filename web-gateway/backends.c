/*
 * backends.c - the sce-servers behind one gateway (see backends.h).
 */
#include "backends.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "gateway_limits.h"
#include "metrics.h"

/* A Health answer shared by the backend and the snapshots that show it. */
typedef struct health_box {
    atomic_int refs;
    sce_health *h;
} health_box;

typedef struct backend {
    struct backend *next;
    char *url;
    int source;         /* index of the dns:// source that found it; -1: a static URL */
    sce_client *client; /* the calls */
    sce_client *prober; /* the health poll */
    pthread_t poller;
    int poller_started;
    struct gw_backends *set;

    /* guarded by set->mtx */
    int up;
    int gone; /* its name no longer resolves to it: no new calls, freed when idle */
    int stop; /* the poller must end */
    uint32_t in_flight;
    uint64_t runs;
    uint64_t failures;
    int64_t since_ms;
    int health_rv;
    char error[256];
    health_box *health;
    uint64_t poll_seen; /* the set's poll_seq when its last poll began */
    uint64_t poll_done; /* ... and ended */
} backend;

typedef struct dns_source {
    char *name;
    unsigned port;
    char note[200]; /* the last resolver failure, "" when it resolved */
} dns_source;

struct gw_backends {
    pthread_mutex_t mtx;
    pthread_cond_t cv; /* monotonic: polls asked for, polls done, stop */
    backend *list;     /* in the order added */
    size_t count;      /* in the list, gone or not */
    uint64_t poll_seq; /* bumped to ask every poller for a poll now */
    uint32_t rpc_timeout_ms;
    struct gw_metrics *metrics;

    dns_source *sources;
    size_t nsources;
    pthread_t resolver;
    int resolver_started;
    int stopping; /* guarded by mtx */

    struct owned_run *owned; /* GW_RUNS_OWNED_MAX entries, guarded by mtx */
};

/* ------------------------------------------------------------ health boxes */

static health_box *box_new(sce_health *h)
{
    health_box *b = malloc(sizeof(*b));

    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->h = h;
    return b;
}

static health_box *box_ref(health_box *b)
{
    if (b != NULL)
        atomic_fetch_add(&b->refs, 1);
    return b;
}

static void box_unref(health_box *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        sce_health_free(b->h);
        free(b);
    }
}

/* ------------------------------------------------------------ backends */

static void backend_free(backend *b)
{
    if (b == NULL)
        return;
    sce_client_close(b->client);
    sce_client_close(b->prober);
    box_unref(b->health);
    free(b->url);
    free(b);
}

/* Sets up or down (under mtx), logging each change once. */
static void backend_mark(backend *b, int up, int rv, const char *why)
{
    if (up) {
        b->error[0] = '\0';
    } else {
        b->health_rv = rv;
        sce_seterr(b->error, sizeof(b->error), "%s", why != NULL && *why ? why : "down");
    }
    if (b->up == up)
        return;
    b->up = up;
    b->since_ms = sce_clock_ms();
    if (up)
        SCE_LOG(SCE_LOG_INFO, NULL, "backend %s is up", b->url);
    else
        SCE_LOG(SCE_LOG_WARN, NULL, "backend %s is down: %s", b->url, b->error);
}

static void *poller_main(void *arg)
{
    backend *b = arg;
    gw_backends *bs = b->set;
    int64_t next_ms = 0; /* the first poll at once */

    for (;;) {
        sce_health *h = NULL;
        char err[512];
        uint64_t seq;
        int64_t t0;
        int rv;

        pthread_mutex_lock(&bs->mtx);
        while (!b->stop && bs->poll_seq == b->poll_seen && sce_clock_ms() < next_ms)
            sce_cond_wait_until(&bs->cv, &bs->mtx, next_ms);
        if (b->stop) {
            pthread_mutex_unlock(&bs->mtx);
            break;
        }
        seq = bs->poll_seq;
        b->poll_seen = seq;
        pthread_mutex_unlock(&bs->mtx);

        t0 = sce_clock_ms();
        rv = sce_client_health(b->prober, &h, err, sizeof(err));
        gw_metrics_rpc(bs->metrics, b->url, "health",
                       rv != SCE_OK && sce_client_last_call() != SCE_CALL_ANSWERED,
                       (double)(sce_clock_ms() - t0) / 1000.0);

        pthread_mutex_lock(&bs->mtx);
        if (rv == SCE_OK) {
            health_box *box = box_new(h);

            if (box != NULL) {
                box_unref(b->health);
                b->health = box;
                b->health_rv = SCE_OK;
            }
            /* h is read before it may be freed below (no box: no memory). */
            if (!h->serving)
                backend_mark(b, 0, SCE_ERR_UNAVAILABLE, "the server is not serving");
            else if (!h->engine_ok)
                backend_mark(b, 0, SCE_ERR_UNAVAILABLE, h->engine_message);
            else
                backend_mark(b, 1, SCE_OK, NULL);
            if (box == NULL)
                sce_health_free(h);
        } else {
            box_unref(b->health);
            b->health = NULL;
            backend_mark(b, 0, rv, err);
        }
        b->poll_done = seq;
        next_ms = sce_clock_ms() + GW_BACKENDS_POLL_INTERVAL_MS;
        pthread_cond_broadcast(&bs->cv);
        pthread_mutex_unlock(&bs->mtx);
    }
    return NULL;
}

/* A backend for `url`, its clients open and its poller started; NULL with
 * err.  Not yet in the list. */
static backend *backend_open(gw_backends *bs, const char *url, int source, int *rv_out, char *err,
                             size_t errlen)
{
    backend *b = calloc(1, sizeof(*b));
    int rv = SCE_ERR_NO_MEMORY;

    if (b == NULL || (b->url = strdup(url)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        goto fail;
    }
    b->set = bs;
    b->source = source;
    b->since_ms = sce_clock_ms();
    b->health_rv = SCE_ERR_UNAVAILABLE;
    sce_seterr(b->error, sizeof(b->error), "not polled yet");
    if ((rv = sce_client_open(url, &b->client, err, errlen)) != SCE_OK ||
        (rv = sce_client_open(url, &b->prober, err, errlen)) != SCE_OK)
        goto fail;
    sce_client_set_timeout(b->client, bs->rpc_timeout_ms);
    sce_client_set_timeout(b->prober, GW_BACKENDS_POLL_TIMEOUT_MS);
    if (pthread_create(&b->poller, NULL, poller_main, b) != 0) {
        sce_seterr(err, errlen, "cannot start the poller of %s", url);
        rv = SCE_ERR_INTERNAL;
        goto fail;
    }
    b->poller_started = 1;
    *rv_out = SCE_OK;
    return b;
fail:
    backend_free(b);
    *rv_out = rv;
    return NULL;
}

/* Stops its poller and frees it; b must be out of the list. */
static void backend_close(gw_backends *bs, backend *b)
{
    if (b->poller_started) {
        pthread_mutex_lock(&bs->mtx);
        b->stop = 1;
        pthread_cond_broadcast(&bs->cv);
        pthread_mutex_unlock(&bs->mtx);
        pthread_join(b->poller, NULL);
    }
    backend_free(b);
}

static backend *find_url(gw_backends *bs, const char *url)
{
    for (backend *b = bs->list; b != NULL; b = b->next)
        if (!b->gone && strcmp(b->url, url) == 0)
            return b;
    return NULL;
}

static void append(gw_backends *bs, backend *b)
{
    backend **pp = &bs->list;

    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = b;
    bs->count++;
}

/* ------------------------------------------------------------ dns:// */

/* tcp://ADDR:PORT for one resolved address ([ADDR] for IPv6). */
static int address_url(const struct sockaddr *sa, unsigned port, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    const void *a = sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

    if (inet_ntop(sa->sa_family, a, host, sizeof(host)) == NULL)
        return -1;
    if (sa->sa_family == AF_INET6)
        snprintf(out, outlen, "tcp://[%s]:%u", host, port);
    else
        snprintf(out, outlen, "tcp://%s:%u", host, port);
    return 0;
}

typedef struct url_list {
    char (*urls)[80];
    size_t count;
} url_list;

/* Every address of source s, de-duplicated.  0 with the list (possibly
 * empty: the name has no address); -1 when the resolver failed in a way
 * that says nothing of the name (the set is then kept as it is). */
static int resolve(const dns_source *s, url_list *out, char *note, size_t notelen)
{
    struct addrinfo hints, *res = NULL;
    int grv;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    out->urls = NULL;
    out->count = 0;
    grv = getaddrinfo(s->name, NULL, &hints, &res);
    if (grv == EAI_NONAME
#ifdef EAI_NODATA
        || grv == EAI_NODATA
#endif
    ) {
        sce_seterr(note, notelen, "dns://%s:%u: no address (%s)", s->name, s->port,
                   gai_strerror(grv));
        return 0;
    }
    if (grv != 0) {
        sce_seterr(note, notelen, "dns://%s:%u: %s", s->name, s->port, gai_strerror(grv));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            out->count++;
    out->urls = calloc(out->count ? out->count : 1, sizeof(*out->urls));
    if (out->urls == NULL) {
        freeaddrinfo(res);
        sce_seterr(note, notelen, "dns://%s:%u: out of memory", s->name, s->port);
        return -1;
    }
    out->count = 0;
    for (struct addrinfo *ai = res; ai != NULL && out->count < GW_BACKENDS_MAX; ai = ai->ai_next) {
        char url[80];
        int dup = 0;

        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            address_url(ai->ai_addr, s->port, url, sizeof(url)) != 0)
            continue;
        for (size_t i = 0; i < out->count && !dup; i++)
            dup = strcmp(out->urls[i], url) == 0;
        if (!dup)
            memcpy(out->urls[out->count++], url, sizeof(url));
    }
    freeaddrinfo(res);
    note[0] = '\0';
    return 0;
}

/* Brings the backends of source si in line with its name's addresses:
 * new ones added, vanished ones marked gone. */
static void refresh_source(gw_backends *bs, size_t si)
{
    dns_source *s = &bs->sources[si];
    char before[sizeof(s->note)], note[sizeof(s->note)];
    url_list l;
    int resolved;

    /* The note is read by calls and snapshots under mtx; resolving is
     * slow, so it is done into a copy. */
    pthread_mutex_lock(&bs->mtx);
    memcpy(before, s->note, sizeof(before));
    pthread_mutex_unlock(&bs->mtx);
    resolved = resolve(s, &l, note, sizeof(note));
    pthread_mutex_lock(&bs->mtx);
    memcpy(s->note, note, sizeof(note));
    pthread_mutex_unlock(&bs->mtx);
    if (resolved != 0) {
        if (strcmp(before, note) != 0)
            SCE_LOG(SCE_LOG_WARN, NULL, "%s (backends kept as they are)", note);
        return;
    }
    if (note[0] != '\0' && strcmp(before, note) != 0)
        SCE_LOG(SCE_LOG_WARN, NULL, "%s", note);
    for (size_t i = 0; i < l.count; i++) {
        backend *b;
        char err[256];
        int rv, known;

        pthread_mutex_lock(&bs->mtx);
        known = find_url(bs, l.urls[i]) != NULL || bs->count >= GW_BACKENDS_MAX;
        pthread_mutex_unlock(&bs->mtx);
        if (known)
            continue;
        if ((b = backend_open(bs, l.urls[i], (int)si, &rv, err, sizeof(err))) == NULL) {
            SCE_LOG(SCE_LOG_WARN, NULL, "backend %s: %s", l.urls[i], err);
            continue;
        }
        pthread_mutex_lock(&bs->mtx);
        append(bs, b);
        pthread_mutex_unlock(&bs->mtx);
        SCE_LOG(SCE_LOG_INFO, NULL, "backend %s added (dns://%s:%u)", b->url, s->name, s->port);
    }
    pthread_mutex_lock(&bs->mtx);
    for (backend *b = bs->list; b != NULL; b = b->next) {
        int found = 0;

        if (b->source != (int)si || b->gone)
            continue;
        for (size_t i = 0; i < l.count && !found; i++)
            found = strcmp(l.urls[i], b->url) == 0;
        if (!found) {
            b->gone = 1;
            SCE_LOG(SCE_LOG_INFO, NULL, "backend %s no longer in dns://%s:%u: dropped once idle",
                    b->url, s->name, s->port);
        }
    }
    pthread_mutex_unlock(&bs->mtx);
    free(l.urls);
}

/* ------------------------------------------------------------ run owners */

/* Which backend started a followed run.  `b` is NULL once that backend
 * has been freed (its url stays, for the 503). */
typedef struct owned_run {
    char id[SCE_RUN_ID_MAX + 1]; /* "" : a free slot */
    backend *b;
    char url[80];
    char language[16]; /* as started, for the metrics; "" when found by asking */
    int counted;       /* its verdict has been counted */
    int64_t used_ms;   /* its last follow-up */
    int64_t expires_ms; /* 0: not yet; else dropped after this */
} owned_run;

/* Drops the entries whose time is up (under mtx). */
static void owned_expire(gw_backends *bs, int64_t now)
{
    for (size_t i = 0; i < GW_RUNS_OWNED_MAX; i++) {
        owned_run *o = &bs->owned[i];

        if (o->id[0] != '\0' && ((o->expires_ms != 0 && now >= o->expires_ms) ||
                                 now - o->used_ms >= GW_RUNS_OWNED_IDLE_MS))
            o->id[0] = '\0';
    }
}

static owned_run *owned_find(gw_backends *bs, const char *id)
{
    for (size_t i = 0; i < GW_RUNS_OWNED_MAX; i++)
        if (bs->owned[i].id[0] != '\0' && strcmp(bs->owned[i].id, id) == 0)
            return &bs->owned[i];
    return NULL;
}

/* Records b as the owner of run `id` (under mtx): a free slot, or the
 * least recently used one when the table is full. */
static void owned_add(gw_backends *bs, backend *b, const char *id, const char *language)
{
    int64_t now = sce_clock_ms();
    owned_run *o = owned_find(bs, id), *lru = NULL;

    if (strlen(id) > SCE_RUN_ID_MAX)
        return;
    owned_expire(bs, now);
    for (size_t i = 0; o == NULL && i < GW_RUNS_OWNED_MAX; i++) {
        if (bs->owned[i].id[0] == '\0')
            o = &bs->owned[i];
        else if (lru == NULL || bs->owned[i].used_ms < lru->used_ms)
            lru = &bs->owned[i];
    }
    if (o == NULL)
        o = lru;
    snprintf(o->id, sizeof(o->id), "%s", id);
    snprintf(o->url, sizeof(o->url), "%s", b->url);
    snprintf(o->language, sizeof(o->language), "%s", language != NULL ? language : "");
    o->counted = 0;
    o->b = b;
    o->used_ms = now;
    o->expires_ms = 0;
}

/* b is about to be freed (under mtx): its runs are lost. */
static void owned_orphan(gw_backends *bs, backend *b)
{
    for (size_t i = 0; i < GW_RUNS_OWNED_MAX; i++) {
        owned_run *o = &bs->owned[i];

        if (o->id[0] != '\0' && o->b == b) {
            o->b = NULL;
            if (o->expires_ms == 0)
                o->expires_ms = sce_clock_ms() + SCE_RUN_KEPT_MS;
        }
    }
}

/* Unlinks and frees the gone backends with nothing in flight. */
static void reap_gone(gw_backends *bs)
{
    for (;;) {
        backend *victim = NULL;

        pthread_mutex_lock(&bs->mtx);
        for (backend **pp = &bs->list; *pp != NULL; pp = &(*pp)->next) {
            if ((*pp)->gone && (*pp)->in_flight == 0) {
                victim = *pp;
                *pp = victim->next;
                bs->count--;
                owned_orphan(bs, victim);
                break;
            }
        }
        pthread_mutex_unlock(&bs->mtx);
        if (victim == NULL)
            return;
        backend_close(bs, victim);
    }
}

static void *resolver_main(void *arg)
{
    gw_backends *bs = arg;

    for (;;) {
        int64_t next_ms = sce_clock_ms() + GW_BACKENDS_DNS_REFRESH_MS;
        int stopping;

        pthread_mutex_lock(&bs->mtx);
        while (!bs->stopping && sce_clock_ms() < next_ms)
            sce_cond_wait_until(&bs->cv, &bs->mtx, next_ms);
        stopping = bs->stopping;
        pthread_mutex_unlock(&bs->mtx);
        if (stopping)
            return NULL;
        for (size_t i = 0; i < bs->nsources; i++)
            refresh_source(bs, i);
        reap_gone(bs);
    }
}

/* ------------------------------------------------------------ the spec */

/* dns://NAME:PORT into s; INVALID_ARGUMENT with err otherwise. */
static int parse_dns(const char *item, dns_source *s, char *err, size_t errlen)
{
    const char *name = item + strlen("dns://"), *colon = strrchr(name, ':');
    char *end = NULL;
    unsigned long port;

    if (colon == NULL || colon == name) {
        sce_seterr(err, errlen, "server: '%s' needs a name and a port: dns://NAME:PORT", item);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
        strlen(colon + 1) > 5 || *end != '\0' || port == 0 || port > 65535) {
        sce_seterr(err, errlen, "server: '%s': the port must be 1 to 65535", item);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((s->name = strndup(name, (size_t)(colon - name))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    if (strspn(s->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
        strlen(s->name)) {
        sce_seterr(err, errlen, "server: '%s': not a host name", item);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    s->port = (unsigned)port;
    return SCE_OK;
}

/* Each comma-separated item of spec: static URLs opened, dns:// sources
 * recorded (resolved by the caller). */
static int parse_spec(gw_backends *bs, const char *spec, char *err, size_t errlen)
{
    char *copy = strdup(spec), *save = NULL;
    size_t items = 1;
    int rv = SCE_OK;

    if (copy == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    for (const char *p = spec; *p; p++)
        items += *p == ',';
    if ((bs->sources = calloc(items, sizeof(*bs->sources))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *end;
        backend *b;

        while (*item == ' ' || *item == '\t')
            item++;
        end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (*item == '\0')
            continue;
        if (strncmp(item, "dns://", 6) == 0) {
            if ((rv = parse_dns(item, &bs->sources[bs->nsources], err, errlen)) != SCE_OK) {
                free(bs->sources[bs->nsources].name);
                bs->sources[bs->nsources].name = NULL;
                goto out;
            }
            bs->nsources++;
            continue;
        }
        if (find_url(bs, item) != NULL)
            continue;
        if (bs->count >= GW_BACKENDS_MAX) {
            sce_seterr(err, errlen, "server: more than %d backends", GW_BACKENDS_MAX);
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
        if ((b = backend_open(bs, item, -1, &rv, err, errlen)) == NULL)
            goto out;
        append(bs, b);
    }
    if (bs->count == 0 && bs->nsources == 0) {
        sce_seterr(err, errlen, "server: no URL given");
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
out:
    free(copy);
    return rv;
}

int gw_backends_start(const char *spec, uint32_t rpc_timeout_ms, struct gw_metrics *metrics,
                      gw_backends **out, char *err, size_t errlen)
{
    gw_backends *bs = calloc(1, sizeof(*bs));
    int rv;

    if (bs == NULL) {
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&bs->mtx, NULL);
    sce_cond_init(&bs->cv);
    bs->rpc_timeout_ms = rpc_timeout_ms;
    bs->metrics = metrics;
    if ((bs->owned = calloc(GW_RUNS_OWNED_MAX, sizeof(*bs->owned))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto fail;
    }
    if ((rv = parse_spec(bs, spec != NULL ? spec : "", err, errlen)) != SCE_OK)
        goto fail;
    for (size_t i = 0; i < bs->nsources; i++)
        refresh_source(bs, i);
    if (bs->nsources > 0) {
        if (pthread_create(&bs->resolver, NULL, resolver_main, bs) != 0) {
            sce_seterr(err, errlen, "cannot start the resolver thread");
            rv = SCE_ERR_INTERNAL;
            goto fail;
        }
        bs->resolver_started = 1;
    }
    *out = bs;
    return SCE_OK;
fail:
    gw_backends_stop(bs);
    return rv;
}

void gw_backends_stop(gw_backends *bs)
{
    backend *b;

    if (bs == NULL)
        return;
    pthread_mutex_lock(&bs->mtx);
    bs->stopping = 1;
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->mtx);
    if (bs->resolver_started)
        pthread_join(bs->resolver, NULL);
    while ((b = bs->list) != NULL) {
        bs->list = b->next;
        backend_close(bs, b);
    }
    for (size_t i = 0; i < bs->nsources; i++)
        free(bs->sources[i].name);
    free(bs->sources);
    free(bs->owned);
    pthread_cond_destroy(&bs->cv);
    pthread_mutex_destroy(&bs->mtx);
    free(bs);
}

/* ------------------------------------------------------------ calls */

/* One call to one backend, as backends_call() makes it. */
typedef int (*call_fn)(sce_client *c, void *arg, char *err, size_t errlen);

typedef struct call_kind {
    const char *method; /* for the metrics: "run", "history", ... */
    size_t runs;        /* runs it carries; 0: a read, safe to repeat */
    /* Called with mtx held when the call succeeded on b, before b may be
     * freed (a run's start records its owner); NULL: nothing. */
    void (*answered)(gw_backends *bs, backend *b, void *arg);
} call_kind;

/* The backend for the next try: the up one with the fewest calls in
 * flight (then the fewest runs), not tried yet; or, when none is up, the
 * least busy down one.  Counted in flight; NULL when there is none. */
static backend *pick(gw_backends *bs, backend *const *tried, size_t ntried)
{
    backend *best = NULL;
    int any_up = 0;

    pthread_mutex_lock(&bs->mtx);
    for (backend *b = bs->list; b != NULL; b = b->next)
        any_up |= b->up && !b->gone;
    for (backend *b = bs->list; b != NULL; b = b->next) {
        int seen = 0;

        if (b->gone || b->up != any_up)
            continue;
        for (size_t i = 0; i < ntried && !seen; i++)
            seen = tried[i] == b;
        if (seen)
            continue;
        if (best == NULL || b->in_flight < best->in_flight ||
            (b->in_flight == best->in_flight && b->runs < best->runs))
            best = b;
    }
    if (best != NULL)
        best->in_flight++;
    pthread_mutex_unlock(&bs->mtx);
    return best;
}

/* Accounts for the end of a call on b: `stage` is how far it got. */
static void settle(gw_backends *bs, backend *b, const call_kind *k, int rv, int stage,
                   const char *err)
{
    pthread_mutex_lock(&bs->mtx);
    b->in_flight--;
    if (stage == SCE_CALL_SENT || (stage == SCE_CALL_ANSWERED && rv != SCE_ERR_RESOURCE_EXHAUSTED))
        b->runs += k->runs; /* a "busy" answer ran nothing */
    if (stage != SCE_CALL_ANSWERED && rv != SCE_OK && rv != SCE_ERR_DEADLINE_EXCEEDED &&
        rv != SCE_ERR_INVALID_ARGUMENT && rv != SCE_ERR_NO_MEMORY) {
        b->failures++;
        backend_mark(b, 0, rv, err);
    }
    pthread_mutex_unlock(&bs->mtx);
}

static int backends_call(gw_backends *bs, const call_kind *k, call_fn fn, void *arg, char *err,
                         size_t errlen)
{
    backend *tried[GW_BACKENDS_MAX];
    size_t ntried = 0;
    int rv = SCE_ERR_UNAVAILABLE;
    int have_rv = 0;

    for (;;) {
        backend *b = pick(bs, tried, ntried);
        int64_t t0;
        int stage;

        if (b == NULL)
            break;
        tried[ntried++] = b;
        t0 = sce_clock_ms();
        rv = fn(b->client, arg, err, errlen);
        stage = sce_client_last_call();
        have_rv = 1;
        /* Before settle(): once nothing is in flight on a gone backend, the
         * resolver may free it. */
        if (bs->metrics != NULL)
            gw_metrics_rpc(bs->metrics, b->url, k->method,
                           stage != SCE_CALL_ANSWERED && rv != SCE_OK,
                           (double)(sce_clock_ms() - t0) / 1000.0);
        if (rv == SCE_OK && k->answered != NULL) {
            pthread_mutex_lock(&bs->mtx);
            k->answered(bs, b, arg);
            pthread_mutex_unlock(&bs->mtx);
        }
        settle(bs, b, k, rv, stage, err);
        if (rv == SCE_OK)
            return SCE_OK;
        if (ntried == GW_BACKENDS_MAX)
            break;
        if (stage == SCE_CALL_ANSWERED && rv == SCE_ERR_RESOURCE_EXHAUSTED)
            continue; /* busy: nothing ran; another may take it */
        if (stage == SCE_CALL_NOT_SENT && rv == SCE_ERR_UNAVAILABLE)
            continue; /* never reached its server (a timeout spent the call's time) */
        if (stage == SCE_CALL_SENT && k->runs == 0)
            continue; /* a read: safe to ask another */
        return rv;
    }
    if (have_rv && rv == SCE_ERR_RESOURCE_EXHAUSTED && k->runs > 0 && bs->metrics != NULL)
        gw_metrics_refused(bs->metrics, "busy");
    if (!have_rv) {
        pthread_mutex_lock(&bs->mtx);
        if (bs->nsources > 0 && bs->sources[0].note[0] != '\0')
            sce_seterr(err, errlen, "no sce-server to send to: %s", bs->sources[0].note);
        else
            sce_seterr(err, errlen, "no sce-server to send to: the name resolved to no address");
        pthread_mutex_unlock(&bs->mtx);
        rv = SCE_ERR_UNAVAILABLE;
    }
    return rv;
}

typedef struct run_call {
    const sce_run_request *req;
    sce_run_result **out;
} run_call;

static int call_run(sce_client *c, void *arg, char *err, size_t errlen)
{
    run_call *r = arg;

    return sce_client_run(c, r->req, r->out, err, errlen);
}

static int call_run_project(sce_client *c, void *arg, char *err, size_t errlen)
{
    run_call *r = arg;

    return sce_client_run_project(c, r->req, r->out, err, errlen);
}

static void count_run(gw_backends *bs, const char *language, int rv, const sce_run_result *res)
{
    if (bs->metrics != NULL)
        gw_metrics_run(bs->metrics, language,
                       rv == SCE_OK && res != NULL ? sce_verdict_name(res->verdict) : "error");
}

int gw_backends_run(gw_backends *bs, const sce_run_request *req, sce_run_result **out, char *err,
                    size_t errlen)
{
    static const call_kind k = {"run", 1, NULL};
    run_call r = {req, out};
    int rv = backends_call(bs, &k, call_run, &r, err, errlen);

    count_run(bs, req->language, rv, rv == SCE_OK ? *out : NULL);
    return rv;
}

int gw_backends_run_project(gw_backends *bs, const sce_run_request *req, sce_run_result **out,
                            char *err, size_t errlen)
{
    static const call_kind k = {"run_project", 1, NULL};
    run_call r = {req, out};
    int rv = backends_call(bs, &k, call_run_project, &r, err, errlen);

    count_run(bs, req->language, rv, rv == SCE_OK ? *out : NULL);
    return rv;
}

typedef struct batch_call {
    const sce_run_request *tasks;
    size_t ntasks;
    sce_batch_result **out;
} batch_call;

static int call_run_batch(sce_client *c, void *arg, char *err, size_t errlen)
{
    batch_call *r = arg;

    return sce_client_run_batch(c, r->tasks, r->ntasks, r->out, err, errlen);
}

int gw_backends_run_batch(gw_backends *bs, const sce_run_request *tasks, size_t ntasks,
                          sce_batch_result **out, char *err, size_t errlen)
{
    call_kind k = {"run_batch", ntasks > 0 ? ntasks : 1, NULL};
    batch_call r = {tasks, ntasks, out};
    int rv = backends_call(bs, &k, call_run_batch, &r, err, errlen);

    for (size_t i = 0; i < ntasks; i++) {
        const sce_batch_item *it = rv == SCE_OK && i < (*out)->count ? &(*out)->items[i] : NULL;

        count_run(bs, tasks[i].language, it != NULL ? it->status : rv,
                  it != NULL ? it->result : NULL);
    }
    return rv;
}

typedef struct history_call {
    const sce_history_query *q;
    sce_history_page **out;
    int64_t id;
    const char *run_id; /* non-NULL: the entry of this followed run, not of id */
    const char *tenant;
    sce_history_entry **entry;
} history_call;

static int call_history(sce_client *c, void *arg, char *err, size_t errlen)
{
    history_call *r = arg;

    return sce_client_history(c, r->q, r->out, err, errlen);
}

static int call_history_get(sce_client *c, void *arg, char *err, size_t errlen)
{
    history_call *r = arg;

    if (r->run_id != NULL)
        return sce_client_history_get_run(c, r->run_id, r->tenant, r->entry, err, errlen);
    return sce_client_history_get(c, r->id, r->tenant, r->entry, err, errlen);
}

int gw_backends_history(gw_backends *bs, const sce_history_query *q, sce_history_page **out,
                        char *err, size_t errlen)
{
    static const call_kind k = {"history", 0, NULL};
    history_call r = {.q = q, .out = out};

    return backends_call(bs, &k, call_history, &r, err, errlen);
}

int gw_backends_history_get(gw_backends *bs, int64_t id, const char *tenant,
                            sce_history_entry **out, char *err, size_t errlen)
{
    static const call_kind k = {"history", 0, NULL};
    history_call r = {.id = id, .tenant = tenant, .entry = out};

    return backends_call(bs, &k, call_history_get, &r, err, errlen);
}

int gw_backends_history_get_run(gw_backends *bs, const char *run_id, const char *tenant,
                                sce_history_entry **out, char *err, size_t errlen)
{
    static const call_kind k = {"history", 0, NULL};
    history_call r = {.run_id = run_id, .tenant = tenant, .entry = out};

    return backends_call(bs, &k, call_history_get, &r, err, errlen);
}

static int call_languages(sce_client *c, void *arg, char *err, size_t errlen)
{
    return sce_client_languages(c, arg, err, errlen);
}

int gw_backends_languages(gw_backends *bs, sce_language_list **out, char *err, size_t errlen)
{
    static const call_kind k = {"languages", 0, NULL};

    return backends_call(bs, &k, call_languages, out, err, errlen);
}

/* ------------------------------------------------------------ followed runs */

typedef struct start_call {
    const sce_run_request *req;
    sce_run_started **out;
} start_call;

static int call_run_start(sce_client *c, void *arg, char *err, size_t errlen)
{
    start_call *r = arg;

    return sce_client_run_start(c, r->req, r->out, err, errlen);
}

static void start_answered(gw_backends *bs, backend *b, void *arg)
{
    start_call *r = arg;

    owned_add(bs, b, (*r->out)->run_id, r->req->language);
}

int gw_backends_run_start(gw_backends *bs, const sce_run_request *req, sce_run_started **out,
                          char *err, size_t errlen)
{
    static const call_kind k = {"run_start", 1, start_answered};
    start_call r = {req, out};
    int rv = backends_call(bs, &k, call_run_start, &r, err, errlen);

    if (rv != SCE_OK) /* a run that ended before it began, as gw_backends_run counts it */
        count_run(bs, req->language, rv, NULL);
    return rv;
}

/* One follow-up: which call, and its arguments. */
typedef struct follow_call {
    const char *method; /* "run_poll", "run_stdin", "run_cancel" */
    const char *run_id;
    const char *tenant;
    uint64_t after_seq;
    uint32_t wait_ms;
    sce_run_events **events;
    const void *data;
    size_t len;
    int close;
} follow_call;

static int follow_send(sce_client *c, const follow_call *f, uint32_t wait_ms, char *err,
                       size_t errlen)
{
    if (f->events != NULL)
        return sce_client_run_poll(c, f->run_id, f->tenant, f->after_seq, wait_ms, f->events, err,
                                   errlen);
    if (f->data != NULL || f->close)
        return sce_client_run_stdin(c, f->run_id, f->tenant, f->data, f->len, f->close, err,
                                    errlen);
    return sce_client_run_cancel(c, f->run_id, f->tenant, err, errlen);
}

/* The follow-up on backend b (counted in flight by the caller).  Returns
 * rv; *knows says whether b answered anything but NOT_FOUND, and then b is
 * recorded as the run's owner when `record` is set. */
static int follow_on(gw_backends *bs, backend *b, const follow_call *f, uint32_t wait_ms,
                     int record, int *knows, char *err, size_t errlen)
{
    static const call_kind k = {"follow", 0, NULL};
    int64_t t0 = sce_clock_ms();
    int rv = follow_send(b->client, f, wait_ms, err, errlen);
    int stage = sce_client_last_call();

    *knows = stage == SCE_CALL_ANSWERED && rv != SCE_ERR_NOT_FOUND;
    if (bs->metrics != NULL)
        gw_metrics_rpc(bs->metrics, b->url, f->method, stage != SCE_CALL_ANSWERED && rv != SCE_OK,
                       (double)(sce_clock_ms() - t0) / 1000.0);
    if (*knows && record) {
        pthread_mutex_lock(&bs->mtx);
        owned_add(bs, b, f->run_id, NULL);
        pthread_mutex_unlock(&bs->mtx);
    }
    settle(bs, b, &k, rv, stage, err);
    return rv;
}

/* Sends f to the run's owner; an id it does not know is asked of each up
 * backend (a poll without waiting), and the one that knows it becomes
 * its owner. */
static int follow(gw_backends *bs, const follow_call *f, char *err, size_t errlen)
{
    backend *tried[GW_BACKENDS_MAX], *b = NULL;
    size_t ntried = 0;
    char lost_url[80] = "";
    int64_t now = sce_clock_ms();
    uint32_t wait_ms = f->wait_ms;
    int rv, knows = 0, asked = 0;
    owned_run *o;

    /* The call must be answered within the client's timeout. */
    if (wait_ms > bs->rpc_timeout_ms / 2)
        wait_ms = bs->rpc_timeout_ms / 2;
    pthread_mutex_lock(&bs->mtx);
    owned_expire(bs, now);
    if ((o = owned_find(bs, f->run_id)) != NULL) {
        o->used_ms = now;
        if (o->b != NULL && !o->b->gone) {
            b = o->b;
            b->in_flight++;
        } else {
            snprintf(lost_url, sizeof(lost_url), "%s", o->url);
            if (o->expires_ms == 0)
                o->expires_ms = now + SCE_RUN_KEPT_MS;
        }
    }
    pthread_mutex_unlock(&bs->mtx);
    if (lost_url[0] != '\0') {
        sce_seterr(err, errlen,
                   "lost the connection to sce-server at %s, which ran this run: its output and "
                   "result are gone",
                   lost_url);
        return SCE_ERR_UNAVAILABLE;
    }
    if (b != NULL)
        return follow_on(bs, b, f, wait_ms, 0, &knows, err, errlen);
    for (;;) {
        if ((b = pick(bs, tried, ntried)) == NULL)
            break;
        tried[ntried++] = b;
        rv = follow_on(bs, b, f, 0, 1, &knows, err, errlen);
        if (knows)
            return rv;
        asked += rv == SCE_ERR_NOT_FOUND;
        if (ntried == GW_BACKENDS_MAX)
            break;
    }
    if (ntried > 0 && asked == 0)
        return SCE_ERR_UNAVAILABLE; /* no backend could be asked: err says why */
    sce_seterr(err, errlen, "no such run: '%s' (unknown, another tenant's, or forgotten)",
               sce_utf8_quote(f->run_id).text);
    return SCE_ERR_NOT_FOUND;
}

int gw_backends_run_poll(gw_backends *bs, const char *run_id, const char *tenant,
                         uint64_t after_seq, uint32_t wait_ms, sce_run_events **out, char *err,
                         size_t errlen)
{
    follow_call f = {"run_poll", run_id, tenant, after_seq, wait_ms, out, NULL, 0, 0};
    int rv = follow(bs, &f, err, errlen);
    const sce_run_result *res = rv == SCE_OK && (*out)->done ? (*out)->result : NULL;
    char language[16] = "";
    int count = 0;
    owned_run *o;

    if (res == NULL)
        return rv;
    /* Seen done: kept as long as the server keeps it; counted once. */
    pthread_mutex_lock(&bs->mtx);
    if ((o = owned_find(bs, run_id)) != NULL) {
        if (o->expires_ms == 0)
            o->expires_ms = sce_clock_ms() + SCE_RUN_KEPT_MS;
        count = !o->counted;
        o->counted = 1;
        snprintf(language, sizeof(language), "%s", o->language);
    }
    pthread_mutex_unlock(&bs->mtx);
    if (count)
        count_run(bs, language, SCE_OK, res);
    return rv;
}

int gw_backends_run_stdin(gw_backends *bs, const char *run_id, const char *tenant,
                          const void *data, size_t len, int close, char *err, size_t errlen)
{
    static const char empty[1] = "";
    follow_call f = {"run_stdin", run_id, tenant, 0, 0, NULL, data != NULL ? data : empty, len,
                     close};

    return follow(bs, &f, err, errlen);
}

int gw_backends_run_cancel(gw_backends *bs, const char *run_id, const char *tenant, char *err,
                           size_t errlen)
{
    follow_call f = {"run_cancel", run_id, tenant, 0, 0, NULL, NULL, 0, 0};

    return follow(bs, &f, err, errlen);
}

/* ------------------------------------------------------------ snapshots */

typedef struct snap_priv {
    health_box **boxes;
} snap_priv;

/* Asks every poller for a poll now and waits until each has done one that
 * began after the call, at most wait_ms. */
static void fresh_polls(gw_backends *bs, int wait_ms)
{
    int64_t deadline = sce_clock_ms() + wait_ms;
    uint64_t seq;

    pthread_mutex_lock(&bs->mtx);
    seq = ++bs->poll_seq;
    pthread_cond_broadcast(&bs->cv);
    for (;;) {
        int pending = 0;

        for (backend *b = bs->list; b != NULL; b = b->next)
            pending |= !b->gone && b->poll_done < seq;
        if (!pending || sce_cond_wait_until(&bs->cv, &bs->mtx, deadline) != 0)
            break;
    }
    pthread_mutex_unlock(&bs->mtx);
}

int gw_backends_snapshot_take(gw_backends *bs, int fresh_wait_ms, gw_backends_snapshot **out)
{
    gw_backends_snapshot *s = calloc(1, sizeof(*s));
    snap_priv *p = calloc(1, sizeof(*p));
    int rv = SCE_ERR_NO_MEMORY;
    size_t n = 0;

    if (s == NULL || p == NULL)
        goto fail;
    s->priv_ = p;
    if (fresh_wait_ms > 0)
        fresh_polls(bs, fresh_wait_ms);
    pthread_mutex_lock(&bs->mtx);
    for (backend *b = bs->list; b != NULL; b = b->next)
        n += !b->gone;
    s->items = calloc(n ? n : 1, sizeof(*s->items));
    p->boxes = calloc(n ? n : 1, sizeof(*p->boxes));
    s->note = NULL;
    for (size_t i = 0; i < bs->nsources && s->note == NULL; i++)
        if (bs->sources[i].note[0] != '\0')
            s->note = strdup(bs->sources[i].note);
    if (s->note == NULL)
        s->note = strdup("");
    if (s->items == NULL || p->boxes == NULL || s->note == NULL) {
        pthread_mutex_unlock(&bs->mtx);
        goto fail;
    }
    for (backend *b = bs->list; b != NULL; b = b->next) {
        gw_backend_state *it = &s->items[s->count];

        if (b->gone)
            continue;
        it->url = strdup(b->url);
        it->error = strdup(b->error);
        if (it->url == NULL || it->error == NULL) {
            s->count++;
            pthread_mutex_unlock(&bs->mtx);
            goto fail;
        }
        it->up = b->up;
        it->in_flight = b->in_flight;
        it->runs = b->runs;
        it->failures = b->failures;
        it->since_ms = b->since_ms;
        it->health_rv = b->health_rv;
        p->boxes[s->count] = box_ref(b->health);
        it->health = b->health != NULL ? b->health->h : NULL;
        s->count++;
    }
    pthread_mutex_unlock(&bs->mtx);
    *out = s;
    return SCE_OK;
fail:
    gw_backends_snapshot_free(s);
    if (s == NULL)
        free(p);
    return rv;
}

void gw_backends_snapshot_free(gw_backends_snapshot *s)
{
    snap_priv *p;

    if (s == NULL)
        return;
    p = s->priv_;
    for (size_t i = 0; i < s->count; i++) {
        free(s->items[i].url);
        free(s->items[i].error);
        if (p != NULL && p->boxes != NULL)
            box_unref(p->boxes[i]);
    }
    if (p != NULL)
        free(p->boxes);
    free(p);
    free(s->items);
    free(s->note);
    free(s);
}
