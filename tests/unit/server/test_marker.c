/*
 * test_marker.c - the runner's end marker (server/marker.c), table-driven.
 *
 * Each row is the output of a stream, with "N" standing for the run's
 * nonce, and what marker_find must find in it.  Every row is also fed the
 * way the collector sees it, one byte at a time: the marker must be found
 * exactly when its '\n' arrives and never before, and until then
 * marker_pending must hold back exactly the bytes that may still become the
 * marker (and nothing of a row that can never be one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "marker.h"

#define NONCE "0123456789abcdef0123456789abcdef"
#define PREFIX MARKER_TAG NONCE ":"
#define M "\x1eSCE-END:" NONCE ":"

typedef struct row {
    const char *name;
    const char *in;
    int found;
    size_t at;
    int status;
    uint64_t cpu_us;
    uint64_t peak_bytes;
} row;

static const row rows[] = {
    {"full form", M "0:1234:56789012\n", 1, 0, 0, 1234, 56789012},
    {"after the output", "hi\n" M "3:2:4096\n", 1, 3, 3, 2, 4096},
    {"zero figures (not known)", M "0:0:0\n", 1, 0, 0, 0, 0},
    {"short form of earlier runners", "x" M "1\n", 1, 1, 1, 0, 0},
    {"4-digit status", M "9999:1:1\n", 1, 0, 9999, 1, 1},
    {"19-digit figures", M "1:9999999999999999999:1000000000000000000\n", 1, 0, 1,
     9999999999999999999ull, 1000000000000000000ull},
    {"leading zeros", M "007:0010:0020\n", 1, 0, 7, 10, 20},
    {"what follows is cut with it", M "0:5:6\nleftover child\n", 1, 0, 0, 5, 6},
    {"a forgery first, then the real one", M "0:1:x\n" M "2:3:4\n", 1, 6 + sizeof(M) - 1, 2, 3, 4},
    {"the first of two", M "0:1:2\n" M "5:6:7\n", 1, 0, 0, 1, 2},
    {"20-digit cpu", M "0:12345678901234567890:1\n", 0, 0, 0, 0, 0},
    {"20-digit peak", M "0:1:18446744073709551616\n", 0, 0, 0, 0, 0},
    {"5-digit status", M "10000\n", 0, 0, 0, 0, 0},
    {"cpu without peak", M "0:5\n", 0, 0, 0, 0, 0},
    {"empty cpu", M "0::5\n", 0, 0, 0, 0, 0},
    {"empty peak", M "0:5:\n", 0, 0, 0, 0, 0},
    {"empty status", M ":1:2\n", 0, 0, 0, 0, 0},
    {"a fourth field", M "0:1:2:3\n", 0, 0, 0, 0, 0},
    {"a sign", M "0:-1:2\n", 0, 0, 0, 0, 0},
    {"a space", M "0: 1:2\n", 0, 0, 0, 0, 0},
    {"hex digits", M "0:1f:2\n", 0, 0, 0, 0, 0},
    {"CR LF", M "0:1:2\r\n", 0, 0, 0, 0, 0},
    {"no newline yet", M "0:1:2", 0, 0, 0, 0, 0},
    {"another nonce", "\x1eSCE-END:ffffffffffffffffffffffffffffffff:0:1:2\n", 0, 0, 0, 0, 0},
    {"no tag byte", "SCE-END:" NONCE ":0:1:2\n", 0, 0, 0, 0, 0},
    {"plain text", "hello\n", 0, 0, 0, 0, 0},
};

static void test_find_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *r = &rows[i];
        marker_end m = {-1, 99, 99};
        size_t at = 12345;
        int found = marker_find(PREFIX, strlen(PREFIX), r->in, strlen(r->in), 0, &at, &m);

        if (found != r->found)
            fail_msg("%s: found %d, expected %d", r->name, found, r->found);
        if (!found) {
            /* Untouched on a miss. */
            assert_int_equal(at, 12345);
            assert_int_equal(m.status, -1);
            continue;
        }
        if (at != r->at || m.status != r->status || m.cpu_us != r->cpu_us ||
            m.peak_bytes != r->peak_bytes)
            fail_msg("%s: at %zu status %d cpu %llu peak %llu", r->name, at, m.status,
                     (unsigned long long)m.cpu_us, (unsigned long long)m.peak_bytes);
    }
}

