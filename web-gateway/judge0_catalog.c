/*
 * judge0_catalog.c - see judge0_catalog.h.
 */
#include "judge0_catalog.h"

#include <stdio.h>
#include <string.h>

static const j0_language languages[] = {
    {63, "node", "JavaScript (Node.js", "script.js", "node script.js"},
    {71, "python", "Python", "script.py", "python3 script.py"},
    {92, "python", "Python", "script.py", "python3 script.py"},
    {93, "node", "JavaScript (Node.js", "script.js", "node script.js"},
    {97, "node", "JavaScript (Node.js", "script.js", "node script.js"},
    {102, "node", "JavaScript (Node.js", "script.js", "node script.js"},
};
#define NLANGUAGES (sizeof(languages) / sizeof(languages[0]))

const j0_language *j0_language_find(long id)
{
    for (size_t i = 0; i < NLANGUAGES; i++)
        if (languages[i].id == id)
            return &languages[i];
    return NULL;
}

/* The server's entry of an sce language; NULL when it has none. */
static const sce_language *server_language(const sce_language_list *l, const char *name)
{
    for (size_t i = 0; l != NULL && i < l->count; i++)
        if (l->items[i].name != NULL && strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    return NULL;
}

void j0_language_name(const j0_language *lang, const sce_language_list *l, char *out, size_t outlen)
{
    const sce_language *s;
    const char *version;
    int node;

    if (lang == NULL) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    s = server_language(l, lang->sce_language);
    version = s != NULL && s->version != NULL ? s->version : "";
    node = strcmp(lang->sce_language, "node") == 0;
    /* "Python (3.11.9)", "JavaScript (Node.js 20.11.1)" as Judge0 names them. */
    if (node)
        snprintf(out, outlen, "%s%s%s)", lang->family, version[0] ? " " : "", version);
    else if (version[0])
        snprintf(out, outlen, "%s (%s)", lang->family, version);
    else
        snprintf(out, outlen, "%s", lang->family);
}

static int available(const sce_language_list *l, const j0_language *lang)
{
    const sce_language *s = server_language(l, lang->sce_language);

    return s != NULL && s->available;
}

json_t *j0_languages_json(const sce_language_list *l, int all)
{
    json_t *a = json_array();
    size_t order[NLANGUAGES], n = 0;
    char name[96], other[96];

    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < NLANGUAGES; i++)
        if (available(l, &languages[i]))
            order[n++] = i;
    /* /languages/all is by name (then id), as Judge0 orders it. */
    for (size_t i = 1; all && i < n; i++) {
        for (size_t j = i; j > 0; j--) {
            j0_language_name(&languages[order[j - 1]], l, other, sizeof(other));
            j0_language_name(&languages[order[j]], l, name, sizeof(name));
            if (strcmp(other, name) <= 0)
                break;
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const j0_language *lang = &languages[order[k]];
        json_t *o;

        j0_language_name(lang, l, name, sizeof(name));
        o = all ? json_pack("{s:i, s:s, s:b}", "id", lang->id, "name", name, "is_archived", 0)
                : json_pack("{s:i, s:s}", "id", lang->id, "name", name);
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *j0_language_json(const sce_language_list *l, long id)
{
    const j0_language *lang = j0_language_find(id);
    char name[96];

    if (lang == NULL)
        return NULL;
    j0_language_name(lang, l, name, sizeof(name));
    return json_pack("{s:i, s:s, s:b, s:s, s:n, s:s}", "id", lang->id, "name", name, "is_archived",
                     !available(l, lang), "source_file", lang->source_file, "compile_cmd",
                     "run_cmd", lang->run_cmd);
}

json_t *j0_about_json(void)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "version", J0_VERSION, "homepage",
                     "https://judge0.com", "source_code", "sce-gateway " SCE_VERSION, "maintainer",
                     "sce-gateway: the Judge0 CE 1.13 API over sce");
}

json_t *j0_config_info_json(unsigned queue_capacity)
{
    json_t *o = json_object();
    int bad = o == NULL;

#define SET(k, v) bad |= o == NULL || json_object_set_new(o, k, v) != 0
    SET("maintenance_mode", json_false());
    SET("enable_wait_result", json_true());
    SET("enable_compiler_options", json_false());
    SET("allowed_languages_for_compile_options", json_array());
    SET("enable_command_line_arguments", json_true());
    SET("enable_submission_delete", json_false());
    SET("enable_callbacks", json_false());
    SET("callbacks_max_tries", json_integer(0));
    SET("callbacks_timeout", json_real(0));
    SET("enable_additional_files", json_true());
    SET("max_queue_size", json_integer(queue_capacity > 0 ? queue_capacity : J0_QUEUE_DEFAULT));
    SET("cpu_time_limit", json_real(J0_TIME_LIMIT_S));
    SET("max_cpu_time_limit", json_real(J0_TIME_LIMIT_S));
    SET("cpu_extra_time", json_real(0));
    SET("max_cpu_extra_time", json_real(J0_TIME_LIMIT_S));
    SET("wall_time_limit", json_real(J0_TIME_LIMIT_S));
    SET("max_wall_time_limit", json_real(J0_TIME_LIMIT_S));
    SET("memory_limit", json_integer(J0_MEMORY_LIMIT_KB));
    SET("max_memory_limit", json_integer(J0_MEMORY_LIMIT_KB));
    SET("stack_limit", json_integer(J0_MEMORY_LIMIT_KB));
    SET("max_stack_limit", json_integer(J0_MEMORY_LIMIT_KB));
    SET("max_processes_and_or_threads", json_integer(J0_PROCESSES));
    SET("max_max_processes_and_or_threads", json_integer(J0_PROCESSES));
    SET("enable_per_process_and_thread_time_limit", json_false());
    SET("allow_enable_per_process_and_thread_time_limit", json_false());
    SET("enable_per_process_and_thread_memory_limit", json_false());
    SET("allow_enable_per_process_and_thread_memory_limit", json_false());
    SET("max_file_size", json_integer(J0_FILE_SIZE_KB));
    SET("max_max_file_size", json_integer(J0_FILE_SIZE_KB));
    SET("number_of_runs", json_integer(1));
    SET("max_number_of_runs", json_integer(1));
    SET("redirect_stderr_to_stdout", json_false());
    SET("max_extract_size", json_integer(J0_EXTRACT_KB));
    SET("enable_batched_submissions", json_true());
    SET("max_submission_batch_size", json_integer(J0_BATCH_MAX));
    SET("submission_cache_duration", json_real(0));
    SET("use_docs_as_homepage", json_false());
    SET("allow_enable_network", json_false());
    SET("enable_network", json_false());
#undef SET
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
