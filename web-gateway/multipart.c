/*
 * multipart.c - multipart/form-data bodies into capped buffers.
 *
 * libmicrohttpd's post processor splits the body into parts and hands each
 * part's value over in pieces (part_cb); this file only decides what to
 * keep.  A wanted field is appended to its own sce_buf, never past its cap;
 * anything else is dropped as it passes.  The first problem stops the
 * parsing and is kept until the body has fully arrived (see multipart.h).
 *
 * A part is known to start again when a piece at offset 0 carries data
 * while its field already holds some: that is a second part of the same
 * name, and it is refused rather than silently appended to the first.
 */
#include "multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "common/buf.h"
#include "common/seterr.h"
#include "common/utf8.h"
#include "gateway_limits.h"
#include "sce/err.h"

#define FIELDS_MAX 8

struct gw_multipart {
    struct MHD_PostProcessor *pp;
    const gw_multipart_field *fields;
    size_t nfields;
    sce_buf values[FIELDS_MAX];
    int seen[FIELDS_MAX];
    size_t body_max;
    size_t body_bytes;
    unsigned status; /* 0: no problem so far */
    int err;
    char msg[GW_ERROR_MESSAGE_MAX];
};

static void fail(gw_multipart *m, unsigned status, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keeps the first problem only: it is the one the client caused. */
static void fail(gw_multipart *m, unsigned status, int err, const char *fmt, ...)
{
    va_list ap;

    if (m->status != 0)
        return;
    m->status = status;
    m->err = err;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
    va_end(ap);
}

int gw_multipart_content_type_ok(const char *ct)
{
    static const char media[] = "multipart/form-data";
    const size_t n = sizeof(media) - 1;

    if (ct == NULL)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, media, n) != 0)
        return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

static enum MHD_Result part_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    gw_multipart *m = cls;
    size_t i;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (m->status != 0)
        return MHD_NO;
    for (i = 0; i < m->nfields; i++)
        if (key != NULL && strcmp(key, m->fields[i].name) == 0)
            break;
    if (i == m->nfields)
        return MHD_YES; /* not wanted: dropped as it passes */
    m->seen[i] = 1;
    if (size == 0)
        return MHD_YES;
    if (off == 0 && m->values[i].len > 0) {
        fail(m, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT, "%s: given twice", key);
        return MHD_NO;
    }
    if (m->values[i].len + size > m->fields[i].max_bytes) {
        if (m->fields[i].is_upload)
            fail(m, MHD_HTTP_CONTENT_TOO_LARGE, SCE_ERR_INVALID_ARGUMENT,
                 "%s: more than the limit of %zu bytes", key, m->fields[i].max_bytes);
        else
            fail(m, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT, "%s: longer than %zu bytes",
                 key, m->fields[i].max_bytes);
        return MHD_NO;
    }
    if (sce_buf_append(&m->values[i], data, size) != SCE_OK) {
        fail(m, MHD_HTTP_INTERNAL_SERVER_ERROR, SCE_ERR_INTERNAL, "out of memory reading the body");
        return MHD_NO;
    }
    return MHD_YES;
}

int gw_multipart_begin(struct MHD_Connection *c, unsigned long long announced,
                       const gw_multipart_field *fields, size_t nfields, size_t body_max_bytes,
                       gw_multipart **out, unsigned *status, char *err, size_t errlen)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    gw_multipart *m;
    char shown[72];
    size_t i;

    if (!gw_multipart_content_type_ok(ct)) {
        *status = MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
        if (ct == NULL) {
            sce_seterr(err, errlen, "Content-Type: missing; expected multipart/form-data");
        } else {
            sce_ascii_shown(shown, sizeof(shown), ct, 64);
            sce_seterr(err, errlen, "Content-Type: expected multipart/form-data, got '%s'", shown);
        }
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (announced > body_max_bytes &&
        gw_answer_before_body(c, announced, body_max_bytes + GW_BODY_DISCARD_MAX_BYTES)) {
        *status = MHD_HTTP_CONTENT_TOO_LARGE;
        sce_seterr(err, errlen, "body: %llu bytes is more than the limit of %zu bytes", announced,
                   body_max_bytes);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (nfields > FIELDS_MAX || (m = calloc(1, sizeof(*m))) == NULL) {
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        sce_seterr(err, errlen, "out of memory");
        return SCE_ERR_INTERNAL;
    }
    m->fields = fields;
    m->nfields = nfields;
    m->body_max = body_max_bytes;
    for (i = 0; i < nfields; i++)
        sce_buf_init(&m->values[i], fields[i].max_bytes);
    if (announced > body_max_bytes) {
        /* Read to its end and refused then: see multipart.h. */
        fail(m, MHD_HTTP_CONTENT_TOO_LARGE, SCE_ERR_INVALID_ARGUMENT,
             "body: %llu bytes is more than the limit of %zu bytes", announced, body_max_bytes);
    } else {
        /* libmicrohttpd takes the boundary from the Content-Type itself and
         * refuses one that is missing, empty, or too long for its buffer. */
        m->pp = MHD_create_post_processor(c, GW_MULTIPART_BUFFER_BYTES, part_cb, m);
        if (m->pp == NULL) {
            gw_multipart_free(m);
            *status = MHD_HTTP_BAD_REQUEST;
            sce_seterr(err, errlen,
                       "Content-Type: multipart/form-data needs a boundary parameter of 1 to 70 "
                       "characters");
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    *out = m;
    return SCE_OK;
}

void gw_multipart_feed(gw_multipart *m, const char *data, size_t n)
{
    m->body_bytes += n;
    if (m->status != 0)
        return; /* only counted: the answer is already decided */
    if (m->body_bytes > m->body_max) {
        fail(m, MHD_HTTP_CONTENT_TOO_LARGE, SCE_ERR_INVALID_ARGUMENT,
             "body: more than the limit of %zu bytes", m->body_max);
        return;
    }
    if (MHD_post_process(m->pp, data, n) != MHD_YES)
        fail(m, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT,
             "body: malformed multipart/form-data");
}

int gw_multipart_end(gw_multipart *m, unsigned *status, char *err, size_t errlen)
{
    /* A body cut short of its closing boundary leaves the parser in the
     * middle of a part, whose last piece it may still hold back. */
    if (m->pp != NULL) {
        enum MHD_Result whole = MHD_destroy_post_processor(m->pp);

        m->pp = NULL;
        if (whole != MHD_YES)
            fail(m, MHD_HTTP_BAD_REQUEST, SCE_ERR_INVALID_ARGUMENT,
                 "body: malformed multipart/form-data (no closing boundary)");
    }
    if (m->status == 0)
        return SCE_OK;
    *status = m->status;
    sce_seterr(err, errlen, "%s", m->msg);
    return m->err;
}

const char *gw_multipart_value(const gw_multipart *m, const char *name, size_t *len)
{
    for (size_t i = 0; i < m->nfields; i++) {
        if (strcmp(m->fields[i].name, name) != 0)
            continue;
        if (!m->seen[i])
            return NULL;
        *len = m->values[i].len;
        return m->values[i].data != NULL ? m->values[i].data : "";
    }
    return NULL;
}

void gw_multipart_free(gw_multipart *m)
{
    if (m == NULL)
        return;
    if (m->pp != NULL)
        MHD_destroy_post_processor(m->pp);
    for (size_t i = 0; i < m->nfields; i++)
        sce_buf_free(&m->values[i]);
    free(m);
}
