/*
 * test_client.c - libsce against a scripted fake server (fake_server.c):
 * result mapping, status and transport errors, the request on the wire,
 * input validation and concurrent calls.  No real sce-server, no Docker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>

#include "fake_server.h"
#include "sce/client.h"
#include "tcp_tap.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sce_client *open_client(const char *url, uint32_t timeout_ms)
{
    sce_client *c = NULL;
    char err[256];

    assert_int_equal(sce_client_open(url, &c, err, sizeof(err)), SCE_OK);
    assert_non_null(c);
    sce_client_set_timeout(c, timeout_ms);
    return c;
}

static const sce_run_request simple_run = {.language = "python", .code = "print(1)"};

/* ------------------------------------------------------------ handlers */

static const char binary_stdout[] = "a\0b\0\xff\n"; /* 6 bytes */

static void h_full_run(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                       void *arg)
{
    r->run.verdict = SCE__V1__VERDICT__VERDICT_RUNTIME_ERROR;
    r->run.exit_code = 3;
    r->run.signal = 9;
    r->run.stdout.data = (uint8_t *)binary_stdout;
    r->run.stdout.len = sizeof(binary_stdout) - 1;
    r->run.stderr.data = (uint8_t *)"err\n";
    r->run.stderr.len = 4;
    r->run.stdout_truncated = 1;
    r->run.stderr_truncated = 0;
    r->run.message = "NameError: name 'x' is not defined";
    r->run.wall_ms = 1234;
    r->run.cpu_ms = 567;
    r->run.peak_memory_bytes = 89000000000ull;
    r->run.language = "python";
    r->run.language_version = "3.11.2";
    r->limits.timeout_ms = 10000;
    r->limits.memory_bytes = 268435456;
    r->limits.output_limit_bytes = 65536;
}

static void h_echo(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    if (req != NULL && req->body_case == SCE__V1__REQUEST__BODY_RUN) {
        r->run.stdout.data = (uint8_t *)req->run->code;
        r->run.stdout.len = strlen(req->run->code);
    }
}

static void h_status(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    r->status.code = SCE__V1__STATUS_CODE__STATUS_INVALID_ARGUMENT;
    r->status.message = "code is 5001 characters; the limit is 5000";
    r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
}

static void h_status_exhausted(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                               void *arg)
{
    r->status.code = SCE__V1__STATUS_CODE__STATUS_RESOURCE_EXHAUSTED;
    r->status.message = "";
    r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
}

static void h_status_odd(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                         void *arg)
{
    r->status.code = (Sce__V1__StatusCode)6; /* ALREADY_EXISTS: not an sce code */
    r->status.message = "";
    r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
}

static void h_garbage(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                      void *arg)
{
    static const char junk[] = "\xff\xff\xff\xff this is not protobuf";

    r->action = FAKE_RAW;
    r->raw = junk;
    r->raw_len = sizeof(junk) - 1;
}

static void h_method_mismatch(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                              void *arg)
{
    r->resp.method = SCE__V1__METHOD__METHOD_HEALTH;
}

static void h_no_body(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                      void *arg)
{
    r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
}

static void h_silent(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    r->action = FAKE_SILENT;
}

static void h_hangup(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    r->action = FAKE_HANGUP;
}

static void h_raw_echo(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                       void *arg)
{
    r->action = FAKE_RAW;
    r->raw = b;
    r->raw_len = n;
}

static void h_languages(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                        void *arg)
{
    static char *py_ext[] = {".py"};
    static char *js_ext[] = {".js", ".mjs", ".cjs"};

    r->languages.n_languages = 2;
    r->language[0].name = "python";
    r->language[0].version = "3.11.2";
    r->language[0].image = "sce-python:latest";
    r->language[0].default_entry = "main.py";
    r->language[0].n_extensions = 1;
    r->language[0].extensions = py_ext;
    r->language[0].available = 1;
    r->language[1].name = "node";
    r->language[1].version = "";
    r->language[1].image = "sce-node:latest";
    r->language[1].default_entry = "main.js";
    r->language[1].n_extensions = 3;
    r->language[1].extensions = js_ext;
    r->language[1].available = 0;
    r->language[1].message = "image sce-node:latest is missing";
}

