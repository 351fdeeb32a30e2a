/*
 * test_options.c - the server's option checks that are decisions, not
 * bounds: who a program may run as (server/options.c), table-driven.
 *
 * The engine (runc) reads the user as numbers, so every spelling of uid 0
 * or gid 0 must be refused, and so must anything it could resolve through
 * the image's /etc/passwd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

static const struct {
    const char *user;
    int ok;
    const char *why; /* a word the refusal must contain */
} user_cases[] = {
    {"65534:65534", 1, NULL},
    {"1000:1000", 1, NULL},
    {"0065534:065534", 1, NULL}, /* leading zeros are the same numbers */
    {"2147483647:1", 1, NULL},
    /* root, however it is written */
    {"0:0", 0, "root"},
    {"00:00", 0, "root"},
    {"000:65534", 0, "uid 0"},
    {"65534:0", 0, "gid 0"},
    {"65534:000", 0, "gid 0"},
    /* not two plain decimal numbers */
    {"0", 0, "UID:GID"},
    {"00", 0, "UID:GID"},
    {"+0", 0, "UID:GID"},
    {"+0:+0", 0, "UID:GID"},
    {"65534", 0, "UID:GID"}, /* a bare uid gets gid 0 from the engine */
    {"root", 0, "UID:GID"},
    {"root:root", 0, "UID:GID"},
    {"nobody:nogroup", 0, "UID:GID"},
    {"", 0, "UID:GID"},
    {":", 0, "UID:GID"},
    {"65534:", 0, "UID:GID"},
    {":65534", 0, "UID:GID"},
    {" 1:1", 0, "UID:GID"},
    {"1:1 ", 0, "UID:GID"},
    {"-1:1", 0, "UID:GID"},
    {"0x10:1", 0, "UID:GID"},
    {"1:2:3", 0, "UID:GID"},
    {"4294967296:1", 0, "UID:GID"}, /* 2^32 wraps to 0 in a 32-bit id */
    {"2147483648:1", 0, "UID:GID"},
    {"99999999999999999999:1", 0, "UID:GID"},
};

static void test_user(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
        char err[256] = "";
        int rv = options_check_user(user_cases[i].user, err, sizeof(err));

        if ((rv == 0) != user_cases[i].ok)
            fail_msg("user '%s': expected %s, got %s (%s)", user_cases[i].user,
                     user_cases[i].ok ? "accepted" : "refused", rv == 0 ? "accepted" : "refused",
                     err);
        if (!user_cases[i].ok && strstr(err, user_cases[i].why) == NULL)
            fail_msg("user '%s': message '%s' lacks '%s'", user_cases[i].user, err,
                     user_cases[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
