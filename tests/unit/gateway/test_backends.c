/*
 * test_backends.c - the gateway's backends (web-gateway/backends.c) against
 * in-process fake sce-servers (tests/unit/client/fake_server.c: an nng REP
 * socket on 127.0.0.1 served by a thread), no Docker engine: the --server
 * spec and its errors, dns://localhost, health polls taking backends down
 * and back up, how calls are spread, at most once (a run lost with its
 * server is never sent to another), busy and never-sent runs going on to
 * another backend, reads going on after a transport failure, and a stop
 * that leaves no thread behind.
 *
 * Each fake counts the requests it received by kind and answers as its
 * test scripts it (fields of `fake`, changed while it runs).  Conditions
 * that the pollers bring about are waited for with a deadline, never with
 * a fixed sleep.  Run one test with `test_backends <name pattern>`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../client/fake_server.h"
#include "backends.h"
#include "common/clock.h"
#include "gateway_limits.h"
#include "metrics.h"
#include "sce/client.h"

/* How long a backend may take to change state: a poll every
 * GW_BACKENDS_POLL_INTERVAL_MS, plus a margin for a loaded machine. */
#define STATE_WAIT_MS (2 * GW_BACKENDS_POLL_INTERVAL_MS + 1000)
#define RPC_TIMEOUT_MS 5000u

/* ------------------------------------------------------------ the fakes */

enum health_mode { H_OK, H_ENGINE_DOWN, H_NOT_SERVING, H_SILENT };
enum run_mode { RUN_OK, RUN_BUSY, RUN_HANGUP, RUN_SILENT, RUN_GATE };

typedef struct fake {
    fake_server *srv;
    char url[128];
    char name[16];
    atomic_int health_mode;
    atomic_int run_mode;
    atomic_int run_delay_ms; /* before answering (or hanging up) */
    atomic_int runs;         /* Run requests received */
    atomic_int reads;        /* Languages and History requests received */
    atomic_int healths;      /* Health requests received */
    Sce__V1__HistoryResult history;
    /* Followed runs: the ids this fake started (its thread's alone) and
     * the follow-ups (poll, stdin, cancel) it received. */
    char started[64][33];
    int nstarted;
    atomic_int starts;
    atomic_int follows;
    Sce__V1__RunStarted run_started;
    Sce__V1__RunEvents run_events;
} fake;

/* Shared by every fake of a test, reset by fakes_new. */
static atomic_int busy_budget;   /* RUN_BUSY answers busy while this is > 0 */
static atomic_int hangup_budget; /* reads hang up while this is > 0 */
static atomic_int gate_arrived;  /* runs waiting at the gate (RUN_GATE) */
static atomic_int gate_open;

/* Every Run request id any fake received, to find one received twice. */
#define MAX_IDS 256
static pthread_mutex_t ids_mtx = PTHREAD_MUTEX_INITIALIZER;
static char ids[MAX_IDS][40];
static int nids;

static void id_record(const char *id)
{
    pthread_mutex_lock(&ids_mtx);
    if (nids < MAX_IDS)
        snprintf(ids[nids++], sizeof(ids[0]), "%s", id);
    pthread_mutex_unlock(&ids_mtx);
}

static atomic_int next_run_id; /* run ids, unique across the fakes */

static int take(atomic_int *budget)
{
    int n = atomic_load(budget);

    while (n > 0 && !atomic_compare_exchange_weak(budget, &n, n - 1))
        ;
    return n > 0;
}

