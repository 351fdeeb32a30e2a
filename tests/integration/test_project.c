/*
 * test_project.c - integration tests of RunProject, RunBatch and History
 * against the real server and the real Docker Engine, through libsce.
 *
 * Projects and batches run on the server of the ctest fixture `stack`
 * (its URL comes from $SCE_TEST_STACK_ENV).  History runs on servers this
 * test starts itself, each with a history database in its own temporary
 * directory, so the pages hold exactly this test's runs and a restart can
 * be shown: the path of sce-server comes from argv[1].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sce.pb-c.h"
#include "sce/client.h"

#include "stack_env.h"

static char server_url[512];
static const char *server_bin;
static sce_client *client;
static char workdir[64];

/* ------------------------------------------------------------ helpers */

static void load_stack_env(void)
{
    stack_value v[] = {{"SCE_SERVER", server_url, sizeof(server_url), 1}};

    stack_env_load(v, 1);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay ? hay : "(null)");
}

static void assert_verdict(const sce_run_result *r, sce_verdict v)
{
    if (r->verdict != v)
        fail_msg("verdict %s, expected %s; exit %d, message \"%s\"\nstdout: %.2000s\nstderr: "
                 "%.2000s",
                 sce_verdict_name(r->verdict), sce_verdict_name(v), r->exit_code, r->message,
                 r->stdout_data, r->stderr_data);
}

static sce_run_result *run_project(sce_client *c, const char *language, const sce_file *files,
                                   size_t n, const char *entry)
{
    sce_run_request rq;
    sce_run_result *r = NULL;
    char err[512];
    int rv;

    memset(&rq, 0, sizeof(rq));
    rq.language = language;
    rq.files = files;
    rq.nfiles = n;
    rq.entry = entry;
    rv = sce_client_run_project(c, &rq, &r, err, sizeof(err));
    if (rv != SCE_OK)
        fail_msg("run_project: %s: %s", sce_err_name(rv), err);
    return r;
}

static sce_run_result *run_code(sce_client *c, const char *language, const char *code)
{
    sce_run_request rq;
    sce_run_result *r = NULL;
    char err[512];
    int rv;

    memset(&rq, 0, sizeof(rq));
    rq.language = language;
    rq.code = code;
    rv = sce_client_run(c, &rq, &r, err, sizeof(err));
    if (rv != SCE_OK)
        fail_msg("run: %s: %s", sce_err_name(rv), err);
    return r;
}

/* A ZIP in memory, built with libarchive's writer. */
static unsigned char *make_zip(const sce_file *files, size_t n, size_t *len)
{
    size_t room = 1 << 20;
    unsigned char *buf = malloc(room);
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    archive_write_set_format_zip(a);
    archive_write_open_memory(a, buf, room, len);
    for (size_t i = 0; i < n; i++) {
        archive_entry_clear(e);
        archive_entry_set_pathname(e, files[i].path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)files[i].len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        archive_write_data(a, files[i].data, files[i].len);
    }
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    return buf;
}

/* Counts "create" events of containers labelled with this request id since
 * `since` (unix seconds), asking the engine directly. */
static size_t count_creates_cb(char *p, size_t size, size_t n, void *arg)
{
    size_t *count = arg, len = size * n;

    for (size_t i = 0; i + 16 <= len; i++)
        if (memcmp(p + i, "\"Action\":\"create", 16) == 0)
            (*count)++;
    return len;
}

static size_t container_creates(const char *request_id, long since)
{
    char url[1024];
    size_t count = 0;
    CURL *h = curl_easy_init();
    long until = (long)time(NULL) + 1;

    snprintf(
        url, sizeof(url),
        "http://localhost/v1.41/events?since=%ld&until=%ld&filters=%%7B%%22label%%22%%3A%%5B%%22"
        "org.sce.request-id%%3D%s%%22%%5D%%7D",
        since, until, request_id);
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, "/var/run/docker.sock");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_creates_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &count);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    return count;
}

