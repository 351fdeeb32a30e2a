/*
 * bench.c - sce-bench: the latency and throughput figures of issue 5, with
 * their baselines, measured side by side in one run.
 *
 *   latency   hello world in both languages at concurrency 1, through the
 *             RPC and through HTTP: warm (a ready pool, engine idle: one
 *             request at a time, the next sent when the pool is full again),
 *             back-to-back (no pause), and cold (a memory limit below the
 *             pool's forces a container of its own); warm also as a fresh
 *             `sce run` process each time (what a shell user or a grader
 *             script pays: process start, connection, handshake, call),
 *             next to the persistent client, whose connection is made once
 *   throughput  concurrency 4 and 8 over a fixed number of runs
 *   baselines   `docker run --rm` with the reference limit flags; the
 *             engine's own create+start+remove ceiling through the Engine
 *             API; the interpreters started natively on this host
 *   memory    the server's RSS over many runs (--memory-runs)
 *   gVisor    with --runsc-server, a second server whose containers run on
 *             runsc: warm and cold latency, throughput at concurrency 4
 *             against the engine's rate for that runtime's containers, the
 *             CPU per run, and an idle warm container's memory and host
 *             threads, each beside the same figure for the first server
 *             (runc), measured one server at a time while the other's pool
 *             is full and idle
 *   cluster   with --cluster-servers and --cluster-gateways, throughput
 *             through one gateway with 1, 2 and 3 servers behind it, the
 *             share each served, and the same servers driven directly at
 *             the same concurrency: the gateway's overhead and balance
 *             (the servers share this machine's engine: not a multiple)
 *
 * It prints one Markdown table with the ratios and writes it to --out.
 * Timings live here, never in the test suite.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "docker.h"
#include "languages.h"
#include "oci_runtime.h"
#include "options.h"
#include "sandbox.h"
#include "sce/client.h"

typedef struct bench_opts {
    const char *server;
    const char *runsc_server; /* NULL: no gVisor section */
    const char *cli; /* the sce binary, for the fresh-process rows */
    const char *gateway;
    const char *out;
    const char *docker_socket;
    const char *python_image;
    const char *node_image;
    int server_pid;
    int runsc_server_pid;
    int warm_runs;
    int cold_runs;
    int burst_runs;
    int throughput_runs;
    int docker_runs;
    int engine_runs;
    int memory_runs;
    const char *cluster_servers;  /* NULL: no section "Several servers ..." */
    const char *cluster_gateways; /* gateway i has the first i servers behind it */
    int cluster_only;             /* --only cluster: that section alone */
    int stream_only;              /* --only stream: "Streamed runs" alone */
} bench_opts;

static bench_opts opt = {
    .server = "tcp://127.0.0.1:7700",
    .cli = SCE_CLI_PATH,
    .gateway = "http://127.0.0.1:8080",
    .out = "bench/results/latest.md",
    .docker_socket = "/var/run/docker.sock",
    .python_image = "sce-python:latest",
    .node_image = "sce-node:latest",
    .warm_runs = 40,
    .cold_runs = 10,
    .burst_runs = 20,
    .throughput_runs = 40,
    .docker_runs = 10,
    .engine_runs = 24,
    .memory_runs = 0,
};

/* One sce-server under test: the runc one (--server) and, with
 * --runsc-server, the gVisor one.  Opened by server_open, closed by
 * server_close. */
typedef struct bench_server {
    const char *url;
    int pid;
    sce_client *c;
    uint32_t full;       /* its warm pool's full size */
    char instance[128];  /* its instance name: the label of its containers */
    char runtime[2][32]; /* python's and node's runtime, as it reports them */
} bench_server;

/* The server measured now: run_rpc, health, wait_pool_full and throughput
 * go through it; server_use switches it between phases, never during one. */
static sce_client *client;
static FILE *report;

static const char *const hello[2][2] = {
    {"python", "print(2+2)\n"},
    {"node", "console.log(2+2)\n"},
};

static double now_ms(void)
{
    return (double)sce_clock_us() / 1000.0;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "sce-bench: %s: %s\n", what, detail);
    exit(1);
}

/* ------------------------------------------------------------ statistics */

typedef struct samples {
    double *v;
    int n;
    int errors;
} samples;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(samples *s, double p)
{
    int i;

    if (s->n == 0)
        return NAN;
    qsort(s->v, (size_t)s->n, sizeof(double), cmp_double);
    i = (int)ceil(p / 100.0 * s->n) - 1;
    return s->v[i < 0 ? 0 : (i >= s->n ? s->n - 1 : i)];
}

static samples samples_new(int n)
{
    samples s = {calloc((size_t)n, sizeof(double)), 0, 0};
    if (s.v == NULL)
        die("samples", "out of memory");
    return s;
}

/* Both to stdout and to the report file. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (report) {
        va_start(ap, fmt);
        vfprintf(report, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

static void row(const char *what, samples *s, const char *how)
{
    out("| %s | %d | %.1f | %.1f | %.1f | %d | %s |\n", what, s->n, pct(s, 50), pct(s, 90),
        pct(s, 99), s->errors, how);
}

/* ------------------------------------------------------------ the service */

static int health(sce_health **h)
{
    char err[256];
    return sce_client_health(client, h, err, sizeof(err));
}

/* Waits until the pool holds `full` containers (or 10 s), then a little
 * more so the used container's removal is done too: the engine is idle. */
static void wait_pool_full(uint32_t full)
{
    double until = now_ms() + 10000;

    while (now_ms() < until) {
        sce_health *h = NULL;
        uint32_t ready = 0;

        if (health(&h) == SCE_OK) {
            ready = h->pool_ready;
            sce_health_free(h);
        }
        if (ready >= full)
            break;
        usleep(20000);
    }
    usleep(250000);
}

/* The pool's full size: pool_size containers per language, under the
 * server options as sce-server reads them from this environment, once the
 * server holds that many (a gVisor pool takes many seconds to fill, so a
 * quiet second says nothing); after 60 s (another size on the server's
 * command line), the most it held. */
static uint32_t pool_full_size(void)
{
    server_options so;
    char err[256];
    uint32_t best = 0, want;

    memset(&so, 0, sizeof(so));
    if (sce_config_load(&server_options_spec, &so, 1, (char *[]){"sce-bench", NULL}, err,
                        sizeof(err)) != SCE_CONFIG_OK)
        die("server options", err);
    want = (uint32_t)so.pool_size * (uint32_t)languages_count();
    sce_config_free(&server_options_spec, &so);
    for (int i = 0; i < 600 && best < want; i++) {
        sce_health *h = NULL;
        if (health(&h) != SCE_OK)
            die("health", "the server does not answer");
        if (h->pool_ready > best)
            best = h->pool_ready;
        sce_health_free(h);
        usleep(100000);
    }
    return best;
}

static void server_use(bench_server *s)
{
    client = s->c;
}

/* Connects to s->url and learns its instance and each language's runtime;
 * the pool's size is learned later (server_settle_first), when nothing
 * else fills a pool.  Dies on failure. */
static void server_open(bench_server *s)
{
    char err[256];
    sce_health *h = NULL;
    sce_language_list *ls = NULL;

    if (sce_client_open(s->url, &s->c, err, sizeof(err)) != SCE_OK)
        die(s->url, err);
    sce_client_set_timeout(s->c, 120000);
    server_use(s);
    if (health(&h) != SCE_OK)
        die(s->url, "the server does not answer");
    snprintf(s->instance, sizeof(s->instance), "%s", h->instance_id ? h->instance_id : "");
    sce_health_free(h);
    if (sce_client_languages(s->c, &ls, err, sizeof(err)) != SCE_OK)
        die(s->url, err);
    for (int l = 0; l < 2; l++) {
        snprintf(s->runtime[l], sizeof(s->runtime[l]), "?");
        for (size_t i = 0; i < ls->count; i++)
            if (strcmp(ls->items[i].name, hello[l][0]) == 0 && ls->items[i].runtime != NULL)
                snprintf(s->runtime[l], sizeof(s->runtime[l]), "%s", ls->items[i].runtime);
    }
    sce_language_list_free(ls);
}

