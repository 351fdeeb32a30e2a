/*
 * test_zip.c - libsce's project intake (client/bundle.c): ZIP archives and
 * directories, good ones and hostile ones.
 *
 * Every archive is built here, in memory, with libarchive's own zip writer;
 * what the writer refuses to produce (devices, FIFOs, headers that lie
 * about sizes) is made by patching the bytes it wrote.  The directory cases
 * build their trees under a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sce/client.h"

/* ------------------------------------------------------------ building ZIPs */

typedef struct zentry {
    const char *name;
    const void *data; /* NULL: len zero bytes */
    size_t len;
    unsigned type;    /* 0: AE_IFREG */
    const char *link; /* symlink target, or hard link target for AE_IFREG */
} zentry;

typedef struct zipbuf {
    unsigned char *data;
    size_t len;
} zipbuf;

#define ZIP_ROOM ((size_t)8 << 20)

static zipbuf make_zip_ex(const zentry *e, size_t n, int deflate)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    zipbuf z = {malloc(ZIP_ROOM), 0};

    assert_non_null(a);
    assert_non_null(ae);
    assert_non_null(z.data);
    assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
    if (deflate)
        assert_int_equal(archive_write_zip_set_compression_deflate(a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_zip_set_compression_store(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(a, z.data, ZIP_ROOM, &z.len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        unsigned type = e[i].type ? e[i].type : AE_IFREG;
        void *zeros = NULL;
        const void *data = e[i].data;

        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, type == AE_IFDIR ? 0755 : 0644);
        if (type == AE_IFLNK) {
            archive_entry_set_symlink(ae, e[i].link);
            archive_entry_set_size(ae, 0);
        } else if (type == AE_IFREG) {
            if (e[i].link != NULL)
                archive_entry_set_hardlink(ae, e[i].link);
            archive_entry_set_size(ae, (la_int64_t)e[i].len);
        }
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (type == AE_IFREG && e[i].len > 0) {
            if (data == NULL)
                data = zeros = calloc(1, e[i].len);
            assert_int_equal(archive_write_data(a, data, e[i].len), (la_ssize_t)e[i].len);
            free(zeros);
        }
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    archive_entry_free(ae);
    return z;
}

static zipbuf make_zip(const zentry *e, size_t n)
{
    return make_zip_ex(e, n, 1);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* The central directory header of entry `name` (signature PK\1\2; the name
 * starts at +46, its length is at +28). */
static unsigned char *central_header(zipbuf *z, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + 46 + n <= z->len; i++) {
        unsigned char *p = z->data + i;

        if (memcmp(p, "PK\1\2", 4) == 0 && (p[28] | p[29] << 8) == (int)n &&
            memcmp(p + 46, name, n) == 0)
            return p;
    }
    fail_msg("no central directory header for '%s'", name);
    return NULL;
}

/* The local header of entry `name` (PK\3\4; the name starts at +30). */
static unsigned char *local_header(zipbuf *z, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + 30 + n <= z->len; i++) {
        unsigned char *p = z->data + i;

        if (memcmp(p, "PK\3\4", 4) == 0 && (p[26] | p[27] << 8) == (int)n &&
            memcmp(p + 30, name, n) == 0)
            return p;
    }
    fail_msg("no local header for '%s'", name);
    return NULL;
}

/* Gives entry `name` another Unix file type: the high 16 bits of the
 * external attributes (at +38 of its central header), made by Unix. */
static void patch_mode(zipbuf *z, const char *name, uint32_t mode)
{
    unsigned char *c = central_header(z, name);

    c[5] = 3; /* version made by: Unix */
    put32(c + 38, mode << 16);
}

/* Runs sce_bundle_from_zip and checks the outcome. */
static void expect_zip_error(zipbuf z, int code, const char *message)
{
    sce_bundle *b = NULL;
    char err[512];

    assert_int_equal(sce_bundle_from_zip(z.data, z.len, NULL, &b, err, sizeof(err)), code);
    assert_null(b);
    assert_string_equal(err, message);
    free(z.data);
}

static sce_bundle *zip_ok(zipbuf z)
{
    sce_bundle *b = NULL;
    char err[512];
    int rv = sce_bundle_from_zip(z.data, z.len, NULL, &b, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("sce_bundle_from_zip: %s: %s", sce_err_name(rv), err);
    free(z.data);
    return b;
}

static const sce_file *find(const sce_bundle *b, const char *path)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->files[i].path, path) == 0)
            return &b->files[i];
    return NULL;
}

