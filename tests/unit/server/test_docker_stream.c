/*
 * test_docker_stream.c - the attach-stream demuxer, table-driven.
 *
 * Each table row is a byte string as the engine would send it and what the
 * callback must see.  Every row is fed three ways: in one piece, one byte at
 * a time, and split in two at every offset, because the socket may cut the
 * stream anywhere and the result must not depend on where.  What the
 * callback sees is recorded as a transcript "1:out2:err" (a new tag only
 * when the stream changes), which is the same however the bytes were cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_stream.h"

/* ------------------------------------------------------------ recorder */

typedef struct transcript {
    char text[512];
    size_t len;
    int last_stream; /* -1 before the first piece */
    int calls;
    int stop_after; /* return 7 from this call on (0: never) */
} transcript;

static void transcript_init(transcript *t)
{
    memset(t, 0, sizeof(*t));
    t->last_stream = -1;
}

static void put(transcript *t, const void *p, size_t n)
{
    assert_true(t->len + n < sizeof(t->text));
    memcpy(t->text + t->len, p, n);
    t->len += n;
    t->text[t->len] = '\0';
}

static int record_cb(void *arg, int stream, const void *p, size_t n)
{
    transcript *t = arg;
    char tag[4] = {(char)('0' + stream), ':', 0, 0};

    assert_true(n > 0); /* empty pieces are never delivered */
    if (stream != t->last_stream)
        put(t, tag, 2);
    t->last_stream = stream;
    put(t, p, n);
    t->calls++;
    return (t->stop_after != 0 && t->calls >= t->stop_after) ? 7 : 0;
}

/* ------------------------------------------------------------ table */

#define H(stream, len)                                                                             \
    (char)(stream), 0, 0, 0, (char)(((len) >> 24) & 0xff), (char)(((len) >> 16) & 0xff),           \
        (char)(((len) >> 8) & 0xff), (char)((len)&0xff)

typedef struct row {
    const char *name;
    char in[64];
    size_t in_len;
    int want_rv;      /* 0 or -1 */
    const char *want; /* transcript when want_rv is 0 */
    int want_partial;
} row;

/* clang-format off */
static const row rows[] = {
    {"single stdout frame", {H(1, 5), 'h', 'e', 'l', 'l', 'o'}, 13, 0, "1:hello", 0},
    {"two frames in one read",
     {H(1, 3), 'o', 'u', 't', H(2, 3), 'e', 'r', 'r'},
     22, 0, "1:out2:err", 0},
    {"same stream twice", {H(1, 2), 'a', 'b', H(1, 1), 'c'}, 19, 0, "1:abc", 0},
    {"zero-length frame between frames",
     {H(1, 1), 'a', H(2, 0), H(2, 1), 'b'},
     26, 0, "1:a2:b", 0},
    {"zero-length frame alone", {H(1, 0)}, 8, 0, "", 0},
    {"stdin stream byte is accepted", {H(0, 1), 'x'}, 9, 0, "0:x", 0},
    {"cut header", {H(1, 5), 'h', 'e', 'l', 'l', 'o', 1, 0, 0}, 16, 0, "1:hello", 1},
    {"cut payload", {H(2, 10), 'o', 'o', 'p'}, 11, 0, "2:oop", 1},
    {"nothing", {0}, 0, 0, "", 0},
    {"bad stream byte", {H(3, 1), 'x'}, 9, -1, NULL, 0},
    {"non-zero padding", {1, 0, 1, 0, 0, 0, 0, 1, 'x'}, 9, -1, NULL, 0},
    {"bad header after a good frame", {H(1, 1), 'a', 'T', 'T', 'Y', ' ', 'o', 'u', 't', '!'},
     17, -1, NULL, 0},
};
/* clang-format on */

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Feeds r->in in pieces starting at the given cut offsets (sorted, ending
 * with in_len) and checks the outcome. */
