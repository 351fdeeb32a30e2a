/*
 * fuzz_compat.c - libFuzzer driver for the gateway's Piston and Judge0
 * request/answer mapping (web-gateway/piston_request.c, judge0_submission.c,
 * judge0_result.c): pure code, no I/O.
 *
 * The input is used whole as a JSON body (any JSON value) and as a C string
 * (cut at its first NUL).  Beyond "no sanitizer report", it checks what the
 * headers promise:
 *   Piston  piston_request_parse (execute's stdin and the WebSocket's init):
 *           a refusal is INVALID_ARGUMENT with a message and no request; an
 *           accepted one has sce's language, Piston's runtime name, exactly
 *           one of code and files (the entry one of them), stdin ending in
 *           a newline only with stdin; piston_request_runtime against python
 *           3.11.2 and node 24.21.0 finds that version or says
 *           "<language>-<version> runtime is unknown".
 *   Judge0  j0_submission_parse (base64 0 and 1): a refusal is a non-empty
 *           {"field": ["message", ...]} and leaves *s zeroed; an accepted one
 *           has a language and code or files, limits within /config_info's
 *           maxima and a meta that reads back with the echoes as sent;
 *           j0_submission_field_of names a Judge0 field or "base";
 *           j0_split_args gives words that quote and split back the same;
 *           the token round trip is the identity for 32 hex digits; base64
 *           decodes back what it encodes, in lines of 60; j0_output_matches
 *           agrees with a plain trim-and-compare and is symmetric;
 *           j0_fields_parse gives known names or "invalid fields: [...]";
 *           j0_submission_json (a parsed meta, or the body itself as a meta
 *           from elsewhere, with an outcome made of the input's bytes) holds
 *           every field asked for, a status 1..14, the texts as given (or
 *           their base64), refuses only text that is not UTF-8 and dumps to
 *           JSON that jansson reads back.
 * (Its first runs found four faults, fixed since: a 2^64 run_memory_limit
 * cast, created_at_ms + wall_ms overflowing, "language" of a meta without
 * language_id failing as out of memory, and j0_decide's 160-byte message
 * cut inside a UTF-8 character.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "judge0_result.h"
#include "judge0_submission.h"
#include "piston_request.h"
#include "common/utf8.h"
#include "sce/err.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_compat: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* A server's list: python 3.11.2 and node 24.21.0, both available. */
static sce_language list_items[2] = {
    {.name = "python", .version = "3.11.2", .available = 1},
    {.name = "node", .version = "24.21.0", .available = 1},
};
static const sce_language_list list = {list_items, 2};

/* Dumps o and reads it back; returns the copy read back (the caller
 * decrefs).  o stays the caller's. */