static void server_close(bench_server *s)
{
    if (s->c != NULL)
        sce_client_close(s->c);
    s->c = NULL;
}

/* Before a measurement on `s`: the other server's pool full and its
 * engine work done (it is idle), then s's; s is measured from here on. */
static void server_settle(bench_server *s, bench_server *other)
{
    if (other != NULL && other->c != NULL) {
        server_use(other);
        wait_pool_full(other->full);
    }
    server_use(s);
    wait_pool_full(s->full);
}

/* One run of `code` on client c; true when it answered ok with "4\n". */
static int run_rpc_on(sce_client *c, const char *lang, const char *code, uint64_t memory_bytes,
                      double *ms)
{
    sce_run_request rq;
    sce_run_result *r = NULL;
    char err[256];
    double t0 = now_ms();
    int rv, ok;

    memset(&rq, 0, sizeof(rq));
    rq.language = lang;
    rq.code = code;
    rq.memory_bytes = memory_bytes;
    rv = sce_client_run(c, &rq, &r, err, sizeof(err));
    *ms = now_ms() - t0;
    ok = rv == SCE_OK && r->verdict == SCE_VERDICT_OK && strcmp(r->stdout_data, "4\n") == 0;
    if (!ok)
        fprintf(stderr, "  run failed: %s %s\n", rv == SCE_OK ? sce_verdict_name(r->verdict) : "",
                rv == SCE_OK ? r->message : err);
    sce_run_result_free(r);
    return ok;
}

/* The same on the server measured now. */
static int run_rpc(const char *lang, const char *code, uint64_t memory_bytes, double *ms)
{
    return run_rpc_on(client, lang, code, memory_bytes, ms);
}

/* An HTTP answer's first bytes (enough for a hello world's verdict). */
typedef struct http_body {
    char data[4096];
    size_t len;
} http_body;

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    http_body *b = arg;
    size_t room = sizeof(b->data) - 1 - b->len, take = size * n < room ? size * n : room;

    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->data[b->len] = '\0';
    return size * n;
}

/* POST /run of language l's hello world through `gateway`; true when it
 * answered 200 with status ok and "4\n". */
static int run_http(CURL *h, const char *gateway, int l, double *ms)
{
    static const char *const code[2] = {"print(2+2)\\n", "console.log(2+2)\\n"};
    char body[256], url[512];
    http_body answer = {.len = 0};
    long status = 0;
    double t0;
    CURLcode rc;
    int ok;

    snprintf(url, sizeof(url), "%s/run", gateway);
    snprintf(body, sizeof(body), "{\"language\":\"%s\",\"code\":\"%s\"}", hello[l][0], code[l]);
    answer.data[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    t0 = now_ms();
    rc = curl_easy_perform(h);
    *ms = now_ms() - t0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    ok = rc == CURLE_OK && status == 200 && strstr(answer.data, "\"status\":\"ok\"") != NULL &&
         strstr(answer.data, "\"output\":\"4\\n\"") != NULL;
    if (!ok)
        fprintf(stderr, "  HTTP run failed: %s %ld %.200s\n",
                rc == CURLE_OK ? "" : curl_easy_strerror(rc), status, answer.data);
    return ok;
}

static CURL *http_handle(void)
{
    CURL *h = curl_easy_init();
    static struct curl_slist *hdrs;

    if (hdrs == NULL)
        hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    return h;
}

/* ------------------------------------------------------------ throughput */

/* The machine's CPU time (all cores) from /proc/stat, in ms: busy and in
 * all.  The difference of two readings says whether a phase was bound by
 * the CPU (busy near 100%) or waited on something else, and how much CPU
 * each run cost everything on the machine together (engine, shims, runners,
 * server, this program). */
typedef struct cpu_reading {
    double busy_ms, total_ms;
} cpu_reading;

static cpu_reading cpu_now(void)
{
    cpu_reading r = {0, 0};
    unsigned long long v[8] = {0};
    long hz = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/stat", "r");

    if (f == NULL)
        return r;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) == 8) {
        double total = 0;
        for (int i = 0; i < 8; i++)
            total += (double)v[i];
        r.total_ms = total * 1000.0 / (double)hz;
        r.busy_ms = (total - (double)v[3] - (double)v[4]) * 1000.0 / (double)hz;
    }
    fclose(f);
    return r;
}

/* One throughput figure: rate, errors, and the CPU it took. */
typedef struct rate {
    double per_s;
    int concurrency, runs, errors;
    double busy_pct, cpu_ms_per_run;
} rate;

static void rate_cpu(rate *r, cpu_reading a, cpu_reading b)
{
    double total = b.total_ms - a.total_ms, busy = b.busy_ms - a.busy_ms;

    r->busy_pct = total > 0 ? 100.0 * busy / total : 0;
    r->cpu_ms_per_run = r->runs - r->errors > 0 ? busy / (r->runs - r->errors) : 0;
}

typedef struct tp_state {
    pthread_mutex_t lock;
    int left;
    int errors;
    int lang; /* 0 python, 1 node, -1 both in turn */
} tp_state;

static void *tp_worker(void *arg)
{
    tp_state *st = arg;

    for (;;) {
        int i;
        double ms;

        pthread_mutex_lock(&st->lock);
        if (st->left == 0) {
            pthread_mutex_unlock(&st->lock);
            return NULL;
        }
        i = st->left--;
        pthread_mutex_unlock(&st->lock);
        int l = st->lang >= 0 ? st->lang : i % 2;
        int ok = run_rpc(hello[l][0], hello[l][1], 0, &ms);
        pthread_mutex_lock(&st->lock);
        st->errors += !ok;
        pthread_mutex_unlock(&st->lock);
    }
}

static double throughput(int concurrency, int runs, int lang, int *errors)
{
    tp_state st = {PTHREAD_MUTEX_INITIALIZER, runs, 0, lang};
    pthread_t t[64];
    double t0 = now_ms(), secs;

    for (int i = 0; i < concurrency; i++)
        pthread_create(&t[i], NULL, tp_worker, &st);
    for (int i = 0; i < concurrency; i++)
        pthread_join(t[i], NULL);
    secs = (now_ms() - t0) / 1000.0;
    *errors = st.errors;
    return (runs - st.errors) / secs; /* as engine_ceiling: answered runs only */
}

/* ------------------------------------------------------------ baselines */

/* Runs argv, its output discarded; returns the wall time in ms, or -1. */
static double time_command(char *const argv[])
{
    double t0 = now_ms();
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return now_ms() - t0;
}

/* A file holding language l's hello world, for the fresh-process rows;
 * made once, removed by hello_files_remove. */
static char hello_path[2][64];

static const char *hello_file(int l)
{
    if (hello_path[l][0] == '\0') {
        int fd;

        snprintf(hello_path[l], sizeof(hello_path[l]), "/tmp/sce-bench-hello-XXXXXX");
        fd = mkstemp(hello_path[l]);
        if (fd < 0 || write(fd, hello[l][1], strlen(hello[l][1])) != (ssize_t)strlen(hello[l][1]))
            die("hello file", strerror(errno));
        close(fd);
    }
    return hello_path[l];
}