static void run_cut(const row *r, const size_t *cuts, size_t ncuts, const char *how)
{
    docker_stream s;
    transcript t;
    size_t from = 0;
    int rv = 0;

    docker_stream_init(&s);
    transcript_init(&t);
    for (size_t i = 0; i < ncuts && rv == 0; i++) {
        rv = docker_stream_feed(&s, r->in + from, cuts[i] - from, record_cb, &t);
        from = cuts[i];
    }
    if (rv != r->want_rv || (r->want != NULL && strcmp(t.text, r->want) != 0) ||
        (r->want_rv == 0 && docker_stream_partial(&s) != r->want_partial))
        fail_msg("%s (%s): rv %d want %d, transcript \"%s\" want \"%s\", partial %d", r->name, how,
                 rv, r->want_rv, t.text, r->want ? r->want : "-", docker_stream_partial(&s));
}

static void test_table_whole(void **state)
{
    for (size_t i = 0; i < NROWS; i++) {
        size_t cut = rows[i].in_len;
        run_cut(&rows[i], &cut, 1, "whole");
    }
}

static void test_table_byte_by_byte(void **state)
{
    for (size_t i = 0; i < NROWS; i++) {
        size_t cuts[64];
        for (size_t k = 0; k < rows[i].in_len; k++)
            cuts[k] = k + 1;
        run_cut(&rows[i], cuts, rows[i].in_len, "byte by byte");
    }
}

static void test_table_every_split(void **state)
{
    for (size_t i = 0; i < NROWS; i++) {
        for (size_t at = 0; at <= rows[i].in_len; at++) {
            size_t cuts[2] = {at, rows[i].in_len};
            char how[32];
            snprintf(how, sizeof(how), "split at %zu", at);
            run_cut(&rows[i], cuts, 2, how);
        }
    }
}

/* ------------------------------------------------------------ special cases */

typedef struct counter {
    uint64_t bytes;
    uint64_t bad; /* bytes that were not the expected pattern */
    int calls;
} counter;

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i * 31 + 7);
}

static int count_cb(void *arg, int stream, const void *p, size_t n)
{
    counter *c = arg;
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        c->bad += b[i] != pattern(c->bytes + i);
    c->bytes += n;
    c->calls++;
    return 0;
}

/* A 16 MiB frame announced at once, streamed in 64 KiB reads: the demuxer
 * buffers nothing, so every byte reaches the callback as it comes. */
static void test_huge_frame(void **state)
{
    const uint32_t total = 16u << 20;
    const size_t piece = 64u << 10;
    uint8_t hdr[8] = {2,
                      0,
                      0,
                      0,
                      (uint8_t)(total >> 24),
                      (uint8_t)(total >> 16),
                      (uint8_t)(total >> 8),
                      (uint8_t)total};
    uint8_t *buf = malloc(piece);
    docker_stream s;
    counter c = {0, 0, 0};

    assert_non_null(buf);
    docker_stream_init(&s);
    assert_int_equal(docker_stream_feed(&s, hdr, sizeof(hdr), count_cb, &c), 0);
    assert_true(docker_stream_partial(&s));
    for (uint64_t off = 0; off < total; off += piece) {
        for (size_t i = 0; i < piece; i++)
            buf[i] = pattern(off + i);
        assert_int_equal(docker_stream_feed(&s, buf, piece, count_cb, &c), 0);
    }
    assert_int_equal(c.bytes, total);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.calls, total / piece);
    assert_false(docker_stream_partial(&s));
    free(buf);
}

/* A non-zero callback value stops the feed and is returned; the piece it
 * was given counts as consumed, so feeding the rest resumes cleanly. */
static void test_callback_stop(void **state)
{
    const char in[] = {H(1, 2), 'a', 'b', H(2, 2), 'c', 'd'};
    docker_stream s;
    transcript t;
    size_t first = 8 + 2; /* the first frame is all the first call may take */

    docker_stream_init(&s);
    transcript_init(&t);
    t.stop_after = 1;
    assert_int_equal(docker_stream_feed(&s, in, sizeof(in), record_cb, &t), 7);
    assert_string_equal(t.text, "1:ab");
    assert_false(docker_stream_partial(&s));

    t.stop_after = 0;
    assert_int_equal(docker_stream_feed(&s, in + first, sizeof(in) - first, record_cb, &t), 0);
    assert_string_equal(t.text, "1:ab2:cd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_whole),       cmocka_unit_test(test_table_byte_by_byte),
        cmocka_unit_test(test_table_every_split), cmocka_unit_test(test_huge_frame),
        cmocka_unit_test(test_callback_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
