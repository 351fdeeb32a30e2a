/*
 * bundle.c - a project's files from a ZIP archive (libarchive) or from a
 * directory, checked the way the server checks a bundle, before anything is
 * sent (see sce/client.h).
 *
 * ZIP.  Only the zip format is enabled, and only its seekable reader: the
 * central directory is the authority for names and file types (the
 * streaming reader cannot see a symlink's mode), and the archive is in
 * memory anyway.  libarchive itself turns backslashes in names into '/'
 * (so "..\\x" is caught as a '..' segment) and reports a FIFO entry as a
 * regular file (harmless: it becomes an ordinary file of the bundle).
 * Sizes in headers are never trusted: every byte that comes out of
 * archive_read_data is counted, and reading stops as soon as the budget is
 * passed, so a small archive that inflates to gigabytes costs at most the
 * budget plus one read.
 *
 * Directories.  Walked with openat/fstatat relative to an open descriptor
 * and never through a symbolic link (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW), and
 * each file is checked again with fstat after it is opened, so a file
 * swapped for a link while we walk is not followed either.
 *
 * What it does not do: run anything, write anything to disk, or know the
 * server's actual options (the caps are its defaults).
 */
#include "sce/client.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "common/seterr.h"
#include "common/utf8.h"

#define READ_CHUNK 65536

static void format_size(size_t n, char *out, size_t outlen)
{
    if (n >= ((size_t)1 << 20) && n % ((size_t)1 << 20) == 0)
        snprintf(out, outlen, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(out, outlen, "%zu KiB", n >> 10);
    else
        snprintf(out, outlen, "%zu bytes", n);
}

static void limits_resolve(const sce_bundle_limits *in, sce_bundle_limits *out)
{
    out->max_files = in != NULL && in->max_files > 0 ? in->max_files : SCE_BUNDLE_MAX_FILES;
    out->max_bytes = in != NULL && in->max_bytes > 0 ? in->max_bytes : SCE_BUNDLE_MAX_BYTES;
    out->max_archive_bytes =
        in != NULL && in->max_archive_bytes > 0 ? in->max_archive_bytes : SCE_ZIP_MAX_BYTES;
}

/* ------------------------------------------------------------ the bundle */

void sce_bundle_free(sce_bundle *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->count; i++) {
        free((char *)b->files[i].path);
        free((void *)b->files[i].data);
    }
    free(b->files);
    free(b);
}

/* A bundle being filled: room for max_files entries from the start. */
static int bundle_new(const char *kind, size_t max_files, sce_bundle **out)
{
    sce_bundle *b = calloc(1, sizeof(*b));

    if (b == NULL || (b->files = calloc(max_files, sizeof(*b->files))) == NULL) {
        free(b);
        return SCE_ERR_NO_MEMORY;
    }
    b->kind = kind;
    *out = b;
    return SCE_OK;
}

/* Checks that `path` neither repeats a file nor is a file's directory (or
 * the reverse): "a" and "a/b" cannot both be files. */
