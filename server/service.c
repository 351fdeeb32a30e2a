/*
 * service.c - Run, RunProject, RunBatch and History (see service.h).
 *
 * A batch runs on the worker that popped it: it starts one thread per task
 * and waits for all of them, so a batch of n tasks occupies one worker and
 * up to n containers at once (batch_limit bounds n).  Each thread takes
 * exactly the path of a single Run.
 */
#include "service.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "common/clock.h"
#include "common/log.h"
#include "sce/err.h"
#include "sce_limits.h"
#include "common/seterr.h"
#include "common/utf8.h"

/* ------------------------------------------------------------ one run */

/* The entry file of a checked spec (its text goes into the history). */
static const run_file *entry_file(const run_spec *spec)
{
    for (size_t i = 0; i < spec->nfiles; i++)
        if (spec->files[i].path == spec->entry || strcmp(spec->files[i].path, spec->entry) == 0)
            return &spec->files[i];
    return NULL;
}

static void record_run(history *h, const Sce__V1__RunRequest *rq, const service_run_answer *a,
                       int64_t started_ms, const char *rid, const char *tenant)
{
    const run_file *f = entry_file(&a->spec);
    history_record rec;

    if (h == NULL)
        return;
    memset(&rec, 0, sizeof(rec));
    rec.time_ms = started_ms;
    rec.language = a->spec.lang->name;
    rec.code = f != NULL ? (const char *)f->data : "";
    rec.code_len = f != NULL ? f->len : 0;
    rec.entry = rq->n_files > 0 ? a->spec.entry : "";
    rec.files = (uint32_t)a->spec.nfiles;
    rec.request_id = rid;
    rec.tenant = tenant;
    rec.run_id = a->spec.live != NULL ? live_run_id(a->spec.live) : "";
    rec.meta = rq->meta.data;
    rec.meta_len = rq->meta.len;
    if (a->status == SCE_OK) {
        rec.verdict = (int)a->result.verdict;
        rec.exit_code = a->result.exit_code;
        rec.output = (const char *)a->result.stdout.data;
        rec.output_len = a->result.stdout.len;
        rec.output_truncated = a->result.stdout_truncated;
        rec.stderr_text = (const char *)a->result.stderr.data;
        rec.stderr_len = a->result.stderr.len;
        rec.stderr_truncated = a->result.stderr_truncated;
        rec.message = a->result.message;
        rec.wall_ms = a->result.wall_ms;
        rec.signal = a->result.signal;
        rec.cpu_ms = a->result.cpu_ms;
        rec.peak_memory_bytes = a->result.peak_memory_bytes;
    } else {
        /* The engine or the sandbox failed: the run is recorded all the
         * same, with the reason. */
        rec.verdict = SCE__V1__VERDICT__VERDICT_INTERNAL_ERROR;
        rec.message = a->message;
    }
    /* With PostgreSQL, the answer waits (briefly) for the commit, so a
     * server killed after answering has lost no answered run (history.h). */
    history_await(h, history_record_run(h, &rec));
}

