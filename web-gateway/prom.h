/*
 * prom.h - a writer of the Prometheus text exposition format, version
 * 0.0.4 (Content-Type "text/plain; version=0.0.4; charset=utf-8").
 *
 * No C client library of Prometheus is packaged in Debian, and the format
 * is small: each family is a "# HELP" and a "# TYPE" line, written once,
 * followed by its samples, `name{label="value",...} number`.  This writer
 * gets the details right once: label values escaped (backslash, double
 * quote, newline) and made valid UTF-8 (each ill-formed subpart becomes
 * U+FFFD), HELP text escaped (backslash, newline), integers written exactly,
 * other numbers in the shortest form that reads back to the same double,
 * and +Inf, -Inf and NaN spelled as Prometheus reads them; a histogram's
 * buckets are written cumulative, with le="+Inf", _sum and _count.
 *
 * What it does not do: keep metrics (metrics.c does), lock anything, or
 * check that a family's samples are consecutive (the caller writes each
 * family whole).  Metric and label names come from the program, not from
 * outside: they are asserted, not checked.  Numbers are formatted with
 * printf, which the gateway leaves in the "C" locale (it never calls
 * setlocale).
 *
 * Errors are sticky: the first failure (out of memory, or the text grew
 * past the writer's limit) is kept, later calls do nothing, and
 * prom_finish() returns it.  Threads: a writer belongs to one thread.
 */
#ifndef SCE_GATEWAY_PROM_H
#define SCE_GATEWAY_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_type;

/* One label of a sample; value is any NUL-terminated text. */
typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

typedef struct prom_writer {
    sce_buf out;
    int rv;             /* the first error, SCE_OK until one */
    const char *family; /* the family being written, for the assertions */
} prom_writer;

/* Bytes of the longest number prom_number() writes, terminator included. */
#define PROM_NUMBER_MAX 32

/* A writer of at most limit_bytes of text.  Allocates nothing yet. */
void prom_init(prom_writer *w, size_t limit_bytes);

/* Starts a family: its HELP and TYPE lines.  A counter's name ends in
 * "_total" (its samples carry the same name); a histogram's name is the
 * base of its _bucket, _sum and _count samples. */
void prom_family(prom_writer *w, const char *name, prom_type type, const char *help);

/* One sample of the current counter or gauge family, exact. */
void prom_u64(prom_writer *w, const prom_label *labels, size_t nlabels, uint64_t value);

/* ... or any double (NaN and the infinities included). */
void prom_double(prom_writer *w, const prom_label *labels, size_t nlabels, double value);

/* One series of the current histogram family: bounds[0..nbounds) are the
 * upper bounds of its buckets, increasing; counts[i] is the number of
 * observations in bucket i alone (bounds[i-1] < x <= bounds[i]), and
 * counts[nbounds] those above the last bound.  Written cumulative, with
 * le="+Inf" equal to _count, the sum of all counts. */
void prom_histogram(prom_writer *w, const prom_label *labels, size_t nlabels, const double *bounds,
                    const uint64_t *counts, size_t nbounds, double sum);

/* Hands over the text: SCE_OK with *out malloc'd and NUL-terminated (the
 * caller frees it) and *outlen its length (may be NULL); else
 * SCE_ERR_NO_MEMORY, or SCE_ERR_RESOURCE_EXHAUSTED if it grew past the
 * limit, or SCE_ERR_INVALID_ARGUMENT for a metric or label name the format
 * does not allow (a counter's must end in "_total"), with *out NULL.  Either way the writer is
 * emptied. */
int prom_finish(prom_writer *w, char **out, size_t *outlen);

/* Writes v as the format wants it: "+Inf", "-Inf", "NaN", or the shortest
 * %.{15,16,17}g text that reads back as v.  Returns out. */
char *prom_number(double v, char out[PROM_NUMBER_MAX]);

#endif