static int bundle_check_name(const sce_bundle *b, const char *path, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < b->count; i++) {
        const char *p = b->files[i].path;
        int clash = sce_path_clash(p, path);

        if (clash == SCE_PATH_SAME) {
            sce_seterr(errbuf, errlen, "%s: duplicate entry '%s'", b->kind,
                       sce_utf8_quote(path).text);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        if (clash == SCE_PATH_NESTED) {
            sce_seterr(errbuf, errlen, "%s: '%s' is both a file and a directory", b->kind,
                       sce_utf8_quote(strlen(p) < strlen(path) ? p : path).text);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    return SCE_OK;
}

/* Takes `path` and `data` (malloc'd) into the bundle. */
static void bundle_take(sce_bundle *b, char *path, char *data, size_t len)
{
    b->files[b->count].path = path;
    b->files[b->count].data = data;
    b->files[b->count].len = len;
    b->count++;
    b->total_bytes += len;
}

static const char *kind_of_mode(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFLNK:
        return "a symbolic link";
    case S_IFCHR:
    case S_IFBLK:
        return "a device";
    case S_IFIFO:
        return "a FIFO";
    case S_IFSOCK:
        return "a socket";
    default:
        return "not a regular file";
    }
}

static void over_budget(const char *kind, size_t max_bytes, char *errbuf, size_t errlen)
{
    char lim[32];

    format_size(max_bytes, lim, sizeof(lim));
    sce_seterr(errbuf, errlen, "%s: more than %s %s", kind, lim,
               strcmp(kind, "zip") == 0 ? "uncompressed" : "of files");
}

/* ------------------------------------------------------------ ZIP */

/* Reads the current entry's data, counting what actually comes out against
 * the budget left.  On SCE_OK *data (malloc'd, NUL-terminated) and *len. */
static int zip_read_data(struct archive *a, const char *path, size_t budget, size_t max_bytes,
                         char **data, size_t *len, char *errbuf, size_t errlen)
{
    size_t n = 0, cap = 0;
    char *buf = NULL;
    int rv = SCE_OK;

    for (;;) {
        la_ssize_t got;

        /* Full: grow, but never past budget + 1 bytes (one byte more than
         * the budget is enough to know it was passed, and is caught below
         * before the buffer could fill again). */
        if (n == cap) {
            size_t want = cap == 0 ? READ_CHUNK : cap * 2;
            char *b;

            if (want > budget + 1)
                want = budget + 1;
            if ((b = realloc(buf, want + 1)) == NULL) {
                sce_seterr(errbuf, errlen, "out of memory");
                rv = SCE_ERR_NO_MEMORY;
                goto out;
            }
            buf = b;
            cap = want;
        }
        got = archive_read_data(a, buf + n, cap - n);
        if (got < 0) {
            const char *why = archive_error_string(a);

            sce_seterr(errbuf, errlen, "zip: cannot read '%s': %s", sce_utf8_quote(path).text,
                       sce_utf8_quote(why ? why : "damaged data").text);
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > budget) {
            over_budget("zip", max_bytes, errbuf, errlen);
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) {
        sce_seterr(errbuf, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    return rv;
}

int sce_bundle_from_zip(const void *zip, size_t len, const sce_bundle_limits *lim, sce_bundle **out,
                        char *errbuf, size_t errlen)
{
    sce_bundle_limits L;
    struct archive *a = NULL;
    struct archive_entry *e;
    sce_bundle *b = NULL;
    size_t dirs = 0;
    char a1[32], a2[32];
    int rv;

    sce_seterr(errbuf, errlen, "%s", "");
    if (out == NULL || (zip == NULL && len > 0)) {
        sce_seterr(errbuf, errlen, "%s is NULL", out == NULL ? "out" : "zip");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    limits_resolve(lim, &L);
    if (len > L.max_archive_bytes) {
        format_size(len, a1, sizeof(a1));
        format_size(L.max_archive_bytes, a2, sizeof(a2));
        sce_seterr(errbuf, errlen, "zip: the archive is %s; the limit is %s", a1, a2);
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if (len == 0) {
        sce_seterr(errbuf, errlen, "zip: not a ZIP archive (the file is empty)");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    if ((rv = bundle_new("zip", L.max_files, &b)) != SCE_OK) {
        sce_seterr(errbuf, errlen, "out of memory");
        return rv;
    }
    if ((a = archive_read_new()) == NULL) {
        sce_seterr(errbuf, errlen, "out of memory");
        rv = SCE_ERR_NO_MEMORY;
        goto out;
    }
    archive_read_support_format_zip_seekable(a);
    if (archive_read_open_memory(a, zip, len) != ARCHIVE_OK) {
        /* libarchive does not take an archive of nothing but its end record
         * (what zip writes for no files) for a ZIP. */
        if (len >= 4 && memcmp(zip, "PK\5\6", 4) == 0)
            sce_seterr(errbuf, errlen, "zip: the archive has no files");
        else
            sce_seterr(errbuf, errlen, "zip: not a ZIP archive");
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    rv = SCE_ERR_INVALID_ARGUMENT;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        const char *name;
        char *path = NULL, *data = NULL;
        const char *why;
        size_t n, dlen = 0;
        unsigned type;

        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char *m = archive_error_string(a);

            sce_seterr(errbuf, errlen, "zip: damaged archive: %s",
                       sce_utf8_quote(m ? m : "unreadable entry").text);
            goto out;
        }
        name = archive_entry_pathname_utf8(e);
        if (name == NULL) {
            sce_seterr(errbuf, errlen, "zip: an entry's name is not valid UTF-8");
            goto out;
        }
        type = (unsigned)archive_entry_filetype(e);
        n = strlen(name);
        /* A directory entry is "name/": checked like any path, then
         * skipped (the files in it create it). */
        if (type == AE_IFDIR) {
            char *d = strndup(name, n > 0 && name[n - 1] == '/' ? n - 1 : n);

            if (d == NULL) {
                sce_seterr(errbuf, errlen, "out of memory");
                rv = SCE_ERR_NO_MEMORY;
                goto out;
            }
            why = sce_path_problem(d);
            if (why != NULL)
                sce_seterr(errbuf, errlen, "zip: entry '%s' %s", sce_utf8_quote(name).text, why);
            free(d);
            if (why != NULL)
                goto out;
            if (++dirs > L.max_files) {
                sce_seterr(errbuf, errlen, "zip: more than %zu directory entries", L.max_files);
                goto out;
            }
            continue;
        }
        if ((why = sce_path_problem(name)) != NULL) {
            sce_seterr(errbuf, errlen, "zip: entry '%s' %s", sce_utf8_quote(name).text, why);
            goto out;
        }
        if (archive_entry_hardlink(e) != NULL) {
            sce_seterr(errbuf, errlen, "zip: '%s' is a hard link", sce_utf8_quote(name).text);
            goto out;
        }
        if (type != AE_IFREG) {
            sce_seterr(errbuf, errlen, "zip: '%s' is %s", sce_utf8_quote(name).text,
                       kind_of_mode(type));
            goto out;
        }
        if (b->count >= L.max_files) {
            sce_seterr(errbuf, errlen, "zip: more than %zu entries", L.max_files);
            goto out;
        }
        if ((rv = bundle_check_name(b, name, errbuf, errlen)) != SCE_OK)
            goto out;
        rv = zip_read_data(a, name, L.max_bytes - b->total_bytes, L.max_bytes, &data, &dlen, errbuf,
                           errlen);
        if (rv != SCE_OK)
            goto out;
        if ((path = strdup(name)) == NULL) {
            free(data);
            sce_seterr(errbuf, errlen, "out of memory");
            rv = SCE_ERR_NO_MEMORY;
            goto out;
        }
        bundle_take(b, path, data, dlen);
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
    if (b->count == 0) {
        sce_seterr(errbuf, errlen, "zip: the archive has no files");
        goto out;
    }
    *out = b;
    b = NULL;
    rv = SCE_OK;
out:
    if (a != NULL)
        archive_read_free(a);
    sce_bundle_free(b);
    return rv;
}

/* ------------------------------------------------------------ directories */

typedef struct dir_walk {
    sce_bundle *b;
    sce_bundle_limits lim;
    char *errbuf;
    size_t errlen;
} dir_walk;

static int skipped_name(const char *name)
{
    return name[0] == '.' || strcmp(name, "__pycache__") == 0 || strcmp(name, "node_modules") == 0;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in directory fd, sorted, without the skipped ones. */
static int list_dir(int fd, char ***names_out, size_t *n_out)
{
    int dup_fd = dup(fd);
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rv = 0;

    if (dup_fd < 0)
        return errno;
    if ((d = fdopendir(dup_fd)) == NULL) {
        rv = errno;
        close(dup_fd);
        return rv;
    }
    while ((errno = 0, de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            skipped_name(de->d_name))
            continue;
        if (n == cap) {
            size_t want = cap ? cap * 2 : 16;
            char **nn = realloc(names, want * sizeof(*names));

            if (nn == NULL) {
                rv = ENOMEM;
                break;
            }
            names = nn;
            cap = want;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            rv = ENOMEM;
            break;
        }
        n++;
    }
    if (rv == 0 && errno != 0)
        rv = errno;
    closedir(d);
    if (rv != 0) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rv;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_names);
    *names_out = names;
    *n_out = n;
    return 0;
}

static int sys_error(dir_walk *w, const char *path, int e)
{
    if (e == ENOMEM) {
        sce_seterr(w->errbuf, w->errlen, "out of memory");
        return SCE_ERR_NO_MEMORY;
    }
    sce_seterr(w->errbuf, w->errlen, "dir: cannot read '%s': %s", sce_utf8_quote(path).text,
               strerror(e));
    return SCE_ERR_NOT_FOUND;
}

/* Reads the regular file `name` in directory fd; `path` is its bundle path. */
static int dir_read_file(dir_walk *w, int dirfd, const char *name, const char *path)
{
    size_t budget = w->lim.max_bytes - w->b->total_bytes;
    size_t n = 0, cap = 0;
    char *buf = NULL, *p = NULL;
    struct stat st;
    int fd, rv = SCE_OK;

    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP) {
            sce_seterr(w->errbuf, w->errlen, "dir: '%s' is a symbolic link",
                       sce_utf8_quote(path).text);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        return sys_error(w, path, errno);
    }
    if (fstat(fd, &st) != 0) {
        rv = sys_error(w, path, errno);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        sce_seterr(w->errbuf, w->errlen, "dir: '%s' is %s", sce_utf8_quote(path).text,
                   kind_of_mode((unsigned)st.st_mode));
        rv = SCE_ERR_INVALID_ARGUMENT;
        goto out;
    }
    for (;;) {
        ssize_t got;

        if (n == cap) { /* as in zip_read_data */
            size_t want = cap == 0 ? READ_CHUNK : cap * 2;
            char *b;

            if (want > budget + 1)
                want = budget + 1;
            if ((b = realloc(buf, want + 1)) == NULL) {
                rv = sys_error(w, path, ENOMEM);
                goto out;
            }
            buf = b;
            cap = want;
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rv = sys_error(w, path, errno);
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > budget) {
            over_budget("dir", w->lim.max_bytes, w->errbuf, w->errlen);
            rv = SCE_ERR_INVALID_ARGUMENT;
            goto out;
        }
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) {
        rv = sys_error(w, path, ENOMEM);
        goto out;
    }
    buf[n] = '\0';
    if ((p = strdup(path)) == NULL) {
        rv = sys_error(w, path, ENOMEM);
        goto out;
    }
    bundle_take(w->b, p, buf, n);
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rv;
}

static int dir_walk_at(dir_walk *w, int fd, const char *prefix)
{
    char **names = NULL;
    size_t n = 0;
    int rv = SCE_OK, e;

    if ((e = list_dir(fd, &names, &n)) != 0)
        return sys_error(w, prefix[0] ? prefix : ".", e);
    for (size_t i = 0; i < n && rv == SCE_OK; i++) {
        /* One byte more than a path may have: a longer one is cut there,
         * and sce_path_problem calls it too long. */
        char path[SCE_PATH_MAX_BYTES + 2];
        const char *why;
        struct stat st;

        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "/" : "", names[i]);
        if ((why = sce_path_problem(path)) != NULL) {
            sce_seterr(w->errbuf, w->errlen, "dir: entry '%s' %s", sce_utf8_quote(path).text, why);
            rv = SCE_ERR_INVALID_ARGUMENT;
            break;
        }
        if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rv = sys_error(w, path, errno);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub < 0) {
                rv = sys_error(w, path, errno);
                break;
            }
            rv = dir_walk_at(w, sub, path);
            close(sub);
        } else if (S_ISREG(st.st_mode)) {
            if (w->b->count >= w->lim.max_files) {
                sce_seterr(w->errbuf, w->errlen, "dir: more than %zu files", w->lim.max_files);
                rv = SCE_ERR_INVALID_ARGUMENT;
                break;
            }
            rv = dir_read_file(w, fd, names[i], path);
        } else {
            sce_seterr(w->errbuf, w->errlen, "dir: '%s' is %s", sce_utf8_quote(path).text,
                       kind_of_mode((unsigned)st.st_mode));
            rv = SCE_ERR_INVALID_ARGUMENT;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rv;
}

int sce_bundle_from_dir(const char *dir, const sce_bundle_limits *lim, sce_bundle **out,
                        char *errbuf, size_t errlen)
{
    dir_walk w;
    int fd, rv;

    sce_seterr(errbuf, errlen, "%s", "");
    if (dir == NULL || out == NULL) {
        sce_seterr(errbuf, errlen, "%s is NULL", dir == NULL ? "dir" : "out");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    memset(&w, 0, sizeof(w));
    limits_resolve(lim, &w.lim);
    w.errbuf = errbuf;
    w.errlen = errlen;
    /* The directory named by the caller may itself be a link: that one is
     * the caller's choice.  Nothing below it is followed. */
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        sce_seterr(errbuf, errlen, "dir: cannot open %s: %s", sce_utf8_quote(dir).text,
                   strerror(errno));
        return errno == ENOMEM ? SCE_ERR_NO_MEMORY : SCE_ERR_NOT_FOUND;
    }
    if ((rv = bundle_new("dir", w.lim.max_files, &w.b)) != SCE_OK) {
        sce_seterr(errbuf, errlen, "out of memory");
        goto out;
    }
    rv = dir_walk_at(&w, fd, "");
    if (rv == SCE_OK && w.b->count == 0) {
        sce_seterr(errbuf, errlen, "dir: no files in %s", sce_utf8_quote(dir).text);
        rv = SCE_ERR_INVALID_ARGUMENT;
    }
    if (rv == SCE_OK) {
        *out = w.b;
        w.b = NULL;
    }
out:
    sce_bundle_free(w.b);
    close(fd);
    return rv;
}

/* ------------------------------------------------------------ the entry */

const char *sce_language_of_path(const char *path)
{
    const char *dot = path != NULL ? strrchr(path, '.') : NULL;

    if (dot == NULL || strchr(dot, '/') != NULL)
        return NULL;
    if (strcasecmp(dot, ".py") == 0)
        return "python";
    if (strcasecmp(dot, ".js") == 0 || strcasecmp(dot, ".cjs") == 0 || strcasecmp(dot, ".mjs") == 0)
        return "node";
    return NULL;
}

static const char *bundle_find(const sce_bundle *b, const char *path)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->files[i].path, path) == 0)
            return b->files[i].path;
    return NULL;
}

int sce_bundle_pick_entry(const sce_bundle *b, const char *language, const char *entry,
                          const char **entry_out, const char **language_out, char *errbuf,
                          size_t errlen)
{
    const char *where, *found = NULL, *lang = language;

    sce_seterr(errbuf, errlen, "%s", "");
    if (b == NULL || entry_out == NULL || language_out == NULL) {
        sce_seterr(errbuf, errlen, "%s is NULL", b == NULL ? "the bundle" : "an output");
        return SCE_ERR_INVALID_ARGUMENT;
    }
    where = strcmp(b->kind != NULL ? b->kind : "", "zip") == 0 ? "the archive" : "the directory";
    if (entry != NULL && entry[0] != '\0') {
        found = bundle_find(b, entry);
        if (found == NULL) {
            sce_seterr(errbuf, errlen, "%s: '%s' is not in %s", b->kind, sce_utf8_quote(entry).text,
                       where);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    } else if (lang != NULL && lang[0] != '\0') {
        const char *def = strcmp(lang, "node") == 0 ? "main.js" : "main.py";

        if ((found = bundle_find(b, def)) == NULL) {
            sce_seterr(errbuf, errlen, "%s: '%s' is not in %s; name the entry file", b->kind, def,
                       where);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    } else {
        const char *py = bundle_find(b, "main.py"), *js = bundle_find(b, "main.js");

        if (py != NULL && js != NULL) {
            sce_seterr(errbuf, errlen,
                       "%s: both main.py and main.js are in %s; name the entry file", b->kind,
                       where);
            return SCE_ERR_INVALID_ARGUMENT;
        }
        found = py != NULL ? py : js;
        if (found == NULL) {
            sce_seterr(errbuf, errlen,
                       "%s: 'main.py' is not in %s (nor main.js); name the entry file", b->kind,
                       where);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    if (lang == NULL || lang[0] == '\0') {
        lang = sce_language_of_path(found);
        if (lang == NULL) {
            sce_seterr(errbuf, errlen, "cannot tell the language of '%s': name it (python or node)",
                       sce_utf8_quote(found).text);
            return SCE_ERR_INVALID_ARGUMENT;
        }
    }
    *entry_out = found;
    *language_out = lang;
    return SCE_OK;
}
