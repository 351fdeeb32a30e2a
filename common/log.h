/*
 * log.h - levelled logging to stderr, one line per event.
 *
 * SCE_LOG checks the level before formatting anything, so a debug line that
 * would print user code costs nothing at the default level.  Every line
 * carries the request id it belongs to ("-" for none).
 */
#ifndef SCE_LOG_H
#define SCE_LOG_H

#include <stddef.h>

enum sce_log_level {
    SCE_LOG_DEBUG = 0,
    SCE_LOG_INFO = 1,
    SCE_LOG_WARN = 2,
    SCE_LOG_ERROR = 3,
};

extern int sce_log_level_current;

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int sce_log_level_parse(const char *s);
void sce_log_set_level(int level);

/* Sets the level from the log_level option's text; -1 with "log_level:
 * expected debug, info, warn or error, got '...'" in err if it is none of
 * them (the level is then unchanged). */
int sce_log_set_level_named(const char *name, char *err, size_t errlen);
void sce_log_write(int level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SCE_LOG(level, request_id, ...)                                                            \
    do {                                                                                           \
        if ((level) >= sce_log_level_current)                                                      \
            sce_log_write((level), (request_id), __VA_ARGS__);                                     \
    } while (0)

#endif