void service_run(const exec_env *env, history *h, const Sce__V1__RunRequest *rq, int project,
                 const char *rid, const char *tenant, struct live_run *live, service_run_answer *a)
{
    Sce__V1__RunResult *rr = &a->result;
    int64_t started_ms = sce_wall_ms(); /* a date: the history's timestamp */
    int rv;

    memset(a, 0, sizeof(*a));
    sce__v1__run_result__init(&a->result);
    sce__v1__limits__init(&a->limits);
    if (rq == NULL) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "the request has no run body");
        return;
    }
    if (project && rq->code != NULL && rq->code[0] != '\0') {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message),
                   "RunProject takes files, not code; for a single program use Run");
        return;
    }
    if (project && rq->n_files == 0) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "RunProject needs files (and an entry)");
        return;
    }
    rv = request_check_run(env->opt, rq, &a->spec, a->message, sizeof(a->message));
    if (rv != SCE_OK) {
        a->status = rv;
        return;
    }
    a->ran = 1;
    a->spec.live = live;
    rv = exec_run(env, &a->spec, rid, &a->res, a->message, sizeof(a->message));
    if (rv != SCE_OK) {
        SCE_LOG(SCE_LOG_WARN, rid, "run failed: %s", a->message);
        a->status = rv;
        record_run(h, rq, a, started_ms, rid, tenant);
        return;
    }
    languages_status_get(a->spec.lang, &a->ls);
    rr->verdict = (Sce__V1__Verdict)a->res.v.verdict;
    rr->exit_code = a->res.exit_code;
    rr->signal = a->res.v.signal;
    rr->stdout.data = (uint8_t *)a->res.out.data;
    rr->stdout.len = a->res.out.len;
    rr->stderr.data = (uint8_t *)a->res.err.data;
    rr->stderr.len = a->res.err.len;
    rr->stdout_truncated = a->res.out.truncated;
    rr->stderr_truncated = a->res.err.truncated;
    rr->message = a->res.v.message;
    rr->wall_ms = a->res.wall_ms;
    /* Rounded up, so that a run whose CPU time was measured never reads as
     * 0 ("not known"). */
    rr->cpu_ms = a->res.cpu_us >= (uint64_t)UINT32_MAX * 1000
                     ? UINT32_MAX
                     : (uint32_t)((a->res.cpu_us + 999) / 1000);
    rr->peak_memory_bytes = a->res.peak_memory_bytes;
    rr->language = (char *)a->spec.lang->name;
    rr->language_version = a->ls.version;
    a->limits.timeout_ms = (uint32_t)a->spec.timeout_ms;
    a->limits.memory_bytes = (uint64_t)a->spec.memory_bytes;
    a->limits.output_limit_bytes = (uint32_t)a->spec.output_limit_bytes;
    rr->limits = &a->limits;
    a->status = SCE_OK;
    /* Queued before the answer is sent, so a History call made after the
     * answer sees this run; the write itself happens on the writer. */
    record_run(h, rq, a, started_ms, rid, tenant);
}

void service_run_answer_free(service_run_answer *a)
{
    if (a->ran)
        exec_result_free(&a->res);
    request_spec_free(&a->spec);
    a->ran = 0;
}

/* ------------------------------------------------------------ batch */

typedef struct batch_task {
    const exec_env *env;
    history *h;
    const Sce__V1__RunRequest *rq;
    const char *tenant;
    char rid[64];
    service_run_answer *answer;
    struct batch_sync *sync;
    pthread_t thread;
    int started;
} batch_task;

/* The batch answers once every task has its result; the tasks' threads
 * then go on settling their containers (exec_settle) and are joined when
 * the answer is freed, after it was sent. */
typedef struct batch_sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t done;
    batch_task *tasks;
} batch_sync;

static void *batch_task_main(void *arg)
{
    batch_task *t = arg;

    service_run(t->env, t->h, t->rq, 0, t->rid, t->tenant, NULL, t->answer);
    pthread_mutex_lock(&t->sync->lock);
    t->sync->done++;
    pthread_cond_signal(&t->sync->cond);
    pthread_mutex_unlock(&t->sync->lock);
    if (t->answer->ran)
        exec_settle(&t->answer->res);
    return NULL;
}

