/*
 * buf.h - a growable byte buffer with a hard cap.
 *
 * Every buffer that holds data from outside (container output, HTTP bodies)
 * has a limit: appends beyond it are dropped and `truncated` is set, so the
 * head of the data is kept.  The contents are always NUL-terminated (the
 * terminator is not counted in len) for convenience; the data may contain
 * NUL bytes.
 */
#ifndef SCE_BUF_H
#define SCE_BUF_H

#include <stddef.h>

typedef struct sce_buf {
    char *data;    /* NULL until the first append */
    size_t len;
    size_t alloc;
    size_t limit;  /* most bytes kept */
    int truncated; /* an append went past limit */
} sce_buf;

/* A buffer that keeps at most `limit` bytes; allocates nothing yet. */
void sce_buf_init(sce_buf *b, size_t limit);

/* Appends up to the limit.  Returns SCE_OK, or SCE_ERR_RESOURCE_EXHAUSTED if
 * memory ran out (the buffer is left as it was).  Bytes past the limit are
 * dropped and set truncated; that is not an error. */
int sce_buf_append(sce_buf *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
int sce_buf_puts(sce_buf *b, const char *s);

/* Hands the data to the caller (free() it) and resets the buffer. */
char *sce_buf_steal(sce_buf *b, size_t *len);

void sce_buf_free(sce_buf *b);

#endif