static json_t *round_trip(const json_t *o, const char *what)
{
    json_error_t jerr;
    json_t *back;
    char *text;

    if (o == NULL)
        fail(what, "returned NULL (out of memory?)");
    text = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        fail(what, "json_dumps failed");
    back = json_loads(text, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
    if (back == NULL)
        fail(what, jerr.text);
    if (!json_equal(back, o))
        fail(what, "read back differs");
    free(text);
    return back;
}

/* Valid UTF-8 as jansson judges it (what the answers are written with). */
static int utf8_ok(const char *s, size_t n)
{
    json_t *v;

    if (s == NULL)
        return 1;
    if ((v = json_stringn(s, n)) == NULL)
        return 0;
    json_decref(v);
    return 1;
}

/* ------------------------------------------------------------ Piston */

static void check_piston_request(const piston_request *p, int with_stdin)
{
    const sce_run_request *r = &p->req;

    if (r->language == NULL || (strcmp(r->language, "python") != 0 && strcmp(r->language, "node")))
        fail("piston: accepted without sce's language", r->language);
    if (p->runtime_name == NULL ||
        strcmp(p->runtime_name, strcmp(r->language, "python") == 0 ? "python" : "javascript"))
        fail("piston: runtime name does not match the language", p->runtime_name);
    if (p->language == NULL || p->version == NULL || p->language[0] == '\0' ||
        p->version[0] == '\0')
        fail("piston: accepted without language or version", NULL);
    if ((r->code != NULL) == (r->nfiles != 0))
        fail("piston: not exactly one of code and files", NULL);
    if (r->nfiles == 1)
        fail("piston: a bundle of one file", NULL);
    if (r->nfiles != 0) {
        int found = 0;

        if (r->files == NULL || r->entry == NULL)
            fail("piston: files without an entry", NULL);
        for (size_t i = 0; i < r->nfiles; i++) {
            if (r->files[i].path == NULL || (r->files[i].len != 0 && r->files[i].data == NULL))
                fail("piston: file without path or data", NULL);
            found |= strcmp(r->files[i].path, r->entry) == 0;
        }
        if (!found)
            fail("piston: the entry is none of the files", r->entry);
    }
    for (size_t i = 0; i < r->nargs; i++)
        if (r->args == NULL || r->args[i] == NULL)
            fail("piston: NULL argument", NULL);
    if (with_stdin) {
        if (r->stdin_len == 0 || r->stdin_data == NULL ||
            ((const char *)r->stdin_data)[r->stdin_len - 1] != '\n')
            fail("piston: execute's stdin does not end in a newline", NULL);
    } else if (r->stdin_len != 0) {
        fail("piston: the init message has stdin", NULL);
    }
}

static void check_piston_runtime(piston_request *p)
{
    char err[1024] = "", want[1024];
    int rv = piston_request_runtime(p, &list, err, sizeof(err));

    if (rv == SCE_OK) {
        const char *v = strcmp(p->req.language, "python") == 0 ? "3.11.2" : "24.21.0";

        if (strcmp(p->runtime_version, v) != 0)
            fail("piston: runtime found with another version", p->runtime_version);
        return;
    }
    if (rv != SCE_ERR_INVALID_ARGUMENT)
        fail("piston: runtime refused with an unexpected code", err);
    snprintf(want, sizeof(want), "%s-%s runtime is unknown", p->language, p->version);
    if (strcmp(err, want) != 0)
        fail("piston: runtime refused with another message", err);
}

static void check_piston(const uint8_t *data, size_t size)
{
    for (int with_stdin = 0; with_stdin < 2; with_stdin++) {
        /* A fresh copy each time: the parse names unnamed files in it. */
        json_t *msg = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        piston_request *p = NULL;
        char err[512] = "";
        int rv;

        if (msg == NULL)
            return;
        rv = piston_request_parse(msg, with_stdin, &p, err, sizeof(err));
        if (rv == SCE_OK) {
            if (p == NULL)
                fail("piston: SCE_OK without a request", NULL);
            check_piston_request(p, with_stdin);
            check_piston_runtime(p);
            json_decref(round_trip(p->msg, "piston: the message"));
            piston_request_free(p);
        } else {
            if (rv != SCE_ERR_INVALID_ARGUMENT && rv != SCE_ERR_NO_MEMORY)
                fail("piston: refused with an unexpected code", err);
            if (p != NULL)
                fail("piston: refused with a request", err);
            if (rv == SCE_ERR_INVALID_ARGUMENT && err[0] == '\0')
                fail("piston: refused without a message", NULL);
            json_t *answer = piston_request_error(err);

            json_decref(round_trip(answer, "piston_request_error"));
            json_decref(answer);
        }
        json_decref(msg);
    }
}

/* ------------------------------------------------------------ Judge0: pieces */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A token from the 32 digits id must go back to the same digits. */
static void check_token_of(const char *id)
{
    char token[37], back[33];

    if (!j0_token_from_run_id(id, token, sizeof(token)))
        fail("token: 32 hex digits refused", id);
    if (strlen(token) != 36 || token[8] != '-' || token[13] != '-' || token[18] != '-' ||
        token[23] != '-')
        fail("token: not a UUID", token);
    if (!j0_token_to_run_id(token, back, sizeof(back)))
        fail("token: its own token refused", token);
    for (size_t i = 0; i < 32; i++)
        if (back[i] != lower(id[i]))
            fail("token: the round trip is not the identity", id);
    if (back[32] != '\0')
        fail("token: run id not terminated", back);
}

static void check_tokens(const uint8_t *data, size_t size, const char *cstr)
{
    static const char digits[] = "0123456789abcdefABCDEF";
    char id[33], token[37], run_id[33];
    size_t n = strlen(cstr);

    /* 32 digits of the input's bytes. */
    for (size_t i = 0; i < 32; i++)
        id[i] = digits[(i < size ? data[i] : i) % 22];
    id[32] = '\0';
    check_token_of(id);

    /* The input as a run id and as a token. */
    if (j0_token_from_run_id(cstr, token, sizeof(token))) {
        if (n != 32)
            fail("token: a run id that is not 32 characters accepted", cstr);
        for (size_t i = 0; i < 32; i++)
            if (!is_hex(cstr[i]))
                fail("token: a run id that is not hex accepted", cstr);
        check_token_of(cstr);
    }
    if (j0_token_to_run_id(cstr, run_id, sizeof(run_id))) {
        size_t k = 0;

        if (n != 32 && n != 36)
            fail("token: a token of another length accepted", cstr);
        for (size_t i = 0; i < n; i++) {
            if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
                if (cstr[i] != '-')
                    fail("token: a dash out of place accepted", cstr);
                continue;
            }
            if (!is_hex(cstr[i]) || run_id[k++] != lower(cstr[i]))
                fail("token: run id is not the token's digits", cstr);
        }
        check_token_of(run_id);
    }
}