static void script_cb(const Sce__V1__Request *req, const void *bytes, size_t len, fake_reply *r,
                      void *arg)
{
    fake *f = arg;
    int64_t deadline;

    (void)bytes;
    (void)len;
    if (req == NULL)
        return;
    switch (req->method) {
    case SCE__V1__METHOD__METHOD_HEALTH:
        atomic_fetch_add(&f->healths, 1);
        switch (atomic_load(&f->health_mode)) {
        case H_SILENT:
            r->action = FAKE_SILENT;
            return;
        case H_ENGINE_DOWN:
            r->health.serving = 1;
            r->health.engine_ok = 0;
            r->health.engine_message = "fake engine: connection refused";
            break;
        case H_NOT_SERVING:
            r->health.serving = 0;
            r->health.engine_ok = 1;
            break;
        default:
            r->health.serving = 1;
            r->health.engine_ok = 1;
            break;
        }
        r->health.instance_id = f->name;
        r->health.workers = 4;
        return;
    case SCE__V1__METHOD__METHOD_RUN:
        atomic_fetch_add(&f->runs, 1);
        id_record(req->request_id);
        if (atomic_load(&f->run_delay_ms) > 0)
            sce_sleep_ms(atomic_load(&f->run_delay_ms));
        switch (atomic_load(&f->run_mode)) {
        case RUN_BUSY:
            if (take(&busy_budget)) {
                r->status.code = SCE__V1__STATUS_CODE__STATUS_RESOURCE_EXHAUSTED;
                r->status.message = "busy: every worker is running code (fake)";
                r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
                r->resp.run = NULL;
                return;
            }
            break;
        case RUN_HANGUP:
            r->action = FAKE_HANGUP;
            return;
        case RUN_SILENT:
            r->action = FAKE_SILENT;
            return;
        case RUN_GATE:
            atomic_fetch_add(&gate_arrived, 1);
            deadline = sce_clock_ms() + 3000;
            while (!atomic_load(&gate_open) && sce_clock_ms() < deadline)
                sce_sleep_ms(2);
            break;
        default:
            break;
        }
        r->run.verdict = SCE__V1__VERDICT__VERDICT_OK;
        r->run.stdout.data = (uint8_t *)f->name;
        r->run.stdout.len = strlen(f->name);
        return;
    case SCE__V1__METHOD__METHOD_RUN_START:
        atomic_fetch_add(&f->starts, 1);
        if (atomic_load(&f->run_mode) == RUN_HANGUP) {
            r->action = FAKE_HANGUP;
            return;
        }
        assert_true(f->nstarted < 64);
        snprintf(f->started[f->nstarted], sizeof(f->started[0]), "%032x",
                 (unsigned)atomic_fetch_add(&next_run_id, 1) + 1);
        sce__v1__run_started__init(&f->run_started);
        f->run_started.run_id = f->started[f->nstarted++];
        f->run_started.language = "python";
        f->run_started.limits = &r->limits;
        r->resp.body_case = SCE__V1__RESPONSE__BODY_RUN_STARTED;
        r->resp.run_started = &f->run_started;
        return;
    case SCE__V1__METHOD__METHOD_RUN_POLL:
    case SCE__V1__METHOD__METHOD_RUN_STDIN:
    case SCE__V1__METHOD__METHOD_RUN_CANCEL: {
        const char *id = req->method == SCE__V1__METHOD__METHOD_RUN_POLL    ? req->run_poll->run_id
                         : req->method == SCE__V1__METHOD__METHOD_RUN_STDIN ? req->run_stdin->run_id
                                                                            : req->run_cancel->run_id;
        int known = 0;

        atomic_fetch_add(&f->follows, 1);
        for (int i = 0; i < f->nstarted && !known; i++)
            known = strcmp(f->started[i], id) == 0;
        if (!known) {
            r->status.code = SCE__V1__STATUS_CODE__STATUS_NOT_FOUND;
            r->status.message = "no such run (fake)";
            r->resp.body_case = SCE__V1__RESPONSE__BODY__NOT_SET;
            return;
        }
        if (req->method == SCE__V1__METHOD__METHOD_RUN_POLL) {
            sce__v1__run_events__init(&f->run_events);
            f->run_events.run_id = (char *)id;
            f->run_events.next_seq = req->run_poll->after_seq;
            f->run_events.running = 1;
            r->resp.body_case = SCE__V1__RESPONSE__BODY_RUN_EVENTS;
            r->resp.run_events = &f->run_events;
        }
        return;
    }
    case SCE__V1__METHOD__METHOD_LANGUAGES:
    case SCE__V1__METHOD__METHOD_HISTORY:
        atomic_fetch_add(&f->reads, 1);
        if (take(&hangup_budget)) {
            r->action = FAKE_HANGUP;
            return;
        }
        if (req->method == SCE__V1__METHOD__METHOD_HISTORY) {
            sce__v1__history_result__init(&f->history);
            f->history.enabled = 1;
            f->history.total = 7;
            r->resp.body_case = SCE__V1__RESPONSE__BODY_HISTORY;
            r->resp.history = &f->history;
        } else {
            r->language[0].name = "python";
            r->language[0].available = 1;
            r->languages.n_languages = 1;
        }
        return;
    default:
        return;
    }
}

static fake *fake_new(int i)
{
    fake *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->name, sizeof(f->name), "fake%d", i);
    f->srv = fake_start_tcp(script_cb, f);
    snprintf(f->url, sizeof(f->url), "%s", fake_server_url(f->srv));
    return f;
}

/* A fake whose URL nobody listens at yet (fake_revive starts it). */
static fake *fake_new_dead(int i)
{
    fake *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->name, sizeof(f->name), "fake%d", i);
    fake_dead_tcp_url(f->url, sizeof(f->url));
    return f;
}

/* The listener and its connections closed: the server is gone. */
static void fake_kill(fake *f)
{
    fake_stop(f->srv);
    f->srv = NULL;
}

/* Listening again at the same URL: the server restarted. */
static void fake_revive(fake *f)
{
    fake_stop(f->srv);
    f->srv = fake_start(f->url, script_cb, f);
}

static void fake_free(fake *f)
{
    if (f == NULL)
        return;
    fake_stop(f->srv);
    free(f);
}

static void budgets_reset(void)
{
    atomic_store(&busy_budget, 0);
    atomic_store(&hangup_budget, 0);
    atomic_store(&gate_arrived, 0);
    atomic_store(&gate_open, 0);
    pthread_mutex_lock(&ids_mtx);
    nids = 0;
    pthread_mutex_unlock(&ids_mtx);
}

/* ------------------------------------------------------------ helpers */

static gw_backends *start_ok(const char *spec, uint32_t rpc_timeout_ms)
{
    gw_backends *bs = NULL;
    char err[512] = "";
    int rv = gw_backends_start(spec, rpc_timeout_ms, NULL, &bs, err, sizeof(err));

    if (rv != SCE_OK)
        fail_msg("gw_backends_start(\"%s\"): %d %s", spec, rv, err);
    assert_non_null(bs);
    return bs;
}

static void spec_of(char *out, size_t outlen, fake *const *fs, size_t n)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, outlen - len, "%s%s", i ? "," : "", fs[i]->url);
    assert_true(len < outlen);
}

static gw_backends_snapshot *snap(gw_backends *bs)
{
    gw_backends_snapshot *s = NULL;

    assert_int_equal(gw_backends_snapshot_take(bs, 0, &s), SCE_OK);
    assert_non_null(s);
    return s;
}

static const gw_backend_state *find(const gw_backends_snapshot *s, const char *url)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i].url, url) == 0)
            return &s->items[i];
    return NULL;
}

/* Waits until the backend at url is up (or down), at most wait_ms;
 * returns the milliseconds it took, or fails the test with its state. */
static int64_t wait_state(gw_backends *bs, const char *url, int up, int wait_ms)
{
    int64_t t0 = sce_clock_ms(), deadline = t0 + wait_ms;

    for (;;) {
        gw_backends_snapshot *s = snap(bs);
        const gw_backend_state *b = find(s, url);
        int now_up = b != NULL ? b->up : -1;
        char why[300];

        snprintf(why, sizeof(why), "%s", b != NULL ? b->error : "(not in the snapshot)");
        gw_backends_snapshot_free(s);
        if (now_up == up)
            return sce_clock_ms() - t0;
        if (sce_clock_ms() >= deadline)
            fail_msg("%s is still %s after %d ms (%s)", url, now_up == 1 ? "up" : "down", wait_ms,
                     why);
        sce_sleep_ms(10);
    }
}

