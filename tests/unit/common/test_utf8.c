/*
 * test_utf8.c - the one UTF-8 decoder of sce (common/utf8.c).
 *
 * Every lossy copy (history's sce_utf8_clean, the one-line
 * sce_utf8_clean_line, the JSON writers' sce_utf8_lossy) replaces each
 * maximal ill-formed subpart by one U+FFFD, so the same bytes read the same
 * in history, over HTTP and in the CLI.  The table pins the count and the
 * text for Unicode's own examples (chapter 3, "U+FFFD substitution of
 * maximal subparts") and the edges of table 3-7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"

#define FFFD "\xEF\xBF\xBD"

static const struct {
    const char *name;
    const char *in;
    size_t len;
    const char *want; /* sce_utf8_lossy's copy */
} rows[] = {
    {"ascii", "abc", 3, "abc"},
    {"valid 2,3,4 bytes", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9,
     "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"},
    {"stray continuation bytes", "a\x80\x80z", 4, "a" FFFD FFFD "z"},
    {"C0/C1 never start a sequence", "\xC0\xAF", 2, FFFD FFFD},
    {"F5..FF never start a sequence", "\xF5\xFF", 2, FFFD FFFD},
    {"truncated 3-byte is one subpart", "\xE2\x82z", 3, FFFD "z"},
    {"truncated 4-byte is one subpart", "\xF0\x9F\x98", 3, FFFD},
    {"overlong E0 80: two subparts", "\xE0\x80\x80", 3, FFFD FFFD FFFD},
    {"surrogate ED A0 80", "\xED\xA0\x80", 3, FFFD FFFD FFFD},
    {"past U+10FFFF F4 90", "\xF4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD},
    /* Unicode 15, table 3-11: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
    {"Unicode's example", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", 13,
     "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"},
    {"NUL is kept by the lossy copy", "a\0b", 3, "a\0b"},
};

static size_t count_fffd(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i + 3 <= len; i++)
        if (memcmp(s + i, FFFD, 3) == 0)
            n++;
    return n;
}

static void test_utf8_lossy_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        size_t len, want_len = 0;
        int replaced;
        char *out = sce_utf8_lossy(rows[r].in, rows[r].len, &len, &replaced);

        /* want's length: up to its NUL, or the row's NUL-holding text */
        want_len =
            strcmp(rows[r].name, "NUL is kept by the lossy copy") == 0 ? 3 : strlen(rows[r].want);
        assert_non_null(out);
        if (len != want_len || memcmp(out, rows[r].want, len) != 0)
            fail_msg("%s: got %zu bytes", rows[r].name, len);
        assert_int_equal(out[len], '\0');
        assert_int_equal(replaced, count_fffd(rows[r].want, want_len) > 0);
        assert_true(sce_utf8_count(out, len) >= 0); /* the copy is valid */
        free(out);
    }
}

/* History's copy and the one-line copy replace exactly as the lossy one
 * (NULs and control characters aside, which they handle on purpose). */
static void test_utf8_copies_agree(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        char clean[128], line[128];
        size_t len, n_clean, n_line, consumed;
        char *lossy = sce_utf8_lossy(rows[r].in, rows[r].len, &len, NULL);
        size_t want = count_fffd(lossy, len);

        if (memchr(rows[r].in, '\0', rows[r].len) != NULL) {
            free(lossy);
            continue;
        }
        n_clean = sce_utf8_clean(rows[r].in, rows[r].len, clean, sizeof(clean), &consumed);
        n_line = sce_utf8_clean_line(rows[r].in, rows[r].len, line, sizeof(line));
        assert_int_equal(consumed, rows[r].len);
        if (count_fffd(clean, n_clean) != want || count_fffd(line, n_line) != want)
            fail_msg("%s: lossy %zu, clean %zu, clean_line %zu U+FFFD", rows[r].name, want,
                     count_fffd(clean, n_clean), count_fffd(line, n_line));
        assert_string_equal(clean, lossy);
        free(lossy);
    }
}

static void test_utf8_bad_and_seq(void **state)
{
    (void)state;
    assert_int_equal(sce_utf8_seq((const unsigned char *)"\xE2\x82\xAC", 3), 3);
    assert_int_equal(sce_utf8_bad((const unsigned char *)"\xE2\x82\xAC", 3), 0);
    assert_int_equal(sce_utf8_seq((const unsigned char *)"\xE2\x82", 2), 0);
    assert_int_equal(sce_utf8_bad((const unsigned char *)"\xE2\x82", 2), 2);
    assert_int_equal(sce_utf8_bad((const unsigned char *)"\xF0\x9F\x98z", 4), 3);
    assert_int_equal(sce_utf8_bad((const unsigned char *)"\xE0\x80", 2), 1);
    assert_int_equal(sce_utf8_bad((const unsigned char *)"", 0), 0);
    assert_int_equal(sce_utf8_count("\xC3\xA9t\xC3\xA9", 5), 3);
    assert_int_equal(sce_utf8_count("\xC3", 1), -1);
}

/* One line: controls become spaces, blanks are trimmed, the cut is at a
 * character boundary. */
static void test_utf8_clean_line(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(sce_utf8_clean_line("  a\nb\tc \r\n", 10, out, sizeof(out)), 5);
    assert_string_equal(out, "a b c");
    /* "ab" + U+20AC (3 bytes) + "é" (2 bytes) = 7 bytes + NUL fits 8 */
    sce_utf8_clean_line("ab\xE2\x82\xAC\xC3\xA9z", 8, out, sizeof(out));
    assert_string_equal(out, "ab\xE2\x82\xAC\xC3\xA9");
    /* a character that would not fit whole is left out */
    sce_utf8_clean_line("abcde\xE2\x82\xAC", 8, out, sizeof(out));
    assert_string_equal(out, "abcde");
}

static void test_utf8_quote_and_ascii(void **state)
{
    char shown[16];
    char long_text[200];

    (void)state;
    assert_string_equal(sce_utf8_quote(NULL).text, "");
    assert_string_equal(sce_utf8_quote("a\nb").text, "a b");
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    assert_int_equal(strlen(sce_utf8_quote(long_text).text), 80);
    sce_ascii_shown(shown, sizeof(shown), "ab\x01\xC3\xA9", 10);
    assert_string_equal(shown, "ab???");
    sce_ascii_shown(shown, sizeof(shown), "abcdefghijklmnopq", 5);
    assert_string_equal(shown, "abcde...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_lossy_table),     cmocka_unit_test(test_utf8_copies_agree),
        cmocka_unit_test(test_utf8_bad_and_seq),     cmocka_unit_test(test_utf8_clean_line),
        cmocka_unit_test(test_utf8_quote_and_ascii),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