void service_batch(const exec_env *env, history *h, const Sce__V1__BatchRequest *rq,
                   const char *rid, const char *tenant, service_batch_answer *a)
{
    size_t n = rq != NULL ? rq->n_tasks : 0;
    batch_task *tasks = NULL;
    batch_sync *sync = NULL;

    memset(a, 0, sizeof(*a));
    sce__v1__batch_result__init(&a->result);
    if (n == 0) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "batch: no tasks");
        return;
    }
    if (n > (size_t)env->opt->batch_limit) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "batch: %zu tasks; the limit is %lld", n,
                   (long long)env->opt->batch_limit);
        return;
    }
    a->runs = calloc(n, sizeof(*a->runs));
    a->items = calloc(n, sizeof(*a->items));
    a->item_ptrs = calloc(n, sizeof(*a->item_ptrs));
    a->statuses = calloc(n, sizeof(*a->statuses));
    tasks = calloc(n, sizeof(*tasks));
    sync = calloc(1, sizeof(*sync));
    if (a->runs == NULL || a->items == NULL || a->item_ptrs == NULL || a->statuses == NULL ||
        tasks == NULL || sync == NULL) {
        a->status = SCE_ERR_NO_MEMORY;
        sce_seterr(a->message, sizeof(a->message), "out of memory for a batch of %zu", n);
        goto out;
    }
    a->n = n;
    pthread_mutex_init(&sync->lock, NULL);
    pthread_cond_init(&sync->cond, NULL);
    sync->tasks = tasks;
    a->sync = sync;
    tasks = NULL;
    sync = NULL;
    SCE_LOG(SCE_LOG_INFO, rid, "batch of %zu tasks", n);
    for (size_t i = 0; i < n; i++) {
        batch_task *t = &a->sync->tasks[i];

        t->env = env;
        t->h = h;
        t->rq = rq->tasks[i];
        t->tenant = tenant;
        t->answer = &a->runs[i];
        t->sync = a->sync;
        snprintf(t->rid, sizeof(t->rid), "%s-%zu", rid, i);
        t->started = pthread_create(&t->thread, NULL, batch_task_main, t) == 0;
    }
    /* A task whose thread could not start runs here, after the others
     * have started: later, but still run. */
    for (size_t i = 0; i < n; i++)
        if (!a->sync->tasks[i].started)
            batch_task_main(&a->sync->tasks[i]);
    pthread_mutex_lock(&a->sync->lock);
    while (a->sync->done < n)
        pthread_cond_wait(&a->sync->cond, &a->sync->lock);
    pthread_mutex_unlock(&a->sync->lock);

    for (size_t i = 0; i < n; i++) {
        service_run_answer *r = &a->runs[i];

        sce__v1__batch_item__init(&a->items[i]);
        sce__v1__status__init(&a->statuses[i]);
        a->statuses[i].code = (Sce__V1__StatusCode)r->status;
        a->statuses[i].message = r->status == SCE_OK ? "" : r->message;
        a->items[i].status = &a->statuses[i];
        if (r->status == SCE_OK)
            a->items[i].result = &r->result;
        a->item_ptrs[i] = &a->items[i];
    }
    a->result.n_items = n;
    a->result.items = a->item_ptrs;
    a->status = SCE_OK;
out:
    free(tasks);
    free(sync);
}