static void wait_all_up(gw_backends *bs, fake *const *fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wait_state(bs, fs[i]->url, 1, STATE_WAIT_MS);
}

static const sce_run_request a_run = {.language = "python", .code = "print(1)"};

static int run_once(gw_backends *bs, char *err, size_t errlen)
{
    sce_run_result *res = NULL;
    int rv = gw_backends_run(bs, &a_run, &res, err, errlen);

    if (rv == SCE_OK) {
        assert_non_null(res);
        assert_int_equal(res->verdict, SCE_VERDICT_OK);
        sce_run_result_free(res);
    }
    return rv;
}

static int threads_now(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL)
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(fp);
    return n;
}

/* ------------------------------------------------------------ the spec */

/* Spaces around items, empty items and duplicates: each URL once, in the
 * order given. */
static void test_spec_list(void **state)
{
    char a[64], b[64], spec[400];
    gw_backends *bs;
    gw_backends_snapshot *s;

    (void)state;
    fake_dead_tcp_url(a, sizeof(a));
    fake_dead_tcp_url(b, sizeof(b));
    snprintf(spec, sizeof(spec), "  %s , %s,%s,, ,\t%s\t,", a, b, a, b);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    s = snap(bs);
    assert_int_equal(s->count, 2);
    assert_string_equal(s->items[0].url, a);
    assert_string_equal(s->items[1].url, b);
    assert_string_equal(s->note, "");
    for (size_t i = 0; i < s->count; i++) {
        assert_int_equal(s->items[i].in_flight, 0);
        assert_int_equal(s->items[i].runs, 0);
    }
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    gw_backends_stop(NULL);
}

/* Nothing but separators: no URL. */
static void test_spec_empty(void **state)
{
    static const char *const specs[] = {"", " ", ",", " , ,\t,", NULL};

    (void)state;
    for (size_t i = 0; specs[i] != NULL; i++) {
        gw_backends *bs = NULL;
        char err[256] = "";

        assert_int_equal(gw_backends_start(specs[i], RPC_TIMEOUT_MS, NULL, &bs, err, sizeof(err)),
                         SCE_ERR_INVALID_ARGUMENT);
        assert_null(bs);
        assert_non_null(strstr(err, "no URL"));
    }
}

/* Every bad item is refused with a message that names it, after a good
 * item was already opened (its backend must be closed again). */
static void test_spec_bad_items(void **state)
{
    static const struct {
        const char *item;
        const char *says;
    } bad[] = {
        {"dns://localhost", "dns://NAME:PORT"}, {"dns://:7700", "dns://NAME:PORT"},
        {"dns://localhost:", "port"},           {"dns://localhost:0", "port"},
        {"dns://localhost:65536", "port"},      {"dns://localhost:99999999999999999999", "port"},
        {"dns://localhost:-1", "port"},         {"dns://localhost:77x", "port"},
        {"dns://bad name:7700", "host name"},   {"dns://bad/name:7700", "host name"},
        {"dns://[::1]:7700", "host name"},      {"bogus://x", "malformed"},
        {"tcp//127.0.0.1:7700", "malformed"},
    };
    char good[64];

    (void)state;
    fake_dead_tcp_url(good, sizeof(good));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[256], err[512] = "";
        gw_backends *bs = NULL;
        int rv;

        snprintf(spec, sizeof(spec), "%s, %s", good, bad[i].item);
        rv = gw_backends_start(spec, RPC_TIMEOUT_MS, NULL, &bs, err, sizeof(err));
        if (rv != SCE_ERR_INVALID_ARGUMENT || bs != NULL || strstr(err, bad[i].item) == NULL ||
            strstr(err, bad[i].says) == NULL)
            fail_msg("'%s': rv %d, err \"%s\" (wanted INVALID_ARGUMENT naming it, saying '%s')",
                     bad[i].item, rv, err, bad[i].says);
    }
}

/* GW_BACKENDS_MAX URLs are taken; one more is refused.  ipc:// paths that
 * do not exist: refused at once, and no port of this machine is touched. */
static void test_spec_too_many(void **state)
{
    size_t cap = (GW_BACKENDS_MAX + 1) * 64;
    char *spec = malloc(cap), err[512] = "";
    size_t len = 0;
    gw_backends *bs = NULL;
    gw_backends_snapshot *s;

    (void)state;
    assert_non_null(spec);
    for (int i = 0; i < GW_BACKENDS_MAX; i++)
        len += (size_t)snprintf(spec + len, cap - len, "%sipc:///tmp/sce-backtest-none-%d-%d",
                                i ? "," : "", (int)getpid(), i);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    s = snap(bs);
    assert_int_equal(s->count, GW_BACKENDS_MAX);
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    bs = NULL;

    snprintf(spec + len, cap - len, ",ipc:///tmp/sce-backtest-none-%d-x", (int)getpid());
    assert_int_equal(gw_backends_start(spec, RPC_TIMEOUT_MS, NULL, &bs, err, sizeof(err)),
                     SCE_ERR_INVALID_ARGUMENT);
    assert_null(bs);
    assert_non_null(strstr(err, "more than"));
    free(spec);
}

/* ------------------------------------------------------------ dns:// */

/* dns://localhost:PORT: each address of localhost is a backend
 * tcp://ADDR:PORT; the IPv4 one reaches the fake, is up and runs. */
static void test_dns_localhost(void **state)
{
    fake *f = fake_new(0);
    const char *port = strrchr(f->url, ':') + 1;
    char spec[128], v4[80], v6[80], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;
    int have_v4 = 0;

    (void)state;
    budgets_reset();
    snprintf(spec, sizeof(spec), " dns://localhost:%s ", port);
    snprintf(v4, sizeof(v4), "tcp://127.0.0.1:%s", port);
    snprintf(v6, sizeof(v6), "tcp://[::1]:%s", port);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    s = snap(bs);
    assert_true(s->count >= 1 && s->count <= 2);
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->items[i].url, v4) != 0 && strcmp(s->items[i].url, v6) != 0)
            fail_msg("dns://localhost:%s gave backend %s", port, s->items[i].url);
        have_v4 |= strcmp(s->items[i].url, v4) == 0;
    }
    assert_string_equal(s->note, "");
    gw_backends_snapshot_free(s);
    assert_true(have_v4); /* /etc/hosts names 127.0.0.1 */
    wait_state(bs, v4, 1, STATE_WAIT_MS);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    assert_int_equal(atomic_load(&f->runs), 1);
    gw_backends_stop(bs);
    fake_free(f);
}