static void h_health(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r, void *arg)
{
    r->health.serving = 1;
    r->health.engine_ok = 0;
    r->health.engine_message = "cannot connect to /var/run/docker.sock";
    r->health.engine_version = "20.10.24";
    r->health.server_version = "0.1.0";
    r->health.instance_id = "host-1234";
    r->health.workers = 8;
    r->health.busy_workers = 3;
    r->health.queued = 2;
    r->health.queue_capacity = 64;
    r->health.uptime_ms = 987654321012ull;
    r->health.runs_total = 5000000000ull;
}

/* ------------------------------------------------------------ open */

static void test_open_errors(void **state)
{
    sce_client *c = (sce_client *)0x1;
    char err[256];

    assert_int_equal(sce_client_open("not a url", &c, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(c, (sce_client *)0x1);
    assert_non_null(strstr(err, "not a url"));
    assert_int_equal(sce_client_open("bogus://x", &c, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_open("", &c, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_open("tcp://127.0.0.1:1", NULL, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(c, (sce_client *)0x1);
    sce_client_close(NULL);
}

static void test_open_env(void **state)
{
    char url[128];
    fake_server *f;
    sce_client *c = NULL;
    sce_run_result *r = NULL;
    char err[256];

    f = fake_start_tcp(h_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    setenv(SCE_SERVER_ENV, url, 1);
    assert_int_equal(sce_client_open(NULL, &c, err, sizeof(err)), SCE_OK);
    unsetenv(SCE_SERVER_ENV);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
    assert_string_equal(r->stdout_data, "print(1)");
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(f);
}

/* ------------------------------------------------------------ run mapping */

static void test_run_result_mapping(void **state)
{
    char url[128];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = NULL;
    char err[256];

    f = fake_start_tcp(h_full_run, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
    assert_string_equal(err, "");
    assert_non_null(r);
    assert_int_equal(r->verdict, SCE_VERDICT_RUNTIME_ERROR);
    assert_int_equal(r->exit_code, 3);
    assert_int_equal(r->signal, 9);
    assert_int_equal(r->stdout_len, 6);
    assert_memory_equal(r->stdout_data, binary_stdout, 6);
    assert_int_equal(r->stdout_data[6], '\0');
    assert_int_equal(r->stderr_len, 4);
    assert_string_equal(r->stderr_data, "err\n");
    assert_int_equal(r->stdout_truncated, 1);
    assert_int_equal(r->stderr_truncated, 0);
    assert_string_equal(r->message, "NameError: name 'x' is not defined");
    assert_int_equal(r->wall_ms, 1234);
    assert_int_equal(r->cpu_ms, 567);
    assert_true(r->peak_memory_bytes == 89000000000ull);
    assert_string_equal(r->language, "python");
    assert_string_equal(r->language_version, "3.11.2");
    assert_int_equal(r->timeout_ms, 10000);
    assert_true(r->memory_bytes == 268435456ull);
    assert_int_equal(r->output_limit_bytes, 65536);
    assert_int_equal(strlen(r->request_id), 16);
    assert_string_equal(r->request_id, fake_last_request(f)->request_id);
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(f);
}

static void test_run_empty_result(void **state)
{
    char url[128];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = NULL;
    char err[256];

    /* An all-default RunResult still gives non-NULL, empty strings. */
    f = fake_start_tcp(h_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    sce_run_request req = {.language = "python", .code = ""};
    assert_int_equal(sce_client_run(c, &req, &r, err, sizeof(err)), SCE_OK);
    assert_int_equal(r->verdict, SCE_VERDICT_OK);
    assert_int_equal(r->stdout_len, 0);
    assert_string_equal(r->stdout_data, "");
    assert_string_equal(r->stderr_data, "");
    assert_string_equal(r->message, "");
    assert_string_equal(r->language, "");
    assert_string_equal(r->language_version, "");
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(f);
}

/* ------------------------------------------------------------ the wire */

static int is_hex16(const char *s)
{
    if (s == NULL || strlen(s) != 16)
        return 0;
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void test_request_fields(void **state)
{
    static const char *const args[] = {"a", "b c", ""};
    char url[128];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = NULL;
    const Sce__V1__Request *q;
    char err[256], first_id[17];

    f = fake_start_tcp(h_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 4321);
    sce_run_request req = {
        .language = "node",
        .code = "console.log(1)",
        .stdin_data = "in\0put",
        .stdin_len = 6,
        .args = args,
        .nargs = 3,
        .timeout_ms = 1500,
        .memory_bytes = 64u << 20,
        .output_limit_bytes = 1000,
    };
    assert_int_equal(sce_client_run(c, &req, &r, err, sizeof(err)), SCE_OK);
    q = fake_last_request(f);
    assert_non_null(q);
    assert_int_equal(q->method, SCE__V1__METHOD__METHOD_RUN);
    assert_int_equal(q->body_case, SCE__V1__REQUEST__BODY_RUN);
    assert_true(is_hex16(q->request_id));
    assert_string_equal(r->request_id, q->request_id);
    assert_int_equal(q->deadline_ms, 4321);
    assert_string_equal(q->run->language, "node");
    assert_string_equal(q->run->code, "console.log(1)");
    assert_int_equal(q->run->stdin.len, 6);
    assert_memory_equal(q->run->stdin.data, "in\0put", 6);
    assert_int_equal(q->run->n_args, 3);
    assert_string_equal(q->run->args[0], "a");
    assert_string_equal(q->run->args[1], "b c");
    assert_string_equal(q->run->args[2], "");
    assert_non_null(q->run->limits);
    assert_int_equal(q->run->limits->timeout_ms, 1500);
    assert_true(q->run->limits->memory_bytes == (64u << 20));
    assert_int_equal(q->run->limits->output_limit_bytes, 1000);
    assert_int_equal(q->run->n_files, 0);
    strcpy(first_id, q->request_id);
    sce_run_result_free(r);

    /* A bundle of files instead of code; a fresh request id each call. */
    sce_file files[] = {{"main.js", "require('./lib/x')", 18}, {"lib/x.js", "\0\1", 2}};
    sce_run_request breq = {.language = "node", .files = files, .nfiles = 2, .entry = "main.js"};
    sce_client_set_timeout(c, 0);
    assert_int_equal(sce_client_run(c, &breq, &r, err, sizeof(err)), SCE_OK);
    q = fake_last_request(f);
    assert_true(is_hex16(q->request_id));
    assert_string_not_equal(q->request_id, first_id);
    assert_int_equal(q->deadline_ms, 0); /* timeout 0: wait for ever */
    assert_string_equal(q->run->code, "");
    assert_string_equal(q->run->entry, "main.js");
    assert_int_equal(q->run->n_files, 2);
    assert_string_equal(q->run->files[0]->path, "main.js");
    assert_int_equal(q->run->files[0]->content.len, 18);
    assert_string_equal(q->run->files[1]->path, "lib/x.js");
    assert_int_equal(q->run->files[1]->content.len, 2);
    assert_memory_equal(q->run->files[1]->content.data, "\0\1", 2);
    assert_int_equal(q->run->stdin.len, 0);
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(f);
}

/* ------------------------------------------------------------ followed runs, meta */

#define RUN_A "0123456789abcdef0123456789abcdef"

static const char meta_bytes[] = "{\"k\":1}\0\xff"; /* binary: 9 bytes */

/* Answers RUN_START, RUN_POLL and HISTORY as the server would for a
 * detached run with meta.  arg: the run id the history entry names. */
static void h_followed(const Sce__V1__Request *req, const void *b, size_t n, fake_reply *r,
                       void *arg)
{
    static Sce__V1__RunStarted started;
    static Sce__V1__RunEvents events;
    static Sce__V1__HistoryResult page;
    static Sce__V1__HistoryEntry entry, *entries[1];

    if (req == NULL)
        return;
    switch (req->method) {
    case SCE__V1__METHOD__METHOD_RUN_START:
        sce__v1__run_started__init(&started);
        started.run_id = RUN_A;
        r->resp.body_case = SCE__V1__RESPONSE__BODY_RUN_STARTED;
        r->resp.run_started = &started;
        break;
    case SCE__V1__METHOD__METHOD_RUN_POLL:
        sce__v1__run_events__init(&events);
        events.run_id = RUN_A;
        events.running = 1;
        if (req->run_poll->after_seq == 0) {
            events.meta.data = (uint8_t *)meta_bytes;
            events.meta.len = sizeof(meta_bytes) - 1;
        }
        r->resp.body_case = SCE__V1__RESPONSE__BODY_RUN_EVENTS;
        r->resp.run_events = &events;
        break;
    case SCE__V1__METHOD__METHOD_HISTORY:
        sce__v1__history_result__init(&page);
        sce__v1__history_entry__init(&entry);
        page.enabled = 1;
        entry.id = 7;
        entry.run_id = arg;
        entry.signal = 9;
        entry.cpu_ms = 1234;
        entry.peak_memory_bytes = 5ull << 30;
        entry.meta.data = (uint8_t *)meta_bytes;
        entry.meta.len = sizeof(meta_bytes) - 1;
        entries[0] = &entry;
        page.n_entries = 1;
        page.total = 1;
        page.entries = entries;
        r->resp.body_case = SCE__V1__RESPONSE__BODY_HISTORY;
        r->resp.history = &page;
        break;
    default:
        break;
    }
}

/* meta, detached and stdin_close on the wire; meta read back from a first poll and
 * from a run's history entry, with its run id, signal, CPU time and peak
 * memory; an entry of another run id is NOT_FOUND; a meta over the limit
 * is refused before anything is sent. */
static void test_followed_meta(void **state)
{
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    sce_run_started *st = NULL;
    sce_run_events *ev = NULL;
    sce_history_entry *e = NULL;
    const Sce__V1__Request *q;
    sce_run_request req = {.language = "python",
                           .code = "print(1)",
                           .tenant = "alice",
                           .meta = meta_bytes,
                           .meta_len = sizeof(meta_bytes) - 1,
                           .detached = 1,
                           .stdin_close = 1};
    int sent;

    f = fake_start_tcp(h_followed, RUN_A);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 2000);
    assert_int_equal(sce_client_run_start(c, &req, &st, err, sizeof(err)), SCE_OK);
    q = fake_last_request(f);
    assert_int_equal(q->method, SCE__V1__METHOD__METHOD_RUN_START);
    assert_int_equal(q->run_start->meta.len, sizeof(meta_bytes) - 1);
    assert_memory_equal(q->run_start->meta.data, meta_bytes, sizeof(meta_bytes) - 1);
    assert_true(q->run_start->detached);
    assert_true(q->run_start->stdin_close);
    assert_string_equal(st->run_id, RUN_A);
    sce_run_started_free(st);
    req.stdin_close = 0;
    assert_int_equal(sce_client_run_start(c, &req, &st, err, sizeof(err)), SCE_OK);
    assert_false(fake_last_request(f)->run_start->stdin_close);
    sce_run_started_free(st);

    assert_int_equal(sce_client_run_poll(c, RUN_A, "alice", 0, 0, &ev, err, sizeof(err)), SCE_OK);
    assert_int_equal(ev->meta_len, sizeof(meta_bytes) - 1);
    assert_memory_equal(ev->meta, meta_bytes, sizeof(meta_bytes) - 1);
    assert_int_equal(ev->meta[ev->meta_len], '\0');
    sce_run_events_free(ev);
    ev = NULL;
    assert_int_equal(sce_client_run_poll(c, RUN_A, "alice", 3, 0, &ev, err, sizeof(err)), SCE_OK);
    assert_null(ev->meta);
    assert_int_equal(ev->meta_len, 0);
    sce_run_events_free(ev);

    assert_int_equal(sce_client_history_get_run(c, RUN_A, "alice", &e, err, sizeof(err)), SCE_OK);
    q = fake_last_request(f);
    assert_int_equal(q->method, SCE__V1__METHOD__METHOD_HISTORY);
    assert_string_equal(q->history->run_id, RUN_A);
    assert_int_equal(q->history->id, 0);
    assert_string_equal(q->tenant, "alice");
    assert_int_equal(e->id, 7);
    assert_string_equal(e->run_id, RUN_A);
    assert_int_equal(e->signal, 9);
    assert_int_equal(e->cpu_ms, 1234);
    assert_true(e->peak_memory_bytes == 5ull << 30);
    assert_int_equal(e->meta_len, sizeof(meta_bytes) - 1);
    assert_memory_equal(e->meta, meta_bytes, sizeof(meta_bytes) - 1);
    sce_history_entry_free(e);
    e = NULL;
    /* By id: the same fields come along. */
    assert_int_equal(sce_client_history_get(c, 7, NULL, &e, err, sizeof(err)), SCE_OK);
    assert_string_equal(e->run_id, RUN_A);
    assert_int_equal(e->meta_len, sizeof(meta_bytes) - 1);
    sce_history_entry_free(e);
    e = NULL;

    /* The answer names another run: not this one. */
    assert_int_equal(sce_client_history_get_run(c, "ffffffffffffffffffffffffffffffff", NULL, &e,
                                                err, sizeof(err)),
                     SCE_ERR_NOT_FOUND);
    assert_string_equal(err, "no run ffffffffffffffffffffffffffffffff in the history");
    assert_null(e);

    sent = fake_requests(f);
    req.meta_len = SCE_RUN_META_MAX_BYTES + 1;
    assert_int_equal(sce_client_run_start(c, &req, &st, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "meta is 262145 bytes; the limit is 262144");
    assert_int_equal(fake_requests(f), sent);
    assert_int_equal(sce_client_history_get_run(c, "", NULL, &e, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(fake_requests(f), sent);
    sce_client_close(c);
    fake_stop(f);
}

/* ------------------------------------------------------------ errors */

static void test_status_error(void **state)
{
    char url[128];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = (sce_run_result *)0x1;
    sce_health *h = (sce_health *)0x1;
    char err[256], tiny[8];

    f = fake_start_tcp(h_status, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "code is 5001 characters; the limit is 5000");
    assert_ptr_equal(r, (sce_run_result *)0x1);
    /* A short errbuf is truncated and terminated; NULL is accepted. */
    assert_int_equal(sce_client_run(c, &simple_run, &r, tiny, sizeof(tiny)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(tiny, "code is");
    assert_int_equal(sce_client_run(c, &simple_run, &r, NULL, 0), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_health(c, &h, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(h, (sce_health *)0x1);
    sce_client_close(c);
    fake_stop(f);

    /* An empty status message falls back to the code's text. */
    f = fake_start_tcp(h_status_exhausted, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)),
                     SCE_ERR_RESOURCE_EXHAUSTED);
    assert_string_equal(err, "resource exhausted");
    sce_client_close(c);
    fake_stop(f);

    /* A status code sce does not know becomes UNKNOWN. */
    f = fake_start_tcp(h_status_odd, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_UNKNOWN);
    assert_non_null(strstr(err, "6"));
    sce_client_close(c);
    fake_stop(f);
}

static void expect_internal(fake_handler h, const char *needle)
{
    char url[128];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = (sce_run_result *)0x1;
    sce_language_list *l = (sce_language_list *)0x1;
    char err[256];

    f = fake_start_tcp(h, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_INTERNAL);
    assert_ptr_equal(r, (sce_run_result *)0x1);
    assert_non_null(strstr(err, needle));
    assert_int_equal(sce_client_languages(c, &l, err, sizeof(err)), SCE_ERR_INTERNAL);
    assert_ptr_equal(l, (sce_language_list *)0x1);
    sce_client_close(c);
    fake_stop(f);
}

static void test_garbage_answer(void **state)
{
    expect_internal(h_garbage, "malformed answer");
}

static void test_method_mismatch(void **state)
{
    expect_internal(h_method_mismatch, "with method health");
}

static void test_missing_body(void **state)
{
    expect_internal(h_no_body, "carries no");
}

static void test_no_server(void **state)
{
    char url[128], want[200], err[256];
    sce_client *c;
    sce_run_result *r = NULL;
    sce_health *h = NULL;
    void *raw = NULL;
    size_t raw_len = 0;
    int64_t t0;

    /* TCP: connection refused. */
    fake_dead_tcp_url(url, sizeof(url));
    c = open_client(url, 5000);
    t0 = now_ms();
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 1000);
    snprintf(want, sizeof(want), "cannot reach sce-server at %s (is it running?)", url);
    assert_string_equal(err, want);
    assert_int_equal(sce_client_health(c, &h, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_int_equal(sce_client_call_raw(c, "x", 1, &raw, &raw_len, err, sizeof(err)),
                     SCE_ERR_UNAVAILABLE);
    assert_null(r);
    assert_null(h);
    assert_null(raw);
    sce_client_close(c);

    /* (IPC without a socket file is covered by test_cli: nng 1.5's ipc
     * dialer leaks when closed while retrying, which valgrind reports.) */

    /* inproc: nobody listening. */
    c = open_client("inproc://sce-nobody", 5000);
    t0 = now_ms();
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 1000);
    sce_client_close(c);
}

static void test_deadline(void **state)
{
    char url[128], want[200], err[256];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = NULL;
    int64_t t0, dt;

    f = fake_start_tcp(h_silent, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 300);
    t0 = now_ms();
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)),
                     SCE_ERR_DEADLINE_EXCEEDED);
    dt = now_ms() - t0;
    assert_true(dt >= 290);
    assert_true(dt < 2000);
    snprintf(want, sizeof(want), "no answer from %s within 300 ms", url);
    assert_string_equal(err, want);
    assert_int_equal(fake_requests(f), 1);
    assert_null(r);
    sce_client_close(c);
    fake_stop(f);
}

/* The server dies with the request outstanding: UNAVAILABLE at once, and the
 * request is not sent again to the server that comes back. */
static void test_hangup_no_resend(void **state)
{
    char url[128], err[256];
    fake_server *f, *g;
    sce_client *c;
    sce_run_result *r = NULL;
    int64_t t0;

    f = fake_start_tcp(h_hangup, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    t0 = now_ms();
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_true(now_ms() - t0 < 2000);
    assert_non_null(strstr(err, "lost the connection"));
    assert_null(r);
    fake_stop(f);

    g = fake_start(url, h_echo, NULL);
    t0 = now_ms();
    while (fake_connections(g) == 0 && now_ms() - t0 < 2500)
        usleep(10000);
    assert_true(fake_connections(g) > 0);
    usleep(100000);
    assert_int_equal(fake_requests(g), 0);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
    assert_string_equal(r->stdout_data, "print(1)");
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(g);
}

/* A client opened before its server: UNAVAILABLE, then fine once it is up. */
static void test_server_comes_later(void **state)
{
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = NULL;

    fake_dead_tcp_url(url, sizeof(url));
    c = open_client(url, 3000);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    f = fake_start(url, h_echo, NULL);
    assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
    sce_run_result_free(r);
    sce_client_close(c);
    fake_stop(f);
}

/* Over ipc:// the reachability probe must complete the SP handshake: nng
 * 1.5's ipc listener stops accepting for good after a peer hangs up during
 * it.  Fresh clients (each probes once) must all get through. */
static void test_ipc_probe_keeps_listener(void **state)
{
    char url[128], err[256];
    fake_server *f;

    fake_url(url, sizeof(url));
    f = fake_start(url, h_echo, NULL);
    for (int i = 0; i < 5; i++) {
        sce_client *c = open_client(url, 3000);
        sce_run_result *r = NULL;

        assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
        sce_run_result_free(r);
        sce_client_close(c);
    }
    assert_int_equal(fake_requests(f), 5);
    fake_stop(f);
}

/* Over tcp:// too, every connection libsce makes must carry at least the
 * 8-byte SP header before it ends: nng 1.5's listener sleeps 100 ms before
 * its next accept when a peer hangs up during the handshake, and the
 * connection behind it (the client's own, a fresh process's every time)
 * waits for that.  A tap between client and server counts the bytes each
 * connection sent; fresh clients, each probing once, are watched. */
static void test_tcp_probe_completes_handshake(void **state)
{
    char err[256];
    fake_server *f = fake_start_tcp(h_echo, NULL);
    tcp_tap *tap = tap_start(fake_server_url(f));

    for (int i = 0; i < 3; i++) {
        sce_client *c = open_client(tap_url(tap), 3000);
        sce_run_result *r = NULL;

        assert_int_equal(sce_client_run(c, &simple_run, &r, err, sizeof(err)), SCE_OK);
        assert_string_equal(r->stdout_data, "print(1)");
        sce_run_result_free(r);
        sce_client_close(c);
    }
    assert_true(tap_wait_idle(tap, 5000));
    assert_true(tap_connections(tap) >= 3);
    assert_int_equal(tap_short_connections(tap, 8), 0);
    assert_int_equal(fake_requests(f), 3);
    tap_stop(tap);
    fake_stop(f);
}

/* ------------------------------------------------------------ other methods */

static void test_languages(void **state)
{
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    sce_language_list *l = NULL;

    f = fake_start_tcp(h_languages, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_languages(c, &l, err, sizeof(err)), SCE_OK);
    assert_int_equal(fake_last_request(f)->method, SCE__V1__METHOD__METHOD_LANGUAGES);
    assert_int_equal(fake_last_request(f)->body_case, SCE__V1__REQUEST__BODY_LANGUAGES);
    assert_int_equal(l->count, 2);
    assert_string_equal(l->items[0].name, "python");
    assert_string_equal(l->items[0].version, "3.11.2");
    assert_string_equal(l->items[0].image, "sce-python:latest");
    assert_string_equal(l->items[0].default_entry, "main.py");
    assert_int_equal(l->items[0].nextensions, 1);
    assert_string_equal(l->items[0].extensions[0], ".py");
    assert_int_equal(l->items[0].available, 1);
    assert_string_equal(l->items[0].message, "");
    assert_string_equal(l->items[1].name, "node");
    assert_string_equal(l->items[1].version, "");
    assert_int_equal(l->items[1].nextensions, 3);
    assert_string_equal(l->items[1].extensions[2], ".cjs");
    assert_int_equal(l->items[1].available, 0);
    assert_string_equal(l->items[1].message, "image sce-node:latest is missing");
    sce_language_list_free(l);
    sce_language_list_free(NULL);
    sce_client_close(c);
    fake_stop(f);
}

static void test_health(void **state)
{
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    sce_health *h = NULL;

    f = fake_start_tcp(h_health, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_health(c, &h, err, sizeof(err)), SCE_OK);
    assert_int_equal(fake_last_request(f)->method, SCE__V1__METHOD__METHOD_HEALTH);
    assert_int_equal(h->serving, 1);
    assert_int_equal(h->engine_ok, 0);
    assert_string_equal(h->engine_message, "cannot connect to /var/run/docker.sock");
    assert_string_equal(h->engine_version, "20.10.24");
    assert_string_equal(h->server_version, "0.1.0");
    assert_string_equal(h->instance_id, "host-1234");
    assert_int_equal(h->workers, 8);
    assert_int_equal(h->busy_workers, 3);
    assert_int_equal(h->queued, 2);
    assert_int_equal(h->queue_capacity, 64);
    assert_true(h->uptime_ms == 987654321012ull);
    assert_true(h->runs_total == 5000000000ull);
    sce_health_free(h);
    sce_health_free(NULL);
    sce_client_close(c);
    fake_stop(f);
}

static void test_call_raw(void **state)
{
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    void *out = NULL;
    size_t len = 99;

    f = fake_start_tcp(h_raw_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);
    assert_int_equal(sce_client_call_raw(c, "\x08\x01\xff\x00z", 5, &out, &len, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "\x08\x01\xff\x00z", 5);
    free(out);
    out = NULL;
    assert_int_equal(sce_client_call_raw(c, NULL, 0, &out, &len, err, sizeof(err)), SCE_OK);
    assert_int_equal(len, 0);
    assert_non_null(out);
    free(out);
    sce_client_close(c);
    fake_stop(f);
}

/* ------------------------------------------------------------ validation */

static void test_validation(void **state)
{
    static const char *const bad_args[] = {"a", NULL};
    char url[128], err[256];
    fake_server *f;
    sce_client *c;
    sce_run_result *r = (sce_run_result *)0x1;
    void *raw = NULL;
    size_t raw_len;
    sce_file nofile[] = {{NULL, "x", 1}};
    sce_file file[] = {{"main.py", "x", 1}};

    f = fake_start_tcp(h_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 5000);

    assert_int_equal(sce_client_run(c, NULL, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "the run request is NULL");
    sce_run_request q1 = {.code = "x"};
    assert_int_equal(sce_client_run(c, &q1, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "the run request names no language");
    sce_run_request q2 = {.language = "python"};
    assert_int_equal(sce_client_run(c, &q2, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    sce_run_request q3 = {.language = "python", .code = "x", .files = file, .nfiles = 1};
    assert_int_equal(sce_client_run(c, &q3, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    sce_run_request q4 = {.language = "python", .files = nofile, .nfiles = 1};
    assert_int_equal(sce_client_run(c, &q4, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    sce_run_request q5 = {.language = "python", .code = "x", .args = bad_args, .nargs = 2};
    assert_int_equal(sce_client_run(c, &q5, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_string_equal(err, "argument 1 is NULL");
    sce_run_request q6 = {.language = "python", .code = "x", .stdin_len = 3};
    assert_int_equal(sce_client_run(c, &q6, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    sce_run_request q7 = {.language = "python", .code = "x", .nargs = 1};
    assert_int_equal(sce_client_run(c, &q7, &r, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_run(NULL, &simple_run, &r, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_run(c, &simple_run, NULL, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_languages(c, NULL, err, sizeof(err)), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_health(NULL, NULL, NULL, 0), SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_call_raw(c, "x", 1, NULL, &raw_len, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_int_equal(sce_client_call_raw(c, NULL, 1, &raw, &raw_len, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_ptr_equal(r, (sce_run_result *)0x1);
    assert_null(raw);
    sce_client_set_timeout(NULL, 5);
    assert_int_equal(fake_requests(f), 0);
    sce_client_close(c);
    fake_stop(f);
}

static void test_verdict_names(void **state)
{
    assert_string_equal(sce_verdict_name(SCE_VERDICT_OK), "ok");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_RUNTIME_ERROR), "runtime_error");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_TIMEOUT), "timeout");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_MEMORY_LIMIT), "memory_limit");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_OUTPUT_LIMIT), "output_limit");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_REJECTED), "rejected");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_INTERNAL_ERROR), "internal_error");
    assert_string_equal(sce_verdict_name(SCE_VERDICT_UNSPECIFIED), "unspecified");
    assert_string_equal(sce_verdict_name(42), "unspecified");
    assert_string_equal(sce_verdict_name(-1), "unspecified");
}

/* ------------------------------------------------------------ threads */

#define THREADS 4
#define CALLS_PER_THREAD 25

typedef struct worker {
    sce_client *c;
    int index;
    int failures;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;

    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        char code[64], err[256];
        sce_run_result *r = NULL;

        snprintf(code, sizeof(code), "print('thread %d call %d')", w->index, i);
        sce_run_request req = {.language = "python", .code = code};
        if (sce_client_run(w->c, &req, &r, err, sizeof(err)) != SCE_OK ||
            strcmp(r->stdout_data, code) != 0)
            w->failures++;
        sce_run_result_free(r);
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    char url[128];
    fake_server *f;
    sce_client *c;
    pthread_t t[THREADS];
    worker w[THREADS];

    f = fake_start_tcp(h_echo, NULL);
    snprintf(url, sizeof(url), "%s", fake_server_url(f));
    c = open_client(url, 10000);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.c = c, .index = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(fake_requests(f), THREADS * CALLS_PER_THREAD);
    sce_client_close(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_open_env),
        cmocka_unit_test(test_run_result_mapping),
        cmocka_unit_test(test_run_empty_result),
        cmocka_unit_test(test_request_fields),
        cmocka_unit_test(test_followed_meta),
        cmocka_unit_test(test_status_error),
        cmocka_unit_test(test_garbage_answer),
        cmocka_unit_test(test_method_mismatch),
        cmocka_unit_test(test_missing_body),
        cmocka_unit_test(test_no_server),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_hangup_no_resend),
        cmocka_unit_test(test_server_comes_later),
        cmocka_unit_test(test_ipc_probe_keeps_listener),
        cmocka_unit_test(test_tcp_probe_completes_handshake),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_call_raw),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_concurrent_calls),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    nng_fini();
    return failed;
}