/* Encoded: lines of 60 characters, each ending "\n", that decode to data. */
static void check_base64_encode(const char *data, size_t len)
{
    char *enc = j0_base64_encode(data, len), *dec = NULL;
    size_t n, declen = 0, line = 0;

    if (enc == NULL)
        fail("j0_base64_encode returned NULL", NULL);
    n = strlen(enc);
    if (len == 0 ? n != 0 : n != (len + 2) / 3 * 4 + ((len + 2) / 3 * 4 + 59) / 60)
        fail("base64: encoded length", enc);
    for (size_t i = 0; i < n; i++) {
        if (enc[i] == '\n') {
            if (line == 0 || line > 60 || (line < 60 && i + 1 != n))
                fail("base64: a line that is not 60 characters before the last", enc);
            line = 0;
        } else {
            line++;
        }
    }
    if (line != 0)
        fail("base64: the last line does not end in a newline", enc);
    if (j0_base64_decode(enc, n, &dec, &declen) != SCE_OK)
        fail("base64: its own encoding does not decode", enc);
    if (declen != len || memcmp(dec, data, len) != 0 || dec[declen] != '\0')
        fail("base64: decoding the encoding is not the identity", enc);
    free(dec);
    free(enc);
}

static void check_base64(const uint8_t *data, size_t size)
{
    char *dec = NULL;
    size_t declen = 0;
    int rv = j0_base64_decode((const char *)data, size, &dec, &declen);

    check_base64_encode((const char *)data, size);
    if (rv == SCE_OK) {
        if (dec == NULL || dec[declen] != '\0' || declen > size)
            fail("base64: decoded copy", NULL);
        check_base64_encode(dec, declen);
        free(dec);
    } else if (rv != SCE_ERR_INVALID_ARGUMENT) {
        fail("base64: refused with an unexpected code", NULL);
    }
}

/* Judge0's comparison done plainly: every line's trailing whitespace and
 * NULs cut, then the text's (so trailing blank lines go). */
