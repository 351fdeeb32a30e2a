/*
 * static.c - the page's files of static.h: read from static_dir and its
 * assets/ folder (assets/ first: its files win over same-named files at
 * the top), kept in one array and looked up by a linear scan (at most
 * GW_STATIC_FILES_MAX entries).
 *
 * Threads: gw_static_load() runs once at start-up; after it the set is
 * read-only.  Errors: into the caller's buffer with sce_seterr().
 */
#include "static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/log.h"
#include "common/seterr.h"
#include "gateway_limits.h"
#include "routes.h"
#include "sce/err.h"

struct gw_static {
    gw_static_file *files; /* GW_STATIC_FILES_MAX of them */
    size_t nfiles;
    size_t bytes;
    int page_built; /* "/" (index.html) is there */
};

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static const gw_static_file *find(const gw_static *st, const char *url)
{
    for (size_t i = 0; i < st->nfiles; i++)
        if (strcmp(st->files[i].url, url) == 0)
            return &st->files[i];
    return NULL;
}

/* Reads one regular file (never through a symlink) of directory dfd. */
static int read_file(gw_static *st, int dfd, const char *name, const char *url, char *err,
                     size_t errlen)
{
    struct stat sb;
    gw_static_file *f;
    char *data = NULL, why[128];
    int fd, rv = SCE_OK;

    fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return SCE_OK; /* a symlink (ELOOP) or gone: not part of the page */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto out;
    if (find(st, url) != NULL)
        goto out;
    if (st->nfiles >= GW_STATIC_FILES_MAX || sb.st_size > GW_STATIC_FILE_MAX_BYTES ||
        st->bytes + (size_t)sb.st_size > GW_STATIC_TOTAL_MAX_BYTES) {
        sce_seterr(err, errlen,
                   "static_dir: %s is over the limits (%d files, %d bytes each, %d "
                   "in all)",
                   name, GW_STATIC_FILES_MAX, GW_STATIC_FILE_MAX_BYTES, GW_STATIC_TOTAL_MAX_BYTES);
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    rv = sce_file_read(fd, (size_t)sb.st_size, &data, why, sizeof(why));
    if (rv != SCE_OK) {
        if (rv == SCE_ERR_NO_MEMORY)
            sce_seterr(err, errlen, "out of memory");
        else
            sce_seterr(err, errlen, "static_dir: cannot read %s: %s", name, why);
        goto out;
    }
    f = &st->files[st->nfiles];
    if ((f->url = strdup(url)) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    f->data = data;
    f->len = (size_t)sb.st_size;
    f->content_type = content_type_of(name);
    f->is_html = strncmp(f->content_type, "text/html", 9) == 0;
    data = NULL;
    st->nfiles++;
    st->bytes += (size_t)sb.st_size;
out:
    free(data);
    close(fd);
    return rv;
}

/* Loads the regular files of directory dfd; `top` says whether it is
 * static_dir itself (whose index.html is the page at "/") or its assets/
 * subdirectory.  Every other file is served at /assets/<name>. */
static int load_dir(gw_static *st, int dfd, int top, char *err, size_t errlen)
{
    char url[300];
    struct dirent *e;
    DIR *dir;
    int fd = dup(dfd), rv = SCE_OK;

    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        if (fd >= 0)
            close(fd);
        sce_seterr(err, errlen, "static_dir: %s", strerror(errno));
        return SCE_ERR_INTERNAL;
    }
    while (rv == SCE_OK && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .., and hidden files are not part of the page */
        if (top && strcmp(e->d_name, "index.html") == 0)
            snprintf(url, sizeof(url), "/");
        else
            snprintf(url, sizeof(url), "/assets/%s", e->d_name);
        rv = read_file(st, dfd, e->d_name, url, err, errlen);
    }
    closedir(dir);
    return rv;
}

int gw_static_load(const char *path, gw_static **out, char *err, size_t errlen)
{
    gw_static *st = calloc(1, sizeof(*st));
    int dfd = -1, afd = -1, rv = SCE_OK;

    if (st == NULL || (st->files = calloc(GW_STATIC_FILES_MAX, sizeof(*st->files))) == NULL) {
        sce_seterr(err, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        SCE_LOG(SCE_LOG_WARN, NULL,
                "static_dir %s: %s; the page will answer 503 until it is "
                "built and the gateway restarted",
                path, strerror(errno));
        goto out;
    }
    afd = openat(dfd, "assets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (afd >= 0)
        rv = load_dir(st, afd, 0, err, errlen);
    if (rv == SCE_OK)
        rv = load_dir(st, dfd, 1, err, errlen);
    if (rv == SCE_OK) {
        st->page_built = find(st, "/") != NULL;
        if (!st->page_built)
            SCE_LOG(SCE_LOG_WARN, NULL,
                    "static_dir %s has no index.html; the page will "
                    "answer 503",
                    path);
        SCE_LOG(SCE_LOG_INFO, NULL, "static_dir %s: %zu files, %zu bytes", path, st->nfiles,
                st->bytes);
    }
out:
    if (afd >= 0)
        close(afd);
    if (dfd >= 0)
        close(dfd);
    if (rv == SCE_OK) {
        *out = st;
        st = NULL;
    }
    gw_static_free(st);
    return rv;
}

void gw_static_free(gw_static *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; st->files != NULL && i < st->nfiles; i++) {
        free(st->files[i].url);
        free(st->files[i].data);
    }
    free(st->files);
    free(st);
}

const gw_static_file *gw_static_lookup(const gw_static *st, const char *method, const char *url,
                                       gw_answer *a)
{
    const gw_static_file *f;

    if (!st->page_built) {
        gw_answer_error(a, MHD_HTTP_SERVICE_UNAVAILABLE, SCE_ERR_UNAVAILABLE,
                        "the page is not built");
        return NULL;
    }
    if ((f = find(st, url)) == NULL)
        gw_routes_not_found(a, method, url);
    return f;
}