/* A name with no address: no backend, a note, and calls answer
 * UNAVAILABLE at once. */
static void test_dns_no_address(void **state)
{
    gw_backends *bs = start_ok("dns://no-such-host.invalid:7700", RPC_TIMEOUT_MS);
    gw_backends_snapshot *s = snap(bs);
    sce_language_list *l = NULL;
    char err[512] = "";

    (void)state;
    assert_int_equal(s->count, 0);
    assert_non_null(strstr(s->note, "no-such-host.invalid"));
    gw_backends_snapshot_free(s);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "no sce-server"));
    assert_int_equal(gw_backends_languages(bs, &l, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_null(l);
    gw_backends_stop(bs);
}

/* The resolver tries the name again every GW_BACKENDS_DNS_REFRESH_MS
 * while snapshots and calls read its note: the note stays whole (and,
 * under ThreadSanitizer, the resolver's write of it must not race with
 * those reads). */
static void test_dns_note_while_resolving(void **state)
{
    gw_backends *bs = start_ok("dns://no-such-host.invalid:7700", RPC_TIMEOUT_MS);
    int64_t end_ms = sce_clock_ms() + GW_BACKENDS_DNS_REFRESH_MS + 300;
    char err[512] = "";

    (void)state;
    while (sce_clock_ms() < end_ms) {
        gw_backends_snapshot *s = snap(bs);

        assert_non_null(strstr(s->note, "dns://no-such-host.invalid:7700"));
        gw_backends_snapshot_free(s);
        assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
        assert_non_null(strstr(err, "no-such-host.invalid"));
        sce_sleep_ms(1);
    }
    gw_backends_stop(bs);
}

/* ------------------------------------------------------------ health */

/* Serving with its engine: up.  Engine down, not serving, not listening:
 * down, each with its reason.  Each comes back up within a poll or two of
 * answering well again.  A server that stops answering its polls, or that
 * dies, goes down; answering again, or restarted, it is up again. */
static void test_health_states(void **state)
{
    fake *fs[4] = {fake_new(0), fake_new(1), fake_new(2), fake_new_dead(3)};
    char spec[600];
    gw_backends *bs;
    gw_backends_snapshot *s;
    const gw_backend_state *b;
    int64_t took_ms;

    (void)state;
    budgets_reset();
    atomic_store(&fs[1]->health_mode, H_ENGINE_DOWN);
    atomic_store(&fs[2]->health_mode, H_NOT_SERVING);
    spec_of(spec, sizeof(spec), fs, 4);
    bs = start_ok(spec, RPC_TIMEOUT_MS);

    /* Nothing is up before its first poll has answered. */
    s = snap(bs);
    assert_int_equal(s->count, 4);
    gw_backends_snapshot_free(s);
    wait_state(bs, fs[0]->url, 1, STATE_WAIT_MS);
    /* A fresh snapshot: each polled once more. */
    assert_int_equal(gw_backends_snapshot_take(bs, 1500, &s), SCE_OK);
    assert_int_equal(s->count, 4);
    b = find(s, fs[0]->url);
    assert_true(b->up);
    assert_string_equal(b->error, "");
    assert_int_equal(b->health_rv, SCE_OK);
    assert_non_null(b->health);
    assert_string_equal(b->health->instance_id, "fake0");
    assert_int_equal(b->health->workers, 4);
    b = find(s, fs[1]->url);
    assert_false(b->up);
    assert_non_null(strstr(b->error, "fake engine: connection refused"));
    assert_non_null(b->health); /* it answered: its health is shown */
    b = find(s, fs[2]->url);
    assert_false(b->up);
    assert_non_null(strstr(b->error, "not serving"));
    b = find(s, fs[3]->url);
    assert_false(b->up);
    assert_int_not_equal(b->health_rv, SCE_OK);
    assert_non_null(strstr(b->error, fs[3]->url)); /* libsce's "cannot reach ..." */
    assert_null(b->health);
    gw_backends_snapshot_free(s);

    /* All answer well again, the dead one listening now. */
    atomic_store(&fs[1]->health_mode, H_OK);
    atomic_store(&fs[2]->health_mode, H_OK);
    fs[3]->srv = fake_start(fs[3]->url, script_cb, fs[3]);
    for (int i = 1; i <= 3; i++)
        wait_state(bs, fs[i]->url, 1, STATE_WAIT_MS);

    /* Silent: down when its poll times out, up when it answers again. */
    atomic_store(&fs[1]->health_mode, H_SILENT);
    took_ms = wait_state(bs, fs[1]->url, 0, GW_BACKENDS_POLL_TIMEOUT_MS + STATE_WAIT_MS);
    assert_true(took_ms >= GW_BACKENDS_POLL_TIMEOUT_MS / 2);
    atomic_store(&fs[1]->health_mode, H_OK);
    wait_state(bs, fs[1]->url, 1, GW_BACKENDS_POLL_TIMEOUT_MS + STATE_WAIT_MS);

    /* One dies: down within a poll or two; restarted: up again. */
    fake_kill(fs[0]);
    wait_state(bs, fs[0]->url, 0, STATE_WAIT_MS);
    fake_revive(fs[0]);
    wait_state(bs, fs[0]->url, 1, STATE_WAIT_MS);

    gw_backends_stop(bs);
    for (int i = 0; i < 4; i++)
        fake_free(fs[i]);
}

/* ------------------------------------------------------------ spreading */

/* One run after another over three idle backends: each takes a third. */
static void test_spread_sequential(void **state)
{
    fake *fs[3] = {fake_new(0), fake_new(1), fake_new(2)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 3);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 3);
    for (int i = 0; i < 9; i++)
        assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    s = snap(bs);
    for (int i = 0; i < 3; i++) {
        const gw_backend_state *b = find(s, fs[i]->url);

        assert_int_equal(atomic_load(&fs[i]->runs), 3);
        assert_int_equal(b->runs, 3);
        assert_int_equal(b->in_flight, 0);
        assert_int_equal(b->failures, 0);
    }
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    for (int i = 0; i < 3; i++)
        fake_free(fs[i]);
}