/* Sends a RunProject with a chosen request id; returns the status code and
 * the message. */
static int raw_project(const char *request_id, Sce__V1__File **files, size_t n, const char *entry,
                       uint64_t memory_bytes, char *msg, size_t msglen)
{
    Sce__V1__Request rq = SCE__V1__REQUEST__INIT;
    Sce__V1__RunRequest run = SCE__V1__RUN_REQUEST__INIT;
    Sce__V1__Limits lim = SCE__V1__LIMITS__INIT;
    Sce__V1__Response *resp;
    uint8_t *buf;
    void *out = NULL;
    size_t out_len = 0, len;
    char err[256];
    int code;

    run.language = "python";
    run.n_files = n;
    run.files = files;
    run.entry = (char *)entry;
    lim.memory_bytes = memory_bytes;
    run.limits = &lim;
    rq.method = SCE__V1__METHOD__METHOD_RUN_PROJECT;
    rq.request_id = (char *)request_id;
    rq.body_case = SCE__V1__REQUEST__BODY_RUN_PROJECT;
    rq.run_project = &run;
    len = sce__v1__request__get_packed_size(&rq);
    buf = malloc(len);
    sce__v1__request__pack(&rq, buf);
    assert_int_equal(sce_client_call_raw(client, buf, len, &out, &out_len, err, sizeof(err)),
                     SCE_OK);
    resp = sce__v1__response__unpack(NULL, out_len, out);
    assert_non_null(resp);
    assert_int_equal(resp->method, SCE__V1__METHOD__METHOD_RUN_PROJECT);
    assert_string_equal(resp->request_id, request_id);
    code = resp->status ? (int)resp->status->code : 0;
    snprintf(msg, msglen, "%s", resp->status && resp->status->message ? resp->status->message : "");
    sce__v1__response__free_unpacked(resp, NULL);
    free(out);
    free(buf);
    return code;
}

/* ------------------------------------------------------------ servers of our own */

typedef struct own_server {
    pid_t pid;
    char url[256];
    char log[256];
} own_server;

/* Servers still running, stopped at the end even when a test failed half
 * way (cmocka leaves a failed test by longjmp). */
static pid_t running[8];

static void running_set(pid_t old, pid_t now)
{
    for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
        if (running[i] == old) {
            running[i] = now;
            return;
        }
    }
}

static void stop_leftover_servers(void)
{
    for (size_t i = 0; i < sizeof(running) / sizeof(running[0]); i++) {
        if (running[i] > 0) {
            kill(running[i], SIGTERM);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
    }
}

/* Starts sce-server with instance `name`, listening on an ipc socket in
 * the work directory, plus `extra` arguments (NULL-terminated); returns
 * when it answers Health. */
static void server_start(own_server *s, const char *name, const char *const *extra)
{
    const char *argv[32];
    char instance[128];
    size_t n = 0;

    snprintf(s->url, sizeof(s->url), "ipc://%s/%s.sock", workdir, name);
    snprintf(s->log, sizeof(s->log), "%s/%s.log", workdir, name);
    snprintf(instance, sizeof(instance), "test-project-%d-%s", (int)getpid(), name);
    argv[n++] = server_bin;
    argv[n++] = "--listen";
    argv[n++] = s->url;
    argv[n++] = "--instance";
    argv[n++] = instance;
    argv[n++] = "--pool-size";
    argv[n++] = "0";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        FILE *f = freopen(s->log, "a", stderr);

        (void)f;
        execv(server_bin, (char *const *)argv);
        _exit(127);
    }
    running_set(0, s->pid);
    for (int i = 0; i < 100; i++) {
        sce_client *c = NULL;
        sce_health *h = NULL;
        char err[256];
        int ok = sce_client_open(s->url, &c, err, sizeof(err)) == SCE_OK &&
                 sce_client_health(c, &h, err, sizeof(err)) == SCE_OK;

        sce_health_free(h);
        sce_client_close(c);
        if (ok)
            return;
        usleep(100 * 1000);
    }
    fail_msg("sce-server %s did not start; see %s", name, s->log);
}

