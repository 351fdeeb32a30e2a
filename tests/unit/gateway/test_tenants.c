/*
 * test_tenants.c - the token file (web-gateway/tenants.c): what is a
 * tenant, what is an admin, what the single bare token of before tenants
 * still means, every malformed line refused with its number (and never
 * with its token), duplicates refused, and the look-up by token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sce/err.h"
#include "tenants.h"

#define TOK_A "aaaaaaaaaaaaaaaa-alice"
#define TOK_B "bbbbbbbbbbbbbbbb-bob"
#define TOK_O "oooooooooooooooo-ops"

static gw_tenants *parse_ok(const char *text)
{
    gw_tenants *t = NULL;
    char err[512] = "";
    int rv = gw_tenants_parse(text, strlen(text), "auth_token_file", &t, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("refused: %s\n--- for:\n%s", err, text);
    return t;
}

static const gw_tenant *find(const gw_tenants *t, const char *token)
{
    return gw_tenants_find(t, token, strlen(token));
}

static void test_tenants_and_admin(void **state)
{
    gw_tenants *t = parse_ok("# NAME TOKEN [admin]\n"
                             "\n"
                             "alice " TOK_A "\n"
                             "  bob\t" TOK_B "  \r\n"
                             "   # an indented comment\n"
                             "ops " TOK_O " admin"); /* no line end at the end */
    const gw_tenant *e;

    (void)state;
    assert_int_equal(t->count, 3);
    e = find(t, TOK_A);
    assert_non_null(e);
    assert_string_equal(e->name, "alice");
    assert_false(e->admin);
    e = find(t, TOK_B);
    assert_non_null(e);
    assert_string_equal(e->name, "bob");
    assert_false(e->admin);
    e = find(t, TOK_O);
    assert_non_null(e);
    assert_string_equal(e->name, "ops");
    assert_true(e->admin);
    /* Near misses: a prefix, a longer guess, one byte off, empty. */
    assert_null(find(t, "aaaaaaaaaaaaaaaa-alic"));
    assert_null(find(t, TOK_A "x"));
    assert_null(find(t, "aaaaaaaaaaaaaaaa-alicE"));
    assert_null(find(t, ""));
    assert_null(gw_tenants_find(NULL, TOK_A, strlen(TOK_A)));
    gw_tenants_free(t);
}

/* A file of one bare token works as before tenants: one caller, no name,
 * the whole history.  So does the auth_token option. */
static void test_single_token(void **state)
{
    gw_tenants *t = parse_ok(TOK_A "\n");
    char err[256];

    (void)state;
    assert_int_equal(t->count, 1);
    assert_null(t->items[0].name);
    assert_true(t->items[0].admin);
    assert_non_null(find(t, TOK_A));
    gw_tenants_free(t);

    t = parse_ok("# the token\n" TOK_B);
    assert_non_null(find(t, TOK_B));
    gw_tenants_free(t);

    t = NULL;
    assert_int_equal(gw_tenants_single(TOK_O, &t, err, sizeof(err)), SCE_OK);
    assert_int_equal(t->count, 1);
    assert_null(t->items[0].name);
    assert_true(t->items[0].admin);
    assert_non_null(find(t, TOK_O));
    gw_tenants_free(t);
    assert_int_equal(gw_tenants_single("short", &t, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "auth_token: the token must have 16 to 1024 characters"));
}

/* Every malformed file: refused, the line named, the token never shown. */
static void test_malformed(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"", "auth_token_file: no token"},
        {"\n# only comments\n\n", "auth_token_file: no token"},
        {"alice " TOK_A " root\n", "line 1: expected NAME TOKEN [admin], got a third word"},
        {"alice " TOK_A " admin extra\n", "line 1: expected NAME TOKEN [admin], got 4 words"},
        {"alice " TOK_A "\n" TOK_B "\n", "line 2: a bare TOKEN (no NAME) is allowed only"},
        {TOK_B "\nalice " TOK_A "\n", "line 1: a bare TOKEN (no NAME) is allowed only"},
        {"alice short\n", "line 1: the token must have 16 to 1024 characters, it has 5"},
        {"al/ice " TOK_A "\n", "line 1: a tenant's name is 1 to 64 of A-Z a-z 0-9 . _ -"},
        {"alice " TOK_A "\nbob " TOK_B "\nalice " TOK_O "\n",
         "line 3: tenant 'alice' is already named on line 1"},
        {"alice " TOK_A "\n\nbob " TOK_A "\n", "line 3: the same token as line 1"},
        {"alice " TOK_A "\nbob " TOK_B "\x01" "\n", "line 2: the token may hold only visible ASCII"},
        {"alice " TOK_A "\nbo\0b " TOK_B "\n", "line 2: holds a NUL byte"},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx " TOK_A "\n",
         "line 1: a tenant's name is 1 to 64"},
    };
    static const size_t lens[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                  sizeof("alice " TOK_A "\nbo\0b " TOK_B "\n") - 1, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_tenants *t = NULL;
        char err[512] = "";
        size_t len = lens[i] != 0 ? lens[i] : strlen(cases[i].text);
        int rv = gw_tenants_parse(cases[i].text, len, "auth_token_file", &t, err, sizeof(err));

        if (rv != SCE_ERR_INVALID_ARGUMENT || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: got %d '%s', expected '%s'", i, rv, err, cases[i].want);
        assert_null(t);
        assert_non_null(strstr(err, "auth_token_file: "));
        assert_null(strstr(err, "aaaaaaaaaaaaaaaa"));
        assert_null(strstr(err, "bbbbbbbbbbbbbbbb"));
    }
}

static void test_load(void **state)
{
    char dir[] = "/tmp/sce-test-tenants.XXXXXX", path[128], err[512];
    gw_tenants *t = NULL;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tokens", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("alice " TOK_A "\nops " TOK_O " admin\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(gw_tenants_load(path, &t, err, sizeof(err)), SCE_OK);
    assert_int_equal(t->count, 2);
    assert_true(find(t, TOK_O)->admin);
    gw_tenants_free(t);
    unlink(path);
    t = NULL;
    assert_int_equal(gw_tenants_load(path, &t, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "auth_token_file: cannot open "));
    assert_null(t);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tenants_and_admin),
        cmocka_unit_test(test_single_token),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_load),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
