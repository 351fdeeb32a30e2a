/*
 * test_metrics.c - the gateway's metrics registry (web-gateway/metrics.c):
 * counts from several threads add up, unknown labels go to "other", the
 * backend table is bounded, and the exposition carries the expected lines,
 * backends' views included.
 *
 * `test_metrics --sample FILE` writes instead an exposition with every
 * family in it to FILE (- for stdout): tests/unit/gateway/prom_parse.py
 * parses it with Prometheus's own Python parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sce/err.h"

#define THREADS 4
#define PER_THREAD 20000

static const char *const backend_urls[] = {"tcp://127.0.0.1:7701", "tcp://127.0.0.1:7702",
                                           "tcp://[::1]:7703"};

static void *count_cb(void *arg)
{
    gw_metrics *m = arg;

    for (int i = 0; i < PER_THREAD; i++) {
        gw_metrics_run(m, i % 2 ? "python" : "node", "ok");
        gw_metrics_http(m, "/run", 200, 0.004);
        gw_metrics_rpc(m, backend_urls[i % 3], "run", i % 10 == 0, 0.02);
        gw_metrics_refused(m, "rate_limit");
    }
    return NULL;
}

/* Renders m with the views of b and checks each of want[] is a whole line
 * of it.  Returns the text (the caller frees it). */
static char *render_has(gw_metrics *m, const gw_backend_view *b, size_t nb, const char *const *want,
                        size_t nwant)
{
    char *text = NULL, line[512];
    size_t len = 0;

    assert_int_equal(gw_metrics_render(m, b, nb, &text, &len), SCE_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    for (size_t i = 0; i < nwant; i++) {
        snprintf(line, sizeof(line), "\n%s\n", want[i]);
        if (strstr(text, line) == NULL)
            fail_msg("no line \"%s\" in:\n%s", want[i], text);
    }
    return text;
}

static void test_threads(void **state)
{
    gw_metrics *m = gw_metrics_new();
    pthread_t t[THREADS];
    static const char *const want[] = {
        "sce_runs_total{language=\"python\",verdict=\"ok\"} 40000",
        "sce_runs_total{language=\"node\",verdict=\"ok\"} 40000",
        "sce_runs_total{language=\"other\",verdict=\"ok\"} 0",
        "sce_http_requests_total{route=\"/run\",code=\"200\"} 80000",
        "sce_http_request_duration_seconds_bucket{route=\"/run\",le=\"0.005\"} 80000",
        "sce_http_request_duration_seconds_bucket{route=\"/run\",le=\"+Inf\"} 80000",
        "sce_http_request_duration_seconds_count{route=\"/run\"} 80000",
        "sce_http_request_duration_seconds_sum{route=\"/run\"} 320",
        "sce_refused_total{reason=\"rate_limit\"} 80000",
        "sce_refused_total{reason=\"busy\"} 0",
        /* 20000 per thread: 6667, 6667, 6666 to the three backends. */
        "sce_rpc_duration_seconds_count{backend=\"tcp://127.0.0.1:7701\",method=\"run\"} 26668",
        "sce_rpc_duration_seconds_bucket{backend=\"tcp://"
        "127.0.0.1:7701\",method=\"run\",le=\"0.01\"} 0",
        "sce_rpc_duration_seconds_bucket{backend=\"tcp://"
        "127.0.0.1:7701\",method=\"run\",le=\"0.025\"} 26668",
        "sce_rpc_duration_seconds_count{backend=\"tcp://127.0.0.1:7702\",method=\"run\"} 26668",
        "sce_rpc_duration_seconds_count{backend=\"tcp://[::1]:7703\",method=\"run\"} 26664",
        /* Every tenth call failed: i = 10k goes to backend k % 3. */
        "sce_rpc_failures_total{backend=\"tcp://127.0.0.1:7701\",method=\"run\"} 2668",
        "sce_rpc_failures_total{backend=\"tcp://127.0.0.1:7702\",method=\"run\"} 2668",
        "sce_rpc_failures_total{backend=\"tcp://[::1]:7703\",method=\"run\"} 2664",
    };

    (void)state;
    assert_non_null(m);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_cb, m), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    free(render_has(m, NULL, 0, want, sizeof(want) / sizeof(want[0])));
    gw_metrics_free(m);
}

