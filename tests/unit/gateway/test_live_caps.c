/*
 * test_live_caps.c - the live-run caps (web-gateway/live.c): the gateway-wide
 * cap and the per-client cap refuse with RESOURCE_EXHAUSTED and a reason
 * naming the option, a release makes room again, clients are counted
 * apart, the gauge and the refusals reach the metrics, and counts stay
 * right under threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "metrics.h"
#include "sce/err.h"

static void test_per_client_cap(void **state)
{
    gw_live *l = gw_live_new(10, 2, NULL);
    char err[256];

    (void)state;
    assert_non_null(l);
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_ERR_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(err, "max_live_runs_per_client"));
    /* Another client is counted apart. */
    assert_int_equal(gw_live_acquire(l, "b", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_count(l), 3);
    gw_live_release(l, "a");
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_OK);
    /* A key never acquired changes nothing. */
    gw_live_release(l, "nobody");
    assert_int_equal(gw_live_count(l), 3);
    gw_live_free(l);
}

static void test_total_cap(void **state)
{
    gw_live *l = gw_live_new(3, 2, NULL);
    char err[256];

    (void)state;
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "b", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, NULL, err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "d", err, sizeof(err)), SCE_ERR_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(err, "max_live_runs"));
    assert_null(strstr(err, "per_client"));
    gw_live_release(l, NULL);
    assert_int_equal(gw_live_acquire(l, "d", err, sizeof(err)), SCE_OK);
    gw_live_release(l, "a");
    gw_live_release(l, "b");
    gw_live_release(l, "d");
    assert_int_equal(gw_live_count(l), 0);
    /* Every slot is free again: three new clients fit. */
    assert_int_equal(gw_live_acquire(l, "x", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "y", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "z", err, sizeof(err)), SCE_OK);
    gw_live_free(l);
}

static void test_metrics(void **state)
{
    gw_metrics *m = gw_metrics_new();
    gw_live *l = gw_live_new(1, 1, m);
    char err[256], *text = NULL;

    (void)state;
    assert_int_equal(gw_live_acquire(l, "a", err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_live_acquire(l, "b", err, sizeof(err)), SCE_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(gw_metrics_render(m, NULL, 0, &text, NULL), SCE_OK);
    assert_non_null(strstr(text, "\nsce_live_runs 1\n"));
    assert_non_null(strstr(text, "sce_refused_total{reason=\"live_runs\"} 1\n"));
    free(text);
    gw_live_release(l, "a");
    assert_int_equal(gw_metrics_render(m, NULL, 0, &text, NULL), SCE_OK);
    assert_non_null(strstr(text, "\nsce_live_runs 0\n"));
    free(text);
    gw_live_free(l);
    gw_metrics_free(m);
}

#define THREADS 8
#define ROUNDS 2000

static void *churn(void *arg)
{
    gw_live *l = arg;
    char err[256];

    for (int i = 0; i < ROUNDS; i++)
        if (gw_live_acquire(l, (i & 1) ? "odd" : "even", err, sizeof(err)) == SCE_OK)
            gw_live_release(l, (i & 1) ? "odd" : "even");
    return NULL;
}

static void test_threads(void **state)
{
    gw_live *l = gw_live_new(4, 3, NULL);
    pthread_t t[THREADS];

    (void)state;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, l), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(gw_live_count(l), 0);
    gw_live_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_client_cap),
        cmocka_unit_test(test_total_cap),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
