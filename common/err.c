/*
 * err.c - names for the sce_err codes.  The table is indexed by code; gaps
 * (6, 9-11, 15) are codes sce does not use and print as unknown.
 */
#include "sce/err.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "common/seterr.h"

static const struct {
    const char *text;
    const char *name;
} err_table[] = {
    [SCE_OK] = {"ok", "OK"},
    [SCE_ERR_CANCELLED] = {"cancelled", "CANCELLED"},
    [SCE_ERR_UNKNOWN] = {"unknown error", "UNKNOWN"},
    [SCE_ERR_INVALID_ARGUMENT] = {"invalid argument", "INVALID_ARGUMENT"},
    [SCE_ERR_DEADLINE_EXCEEDED] = {"deadline exceeded", "DEADLINE_EXCEEDED"},
    [SCE_ERR_NOT_FOUND] = {"not found", "NOT_FOUND"},
    [SCE_ERR_PERMISSION_DENIED] = {"permission denied", "PERMISSION_DENIED"},
    [SCE_ERR_RESOURCE_EXHAUSTED] = {"resource exhausted", "RESOURCE_EXHAUSTED"},
    [SCE_ERR_FAILED_PRECONDITION] = {"failed precondition", "FAILED_PRECONDITION"},
    [SCE_ERR_UNIMPLEMENTED] = {"unimplemented", "UNIMPLEMENTED"},
    [SCE_ERR_INTERNAL] = {"internal error", "INTERNAL"},
    [SCE_ERR_UNAVAILABLE] = {"unavailable", "UNAVAILABLE"},
    [SCE_ERR_UNAUTHENTICATED] = {"unauthenticated", "UNAUTHENTICATED"},
};

#define ERR_TABLE_LEN (sizeof(err_table) / sizeof(err_table[0]))

const char *sce_strerror(int err)
{
    if (err < 0 || (size_t)err >= ERR_TABLE_LEN || err_table[err].text == NULL)
        return "unknown error";
    return err_table[err].text;
}

int sce_err_known(int err)
{
    return err >= 0 && (size_t)err < ERR_TABLE_LEN && err_table[err].name != NULL;
}

const char *sce_err_name(int err)
{
    if (err < 0 || (size_t)err >= ERR_TABLE_LEN || err_table[err].name == NULL)
        return "UNKNOWN";
    return err_table[err].name;
}

void sce_seterr(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}