static void test_other(void **state)
{
    gw_metrics *m = gw_metrics_new();
    char url[64], *text;
    static const char *const want[] = {
        "sce_runs_total{language=\"other\",verdict=\"other\"} 1",
        "sce_runs_total{language=\"python\",verdict=\"error\"} 1",
        "sce_runs_total{language=\"node\",verdict=\"timeout\"} 1",
        "sce_runs_total{language=\"other\",verdict=\"unspecified\"} 0",
        "sce_http_requests_total{route=\"other\",code=\"404\"} 1",
        "sce_http_requests_total{route=\"/healthz\",code=\"other\"} 2",
        "sce_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.5\"} 0",
        "sce_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"1\"} 1",
        "sce_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"30\"} 1",
        "sce_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"60\"} 2",
        "sce_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 2",
        "sce_http_request_duration_seconds_sum{route=\"/healthz\"} 61",
        "sce_refused_total{reason=\"other\"} 1",
        "sce_refused_total{reason=\"busy\"} 1",
        /* 300 backends: the first 256 have series of their own */
        "sce_rpc_failures_total{backend=\"tcp://10.0.0.0:1\",method=\"health\"} 1",
        "sce_rpc_failures_total{backend=\"tcp://10.0.0.255:1\",method=\"health\"} 1",
        "sce_rpc_failures_total{backend=\"other\",method=\"health\"} 44",
        "sce_rpc_duration_seconds_count{backend=\"other\",method=\"other\"} 1",
    };

    (void)state;
    assert_non_null(m);
    gw_metrics_run(m, "ruby", "teapot");
    gw_metrics_run(m, "python", "error");
    gw_metrics_run(m, "node", "timeout");
    gw_metrics_run(NULL, "node", "timeout"); /* no registry: nothing */
    gw_metrics_http(m, "/no/such", 404, -1);
    gw_metrics_http(m, "/healthz", 42, 1);
    gw_metrics_http(m, "/healthz", 600, 60);
    gw_metrics_refused(m, "why");
    gw_metrics_refused(m, "busy");
    for (int i = 0; i < 300; i++) {
        snprintf(url, sizeof(url), "tcp://10.0.%d.%d:1", i / 256, i % 256);
        gw_metrics_rpc(m, url, "health", 1, 0.001);
    }
    gw_metrics_rpc(m, NULL, "bogus", 0, 0.001);
    text = render_has(m, NULL, 0, want, sizeof(want) / sizeof(want[0]));
    assert_null(strstr(text, "tcp://10.0.1.0:1")); /* the 257th */
    free(text);
    gw_metrics_free(m);

    /* No registry: the fixed series, zero. */
    static const char *const zero[] = {"sce_runs_total{language=\"python\",verdict=\"ok\"} 0",
                                       "sce_refused_total{reason=\"connections\"} 0"};
    free(render_has(NULL, NULL, 0, zero, 2));
    gw_metrics_free(NULL);
}

/* Two backends: one with a Health answer (its instance id needs escaping),
 * one down that never answered. */
static void sample_views(gw_backend_view b[2], sce_health *h)
{
    memset(h, 0, sizeof(*h));
    h->serving = 1;
    h->engine_ok = 1;
    h->engine_version = (char *)"24.0.5";
    h->server_version = (char *)"0.12.0";
    h->instance_id = (char *)"node \"a\"\\1\nx";
    h->workers = 4;
    h->busy_workers = 3;
    h->queued = 2;
    h->queue_capacity = 64;
    h->uptime_ms = 90500;
    h->runs_total = 1234;
    h->pool_ready = 5;
    h->pool_hits = 1000;
    h->pool_misses = 234;
    b[0] = (gw_backend_view){"tcp://127.0.0.1:7701", 1, 3, 1240, 2, h};
    b[1] = (gw_backend_view){"tcp://127.0.0.1:7702", 0, 0, 7, 5, NULL};
}

