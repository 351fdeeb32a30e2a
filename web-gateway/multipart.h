/*
 * multipart.h - a multipart/form-data request body, read into capped
 * buffers as it arrives (libmicrohttpd's post processor does the parsing).
 *
 * The caller names the fields it wants, each with a cap; every other part
 * is read past and dropped.  Nothing is decided while the body streams in:
 * the first problem (a field over its cap, a field given twice, a body over
 * its cap, malformed multipart) is remembered, the rest of the body is only
 * counted, and gw_multipart_end() reports it once the whole request is in,
 * because libmicrohttpd cannot answer in the middle of a body.
 *
 * What it does not do: look at what the fields mean (routes_project.c),
 * write anything to disk, or keep more than the caps allow.
 *
 * Ownership: a gw_multipart belongs to the HTTP request that began it and
 * is freed with gw_multipart_free(); the values it hands out live as long
 * as it does.  The field table is borrowed and must outlive it (a static
 * table).
 */
#ifndef SCE_GATEWAY_MULTIPART_H
#define SCE_GATEWAY_MULTIPART_H

#include <stddef.h>

#include <microhttpd.h>

/* One field the caller wants. */
typedef struct gw_multipart_field {
    const char *name; /* the part's name="..." */
    size_t max_bytes; /* its value may be at most this long */
    int is_upload;    /* over max_bytes: 413 (a file) rather than 400 (a text field) */
} gw_multipart_field;

typedef struct gw_multipart gw_multipart;

/* 1 if a Content-Type header value is multipart/form-data (any case, with
 * parameters); 0 for anything else, NULL included. */
int gw_multipart_content_type_ok(const char *content_type);

/* Starts reading the body of the request on `c`, whose headers are in.
 * `announced` is its Content-Length (0 if none); the body may be at most
 * body_max_bytes.  Returns SCE_OK with *out, or an sce_err with the HTTP
 * status to answer at once in *status and one line in err:
 *   415 the Content-Type is missing or not multipart/form-data;
 *   400 it has no usable boundary;
 *   413 the announced body is over body_max_bytes and the client waits for
 *       "100 Continue" (so it sends nothing), or is so far over that it is
 *       not worth reading.
 * A body announced over the cap but within reach still gets *out: it is
 * read to its end, dropped, and answered 413 by gw_multipart_end(), so
 * that the client, still sending, sees the answer rather than a reset. */
int gw_multipart_begin(struct MHD_Connection *c, unsigned long long announced,
                       const gw_multipart_field *fields, size_t nfields, size_t body_max_bytes,
                       gw_multipart **out, unsigned *status, char *err, size_t errlen);

/* Feeds n more bytes of the body. */
void gw_multipart_feed(gw_multipart *m, const char *data, size_t n);

/* The whole body is in.  SCE_OK; or SCE_ERR_INVALID_ARGUMENT (or
 * SCE_ERR_INTERNAL, out of memory) with the status to answer (400, 413, 500)
 * and one line in err. */
int gw_multipart_end(gw_multipart *m, unsigned *status, char *err, size_t errlen);

/* The value of a wanted field, NUL-terminated (it may hold NUL bytes: use
 * *len), or NULL if the body had no such part. */
const char *gw_multipart_value(const gw_multipart *m, const char *name, size_t *len);

/* NULL is accepted. */
void gw_multipart_free(gw_multipart *m);

#endif
