/*
 * piston_version.c - npm semver's range matching, the subset Piston's
 * clients use (piston_version.h).  A range is read left to right in one
 * pass per alternative; each comparator becomes a lower and an upper bound
 * on the (major, minor, patch) triple, and the version must lie within
 * every bound of one alternative.
 */
#include "piston_version.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#define PART_MAX 999999999L /* larger numbers are not versions */

/* A version or partial version: n of the three parts given (0-3). */
typedef struct partial {
    long v[3];
    int n;
} partial;

static int cmp3(const long a[3], const long b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* Reads a partial version at s[0..len): "3", "3.11", "3.x", "3.11.*",
 * "v3.11.2", "3.11.2-alpha.7".  Parts after a wildcard must be
 * wildcards.  Returns 0, or -1 if it is not one. */
static int parse_partial(const char *s, size_t len, partial *p)
{
    size_t i = 0;
    int wild = 0;

    memset(p, 0, sizeof(*p));
    if (i < len && (s[i] == 'v' || s[i] == 'V'))
        i++;
    if (i == len)
        return 0; /* "" and "v": any */
    for (int part = 0; part < 3; part++) {
        if (i < len && (s[i] == 'x' || s[i] == 'X' || s[i] == '*')) {
            wild = 1;
            i++;
        } else if (i < len && isdigit((unsigned char)s[i]) && !wild) {
            long v = 0;

            while (i < len && isdigit((unsigned char)s[i])) {
                v = v * 10 + (s[i++] - '0');
                if (v > PART_MAX)
                    return -1;
            }
            p->v[part] = v;
            p->n = part + 1;
        } else {
            return -1;
        }
        if (i == len || s[i] == '-' || s[i] == '+')
            return 0; /* a suffix is ignored */
        if (s[i] != '.' || part == 2)
            return -1;
        i++;
    }
    return -1;
}

/* The next bound after `p`: the partial with its last given part plus
 * one ("3.11" -> 3.12.0, "3" -> 4.0.0). */
static void next_of(const partial *p, long out[3])
{
    for (int i = 0; i < 3; i++)
        out[i] = i < p->n ? p->v[i] : 0;
    if (p->n > 0) {
        out[p->n - 1]++;
        for (int i = p->n; i < 3; i++)
            out[i] = 0;
    }
}

/* Whether version v satisfies one comparator s[0..len) ("^3.10",
 * ">=3", "3.x").  -1 when the comparator is malformed. */
static int comparator_ok(const char *s, size_t len, const long v[3])
{
    char op[3] = "";
    size_t i = 0;
    partial p;
    long lo[3], hi[3];

    while (i < len && i < 2 && strchr("^~<>=", s[i]) != NULL) {
        op[i] = s[i];
        i++;
    }
    op[i] = '\0';
    if (parse_partial(s + i, len - i, &p) != 0)
        return -1;
    for (int k = 0; k < 3; k++)
        lo[k] = k < p.n ? p.v[k] : 0;
    next_of(&p, hi);
    if (op[0] == '\0' || strcmp(op, "=") == 0) /* exact, or every version with this prefix */
        return p.n == 0 || (cmp3(v, lo) >= 0 && (p.n == 3 ? cmp3(v, lo) == 0 : cmp3(v, hi) < 0));
    if (strcmp(op, "^") == 0) {
        if (p.n == 0)
            return 1;
        /* Everything up to the next change of the first non-zero part
         * given (or of the last part given, when all are zero). */
        int k = 0;

        while (k < p.n - 1 && p.v[k] == 0)
            k++;
        partial up = {{p.v[0], p.v[1], p.v[2]}, k + 1};

        next_of(&up, hi);
        return cmp3(v, lo) >= 0 && cmp3(v, hi) < 0;
    }
    if (strcmp(op, "~") == 0) {
        if (p.n == 0)
            return 1;
        partial up = {{p.v[0], p.v[1], p.v[2]}, p.n >= 2 ? 2 : 1};

        next_of(&up, hi);
        return cmp3(v, lo) >= 0 && cmp3(v, hi) < 0;
    }
    if (strcmp(op, ">=") == 0)
        return cmp3(v, lo) >= 0;
    if (strcmp(op, ">") == 0) /* past every version with this prefix */
        return p.n == 0 ? 0 : (p.n == 3 ? cmp3(v, lo) > 0 : cmp3(v, hi) >= 0);
    if (strcmp(op, "<") == 0)
        return p.n == 0 ? 0 : cmp3(v, lo) < 0;
    if (strcmp(op, "<=") == 0)
        return p.n == 0 ? 1 : (p.n == 3 ? cmp3(v, lo) <= 0 : cmp3(v, hi) < 0);
    return -1;
}

/* Whether v satisfies every comparator of one alternative s[0..len).
 * An operator may be followed by blanks (">= 3.10"). */
static int alternative_ok(const char *s, size_t len, const long v[3])
{
    size_t i = 0;

    while (i < len) {
        size_t start, end;
        char buf[64];
        size_t blen = 0;

        while (i < len && isspace((unsigned char)s[i]))
            i++;
        if (i == len)
            break;
        start = i;
        while (i < len && strchr("^~<>=", s[i]) != NULL)
            i++;
        while (i < len && isspace((unsigned char)s[i]))
            i++;
        while (i < len && !isspace((unsigned char)s[i]))
            i++;
        end = i;
        for (size_t k = start; k < end; k++) { /* the comparator without its blanks */
            if (isspace((unsigned char)s[k]))
                continue;
            if (blen + 1 >= sizeof(buf))
                return 0;
            buf[blen++] = s[k];
        }
        if (comparator_ok(buf, blen, v) != 1)
            return 0;
    }
    return 1; /* every comparator held; an empty alternative is "*" */
}

int piston_version_match(const char *range, const char *version)
{
    partial pv;
    const char *alt;

    if (range == NULL || version == NULL)
        return 0;
    if (parse_partial(version, strlen(version), &pv) != 0 || pv.n != 3)
        return 0;
    alt = range;
    for (;;) {
        const char *bar = strstr(alt, "||");
        size_t len = bar != NULL ? (size_t)(bar - alt) : strlen(alt);

        if (alternative_ok(alt, len, pv.v))
            return 1;
        if (bar == NULL)
            return 0;
        alt = bar + 2;
    }
}
