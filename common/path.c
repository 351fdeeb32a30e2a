/*
 * path.c - bundle path rules (see path.h).
 */
#include "common/path.h"

#include <string.h>

#include "common/utf8.h"

_Static_assert(SCE_PATH_MAX_BYTES == 255, "sce_path_problem names the limit in words");

const char *sce_path_problem(const char *path)
{
    size_t len = path ? strlen(path) : 0;
    const char *seg;

    if (len == 0)
        return "is empty";
    if (len > SCE_PATH_MAX_BYTES)
        return "is longer than 255 bytes"; /* SCE_PATH_MAX_BYTES */
    if (path[0] == '/')
        return "is absolute";
    if (strchr(path, '\\') != NULL)
        return "contains a backslash";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
            return "contains a control character";
    if (sce_utf8_count(path, len) < 0)
        return "is not valid UTF-8";
    seg = path;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

        if (n == 0)
            return "has an empty segment";
        if (n == 1 && seg[0] == '.')
            return "has a '.' segment";
        if (n == 2 && seg[0] == '.' && seg[1] == '.')
            return "has a '..' segment";
        if (slash == NULL)
            break;
        seg = slash + 1;
    }
    return NULL;
}

int sce_path_clash(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);

    if (n == m && memcmp(a, b, n) == 0)
        return SCE_PATH_SAME;
    if ((n < m && memcmp(a, b, n) == 0 && b[n] == '/') ||
        (m < n && memcmp(a, b, m) == 0 && a[m] == '/'))
        return SCE_PATH_NESTED;
    return 0;
}
