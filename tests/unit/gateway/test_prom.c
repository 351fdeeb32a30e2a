/*
 * test_prom.c - the Prometheus text writer (web-gateway/prom.c): numbers
 * as the format reads them (a table), label and HELP escaping, a
 * histogram's cumulative buckets, whole families compared byte for byte,
 * and the cap.  tests/unit/gateway/prom_parse.py parses the gateway's
 * whole exposition with Prometheus's own Python parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "sce/err.h"

static void test_numbers(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-2, "-2"},
        {60, "60"},
        {0.005, "0.005"},
        {0.1, "0.1"},
        {2.5, "2.5"},
        {1e-9, "1e-09"},
        {1.0 / 3, "0.3333333333333333"},
        {123456.789, "123456.789"},
        {9007199254740993.0, "9007199254740992"}, /* 2^53 + 1 is not a double */
        {1e300, "1e+300"},
        {5e-324, "4.94065645841247e-324"}, /* the least denormal */
        {0.1 + 0.2, "0.30000000000000004"},
    };
    char out[PROM_NUMBER_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_string_equal(prom_number(cases[i].v, out), cases[i].text);
        assert_true(strtod(out, NULL) == cases[i].v);
    }
    assert_string_equal(prom_number(INFINITY, out), "+Inf");
    assert_string_equal(prom_number(-INFINITY, out), "-Inf");
    assert_string_equal(prom_number(NAN, out), "NaN");
    assert_string_equal(prom_number(-NAN, out), "NaN");
}

/* Finishes w and checks its text. */
static void expect_text(prom_writer *w, const char *want)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(prom_finish(w, &text, &len), SCE_OK);
    assert_non_null(text);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
}

static void test_counter_and_gauge(void **state)
{
    prom_writer w;
    prom_label l[2] = {{"language", "python"}, {"verdict", "ok"}};

    (void)state;
    prom_init(&w, 1 << 20);
    prom_family(&w, "sce_x_total", PROM_COUNTER, "Runs, \"all\" of them.");
    prom_u64(&w, l, 2, 3);
    prom_u64(&w, NULL, 0, UINT64_MAX);
    prom_family(&w, "sce_y", PROM_GAUGE, "A gauge.");
    prom_double(&w, l, 1, 0.25);
    prom_double(&w, NULL, 0, -INFINITY);
    prom_double(&w, NULL, 0, NAN);
    expect_text(&w, "# HELP sce_x_total Runs, \"all\" of them.\n"
                    "# TYPE sce_x_total counter\n"
                    "sce_x_total{language=\"python\",verdict=\"ok\"} 3\n"
                    "sce_x_total 18446744073709551615\n"
                    "# HELP sce_y A gauge.\n"
                    "# TYPE sce_y gauge\n"
                    "sce_y{language=\"python\"} 0.25\n"
                    "sce_y -Inf\n"
                    "sce_y NaN\n");
}

static void test_escaping(void **state)
{
    static const struct {
        const char *value;
        const char *text; /* as written between the quotes */
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a\\b", "a\\\\b"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"tab\tand\rcr", "tab\tand\rcr"},                         /* kept: the format allows them */
        {"caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"}, /* valid UTF-8 kept */
        {"bad\xff", "bad\xef\xbf\xbd"},                           /* ill-formed: U+FFFD */
        {"\xe2\x82", "\xef\xbf\xbd"},                             /* a cut sequence is one U+FFFD */
        {"\xc0\xaf\"", "\xef\xbf\xbd\xef\xbf\xbd\\\""},           /* overlong: two */
    };
    char want[256], *text = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prom_writer w;
        prom_label l = {"backend", cases[i].value};

        prom_init(&w, 4096);
        w.family = "sce_z"; /* the sample alone, without its family's lines */
        prom_u64(&w, &l, 1, 1);
        snprintf(want, sizeof(want), "sce_z{backend=\"%s\"} 1\n", cases[i].text);
        expect_text(&w, want);
    }

    /* HELP escapes backslash and newline only. */
    prom_writer w;
    prom_init(&w, 4096);
    prom_family(&w, "sce_h", PROM_GAUGE, "back\\slash \"q\"\nnext");
    assert_int_equal(prom_finish(&w, &text, NULL), SCE_OK);
    assert_string_equal(text, "# HELP sce_h back\\\\slash \"q\"\\nnext\n# TYPE sce_h gauge\n");
    free(text);
}

static void test_histogram(void **state)
{
    static const double bounds[] = {0.005, 1, 60};
    const uint64_t counts[] = {1, 0, 2, 3}; /* each bucket alone; 3 above 60 s */
    prom_label l[2] = {{"backend", "tcp://127.0.0.1:7701"}, {"method", "run"}};
    prom_writer w;

    (void)state;
    prom_init(&w, 4096);
    prom_family(&w, "sce_d_seconds", PROM_HISTOGRAM, "Latency.");
    prom_histogram(&w, l, 2, bounds, counts, 3, 250.5);
    prom_histogram(&w, NULL, 0, bounds, counts, 3, 0.1);
    expect_text(
        &w, "# HELP sce_d_seconds Latency.\n"
            "# TYPE sce_d_seconds histogram\n"
            "sce_d_seconds_bucket{backend=\"tcp://127.0.0.1:7701\",method=\"run\",le=\"0.005\"} 1\n"
            "sce_d_seconds_bucket{backend=\"tcp://127.0.0.1:7701\",method=\"run\",le=\"1\"} 1\n"
            "sce_d_seconds_bucket{backend=\"tcp://127.0.0.1:7701\",method=\"run\",le=\"60\"} 3\n"
            "sce_d_seconds_bucket{backend=\"tcp://127.0.0.1:7701\",method=\"run\",le=\"+Inf\"} 6\n"
            "sce_d_seconds_sum{backend=\"tcp://127.0.0.1:7701\",method=\"run\"} 250.5\n"
            "sce_d_seconds_count{backend=\"tcp://127.0.0.1:7701\",method=\"run\"} 6\n"
            "sce_d_seconds_bucket{le=\"0.005\"} 1\n"
            "sce_d_seconds_bucket{le=\"1\"} 1\n"
            "sce_d_seconds_bucket{le=\"60\"} 3\n"
            "sce_d_seconds_bucket{le=\"+Inf\"} 6\n"
            "sce_d_seconds_sum 0.1\n"
            "sce_d_seconds_count 6\n");
}

static void test_limit(void **state)
{
    prom_writer w;
    char *text = (char *)"unchanged";

    (void)state;
    prom_init(&w, 40);
    prom_family(&w, "sce_a_long_name_total", PROM_COUNTER, "More than forty bytes of text.");
    prom_u64(&w, NULL, 0, 1); /* after the error: nothing */
    assert_int_equal(prom_finish(&w, &text, NULL), SCE_ERR_RESOURCE_EXHAUSTED);
    assert_null(text);
    /* The writer is empty and usable again. */
    prom_init(&w, 40);
    prom_family(&w, "sce_b", PROM_GAUGE, "B.");
    expect_text(&w, "# HELP sce_b B.\n# TYPE sce_b gauge\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),  cmocka_unit_test(test_counter_and_gauge),
        cmocka_unit_test(test_escaping), cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
