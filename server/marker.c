/*
 * marker.c - the runner's end marker, found in a stream of output (see
 * marker.h).
 *
 * One small grammar drives both questions the collector asks: "is there a
 * complete marker here" (marker_find) and "could the bytes at the end still
 * become one" (marker_pending).  Digits are counted before they are
 * accumulated, so no field can overflow whatever the input.
 */
#define _GNU_SOURCE /* memmem */
#include "marker.h"

#include <string.h>

enum { TAIL_NONE = -1, TAIL_PARTIAL = 0 };

/* Reads what follows the prefix, p[0, n): ":"-separated decimal fields,
 * status alone or status, cpu_us and peak_bytes, then '\n'.  Returns the
 * length of a complete tail (through the '\n') and fills *m; TAIL_PARTIAL
 * when p[0, n) is a proper beginning of a tail; TAIL_NONE when it cannot
 * become one. */
static long parse_tail(const char *p, size_t n, marker_end *m)
{
    static const int max_digits[3] = {4, 19, 19};
    uint64_t v[3] = {0, 0, 0};
    int field = 0, digits = 0;
    long rv = TAIL_PARTIAL;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c >= '0' && c <= '9') {
            if (digits == max_digits[field]) {
                rv = TAIL_NONE;
                goto out;
            }
            v[field] = v[field] * 10 + (uint64_t)(c - '0');
            digits++;
        } else if (c == ':' && digits > 0 && field < 2) {
            field++;
            digits = 0;
        } else if (c == '\n' && digits > 0 && field != 1) {
            m->status = (int)v[0];
            m->cpu_us = v[1];
            m->peak_bytes = v[2];
            rv = (long)(i + 1);
            goto out;
        } else {
            rv = TAIL_NONE;
            goto out;
        }
    }
out:
    return rv;
}

int marker_find(const char *prefix, size_t prefix_len, const char *b, size_t len, size_t from,
                size_t *at, marker_end *m)
{
    const char *hit, *end = b + len;
    int found = 0;

    if (prefix_len == 0 || from >= len || len - from < prefix_len + 2)
        goto out;
    hit = memmem(b + from, len - from, prefix, prefix_len);
    while (hit != NULL) {
        marker_end f;

        if (parse_tail(hit + prefix_len, (size_t)(end - hit) - prefix_len, &f) > 0) {
            *at = (size_t)(hit - b);
            *m = f;
            found = 1;
            goto out;
        }
        hit = memmem(hit + 1, (size_t)(end - hit - 1), prefix, prefix_len);
    }
out:
    return found;
}

size_t marker_pending(const char *prefix, size_t prefix_len, const char *b, size_t len)
{
    size_t from = len > MARKER_MAX ? len - MARKER_MAX : 0;
    size_t rv = len;

    if (prefix_len == 0)
        goto out;
    /* Only the last 0x1e can start a marker still arriving: a marker holds
     * no other 0x1e. */
    for (size_t i = len; i-- > from;) {
        size_t n = len - i;
        marker_end unused;

        if (b[i] != '\x1e')
            continue;
        if (memcmp(b + i, prefix, n < prefix_len ? n : prefix_len) != 0)
            goto out;
        if (n <= prefix_len ||
            parse_tail(b + i + prefix_len, n - prefix_len, &unused) == TAIL_PARTIAL)
            rv = i;
        goto out;
    }
out:
    return rv;
}