typedef struct runner {
    gw_backends *bs;
    pthread_t t;
    int rv;
    char err[512];
} runner;

static void *runner_main(void *arg)
{
    runner *r = arg;

    r->rv = run_once(r->bs, r->err, sizeof(r->err));
    return NULL;
}

static void wait_gate(int n)
{
    int64_t deadline = sce_clock_ms() + 2000;

    while (atomic_load(&gate_arrived) < n && sce_clock_ms() < deadline)
        sce_sleep_ms(2);
    assert_int_equal(atomic_load(&gate_arrived), n);
}

/* Runs at once go each to the backend with the fewest in flight: three
 * slow runs on three backends, one each; with one backend holding a slow
 * run, the next runs go to the others. */
static void test_spread_least_in_flight(void **state)
{
    fake *fs[3] = {fake_new(0), fake_new(1), fake_new(2)};
    char spec[400], err[512] = "";
    runner r[3];
    gw_backends *bs;
    gw_backends_snapshot *s;
    int holder = -1;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 3);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 3);

    /* Three at once, held at the gate until all three have arrived: one
     * per backend (a fake answers one request at a time, so two on one
     * would never all arrive). */
    for (int i = 0; i < 3; i++)
        atomic_store(&fs[i]->run_mode, RUN_GATE);
    for (int i = 0; i < 3; i++) {
        r[i].bs = bs;
        assert_int_equal(pthread_create(&r[i].t, NULL, runner_main, &r[i]), 0);
    }
    wait_gate(3);
    s = snap(bs);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(atomic_load(&fs[i]->runs), 1);
        assert_int_equal(find(s, fs[i]->url)->in_flight, 1);
    }
    gw_backends_snapshot_free(s);
    atomic_store(&gate_open, 1);
    for (int i = 0; i < 3; i++) {
        pthread_join(r[i].t, NULL);
        assert_int_equal(r[i].rv, SCE_OK);
    }

    /* One slow run held on one backend; four quick ones meanwhile go to
     * the two others, two each, though they have run more. */
    budgets_reset();
    assert_int_equal(pthread_create(&r[0].t, NULL, runner_main, &r[0]), 0);
    wait_gate(1);
    for (int i = 0; i < 3; i++) {
        if (atomic_load(&fs[i]->runs) == 2)
            holder = i;
        atomic_store(&fs[i]->run_mode, RUN_OK);
    }
    assert_true(holder >= 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&fs[i]->runs), i == holder ? 2 : 3);
    atomic_store(&gate_open, 1);
    pthread_join(r[0].t, NULL);
    assert_int_equal(r[0].rv, SCE_OK);

    gw_backends_stop(bs);
    for (int i = 0; i < 3; i++)
        fake_free(fs[i]);
}

/* ------------------------------------------------------------ at most once */

/* A server takes a run and dies without answering (at once, or after a
 * while): the call says it may or may not have run, no other server ever
 * receives it, and the dead one is down. */
static void test_at_most_once_lost(void **state)
{
    (void)state;
    for (int delay_ms = 0; delay_ms <= 200; delay_ms += 200) {
        fake *fs[2] = {fake_new(0), fake_new(1)};
        char spec[400], err[512] = "";
        gw_backends *bs;
        gw_backends_snapshot *s;
        int victim, other;

        budgets_reset();
        spec_of(spec, sizeof(spec), fs, 2);
        bs = start_ok(spec, RPC_TIMEOUT_MS);
        wait_all_up(bs, fs, 2);
        for (int i = 0; i < 2; i++) {
            atomic_store(&fs[i]->run_mode, RUN_HANGUP);
            atomic_store(&fs[i]->run_delay_ms, delay_ms);
        }
        assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
        assert_non_null(strstr(err, "may or may not"));
        assert_int_equal(atomic_load(&fs[0]->runs) + atomic_load(&fs[1]->runs), 1);
        victim = atomic_load(&fs[0]->runs) == 1 ? 0 : 1;
        other = 1 - victim;

        s = snap(bs);
        assert_false(find(s, fs[victim]->url)->up);
        assert_int_equal(find(s, fs[victim]->url)->failures, 1);
        assert_int_equal(find(s, fs[victim]->url)->in_flight, 0);
        assert_true(find(s, fs[other]->url)->up);
        assert_int_equal(find(s, fs[other]->url)->runs, 0);
        gw_backends_snapshot_free(s);

        /* Nor later: no resend from a socket of the set. */
        sce_sleep_ms(300);
        assert_int_equal(atomic_load(&fs[other]->runs), 0);

        /* The next run goes to the one alive. */
        atomic_store(&fs[other]->run_mode, RUN_OK);
        atomic_store(&fs[other]->run_delay_ms, 0);
        assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
        assert_int_equal(atomic_load(&fs[other]->runs), 1);

        gw_backends_stop(bs);
        fake_free(fs[0]);
        fake_free(fs[1]);
    }
}

/* Twelve runs at once over three servers, one of which dies with the
 * first run it takes: the runs lost with it are answered UNAVAILABLE, the
 * rest succeed, and no run reaches a server twice. */