static void server_stop(own_server *s)
{
    int status = 0;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    running_set(s->pid, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    s->pid = 0;
}

static sce_client *open_client(const char *url)
{
    sce_client *c = NULL;
    char err[256];

    assert_int_equal(sce_client_open(url, &c, err, sizeof(err)), SCE_OK);
    sce_client_set_timeout(c, 60000);
    return c;
}

static sce_history_page *history(sce_client *c, uint32_t limit, uint32_t offset,
                                 sce_verdict verdict, const char *language)
{
    sce_history_query q = {limit, offset, verdict, language, NULL};
    sce_history_page *p = NULL;
    char err[512];
    int rv = sce_client_history(c, &q, &p, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("history: %s: %s", sce_err_name(rv), err);
    return p;
}

/* ------------------------------------------------------------ projects */

static void test_python_project(void **state)
{
    static const char main_py[] = "import sys\nimport helper\nimport pkg\nfrom pkg import mod\n"
                                  "print(helper.twice(21), pkg.NAME, mod.VALUE, sys.argv[1:])\n";
    sce_file files[] = {
        {"main.py", main_py, sizeof(main_py) - 1},
        {"helper.py", "def twice(x):\n    return 2 * x\n", 31},
        {"pkg/__init__.py", "NAME = 'pkg'\n", 13},
        {"pkg/mod.py", "VALUE = 7\n", 10},
    };
    sce_run_result *r = run_project(client, "python", files, 4, NULL);

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "42 pkg 7 []\n");
    assert_string_equal(r->language, "python");
    sce_run_result_free(r);

    /* Another entry; a traceback names the project's files. */
    files[1].data = "def twice(x):\n    return x / 0\n";
    files[1].len = strlen(files[1].data);
    r = run_project(client, "python", files, 4, "main.py");
    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    assert_string_equal(r->message, "ZeroDivisionError: division by zero");
    assert_contains(r->stderr_data, "helper.py\", line 2, in twice");
    sce_run_result_free(r);
}

static void test_node_project(void **state)
{
    static const char main_js[] = "const util = require('./lib/util.js');\n"
                                  "const { name } = require('./lib/name');\n"
                                  "console.log(util.add(2, 3), name);\n";
    sce_file files[] = {
        {"main.js", main_js, sizeof(main_js) - 1},
        {"lib/util.js", "exports.add = (a, b) => a + b;\n", 31},
        {"lib/name.js", "module.exports = { name: 'sce' };\n", 34},
    };
    sce_run_result *r = run_project(client, "node", files, 3, NULL);

    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "5 sce\n");
    sce_run_result_free(r);

    r = run_project(client, "node", files + 1, 2, "lib/util.js");
    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "");
    sce_run_result_free(r);
}

static void test_zip_project(void **state)
{
    static const char start[] = "from app.tools import shout\nprint(shout('zip'))\n";
    sce_file files[] = {
        {"run.py", start, sizeof(start) - 1},
        {"app/__init__.py", "", 0},
        {"app/tools.py", "def shout(s):\n    return s.upper() + '!'\n", 40},
    };
    size_t zlen = 0;
    unsigned char *zip = make_zip(files, 3, &zlen);
    sce_bundle *b = NULL;
    const char *entry, *language;
    sce_run_request rq;
    sce_run_result *r = NULL;
    char err[512];

    assert_int_equal(sce_bundle_from_zip(zip, zlen, NULL, &b, err, sizeof(err)), SCE_OK);
    assert_int_equal(sce_bundle_pick_entry(b, NULL, "run.py", &entry, &language, err, sizeof(err)),
                     SCE_OK);
    memset(&rq, 0, sizeof(rq));
    rq.language = language;
    rq.files = b->files;
    rq.nfiles = b->count;
    rq.entry = entry;
    assert_int_equal(sce_client_run_project(client, &rq, &r, err, sizeof(err)), SCE_OK);
    assert_verdict(r, SCE_VERDICT_OK);
    assert_string_equal(r->stdout_data, "ZIP!\n");
    sce_run_result_free(r);
    sce_bundle_free(b);
    free(zip);
}

