/*
 * utf8.h - the two UTF-8 operations the service needs on untrusted text:
 * counting characters (the code limit is in characters) and making a
 * one-line, valid-UTF-8 copy for a human message (proto3 strings must be
 * valid UTF-8, and a message must never break a terminal or a log line).
 */
#ifndef SCE_UTF8_H
#define SCE_UTF8_H

#include <stddef.h>

/* Number of code points in s[0..len), or -1 if it is not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
long sce_utf8_count(const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if none starts there. */
size_t sce_utf8_seq(const unsigned char *s, size_t len);

/* Copies s[0..len) into out as one line: control characters become spaces,
 * invalid bytes become U+FFFD, leading and trailing blanks are trimmed, and
 * the copy is cut at a character boundary to fit outlen (always
 * NUL-terminated when outlen > 0).  Returns the bytes written. */
size_t sce_utf8_clean_line(const char *s, size_t len, char *out, size_t outlen);

#endif