static void test_at_most_once_concurrent(void **state)
{
    fake *fs[3] = {fake_new(0), fake_new(1), fake_new(2)};
    char spec[400];
    runner r[12];
    gw_backends *bs;
    int ok = 0, lost = 0, received;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 3);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 3);
    for (int i = 0; i < 3; i++)
        atomic_store(&fs[i]->run_delay_ms, 50);
    atomic_store(&fs[1]->run_mode, RUN_HANGUP);
    for (int i = 0; i < 12; i++) {
        r[i].bs = bs;
        assert_int_equal(pthread_create(&r[i].t, NULL, runner_main, &r[i]), 0);
    }
    for (int i = 0; i < 12; i++) {
        pthread_join(r[i].t, NULL);
        if (r[i].rv == SCE_OK) {
            ok++;
        } else {
            if (r[i].rv != SCE_ERR_UNAVAILABLE || strstr(r[i].err, "may or may not") == NULL)
                fail_msg("run %d: %d %s", i, r[i].rv, r[i].err);
            lost++;
        }
    }
    received = atomic_load(&fs[0]->runs) + atomic_load(&fs[1]->runs) + atomic_load(&fs[2]->runs);
    assert_int_equal(atomic_load(&fs[1]->runs), 1);
    assert_int_equal(ok, atomic_load(&fs[0]->runs) + atomic_load(&fs[2]->runs));
    assert_true(lost >= 1);
    assert_int_equal(ok + lost, 12);
    pthread_mutex_lock(&ids_mtx);
    assert_int_equal(nids, received);
    for (int i = 0; i < nids; i++)
        for (int j = i + 1; j < nids; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("request %s reached a server twice", ids[i]);
    pthread_mutex_unlock(&ids_mtx);
    gw_backends_stop(bs);
    for (int i = 0; i < 3; i++)
        fake_free(fs[i]);
}

/* A run that times out unanswered may be running: DEADLINE_EXCEEDED, not
 * sent to another; the backend is not marked down for it. */
static void test_timeout_not_resent(void **state)
{
    fake *fs[2] = {fake_new(0), fake_new(1)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 2);
    bs = start_ok(spec, 400);
    wait_all_up(bs, fs, 2);
    atomic_store(&fs[0]->run_mode, RUN_SILENT);
    atomic_store(&fs[1]->run_mode, RUN_SILENT);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_DEADLINE_EXCEEDED);
    assert_int_equal(atomic_load(&fs[0]->runs) + atomic_load(&fs[1]->runs), 1);
    s = snap(bs);
    assert_true(s->items[0].up && s->items[1].up);
    assert_int_equal(s->items[0].failures + s->items[1].failures, 0);
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    fake_free(fs[0]);
    fake_free(fs[1]);
}

/* ------------------------------------------------------------ busy */

/* The first server asked answers busy: the same request (same id) goes to
 * the other, which runs it.  All busy: RESOURCE_EXHAUSTED, each asked once,
 * none marked down. */
static void test_busy(void **state)
{
    fake *fs[2] = {fake_new(0), fake_new(1)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;
    sce_run_result *res;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 2);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 2);
    atomic_store(&fs[0]->run_mode, RUN_BUSY);
    atomic_store(&fs[1]->run_mode, RUN_BUSY);

    /* Whichever is asked first is busy; the other runs it.  (Each attempt
     * is a call of its own in libsce, with a request id of its own.) */
    atomic_store(&busy_budget, 1);
    res = NULL;
    assert_int_equal(gw_backends_run(bs, &a_run, &res, err, sizeof(err)), SCE_OK);
    assert_int_equal(atomic_load(&fs[0]->runs), 1);
    assert_int_equal(atomic_load(&fs[1]->runs), 1);
    assert_int_equal(atomic_load(&busy_budget), 0);
    assert_true(strcmp(res->stdout_data, "fake0") == 0 || strcmp(res->stdout_data, "fake1") == 0);
    sce_run_result_free(res);

    atomic_store(&busy_budget, 100);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(err, "busy"));
    assert_int_equal(atomic_load(&fs[0]->runs), 2);
    assert_int_equal(atomic_load(&fs[1]->runs), 2);
    s = snap(bs);
    for (size_t i = 0; i < s->count; i++) {
        assert_true(s->items[i].up);
        assert_int_equal(s->items[i].failures, 0);
        assert_int_equal(s->items[i].in_flight, 0);
    }
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    fake_free(fs[0]);
    fake_free(fs[1]);
}

/* ------------------------------------------------------------ not sent */

/* A backend still marked up whose server is gone (connection refused):
 * the run never left, so it goes to the other backend and succeeds; the
 * gone one is down, with a failure and no run counted. */
static void test_not_sent(void **state)
{
    fake *fs[2] = {fake_new(0), fake_new(1)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;
    const gw_backend_state *b;
    int first, next;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 2);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 2);

    /* One run, so that the next goes to the other (fewest runs). */
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    first = atomic_load(&fs[0]->runs) == 1 ? 0 : 1;
    next = 1 - first;

    /* Just polled (each poller waits a whole interval now): kill `next`
     * and give libsce a moment to see its connection close. */
    assert_int_equal(gw_backends_snapshot_take(bs, 1500, &s), SCE_OK);
    assert_true(find(s, fs[next]->url)->up);
    gw_backends_snapshot_free(s);
    fake_kill(fs[next]);
    sce_sleep_ms(100);

    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    assert_int_equal(atomic_load(&fs[first]->runs), 2);
    s = snap(bs);
    b = find(s, fs[next]->url);
    assert_false(b->up);
    assert_int_equal(b->failures, 1);
    assert_int_equal(b->runs, 0);
    assert_int_equal(b->in_flight, 0);
    assert_int_equal(find(s, fs[first]->url)->runs, 2);
    gw_backends_snapshot_free(s);

    gw_backends_stop(bs);
    fake_free(fs[0]);
    fake_free(fs[1]);
}

/* Every backend down (never listening): a run is tried on each and
 * answers UNAVAILABLE, sent to none. */