void service_batch_answer_free(service_batch_answer *a)
{
    /* The tasks' threads may still be settling their containers. */
    if (a->sync != NULL) {
        for (size_t i = 0; i < a->n; i++)
            if (a->sync->tasks[i].started)
                pthread_join(a->sync->tasks[i].thread, NULL);
        pthread_cond_destroy(&a->sync->cond);
        pthread_mutex_destroy(&a->sync->lock);
        free(a->sync->tasks);
        free(a->sync);
    }
    for (size_t i = 0; i < a->n; i++)
        service_run_answer_free(&a->runs[i]);
    free(a->runs);
    free(a->items);
    free(a->item_ptrs);
    free(a->statuses);
    memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------ history */

/* A followed run's id as the registry writes it (lower-case hex) into out
 * (2 * SCE_LIVE_RUN_ID_BYTES + 1 bytes): 1, or 0 when s is not one. */
static int run_id_lower(const char *s, char *out)
{
    size_t n = strlen(s);

    if (n != 2 * SCE_LIVE_RUN_ID_BYTES || strspn(s, "0123456789abcdefABCDEF") != n)
        return 0;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    return 1;
}

void service_history(history *h, const char *tenant, const Sce__V1__HistoryRequest *rq,
                     service_history_answer *a)
{
    char run_id[2 * SCE_LIVE_RUN_ID_BYTES + 1];
    history_query q;
    const char *lang = rq != NULL ? rq->language : NULL;
    int rv;

    memset(a, 0, sizeof(*a));
    sce__v1__history_result__init(&a->result);
    memset(&q, 0, sizeof(q));
    q.limit = rq != NULL ? rq->limit : 0;
    q.offset = rq != NULL ? rq->offset : 0;
    q.verdict = rq != NULL ? (int)rq->verdict : 0;
    q.language = lang;
    q.tenant = tenant;
    q.id = rq != NULL ? rq->id : 0;
    q.run_id = rq != NULL && rq->run_id != NULL && rq->run_id[0] != '\0' ? run_id : NULL;
    if (q.limit == 0)
        q.limit = SCE_HISTORY_PAGE_DEFAULT;
    if (q.limit > SCE_HISTORY_PAGE_MAX)
        q.limit = SCE_HISTORY_PAGE_MAX;
    if (q.id < 0) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "id: %lld is not a run's id", (long long)q.id);
        return;
    }
    if (q.run_id != NULL && !run_id_lower(rq->run_id, run_id)) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "run_id: '%s' is not a run's id (%d hex digits)",
                   sce_utf8_quote(rq->run_id).text, 2 * SCE_LIVE_RUN_ID_BYTES);
        return;
    }
    if (q.run_id != NULL && q.id != 0) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "give id or run_id, not both");
        return;
    }
    if (q.verdict < 0 || q.verdict > SCE__V1__VERDICT__VERDICT_CANCELLED) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "verdict: %d is not a verdict", q.verdict);
        return;
    }
    if (lang != NULL && lang[0] != '\0' && languages_find(lang) == NULL) {
        a->status = SCE_ERR_INVALID_ARGUMENT;
        sce_seterr(a->message, sizeof(a->message), "unknown language '%.64s': use one of %s", lang,
                   languages_names());
        return;
    }
    if (h == NULL) {
        a->status = SCE_OK;
        a->result.enabled = 0;
        return;
    }
    rv = history_fetch(h, &q, &a->page, a->message, sizeof(a->message));
    if (rv != SCE_OK) {
        a->status = rv;
        return;
    }
    if (q.id != 0 && a->page->count == 0) {
        a->status = SCE_ERR_NOT_FOUND;
        sce_seterr(a->message, sizeof(a->message), "no run %lld in the history", (long long)q.id);
        return;
    }
    if (q.run_id != NULL && a->page->count == 0) {
        a->status = SCE_ERR_NOT_FOUND;
        sce_seterr(a->message, sizeof(a->message), "no run %s in the history", q.run_id);
        return;
    }
    a->result.enabled = 1;
    a->result.total = a->page->total;
    if (a->page->count > 0) {
        a->entries = calloc(a->page->count, sizeof(*a->entries));
        a->entry_ptrs = calloc(a->page->count, sizeof(*a->entry_ptrs));
        if (a->entries == NULL || a->entry_ptrs == NULL) {
            a->status = SCE_ERR_NO_MEMORY;
            sce_seterr(a->message, sizeof(a->message), "out of memory");
            return;
        }
    }
    for (size_t i = 0; i < a->page->count; i++) {
        const history_row *r = &a->page->rows[i];
        Sce__V1__HistoryEntry *e = &a->entries[i];

        sce__v1__history_entry__init(e);
        e->id = r->id;
        e->time_ms = r->time_ms;
        e->language = r->language;
        e->code = r->code;
        e->code_truncated = r->code_truncated;
        e->entry = r->entry;
        e->files = r->files;
        e->verdict = (Sce__V1__Verdict)r->verdict;
        e->exit_code = r->exit_code;
        e->output = r->output;
        e->output_truncated = r->output_truncated;
        e->message = r->message;
        e->wall_ms = r->wall_ms;
        e->request_id = r->request_id;
        e->stderr = r->stderr_text;
        e->stderr_truncated = r->stderr_truncated;
        e->tenant = r->tenant;
        e->truncated = r->truncated;
        e->run_id = r->run_id;
        e->signal = r->signal;
        e->cpu_ms = r->cpu_ms;
        e->peak_memory_bytes = r->peak_memory_bytes;
        e->meta.data = r->meta;
        e->meta.len = r->meta_len;
        a->entry_ptrs[i] = e;
    }
    a->result.n_entries = a->page->count;
    a->result.entries = a->entry_ptrs;
    a->status = SCE_OK;
}

void service_history_answer_free(service_history_answer *a)
{
    history_page_free(a->page);
    free(a->entries);
    free(a->entry_ptrs);
    memset(a, 0, sizeof(*a));
}