/* The end of the row's first marker (through its '\n'), or 0. */
static size_t marker_end_offset(const row *r)
{
    const char *nl;

    if (!r->found)
        return 0;
    nl = strchr(r->in + r->at, '\n');
    return (size_t)(nl - r->in) + 1;
}

/* Byte by byte, searching only the new bytes and the MARKER_MAX before them,
 * as exec.c's collector does. */
static void test_find_byte_by_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *r = &rows[i];
        size_t len = strlen(r->in), stop = marker_end_offset(r);

        for (size_t n = 1; n <= len; n++) {
            size_t old = n - 1, from = old > MARKER_MAX ? old - MARKER_MAX : 0, at = 0;
            marker_end m;
            int found = marker_find(PREFIX, strlen(PREFIX), r->in, n, from, &at, &m);

            if (found != (stop != 0 && n == stop))
                fail_msg("%s: after %zu bytes found %d", r->name, n, found);
            if (found) {
                assert_int_equal(at, r->at);
                assert_int_equal(m.status, r->status);
                break;
            }
        }
    }
}

/* marker_pending holds back the tail that may still become a marker. */
static void test_pending(void **state)
{
    static const struct {
        const char *in;
        size_t expect; /* (size_t)-1: the whole length (nothing held back) */
    } cases[] = {
        {"hello", (size_t)-1},
        {"hello\x1e", 5},
        {"hello\x1eSCE", 5},
        {"ab" M, 2},
        {"ab" M "1", 2},
        {"ab" M "12:", 2},
        {"ab" M "12:3456:", 2},
        {"ab" M "12:3456:789", 2},
        {"ab" M "12:3456:789\n", (size_t)-1}, /* complete: cut by marker_find */
        {"ab" M "12:3456:789:", (size_t)-1},  /* a fourth field: never a marker */
        {"ab" M "12345", (size_t)-1},         /* 5-digit status */
        {"ab" M "1:12345678901234567890", (size_t)-1},
        {"ab" M "1::", (size_t)-1},
        {"ab" M "x", (size_t)-1},
        {"ab\x1eSCE-END:ffff", (size_t)-1}, /* another nonce */
        {"ab" M "1:2:3\nzz", (size_t)-1},   /* a complete marker, then text */
        {M "1\x1e", sizeof(M)},             /* only the last 0x1e counts */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        size_t want = cases[i].expect == (size_t)-1 ? len : cases[i].expect;
        size_t got = marker_pending(PREFIX, strlen(PREFIX), cases[i].in, len);

        if (got != want)
            fail_msg("case %zu: pending at %zu, expected %zu", i, got, want);
    }
}

/* Without a nonce (no randomness) there is no marker at all. */
static void test_no_prefix(void **state)
{
    const char *in = M "0:1:2\n";
    size_t at = 0;
    marker_end m;

    (void)state;
    assert_int_equal(marker_find("", 0, in, strlen(in), 0, &at, &m), 0);
    assert_int_equal(marker_pending("", 0, in, strlen(in) - 1), strlen(in) - 1);
}

/* A long stream with the marker far past MARKER_MAX: only the window
 * before the new bytes is searched, and that is enough. */
static void test_long_stream(void **state)
{
    char buf[4096 + MARKER_MAX];
    const char *tail = M "0:250000:67108864\n";
    size_t at = 0, len;
    marker_end m;

    (void)state;
    memset(buf, 'a', 4000);
    len = 4000 + (size_t)snprintf(buf + 4000, sizeof(buf) - 4000, "%s", tail);
    assert_int_equal(marker_find(PREFIX, strlen(PREFIX), buf, len, len - MARKER_MAX, &at, &m), 1);
    assert_int_equal(at, 4000);
    assert_true(m.cpu_us == 250000 && m.peak_bytes == 64u << 20);
    /* Starting after the marker's start: not found. */
    assert_int_equal(marker_find(PREFIX, strlen(PREFIX), buf, len, 4001, &at, &m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_whole),  cmocka_unit_test(test_find_byte_by_byte),
        cmocka_unit_test(test_pending),     cmocka_unit_test(test_no_prefix),
        cmocka_unit_test(test_long_stream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
