/*
 * fuzz_marker.c - libFuzzer driver for the runner's end marker
 * (server/marker.c).
 *
 * The input is three control bytes and then a stream's output.  The first
 * control byte chooses the prefix: MARKER_TAG, a 32-hex-digit nonce and
 * ':' built as exec.c builds it; the same with a nonce of 1 to 4 digits, so
 * that the fuzzer reaches markers easily; or no prefix at all (exec.c's run
 * without randomness, where nothing is ever a marker).  The second chooses
 * how the output is cut into the pieces the collector would append, as in
 * fuzz_stream.c; the third is a `from` for one more search.
 *
 * Three things are checked against a reference written here, straight from
 * the grammar in marker.h and sharing no code with marker.c (a plain scan,
 * no memmem, no 0x1e shortcut, its own window):
 *   1. marker_find, from 0 and from the chosen `from`, finds the first
 *      complete marker at or after it, at the same offset with the same
 *      fields, and leaves *at and *m alone when there is none;
 *   2. marker_pending names the one tail that is a proper beginning of a
 *      marker (never more than len), and len when no such tail ends the
 *      buffer;
 *   3. fed in pieces, searching after each one from the old length minus
 *      MARKER_MAX as exec.c's collector does (and stopping at the first
 *      find, as it cuts there), finds the same marker as one search over
 *      the whole; until then marker_pending holds back exactly the part
 *      of that marker which has arrived.
 * Any difference aborts, and libFuzzer keeps the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marker.h"

/* The grammar's bounds, from marker.h's comment. */
#define STATUS_DIGITS 4
#define FIGURE_DIGITS 19

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_marker: %s\n", what);
    abort();
}

/* How many decimal digits start p[0, n). */
static size_t digit_run(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    return i;
}

static uint64_t decimal(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(p[i] - '0');
    return v;
}

enum { REF_NONE, REF_PARTIAL, REF_COMPLETE };

/* What follows the prefix, t[0, n), read field by field: REF_COMPLETE (with
 * *m) when it starts with "S\n" or "S:C:P\n"; REF_PARTIAL when all of it is
 * a proper beginning of one; REF_NONE otherwise. */
static int ref_tail(const uint8_t *t, size_t n, marker_end *m)
{
    static const size_t max[3] = {STATUS_DIGITS, FIGURE_DIGITS, FIGURE_DIGITS};
    uint64_t v[3] = {0, 0, 0};
    size_t pos = 0;

    for (int field = 0; field < 3; field++) {
        size_t d = digit_run(t + pos, n - pos);

        if (d > max[field])
            return REF_NONE;
        if (pos + d == n)
            return REF_PARTIAL; /* the digits so far, maybe none */
        if (d == 0)
            return REF_NONE;
        v[field] = decimal(t + pos, d);
        pos += d;
        if (t[pos] == '\n' && (field == 0 || field == 2)) {
            m->status = (int)v[0];
            m->cpu_us = v[1];
            m->peak_bytes = v[2];
            return REF_COMPLETE;
        }
        if (t[pos] != ':' || field == 2)
            return REF_NONE;
        pos++;
    }
    return REF_NONE; /* not reached: field 2 always returns */
}

/* The first complete marker starting at or after `from`, by trying every
 * offset in turn. */
