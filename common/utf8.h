/*
 * utf8.h - the UTF-8 operations the service needs on untrusted text:
 * counting characters (the code limit is in characters), making a
 * one-line, valid-UTF-8 copy for a human message (proto3 strings must be
 * valid UTF-8, and a message must never break a terminal or a log line), and
 * making a multi-line valid-UTF-8 copy of program text and output (history),
 * and the lossy copy that JSON writers (the gateway, the CLI) need.
 */
#ifndef SCE_UTF8_H
#define SCE_UTF8_H

#include <stddef.h>

/* Number of code points in s[0..len), or -1 if it is not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
long sce_utf8_count(const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if none starts there. */
size_t sce_utf8_seq(const unsigned char *s, size_t len);

/* Where no valid sequence starts at s: the length (1-3) of the maximal
 * ill-formed subpart there, the bytes one U+FFFD replaces (Unicode's
 * recommended practice, also the WHATWG decoder's); 0 where a valid
 * sequence starts or len is 0.  Every lossy copy below follows it, so the
 * same bytes give the same text in history, over HTTP and in the CLI. */
size_t sce_utf8_bad(const unsigned char *s, size_t len);

/* A byte stream's text as it arrives in pieces (a program's output, read
 * while it runs): an incomplete character at a piece's end is held back
 * for the next piece (or, at the end, replaced), and invalid bytes become
 * U+FFFD as in sce_utf8_lossy.  Zero-initialise one per stream. */
typedef struct sce_utf8_pieces {
    unsigned char held[4];
    size_t nheld;
} sce_utf8_pieces;

/* The text of len more bytes (final: the stream's last), malloc'd and
 * NUL-terminated, its length in *outlen; NULL when out of memory (then
 * nothing is held back anew). */
char *sce_utf8_pieces_feed(sce_utf8_pieces *t, const char *data, size_t len, int final,
                           size_t *outlen);

/* A malloc'd copy of s[0..len) as valid UTF-8: each maximal ill-formed
 * subpart becomes U+FFFD, everything else (NUL and control characters
 * included) is kept.  NUL-terminated; *outlen (may be NULL) gets its length
 * and *replaced (may be NULL) whether anything was replaced.  NULL when out
 * of memory.  For JSON strings (a NUL is written as \u0000). */
char *sce_utf8_lossy(const char *s, size_t len, size_t *outlen, int *replaced);

/* Copies s[0..len) into out as one line: control characters become spaces,
 * each maximal ill-formed subpart becomes U+FFFD, leading and trailing blanks are trimmed, and
 * the copy is cut at a character boundary to fit outlen (always
 * NUL-terminated when outlen > 0).  Returns the bytes written. */
size_t sce_utf8_clean_line(const char *s, size_t len, char *out, size_t outlen);

/* Copies s[0..len) into out as valid UTF-8 text of any number of lines:
 * each maximal ill-formed subpart and each NUL becomes U+FFFD (so the copy is a C string
 * and a valid proto3 string); everything else, newlines and other control
 * characters included, is kept as it is.  The copy is cut at a character
 * boundary to fit outlen (always NUL-terminated when outlen > 0).  Returns
 * the bytes written; *consumed (may be NULL) gets the input bytes copied,
 * so consumed < len means the copy was cut. */
size_t sce_utf8_clean(const char *s, size_t len, char *out, size_t outlen, size_t *consumed);

/* A piece of untrusted text fit to quote in a one-line message: its first
 * 80 characters (an invalid byte counts as one), cleaned as by
 * sce_utf8_clean_line.  Returned by value, so it can be used in place:
 * printf("'%s'", sce_utf8_quote(path).text).  NULL quotes as "". */
typedef struct sce_quoted {
    char text[244];
} sce_quoted;

sce_quoted sce_utf8_quote(const char *s);

/* Copies at most max bytes of the NUL-terminated s into out, printable
 * ASCII only (anything else becomes '?'), with "..." when s was longer;
 * always NUL-terminated when outlen > 4.  For header and request values in
 * log lines and messages, where they must not forge or break a line. */
void sce_ascii_shown(char *out, size_t outlen, const char *s, size_t max);

#endif
