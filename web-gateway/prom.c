/*
 * prom.c - the text exposition writer of prom.h: escaping, number
 * formatting, cumulative buckets, into one capped sce_buf.
 *
 * Threads: none of its own; a writer is used by one thread.
 * Errors: sticky in w->rv, returned by prom_finish().
 */
#include "prom.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "sce/err.h"

void prom_init(prom_writer *w, size_t limit_bytes)
{
    sce_buf_init(&w->out, limit_bytes);
    w->rv = SCE_OK;
    w->family = NULL;
}

static void put(prom_writer *w, const char *s, size_t n)
{
    if (w->rv != SCE_OK || n == 0)
        return;
    w->rv = sce_buf_append(&w->out, s, n);
    if (w->rv == SCE_OK && w->out.truncated)
        w->rv = SCE_ERR_RESOURCE_EXHAUSTED;
}

static void put_str(prom_writer *w, const char *s)
{
    if (w->rv == SCE_OK)
        put(w, s, strlen(s));
}

/* Writes s with backslash and newline escaped, and also the double quote
 * when in_label; in a label value each ill-formed UTF-8 subpart becomes
 * U+FFFD (HELP text is the program's own). */
static void put_escaped(prom_writer *w, const char *s, int in_label)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, run = 0; /* p[run..i) is copied as it is */

    while (i < len) {
        const char *esc = NULL;
        size_t n = 1;

        if (p[i] == '\\')
            esc = "\\\\";
        else if (p[i] == '\n')
            esc = "\\n";
        else if (p[i] == '"' && in_label)
            esc = "\\\"";
        else if (p[i] >= 0x80 && in_label && (n = sce_utf8_seq(p + i, len - i)) == 0) {
            esc = "\xEF\xBF\xBD";
            n = sce_utf8_bad(p + i, len - i);
        }
        if (esc != NULL) {
            put(w, s + run, i - run);
            put_str(w, esc);
            run = i + n;
        }
        i += n;
    }
    put(w, s + run, i - run);
}

static int name_ok(const char *s, int colon)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':')))
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

void prom_family(prom_writer *w, const char *name, prom_type type, const char *help)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};

    /* Names come from the program, never from a request: a bad one is a
     * bug, failed in every build (not only where assert() is on). */
    if (!name_ok(name, 1) || (type == PROM_COUNTER && !ends_with(name, "_total"))) {
        if (w->rv == SCE_OK)
            w->rv = SCE_ERR_INVALID_ARGUMENT;
        return;
    }
    w->family = name;
    put_str(w, "# HELP ");
    put_str(w, name);
    put_str(w, " ");
    put_escaped(w, help, 0);
    put_str(w, "\n# TYPE ");
    put_str(w, name);
    put_str(w, " ");
    put_str(w, type_names[type]);
    put_str(w, "\n");
}

char *prom_number(double v, char out[PROM_NUMBER_MAX])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else {
        /* The shortest of 15, 16, 17 digits that reads back the same: 17
         * always does, and 15 gives 0.1 rather than 0.10000000000000001. */
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(out, PROM_NUMBER_MAX, "%.*g", digits, v);
            if (strtod(out, NULL) == v)
                break;
        }
    }
    return out;
}

/* name{labels[,le="..."]} followed by a space. */
static void put_series(prom_writer *w, const char *suffix, const prom_label *labels, size_t nlabels,
                       const char *le)
{
    if (w->family == NULL) { /* a sample before its family: a bug */
        if (w->rv == SCE_OK)
            w->rv = SCE_ERR_INVALID_ARGUMENT;
        return;
    }
    put_str(w, w->family);
    put_str(w, suffix);
    if (nlabels > 0 || le != NULL) {
        put_str(w, "{");
        for (size_t i = 0; i < nlabels; i++) {
            if (!name_ok(labels[i].name, 0) || strncmp(labels[i].name, "__", 2) == 0) {
                if (w->rv == SCE_OK)
                    w->rv = SCE_ERR_INVALID_ARGUMENT;
                return;
            }
            if (i > 0)
                put_str(w, ",");
            put_str(w, labels[i].name);
            put_str(w, "=\"");
            put_escaped(w, labels[i].value != NULL ? labels[i].value : "", 1);
            put_str(w, "\"");
        }
        if (le != NULL) {
            put_str(w, nlabels > 0 ? ",le=\"" : "le=\"");
            put_str(w, le);
            put_str(w, "\"");
        }
        put_str(w, "}");
    }
    put_str(w, " ");
}

static void put_u64_line(prom_writer *w, uint64_t value)
{
    char num[PROM_NUMBER_MAX];

    snprintf(num, sizeof(num), "%" PRIu64 "\n", value);
    put_str(w, num);
}

void prom_u64(prom_writer *w, const prom_label *labels, size_t nlabels, uint64_t value)
{
    assert(w->family != NULL);
    put_series(w, "", labels, nlabels, NULL);
    put_u64_line(w, value);
}

void prom_double(prom_writer *w, const prom_label *labels, size_t nlabels, double value)
{
    char num[PROM_NUMBER_MAX];

    assert(w->family != NULL);
    put_series(w, "", labels, nlabels, NULL);
    put_str(w, prom_number(value, num));
    put_str(w, "\n");
}

void prom_histogram(prom_writer *w, const prom_label *labels, size_t nlabels, const double *bounds,
                    const uint64_t *counts, size_t nbounds, double sum)
{
    char le[PROM_NUMBER_MAX];
    uint64_t total = 0;

    assert(w->family != NULL);
    for (size_t i = 0; i <= nbounds; i++) {
        assert(i == 0 || i == nbounds || bounds[i] > bounds[i - 1]);
        total += counts[i];
        put_series(w, "_bucket", labels, nlabels,
                   i < nbounds ? prom_number(bounds[i], le) : "+Inf");
        put_u64_line(w, total);
    }
    put_series(w, "_sum", labels, nlabels, NULL);
    put_str(w, prom_number(sum, le));
    put_str(w, "\n");
    put_series(w, "_count", labels, nlabels, NULL);
    put_u64_line(w, total);
}

int prom_finish(prom_writer *w, char **out, size_t *outlen)
{
    int rv = w->rv;

    *out = NULL;
    if (rv == SCE_OK && (*out = sce_buf_steal(&w->out, outlen)) == NULL)
        rv = SCE_ERR_NO_MEMORY;
    sce_buf_free(&w->out);
    w->rv = SCE_OK;
    w->family = NULL;
    return rv;
}
