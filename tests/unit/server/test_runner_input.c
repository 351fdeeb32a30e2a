/*
 * test_runner_input.c - the runner's stdin stream (server/runner_input.c).
 *
 * Each row is a run_spec; the stream runner_input_build produces is taken apart the
 * way a runner does it: the "SCE1 <len>\n" line, exactly <len> bytes of JSON
 * (parsed back with jansson and compared field by field), then the file
 * contents in header order, then the program's stdin, and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "runner_input.h"
#include "sce/err.h"

typedef struct b_file {
    const char *path;
    const char *data;
    size_t len; /* 0 with data != NULL: strlen(data) */
} b_file;

typedef struct b_row {
    const char *name;
    b_file files[5]; /* up to the first NULL path */
    const char *entry;
    const char *args[6]; /* up to the first NULL */
    const char *stdin_data;
    size_t stdin_len; /* 0 with stdin_data != NULL: strlen */
} b_row;

static const b_row b_rows[] = {
    {.name = "one file", .files = {{"main.py", "print(1)\n"}}, .entry = "main.py"},
    {.name = "files, args and stdin",
     .files = {{"main.py", "import pkg.app\n"}, {"pkg/__init__.py", ""}, {"pkg/app.py", "x=1"}},
     .entry = "pkg/app.py",
     .args = {"-v", "two words"},
     .stdin_data = "42\n"},
    {.name = "empty file, empty stdin",
     .files = {{"main.js", ""}},
     .entry = "main.js",
     .args = {""}},
    {.name = "binary contents and stdin",
     .files = {{"data.bin", "\0\x01\xFF\xFE\n\r", 6}, {"main.py", "open('data.bin','rb')"}},
     .entry = "main.py",
     .stdin_data = "\0\0SCE1 3\n{}\xFF",
     .stdin_len = 12},
    {.name = "text that JSON must escape",
     .files = {{"dir/na\xC3\xAFve \"q\".py", "# \xE2\x82\xAC\n"}, {"main.py", "pass"}},
     .entry = "dir/na\xC3\xAFve \"q\".py",
     .args = {"line1\nline2", "tab\there", "\xC3\xA9\xF0\x9F\x98\x80", "\"}]", "back\\slash",
              "\x01\x1f"}},
    {.name = "contents that look like a bundle",
     .files = {{"main.py", "SCE1 2\n{}"}, {"b.txt", "}\n"}},
     .entry = "main.py",
     .args = {"SCE1"},
     .stdin_data = "SCE1 0\n"},
};

static size_t len_of(const char *data, size_t len)
{
    return data == NULL ? 0 : (len ? len : strlen(data));
}

/* Takes the stream apart and checks it against the spec; returns 0 if it
 * matches, else prints why and returns -1. */