static char *trimmed(const char *s, size_t len, size_t *outlen)
{
    char *out = malloc(len + 1);
    size_t o = 0, start = 0;

    if (out == NULL)
        fail("out of memory", NULL);
    while (start <= len) {
        size_t end = start, n;

        while (end < len && s[end] != '\n')
            end++;
        n = end - start;
        while (n > 0 && strchr(" \t\n\v\f\r", s[start + n - 1]) != NULL)
            n--; /* strchr finds the NUL too */
        memcpy(out + o, s + start, n);
        o += n;
        if (end < len)
            out[o++] = '\n';
        start = end + 1;
    }
    while (o > 0 && strchr(" \t\n\v\f\r", out[o - 1]) != NULL)
        o--;
    *outlen = o;
    return out;
}

static void check_output_matches(const uint8_t *data, size_t size)
{
    const char *a = (const char *)data, *b = (const char *)data + size / 2;
    size_t alen = size / 2, blen = size - size / 2, ta, tb;
    char *na = trimmed(a, alen, &ta), *nb = trimmed(b, blen, &tb);
    int m = j0_output_matches(a, alen, b, blen);
    char *padded;

    if (m != j0_output_matches(b, blen, a, alen))
        fail("j0_output_matches is not symmetric", NULL);
    if (m != (ta == tb && memcmp(na, nb, ta) == 0))
        fail("j0_output_matches disagrees with trimming each line and the end", NULL);
    if (!j0_output_matches(a, alen, a, alen) || !j0_output_matches(a, alen, na, ta))
        fail("j0_output_matches: a text does not match itself (or trimmed)", NULL);
    if ((padded = malloc(blen + 4)) == NULL)
        fail("out of memory", NULL);
    memcpy(padded, b, blen);
    memcpy(padded + blen, " \n\0\r", 4);
    if (!j0_output_matches(b, blen, padded, blen + 4))
        fail("j0_output_matches: trailing whitespace counted", NULL);
    free(padded);
    free(na);
    free(nb);
}