static void hello_files_remove(void)
{
    for (int l = 0; l < 2; l++)
        if (hello_path[l][0] != '\0')
            unlink(hello_path[l]);
}

/* n timed runs of a command. */
static samples time_n(char *const argv[], int n)
{
    samples s = samples_new(n);

    for (int i = 0; i < n; i++) {
        double ms = time_command(argv);
        if (ms < 0)
            s.errors++;
        else
            s.v[s.n++] = ms;
    }
    return s;
}

/* The runtime of each language's containers in engine_ceiling (python,
 * node); NULL: as the server options load (SCE_RUNTIME, the config). */
static const char *engine_runtime[2];

typedef struct engine_state {
    docker *d;
    pthread_mutex_t lock;
    int left;
    int errors;
    int lang; /* 0 python, 1 node, -1 both in turn */
    server_options so;
} engine_state;

/* The same containers the service makes: sandbox_spec_fill's create
 * request under the server's options (defaults, $SCE_CONFIG and SCE_*
 * as sce-server would read them, images from --python-image/--node-image),
 * python and node alternating, each created, started (its runner loads and
 * waits for its input) and removed: what one run costs the engine, without
 * the run.  Instance "sce-bench": no server removes them as its own
 * leftovers (only the stale sweep would, after stale_after, and each lives
 * well under a second). */
static void *engine_worker(void *arg)
{
    engine_state *st = arg;
    char id[DOCKER_ID_MAX + 1], err[512];

    for (;;) {
        const lang_def *l;
        sandbox_spec spec;
        int ok, k;

        pthread_mutex_lock(&st->lock);
        if (st->left == 0) {
            pthread_mutex_unlock(&st->lock);
            return NULL;
        }
        k = st->left--;
        pthread_mutex_unlock(&st->lock);
        k = st->lang >= 0 ? st->lang : k % 2;
        l = languages_at((size_t)k);
        ok = sandbox_spec_fill(&st->so, l, st->so.memory_bytes,
                               k ? opt.node_image : opt.python_image, "sce-bench", NULL, &spec, err,
                               sizeof(err)) == 0;
        if (ok)
            ok = docker_container_create(st->d, &spec.create, id, err, sizeof(err)) == 0;
        if (ok) {
            ok = docker_container_start(st->d, id, err, sizeof(err)) == 0;
            ok = docker_container_remove(st->d, id, err, sizeof(err)) == 0 && ok;
        }
        if (!ok) {
            fprintf(stderr, "  engine: %s\n", err);
            pthread_mutex_lock(&st->lock);
            st->errors++;
            pthread_mutex_unlock(&st->lock);
        }
    }
}

static double engine_ceiling(int concurrency, int n, int lang, int *errors)
{
    engine_state st;
    pthread_t t[16];
    char err[256];
    double t0, secs;

    if (concurrency > 16)
        concurrency = 16;
    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.lock, NULL);
    st.left = n;
    st.lang = lang;
    if (sce_config_load(&server_options_spec, &st.so, 1, (char *[]){"sce-bench", NULL}, err,
                        sizeof(err)) != SCE_CONFIG_OK)
        die("server options", err);
    free(st.so.instance);
    st.so.instance = strdup("sce-bench");
    if (st.so.instance == NULL)
        die("server options", "out of memory");
    /* A language's own runtime wins over `runtime` (languages_runtime), so
     * that is the one set. */
    for (int l = 0; l < 2; l++) {
        char **field = l ? &st.so.node_runtime : &st.so.python_runtime;
        if (engine_runtime[l] == NULL)
            continue;
        free(*field);
        *field = strdup(engine_runtime[l]);
        if (*field == NULL)
            die("server options", "out of memory");
    }
    if (docker_open(opt.docker_socket, "v1.41", 60000, &st.d, err, sizeof(err)) != 0)
        die("docker", err);
    /* The runtime (SCE_RUNTIME and the config, as the server reads them)
     * decides some of the limits: sandbox_spec_fill needs it known. */
    if (oci_runtime_resolve(st.d, &st.so, err, sizeof(err)) != 0)
        die("docker", err);
    t0 = now_ms();
    for (int i = 0; i < concurrency; i++)
        pthread_create(&t[i], NULL, engine_worker, &st);
    for (int i = 0; i < concurrency; i++)
        pthread_join(t[i], NULL);
    secs = (now_ms() - t0) / 1000.0;
    docker_close(st.d);
    sce_config_free(&server_options_spec, &st.so);
    *errors = st.errors;
    return (n - st.errors) / secs;
}

/* One throughput phase (`phase` is throughput or engine_ceiling) with the
 * machine's CPU read around it. */
static rate measure_rate(double (*phase)(int, int, int, int *), int concurrency, int runs,
                         int lang)
{
    rate r = {0};
    cpu_reading a = cpu_now(), b;

    r.concurrency = concurrency;
    r.runs = runs;
    r.per_s = phase(concurrency, runs, lang, &r.errors);
    b = cpu_now();
    rate_cpu(&r, a, b);
    return r;
}

/* ------------------------------------------------------------ memory */

static long rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Container `id`'s cgroup file, opened for reading: `v1` in controller
 * `ctl` under cgroup v1, else `v2` under cgroup v2, each under the
 * cgroupfs or the systemd driver's path; NULL if there is none. */
static FILE *cgroup_open(const char *ctl, const char *id, const char *v1, const char *v2)
{
    static const char *const dir[2][2] = {{"docker/", ""}, {"system.slice/docker-", ".scope"}};
    char path[512];
    FILE *f;

    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s%s%s/%s", ctl, dir[i][0], id, dir[i][1],
                 v1);
        if ((f = fopen(path, "r")) != NULL)
            return f;
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s%s%s/%s", dir[i][0], id, dir[i][1], v2);
        if ((f = fopen(path, "r")) != NULL)
            return f;
    }
    return NULL;
}

/* What one idle container holds on the host, from its cgroup: anonymous
 * plus shared memory (a gVisor sandbox keeps its guest's memory in a
 * memfd, which is shmem; the image's page cache is left out, as it is
 * shared and charged to whoever read it first), and its tasks (threads). */
typedef struct footprint {
    int containers;
    double mem_kib, threads; /* means over the containers */
} footprint;

static int cgroup_container(const char *id, double *mem_kib, double *threads)
{
    char line[256], key[64];
    unsigned long long v, mem = 0;
    int n = 0, have = 0;
    FILE *f = cgroup_open("memory", id, "memory.stat", "memory.stat");

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %llu", key, &v) == 2 &&
            (!strcmp(key, "rss") || !strcmp(key, "anon") || !strcmp(key, "shmem"))) {
            mem += v;
            have = 1;
        }
    fclose(f);
    f = cgroup_open("pids", id, "tasks", "cgroup.threads");
    if (f == NULL || !have) {
        if (f != NULL)
            fclose(f);
        return 0;
    }
    while (fgets(line, sizeof(line), f))
        n++;
    fclose(f);
    *mem_kib = (double)mem / 1024.0;
    *threads = n;
    return 1;
}

/* The running containers of server s for language l (its pool, when it is
 * full and idle). */
