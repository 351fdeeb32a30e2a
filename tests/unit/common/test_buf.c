/*
 * test_buf.c - the capped growable buffer (common/buf.c).
 *
 * The table feeds a sequence of appends to a buffer of a given cap and
 * checks the kept head, the truncation flag and the invariants that hold
 * after every append: NUL-terminated at len, len <= limit, and never more
 * memory than limit + 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "sce/err.h"

static void check_invariants(const sce_buf *b)
{
    assert_true(b->len <= b->limit);
    if (b->data != NULL) {
        assert_true(b->alloc >= b->len + 1);
        assert_true(b->alloc <= b->limit + 1);
        assert_int_equal(b->data[b->len], '\0');
    }
}

static void test_buf_table(void **state)
{
    static const struct {
        const char *name;
        size_t limit;
        const char *appends[5]; /* up to the first NULL */
        const char *want;
        int want_truncated;
    } rows[] = {
        {"nothing appended", 10, {NULL}, "", 0},
        {"one short append", 10, {"hello"}, "hello", 0},
        {"two appends", 10, {"hello", " you"}, "hello you", 0},
        {"exactly the cap", 10, {"0123456789"}, "0123456789", 0},
        {"the cap, then empty", 10, {"0123456789", ""}, "0123456789", 0},
        {"one past the cap", 10, {"0123456789", "x"}, "0123456789", 1},
        {"cut in the middle", 10, {"hello", " world"}, "hello worl", 1},
        {"one append too long", 4, {"abcdefgh"}, "abcd", 1},
        {"dropped, then more", 5, {"ab", "cd", "ef", "gh"}, "abcde", 1},
        {"cap 0", 0, {"abc"}, "", 1},
        {"cap 0, empty append", 0, {""}, "", 0},
        {"cap 1", 1, {"", "a", "b"}, "a", 1},
    };
    int failures = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        sce_buf b;

        sce_buf_init(&b, rows[i].limit);
        for (size_t j = 0; j < 5 && rows[i].appends[j] != NULL; j++) {
            assert_int_equal(sce_buf_puts(&b, rows[i].appends[j]), SCE_OK);
            check_invariants(&b);
        }
        const char *got = b.data ? b.data : "";
        if (b.len != strlen(rows[i].want) || strcmp(got, rows[i].want) != 0 ||
            b.truncated != rows[i].want_truncated) {
            print_error("row '%s': got '%s' (len %zu, truncated %d), want '%s' (truncated %d)\n",
                        rows[i].name, got, b.len, b.truncated, rows[i].want,
                        rows[i].want_truncated);
            failures++;
        }
        sce_buf_free(&b);
    }
    assert_int_equal(failures, 0);
}

static void test_buf_init(void **state)
{
    sce_buf b;

    memset(&b, 0x5a, sizeof(b));
    sce_buf_init(&b, 123);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.limit, 123);
    assert_int_equal(b.truncated, 0);
    sce_buf_free(&b); /* nothing allocated: fine */
}

/* Binary data, NUL bytes included, is kept byte for byte. */
static void test_buf_binary(void **state)
{
    static const unsigned char bytes[] = {0, 1, 0xff, 0, 'a', '\n', 0};
    sce_buf b;

    sce_buf_init(&b, 64);
    assert_int_equal(sce_buf_append(&b, bytes, sizeof(bytes)), SCE_OK);
    assert_int_equal(sce_buf_append(&b, bytes, sizeof(bytes)), SCE_OK);
    assert_int_equal(b.len, 2 * sizeof(bytes));
    assert_memory_equal(b.data, bytes, sizeof(bytes));
    assert_memory_equal(b.data + sizeof(bytes), bytes, sizeof(bytes));
    check_invariants(&b);
    /* A zero-length append with a NULL pointer is allowed. */
    assert_int_equal(sce_buf_append(&b, NULL, 0), SCE_OK);
    assert_int_equal(b.len, 2 * sizeof(bytes));
    sce_buf_free(&b);
}

