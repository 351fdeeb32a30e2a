/*
 * buf.c - capped growable buffer; doubling growth up to the cap.
 */
#include "common/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sce/err.h"

void sce_buf_init(sce_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->limit = limit;
    b->truncated = 0;
}

int sce_buf_append(sce_buf *b, const void *p, size_t n)
{
    size_t room = b->limit - b->len;
    int cut = n > room;

    if (cut)
        n = room;
    if (b->len + n + 1 > b->alloc) {
        size_t want = b->alloc ? b->alloc : 256;
        /* limit + 1 (the terminator) never wraps: limits stay below SIZE_MAX. */
        size_t most = b->limit < SIZE_MAX ? b->limit + 1 : SIZE_MAX;
        while (want < b->len + n + 1 && want < most / 2)
            want *= 2;
        if (want < b->len + n + 1 || want > most)
            want = most;
        char *d = realloc(b->data, want);
        if (d == NULL)
            return SCE_ERR_NO_MEMORY;
        b->data = d;
        b->alloc = want;
    }
    if (cut)
        b->truncated = 1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SCE_OK;
}

int sce_buf_puts(sce_buf *b, const char *s)
{
    return sce_buf_append(b, s, strlen(s));
}

char *sce_buf_steal(sce_buf *b, size_t *len)
{
    char *d = b->data;

    if (d == NULL)
        d = calloc(1, 1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->truncated = 0;
    return d;
}

void sce_buf_free(sce_buf *b)
{
    free(b->data);
    sce_buf_init(b, b->limit);
}
