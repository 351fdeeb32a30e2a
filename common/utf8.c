/*
 * utf8.c - validation and one-line cleaning of untrusted UTF-8 text.
 */
#include "common/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The valid UTF-8 sequence at p[0..len) (Unicode's table 3-7): returns
 * its length (1-4), or 0 with *bad set to the length of the maximal
 * ill-formed subpart there (1-3), which is replaced by one U+FFFD. */
static size_t seq(const unsigned char *p, size_t len, size_t *bad)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    size_t need;

    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0; /* a stray continuation byte, C0, C1, F5..FF */
    }
    for (size_t i = 1; i <= need; i++) {
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;

        if (i >= len || p[i] < l || p[i] > h) {
            *bad = i;
            return 0;
        }
    }
    return need + 1;
}

size_t sce_utf8_seq(const unsigned char *p, size_t len)
{
    size_t bad;

    return len == 0 ? 0 : seq(p, len, &bad);
}

size_t sce_utf8_bad(const unsigned char *p, size_t len)
{
    size_t bad;

    if (len == 0 || seq(p, len, &bad) != 0)
        return 0;
    return bad;
}

long sce_utf8_count(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;

    for (size_t i = 0; i < len; n++) {
        size_t k = sce_utf8_seq(p + i, len - i);
        if (k == 0)
            return -1;
        i += k;
    }
    return n;
}

/* The copy behind sce_utf8_clean_line (one_line: controls become spaces)
 * and sce_utf8_clean (NUL becomes U+FFFD, the rest is kept). */
static size_t copy(const unsigned char *p, size_t len, char *out, size_t outlen, size_t *consumed,
                   int one_line)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    size_t i = 0, j = 0;

    while (i < len) {
        size_t bad, k = seq(p + i, len - i, &bad);
        const char *src = (const char *)p + i;
        size_t n = k;

        if (k == 0) {
            src = replacement;
            n = 3;
            k = bad;
        } else if (k == 1 && one_line && (p[i] < 0x20 || p[i] == 0x7f)) {
            src = " ";
        } else if (k == 1 && p[i] == 0) {
            src = replacement;
            n = 3;
        }
        if (j + n + 1 > outlen)
            break;
        memcpy(out + j, src, n);
        j += n;
        i += k;
    }
    out[j] = '\0';
    if (consumed != NULL)
        *consumed = i;
    return j;
}

size_t sce_utf8_clean_line(const char *s, size_t len, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (outlen == 0)
        return 0;
    while (len > 0 &&
           (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return copy(p + i, len - i, out, outlen, NULL, 1);
}

size_t sce_utf8_clean(const char *s, size_t len, char *out, size_t outlen, size_t *consumed)
{
    if (outlen == 0) {
        if (consumed != NULL)
            *consumed = 0;
        return 0;
    }
    return copy((const unsigned char *)s, len, out, outlen, consumed, 0);
}

char *sce_utf8_lossy(const char *s, size_t len, size_t *outlen, int *replaced)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, o = 0;
    int any = 0;
    /* One byte can become the 3 bytes of U+FFFD at worst. */
    char *out = len > (SIZE_MAX - 1) / 3 ? NULL : malloc(len * 3 + 1);

    if (out == NULL)
        return NULL;
    while (i < len) {
        size_t bad, k = seq(p + i, len - i, &bad);

        if (k > 0) {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
            any = 1;
        }
    }
    out[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    if (replaced != NULL)
        *replaced = any;
    return out;
}

sce_quoted sce_utf8_quote(const char *s)
{
    sce_quoted q;
    size_t len = s ? strlen(s) : 0, end = 0;

    for (int chars = 0; end < len && chars < 80; chars++) {
        size_t k = sce_utf8_seq((const unsigned char *)s + end, len - end);
        end += k ? k : 1;
    }
    sce_utf8_clean_line(s ? s : "", end, q.text, sizeof(q.text));
    return q;
}

void sce_ascii_shown(char *out, size_t outlen, const char *s, size_t max)
{
    size_t i;

    for (i = 0; s[i] != '\0' && i < max && i + 4 < outlen; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] != '\0' && i + 4 <= outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* Bytes at the end of s[0..len) that may be the start of a character
 * whose rest is still to come (0-3). */
static size_t incomplete_tail(const unsigned char *s, size_t len)
{
    for (size_t k = 1; k <= 3 && k <= len; k++) {
        const unsigned char *t = s + len - k;

        if (t[0] >= 0xC2 && t[0] <= 0xF4 && sce_utf8_seq(t, k) == 0 && sce_utf8_bad(t, k) == k)
            return k;
    }
    return 0;
}

char *sce_utf8_pieces_feed(sce_utf8_pieces *t, const char *data, size_t len, int final,
                           size_t *outlen)
{
    unsigned char *all = malloc(t->nheld + len + 1);
    size_t n, keep;
    char *text;

    if (all == NULL)
        return NULL;
    memcpy(all, t->held, t->nheld);
    if (len > 0)
        memcpy(all + t->nheld, data, len);
    n = t->nheld + len;
    keep = final ? 0 : incomplete_tail(all, n);
    text = sce_utf8_lossy((const char *)all, n - keep, outlen, NULL);
    if (text != NULL) {
        memcpy(t->held, all + n - keep, keep);
        t->nheld = keep;
    }
    free(all);
    return text;
}