static int ref_find(const uint8_t *pre, size_t pre_len, const uint8_t *b, size_t len, size_t from,
                    size_t *at, marker_end *m)
{
    if (pre_len == 0)
        return 0;
    for (size_t i = from; i < len && len - i >= pre_len; i++) {
        if (memcmp(b + i, pre, pre_len) == 0 &&
            ref_tail(b + i + pre_len, len - i - pre_len, m) == REF_COMPLETE) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

/* Whether s[0, n), n > 0, is a proper beginning of some marker. */
static int ref_proper_prefix(const uint8_t *pre, size_t pre_len, const uint8_t *s, size_t n)
{
    marker_end unused;

    if (n <= pre_len)
        return memcmp(s, pre, n) == 0;
    return memcmp(s, pre, pre_len) == 0 &&
           ref_tail(s + pre_len, n - pre_len, &unused) == REF_PARTIAL;
}

/* The start of the longest tail of b[0, len) that is a proper beginning of a
 * marker, or len.  The longest proper beginning is the prefix and the
 * longest marker tail without its '\n', so no earlier start can qualify. */
static size_t ref_pending(const uint8_t *pre, size_t pre_len, const uint8_t *b, size_t len)
{
    size_t longest = pre_len + STATUS_DIGITS + 2 * (1 + FIGURE_DIGITS);
    size_t i = len > longest ? len - longest : 0;

    if (pre_len == 0)
        return len;
    for (; i < len; i++)
        if (ref_proper_prefix(pre, pre_len, b + i, len - i))
            return i;
    return len;
}

static int same_end(const marker_end *a, const marker_end *b)
{
    return a->status == b->status && a->cpu_us == b->cpu_us && a->peak_bytes == b->peak_bytes;
}

/* One search, checked against the reference. */
static int check_find(const char *pre, size_t pre_len, const uint8_t *b, size_t len, size_t from,
                      size_t *at, marker_end *m)
{
    const marker_end untouched = {-7, 7, 7};
    marker_end got = untouched, want;
    size_t got_at = (size_t)-7, want_at = 0;
    int found, want_found;

    found = marker_find(pre, pre_len, (const char *)b, len, from, &got_at, &got);
    want_found = ref_find((const uint8_t *)pre, pre_len, b, len, from, &want_at, &want);
    if (found != 0 && found != 1)
        fail("marker_find returned something other than 0 or 1");
    if (found != want_found)
        fail(found ? "marker_find found a marker the grammar does not allow"
                   : "marker_find missed a complete marker");
    if (!found && (got_at != (size_t)-7 || !same_end(&got, &untouched)))
        fail("marker_find wrote *at or *m without finding a marker");
    if (found && got_at != want_at)
        fail("marker_find found a marker at another offset");
    if (found && !same_end(&got, &want))
        fail("marker_find read other fields");
    if (found && (got.status < 0 || got.status > 9999))
        fail("marker_find gave a status outside 0..9999");
    if (found) {
        *at = got_at;
        *m = got;
    }
    return found;
}

static size_t check_pending(const char *pre, size_t pre_len, const uint8_t *b, size_t len)
{
    size_t got = marker_pending(pre, pre_len, (const char *)b, len);

    if (got > len)
        fail("marker_pending returned more than len");
    if (got < len && !ref_proper_prefix((const uint8_t *)pre, pre_len, b + got, len - got))
        fail("marker_pending held back a tail that cannot become a marker");
    if (got != ref_pending((const uint8_t *)pre, pre_len, b, len))
        fail(got == len ? "marker_pending missed a marker still arriving"
                        : "marker_pending held back a tail other than the marker's");
    return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t seed[16] = {0x5c, 0xe0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
                                     0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x10};
    char nonce[33], pre[MARKER_MAX] = "";
    size_t pre_len = 0, max_piece, from, len = 0;
    size_t whole_at = 0, at;
    marker_end whole_m = {0, 0, 0}, m;
    uint32_t rng;
    int whole, ended = 0;

    if (size < 3)
        return 0;
    /* The nonce as exec.c's new_nonce writes it, from fixed bytes. */
    for (int i = 0; i < 16; i++)
        snprintf(nonce + 2 * i, 3, "%02x", seed[i]);
    switch (data[0] % 4) {
    case 0: /* exec.c's form */
        break;
    case 1:
    case 2: /* a short nonce, 1 to 4 digits */
        nonce[data[0] / 4 % 4 + 1] = '\0';
        break;
    default: /* no randomness: no prefix, no markers */
        nonce[0] = '\0';
        break;
    }
    if (nonce[0] != '\0')
        pre_len = (size_t)snprintf(pre, sizeof(pre), "%s%s:", MARKER_TAG, nonce);
    max_piece = (size_t)data[1] % 64 + 1;
    rng = 0x9e3779b9u ^ data[1];
    from = data[2];
    data += 3;
    size -= 3;

    /* 1: one search over the whole, from 0 and from `from`. */
    whole = check_find(pre, pre_len, data, size, 0, &whole_at, &whole_m);
    if (check_find(pre, pre_len, data, size, from, &at, &m)
            ? at < from || (whole && from <= whole_at && at != whole_at)
            : whole && from <= whole_at)
        fail("a search from `from` disagrees with the search from 0");

    /* 2: what ends the whole buffer. */
    check_pending(pre, pre_len, data, size);

    /* 3: the collector's way, piece by piece. */
    while (len < size && !ended) {
        size_t old = len, piece, held;

        rng = rng * 1103515245u + 12345u;
        piece = (size_t)(rng >> 16) % max_piece + 1;
        if (piece > size - len)
            piece = size - len;
        len += piece;
        if (check_find(pre, pre_len, data, len, old > MARKER_MAX ? old - MARKER_MAX : 0, &at, &m)) {
            if (!whole || at != whole_at || !same_end(&m, &whole_m))
                fail("the search piece by piece found another marker than one over the whole");
            ended = 1; /* exec.c cuts the output there and reads no further */
            continue;
        }
        held = check_pending(pre, pre_len, data, len);
        if (whole && whole_at < len && held != whole_at)
            fail("marker_pending did not hold back the part of the marker that has arrived");
    }
    if (whole && !ended)
        fail("the search piece by piece missed the marker");
    return 0;
}
