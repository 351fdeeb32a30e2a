/*
 * config.c - the layered option loader described in config.h.
 *
 * It knows nothing of any program's options: the table says what exists.
 * Layers are applied in order, each overwriting the last, so the highest
 * layer that names an option wins.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/seterr.h"

static const sce_option *find_opt(const sce_config_spec *spec, const char *key, size_t keylen)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        const char *k = spec->opts[i].key;
        size_t j;

        if (strlen(k) != keylen)
            continue;
        /* Flags spell '_' as '-'; accept either everywhere. */
        for (j = 0; j < keylen; j++) {
            char a = k[j], b = key[j];
            if (b == '-')
                b = '_';
            if (a != b)
                break;
        }
        if (j == keylen)
            return &spec->opts[i];
    }
    return NULL;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;

    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* A number, optional spaces, a suffix from `units` (case-insensitive). */
static int parse_scaled(const char *s, const char *const *names, const int64_t *scales,
                        int64_t *out)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcasecmp(end, names[i]) == 0) {
            double r = v * (double)scales[i];
            if (r > 9.0e18 || r != r)
                return -1;
            *out = (int64_t)llround(r);
            return 0;
        }
    }
    return -1;
}

int sce_parse_bytes(const char *s, int64_t *out)
{
    static const char *const names[] = {"",  "b",   "k",   "kb",  "kib", "m",
                                        "mb", "mib", "g",   "gb",  "gib", NULL};
    static const int64_t scales[] = {1,       1,       1024,    1024,       1024,      1048576,
                                     1048576, 1048576, 1 << 30, 1 << 30, 1 << 30};
    return parse_scaled(s, names, scales, out);
}

