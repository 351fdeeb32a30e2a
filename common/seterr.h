/*
 * seterr.h - the one way a function of sce reports why it failed: a
 * printf-style message into the caller's buffer, which may be NULL or empty
 * (the caller does not want the text).
 */
#ifndef SCE_SETERR_H
#define SCE_SETERR_H

#include <stddef.h>

void sce_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