static void test_hostile_zip_never_reaches_a_container(void **state)
{
    sce_file evil[] = {{"main.py", "print(1)\n", 9}, {"../../etc/cron.d/x", "boom", 4}};
    size_t zlen = 0;
    unsigned char *zip = make_zip(evil, 2, &zlen);
    sce_bundle *b = NULL;
    char err[512], msg[512], rid_bad[64], rid_good[64];
    long since = (long)time(NULL) - 1;
    Sce__V1__File f0 = SCE__V1__FILE__INIT, f1 = SCE__V1__FILE__INIT;
    Sce__V1__File *pf[2] = {&f0, &f1};

    /* libsce refuses the archive: nothing is sent at all. */
    assert_int_equal(sce_bundle_from_zip(zip, zlen, NULL, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "zip: entry '../../etc/cron.d/x' has a '..' segment");
    assert_null(b);
    free(zip);

    /* A client that skips that check and sends the files as they are gets
     * INVALID_ARGUMENT from the server, and no container is created. */
    snprintf(rid_bad, sizeof(rid_bad), "zipbad%d", (int)getpid());
    snprintf(rid_good, sizeof(rid_good), "zipgood%d", (int)getpid());
    f0.path = "main.py";
    f0.content.data = (uint8_t *)"print(1)\n";
    f0.content.len = 9;
    f1.path = "../../etc/cron.d/x";
    f1.content.data = (uint8_t *)"boom";
    f1.content.len = 4;
    assert_int_equal(raw_project(rid_bad, pf, 2, "main.py", 0, msg, sizeof(msg)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(msg, "files[1].path '../../etc/cron.d/x' has a '..' segment");
    /* The entry must be one of the files. */
    assert_int_equal(raw_project(rid_bad, pf, 1, "app.py", 0, msg, sizeof(msg)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(msg, "entry 'app.py' is not among the files");
    /* RunProject needs files. */
    assert_int_equal(raw_project(rid_bad, pf, 0, "main.py", 0, msg, sizeof(msg)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(msg, "RunProject needs files (and an entry)");
    /* The control: a good project with a memory limit other than the warm
     * pool's gets a container of its own, labelled with its request id. */
    assert_int_equal(raw_project(rid_good, pf, 1, "main.py", 100u << 20, msg, sizeof(msg)), SCE_OK);
    assert_int_equal(container_creates(rid_good, since), 1);
    assert_int_equal(container_creates(rid_bad, since), 0);
}

/* ------------------------------------------------------------ batches */

static void test_batch_order_and_isolation(void **state)
{
    sce_run_request t[5];
    sce_batch_result *b = NULL;
    char err[512];
    long long from[3], to[3];
    int overlaps = 0;
    static const int timed[3] = {0, 2, 4};

    memset(t, 0, sizeof(t));
    t[0].language = "python";
    /* Tasks 0, 2 and 4 sleep 5 s and report, on stderr, when they started
     * and ended (ms since the epoch; containers share the host's clock). */
    t[0].code = "import sys, time\nt = time.time()\ntime.sleep(5)\nprint('first')\n"
                "print(int(t * 1000), int(time.time() * 1000), file=sys.stderr)\n";
    t[1].language = "python";
    t[1].code = "print('looping', flush=True)\nwhile True:\n    pass\n";
    t[1].timeout_ms = 3000;
    t[2].language = "node";
    t[2].code = "const t = Date.now();\n"
                "setTimeout(() => { console.log('third'); console.error(t, Date.now()); }, 5000);\n";
    t[3].language = "python";
    t[3].code = "print('before')\nprint(undefined_name)\n";
    t[4].language = "node";
    t[4].code = "const t = Date.now();\n"
                "setTimeout(() => { console.log('fifth'); console.error(t, Date.now()); }, 5000);\n";

    assert_int_equal(sce_client_run_batch(client, t, 5, &b, err, sizeof(err)), SCE_OK);
    assert_int_equal(b->count, 5);
    for (size_t i = 0; i < 5; i++)
        if (b->items[i].status != SCE_OK)
            fail_msg("task %zu: %s: %s", i, sce_err_name(b->items[i].status), b->items[i].message);
    assert_verdict(b->items[0].result, SCE_VERDICT_OK);
    assert_string_equal(b->items[0].result->stdout_data, "first\n");
    assert_verdict(b->items[1].result, SCE_VERDICT_TIMEOUT);
    assert_string_equal(b->items[1].result->stdout_data, "looping\n");
    assert_string_equal(b->items[1].result->message, "Execution timed out after 3 seconds");
    assert_int_equal(b->items[1].result->timeout_ms, 3000);
    assert_verdict(b->items[2].result, SCE_VERDICT_OK);
    assert_string_equal(b->items[2].result->stdout_data, "third\n");
    assert_string_equal(b->items[2].result->language, "node");
    assert_verdict(b->items[3].result, SCE_VERDICT_RUNTIME_ERROR);
    assert_string_equal(b->items[3].result->message,
                        "NameError: name 'undefined_name' is not defined");
    assert_verdict(b->items[4].result, SCE_VERDICT_OK);
    assert_string_equal(b->items[4].result->stdout_data, "fifth\n");
    /* The limits of one task are its own. */
    assert_int_equal(b->items[0].result->timeout_ms, 10000);
    /* Each task ran as <batch id>-<i>. */
    assert_int_equal(strlen(b->request_id), 16);
    assert_true(strncmp(b->items[2].result->request_id, b->request_id, 16) == 0);
    assert_string_equal(b->items[2].result->request_id + 16, "-2");
    /* In parallel: two of the sleepers were running at the same moment.
     * One after the other, each would start after the one before had
     * ended.  (Not all three: on a loaded engine a container of its own can
     * take seconds to start, and that is still parallel.) */
    for (int i = 0; i < 3; i++) {
        const char *e = b->items[timed[i]].result->stderr_data;
        if (sscanf(e, "%lld %lld", &from[i], &to[i]) != 2)
            fail_msg("task %d: no times on stderr: %s", timed[i], e);
    }
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            overlaps += (from[i] > from[j] ? from[i] : from[j]) < (to[i] < to[j] ? to[i] : to[j]);
    if (overlaps == 0)
        fail_msg("the tasks ran one after the other: %lld-%lld, %lld-%lld, %lld-%lld", from[0],
                 to[0], from[1], to[1], from[2], to[2]);
    sce_batch_result_free(b);
}

static void test_batch_invalid_task_is_its_own(void **state)
{
    sce_run_request t[3];
    sce_batch_result *b = NULL;
    char err[512];

    memset(t, 0, sizeof(t));
    t[0].language = "ruby";
    t[0].code = "puts 1";
    t[1].language = "python";
    t[1].code = "print(6 * 7)\n";
    t[2].language = "python";
    t[2].code = "print(1)\n";
    t[2].timeout_ms = 20000; /* more than the server allows */
    assert_int_equal(sce_client_run_batch(client, t, 3, &b, err, sizeof(err)), SCE_OK);
    assert_int_equal(b->count, 3);
    assert_int_equal(b->items[0].status, SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(b->items[0].message, "unknown language 'ruby': use one of python, node");
    assert_null(b->items[0].result);
    assert_int_equal(b->items[1].status, SCE_OK);
    assert_string_equal(b->items[1].message, "");
    assert_string_equal(b->items[1].result->stdout_data, "42\n");
    assert_int_equal(b->items[2].status, SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(b->items[2].message, "limits.timeout_ms: 20 seconds is more than the "
                                             "server's maximum of 10 seconds");
    sce_batch_result_free(b);
}

static void test_batch_too_many_tasks(void **state)
{
    sce_run_request t[6];
    sce_batch_result *b = NULL;
    char err[512];

    memset(t, 0, sizeof(t));
    for (int i = 0; i < 6; i++) {
        t[i].language = "python";
        t[i].code = "print(1)\n";
    }
    assert_int_equal(sce_client_run_batch(client, t, 6, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "batch: 6 tasks; the limit is 5");
    assert_null(b);
    assert_int_equal(sce_client_run_batch(client, t, 0, &b, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_null(b);
}

/* ------------------------------------------------------------ history */

static void test_history_pages_filters_and_restart(void **state)
{
    char db[256];
    const char *args[] = {"--history-path", db, NULL};
    own_server s;
    sce_client *c;
    sce_history_page *p;
    sce_run_result *r;
    sce_file files[] = {{"main.py", "import lib\nprint(lib.X)\n", 24}, {"lib.py", "X = 5\n", 6}};

    snprintf(db, sizeof(db), "%s/state/history.db", workdir);
    server_start(&s, "hist", args);
    c = open_client(s.url);

    p = history(c, 0, 0, 0, NULL);
    assert_true(p->enabled);
    assert_int_equal(p->total, 0);
    assert_int_equal(p->count, 0);
    sce_history_page_free(p);

    r = run_code(c, "python", "print('one')\n");
    assert_verdict(r, SCE_VERDICT_OK);
    sce_run_result_free(r);
    r = run_code(c, "node", "console.log('two'); process.exit(3);\n");
    assert_verdict(r, SCE_VERDICT_RUNTIME_ERROR);
    sce_run_result_free(r);
    r = run_project(c, "python", files, 2, "main.py");
    assert_verdict(r, SCE_VERDICT_OK);
    sce_run_result_free(r);
    r = run_code(c, "python", "raise SystemExit(4)\n");
    sce_run_result_free(r);

    /* Newest first, everything a run leaves. */
    p = history(c, 10, 0, 0, NULL);
    assert_int_equal(p->total, 4);
    assert_int_equal(p->count, 4);
    for (size_t i = 1; i < p->count; i++)
        assert_true(p->entries[i - 1].id > p->entries[i].id);
    assert_string_equal(p->entries[1].code, "import lib\nprint(lib.X)\n");
    assert_string_equal(p->entries[1].entry, "main.py");
    assert_int_equal(p->entries[1].files, 2);
    assert_string_equal(p->entries[1].output, "5\n");
    assert_int_equal(p->entries[1].verdict, SCE_VERDICT_OK);
    assert_string_equal(p->entries[2].language, "node");
    assert_string_equal(p->entries[2].entry, "");
    assert_int_equal(p->entries[2].exit_code, 3);
    assert_int_equal(p->entries[2].verdict, SCE_VERDICT_RUNTIME_ERROR);
    assert_string_equal(p->entries[3].output, "one\n");
    assert_int_equal(strlen(p->entries[3].request_id), 16);
    assert_true(p->entries[3].time_ms > (int64_t)(time(NULL) - 600) * 1000);
    sce_history_page_free(p);

    /* Paging. */
    p = history(c, 2, 1, 0, NULL);
    assert_int_equal(p->total, 4);
    assert_int_equal(p->count, 2);
    assert_string_equal(p->entries[0].entry, "main.py");
    assert_string_equal(p->entries[1].language, "node");
    sce_history_page_free(p);
    p = history(c, 2, 4, 0, NULL);
    assert_int_equal(p->count, 0);
    sce_history_page_free(p);

    /* Filters. */
    p = history(c, 10, 0, SCE_VERDICT_RUNTIME_ERROR, NULL);
    assert_int_equal(p->total, 2);
    assert_int_equal(p->entries[0].exit_code, 4);
    assert_int_equal(p->entries[1].exit_code, 3);
    sce_history_page_free(p);
    p = history(c, 10, 0, SCE_VERDICT_RUNTIME_ERROR, "python");
    assert_int_equal(p->total, 1);
    assert_int_equal(p->entries[0].exit_code, 4);
    sce_history_page_free(p);
    p = history(c, 10, 0, 0, "node");
    assert_int_equal(p->total, 1);
    sce_history_page_free(p);
    {
        sce_history_query bad = {10, 0, 0, "ruby", NULL};
        char err[256];

        p = NULL;
        assert_int_equal(sce_client_history(c, &bad, &p, err, sizeof(err)),
                         SCE_ERR_INVALID_ARGUMENT);
        assert_string_equal(err, "unknown language 'ruby': use one of python, node");
        assert_null(p);
    }

    /* A batch leaves one entry per task. */
    {
        sce_run_request t[2];
        sce_batch_result *b = NULL;
        char err[256];

        memset(t, 0, sizeof(t));
        t[0].language = "python";
        t[0].code = "print('b0')\n";
        t[1].language = "node";
        t[1].code = "console.log('b1')\n";
        assert_int_equal(sce_client_run_batch(c, t, 2, &b, err, sizeof(err)), SCE_OK);
        sce_batch_result_free(b);
    }
    p = history(c, 10, 0, 0, NULL);
    assert_int_equal(p->total, 6);
    sce_history_page_free(p);
    sce_client_close(c);

    /* A restart, same database: everything is still there. */
    server_stop(&s);
    server_start(&s, "hist", args);
    c = open_client(s.url);
    p = history(c, 100, 0, 0, NULL);
    assert_int_equal(p->total, 6);
    assert_string_equal(p->entries[5].output, "one\n");
    sce_history_page_free(p);
    r = run_code(c, "python", "print('after')\n");
    sce_run_result_free(r);
    p = history(c, 1, 0, 0, NULL);
    assert_int_equal(p->total, 7);
    assert_string_equal(p->entries[0].output, "after\n");
    sce_history_page_free(p);
    sce_client_close(c);
    server_stop(&s);
}

/* A History read while every worker is busy with a long run: it has a
 * path of its own (rpc.c, reader_enqueue), so it is answered while the
 * runs are still running, not after one of them ends. */
typedef struct long_run {
    sce_client *c;
    atomic_int *done;
    int verdict;
} long_run;

static void *long_run_main(void *arg)
{
    long_run *l = arg;
    sce_run_request rq = {.language = "python", .code = "import time\ntime.sleep(8)\n"};
    sce_run_result *r = NULL;
    char err[256];

    l->verdict = sce_client_run(l->c, &rq, &r, err, sizeof(err)) == SCE_OK ? (int)r->verdict : -1;
    sce_run_result_free(r);
    atomic_fetch_add(l->done, 1);
    return NULL;
}

static void test_history_read_while_workers_busy(void **state)
{
    char db[256];
    const char *args[] = {"--history-path", db, "--workers", "2", NULL};
    own_server s;
    sce_client *c;
    sce_history_page *p;
    sce_health *h = NULL;
    atomic_int done = 0;
    long_run runs[2];
    pthread_t threads[2];
    char err[256];
    int busy = 0;

    (void)state;
    snprintf(db, sizeof(db), "%s/busy/history.db", workdir);
    server_start(&s, "busy", args);
    c = open_client(s.url);
    for (int i = 0; i < 2; i++) {
        runs[i] = (long_run){c, &done, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, long_run_main, &runs[i]), 0);
    }
    /* Both workers taken. */
    for (int i = 0; i < 100 && busy < 2; i++) {
        assert_int_equal(sce_client_health(c, &h, err, sizeof(err)), SCE_OK);
        busy = (int)h->busy_workers;
        sce_health_free(h);
        h = NULL;
        if (busy < 2)
            usleep(50 * 1000);
    }
    assert_int_equal(busy, 2);
    p = history(c, 10, 0, 0, NULL);
    assert_true(p->enabled);
    sce_history_page_free(p);
    /* Answered while both runs still hold their workers. */
    assert_int_equal(atomic_load(&done), 0);
    assert_int_equal(sce_client_health(c, &h, err, sizeof(err)), SCE_OK);
    assert_int_equal(h->busy_workers, 2);
    sce_health_free(h);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(runs[i].verdict, SCE_VERDICT_OK);
    }
    p = history(c, 10, 0, 0, NULL);
    assert_int_equal(p->total, 2);
    sce_history_page_free(p);
    sce_client_close(c);
    server_stop(&s);
}

static void test_history_off_and_corrupt(void **state)
{
    char db[256], err[512], want[512];
    const char *off[] = {"--history", "off", NULL};
    const char *bad[] = {"--history-path", db, NULL};
    own_server s;
    sce_client *c;
    sce_history_page *p = NULL;
    sce_run_result *r;
    FILE *f;

    /* history = off: the server answers, and says it keeps nothing. */
    server_start(&s, "off", off);
    c = open_client(s.url);
    r = run_code(c, "python", "print(1)\n");
    sce_run_result_free(r);
    p = history(c, 0, 0, 0, NULL);
    assert_false(p->enabled);
    assert_int_equal(p->count, 0);
    assert_int_equal(p->total, 0);
    sce_history_page_free(p);
    sce_client_close(c);
    server_stop(&s);

    /* A corrupt database: the server runs all the same; History says why. */
    snprintf(db, sizeof(db), "%s/corrupt.db", workdir);
    f = fopen(db, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs("definitely not SQLite ", f);
    fclose(f);
    server_start(&s, "corrupt", bad);
    c = open_client(s.url);
    r = run_code(c, "python", "print('still runs')\n");
    assert_verdict(r, SCE_VERDICT_OK);
    sce_run_result_free(r);
    p = NULL;
    assert_int_equal(sce_client_history(c, NULL, &p, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    snprintf(want, sizeof(want), "history is unavailable: %s: file is not a database", db);
    assert_string_equal(err, want);
    assert_null(p);
    sce_client_close(c);
    server_stop(&s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_project),
        cmocka_unit_test(test_node_project),
        cmocka_unit_test(test_zip_project),
        cmocka_unit_test(test_hostile_zip_never_reaches_a_container),
        cmocka_unit_test(test_batch_order_and_isolation),
        cmocka_unit_test(test_batch_invalid_task_is_its_own),
        cmocka_unit_test(test_batch_too_many_tasks),
        cmocka_unit_test(test_history_pages_filters_and_restart),
        cmocka_unit_test(test_history_off_and_corrupt),
        cmocka_unit_test(test_history_read_while_workers_busy),
    };
    char err[256], cmd[128];
    int failed;

    if (argc != 2) {
        fprintf(stderr, "usage: test_project PATH-OF-sce-server\n");
        return 2;
    }
    server_bin = argv[1];
    load_stack_env();
    snprintf(workdir, sizeof(workdir), "/tmp/sce-test-project.XXXXXX");
    if (mkdtemp(workdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sce_client_open(server_url, &client, err, sizeof(err)) != SCE_OK) {
        fprintf(stderr, "sce_client_open(%s): %s\n", server_url, err);
        return 1;
    }
    sce_client_set_timeout(client, 60000);
    failed = cmocka_run_group_tests_name("project", tests, NULL, NULL);
    stop_leftover_servers();
    sce_client_close(client);
    curl_global_cleanup();
    if (failed == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", workdir);
    } else {
        fprintf(stderr, "server logs kept in %s\n", workdir);
    }
    return failed;
}
