/*
 * test_rate_limit.c - the gateway's token buckets (web-gateway/rate_limit.c)
 * on a clock the test drives, the bearer check (web-gateway/auth.c) and the
 * answers every route shares (web-gateway/answer.c): Retry-After set for a
 * 429, the busy 503's own, and the one rule for refusing before the body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "answer.h"
#include "auth.h"
#include "rate_limit.h"
#include "sce/err.h"
#include "tenants.h"

static void test_bucket(void **state)
{
    unsigned char a[GW_CLIENT_KEY_BYTES] = {1}, b[GW_CLIENT_KEY_BYTES] = {2};
    gw_rate *r = NULL;
    unsigned retry_s = 0;
    char msg[256];

    (void)state;
    assert_int_equal(gw_rate_new(0, 5, &r), SCE_OK);
    assert_null(r); /* off */
    assert_int_equal(gw_rate_take(NULL, a, 100, 1000, &retry_s, msg, sizeof(msg)), 1);

    assert_int_equal(gw_rate_new(2, 3, &r), SCE_OK);
    assert_non_null(r);
    /* A full bucket of 3, then dry. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_rate_take(r, a, 1, 1000, &retry_s, msg, sizeof(msg)), 1);
    assert_int_equal(gw_rate_take(r, a, 1, 1000, &retry_s, msg, sizeof(msg)), 0);
    assert_int_equal(retry_s, 1);
    assert_non_null(strstr(msg, "rate limit reached: 2 runs per second per client, bursts of 3"));
    /* Another client has its own bucket. */
    assert_int_equal(gw_rate_take(r, b, 1, 1000, &retry_s, msg, sizeof(msg)), 1);
    /* Half a second later one run has come back (2 a second). */
    assert_int_equal(gw_rate_take(r, a, 1, 1500, &retry_s, msg, sizeof(msg)), 1);
    assert_int_equal(gw_rate_take(r, a, 1, 1500, &retry_s, msg, sizeof(msg)), 0);
    /* A batch larger than the burst takes a full bucket, not more. */
    assert_int_equal(gw_rate_take(r, b, 50, 100000, &retry_s, msg, sizeof(msg)), 1);
    assert_int_equal(gw_rate_take(r, b, 1, 100000, &retry_s, msg, sizeof(msg)), 0);
    gw_rate_free(r);
}

static void test_auth(void **state)
{
    gw_tenants *t = NULL;
    const gw_tenant *who = NULL;
    char msg[256], www[96], err[256];

    (void)state;
    assert_int_equal(gw_tenants_single("0123456789abcdef-token", &t, err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_auth_check(t, NULL, &who, msg, sizeof(msg), www, sizeof(www)), -1);
    assert_string_equal(www, "Bearer realm=\"sce\"");
    assert_int_equal(gw_auth_check(t, "Basic abc", &who, msg, sizeof(msg), www, sizeof(www)), -1);
    assert_string_equal(www, "Bearer realm=\"sce\", error=\"invalid_request\"");
    assert_int_equal(
        gw_auth_check(t, "Bearer nope-nope-nope-nope", &who, msg, sizeof(msg), www, sizeof(www)),
        -1);
    assert_string_equal(www, "Bearer realm=\"sce\", error=\"invalid_token\"");
    assert_int_equal(gw_auth_check(t, "bearer \t0123456789abcdef-token ", &who, msg, sizeof(msg),
                                   www, sizeof(www)),
                     0);
    assert_non_null(who);
    gw_tenants_free(t);
}

static void test_answers(void **state)
{
    gw_answer a;

    (void)state;
    gw_answer_init(&a);
    gw_answer_error(&a, 429, SCE_ERR_RESOURCE_EXHAUSTED, "the server is busy");
    assert_int_equal(a.status, 429);
    assert_non_null(a.body);
    assert_string_equal(a.header_name, MHD_HTTP_HEADER_RETRY_AFTER);
    assert_string_equal(a.header_value, "1");
    assert_string_equal(a.note, "the server is busy");
    gw_answer_clear(&a);

    gw_answer_error_retry(&a, 503, SCE_ERR_UNAVAILABLE, "busy", 7);
    assert_string_equal(a.header_value, "7");
    gw_answer_clear(&a);

    gw_answer_error(&a, 400, SCE_ERR_INVALID_ARGUMENT, "code: required");
    assert_null(a.header_name);
    gw_answer_clear(&a);

    gw_answer_too_large(&a, 5000, 1024);
    assert_int_equal(a.status, 413);
    assert_string_equal(a.note, "body: 5000 bytes is more than the limit of 1024 bytes");
    gw_answer_clear(&a);
    assert_int_equal(a.status, 0);
    assert_null(a.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_answers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