static int check_stream(const char *name, const run_spec *spec, const char *buf, size_t len)
{
    size_t pos = 0, hlen = 0, digits = 0;
    json_t *h = NULL, *v;
    json_error_t jerr;
    int rv = -1;

    if (len < 7 || memcmp(buf, "SCE1 ", 5) != 0) {
        print_error("%s: no 'SCE1 ' magic\n", name);
        goto out;
    }
    pos = 5;
    while (pos < len && buf[pos] >= '0' && buf[pos] <= '9') {
        hlen = hlen * 10 + (size_t)(buf[pos] - '0');
        pos++;
        digits++;
    }
    if (digits == 0 || digits > 9 || (digits > 1 && buf[5] == '0') || pos >= len ||
        buf[pos] != '\n') {
        print_error("%s: bad length line\n", name);
        goto out;
    }
    pos++;
    if (hlen > len - pos) {
        print_error("%s: header length %zu past the end\n", name, hlen);
        goto out;
    }
    h = json_loadb(buf + pos, hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (h == NULL) {
        print_error("%s: header is not JSON: %s\n", name, jerr.text);
        goto out;
    }
    pos += hlen;
    if (!json_is_object(h) || json_object_size(h) != 3) {
        print_error("%s: header is not an object of 3 keys\n", name);
        goto out;
    }
    v = json_object_get(h, "entry");
    if (!json_is_string(v) || strcmp(json_string_value(v), spec->entry) != 0) {
        print_error("%s: entry differs\n", name);
        goto out;
    }
    v = json_object_get(h, "args");
    if (!json_is_array(v) || json_array_size(v) != spec->nargs) {
        print_error("%s: args is not an array of %zu\n", name, spec->nargs);
        goto out;
    }
    for (size_t i = 0; i < spec->nargs; i++) {
        json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || json_string_length(a) != strlen(spec->args[i]) ||
            memcmp(json_string_value(a), spec->args[i], strlen(spec->args[i])) != 0) {
            print_error("%s: args[%zu] differs\n", name, i);
            goto out;
        }
    }
    v = json_object_get(h, "files");
    if (!json_is_array(v) || json_array_size(v) != spec->nfiles) {
        print_error("%s: files is not an array of %zu\n", name, spec->nfiles);
        goto out;
    }
    for (size_t i = 0; i < spec->nfiles; i++) {
        json_t *f = json_array_get(v, i);
        json_t *p = json_object_get(f, "path"), *s = json_object_get(f, "size");
        if (!json_is_object(f) || json_object_size(f) != 2 || !json_is_string(p) ||
            strcmp(json_string_value(p), spec->files[i].path) != 0 || !json_is_integer(s) ||
            json_integer_value(s) != (json_int_t)spec->files[i].len) {
            print_error("%s: files[%zu] differs\n", name, i);
            goto out;
        }
    }
    for (size_t i = 0; i < spec->nfiles; i++) {
        size_t n = spec->files[i].len;
        if (n > len - pos || (n > 0 && memcmp(buf + pos, spec->files[i].data, n) != 0)) {
            print_error("%s: contents of files[%zu] differ\n", name, i);
            goto out;
        }
        pos += n;
    }
    if (spec->stdin_len != len - pos ||
        (spec->stdin_len > 0 && memcmp(buf + pos, spec->stdin_data, spec->stdin_len) != 0)) {
        print_error("%s: stdin differs (%zu bytes left, %zu expected)\n", name, len - pos,
                    spec->stdin_len);
        goto out;
    }
    rv = 0;
out:
    json_decref(h);
    return rv;
}

static void test_runner_input_table(void **state)
{
    int failures = 0;

    for (size_t i = 0; i < sizeof(b_rows) / sizeof(b_rows[0]); i++) {
        const b_row *r = &b_rows[i];
        run_file files[5];
        run_spec spec;
        char *out = NULL;
        size_t outlen = 0;

        memset(&spec, 0, sizeof(spec));
        while (spec.nfiles < 5 && r->files[spec.nfiles].path != NULL) {
            const b_file *f = &r->files[spec.nfiles];
            files[spec.nfiles].path = f->path;
            files[spec.nfiles].data = (const uint8_t *)f->data;
            files[spec.nfiles].len = len_of(f->data, f->len);
            spec.nfiles++;
        }
        spec.files = files;
        spec.entry = r->entry;
        while (spec.nargs < 6 && r->args[spec.nargs] != NULL)
            spec.nargs++;
        spec.args = r->args;
        spec.stdin_data = (const uint8_t *)r->stdin_data;
        spec.stdin_len = len_of(r->stdin_data, r->stdin_len);

        if (runner_input_build(&spec, &out, &outlen) != SCE_OK) {
            print_error("%s: runner_input_build failed\n", r->name);
            failures++;
            continue;
        }
        if (check_stream(r->name, &spec, out, outlen) != 0)
            failures++;
        free(out);
    }
    assert_int_equal(failures, 0);
}

/* The header is one compact JSON text in a fixed key order, so the bytes of
 * a simple bundle are known exactly. */