/* The words must quote and split back the same. */
static void check_split_args(const char *cstr)
{
    char *buf = NULL, *buf2 = NULL, *line, *o;
    const char **argv = NULL, **argv2 = NULL;
    size_t argc = 0, argc2 = 0, total = 0;

    if (j0_split_args(cstr, &buf, &argv, &argc) != 0) {
        if (strpbrk(cstr, "'\"") == NULL)
            fail("j0_split_args: refused a line without quotes", cstr);
        return;
    }
    for (size_t i = 0; i < argc; i++) {
        if (argv[i] == NULL)
            fail("j0_split_args: NULL word", NULL);
        total += strlen(argv[i]);
    }
    if (strpbrk(cstr, "'\"\\") == NULL) {
        /* Plain words: blanks separate, nothing else. */
        char *copy = strdup(cstr), *save = NULL, *w;
        size_t i = 0;

        if (copy == NULL)
            fail("out of memory", NULL);
        for (w = strtok_r(copy, " \t\n\r", &save); w != NULL; w = strtok_r(NULL, " \t\n\r", &save))
            if (i >= argc || strcmp(argv[i++], w) != 0)
                fail("j0_split_args: plain words split otherwise", cstr);
        if (i != argc)
            fail("j0_split_args: more words than blanks make", cstr);
        free(copy);
    }
    if ((line = malloc(2 * total + 3 * argc + 1)) == NULL)
        fail("out of memory", NULL);
    o = line;
    for (size_t i = 0; i < argc; i++) {
        *o++ = '"';
        for (const char *c = argv[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
        *o++ = ' ';
    }
    *o = '\0';
    if (j0_split_args(line, &buf2, &argv2, &argc2) != 0 || argc2 != argc)
        fail("j0_split_args: the quoted words do not split back", line);
    for (size_t i = 0; i < argc; i++)
        if (strcmp(argv[i], argv2[i]) != 0)
            fail("j0_split_args: a quoted word changed", line);
    free(line);
    free(buf);
    free((void *)argv);
    free(buf2);
    free((void *)argv2);
}

/* A known field's name (j0_fields_parse takes it alone). */
static int known_field(const char *name)
{
    char *bad = NULL;
    json_t *f = j0_fields_parse(name, &bad);
    int ok = f != NULL && json_array_size(f) == 1 &&
             strcmp(json_string_value(json_array_get(f, 0)), name) == 0;

    json_decref(f);
    free(bad);
    return ok;
}

/* The names asked for with ?fields=cstr, or NULL (refused). */
static json_t *check_fields(const char *cstr)
{
    char *bad = NULL;
    json_t *f = j0_fields_parse(cstr, &bad);
    size_t i;
    json_t *v;

    if (f == NULL) {
        size_t n = bad != NULL ? strlen(bad) : 0;

        if (bad == NULL)
            fail("j0_fields_parse: NULL without a message (out of memory?)", cstr);
        if (n < 19 || strncmp(bad, "invalid fields: [", 17) != 0 || bad[n - 1] != ']')
            fail("j0_fields_parse: message", bad);
        free(bad);
        return NULL;
    }
    if (bad != NULL)
        fail("j0_fields_parse: a message with a list", bad);
    if (json_array_size(f) == 0)
        fail("j0_fields_parse: no fields", cstr);
    json_array_foreach(f, i, v)
    {
        const char *name = json_string_value(v);

        if (name == NULL || strcmp(name, "*") == 0 || !known_field(name) ||
            (strchr(cstr, '*') == NULL && strstr(cstr, name) == NULL && json_array_size(f) != 8))
            fail("j0_fields_parse: a name not asked for", name);
    }
    return f;
}

/* ------------------------------------------------------------ Judge0: submissions */

/* The meta's base64 text under key decodes to want[0..min(n, cap)). */
static void check_meta_text(const json_t *meta, const char *key, const char *want, size_t n,
                            size_t cap)
{
    const json_t *v = json_object_get(meta, key);
    char *dec = NULL;
    size_t len = 0;

    if (want == NULL) {
        if (v != NULL && !json_is_null(v))
            fail("meta: a text not given", key);
        return;
    }
    if (!json_is_string(v) ||
        j0_base64_decode(json_string_value(v), json_string_length(v), &dec, &len) != SCE_OK)
        fail("meta: a text is not base64", key);
    if (n > cap)
        n = cap;
    if (len != n || memcmp(dec, want, n) != 0)
        fail("meta: a text is not the one given", key);
    free(dec);
}

static json_t *check_accepted(const j0_submission *s, const char *cstr)
{
    const sce_run_request *r = &s->req;
    json_error_t jerr;
    json_t *meta;
    const char *field;

    if (s->lang == NULL || r->language == NULL || strcmp(r->language, s->lang->sce_language) != 0)
        fail("judge0: accepted without a language", NULL);
    if ((r->code != NULL) == (r->files != NULL))
        fail("judge0: accepted without exactly one of code and files", NULL);
    if (r->code != NULL && (s->source == NULL || r->code != s->source))
        fail("judge0: the code is not the source", NULL);
    if (r->files != NULL && (r->nfiles == 0 || r->entry == NULL))
        fail("judge0: files without an entry", NULL);
    if (r->stdin_len != s->stdin_len || (r->stdin_len != 0 && r->stdin_data == NULL))
        fail("judge0: stdin", NULL);
    for (size_t i = 0; i < r->nargs; i++)
        if (r->args == NULL || r->args[i] == NULL)
            fail("judge0: NULL argument", NULL);
    if (r->timeout_ms > 2 * J0_TIME_LIMIT_S * 1000)
        fail("judge0: timeout past cpu_time_limit + cpu_extra_time's maxima", NULL);
    if (r->memory_bytes > (uint64_t)J0_MEMORY_LIMIT_KB * 1024 ||
        (r->memory_bytes != 0 && r->memory_bytes < (uint64_t)J0_MEMORY_LIMIT_MIN_KB * 1024))
        fail("judge0: memory outside /config_info's bounds", NULL);
    if ((r->timeout_ms != 0) != (s->timeout_field != NULL))
        fail("judge0: a timeout without the field that set it", NULL);
    if (s->meta == NULL || strlen(s->meta) != s->meta_len || s->meta_len > SCE_RUN_META_MAX_BYTES)
        fail("judge0: meta", NULL);
    if ((meta = json_loadb(s->meta, s->meta_len, 0, &jerr)) == NULL || !json_is_object(meta))
        fail("judge0: meta does not read back", jerr.text);
    if (json_integer_value(json_object_get(meta, "judge0")) != 1 ||
        json_integer_value(json_object_get(meta, "language_id")) != s->lang->id)
        fail("judge0: meta's judge0 or language_id", s->meta);
    check_meta_text(meta, "source_code", s->source, s->source_len, J0_ECHO_MAX_BYTES);
    check_meta_text(meta, "stdin", s->stdin_data, s->stdin_len, J0_ECHO_MAX_BYTES);

    field = j0_submission_field_of(s, cstr);
    if (field == NULL || (strcmp(field, "base") != 0 && !known_field(field)))
        fail("j0_submission_field_of: not a field", field);
    if (strncmp(cstr, "code", 4) == 0 && strcmp(field, "source_code") != 0)
        fail("j0_submission_field_of: code's message", field);
    if (strncmp(cstr, "limits.timeout", 14) == 0 && s->timeout_field != NULL &&
        strcmp(field, s->timeout_field) != 0)
        fail("j0_submission_field_of: a timeout not under its field", field);
    return meta;
}

static void check_refused(const json_t *errors, const j0_submission *s)
{
    static const j0_submission zero;
    const char *key;
    json_t *msgs;

    if (memcmp(s, &zero, sizeof(zero)) != 0)
        fail("judge0: a refused submission left *s filled", NULL);
    if (!json_is_object(errors) || json_object_size(errors) == 0)
        fail("judge0: refused without errors", NULL);
    json_object_foreach((json_t *)errors, key, msgs)
    {
        size_t i;
        json_t *m;

        if (key[0] == '\0' || (strcmp(key, "base") != 0 && !known_field(key)))
            fail("judge0: an error under an unknown field", key);
        if (!json_is_array(msgs) || json_array_size(msgs) == 0)
            fail("judge0: a field's errors are not a non-empty array", key);
        json_array_foreach(msgs, i, m) if (json_string_length(m) == 0)
            fail("judge0: an empty or non-string message", key);
    }
    json_decref(round_trip(errors, "judge0: the 422 body"));
}

/* ------------------------------------------------------------ Judge0: answers */

/* Whether the meta's base64 text under key decodes to UTF-8 (or is none). */
static int meta_text_utf8(const json_t *meta, const char *key)
{
    const json_t *v = json_object_get(meta, key);
    char *dec = NULL;
    size_t n = 0;
    int ok;

    if (!json_is_string(v) ||
        j0_base64_decode(json_string_value(v), json_string_length(v), &dec, &n) != SCE_OK)
        return 1;
    ok = utf8_ok(dec, n);
    free(dec);
    return ok;
}

/* A text field of the answer: null when not given, else the bytes (or
 * their encode64). */
static void check_text(const json_t *ans, const char *key, const char *want, size_t n, int given,
                       int base64)
{
    const json_t *v = json_object_get(ans, key);
    char *dec = NULL;
    size_t len = 0;

    if (v == NULL)
        return;
    if (!given) {
        if (!json_is_null(v))
            fail("answer: a text not given", key);
        return;
    }
    if (!json_is_string(v))
        fail("answer: a text given is not a string", key);
    if (!base64) {
        if (json_string_length(v) != n || memcmp(json_string_value(v), want, n) != 0)
            fail("answer: a text is not the one given", key);
        return;
    }
    if (j0_base64_decode(json_string_value(v), json_string_length(v), &dec, &len) != SCE_OK ||
        len != n || memcmp(dec, want, n) != 0)
        fail("answer: a base64 text is not the one given", key);
    free(dec);
}

static void check_answer(const json_t *meta, const json_t *fields, const j0_outcome *o, int base64,
                         const char *language_name)
{
    static const char token[] = "01234567-89ab-cdef-0123-456789abcdef";
    int utf8_error = -1, status;
    json_t *ans = j0_submission_json(token, meta, o, fields, base64, language_name, &utf8_error);
    int ended = o->state == 0;
    int texts_ok = (!ended || o->stdout_len == 0 || utf8_ok(o->stdout_data, o->stdout_len)) &&
                   (!ended || o->stderr_len == 0 || utf8_ok(o->stderr_data, o->stderr_len)) &&
                   meta_text_utf8(meta, "source_code") && meta_text_utf8(meta, "stdin") &&
                   meta_text_utf8(meta, "expected_output");
    json_t *back, *v;
    size_t i;

    if (ans == NULL) {
        if (utf8_error != 1)
            fail("j0_submission_json: NULL without utf8_error (out of memory?)", NULL);
        if (base64)
            fail("j0_submission_json: utf8_error with base64", NULL);
        if (texts_ok)
            fail("j0_submission_json: utf8_error with every text valid UTF-8", o->message);
        return;
    }
    if (utf8_error != 0)
        fail("j0_submission_json: an answer with utf8_error", NULL);
    if (!json_is_object(ans))
        fail("j0_submission_json: not an object", NULL);
    json_array_foreach(fields, i, v) if (json_object_get(ans, json_string_value(v)) == NULL)
        fail("j0_submission_json: a field asked for is missing", json_string_value(v));
    if (json_object_size(ans) > json_array_size(fields))
        fail("j0_submission_json: fields not asked for", NULL);
    if ((v = json_object_get(ans, "token")) != NULL && strcmp(json_string_value(v), token) != 0)
        fail("j0_submission_json: token", NULL);
    if ((v = json_object_get(ans, "status")) != NULL) {
        status = (int)json_integer_value(json_object_get(v, "id"));
        if (status < 1 || status > J0_STATUS_COUNT ||
            strcmp(json_string_value(json_object_get(v, "description")), j0_status_name(status)))
            fail("j0_submission_json: status", NULL);
        if (!ended && status != o->state)
            fail("j0_submission_json: status of a run not ended", NULL);
    }
    check_text(ans, "stdout", o->stdout_data, o->stdout_len, ended && o->stdout_len > 0, base64);
    check_text(ans, "stderr", o->stderr_data, o->stderr_len, ended && o->stderr_len > 0, base64);
    back = round_trip(ans, "j0_submission_json");
    json_decref(back);
    json_decref(ans);
}

/* An outcome of the input's bytes: its state, verdict, numbers and whether
 * it has a message come from two FNV-1a hashes of the input (a JSON body
 * nearly always starts with '{"', so its first bytes would fix them); its
 * stdout and stderr are the input's halves, its message the input's one
 * clean line (as the history keeps it, the form j0_outcome_from_* give). */
static void outcome_of(const uint8_t *data, size_t size, const char *cstr, char *message,
                       size_t msglen, j0_outcome *o)
{
    uint64_t h[2] = {0xcbf29ce484222325u, 0x84222325cbf29ce4u};
    uint8_t b[16];
    uint32_t wall, cpu;
    uint64_t mem;

    for (size_t i = 0; i < size; i++)
        for (int k = 0; k < 2; k++)
            h[k] = (h[k] ^ data[i]) * 0x100000001b3u;
    memcpy(b, h, sizeof(b));
    memset(o, 0, sizeof(*o));
    o->state = b[0] % 4 == 1 ? J0_STATUS_QUEUE : b[0] % 4 == 2 ? J0_STATUS_PROCESSING : 0;
    o->verdict = (sce_verdict)(b[1] % (SCE_VERDICT_LAST + 1));
    o->exit_code = (int8_t)b[2];
    o->signal = (int)b[3] % 72 - 4;
    memcpy(&wall, b + 4, 4);
    memcpy(&cpu, b + 8, 4);
    memcpy(&mem, b + 8, 8);
    o->wall_ms = wall;
    o->cpu_ms = b[0] & 4 ? 0 : cpu;
    o->peak_memory_bytes = mem >> 12; /* below 2^52: a real peak */
    o->stdout_data = (const char *)data;
    o->stdout_len = size / 2;
    o->stderr_data = (const char *)data + size / 2;
    o->stderr_len = size - size / 2;
    sce_utf8_clean_line(cstr, strlen(cstr), message, msglen);
    o->message = b[0] & 8 ? NULL : message;
}

static void check_answers(const uint8_t *data, size_t size, const char *cstr, const json_t *meta,
                          const json_t *asked, const char *language_name)
{
    char message[2048];
    j0_outcome o;
    char *bad = NULL;
    json_t *all = j0_fields_parse("*", &bad), *deflt = j0_fields_parse(NULL, &bad);

    if (all == NULL || deflt == NULL || json_array_size(all) != 35 || json_array_size(deflt) != 8)
        fail("j0_fields_parse: * or the default", NULL);
    outcome_of(data, size, cstr, message, sizeof(message), &o);
    for (int base64 = 0; base64 < 2; base64++) {
        check_answer(meta, all, &o, base64, language_name);
        check_answer(meta, deflt, &o, base64, language_name);
        if (asked != NULL)
            check_answer(meta, asked, &o, base64, language_name);
    }
    json_decref(all);
    json_decref(deflt);
}

static void check_judge0(const uint8_t *data, size_t size, const char *cstr)
{
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *asked = check_fields(cstr);

    if (body != NULL) {
        for (int base64 = 0; base64 < 2; base64++) {
            j0_submission s;
            json_t *errors = (json_t *)&errors; /* must be set */
            int rv = j0_submission_parse(body, base64, 1700000000000, &s, &errors);

            if (rv == SCE_OK) {
                char name[128];
                json_t *meta;

                if (errors != NULL)
                    fail("judge0: accepted with errors", NULL);
                meta = check_accepted(&s, cstr);
                j0_language_name(s.lang, &list, name, sizeof(name));
                check_answers(data, size, cstr, meta, asked, name);
                json_decref(meta);
                j0_submission_free(&s);
            } else if (rv == SCE_ERR_INVALID_ARGUMENT) {
                check_refused(errors, &s);
                json_decref(errors);
            } else {
                fail("judge0: refused with an unexpected code (out of memory?)", NULL);
            }
        }
        /* The body itself as a meta from elsewhere. */
        if (json_is_object(body)) {
            json_t *meta = json_deep_copy(body);

            if (meta == NULL)
                fail("out of memory", NULL);
            check_answers(data, size, cstr, meta, asked, "");
            json_decref(meta);
        }
        json_decref(body);
    }
    json_decref(asked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A C string of the input, cut at its first NUL. */
    char *cstr = malloc(size + 1);

    if (cstr == NULL)
        fail("out of memory", NULL);
    memcpy(cstr, data, size);
    cstr[size] = '\0';

    check_piston(data, size);
    check_judge0(data, size, cstr);
    check_tokens(data, size, cstr);
    check_base64(data, size);
    check_output_matches(data, size);
    check_split_args(cstr);
    free(cstr);
    return 0;
}
