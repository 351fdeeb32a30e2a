/*
 * file.h - reading a whole file that the caller has opened and checked
 * (fstat: a regular file, within the caller's cap): the page's files in the
 * gateway, a seccomp profile in the server.
 */
#ifndef SCE_FILE_H
#define SCE_FILE_H

#include <stddef.h>

/* Reads exactly size bytes from fd into a malloc'd buffer with a NUL after
 * them (*out, the caller frees it), retrying reads a signal cut short.
 * SCE_OK; SCE_ERR_INTERNAL with the reason in why (strerror's text, or
 * "the file shrank" at an early end of file); SCE_ERR_NO_MEMORY ("out of
 * memory").  *out is set on success only. */
int sce_file_read(int fd, size_t size, char **out, char *why, size_t whylen);

#endif