static void test_views(void **state)
{
    gw_backend_view b[2];
    sce_health h;
    char *text;
    static const char *const want[] = {
        "sce_backend_up{backend=\"tcp://127.0.0.1:7701\"} 1",
        "sce_backend_up{backend=\"tcp://127.0.0.1:7702\"} 0",
        "sce_backend_in_flight{backend=\"tcp://127.0.0.1:7701\"} 3",
        "sce_backend_runs_total{backend=\"tcp://127.0.0.1:7701\"} 1240",
        "sce_backend_runs_total{backend=\"tcp://127.0.0.1:7702\"} 7",
        "sce_backend_failures_total{backend=\"tcp://127.0.0.1:7702\"} 5",
        "sce_server_engine_up{backend=\"tcp://127.0.0.1:7701\"} 1",
        "sce_server_workers{backend=\"tcp://127.0.0.1:7701\"} 4",
        "sce_server_busy_workers{backend=\"tcp://127.0.0.1:7701\"} 3",
        "sce_server_queued{backend=\"tcp://127.0.0.1:7701\"} 2",
        "sce_server_queue_capacity{backend=\"tcp://127.0.0.1:7701\"} 64",
        "sce_server_pool_ready{backend=\"tcp://127.0.0.1:7701\"} 5",
        "sce_server_pool_hits_total{backend=\"tcp://127.0.0.1:7701\"} 1000",
        "sce_server_pool_misses_total{backend=\"tcp://127.0.0.1:7701\"} 234",
        "sce_server_runs_total{backend=\"tcp://127.0.0.1:7701\"} 1234",
        "sce_server_uptime_seconds{backend=\"tcp://127.0.0.1:7701\"} 90.5",
        "sce_server_info{backend=\"tcp://127.0.0.1:7701\",instance_id=\"node \\\"a\\\"\\\\1\\nx\","
        "server_version=\"0.12.0\",engine_version=\"24.0.5\"} 1",
        "# TYPE sce_server_pool_ready gauge",
        "# TYPE sce_server_pool_hits_total counter",
    };

    (void)state;
    sample_views(b, &h);
    text = render_has(NULL, b, 2, want, sizeof(want) / sizeof(want[0]));
    /* The backend without a Health answer has no server series. */
    assert_null(strstr(text, "sce_server_workers{backend=\"tcp://127.0.0.1:7702\"}"));
    free(text);
}

/* Writes an exposition with a sample in every family to path. */
static int write_sample(const char *path)
{
    gw_metrics *m = gw_metrics_new();
    gw_backend_view b[2];
    sce_health h;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    int rv = 1;

    if (m == NULL)
        return 1;
    sample_views(b, &h);
    gw_metrics_run(m, "python", "ok");
    gw_metrics_run(m, "node", "error");
    gw_metrics_http(m, "/run", 200, 0.004);
    gw_metrics_http(m, "/run", 200, 0.3);
    gw_metrics_http(m, "/run-batch", 429, 0.0001);
    gw_metrics_http(m, "/metrics", 200, 0.001);
    gw_metrics_http(m, "/history/{id}", 600, 120);
    gw_metrics_rpc(m, b[0].url, "run", 0, 0.02);
    gw_metrics_rpc(m, b[0].url, "run", 1, 61);
    gw_metrics_rpc(m, b[1].url, "health", 1, 1.0 / 3);
    gw_metrics_refused(m, "rate_limit");
    gw_metrics_refused(m, "busy");
    if (gw_metrics_render(m, b, 2, &text, &len) == SCE_OK) {
        f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
        if (f != NULL && fwrite(text, 1, len, f) == len && fflush(f) == 0)
            rv = 0;
        if (f != NULL && f != stdout)
            fclose(f);
    }
    free(text);
    gw_metrics_free(m);
    return rv;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_other),
        cmocka_unit_test(test_views),
    };

    if (argc == 3 && strcmp(argv[1], "--sample") == 0)
        return write_sample(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
