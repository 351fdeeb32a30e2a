/*
 * test_common.c - the small shared pieces of common/: the error enum and
 * its mirror in the proto, the clock, random identifiers, stop signals and
 * sce_seterr.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/file.h"
#include "common/random.h"
#include "common/seterr.h"
#include "common/signals.h"
#include "sce.pb-c.h"
#include "sce/err.h"

/* Every StatusCode of the proto is an sce_err of the same number and name,
 * and every code sce_err names is in the proto: a code travels unchanged
 * from the server through libsce to the gateway's JSON. */
static void test_err_matches_proto(void **state)
{
    const ProtobufCEnumDescriptor *d = &sce__v1__status_code__descriptor;
    int named = 0;

    (void)state;
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *proto_name = d->values[i].name; /* "STATUS_NOT_FOUND" */

        assert_int_equal(strncmp(proto_name, "STATUS_", 7), 0);
        if (strcmp(sce_err_name(d->values[i].value), proto_name + 7) != 0)
            fail_msg("proto %s = %d, sce_err_name gives %s", proto_name, d->values[i].value,
                     sce_err_name(d->values[i].value));
        if (d->values[i].value != SCE_ERR_UNKNOWN)
            assert_string_not_equal(sce_strerror(d->values[i].value), "unknown error");
    }
    for (int code = 0; code < 64; code++) {
        if (!sce_err_known(code))
            continue;
        named++;
        assert_non_null(protobuf_c_enum_descriptor_get_value(d, code));
    }
    assert_int_equal(named, (int)d->n_values);
    assert_int_equal(SCE_ERR_UNAUTHENTICATED, SCE__V1__STATUS_CODE__STATUS_UNAUTHENTICATED);
    assert_int_equal(SCE_ERR_PERMISSION_DENIED, SCE__V1__STATUS_CODE__STATUS_PERMISSION_DENIED);
    assert_string_equal(sce_err_name(SCE_ERR_NO_MEMORY), "INTERNAL");
    assert_string_equal(sce_strerror(-1), "unknown error");
    assert_false(sce_err_known(-1));
    assert_false(sce_err_known(6));
    assert_false(sce_err_known(17));
    assert_true(sce_err_known(SCE_OK));
    assert_string_equal(sce_err_name(999), "UNKNOWN");
}

static void test_seterr(void **state)
{
    char buf[8];

    (void)state;
    sce_seterr(NULL, 10, "x %d", 1);
    sce_seterr(buf, 0, "x %d", 1);
    sce_seterr(buf, sizeof(buf), "value %d too big", 12345);
    assert_string_equal(buf, "value 1");
}

static void test_clock(void **state)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    int64_t a, b, deadline;

    (void)state;
    a = sce_clock_ms();
    b = sce_clock_ms();
    assert_true(b >= a);
    a = sce_clock_us();
    b = sce_clock_ms();
    assert_true(b >= a / 1000 && b - a / 1000 < 60000); /* one clock, two units */
    /* the wall clock is a date: after 2020-01-01 */
    assert_true(sce_wall_ms() > 1577836800000LL);

    /* A wait returns ETIMEDOUT, and never before its deadline. */
    assert_int_equal(sce_cond_init(&cv), 0);
    pthread_mutex_lock(&mu);
    deadline = sce_clock_ms() + 30;
    while (sce_cond_wait_until(&cv, &mu, deadline) != ETIMEDOUT)
        ;
    assert_true(sce_clock_ms() >= deadline);
    /* a deadline in the past returns at once */
    assert_int_equal(sce_cond_wait_until(&cv, &mu, sce_clock_ms() - 1000), ETIMEDOUT);
    assert_int_equal(sce_cond_wait_until(&cv, &mu, -5), ETIMEDOUT);
    pthread_mutex_unlock(&mu);
    pthread_cond_destroy(&cv);

    a = sce_clock_ms();
    sce_sleep_ms(20);
    assert_true(sce_clock_ms() - a >= 20);
    sce_sleep_ms(0);
    sce_sleep_ms(-3);
}

static void test_random_hex(void **state)
{
    char a[17], b[17], small[8];
    static const unsigned char raw[] = {0x00, 0x7f, 0xa5, 0xff};
    char hex[9];

    (void)state;
    assert_int_equal(sce_random_hex(a, sizeof(a), 8, SCE_RANDOM_WAIT), 0);
    assert_int_equal(sce_random_hex(b, sizeof(b), 8, SCE_RANDOM_NOWAIT), 0);
    assert_int_equal(strlen(a), 16);
    assert_int_equal(strspn(a, "0123456789abcdef"), 16);
    assert_string_not_equal(a, b); /* 2^-64 */
    /* a buffer too small is refused, and left empty */
    memset(small, 'x', sizeof(small));
    assert_int_equal(sce_random_hex(small, sizeof(small), 4, SCE_RANDOM_WAIT), -1);
    assert_string_equal(small, "");
    assert_int_equal(sce_random_hex(small, 0, 1, SCE_RANDOM_WAIT), -1);

    sce_hex(hex, sizeof(hex), raw, sizeof(raw));
    assert_string_equal(hex, "007fa5ff");
    sce_hex(hex, 6, raw, sizeof(raw)); /* what fits: two bytes */
    assert_string_equal(hex, "007f");
}

static void test_file_read(void **state)
{
    char path[] = "/tmp/sce-test-file-XXXXXX", why[64], *data = NULL;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(sce_file_read(fd, 5, &data, why, sizeof(why)), SCE_OK);
    assert_memory_equal(data, "hello", 6); /* NUL-terminated */
    free(data);
    data = NULL;
    /* the file is shorter than the caller's fstat said */
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(sce_file_read(fd, 9, &data, why, sizeof(why)), SCE_ERR_INTERNAL);
    assert_null(data);
    assert_string_equal(why, "the file shrank");
    close(fd);
    /* a closed descriptor: the kernel's reason */
    assert_int_equal(sce_file_read(fd, 1, &data, why, sizeof(why)), SCE_ERR_INTERNAL);
    assert_string_equal(why, strerror(EBADF));
    assert_int_equal(sce_file_read(-1, 0, &data, why, sizeof(why)), SCE_OK); /* nothing to read */
    assert_string_equal(data, "");
    free(data);
    unlink(path);
}

static void test_signals(void **state)
{
    sigset_t set;

    (void)state;
    sce_signals_block(&set);
    assert_true(sigismember(&set, SIGINT));
    assert_true(sigismember(&set, SIGTERM));
    /* a SIGTERM sent to this thread waits, blocked, for sce_signals_wait */
    pthread_kill(pthread_self(), SIGTERM);
    assert_int_equal(sce_signals_wait(&set), SIGTERM);
    pthread_kill(pthread_self(), SIGINT);
    assert_int_equal(sce_signals_wait(&set), SIGINT);
    assert_string_equal(sce_signal_name(SIGINT), "SIGINT");
    assert_string_equal(sce_signal_name(SIGTERM), "SIGTERM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_matches_proto),
        cmocka_unit_test(test_seterr),
        cmocka_unit_test(test_clock),
        cmocka_unit_test(test_random_hex),
        cmocka_unit_test(test_file_read),         cmocka_unit_test(test_signals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