static void test_all_down(void **state)
{
    fake *fs[2] = {fake_new_dead(0), fake_new_dead(1)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    gw_backends_snapshot *s;

    (void)state;
    spec_of(spec, sizeof(spec), fs, 2);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_state(bs, fs[0]->url, 0, 0);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_null(strstr(err, "may or may not"));
    s = snap(bs);
    assert_int_equal(s->items[0].failures, 1);
    assert_int_equal(s->items[1].failures, 1);
    gw_backends_snapshot_free(s);
    gw_backends_stop(bs);
    fake_free(fs[0]);
    fake_free(fs[1]);
}

/* ------------------------------------------------------------ reads */

/* Reads carry no risk: after a server dies with one, the next backend is
 * asked, for languages and for history. */
static void test_reads_go_on(void **state)
{
    fake *fs[3] = {fake_new(0), fake_new(1), fake_new(2)};
    char spec[400], err[512] = "";
    gw_backends *bs;
    sce_language_list *l = NULL;
    sce_history_page *p = NULL;
    sce_history_query q;

    (void)state;
    budgets_reset();
    spec_of(spec, sizeof(spec), fs, 3);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, 3);

    atomic_store(&hangup_budget, 1);
    if (gw_backends_languages(bs, &l, err, sizeof(err)) != SCE_OK)
        fail_msg("languages: %s", err);
    assert_int_equal(l->count, 1);
    assert_string_equal(l->items[0].name, "python");
    sce_language_list_free(l);
    assert_int_equal(
        atomic_load(&fs[0]->reads) + atomic_load(&fs[1]->reads) + atomic_load(&fs[2]->reads), 2);

    atomic_store(&hangup_budget, 1);
    memset(&q, 0, sizeof(q));
    q.limit = 10;
    if (gw_backends_history(bs, &q, &p, err, sizeof(err)) != SCE_OK)
        fail_msg("history: %s", err);
    assert_int_equal(p->total, 7);
    sce_history_page_free(p);
    assert_int_equal(
        atomic_load(&fs[0]->reads) + atomic_load(&fs[1]->reads) + atomic_load(&fs[2]->reads), 4);
    assert_int_equal(atomic_load(&hangup_budget), 0);

    gw_backends_stop(bs);
    for (int i = 0; i < 3; i++)
        fake_free(fs[i]);
}

/* ------------------------------------------------------------ metrics */

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

/* The registry is told of every run and RPC: verdicts, a busy refusal, a
 * run lost to the transport, the health polls. */
static void test_metrics_told(void **state)
{
    fake *fs[2] = {fake_new(0), fake_new(1)};
    char spec[400], err[512] = "", line[300], *text = NULL;
    gw_metrics *m = gw_metrics_new();
    gw_backends *bs = NULL;
    size_t len = 0;
    int victim;

    (void)state;
    budgets_reset();
    assert_non_null(m);
    spec_of(spec, sizeof(spec), fs, 2);
    assert_int_equal(gw_backends_start(spec, RPC_TIMEOUT_MS, m, &bs, err, sizeof(err)), SCE_OK);
    wait_all_up(bs, fs, 2);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    for (int i = 0; i < 2; i++)
        atomic_store(&fs[i]->run_mode, RUN_BUSY);
    atomic_store(&busy_budget, 100);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_RESOURCE_EXHAUSTED);
    for (int i = 0; i < 2; i++)
        atomic_store(&fs[i]->run_mode, RUN_HANGUP);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    victim = atomic_load(&fs[0]->runs) == 3 ? 0 : 1;
    gw_backends_stop(bs);

    assert_int_equal(gw_metrics_render(m, NULL, 0, &text, &len), SCE_OK);
    if (getenv("BACKTEST_SHOW_METRICS") != NULL)
        fputs(text, stderr);
    assert_true(has_line(text, "sce_runs_total{language=\"python\",verdict=\"ok\"} 1"));
    assert_true(has_line(text, "sce_runs_total{language=\"python\",verdict=\"error\"} 2"));
    assert_true(has_line(text, "sce_refused_total{reason=\"busy\"} 1"));
    snprintf(line, sizeof(line), "sce_rpc_failures_total{backend=\"%s\",method=\"run\"} 1",
             fs[victim]->url);
    if (!has_line(text, line))
        fail_msg("no line '%s'", line);
    snprintf(line, sizeof(line), "sce_rpc_failures_total{backend=\"%s\",method=\"run\"} 0",
             fs[1 - victim]->url);
    if (!has_line(text, line))
        fail_msg("no line '%s'", line);
    free(text);
    gw_metrics_free(m);
    fake_free(fs[0]);
    fake_free(fs[1]);
}

/* ------------------------------------------------------------ stop */

/* A set of the fakes, a dead URL and a dns:// source (a resolver thread);
 * one run, then stopped.  The time gw_backends_stop took into *stop_ms. */
static void start_stop_once(fake *const *fs, size_t n, int64_t *stop_ms)
{
    char spec[600], dead[64], err[512] = "";
    size_t len;
    gw_backends *bs;
    int64_t t0;

    spec_of(spec, sizeof(spec), fs, n);
    fake_dead_tcp_url(dead, sizeof(dead));
    len = strlen(spec);
    snprintf(spec + len, sizeof(spec) - len, ",%s,dns://localhost:%s", dead,
             strrchr(fs[0]->url, ':') + 1);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, fs, n);
    assert_int_equal(run_once(bs, err, sizeof(err)), SCE_OK);
    t0 = sce_clock_ms();
    gw_backends_stop(bs);
    *stop_ms = sce_clock_ms() - t0;
}

/* Stopping an idle set ends every thread it started (pollers, resolver)
 * and does so promptly. */
/* ------------------------------------------------------------ followed runs */

/* n fakes behind one set, all up. */
static gw_backends *start_set(fake **f, int n)
{
    char spec[600];
    gw_backends *bs;

    budgets_reset();
    for (int i = 0; i < n; i++)
        f[i] = fake_new(i);
    spec_of(spec, sizeof(spec), f, (size_t)n);
    bs = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(bs, f, (size_t)n);
    return bs;
}

static void stop_fakes(fake **f, int n)
{
    for (int i = 0; i < n; i++)
        fake_free(f[i]);
}

static int follows(fake **f, int n)
{
    int total = 0;

    for (int i = 0; i < n; i++)
        total += atomic_load(&f[i]->follows);
    return total;
}