/* Many small appends grow the buffer; its size stays within limit + 1. */
static void test_buf_growth(void **state)
{
    static const size_t limits[] = {100, 255, 256, 257, 1000, 4096, 70000};
    char chunk[37];

    for (size_t k = 0; k < sizeof(chunk); k++)
        chunk[k] = (char)('a' + k % 26);
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        sce_buf b;
        size_t fed = 0;

        sce_buf_init(&b, limits[i]);
        while (fed < limits[i] + 100) {
            assert_int_equal(sce_buf_append(&b, chunk, sizeof(chunk)), SCE_OK);
            fed += sizeof(chunk);
            check_invariants(&b);
            assert_int_equal(b.len, fed < limits[i] ? fed : limits[i]);
            assert_int_equal(b.truncated, fed > limits[i]);
        }
        for (size_t k = 0; k < b.len; k++)
            assert_int_equal(b.data[k], chunk[k % sizeof(chunk)]);
        sce_buf_free(&b);
    }
}

static void test_buf_steal(void **state)
{
    sce_buf b;
    size_t len = 99;
    char *d;

    sce_buf_init(&b, 8);
    assert_int_equal(sce_buf_puts(&b, "hello, world"), SCE_OK);
    assert_int_equal(b.truncated, 1);
    d = sce_buf_steal(&b, &len);
    assert_non_null(d);
    assert_int_equal(len, 8);
    assert_string_equal(d, "hello, w");
    /* The buffer is reset, keeps its cap, and can be used again. */
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, 0);
    assert_int_equal(b.truncated, 0);
    assert_int_equal(b.limit, 8);
    assert_int_equal(sce_buf_puts(&b, "again"), SCE_OK);
    assert_string_equal(b.data, "again");
    assert_true(b.data != d);
    free(d);
    sce_buf_free(&b);
}

/* Stealing an empty buffer gives an empty string, never NULL; len may be
 * NULL. */
static void test_buf_steal_empty(void **state)
{
    sce_buf b;
    size_t len = 99;
    char *d;

    sce_buf_init(&b, 8);
    d = sce_buf_steal(&b, &len);
    assert_non_null(d);
    assert_int_equal(len, 0);
    assert_string_equal(d, "");
    free(d);

    assert_int_equal(sce_buf_puts(&b, "x"), SCE_OK);
    d = sce_buf_steal(&b, NULL);
    assert_string_equal(d, "x");
    free(d);
    sce_buf_free(&b);
}

static void test_buf_free_resets(void **state)
{
    sce_buf b;

    sce_buf_init(&b, 3);
    assert_int_equal(sce_buf_puts(&b, "abcdef"), SCE_OK);
    sce_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.truncated, 0);
    assert_int_equal(b.limit, 3);
    sce_buf_free(&b); /* twice is harmless */
    assert_int_equal(sce_buf_puts(&b, "xy"), SCE_OK);
    assert_string_equal(b.data, "xy");
    sce_buf_free(&b);
}

/* buf.h: when memory runs out "the buffer is left as it was".  A cap of
 * 2^62 bytes cannot be allocated; the append that tries fails and changes
 * nothing, the truncation flag included. */
static void test_buf_out_of_memory_leaves_buffer(void **state)
{
    sce_buf b;
    char byte = 'z';
    const size_t huge = (size_t)1 << 62;

    sce_buf_init(&b, huge);
    assert_int_equal(sce_buf_puts(&b, "kept"), SCE_OK);
    /* Claims more bytes than the cap; fails at the allocation, before any
     * byte is read, so `byte` is never read past. */
    int rv = sce_buf_append(&b, &byte, huge + 1);
    int kept = b.len == 4 && strcmp(b.data, "kept") == 0, truncated = b.truncated;

    sce_buf_free(&b);
    /* Out of memory is an internal failure (a 500), never "busy". */
    assert_int_equal(rv, SCE_ERR_INTERNAL);
    assert_true(kept);
    assert_int_equal(truncated, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_table),
        cmocka_unit_test(test_buf_init),
        cmocka_unit_test(test_buf_binary),
        cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_buf_steal),
        cmocka_unit_test(test_buf_steal_empty),
        cmocka_unit_test(test_buf_free_resets),
        cmocka_unit_test(test_buf_out_of_memory_leaves_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