static void test_runner_input_exact_bytes(void **state)
{
    static const char want[] = "SCE1 70\n"
                               "{\"entry\":\"main.py\",\"args\":[\"a\"],"
                               "\"files\":[{\"path\":\"main.py\",\"size\":9}]}"
                               "print(1)\n"
                               "in";
    run_file f = {"main.py", (const uint8_t *)"print(1)\n", 9};
    const char *args[] = {"a"};
    run_spec spec;
    char *out = NULL;
    size_t outlen = 0;

    memset(&spec, 0, sizeof(spec));
    spec.files = &f;
    spec.nfiles = 1;
    spec.entry = "main.py";
    spec.args = args;
    spec.nargs = 1;
    spec.stdin_data = (const uint8_t *)"in";
    spec.stdin_len = 2;
    assert_int_equal(runner_input_build(&spec, &out, &outlen), SCE_OK);
    assert_int_equal(outlen, sizeof(want) - 1);
    assert_memory_equal(out, want, outlen);
    free(out);
}

/* Megabytes of contents and stdin come through intact. */
static void test_runner_input_large(void **state)
{
    size_t sizes[3] = {100000, 1, 300000};
    const size_t in_len = 1 << 20;
    run_file files[3];
    char *data[3];
    char *in = malloc(in_len);
    const char *paths[3] = {"main.py", "a/b", "a/c/d.txt"};
    run_spec spec;
    char *out = NULL;
    size_t outlen = 0;

    assert_non_null(in);
    for (size_t i = 0; i < in_len; i++)
        in[i] = (char)(i * 7);
    for (int i = 0; i < 3; i++) {
        data[i] = malloc(sizes[i]);
        assert_non_null(data[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            data[i][j] = (char)(j + (size_t)i);
        files[i].path = paths[i];
        files[i].data = (const uint8_t *)data[i];
        files[i].len = sizes[i];
    }
    memset(&spec, 0, sizeof(spec));
    spec.files = files;
    spec.nfiles = 3;
    spec.entry = "main.py";
    spec.stdin_data = (const uint8_t *)in;
    spec.stdin_len = in_len;
    assert_int_equal(runner_input_build(&spec, &out, &outlen), SCE_OK);
    assert_int_equal(check_stream("large", &spec, out, outlen), 0);
    free(out);
    for (int i = 0; i < 3; i++)
        free(data[i]);
    free(in);
}

/* A spec that cannot be put into JSON fails, and *out is left untouched
 * (ownership moves only on success). */
static void test_runner_input_unencodable(void **state)
{
    run_file f = {"main.py", (const uint8_t *)"1", 1};
    const char *bad_args[] = {"ok", "\xFF"};
    run_file bad_path = {"\xC3", (const uint8_t *)"1", 1};
    run_spec spec;
    char *out = (char *)0x1;
    size_t outlen = 77;

    memset(&spec, 0, sizeof(spec));
    spec.files = &f;
    spec.nfiles = 1;
    spec.entry = "main.py";
    spec.args = bad_args;
    spec.nargs = 2;
    assert_int_not_equal(runner_input_build(&spec, &out, &outlen), SCE_OK);
    assert_ptr_equal(out, (char *)0x1);
    assert_int_equal(outlen, 77);

    spec.nargs = 0;
    spec.files = &bad_path;
    spec.entry = "\xC3";
    assert_int_not_equal(runner_input_build(&spec, &out, &outlen), SCE_OK);
    assert_ptr_equal(out, (char *)0x1);

    spec.files = &f;
    spec.entry = NULL;
    assert_int_not_equal(runner_input_build(&spec, &out, &outlen), SCE_OK);
    assert_ptr_equal(out, (char *)0x1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_input_table),
        cmocka_unit_test(test_runner_input_exact_bytes),
        cmocka_unit_test(test_runner_input_large),
        cmocka_unit_test(test_runner_input_unencodable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
