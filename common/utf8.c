/*
 * utf8.c - validation and one-line cleaning of untrusted UTF-8 text.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t sce_utf8_seq(const unsigned char *p, size_t len)
{
    size_t k;
    uint32_t cp;

    if (len == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        k = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        k = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        k = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len < k)
        return 0;
    for (size_t j = 1; j < k; j++) {
        if ((p[j] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[j] & 0x3F);
    }
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
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

size_t sce_utf8_clean_line(const char *s, size_t len, char *out, size_t outlen)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t j = 0, i = 0;

    if (outlen == 0)
        return 0;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' ||
                       p[len - 1] == '\n'))
        len--;
    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    while (i < len) {
        size_t k = sce_utf8_seq(p + i, len - i);
        const char *src = (const char *)p + i;
        size_t n = k;
        char space = ' ';

        if (k == 0) {
            src = replacement;
            n = 3;
            k = 1;
        } else if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            src = &space;
        }
        if (j + n + 1 > outlen)
            break;
        memcpy(out + j, src, n);
        j += n;
        i += k;
    }
    out[j] = '\0';
    return j;
}

size_t sce_utf8_clean(const char *s, size_t len, char *out, size_t outlen, size_t *consumed)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, j = 0;

    if (outlen == 0) {
        if (consumed != NULL)
            *consumed = 0;
        return 0;
    }
    while (i < len) {
        size_t k = sce_utf8_seq(p + i, len - i);
        const char *src = (const char *)p + i;
        size_t n = k;

        if (k == 0 || p[i] == 0) {
            src = replacement;
            n = 3;
            k = 1;
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