int sce_parse_ms(const char *s, int64_t *out)
{
    static const char *const names[] = {"", "ms", "s", "sec", "m", "min", NULL};
    static const int64_t scales[] = {1, 1, 1000, 1000, 60000, 60000};
    return parse_scaled(s, names, scales, out);
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static const char *type_word(sce_opt_type t)
{
    switch (t) {
    case SCE_OPT_INT:
        return "an integer";
    case SCE_OPT_BYTES:
        return "a size (e.g. 64k, 128m)";
    case SCE_OPT_MS:
        return "a duration (e.g. 500ms, 10s)";
    case SCE_OPT_DOUBLE:
        return "a number";
    case SCE_OPT_BOOL:
        return "true or false";
    default:
        return "a string";
    }
}

static int set_opt(const sce_option *o, void *cfg, const char *value, char *err, size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    int64_t iv = 0;
    double dv = 0;
    int bv = 0;
    int rv = -1;

    switch (o->type) {
    case SCE_OPT_STRING: {
        char *copy = strdup(value);
        if (copy == NULL) {
            sce_seterr(err, errlen, "%s: out of memory", o->key);
            return SCE_CONFIG_ERROR;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return SCE_CONFIG_OK;
    }
    case SCE_OPT_INT:
        rv = parse_int(value, &iv);
        dv = (double)iv;
        break;
    case SCE_OPT_BYTES:
        rv = sce_parse_bytes(value, &iv);
        dv = (double)iv;
        break;
    case SCE_OPT_MS:
        rv = sce_parse_ms(value, &iv);
        dv = (double)iv;
        break;
    case SCE_OPT_DOUBLE: {
        char *end;
        errno = 0;
        dv = strtod(value, &end);
        rv = (errno == 0 && end != value && *end == '\0' && dv == dv) ? 0 : -1;
        break;
    }
    case SCE_OPT_BOOL:
        rv = parse_bool(value, &bv);
        break;
    }
    if (rv != 0) {
        sce_seterr(err, errlen, "%s: expected %s, got '%s'", o->key, type_word(o->type), value);
        return SCE_CONFIG_ERROR;
    }
    if (o->type != SCE_OPT_BOOL && o->min <= o->max && (dv < o->min || dv > o->max)) {
        sce_seterr(err, errlen, "%s: %s is out of range [%.15g, %.15g]", o->key, value, o->min,
                   o->max);
        return SCE_CONFIG_ERROR;
    }
    switch (o->type) {
    case SCE_OPT_DOUBLE:
        *(double *)field = dv;
        break;
    case SCE_OPT_BOOL:
        *(int *)field = bv;
        break;
    default:
        *(int64_t *)field = iv;
        break;
    }
    return SCE_CONFIG_OK;
}

int sce_config_set(const sce_config_spec *spec, void *cfg, const char *key, const char *value,
                   char *err, size_t errlen)
{
    const sce_option *o = find_opt(spec, key, strlen(key));

    if (o == NULL) {
        sce_seterr(err, errlen, "unknown option '%s'", key);
        return SCE_CONFIG_ERROR;
    }
    return set_opt(o, cfg, value, err, errlen);
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int load_file(const sce_config_spec *spec, void *cfg, const char *path, char *err,
                     size_t errlen)
{
    char line[4096];
    char sub[512];
    int lineno = 0;
    int rv = SCE_CONFIG_OK;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        sce_seterr(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return SCE_CONFIG_ERROR;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p, *eq, *hash;

        lineno++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            sce_seterr(err, errlen, "%s:%d: line too long", path, lineno);
            rv = SCE_CONFIG_ERROR;
            goto out;
        }
        /* A comment starts the line or follows a blank: a value may hold
         * '#' (auth_token = ab#cd), "x = 5s  # five" is 5s. */
        for (hash = line; *hash != '\0'; hash++) {
            if (*hash == '#' && (hash == line || hash[-1] == ' ' || hash[-1] == '\t')) {
                *hash = '\0';
                break;
            }
        }
        p = trim(line);
        if (*p == '\0')
            continue;
        eq = strchr(p, '=');
        if (eq == NULL) {
            sce_seterr(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rv = SCE_CONFIG_ERROR;
            goto out;
        }
        *eq = '\0';
        if (sce_config_set(spec, cfg, trim(p), trim(eq + 1), sub, sizeof(sub)) != 0) {
            sce_seterr(err, errlen, "%s:%d: %s", path, lineno, sub);
            rv = SCE_CONFIG_ERROR;
            goto out;
        }
    }
out:
    fclose(f);
    return rv;
}

void sce_config_usage(const sce_config_spec *spec, FILE *f)
{
    fprintf(f, "usage: %s [--config FILE] [--OPTION VALUE ...]\n\n", spec->program);
    fprintf(f, "Precedence: defaults < config file (--config or $%s) < environment < flags.\n\n",
            spec->config_env);
    for (size_t i = 0; i < spec->nopts; i++) {
        const sce_option *o = &spec->opts[i];
        char flag[128];
        size_t j;

        snprintf(flag, sizeof(flag), "--%s", o->key);
        for (j = 2; flag[j]; j++)
            if (flag[j] == '_')
                flag[j] = '-';
        fprintf(f, "  %-26s %s\n  %-26s default: %s; env: %s\n", flag, o->help, "",
                o->def && *o->def ? o->def : "(none)", o->env ? o->env : "-");
    }
}

int sce_config_load(const sce_config_spec *spec, void *cfg, int argc, char **argv, char *err,
                    size_t errlen)
{
    const char *config_path = NULL;
    char sub[512];
    int rv;

    /* --help and --version answer whatever the other layers say. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sce_config_usage(spec, stdout);
            return SCE_CONFIG_EXIT;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", spec->program, SCE_VERSION);
            return SCE_CONFIG_EXIT;
        }
    }

    /* 1. defaults */
    for (size_t i = 0; i < spec->nopts; i++) {
        const sce_option *o = &spec->opts[i];
        if (o->type == SCE_OPT_STRING || (o->def && *o->def)) {
            rv = set_opt(o, cfg, o->def ? o->def : "", sub, sizeof(sub));
            if (rv != 0) {
                sce_seterr(err, errlen, "bad built-in default: %s", sub);
                return rv;
            }
        }
    }

    /* 2. the config file: --config wins over the environment variable */
    if (spec->config_env)
        config_path = getenv(spec->config_env);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                sce_seterr(err, errlen, "option '--config' needs a value");
                return SCE_CONFIG_ERROR;
            }
            config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config_path = argv[i] + 9;
        }
    }
    if (config_path && *config_path) {
        rv = load_file(spec, cfg, config_path, err, errlen);
        if (rv != 0)
            return rv;
    }

    /* 3. environment */
    for (size_t i = 0; i < spec->nopts; i++) {
        const sce_option *o = &spec->opts[i];
        const char *v = o->env ? getenv(o->env) : NULL;
        if (v == NULL)
            continue;
        rv = set_opt(o, cfg, v, sub, sizeof(sub));
        if (rv != 0) {
            sce_seterr(err, errlen, "$%s: %s", o->env, sub);
            return rv;
        }
    }

    /* 4. flags */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *name, *value, *eq;
        size_t namelen;
        const sce_option *o;

        if (strncmp(a, "--", 2) != 0) {
            sce_seterr(err, errlen, "unexpected argument '%s' (see --help)", a);
            return SCE_CONFIG_ERROR;
        }
        name = a + 2;
        eq = strchr(name, '=');
        namelen = eq ? (size_t)(eq - name) : strlen(name);
        if (namelen == 6 && strncmp(name, "config", 6) == 0) {
            if (eq == NULL)
                i++;
            continue;
        }
        o = find_opt(spec, name, namelen);
        if (o == NULL) {
            sce_seterr(err, errlen, "unknown option '--%.*s' (see --help)", (int)namelen, name);
            return SCE_CONFIG_ERROR;
        }
        if (eq) {
            value = eq + 1;
        } else if (o->type == SCE_OPT_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            sce_seterr(err, errlen, "option '--%s' needs a value", name);
            return SCE_CONFIG_ERROR;
        }
        rv = set_opt(o, cfg, value, sub, sizeof(sub));
        if (rv != 0) {
            sce_seterr(err, errlen, "--%s", sub);
            return rv;
        }
    }
    return SCE_CONFIG_OK;
}

void sce_config_free(const sce_config_spec *spec, void *cfg)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        if (spec->opts[i].type == SCE_OPT_STRING) {
            char **field = (char **)((char *)cfg + spec->opts[i].offset);
            free(*field);
            *field = NULL;
        }
    }
}
