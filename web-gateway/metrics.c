/*
 * metrics.c - the registry of metrics.h: fixed tables of atomic counters,
 * written as text by prom.c.
 *
 * Each label set is a fixed table (below) and a count is a relaxed atomic
 * increment of one cell, so the request threads never wait for each other
 * or for a scrape.  A latency is counted in its bucket alone and its sum in
 * whole nanoseconds (an integer, so it can be added atomically; 2^64 ns is
 * 584 years); the buckets are made cumulative when written.  The RPC series
 * live in one slot per backend URL, added under m->lock the first time a
 * URL is seen and never moved or freed before gw_metrics_free(): readers
 * find them through m->nbackends (release on add, acquire on read) without
 * the lock.
 *
 * Threads: any, at once.  Errors: out of memory only, at gw_metrics_new()
 * and gw_metrics_render() (a backend slot that cannot be allocated counts
 * under backend="other").
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "sce/err.h"

typedef _Atomic uint64_t counter;

/* Upper bounds of the latency buckets, in seconds: from a warm run's 4 ms
 * to the longest RPC (60 s, the default rpc_timeout). */
static const double latency_bounds_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   30,  60};
#define NBOUNDS (sizeof(latency_bounds_s) / sizeof(latency_bounds_s[0]))

/* The label sets; the last of each is "other", for anything else. */
static const char *const routes[] = {"/run", "/run-zip", "/run-batch", "/history", "/history/{id}",
                                     "/sce/languages", "/healthz", "/metrics", "/runs/{id}",
                                     /* Piston v2 (also under /api/v2/piston/) */
                                     "/api/v2/runtimes", "/api/v2/execute",
                                     /* Judge0 CE */
                                     "/languages", "/languages/{id}", "/statuses", "/about",
                                     "/config_info", "/submissions", "/submissions/{token}", "page",
                                     "asset", "other"};
static const char *const languages[] = {"python", "node", "other"};
static const char *const methods[] = {"run",       "run_project", "run_batch", "history",
                                      "languages", "health",      "run_start", "run_poll",
                                      "run_stdin", "run_cancel",  "other"};
static const char *const reasons[] = {"rate_limit",      "busy",      "connections",
                                      "unauthenticated", "live_runs", "other"};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))
#define NLANGUAGES (sizeof(languages) / sizeof(languages[0]))
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))
#define NREASONS (sizeof(reasons) / sizeof(reasons[0]))

/* Verdicts: sce_verdict_name() of 0..SCE_VERDICT_LAST, then
 * "error" (no verdict came) and "other". */
#define NVERDICT_NAMED (SCE_VERDICT_LAST + 1)
#define VERDICT_ERROR NVERDICT_NAMED
#define NVERDICTS (NVERDICT_NAMED + 2)

/* Status codes 100..599, then "other". */
#define CODE_MIN 100
#define NCODES 501

typedef struct histogram {
    counter counts[NBOUNDS + 1]; /* each bucket alone; the last: above every bound */
    counter sum_ns;
} histogram;

/* The RPC series of one backend URL. */
typedef struct backend_slot {
    char *url; /* NULL in m->other */
    histogram rpc[NMETHODS];
    counter failures[NMETHODS];
} backend_slot;

struct gw_metrics {
    counter runs[NLANGUAGES][NVERDICTS];
    histogram http[NROUTES];
    counter http_codes[NROUTES][NCODES];
    counter refused[NREASONS];
    _Atomic int64_t live; /* live runs held now (gauge) */
    pthread_mutex_t lock;     /* serialises adding to backends */
    _Atomic size_t nbackends; /* slots of backends in use */
    backend_slot *backends[GW_METRICS_MAX_BACKENDS];
    backend_slot other; /* backend="other" */
};

/* The index of s in names[0..n), whose last entry is "other"; n - 1 if
 * it is not there. */
static size_t lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s != NULL && i < n - 1; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return n - 1;
}

static void add(counter *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void observe(histogram *h, double seconds)
{
    size_t i = 0;

    if (!(seconds >= 0)) /* negative or NaN: a clock's error, not a latency */
        seconds = 0;
    if (seconds > 1e9)
        seconds = 1e9;
    while (i < NBOUNDS && seconds > latency_bounds_s[i])
        i++;
    add(&h->counts[i]);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(seconds * 1e9 + 0.5), memory_order_relaxed);
}