/* The fake that started run `id`, or -1. */
static int starter(fake **f, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < f[i]->nstarted; k++)
            if (strcmp(f[i]->started[k], id) == 0)
                return i;
    return -1;
}

/* Runs started through the gateway are followed up at the backend that
 * started them, never at another. */
static void test_follow_owner(void **state)
{
    fake *f[3];
    gw_backends *bs = start_set(f, 3);
    sce_run_request req = {.language = "python", .code = "print(1)"};
    sce_run_started *st[6];
    char err[512];

    (void)state;
    for (int i = 0; i < 6; i++)
        assert_int_equal(gw_backends_run_start(bs, &req, &st[i], err, sizeof(err)), SCE_OK);
    for (int i = 0; i < 6; i++) {
        int owner = starter(f, 3, st[i]->run_id), before;
        sce_run_events *ev = NULL;

        assert_true(owner >= 0);
        before = atomic_load(&f[owner]->follows);
        assert_int_equal(gw_backends_run_poll(bs, st[i]->run_id, NULL, 0, 0, &ev, err, sizeof(err)),
                         SCE_OK);
        sce_run_events_free(ev);
        assert_int_equal(gw_backends_run_stdin(bs, st[i]->run_id, NULL, "x\n", 2, 1, err,
                                               sizeof(err)),
                         SCE_OK);
        assert_int_equal(gw_backends_run_cancel(bs, st[i]->run_id, NULL, err, sizeof(err)),
                         SCE_OK);
        assert_int_equal(atomic_load(&f[owner]->follows) - before, 3);
        sce_run_started_free(st[i]);
    }
    assert_int_equal(follows(f, 3), 18); /* nobody else was asked */
    gw_backends_stop(bs);
    stop_fakes(f, 3);
}

/* A run this gateway did not start (another gateway did) is found by
 * asking each backend; the one that knows it owns the follow-ups after.
 * An id nobody knows is NOT_FOUND. */
static void test_follow_unknown_id(void **state)
{
    fake *f[3];
    gw_backends *bs = start_set(f, 3), *other;
    sce_run_request req = {.language = "python", .code = "print(1)"};
    sce_run_started *st = NULL;
    sce_run_events *ev = NULL;
    char err[512], spec[600];
    int owner, before;

    (void)state;
    spec_of(spec, sizeof(spec), f, 3);
    other = start_ok(spec, RPC_TIMEOUT_MS);
    wait_all_up(other, f, 3);
    assert_int_equal(gw_backends_run_start(bs, &req, &st, err, sizeof(err)), SCE_OK);
    owner = starter(f, 3, st->run_id);
    assert_true(owner >= 0);
    assert_int_equal(gw_backends_run_poll(other, st->run_id, NULL, 0, 1000, &ev, err, sizeof(err)),
                     SCE_OK);
    sce_run_events_free(ev);
    /* Now known: the next follow-ups go to the owner alone. */
    before = follows(f, 3);
    assert_int_equal(gw_backends_run_cancel(other, st->run_id, NULL, err, sizeof(err)), SCE_OK);
    assert_int_equal(gw_backends_run_stdin(other, st->run_id, NULL, "", 0, 1, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(follows(f, 3) - before, 2);
    assert_int_equal(gw_backends_run_cancel(other, "00000000000000000000000000000bad", NULL, err,
                                            sizeof(err)),
                     SCE_ERR_NOT_FOUND);
    assert_non_null(strstr(err, "no such run"));
    sce_run_started_free(st);
    gw_backends_stop(other);
    gw_backends_stop(bs);
    stop_fakes(f, 3);
}

/* A start lost after it was sent is not sent to another backend. */
static void test_follow_start_at_most_once(void **state)
{
    fake *f[2];
    gw_backends *bs = start_set(f, 2);
    sce_run_request req = {.language = "python", .code = "print(1)"};
    sce_run_started *st = NULL;
    char err[512];

    (void)state;
    atomic_store(&f[0]->run_mode, RUN_HANGUP);
    atomic_store(&f[1]->run_mode, RUN_HANGUP);
    assert_int_equal(gw_backends_run_start(bs, &req, &st, err, sizeof(err)), SCE_ERR_UNAVAILABLE);
    assert_int_equal(atomic_load(&f[0]->starts) + atomic_load(&f[1]->starts), 1);
    gw_backends_stop(bs);
    stop_fakes(f, 2);
}

static void test_stop_no_threads(void **state)
{
    fake *fs[2] = {fake_new(0), fake_new(1)};
    int64_t stop_ms;
    int before;

    (void)state;
    budgets_reset();
    /* Once to let nng start the threads it keeps for the process. */
    start_stop_once(fs, 2, &stop_ms);
    before = threads_now();
    start_stop_once(fs, 2, &stop_ms);
    assert_int_equal(threads_now(), before);
    if (stop_ms > 1000)
        fail_msg("gw_backends_stop took %lld ms", (long long)stop_ms);
    for (int i = 0; i < 2; i++)
        fake_free(fs[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_list),
        cmocka_unit_test(test_spec_empty),
        cmocka_unit_test(test_spec_bad_items),
        cmocka_unit_test(test_spec_too_many),
        cmocka_unit_test(test_dns_localhost),
        cmocka_unit_test(test_dns_no_address),
        cmocka_unit_test(test_dns_note_while_resolving),
        cmocka_unit_test(test_health_states),
        cmocka_unit_test(test_spread_sequential),
        cmocka_unit_test(test_spread_least_in_flight),
        cmocka_unit_test(test_at_most_once_lost),
        cmocka_unit_test(test_at_most_once_concurrent),
        cmocka_unit_test(test_timeout_not_resent),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_not_sent),
        cmocka_unit_test(test_all_down),
        cmocka_unit_test(test_reads_go_on),
        cmocka_unit_test(test_metrics_told),
        cmocka_unit_test(test_follow_owner),
        cmocka_unit_test(test_follow_unknown_id),
        cmocka_unit_test(test_follow_start_at_most_once),
        cmocka_unit_test(test_stop_no_threads),
    };

    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
