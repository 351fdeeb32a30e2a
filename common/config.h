/*
 * config.h - one table of options per program, filled from four layers:
 * built-in defaults < config file < environment < command-line flags.
 *
 * Each option has a file key ("timeout_ms"), a flag ("--timeout-ms", the key
 * with '_' as '-'), an environment variable ("SCE_TIMEOUT_MS"), a type, a
 * default, bounds and a help line.  Values land in the program's own config
 * struct at `offset`.  The config file is plain text: `key = value` lines,
 * blank lines are ignored, and '#' starts a comment where it starts the
 * line or follows a blank (so a value may hold '#': `auth_token = ab#cd`); its path comes from
 * `--config PATH` or the environment variable named by the caller.
 *
 * Byte sizes accept k, m, g suffixes (binary: 64k = 65536, also KiB/MiB/GiB);
 * durations accept ms, s, m suffixes (a bare number is milliseconds).
 */
#ifndef SCE_CONFIG_H
#define SCE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum sce_opt_type {
    SCE_OPT_STRING,   /* char * (owned by the struct, freed by sce_config_free) */
    SCE_OPT_INT,      /* int64_t */
    SCE_OPT_BYTES,    /* int64_t, bytes */
    SCE_OPT_MS,       /* int64_t, milliseconds */
    SCE_OPT_DOUBLE,   /* double */
    SCE_OPT_BOOL,     /* int: true/false, yes/no, on/off, 1/0 */
} sce_opt_type;

typedef struct sce_option {
    const char *key;     /* file key; flag is --key with '-' for '_' */
    const char *env;     /* environment variable, NULL for none */
    sce_opt_type type;
    size_t offset;       /* offsetof(program config struct, field) */
    const char *def;     /* default, as text (NULL: empty string / 0) */
    double min, max;     /* bounds for numbers (inclusive); min > max: none */
    const char *help;
} sce_option;

/* One row of a program's table: SCE_OPTION(server_options, "timeout",
 * "SCE_TIMEOUT", SCE_OPT_MS, timeout_ms, "10s", 100, 3600000, "help").
 * Bounds "1, 0" (min > max) mean unbounded. */
#define SCE_OPTION(type, key, env, kind, field, def, lo, hi, help)                                 \
    {                                                                                              \
        key, env, kind, offsetof(type, field), def, lo, hi, help                                   \
    }

typedef struct sce_config_spec {
    const char *program;      /* "sce-server" */
    const char *config_env;   /* env var naming the config file, "SCE_CONFIG" */
    const sce_option *opts;
    size_t nopts;
} sce_config_spec;

enum {
    SCE_CONFIG_OK = 0,
    SCE_CONFIG_EXIT = 1, /* --help or --version was handled: exit 0 */
    SCE_CONFIG_ERROR = 2,
};

/* Fills `cfg` (zero it first: strings already there are freed when
 * replaced) from defaults, the file, the environment and argv (argv[0] is
 * skipped).  Returns SCE_CONFIG_OK, SCE_CONFIG_EXIT after printing --help,
 * or SCE_CONFIG_ERROR with one line in err ("config.ini:4: timeout_ms: not a
 * duration: 'abc'").  On error the struct may be partly filled: free it with
 * sce_config_free. */
int sce_config_load(const sce_config_spec *spec, void *cfg, int argc, char **argv, char *err,
                    size_t errlen);

/* Sets one option by key from text.  Used by the loader and by tests. */
int sce_config_set(const sce_config_spec *spec, void *cfg, const char *key, const char *value,
                   char *err, size_t errlen);

/* Parsers shared with request validation. Return 0 on success, -1 if not a
 * valid value. */
int sce_parse_bytes(const char *s, int64_t *out);
int sce_parse_ms(const char *s, int64_t *out);

/* Prints the option table (for --help). */
void sce_config_usage(const sce_config_spec *spec, FILE *f);

/* Frees the strings the loader stored in cfg. */
void sce_config_free(const sce_config_spec *spec, void *cfg);

#endif