gw_metrics *gw_metrics_new(void)
{
    gw_metrics *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void gw_metrics_free(gw_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nbackends; i++) {
        free(m->backends[i]->url);
        free(m->backends[i]);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void gw_metrics_run(gw_metrics *m, const char *language, const char *verdict)
{
    size_t v = NVERDICTS - 1;

    if (m == NULL)
        return;
    for (int i = 0; i < NVERDICT_NAMED && verdict != NULL; i++)
        if (strcmp(sce_verdict_name(i), verdict) == 0)
            v = (size_t)i;
    if (verdict != NULL && strcmp(verdict, "error") == 0)
        v = VERDICT_ERROR;
    add(&m->runs[lookup(languages, NLANGUAGES, language)][v]);
}

void gw_metrics_http(gw_metrics *m, const char *route, unsigned status, double seconds)
{
    size_t r, code;

    if (m == NULL)
        return;
    r = lookup(routes, NROUTES, route);
    code = status >= CODE_MIN && status < CODE_MIN + NCODES - 1 ? status - CODE_MIN : NCODES - 1;
    add(&m->http_codes[r][code]);
    observe(&m->http[r], seconds);
}

/* The slot of a backend URL, added if new; m->other when the table is full
 * or out of memory. */
static backend_slot *backend_slot_of(gw_metrics *m, const char *url)
{
    size_t n = atomic_load_explicit(&m->nbackends, memory_order_acquire), i;
    backend_slot *s = NULL;

    if (url == NULL)
        return &m->other;
    for (i = 0; i < n; i++)
        if (strcmp(m->backends[i]->url, url) == 0)
            return m->backends[i];
    pthread_mutex_lock(&m->lock);
    n = atomic_load_explicit(&m->nbackends, memory_order_relaxed);
    for (; i < n && s == NULL; i++) /* added by another thread since */
        if (strcmp(m->backends[i]->url, url) == 0)
            s = m->backends[i];
    if (s == NULL && n < GW_METRICS_MAX_BACKENDS && (s = calloc(1, sizeof(*s))) != NULL) {
        if ((s->url = strdup(url)) == NULL) {
            free(s);
            s = NULL;
        } else {
            m->backends[n] = s;
            atomic_store_explicit(&m->nbackends, n + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return s != NULL ? s : &m->other;
}

void gw_metrics_rpc(gw_metrics *m, const char *backend, const char *method, int failed,
                    double seconds)
{
    backend_slot *s;
    size_t i;

    if (m == NULL)
        return;
    s = backend_slot_of(m, backend);
    i = lookup(methods, NMETHODS, method);
    if (failed)
        add(&s->failures[i]);
    observe(&s->rpc[i], seconds);
}

void gw_metrics_refused(gw_metrics *m, const char *reason)
{
    if (m != NULL)
        add(&m->refused[lookup(reasons, NREASONS, reason)]);
}

void gw_metrics_live(gw_metrics *m, int delta)
{
    if (m != NULL)
        atomic_fetch_add_explicit(&m->live, delta, memory_order_relaxed);
}

/* ------------------------------------------------------------ render */

/* Writes one series of a histogram; nothing if it has no observations
 * (a series appears with its first observation). */
static void put_histogram(prom_writer *w, const prom_label *labels, size_t nlabels, histogram *h)
{
    uint64_t counts[NBOUNDS + 1], total = 0;

    for (size_t i = 0; i <= NBOUNDS; i++)
        total += counts[i] = get(&h->counts[i]);
    if (total > 0)
        prom_histogram(w, labels, nlabels, latency_bounds_s, counts, NBOUNDS,
                       (double)get(&h->sum_ns) / 1e9);
}

static void put_counts(prom_writer *w, gw_metrics *m)
{
    char code[8];
    prom_label l[2];

    prom_family(w, "sce_runs_total", PROM_COUNTER,
                "Runs answered by the gateway, by language as sent and verdict (\"error\": no "
                "verdict came).");
    for (size_t i = 0; i < NLANGUAGES; i++)
        for (size_t v = 0; v < NVERDICTS; v++) {
            l[0] = (prom_label){"language", languages[i]};
            l[1] = (prom_label){"verdict", v < NVERDICT_NAMED   ? sce_verdict_name((int)v)
                                           : v == VERDICT_ERROR ? "error"
                                                                : "other"};
            prom_u64(w, l, 2, m != NULL ? get(&m->runs[i][v]) : 0);
        }

    prom_family(w, "sce_http_requests_total", PROM_COUNTER,
                "HTTP requests answered, by route and status code.");
    for (size_t r = 0; m != NULL && r < NROUTES; r++)
        for (size_t c = 0; c < NCODES; c++) {
            uint64_t n = get(&m->http_codes[r][c]);
            if (n == 0)
                continue;
            if (c < NCODES - 1)
                snprintf(code, sizeof(code), "%u", (unsigned)(c + CODE_MIN));
            else
                strcpy(code, "other");
            l[0] = (prom_label){"route", routes[r]};
            l[1] = (prom_label){"code", code};
            prom_u64(w, l, 2, n);
        }

    prom_family(w, "sce_http_request_duration_seconds", PROM_HISTOGRAM,
                "Seconds from an HTTP request's arrival to its answer, by route.");
    for (size_t r = 0; m != NULL && r < NROUTES; r++) {
        l[0] = (prom_label){"route", routes[r]};
        put_histogram(w, l, 1, &m->http[r]);
    }

    prom_family(w, "sce_refused_total", PROM_COUNTER,
                "Requests refused before they ran, by reason (rate_limit, busy, connections, "
                "unauthenticated).");
    for (size_t i = 0; i < NREASONS; i++) {
        l[0] = (prom_label){"reason", reasons[i]};
        prom_u64(w, l, 1, m != NULL ? get(&m->refused[i]) : 0);
    }

    prom_family(w, "sce_live_runs", PROM_GAUGE,
                "Live runs (SSE streams and WebSockets) the gateway holds open now.");
    prom_double(w, NULL, 0,
                m != NULL ? (double)atomic_load_explicit(&m->live, memory_order_relaxed) : 0);
}

static void put_rpc(prom_writer *w, gw_metrics *m)
{
    size_t n = m != NULL ? atomic_load_explicit(&m->nbackends, memory_order_acquire) : 0;
    prom_label l[2];

    /* Slot n is m->other. */
    prom_family(w, "sce_rpc_duration_seconds", PROM_HISTOGRAM,
                "Seconds of an RPC to a backend, answered or failed, by backend and method.");
    for (size_t b = 0; m != NULL && b <= n; b++) {
        backend_slot *s = b < n ? m->backends[b] : &m->other;
        l[0] = (prom_label){"backend", b < n ? s->url : "other"};
        for (size_t i = 0; i < NMETHODS; i++) {
            l[1] = (prom_label){"method", methods[i]};
            put_histogram(w, l, 2, &s->rpc[i]);
        }
    }

    prom_family(w, "sce_rpc_failures_total", PROM_COUNTER,
                "RPCs to a backend that got no answer (transport failures), by backend and "
                "method.");
    for (size_t b = 0; m != NULL && b <= n; b++) {
        backend_slot *s = b < n ? m->backends[b] : &m->other;
        l[0] = (prom_label){"backend", b < n ? s->url : "other"};
        for (size_t i = 0; i < NMETHODS; i++) {
            uint64_t calls = 0;
            for (size_t k = 0; k <= NBOUNDS; k++)
                calls += get(&s->rpc[i].counts[k]);
            if (calls == 0) /* the series of the method's latencies, no more */
                continue;
            l[1] = (prom_label){"method", methods[i]};
            prom_u64(w, l, 2, get(&s->failures[i]));
        }
    }
}

/* The families written from the backends' views, in order. */
enum {
    V_UP,
    V_IN_FLIGHT,
    V_RUNS,
    V_FAILURES,
    H_ENGINE_UP, /* from here on: from the backend's last Health answer */
    H_WORKERS,
    H_BUSY_WORKERS,
    H_QUEUED,
    H_QUEUE_CAPACITY,
    H_POOL_READY,
    H_POOL_HITS,
    H_POOL_MISSES,
    H_RUNS,
    H_UPTIME,
    H_INFO,
    NVIEW
};

static const struct {
    const char *name;
    prom_type type;
    const char *help;
} view_families[NVIEW] = {
    [V_UP] = {"sce_backend_up", PROM_GAUGE,
              "1 if the backend answers its health polls and gets new runs, else 0."},
    [V_IN_FLIGHT] = {"sce_backend_in_flight", PROM_GAUGE,
                     "Calls sent to the backend and not yet answered."},
    [V_RUNS] = {"sce_backend_runs_total", PROM_COUNTER, "Runs the gateway sent to the backend."},
    [V_FAILURES] = {"sce_backend_failures_total", PROM_COUNTER,
                    "Calls to the backend lost to the transport."},
    [H_ENGINE_UP] = {"sce_server_engine_up", PROM_GAUGE,
                     "1 if the server's Docker engine answered its last check, else 0."},
    [H_WORKERS] = {"sce_server_workers", PROM_GAUGE, "The server's workers (runs at once)."},
    [H_BUSY_WORKERS] = {"sce_server_busy_workers", PROM_GAUGE,
                        "The server's workers running a request."},
    [H_QUEUED] = {"sce_server_queued", PROM_GAUGE, "Requests waiting in the server's queue."},
    [H_QUEUE_CAPACITY] = {"sce_server_queue_capacity", PROM_GAUGE,
                          "Requests the server's queue holds; beyond, it answers busy."},
    [H_POOL_READY] = {"sce_server_pool_ready", PROM_GAUGE,
                      "Warm containers ready in the server's pool, all languages."},
    [H_POOL_HITS] = {"sce_server_pool_hits_total", PROM_COUNTER,
                     "Runs the server served with a warm container."},
    [H_POOL_MISSES] = {"sce_server_pool_misses_total", PROM_COUNTER,
                       "Runs the server started a container of their own for."},
    [H_RUNS] = {"sce_server_runs_total", PROM_COUNTER,
                "Runs the server has answered since it started."},
    [H_UPTIME] = {"sce_server_uptime_seconds", PROM_GAUGE, "Seconds since the server started."},
    [H_INFO] = {"sce_server_info", PROM_GAUGE,
                "Always 1; the labels name the server's instance and versions."},
};

/* The value of every family for backend v into x[]; returns how many are
 * known: all, or only those before H_ENGINE_UP when it has no Health
 * answer yet.  Counts are exact as doubles up to 2^53. */
static int view_values(const gw_backend_view *v, double x[NVIEW])
{
    const sce_health *h = v->health;

    x[V_UP] = v->up ? 1 : 0;
    x[V_IN_FLIGHT] = v->in_flight;
    x[V_RUNS] = (double)v->runs;
    x[V_FAILURES] = (double)v->failures;
    if (h == NULL)
        return H_ENGINE_UP;
    x[H_ENGINE_UP] = h->engine_ok ? 1 : 0;
    x[H_WORKERS] = h->workers;
    x[H_BUSY_WORKERS] = h->busy_workers;
    x[H_QUEUED] = h->queued;
    x[H_QUEUE_CAPACITY] = h->queue_capacity;
    x[H_POOL_READY] = h->pool_ready;
    x[H_POOL_HITS] = (double)h->pool_hits;
    x[H_POOL_MISSES] = (double)h->pool_misses;
    x[H_RUNS] = (double)h->runs_total;
    x[H_UPTIME] = (double)h->uptime_ms / 1000;
    x[H_INFO] = 1;
    return NVIEW;
}

static void put_views(prom_writer *w, const gw_backend_view *b, size_t nb)
{
    for (int f = 0; f < NVIEW; f++) {
        prom_family(w, view_families[f].name, view_families[f].type, view_families[f].help);
        for (size_t i = 0; i < nb; i++) {
            const sce_health *h = b[i].health;
            prom_label l[4] = {{"backend", b[i].url}};
            size_t nl = 1;
            double x[NVIEW];

            if (f >= view_values(&b[i], x))
                continue;
            if (f == H_INFO) {
                l[1] = (prom_label){"instance_id", h->instance_id};
                l[2] = (prom_label){"server_version", h->server_version};
                l[3] = (prom_label){"engine_version", h->engine_version};
                nl = 4;
            }
            prom_double(w, l, nl, x[f]);
        }
    }
}

int gw_metrics_render(gw_metrics *m, const gw_backend_view *b, size_t nb, char **out,
                      size_t *outlen)
{
    prom_writer w;

    prom_init(&w, GW_METRICS_RENDER_MAX_BYTES);
    put_counts(&w, m);
    put_rpc(&w, m);
    put_views(&w, b, nb);
    return prom_finish(&w, out, outlen);
}
