/*
 * marker.h - the runner's end marker, found in a stream of output.
 *
 * With a nonce in the bundle, the runner writes one line on stdout and on
 * stderr once the program has ended (after its own exit handlers):
 *
 *   "\x1eSCE-END:" <nonce> ":" <status> ":" <cpu_us> ":" <peak_bytes> "\n"
 *
 * status is 1 to 4 digits; cpu_us (CPU time since the bundle arrived, in
 * microseconds) and peak_bytes (the container's peak memory) are 1 to 19
 * digits each, so they always fit a uint64_t, and 0 means "not known".  The
 * short form "...:<status>\n" of earlier runners is accepted with both
 * figures 0.  Anything else (a missing digit, a sign, a 20th digit, a
 * fourth field) is not a marker: it stays in the output like any other
 * text, and the search goes on after it.
 *
 * Pure: no I/O, no allocation.  It does not judge the figures: the marker is
 * written by code in the program's own process, so they are what the
 * program let the runner report (docs/SECURITY.md); no limit depends on
 * them.
 */
#ifndef SCE_MARKER_H
#define SCE_MARKER_H

#include <stddef.h>
#include <stdint.h>

#define MARKER_TAG "\x1eSCE-END:"
/* The longest marker: tag (9) + nonce (32 hex digits, exec.c) + ':' +
 * status (4) + 2 x (':' + 19 digits) + '\n' = 87 bytes, with room. */
#define MARKER_MAX 96

typedef struct marker_end {
    int status;          /* the program's exit status, 0..9999 */
    uint64_t cpu_us;     /* 0: not known */
    uint64_t peak_bytes; /* 0: not known */
} marker_end;

/* Looks for the first complete marker with this prefix (MARKER_TAG, the
 * nonce and ':') that starts at or after b + from.  Returns 1 and sets *at
 * to its offset and *m to its fields; 0 when there is none (*at and *m are
 * then untouched). */
int marker_find(const char *prefix, size_t prefix_len, const char *b, size_t len, size_t from,
                size_t *at, marker_end *m);

/* Where a marker that may still be arriving starts at the end of b[0, len):
 * a tail that is a proper beginning of "<prefix><status>[:<cpu>:<peak>]\n".
 * Returns len when there is none.  Those bytes do not count against the
 * output cap until it is known whether they are a marker. */
size_t marker_pending(const char *prefix, size_t prefix_len, const char *b, size_t len);

#endif
