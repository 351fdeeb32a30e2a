/*
 * stack_env.h - reads the file that tests/integration/stack.sh writes and
 * ctest names in $SCE_TEST_STACK_ENV (fixture 'stack'): KEY=value lines
 * with the running server's and gateway's URLs and the stack's directory.
 * Used by the test programs that run against that shared stack.
 */
#ifndef SCE_TEST_STACK_ENV_H
#define SCE_TEST_STACK_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stack_value {
    const char *key; /* "SCE_SERVER", "SCE_GATEWAY", "SCE_TEST_DIR" */
    char *out;
    size_t outlen;
    int required;
} stack_value;

/* Fills each value from the file; a missing file, or a required key it
 * does not have, ends the test program with a message saying why. */
static void stack_env_load(stack_value *values, size_t n)
{
    const char *path = getenv("SCE_TEST_STACK_ENV");
    char line[1024];
    FILE *f;

    if (path == NULL) {
        fprintf(stderr, "SCE_TEST_STACK_ENV is not set: run through ctest (fixture 'stack')\n");
        exit(1);
    }
    if ((f = fopen(path, "r")) == NULL) {
        fprintf(stderr, "cannot open %s: the stack fixture did not start\n", path);
        exit(1);
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq = strchr(line, '=');

        line[strcspn(line, "\n")] = '\0';
        if (eq == NULL)
            continue;
        *eq = '\0';
        for (size_t i = 0; i < n; i++)
            if (strcmp(line, values[i].key) == 0)
                snprintf(values[i].out, values[i].outlen, "%s", eq + 1);
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (values[i].required && values[i].out[0] == '\0') {
            fprintf(stderr, "%s has no %s line%s\n", path, values[i].key,
                    strcmp(values[i].key, "SCE_GATEWAY") == 0 ? " (was sce-gateway built?)" : "");
            exit(1);
        }
}

#endif