static void assert_file(const sce_bundle *b, const char *path, const char *content)
{
    const sce_file *f = find(b, path);

    if (f == NULL)
        fail_msg("'%s' is not in the bundle", path);
    assert_int_equal(f->len, strlen(content));
    assert_memory_equal(f->data, content, f->len);
}

/* ------------------------------------------------------------ good archives */

static void test_good_python_project(void **state)
{
    static const char main_py[] = "import helper\nfrom pkg import util\nprint(helper.x, util.y)\n";
    zentry e[] = {
        {"main.py", main_py, sizeof(main_py) - 1, 0, NULL},
        {"helper.py", "x = 1\n", 6, 0, NULL},
        {"pkg/", NULL, 0, AE_IFDIR, NULL},
        {"pkg/__init__.py", "", 0, 0, NULL},
        {"pkg/util.py", "y = 2\n", 6, 0, NULL},
    };
    sce_bundle *b = zip_ok(make_zip(e, 5));
    const char *entry, *lang;
    char err[256];

    /* The directory entry is skipped; the files keep the archive's order. */
    assert_int_equal(b->count, 4);
    assert_string_equal(b->kind, "zip");
    assert_string_equal(b->files[0].path, "main.py");
    assert_file(b, "main.py", main_py);
    assert_file(b, "helper.py", "x = 1\n");
    assert_file(b, "pkg/__init__.py", "");
    assert_file(b, "pkg/util.py", "y = 2\n");
    assert_int_equal(b->total_bytes, sizeof(main_py) - 1 + 12);

    assert_int_equal(sce_bundle_pick_entry(b, NULL, NULL, &entry, &lang, err, sizeof(err)), SCE_OK);
    assert_string_equal(entry, "main.py");
    assert_string_equal(lang, "python");
    assert_int_equal(sce_bundle_pick_entry(b, NULL, "pkg/util.py", &entry, &lang, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(entry, "pkg/util.py");
    assert_string_equal(lang, "python");
    sce_bundle_free(b);
}

static void test_good_node_project_stored(void **state)
{
    zentry e[] = {
        {"app/main.js", "require('./lib/util.js')\n", 25, 0, NULL},
        {"app/lib/util.js", "module.exports = 1\n", 19, 0, NULL},
    };
    sce_bundle *b;
    const char *entry, *lang;
    char err[256];

    /* Stored (not deflated) entries read the same. */
    b = zip_ok(make_zip_ex(e, 2, 0));
    assert_int_equal(b->count, 2);
    assert_file(b, "app/lib/util.js", "module.exports = 1\n");
    /* No main.py or main.js at the top: the entry must be named. */
    assert_int_equal(sce_bundle_pick_entry(b, NULL, NULL, &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: 'main.py' is not in the archive (nor main.js); name the "
                             "entry file");
    assert_int_equal(sce_bundle_pick_entry(b, NULL, "app/main.js", &entry, &lang, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(lang, "node");
    /* An explicit language wins over the extension. */
    assert_int_equal(
        sce_bundle_pick_entry(b, "python", "app/main.js", &entry, &lang, err, sizeof(err)), SCE_OK);
    assert_string_equal(lang, "python");
    sce_bundle_free(b);
}

static void test_default_entry_and_language(void **state)
{
    zentry both[] = {{"main.py", "1", 1, 0, NULL}, {"main.js", "1", 1, 0, NULL}};
    zentry js[] = {{"main.js", "1", 1, 0, NULL}, {"x.txt", "", 0, 0, NULL}};
    sce_bundle *b;
    const char *entry, *lang;
    char err[256];

    b = zip_ok(make_zip(both, 2));
    assert_int_equal(sce_bundle_pick_entry(b, NULL, NULL, &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: both main.py and main.js are in the archive; name the entry "
                             "file");
    assert_int_equal(sce_bundle_pick_entry(b, "node", NULL, &entry, &lang, err, sizeof(err)),
                     SCE_OK);
    assert_string_equal(entry, "main.js");
    assert_string_equal(lang, "node");
    sce_bundle_free(b);

    b = zip_ok(make_zip(js, 2));
    assert_int_equal(sce_bundle_pick_entry(b, NULL, NULL, &entry, &lang, err, sizeof(err)), SCE_OK);
    assert_string_equal(entry, "main.js");
    assert_string_equal(lang, "node");
    assert_int_equal(sce_bundle_pick_entry(b, "python", NULL, &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: 'main.py' is not in the archive; name the entry file");
    assert_int_equal(sce_bundle_pick_entry(b, NULL, "x.txt", &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "cannot tell the language of 'x.txt': name it (python or node)");
    sce_bundle_free(b);
}

static void test_entry_not_in_archive(void **state)
{
    zentry e[] = {{"app.py", "print(1)\n", 9, 0, NULL}};
    sce_bundle *b = zip_ok(make_zip(e, 1));
    const char *entry = NULL, *lang = NULL;
    char err[256];

    assert_int_equal(sce_bundle_pick_entry(b, "python", "main.py", &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: 'main.py' is not in the archive");
    assert_null(entry);
    assert_null(lang);
    sce_bundle_free(b);
}

static void test_exactly_the_caps(void **state)
{
    zentry *e = calloc(200, sizeof(*e));
    char(*names)[16] = calloc(200, sizeof(*names));
    sce_bundle *b;

    /* 200 files of 5242 bytes: 1048400 bytes, just under 1 MiB. */
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof(names[i]), "f%03d.py", i);
        e[i].name = names[i];
        e[i].len = 5242;
    }
    b = zip_ok(make_zip(e, 200));
    assert_int_equal(b->count, 200);
    assert_int_equal(b->total_bytes, 200 * 5242);
    sce_bundle_free(b);
    free(e);
    free(names);
}

/* ------------------------------------------------------------ hostile archives */

static void test_absolute_path(void **state)
{
    zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"/etc/passwd", "x", 1, 0, NULL}};

    expect_zip_error(make_zip(e, 2), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry '/etc/passwd' is absolute");
}

static void test_dotdot(void **state)
{
    zentry e[] = {{"a/../../etc/x", "x", 1, 0, NULL}};
    zentry d[] = {{"../up/", NULL, 0, AE_IFDIR, NULL}, {"main.py", "1", 1, 0, NULL}};
    zentry dot[] = {{"./main.py", "1", 1, 0, NULL}};

    expect_zip_error(make_zip(e, 1), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry 'a/../../etc/x' has a '..' segment");
    /* Directory entries are checked too, though they create nothing. */
    expect_zip_error(make_zip(d, 2), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry '../up/' has a '..' segment");
    expect_zip_error(make_zip(dot, 1), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry './main.py' has a '.' segment");
}

static void test_bad_names(void **state)
{
    char longname[300];
    zentry e[1] = {{NULL, "x", 1, 0, NULL}};

    /* libarchive reads a backslash as '/' (DOS paths), so a backslash never
     * reaches the check, and "..\\x" is a '..' segment. */
    e[0].name = "..\\x.py";
    expect_zip_error(make_zip(e, 1), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry '../x.py' has a '..' segment");
    e[0].name = "a\\b.py";
    {
        sce_bundle *b = zip_ok(make_zip(e, 1));

        assert_string_equal(b->files[0].path, "a/b.py");
        sce_bundle_free(b);
    }
    e[0].name = "a//b.py";
    expect_zip_error(make_zip(e, 1), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry 'a//b.py' has an empty segment");
    e[0].name = "bell\a.py";
    expect_zip_error(make_zip(e, 1), SCE_ERR_INVALID_ARGUMENT,
                     "zip: entry 'bell .py' contains a control character");
    memset(longname, 'a', 256);
    longname[256] = '\0';
    e[0].name = longname;
    {
        zipbuf z = make_zip(e, 1);
        sce_bundle *b = NULL;
        char err[512];

        assert_int_equal(sce_bundle_from_zip(z.data, z.len, NULL, &b, err, sizeof(err)),
                         SCE_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(err, "is longer than 255 bytes"));
        /* The name is quoted shortened: the message stays one short line. */
        assert_true(strlen(err) < 140);
        free(z.data);
    }
}

static void test_symlink(void **state)
{
    zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"link", NULL, 0, AE_IFLNK, "/etc/passwd"}};

    expect_zip_error(make_zip(e, 2), SCE_ERR_INVALID_ARGUMENT, "zip: 'link' is a symbolic link");
}

static void test_hard_link(void **state)
{
    zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"hard", NULL, 0, 0, "main.py"}};
    sce_bundle *b;

    /* ZIP has no hard links: libarchive's writer stores the entry as an
     * empty regular file, and its reader never reports one.  So the worst a
     * "hard link" in a ZIP can be is an empty file of that name, which links
     * to nothing (bundle.c still refuses any entry libarchive calls a hard
     * link, should a future reader report one). */
    b = zip_ok(make_zip(e, 2));
    assert_int_equal(b->count, 2);
    assert_file(b, "hard", "");
    assert_file(b, "main.py", "1");
    sce_bundle_free(b);
}

static void test_device_fifo_socket(void **state)
{
    static const struct {
        uint32_t mode;
        const char *message;
    } cases[] = {
        {0020644, "zip: 'node' is a device"},
        {0060644, "zip: 'node' is a device"},
        {0140644, "zip: 'node' is a socket"},
    };
    zentry fifo[] = {{"main.py", "1", 1, 0, NULL}, {"node", "x", 1, 0, NULL}};
    zipbuf zf = make_zip(fifo, 2);
    sce_bundle *b;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"node", "x", 1, 0, NULL}};
        zipbuf z = make_zip(e, 2);

        patch_mode(&z, "node", cases[i].mode);
        expect_zip_error(z, SCE_ERR_INVALID_ARGUMENT, cases[i].message);
    }
    /* libarchive's zip reader reports a FIFO entry as a regular file: it
     * becomes an ordinary file with the entry's bytes, never a FIFO. */
    patch_mode(&zf, "node", 0010644);
    b = zip_ok(zf);
    assert_file(b, "node", "x");
    sce_bundle_free(b);
}

static void test_duplicates(void **state)
{
    zentry dup[] = {
        {"a.py", "1", 1, 0, NULL}, {"b.py", "2", 1, 0, NULL}, {"a.py", "3", 1, 0, NULL}};
    zentry clash[] = {{"lib", "1", 1, 0, NULL}, {"lib/x.py", "2", 1, 0, NULL}};

    expect_zip_error(make_zip(dup, 3), SCE_ERR_INVALID_ARGUMENT, "zip: duplicate entry 'a.py'");
    expect_zip_error(make_zip(clash, 2), SCE_ERR_INVALID_ARGUMENT,
                     "zip: 'lib' is both a file and a directory");
}

static void test_too_many_entries(void **state)
{
    zentry *e = calloc(201, sizeof(*e));
    char(*names)[16] = calloc(201, sizeof(*names));

    for (int i = 0; i < 201; i++) {
        snprintf(names[i], sizeof(names[i]), "f%03d.py", i);
        e[i].name = names[i];
        e[i].data = "1";
        e[i].len = 1;
    }
    expect_zip_error(make_zip(e, 201), SCE_ERR_INVALID_ARGUMENT, "zip: more than 200 entries");
    free(e);
    free(names);
}

static void test_zip_bomb(void **state)
{
    /* 4 MiB of zeros deflates to a few KiB. */
    zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"bomb.bin", NULL, 4u << 20, 0, NULL}};
    zipbuf z = make_zip(e, 2);

    assert_true(z.len < 16 * 1024);
    expect_zip_error(z, SCE_ERR_INVALID_ARGUMENT, "zip: more than 1 MiB uncompressed");
}

static void test_total_over_cap(void **state)
{
    /* Each file is under the cap; together they pass it. */
    zentry e[] = {
        {"a", NULL, 400000, 0, NULL}, {"b", NULL, 400000, 0, NULL}, {"c", NULL, 400000, 0, NULL}};

    expect_zip_error(make_zip(e, 3), SCE_ERR_INVALID_ARGUMENT, "zip: more than 1 MiB uncompressed");
}

static void test_headers_that_lie(void **state)
{
    /* 2 MiB of zeros whose local and central headers both claim 100 bytes.
     * libarchive believes the headers only at the end of the data (where it
     * would complain about the size); the bytes are counted as they come
     * out, so the cap stops it long before. */
    zentry e[] = {{"main.py", "1", 1, 0, NULL}, {"liar", NULL, 2u << 20, 0, NULL}};
    zipbuf z = make_zip(e, 2);
    unsigned char *c = central_header(&z, "liar"), *l = local_header(&z, "liar");

    assert_int_equal(get32(c + 24), 2u << 20);
    put32(c + 24, 100);
    put32(l + 22, 100);
    expect_zip_error(z, SCE_ERR_INVALID_ARGUMENT, "zip: more than 1 MiB uncompressed");
}

static void test_archive_over_size_cap(void **state)
{
    size_t len = SCE_ZIP_MAX_BYTES + 1;
    unsigned char *junk = calloc(1, len);
    sce_bundle *b = NULL;
    sce_bundle_limits lim = {0, 0, 1000};
    zentry e[] = {{"main.py", NULL, 5000, 0, NULL}};
    zipbuf z;
    char err[256];

    assert_int_equal(sce_bundle_from_zip(junk, len, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: the archive is 2097153 bytes; the limit is 2 MiB");
    free(junk);

    /* Caller-chosen limits. */
    z = make_zip_ex(e, 1, 0);
    assert_true(z.len > 1000);
    assert_int_equal(sce_bundle_from_zip(z.data, z.len, &lim, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "the limit is 1000 bytes"));
    assert_null(b);
    free(z.data);
}

static void test_custom_limits(void **state)
{
    zentry e[] = {{"a", "1", 1, 0, NULL}, {"b", "2", 1, 0, NULL}, {"c", "3", 1, 0, NULL}};
    sce_bundle_limits files2 = {2, 0, 0}, bytes2 = {0, 2, 0};
    zipbuf z = make_zip(e, 3);
    sce_bundle *b = NULL;
    char err[256];

    assert_int_equal(sce_bundle_from_zip(z.data, z.len, &files2, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: more than 2 entries");
    assert_int_equal(sce_bundle_from_zip(z.data, z.len, &bytes2, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: more than 2 bytes uncompressed");
    assert_null(b);
    free(z.data);
}

static void test_not_a_zip(void **state)
{
    static const char text[] = "print('I am not an archive')\n";
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    unsigned char *tar = malloc(1 << 20);
    size_t tar_len = 0;
    sce_bundle *b = NULL;
    char err[256];

    assert_int_equal(sce_bundle_from_zip(text, sizeof(text) - 1, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: not a ZIP archive");
    assert_int_equal(sce_bundle_from_zip("", 0, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: not a ZIP archive (the file is empty)");
    /* Only ZIP is accepted, not every format libarchive knows: a tar. */
    archive_write_set_format_pax_restricted(a);
    archive_write_open_memory(a, tar, 1 << 20, &tar_len);
    archive_entry_set_pathname(ae, "main.py");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, 1);
    archive_write_header(a, ae);
    archive_write_data(a, "1", 1);
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(ae);
    assert_int_equal(sce_bundle_from_zip(tar, tar_len, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: not a ZIP archive");
    assert_null(b);
    free(tar);
}

static void test_empty_and_damaged(void **state)
{
    zentry dir[] = {{"only/", NULL, 0, AE_IFDIR, NULL}};
    zentry e[] = {{"main.py", NULL, 100000, 0, NULL}};
    zipbuf z = make_zip(NULL, 0), d;
    sce_bundle *b = NULL;
    char err[256];

    assert_true(z.len > 0);
    expect_zip_error(z, SCE_ERR_INVALID_ARGUMENT, "zip: the archive has no files");
    expect_zip_error(make_zip(dir, 1), SCE_ERR_INVALID_ARGUMENT, "zip: the archive has no files");

    /* Cut off: without its central directory it is not a ZIP any more. */
    d = make_zip(e, 1);
    assert_int_equal(sce_bundle_from_zip(d.data, d.len / 2, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: not a ZIP archive");
    /* Damaged data: flip bytes in the middle of the deflate stream. */
    for (size_t i = 100; i < 140 && i < d.len; i++)
        d.data[i] ^= 0x5a;
    assert_int_equal(sce_bundle_from_zip(d.data, d.len, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_true(strncmp(err, "zip: ", 5) == 0);
    assert_null(b);
    free(d.data);
}

static void test_bad_arguments(void **state)
{
    sce_bundle *b = NULL;
    char err[64];

    assert_int_equal(sce_bundle_from_zip(NULL, 10, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_bundle_from_zip("x", 1, NULL, NULL, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_bundle_from_dir(NULL, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    /* errbuf may be NULL. */
    assert_int_equal(sce_bundle_from_zip("x", 1, NULL, &b, NULL, 0), SCE_ERR_INVALID_ARGUMENT);
    sce_bundle_free(NULL);
    assert_null(b);
    assert_string_equal(sce_language_of_path("a/b.PY"), "python");
    assert_string_equal(sce_language_of_path("x.mjs"), "node");
    assert_null(sce_language_of_path("a.py/x"));
    assert_null(sce_language_of_path("Makefile"));
}

/* ------------------------------------------------------------ directories */

static char tmpdir[64];

static void put_file(const char *rel, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(content, 1, strlen(content), f);
    fclose(f);
}

static void put_dir(const char *rel)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
}

static int dir_setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sce-test-zip.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int dir_teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_dir_project(void **state)
{
    sce_bundle *b = NULL;
    const char *entry, *lang;
    char err[512];

    put_file("main.py", "import util\n");
    put_file("util.py", "x = 1\n");
    put_dir("pkg");
    put_file("pkg/__init__.py", "");
    put_dir(".git");
    put_file(".git/config", "secret\n");
    put_file(".env", "TOKEN=1\n");
    put_dir("__pycache__");
    put_file("__pycache__/util.cpython-311.pyc", "\x01\x02");
    put_dir("node_modules");
    put_file("node_modules/x.js", "1");
    put_dir("pkg/__pycache__");
    put_file("pkg/__pycache__/y.pyc", "\x01");

    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)), SCE_OK);
    assert_string_equal(b->kind, "dir");
    /* Sorted, the skipped names left out. */
    assert_int_equal(b->count, 3);
    assert_string_equal(b->files[0].path, "main.py");
    assert_string_equal(b->files[1].path, "pkg/__init__.py");
    assert_string_equal(b->files[2].path, "util.py");
    assert_file(b, "util.py", "x = 1\n");
    assert_int_equal(sce_bundle_pick_entry(b, NULL, NULL, &entry, &lang, err, sizeof(err)), SCE_OK);
    assert_string_equal(entry, "main.py");
    assert_string_equal(lang, "python");
    assert_int_equal(sce_bundle_pick_entry(b, NULL, "main.js", &entry, &lang, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: 'main.js' is not in the directory");
    sce_bundle_free(b);
}

static void test_dir_symlink_and_fifo(void **state)
{
    sce_bundle *b = NULL;
    char err[512], path[512];

    put_file("main.py", "1\n");
    snprintf(path, sizeof(path), "%s/passwd", tmpdir);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: 'passwd' is a symbolic link");
    unlink(path);

    /* A link to a directory is not followed either. */
    snprintf(path, sizeof(path), "%s/etc", tmpdir);
    assert_int_equal(symlink("/etc", path), 0);
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: 'etc' is a symbolic link");
    unlink(path);

    snprintf(path, sizeof(path), "%s/pipe", tmpdir);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: 'pipe' is a FIFO");
    unlink(path);
    assert_null(b);
}

static void test_dir_caps(void **state)
{
    sce_bundle *b = NULL;
    sce_bundle_limits lim = {3, 0, 0};
    char err[512], *big = malloc((1 << 20) + 2);

    put_file("a.py", "1");
    put_file("b.py", "2");
    put_file("c.py", "3");
    put_file("d.py", "4");
    assert_int_equal(sce_bundle_from_dir(tmpdir, &lim, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: more than 3 files");

    memset(big, 'x', (1 << 20) - 3);
    big[(1 << 20) - 3] = '\0';
    put_file("e.txt", big); /* 4 + (1 MiB - 3) bytes: one over */
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: more than 1 MiB of files");
    put_file("e.txt", big + 1); /* exactly 1 MiB */
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)), SCE_OK);
    assert_int_equal(b->total_bytes, 1 << 20);
    sce_bundle_free(b);
    free(big);
}

static void test_dir_errors(void **state)
{
    sce_bundle *b = NULL;
    char err[512], path[512];

    assert_int_equal(sce_bundle_from_dir("/nonexistent/sce", NULL, &b, err, sizeof(err)),
                     SCE_ERR_NOT_FOUND);
    assert_string_equal(err, "dir: cannot open /nonexistent/sce: No such file or directory");
    /* Only skipped things: no files. */
    put_dir(".git");
    put_file(".git/HEAD", "x");
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    snprintf(path, sizeof(path), "dir: no files in %s", tmpdir);
    assert_string_equal(err, path);
    /* A name the server would refuse. */
    put_file("back\\slash.py", "1");
    assert_int_equal(sce_bundle_from_dir(tmpdir, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "dir: entry 'back\\slash.py' contains a backslash");
    assert_null(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_python_project),
        cmocka_unit_test(test_good_node_project_stored),
        cmocka_unit_test(test_default_entry_and_language),
        cmocka_unit_test(test_entry_not_in_archive),
        cmocka_unit_test(test_exactly_the_caps),
        cmocka_unit_test(test_absolute_path),
        cmocka_unit_test(test_dotdot),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_hard_link),
        cmocka_unit_test(test_device_fifo_socket),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_too_many_entries),
        cmocka_unit_test(test_zip_bomb),
        cmocka_unit_test(test_total_over_cap),
        cmocka_unit_test(test_headers_that_lie),
        cmocka_unit_test(test_archive_over_size_cap),
        cmocka_unit_test(test_custom_limits),
        cmocka_unit_test(test_not_a_zip),
        cmocka_unit_test(test_empty_and_damaged),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test_setup_teardown(test_dir_project, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_dir_symlink_and_fifo, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_dir_caps, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_dir_errors, dir_setup, dir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