static footprint server_footprint(bench_server *s, int l)
{
    footprint fp = {0, 0, 0};
    docker_container_info *cs = NULL;
    size_t n = 0;
    docker *d = NULL;
    char err[256], label[64];

    snprintf(label, sizeof(label), "org.sce.language=%s", hello[l][0]);
    if (docker_open(opt.docker_socket, "v1.41", 60000, &d, err, sizeof(err)) != 0 ||
        docker_container_list(d, label, "org.sce.instance", &cs, &n, err, sizeof(err)) != 0) {
        fprintf(stderr, "  footprint: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        double mem, threads;
        if (strcmp(cs[i].instance, s->instance) != 0 || strcmp(cs[i].state, "running") != 0 ||
            !cgroup_container(cs[i].id, &mem, &threads))
            continue;
        fp.mem_kib += mem;
        fp.threads += threads;
        fp.containers++;
    }
    if (fp.containers > 0) {
        fp.mem_kib /= fp.containers;
        fp.threads /= fp.containers;
    }
out:
    free(cs);
    if (d != NULL)
        docker_close(d);
    return fp;
}

/* ------------------------------------------------------------ gVisor */

/* One language's figures on one server. */
typedef struct rt_figures {
    samples warm, cold;
    rate eng, tp;
    footprint fp;
    long rss_kib; /* the server's, after its runs */
} rt_figures;

/* One line of the side-by-side table: language, figure, both values
 * with `decimals` places, and their ratio. */
static void rt_row(const char *lang, const char *what, double runc, double runsc, int decimals)
{
    out("| %s %s | %.*f | %.*f | %.2f |\n", lang, what, decimals, runc, decimals, runsc,
        runc != 0 ? runsc / runc : NAN);
}

/* The gVisor section: srv[0] runs on runc, srv[1] on runsc; each figure
 * is taken on one server while the other's pool is full and idle, the
 * latency runs alternating between them so that both see the same hour. */
static void gvisor_section(bench_server srv[2])
{
    rt_figures f[2][2]; /* [runtime][language] */
    static const char *const rt_name[2] = {"runc", "runsc"};

    memset(f, 0, sizeof(f));
    out("\n### gVisor (runsc) beside runc\n\n");
    for (int r = 0; r < 2; r++)
        out("Server %s: python on %s, node on %s (warm pool: %u containers in all).\n", srv[r].url,
            srv[r].runtime[0], srv[r].runtime[1], srv[r].full);
    out("\n| what | runtime | runs | p50 ms | p90 ms | p99 ms | errors | how |\n");
    out("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for (int l = 0; l < 2; l++) {
        double ms;

        for (int r = 0; r < 2; r++) {
            f[r][l].warm = samples_new(opt.warm_runs);
            f[r][l].cold = samples_new(opt.cold_runs);
        }
        for (int i = 0; i < opt.warm_runs; i++)
            for (int r = 0; r < 2; r++) {
                samples *s = &f[r][l].warm;
                server_settle(&srv[r], &srv[!r]);
                if (run_rpc(hello[l][0], hello[l][1], 0, &ms))
                    s->v[s->n++] = ms;
                else
                    s->errors++;
            }
        for (int i = 0; i < opt.cold_runs; i++)
            for (int r = 0; r < 2; r++) {
                samples *s = &f[r][l].cold;
                server_settle(&srv[r], &srv[!r]);
                if (run_rpc(hello[l][0], hello[l][1], 127u << 20, &ms))
                    s->v[s->n++] = ms;
                else
                    s->errors++;
            }
        for (int r = 0; r < 2; r++) {
            samples *w = &f[r][l].warm, *c = &f[r][l].cold;
            out("| %s hello, warm, RPC | %s | %d | %.1f | %.1f | %.1f | %d | c=1, both pools full "
                "and idle before each run, the servers in turn |\n",
                hello[l][0], rt_name[r], w->n, pct(w, 50), pct(w, 90), pct(w, 99), w->errors);
            out("| %s hello, cold path, RPC | %s | %d | %.1f | %.1f | %.1f | %d | memory 127 MiB: "
                "create+attach+start per run |\n",
                hello[l][0], rt_name[r], c->n, pct(c, 50), pct(c, 90), pct(c, 99), c->errors);
        }
    }

    /* Throughput, one server at a time, each against the engine's rate for
     * its own runtime's containers; then what its idle pool holds. */
    for (int r = 0; r < 2; r++) {
        for (int l = 0; l < 2; l++) {
            engine_runtime[0] = srv[r].runtime[0];
            engine_runtime[1] = srv[r].runtime[1];
            server_settle(&srv[r], &srv[!r]);
            f[r][l].eng = measure_rate(engine_ceiling, 4, opt.engine_runs, l);
            server_settle(&srv[r], &srv[!r]);
            f[r][l].tp = measure_rate(throughput, 4, opt.throughput_runs / 2, l);
            engine_runtime[0] = engine_runtime[1] = NULL;
        }
        server_settle(&srv[r], &srv[!r]);
        for (int l = 0; l < 2; l++) {
            f[r][l].fp = server_footprint(&srv[r], l);
            f[r][l].rss_kib = srv[r].pid ? rss_kib(srv[r].pid) : -1;
        }
    }

    out("\n| throughput, concurrency 4 | runtime | runs | runs/s | errors | vs its engine ceiling "
        "| CPU busy | CPU ms per run |\n");
    out("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int l = 0; l < 2; l++)
        for (int r = 0; r < 2; r++) {
            rate *e = &f[r][l].eng, *t = &f[r][l].tp;
            out("| engine alone, %s containers only, 4 at once | %s | %d | %.2f | %d | 1.00 | "
                "%.0f%% | %.0f |\n",
                hello[l][0], rt_name[r], e->runs, e->per_s, e->errors, e->busy_pct,
                e->cpu_ms_per_run);
            out("| sce Run, %s only (vs the line above) | %s | %d | %.2f | %d | %.2f | %.0f%% | "
                "%.0f |\n",
                hello[l][0], rt_name[r], t->runs, t->per_s, t->errors,
                e->per_s > 0 ? t->per_s / e->per_s : NAN, t->busy_pct, t->cpu_ms_per_run);
        }

    out("\n| runc and runsc side by side | runc | runsc | runsc / runc |\n");
    out("| --- | ---: | ---: | ---: |\n");
    for (int l = 0; l < 2; l++) {
        rt_figures *a = &f[0][l], *b = &f[1][l];
        const char *lang = hello[l][0];

        rt_row(lang, "warm RPC p50 ms", pct(&a->warm, 50), pct(&b->warm, 50), 1);
        rt_row(lang, "warm RPC p90 ms", pct(&a->warm, 90), pct(&b->warm, 90), 1);
        rt_row(lang, "cold RPC p50 ms", pct(&a->cold, 50), pct(&b->cold, 50), 1);
        rt_row(lang, "cold RPC p90 ms", pct(&a->cold, 90), pct(&b->cold, 90), 1);
        rt_row(lang, "engine alone, containers/s at 4", a->eng.per_s, b->eng.per_s, 2);
        rt_row(lang, "engine alone, CPU ms per container", a->eng.cpu_ms_per_run,
               b->eng.cpu_ms_per_run, 0);
        rt_row(lang, "sce Run c=4, runs/s", a->tp.per_s, b->tp.per_s, 2);
        rt_row(lang, "sce Run c=4 / its engine ceiling",
               a->eng.per_s > 0 ? a->tp.per_s / a->eng.per_s : NAN,
               b->eng.per_s > 0 ? b->tp.per_s / b->eng.per_s : NAN, 2);
        rt_row(lang, "sce Run c=4, CPU busy %", a->tp.busy_pct, b->tp.busy_pct, 0);
        rt_row(lang, "sce Run c=4, CPU ms per run", a->tp.cpu_ms_per_run, b->tp.cpu_ms_per_run, 0);
        rt_row(lang, "idle warm container, anon+shmem KiB", a->fp.mem_kib, b->fp.mem_kib, 0);
        rt_row(lang, "idle warm container, host threads", a->fp.threads, b->fp.threads, 1);
    }
    out("\nIdle warm containers read: runc %d+%d, runsc %d+%d (python+node); server RSS after "
        "its runs: runc %ld KiB, runsc %ld KiB.\n",
        f[0][0].fp.containers, f[0][1].fp.containers, f[1][0].fp.containers, f[1][1].fp.containers,
        f[0][1].rss_kib, f[1][1].rss_kib);
    for (int r = 0; r < 2; r++)
        for (int l = 0; l < 2; l++) {
            free(f[r][l].warm.v);
            free(f[r][l].cold.v);
        }
}

/* ------------------------------------------------------------ several servers */

/* The section "Several servers behind one gateway": --cluster-servers
 * S1,S2,S3 and --cluster-gateways G1,G2,G3, where Gi has the first i
 * servers behind it.  For each gateway, hello world (python and node in
 * turn) at CLUSTER_CONCURRENCY through it, then at the same concurrency
 * through libsce clients spread evenly over the same servers (each worker
 * thread keeps to one server): the direct figure the gateway is measured
 * against.  Each server's share comes from the runs_total its Health
 * reports.  All servers (and the first and gVisor servers, when they are
 * not among them) have their pools full and idle before each phase. */
#define CLUSTER_MAX 3
#define CLUSTER_CONCURRENCY 6

typedef struct cluster_phase {
    const char *gateway;   /* NULL: the servers directly */
    bench_server *servers; /* n of them */
    int n;
    pthread_mutex_t lock;
    int left, errors, next_worker;
} cluster_phase;

/* The phase cluster_run runs; set before measure_rate(cluster_run, ...). */
static cluster_phase *cluster_now;

static void *cluster_worker(void *arg)
{
    cluster_phase *ph = arg;
    CURL *h = ph->gateway != NULL ? http_handle() : NULL;
    sce_client *c;

    pthread_mutex_lock(&ph->lock);
    c = ph->servers[ph->next_worker++ % ph->n].c;
    pthread_mutex_unlock(&ph->lock);
    for (;;) {
        double ms;
        int i, ok;

        pthread_mutex_lock(&ph->lock);
        if (ph->left == 0) {
            pthread_mutex_unlock(&ph->lock);
            break;
        }
        i = ph->left--;
        pthread_mutex_unlock(&ph->lock);
        ok = h != NULL ? run_http(h, ph->gateway, i % 2, &ms)
                       : run_rpc_on(c, hello[i % 2][0], hello[i % 2][1], 0, &ms);
        pthread_mutex_lock(&ph->lock);
        ph->errors += !ok;
        pthread_mutex_unlock(&ph->lock);
    }
    if (h != NULL)
        curl_easy_cleanup(h);
    return NULL;
}

/* measure_rate's phase: cluster_now's runs, `concurrency` at once. */
static double cluster_run(int concurrency, int runs, int lang, int *errors)
{
    cluster_phase *ph = cluster_now;
    pthread_t t[CLUSTER_CONCURRENCY];
    double t0 = now_ms(), secs;

    (void)lang;
    if (concurrency > CLUSTER_CONCURRENCY)
        concurrency = CLUSTER_CONCURRENCY;
    pthread_mutex_init(&ph->lock, NULL);
    ph->left = runs;
    ph->errors = 0;
    ph->next_worker = 0;
    for (int i = 0; i < concurrency; i++)
        pthread_create(&t[i], NULL, cluster_worker, ph);
    for (int i = 0; i < concurrency; i++)
        pthread_join(t[i], NULL);
    secs = (now_ms() - t0) / 1000.0;
    pthread_mutex_destroy(&ph->lock);
    *errors = ph->errors;
    return (runs - ph->errors) / secs;
}

/* Splits a comma-separated list into at most CLUSTER_MAX items of `buf`
 * (a copy); returns their number. */
static int cluster_split(const char *list, char *buf, size_t buflen, const char *item[])
{
    int n = 0;

    snprintf(buf, buflen, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL && n < CLUSTER_MAX;
         tok = strtok_r(NULL, ",", &save))
        item[n++] = tok;
    return n;
}

/* Every pool full and the engine idle: the cluster's servers and the
 * others (srv[0], srv[1]). */
static void cluster_settle(bench_server *cs, int n, bench_server srv[2])
{
    for (int i = 0; i < 2; i++)
        if (srv[i].c != NULL) {
            server_use(&srv[i]);
            wait_pool_full(srv[i].full);
        }
    for (int i = 0; i < n; i++) {
        server_use(&cs[i]);
        wait_pool_full(cs[i].full);
    }
}

static uint64_t runs_total(bench_server *s)
{
    sce_health *h = NULL;
    uint64_t n = 0;

    server_use(s);
    if (health(&h) == SCE_OK)
        n = h->runs_total;
    sce_health_free(h);
    return n;
}

static void cluster_section(bench_server srv[2])
{
    char sbuf[1024], gbuf[1024];
    const char *surl[CLUSTER_MAX], *gurl[CLUSTER_MAX];
    bench_server cs[CLUSTER_MAX];
    int ns = cluster_split(opt.cluster_servers, sbuf, sizeof(sbuf), surl);
    int ng = cluster_split(opt.cluster_gateways, gbuf, sizeof(gbuf), gurl);
    rate eng, via[CLUSTER_MAX], direct[CLUSTER_MAX];
    double share[CLUSTER_MAX][CLUSTER_MAX]; /* [gateway][server], % of its runs */

    if (ng > ns)
        die("--cluster-gateways", "gateway i needs i servers in --cluster-servers");
    memset(cs, 0, sizeof(cs));
    memset(share, 0, sizeof(share));
    for (int i = 0; i < ns; i++) {
        cs[i].url = surl[i];
        server_open(&cs[i]);
        cs[i].full = pool_full_size();
    }
    cluster_settle(cs, ns, srv);
    eng = measure_rate(engine_ceiling, CLUSTER_CONCURRENCY, opt.engine_runs, -1);
    for (int g = 0; g < ng; g++) {
        cluster_phase ph = {.gateway = gurl[g], .servers = cs, .n = g + 1};
        uint64_t before[CLUSTER_MAX], served = 0;

        for (int i = 0; i <= g; i++)
            before[i] = runs_total(&cs[i]);
        cluster_settle(cs, ns, srv);
        cluster_now = &ph;
        via[g] = measure_rate(cluster_run, CLUSTER_CONCURRENCY, opt.throughput_runs, -1);
        for (int i = 0; i <= g; i++) {
            before[i] = runs_total(&cs[i]) - before[i];
            served += before[i];
        }
        for (int i = 0; i <= g; i++)
            share[g][i] = served > 0 ? 100.0 * (double)before[i] / (double)served : 0;
        ph.gateway = NULL;
        cluster_settle(cs, ns, srv);
        direct[g] = measure_rate(cluster_run, CLUSTER_CONCURRENCY, opt.throughput_runs, -1);
        cluster_now = NULL;
    }

    out("\n### Several servers behind one gateway\n\n");
    out("Servers");
    for (int i = 0; i < ns; i++)
        out("%s %s (warm pool: %u)", i ? "," : "", cs[i].url, cs[i].full);
    out(", all on this machine's one engine: the figures show the gateway's overhead and its "
        "balance, not a multiple of one server. Hello world, python and node in turn, %d at "
        "once: through one sce-gateway (POST /run, keep-alive, no rate limit) with the first "
        "1, 2 or 3 servers behind it, and directly (libsce, the %d workers spread evenly over "
        "the same servers). Engine alone, %d at once: %.2f containers/s (%.0f%% CPU busy).\n\n",
        CLUSTER_CONCURRENCY, CLUSTER_CONCURRENCY, CLUSTER_CONCURRENCY, eng.per_s, eng.busy_pct);
    out("| servers | runs | through the gateway, runs/s | errors | directly, runs/s | errors | "
        "gateway / direct | gateway / engine alone | share each server served | CPU busy | CPU "
        "ms per run |\n");
    out("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n");
    for (int g = 0; g < ng; g++) {
        char shares[128];
        size_t len = 0;

        shares[0] = '\0';
        for (int i = 0; i <= g && len < sizeof(shares); i++)
            len += (size_t)snprintf(shares + len, sizeof(shares) - len, "%s%.0f%%", i ? " / " : "",
                                    share[g][i]);
        out("| %d | %d | %.2f | %d | %.2f | %d | %.2f | %.2f | %s | %.0f%% | %.0f |\n", g + 1,
            via[g].runs, via[g].per_s, via[g].errors, direct[g].per_s, direct[g].errors,
            direct[g].per_s > 0 ? via[g].per_s / direct[g].per_s : NAN,
            eng.per_s > 0 ? via[g].per_s / eng.per_s : NAN, shares, via[g].busy_pct,
            via[g].cpu_ms_per_run);
    }
    for (int i = 0; i < ns; i++)
        server_close(&cs[i]);
}

/* The service's own figures on the first server (--server) and its gateway:
 * latency, the baselines, the engine's ceiling and throughput, and the
 * ratios between them.  `full` is its warm pool's full size. */
static void service_section(uint32_t full)
{
    double rpc_p50[2] = {0, 0}, http_p50[2] = {0, 0}, docker_p50 = 0, native_p50[2] = {0, 0};
    double cli_p50[2] = {0, 0}, cli_p90[2] = {0, 0};
    rate tp[2], eng[3], tp_lang[2], eng_lang[2];
    double ceiling = 0; /* the best of eng[], runs/s */
    int best = 0;

    out("| what | runs | p50 ms | p90 ms | p99 ms | errors | how |\n");
    out("| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");

    /* Latency, warm, RPC (persistent client and fresh `sce run` processes)
     * and HTTP, both languages. */
    for (int l = 0; l < 2; l++) {
        samples rpc = samples_new(opt.warm_runs), web = samples_new(opt.warm_runs);
        samples cli = samples_new(opt.warm_runs);
        const char *lang = hello[l][0], *file = hello_file(l);
        char *cli_argv[] = {(char *)opt.cli, "--server", (char *)opt.server,
                            "run",           "-l",       (char *)lang,
                            (char *)file,    NULL};
        CURL *hh = http_handle();
        char what[128];

        for (int i = 0; i < opt.warm_runs; i++) {
            double ms;
            wait_pool_full(full);
            if (run_rpc(hello[l][0], hello[l][1], 0, &ms))
                rpc.v[rpc.n++] = ms;
            else
                rpc.errors++;
            wait_pool_full(full);
            if (run_http(hh, opt.gateway, l, &ms))
                web.v[web.n++] = ms;
            else
                web.errors++;
            wait_pool_full(full);
            if ((ms = time_command(cli_argv)) >= 0)
                cli.v[cli.n++] = ms;
            else
                cli.errors++;
        }
        snprintf(what, sizeof(what), "%s hello, warm, RPC", hello[l][0]);
        row(what, &rpc, "c=1, each run sent when the pool is full and the engine idle");
        rpc_p50[l] = pct(&rpc, 50);
        snprintf(what, sizeof(what), "%s hello, warm, fresh `sce run` process", hello[l][0]);
        row(what, &cli, "same, `sce --server URL run -l LANG FILE` started for each run");
        cli_p50[l] = pct(&cli, 50);
        cli_p90[l] = pct(&cli, 90);
        free(cli.v);
        snprintf(what, sizeof(what), "%s hello, warm, HTTP", hello[l][0]);
        row(what, &web, "same, POST /run through sce-gateway (keep-alive)");
        http_p50[l] = pct(&web, 50);
        free(rpc.v);
        free(web.v);
        curl_easy_cleanup(hh);
    }

    /* Back-to-back and cold, RPC. */
    for (int l = 0; l < 2; l++) {
        samples burst = samples_new(opt.burst_runs), cold = samples_new(opt.cold_runs);
        char what[128];
        double ms;

        wait_pool_full(full);
        for (int i = 0; i < opt.burst_runs; i++) {
            if (run_rpc(hello[l][0], hello[l][1], 0, &ms))
                burst.v[burst.n++] = ms;
            else
                burst.errors++;
        }
        snprintf(what, sizeof(what), "%s hello, back-to-back, RPC", hello[l][0]);
        row(what, &burst, "c=1, no pause: the pool drains, then runs wait for the engine");
        for (int i = 0; i < opt.cold_runs; i++) {
            wait_pool_full(full);
            if (run_rpc(hello[l][0], hello[l][1], 127u << 20, &ms))
                cold.v[cold.n++] = ms;
            else
                cold.errors++;
        }
        snprintf(what, sizeof(what), "%s hello, cold path, RPC", hello[l][0]);
        row(what, &cold, "memory 127 MiB (not the pool's): create+attach+start per run");
        free(burst.v);
        free(cold.v);
    }

    /* Baselines. */
    {
        char *docker_argv[] = {"docker", "run", "--rm", "-i", "--network", "none", "--memory",
                               "128m", "--memory-swap", "128m", "--cpus", "1", "--pids-limit",
                               "64", "--read-only", "--tmpfs", "/tmp:rw,size=16m", "--user",
                               "65534:65534", "--cap-drop", "ALL", "--security-opt",
                               "no-new-privileges", (char *)opt.python_image, "python3", "-c",
                               "print(2+2)", NULL};
        char *py_argv[] = {"python3", "-c", "print(2+2)", NULL};
        char *version_argv[] = {(char *)opt.cli, "--version", NULL};
        char *node_argv[] = {"node", "-e", "console.log(2+2)", NULL};
        samples s;

        wait_pool_full(full);
        s = time_n(docker_argv, opt.docker_runs);
        row("python hello, `docker run --rm`", &s, "the reference executors' path, CLI, limit flags");
        docker_p50 = pct(&s, 50);
        free(s.v);
        s = time_n(version_argv, opt.warm_runs);
        row("`sce --version` started", &s, "process start alone: the floor of the `sce run` rows");
        free(s.v);
        s = time_n(py_argv, 10);
        row("python3 -c started natively", &s, "this host's interpreter, no container");
        native_p50[0] = pct(&s, 50);
        free(s.v);
        s = time_n(node_argv, 10);
        row("node -e started natively", &s, "this host's interpreter, no container");
        native_p50[1] = pct(&s, 50);
        free(s.v);
    }

    /* Throughput. */
    wait_pool_full(full);
    {
        /* The engine's best rate over the concurrencies the service uses. */
        static const int conc[3] = {2, 4, 8};
        for (int i = 0; i < 3; i++) {
            eng[i] = measure_rate(engine_ceiling, conc[i], opt.engine_runs, -1);
            if (eng[i].per_s > eng[best].per_s)
                best = i;
        }
        out("\nEngine alone (the service's containers, python and node alternating, "
            "create+start+remove through the Engine API): %.2f/s at 2 at once, "
            "%.2f/s at 4, %.2f/s at 8.\n",
            eng[0].per_s, eng[1].per_s, eng[2].per_s);
        ceiling = eng[best].per_s;
    }
    wait_pool_full(full);
    tp[0] = measure_rate(throughput, 4, opt.throughput_runs, -1);
    wait_pool_full(full);
    tp[1] = measure_rate(throughput, 8, opt.throughput_runs, -1);
    /* Each language on its own, against the engine's rate for its own
     * containers: where the CPU per run differs, this says which. */
    for (int l = 0; l < 2; l++) {
        wait_pool_full(full);
        eng_lang[l] = measure_rate(engine_ceiling, 4, opt.engine_runs, l);
        wait_pool_full(full);
        tp_lang[l] = measure_rate(throughput, 4, opt.throughput_runs / 2, l);
    }

    out("\n| throughput | runs | runs/s | errors | vs engine ceiling | CPU busy | CPU ms per run |\n");
    out("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < 3; i++)
        out("| engine alone, %d at once%s | %d | %.2f | %d | %.2f | %.0f%% | %.0f |\n",
            eng[i].concurrency, i == best ? " (the ceiling)" : "",
            eng[i].runs, eng[i].per_s, eng[i].errors, eng[i].per_s / ceiling,
            eng[i].busy_pct, eng[i].cpu_ms_per_run);
    for (int i = 0; i < 2; i++)
        out("| sce Run, concurrency %d (python and node alternating) | %d | %.2f | %d | %.2f | "
            "%.0f%% | %.0f |\n",
            tp[i].concurrency, tp[i].runs, tp[i].per_s, tp[i].errors, tp[i].per_s / ceiling,
            tp[i].busy_pct, tp[i].cpu_ms_per_run);
    for (int l = 0; l < 2; l++) {
        out("| engine alone, %s containers only, 4 at once | %d | %.2f | %d | 1.00 | %.0f%% | %.0f "
            "|\n",
            hello[l][0], eng_lang[l].runs, eng_lang[l].per_s, eng_lang[l].errors,
            eng_lang[l].busy_pct, eng_lang[l].cpu_ms_per_run);
        out("| sce Run, %s only, concurrency 4 (vs the line above) | %d | %.2f | %d | %.2f | %.0f%% "
            "| %.0f |\n",
            hello[l][0], tp_lang[l].runs, tp_lang[l].per_s, tp_lang[l].errors,
            tp_lang[l].per_s / eng_lang[l].per_s, tp_lang[l].busy_pct, tp_lang[l].cpu_ms_per_run);
    }

    out("\n| ratio | value | target |\n| --- | ---: | --- |\n");
    out("| python warm RPC p50 | %.1f ms | at most 15 ms |\n", rpc_p50[0]);
    out("| node warm RPC p50 | %.1f ms | at most 25 ms |\n", rpc_p50[1]);
    out("| `docker run` p50 / python warm RPC p50 | %.0fx | at least 40x |\n",
        docker_p50 / rpc_p50[0]);
    out("| native python3 p50 / python warm RPC p50 | %.2fx | above 1 |\n",
        native_p50[0] / rpc_p50[0]);
    out("| native node p50 / node warm RPC p50 | %.2fx | above 1 |\n", native_p50[1] / rpc_p50[1]);
    out("| HTTP - RPC, python p50 | %+.1f ms | at most 2 ms |\n", http_p50[0] - rpc_p50[0]);
    out("| HTTP - RPC, node p50 | %+.1f ms | at most 2 ms |\n", http_p50[1] - rpc_p50[1]);
    out("| python warm, fresh `sce run` p50 (p90) | %.1f ms (%.1f ms) | at most 10 ms p50 |\n",
        cli_p50[0], cli_p90[0]);
    out("| fresh `sce run` - RPC, python p50 | %+.1f ms | (process start and connection) |\n",
        cli_p50[0] - rpc_p50[0]);
    out("| fresh `sce run` - RPC, node p50 | %+.1f ms | (the same) |\n", cli_p50[1] - rpc_p50[1]);
    out("| throughput c=4 / engine ceiling | %.2f | at least 0.9, zero errors |\n",
        tp[0].per_s / ceiling);
    out("| throughput c=8 / engine ceiling | %.2f | at least 0.9, zero errors |\n",
        tp[1].per_s / ceiling);
    for (int l = 0; l < 2; l++)
        out("| throughput c=4, %s only / engine, %s containers only | %.2f | (the same, per "
            "language) |\n",
            hello[l][0], hello[l][0], tp_lang[l].per_s / eng_lang[l].per_s);
}

/* ------------------------------------------------------------ streamed runs */

/* A program that prints a line, works for a second, and prints another:
 * a plain run shows the first line after the second, a streamed one at
 * once. */
static const char *const first_then_wait[2] = {
    "import time\nprint('first', flush=True)\ntime.sleep(1)\nprint('last')\n",
    "console.log('first');\nsetTimeout(() => console.log('last'), 1000);\n",
};

/* One followed run over RPC: ms from the start call to the first chunk and
 * to the result; 1 when it ended ok with both lines. */
static int stream_rpc(int l, double *first_ms, double *end_ms)
{
    sce_run_request rq;
    sce_run_started *st = NULL;
    sce_run_events *ev = NULL;
    uint64_t seq = 0;
    char err[256];
    double t0 = now_ms();
    int ok = 0;

    memset(&rq, 0, sizeof(rq));
    rq.language = hello[l][0];
    rq.code = first_then_wait[l];
    *first_ms = -1;
    if (sce_client_run_start(client, &rq, &st, err, sizeof(err)) != SCE_OK)
        goto out;
    for (;;) {
        if (sce_client_run_poll(client, st->run_id, NULL, seq, 2000, &ev, err, sizeof(err)) !=
            SCE_OK)
            goto out;
        if (ev->nchunks > 0 && *first_ms < 0)
            *first_ms = now_ms() - t0;
        seq = ev->next_seq;
        if (ev->done) {
            *end_ms = now_ms() - t0;
            ok = ev->result->verdict == SCE_VERDICT_OK &&
                 strcmp(ev->result->stdout_data, "first\nlast\n") == 0 && *first_ms >= 0;
            break;
        }
        sce_run_events_free(ev);
        ev = NULL;
    }
out:
    if (!ok)
        fprintf(stderr, "  streamed run failed: %s\n", err);
    sce_run_events_free(ev);
    sce_run_started_free(st);
    return ok;
}

/* What an SSE client sees: when the first stdout event and the result
 * arrived. */
typedef struct sse_watch {
    double t0, first_ms, end_ms;
    char tail[64]; /* the last bytes seen, for matches across writes */
} sse_watch;

static size_t sse_sink(char *p, size_t size, size_t n, void *arg)
{
    sse_watch *w = arg;
    size_t len = size * n, keep = strlen(w->tail);
    char buf[4096 + 64];
    size_t take = len < 4096 ? len : 4096;

    memcpy(buf, w->tail, keep);
    memcpy(buf + keep, p + len - take, take);
    buf[keep + take] = '\0';
    if (w->first_ms < 0 && strstr(buf, "event: stdout") != NULL)
        w->first_ms = now_ms() - w->t0;
    if (w->end_ms < 0 && strstr(buf, "event: result") != NULL)
        w->end_ms = now_ms() - w->t0;
    keep = keep + take < sizeof(w->tail) - 1 ? keep + take : sizeof(w->tail) - 1;
    memmove(w->tail, buf + strlen(buf) - keep, keep);
    w->tail[keep] = '\0';
    return len;
}

/* One POST /run with Accept: text/event-stream through the gateway. */
static int stream_http(int l, double *first_ms, double *end_ms)
{
    static const char *const code[2] = {
        "import time\\nprint('first', flush=True)\\ntime.sleep(1)\\nprint('last')\\n",
        "console.log('first');\\nsetTimeout(() => console.log('last'), 1000);\\n",
    };
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *h = curl_easy_init();
    sse_watch w = {.first_ms = -1, .end_ms = -1};
    char body[512], url[512];
    long status = 0;
    CURLcode rc;

    hdrs = curl_slist_append(hdrs, "Accept: text/event-stream");
    snprintf(url, sizeof(url), "%s/run", opt.gateway);
    snprintf(body, sizeof(body), "{\"language\":\"%s\",\"code\":\"%s\"}", hello[l][0], code[l]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    w.t0 = now_ms();
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    *first_ms = w.first_ms;
    *end_ms = w.end_ms;
    if (rc != CURLE_OK || status != 200 || w.first_ms < 0 || w.end_ms < 0) {
        fprintf(stderr, "  streamed HTTP run failed: %s %ld\n",
                rc == CURLE_OK ? "" : curl_easy_strerror(rc), status);
        return 0;
    }
    return 1;
}

static void stream_section(uint32_t full)
{
    int n = opt.warm_runs / 4 > 0 ? opt.warm_runs / 4 : 1;

    out("\n### Streamed runs: time to the first output byte\n\n");
    out("The program prints a line, sleeps 1 s and prints another.  A plain run shows the "
        "first line with the result, after the second; a streamed one as it is written.  "
        "Measured from the request to the first stdout chunk (RPC: RUN_START + RUN_POLL "
        "with a 2 s wait) or `event: stdout` (HTTP: POST /run with Accept: "
        "text/event-stream), and to the result; c=1, each run sent when the pool is full.\n\n");
    out("| what | runs | first byte p50 ms | p90 ms | result p50 ms | errors |\n");
    out("| --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (int l = 0; l < 2; l++) {
        for (int http = 0; http < 2; http++) {
            samples first = samples_new(n), end = samples_new(n);

            for (int i = 0; i < n; i++) {
                double f, e;

                wait_pool_full(full);
                if (http ? stream_http(l, &f, &e) : stream_rpc(l, &f, &e)) {
                    first.v[first.n++] = f;
                    end.v[end.n++] = e;
                } else {
                    first.errors++;
                }
            }
            out("| %s, %s | %d | %.1f | %.1f | %.1f | %d |\n", hello[l][0],
                http ? "HTTP SSE through sce-gateway" : "RPC (libsce)", first.n, pct(&first, 50),
                pct(&first, 90), pct(&end, 50), first.errors);
            free(first.v);
            free(end.v);
        }
    }
}

/* ------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: sce-bench [--server URL] [--gateway URL] [--server-pid PID] [--out FILE]\n"
            "                 [--runsc-server URL] [--runsc-server-pid PID] [--cli PATH-TO-SCE]\n"
            "                 [--warm-runs N] [--cold-runs N] [--burst-runs N]\n"
            "                 [--throughput-runs N] [--docker-runs N] [--engine-runs N]\n"
            "                 [--memory-runs N] [--python-image IMAGE] [--node-image IMAGE]\n"
            "                 [--cluster-servers URL,URL,URL --cluster-gateways URL,URL,URL]\n"
            "                 [--only cluster|stream]\n");
    exit(64);
}

int main(int argc, char **argv)
{
    bench_server srv[2];
    uint32_t full;
    time_t t = time(NULL);
    char when[64];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--server"))
            opt.server = v;
        else if (!strcmp(a, "--cli"))
            opt.cli = v;
        else if (!strcmp(a, "--gateway"))
            opt.gateway = v;
        else if (!strcmp(a, "--out"))
            opt.out = v;
        else if (!strcmp(a, "--server-pid"))
            opt.server_pid = atoi(v);
        else if (!strcmp(a, "--runsc-server"))
            opt.runsc_server = v;
        else if (!strcmp(a, "--runsc-server-pid"))
            opt.runsc_server_pid = atoi(v);
        else if (!strcmp(a, "--warm-runs"))
            opt.warm_runs = atoi(v);
        else if (!strcmp(a, "--cold-runs"))
            opt.cold_runs = atoi(v);
        else if (!strcmp(a, "--burst-runs"))
            opt.burst_runs = atoi(v);
        else if (!strcmp(a, "--throughput-runs"))
            opt.throughput_runs = atoi(v);
        else if (!strcmp(a, "--docker-runs"))
            opt.docker_runs = atoi(v);
        else if (!strcmp(a, "--engine-runs"))
            opt.engine_runs = atoi(v);
        else if (!strcmp(a, "--memory-runs"))
            opt.memory_runs = atoi(v);
        else if (!strcmp(a, "--python-image"))
            opt.python_image = v;
        else if (!strcmp(a, "--node-image"))
            opt.node_image = v;
        else if (!strcmp(a, "--cluster-servers"))
            opt.cluster_servers = v;
        else if (!strcmp(a, "--cluster-gateways"))
            opt.cluster_gateways = v;
        else if (!strcmp(a, "--only") && !strcmp(v, "cluster"))
            opt.cluster_only = 1;
        else if (!strcmp(a, "--only") && !strcmp(v, "stream"))
            opt.stream_only = 1;
        else
            usage();
        i++;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(srv, 0, sizeof(srv));
    srv[0].url = opt.server;
    srv[0].pid = opt.server_pid;
    srv[1].url = opt.runsc_server;
    srv[1].pid = opt.runsc_server_pid;
    server_open(&srv[0]);
    if (opt.runsc_server != NULL)
        server_open(&srv[1]);
    report = fopen(opt.out, "w");
    if (report == NULL)
        die(opt.out, strerror(errno));

    /* The gVisor server started last: its pool is full (and stays idle)
     * before the first server's is sized and measured. */
    if (srv[1].c != NULL) {
        server_use(&srv[1]);
        srv[1].full = pool_full_size();
    }
    server_use(&srv[0]);
    full = srv[0].full = pool_full_size();
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
    out("## sce-bench, %s\n\n", when);
    {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        out("Machine: %ld cores. Server %s (warm pool: %u containers in all), gateway %s.", cores,
            opt.server, full, opt.gateway);
        if (srv[1].c != NULL)
            out(" A second server on gVisor, %s (warm pool: %u), idle while the first is "
                "measured.",
                opt.runsc_server, srv[1].full);
        out("\n\n");
    }
    if (!opt.cluster_only && !opt.stream_only)
        service_section(full);
    if (!opt.cluster_only)
        stream_section(full);

    if (srv[1].c != NULL && !opt.cluster_only && !opt.stream_only)
        gvisor_section(srv);
    if (opt.cluster_servers != NULL && opt.cluster_gateways != NULL)
        cluster_section(srv);
    else if (opt.cluster_only)
        die("--only cluster", "needs --cluster-servers and --cluster-gateways");
    server_use(&srv[0]);

    if (opt.memory_runs > 0 && !opt.cluster_only && !opt.stream_only) {
        int step = opt.memory_runs / 10 > 0 ? opt.memory_runs / 10 : 1, done = 0, errs = 0;
        out("\n| runs done | server RSS KiB |\n| ---: | ---: |\n");
        out("| 0 | %ld |\n", opt.server_pid ? rss_kib(opt.server_pid) : -1L);
        while (done < opt.memory_runs) {
            int e;
            throughput(4, step, -1, &e);
            errs += e;
            done += step;
            out("| %d | %ld |\n", done, opt.server_pid ? rss_kib(opt.server_pid) : -1L);
        }
        out("\n%d runs, %d errors.\n", done, errs);
    }
    fclose(report);
    hello_files_remove();
    server_close(&srv[0]);
    server_close(&srv[1]);
    curl_global_cleanup();
    return 0;
}
