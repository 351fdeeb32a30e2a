/*
 * log.c - the line writer behind SCE_LOG.  Lines are formatted into a local
 * buffer and written with one write(2), so lines from different threads never
 * interleave.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/seterr.h"
#include "common/utf8.h"

int sce_log_level_current = SCE_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int sce_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return SCE_LOG_WARN;
    return -1;
}

void sce_log_set_level(int level)
{
    sce_log_level_current = level;
}

int sce_log_set_level_named(const char *name, char *err, size_t errlen)
{
    int lvl = sce_log_level_parse(name);

    if (lvl < 0) {
        sce_seterr(err, errlen, "log_level: expected debug, info, warn or error, got '%s'",
                   sce_utf8_quote(name).text);
        return -1;
    }
    sce_log_set_level(lvl);
    return 0;
}

void sce_log_write(int level, const char *request_id, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s [%s] ",
                          (long)(tv.tv_usec / 1000), level_names[level & 3],
                          request_id && *request_id ? request_id : "-");
    va_start(ap, fmt);
    int w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (w < 0)
        w = 0;
    n += (size_t)w;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t rv = write(STDERR_FILENO, line, n);
    (void)rv;
}
