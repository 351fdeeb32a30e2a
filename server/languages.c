/*
 * languages.c - the language table and each language's last known status.
 *
 * The runner's source travels on the interpreter's command line (python3 -c,
 * node -e), so any image with the interpreter on PATH works, including
 * official images that contain nothing of ours.
 */
#include "languages.h"

#include <pthread.h>
#include <string.h>

extern const char sce_runner_python[];
extern const char sce_runner_node[];

static const char *const python_ext[] = {".py", NULL};
static const char *const node_ext[] = {".js", ".cjs", NULL};
/* -u: unbuffered, so output printed before a kill is kept.
 * -I: isolated (no PYTHON* variables, no user site, no script dir on path). */
static const char *const python_argv[] = {"python3", "-u", "-I", "-c"};
static const char *const node_argv[] = {"node", "-e"};

static const lang_def lang_table[] = {
    {"python", "main.py", python_ext, python_argv, 4, sce_runner_python,
     "import sys\nprint('%d.%d.%d' % sys.version_info[:3])\n"},
    {"node", "main.js", node_ext, node_argv, 2, sce_runner_node,
     "console.log(process.versions.node)\n"},
};
#define NLANG (sizeof(lang_table) / sizeof(lang_table[0]))

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static lang_status status_table[NLANG];

size_t languages_count(void)
{
    return NLANG;
}

const lang_def *languages_at(size_t i)
{
    return i < NLANG ? &lang_table[i] : NULL;
}

const lang_def *languages_find(const char *name)
{
    for (size_t i = 0; i < NLANG; i++)
        if (name != NULL && strcmp(lang_table[i].name, name) == 0)
            return &lang_table[i];
    return NULL;
}

const char *languages_names(void)
{
    return "python, node";
}

const char *languages_image(const server_options *o, const lang_def *l)
{
    return l == &lang_table[0] ? o->python_image : o->node_image;
}

const char *languages_runtime(const server_options *o, const lang_def *l)
{
    const char *own = l == &lang_table[0] ? o->python_runtime : o->node_runtime;

    if (own != NULL && own[0] != '\0')
        return own;
    return o->runtime != NULL ? o->runtime : "";
}

void languages_status_get(const lang_def *l, lang_status *out)
{
    pthread_mutex_lock(&status_lock);
    *out = status_table[l - lang_table];
    pthread_mutex_unlock(&status_lock);
}

void languages_status_set(const lang_def *l, const lang_status *st)
{
    pthread_mutex_lock(&status_lock);
    status_table[l - lang_table] = *st;
    pthread_mutex_unlock(&status_lock);
}
