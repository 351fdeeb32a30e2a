/*
 * test_live.c - the followed runs' registry (server/live.c) on its own:
 * chunks and their numbers, merging, polls that repeat, the end, stdin and
 * its caps, a stdin closed at the start, waiters fired by output, the end,
 * a deadline and a quiesce, tenants, the registry's room, cancels and a
 * reader gone; a detached run that outlives its reader, and the meta
 * answered at after_seq 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"
#include "sce_limits.h"
#include "common/clock.h"
#include "sce/client.h"
#include "sce/err.h"

static live_registry *reg;

static int setup(void **state)
{
    char err[128];

    (void)state;
    return live_registry_new(3, 4, &reg, err, sizeof(err)) == SCE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    live_registry_free(reg);
    reg = NULL;
    return 0;
}

static live_run *new_run(const char *tenant)
{
    live_run *lr = NULL;
    char err[128];

    assert_int_equal(live_run_create(reg, tenant, 65536, NULL, 0, 0, &lr, err, sizeof(err)),
                     SCE_OK);
    assert_int_equal(strlen(live_run_id(lr)), 32);
    return lr;
}

static void finish_ok(live_run *lr)
{
    Sce__V1__RunResult rr = SCE__V1__RUN_RESULT__INIT;

    rr.verdict = SCE__V1__VERDICT__VERDICT_OK;
    rr.language = "python";
    live_run_finish(lr, SCE_OK, NULL, &rr);
}

static void test_chunks_merge_until_seen(void **state)
{
    live_run *lr = new_run("");
    live_events ev;

    (void)state;
    assert_int_equal(live_run_begin(lr), 1);
    live_output(lr, SCE__V1__STREAM__STREAM_STDOUT, "ab", 2);
    live_output(lr, SCE__V1__STREAM__STREAM_STDOUT, "cd", 2);
    assert_int_equal(live_events_take(lr, 0, &ev), SCE_OK);
    assert_int_equal(ev.msg.n_chunks, 1);
    assert_int_equal(ev.msg.chunks[0]->seq, 1);
    assert_int_equal(ev.msg.chunks[0]->data.len, 4);
    assert_memory_equal(ev.msg.chunks[0]->data.data, "abcd", 4);
    assert_int_equal(ev.msg.next_seq, 1);
    assert_false(ev.msg.done);
    assert_true(ev.msg.running);
    assert_true(ev.msg.stdin_open);
    live_events_free(&ev);

    /* Chunk 1 was seen: new output is chunk 2, a stream change chunk 3. */
    live_output(lr, SCE__V1__STREAM__STREAM_STDOUT, "e", 1);
    live_output(lr, SCE__V1__STREAM__STREAM_STDERR, "x", 1);
    assert_int_equal(live_events_take(lr, 1, &ev), SCE_OK);
    assert_int_equal(ev.msg.n_chunks, 2);
    assert_int_equal(ev.msg.chunks[0]->seq, 2);
    assert_int_equal(ev.msg.chunks[1]->seq, 3);
    assert_int_equal(ev.msg.chunks[1]->stream, SCE__V1__STREAM__STREAM_STDERR);
    assert_int_equal(ev.msg.next_seq, 3);
    live_events_free(&ev);

    /* Nothing new: next_seq stays; the end comes with the last chunks. */
    assert_int_equal(live_events_take(lr, 3, &ev), SCE_OK);
    assert_int_equal(ev.msg.n_chunks, 0);
    assert_int_equal(ev.msg.next_seq, 3);
    live_events_free(&ev);
    finish_ok(lr);
    assert_int_equal(live_events_take(lr, 1, &ev), SCE_OK);
    assert_int_equal(ev.msg.n_chunks, 2);
    assert_true(ev.msg.done);
    assert_non_null(ev.msg.result);
    assert_int_equal(ev.msg.result->verdict, SCE__V1__VERDICT__VERDICT_OK);
    assert_false(ev.msg.stdin_open);
    live_events_free(&ev);
    /* The same poll again: the same answer. */
    assert_int_equal(live_events_take(lr, 0, &ev), SCE_OK);
    assert_int_equal(ev.msg.n_chunks, 3);
    assert_true(ev.msg.done);
    live_events_free(&ev);
    live_run_release(lr);
}

static void test_failed_run_keeps_its_status(void **state)
{
    live_run *lr = new_run("");
    live_events ev;

    (void)state;
    live_run_finish(lr, SCE_ERR_UNAVAILABLE, "cannot reach the Docker engine", NULL);
    assert_int_equal(live_events_take(lr, 0, &ev), SCE_OK);
    assert_true(ev.msg.done);
    assert_int_equal(ev.status, SCE_ERR_UNAVAILABLE);
    assert_string_equal(ev.message, "cannot reach the Docker engine");
    assert_null(ev.msg.result);
    live_events_free(&ev);
    live_run_release(lr);
}

static void test_stdin(void **state)
{
    live_run *lr = new_run("");
    static char big[SCE_LIVE_STDIN_MAX_BYTES];
    char buf[16], err[256];
    struct pollfd pfd;
    int closed = -1;

    (void)state;
    assert_int_equal(live_stdin_write(lr, "abc", 3, 0, err, sizeof(err)), SCE_OK);
    pfd.fd = live_wake_fd(lr);
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(live_stdin_take(lr, buf, 2, &closed), 2);
    assert_memory_equal(buf, "ab", 2);
    assert_int_equal(closed, 0);
    assert_int_equal(poll(&pfd, 1, 0), 0); /* taken: cleared */
    /* More than may wait unread. */
    assert_int_equal(live_stdin_write(lr, big, sizeof(big), 0, err, sizeof(err)),
                     SCE_ERR_RESOURCE_EXHAUSTED);
    assert_int_equal(live_stdin_write(lr, "d", 1, 1, err, sizeof(err)), SCE_OK);
    assert_int_equal(live_stdin_take(lr, buf, sizeof(buf), &closed), 2);
    assert_memory_equal(buf, "cd", 2);
    assert_int_equal(closed, 1);
    assert_int_equal(live_stdin_write(lr, "e", 1, 0, err, sizeof(err)),
                     SCE_ERR_FAILED_PRECONDITION);
    finish_ok(lr);
    live_run_release(lr);
}

/* A close with no data before the worker begins (rpc.c does this for a
 * RUN_START with stdin_close): the worker finds stdin closed at once,
 * polls say it is closed, and later writes or closes are refused. */
static void test_stdin_closed_at_start(void **state)
{
    live_run *lr = new_run("");
    live_events ev;
    char buf[16], err[256];
    int closed = -1;

    (void)state;
    assert_int_equal(live_stdin_write(lr, NULL, 0, 1, err, sizeof(err)), SCE_OK);
    assert_int_equal(live_events_take(lr, 0, &ev), SCE_OK);
    assert_false(ev.msg.stdin_open);
    live_events_free(&ev);
    assert_int_equal(live_run_begin(lr), 1);
    assert_int_equal(live_stdin_take(lr, buf, sizeof(buf), &closed), 0);
    assert_int_equal(closed, 1);
    assert_int_equal(live_stdin_write(lr, "e", 1, 0, err, sizeof(err)),
                     SCE_ERR_FAILED_PRECONDITION);
    assert_string_equal(strstr(err, "is closed"), "is closed");
    assert_int_equal(live_stdin_write(lr, NULL, 0, 1, err, sizeof(err)),
                     SCE_ERR_FAILED_PRECONDITION);
    finish_ok(lr);
    live_run_release(lr);
}

static atomic_int fired;

static void count_fire(live_waiter *w)
{
    (void)w;
    atomic_fetch_add(&fired, 1);
}

static void wait_fired(int n, int64_t within_ms)
{
    int64_t until = sce_clock_ms() + within_ms;

    while (atomic_load(&fired) < n && sce_clock_ms() < until)
        sce_sleep_ms(10);
    assert_int_equal(atomic_load(&fired), n);
}

static void test_waiters(void **state)
{
    live_run *lr = new_run("");
    live_waiter w1 = {.fire = count_fire}, w2 = {.fire = count_fire}, w3 = {.fire = count_fire};
    size_t active, parked;

    (void)state;
    atomic_store(&fired, 0);
    /* Output fires a parked poll. */
    assert_int_equal(live_poll_wait(lr, &w1, 0, sce_clock_ms() + 5000), 1);
    live_registry_counts(reg, &active, &parked);
    assert_int_equal(parked, 1);
    live_output(lr, SCE__V1__STREAM__STREAM_STDOUT, "x", 1);
    wait_fired(1, 0);
    /* News already there: no parking. */
    assert_int_equal(live_poll_wait(lr, &w2, 0, sce_clock_ms() + 5000), 0);
    /* A deadline fires it from the timer. */
    assert_int_equal(live_poll_wait(lr, &w2, 1, sce_clock_ms() + 200), 1);
    wait_fired(2, 2000);
    /* The end fires one. */
    assert_int_equal(live_poll_wait(lr, &w3, 1, sce_clock_ms() + 5000), 1);
    finish_ok(lr);
    wait_fired(3, 0);
    live_registry_counts(reg, &active, &parked);
    assert_int_equal(parked, 0);
    assert_int_equal(active, 0);
    live_run_release(lr);
}

static void test_quiesce_fires_and_refuses(void **state)
{
    live_run *lr = new_run("");
    live_waiter w = {.fire = count_fire};

    (void)state;
    atomic_store(&fired, 0);
    assert_int_equal(live_poll_wait(lr, &w, 0, sce_clock_ms() + 5000), 1);
    live_registry_quiesce(reg);
    wait_fired(1, 0);
    assert_int_equal(live_poll_wait(lr, &w, 0, sce_clock_ms() + 5000), 0);
    finish_ok(lr);
    live_run_release(lr);
}

static void test_tenants_and_room(void **state)
{
    live_run *a = new_run("alice"), *b = new_run("bob"), *c = new_run(""), *d = NULL, *f;
    char err[256];

    (void)state;
    f = live_find(reg, live_run_id(a), "bob");
    assert_null(f);
    f = live_find(reg, live_run_id(a), "alice");
    assert_ptr_equal(f, a);
    live_run_release(f);
    f = live_find(reg, live_run_id(a), ""); /* the operator sees all */
    assert_ptr_equal(f, a);
    live_run_release(f);
    assert_null(live_find(reg, "0123456789abcdef0123456789abcdef", ""));
    /* Full of runs under way; one that has just ended is still kept
     * (SCE_LIVE_KEPT_MIN_MS), so its reader can read it to the end. */
    assert_int_equal(live_run_create(reg, "", 65536, NULL, 0, 0, &d, err, sizeof(err)),
                     SCE_ERR_RESOURCE_EXHAUSTED);
    finish_ok(b);
    live_run_release(b);
    assert_int_equal(live_run_create(reg, "", 65536, NULL, 0, 0, &d, err, sizeof(err)),
                     SCE_ERR_RESOURCE_EXHAUSTED);
    assert_non_null(strstr(err, "busy"));
    finish_ok(a);
    finish_ok(c);
    live_run_release(a);
    live_run_release(c);
}

static void test_cancel_and_reader_gone(void **state)
{
    live_run *lr = new_run(""), *gone = new_run("");
    struct pollfd pfd;
    int64_t until;

    (void)state;
    live_cancel(lr);
    assert_int_equal(live_cancelled(lr), 1);
    pfd.fd = live_wake_fd(lr);
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 0), 1);
    assert_int_equal(live_run_begin(lr), 0); /* cancelled while queued */
    finish_ok(lr);
    live_cancel(lr); /* ended: nothing */
    live_run_release(lr);

    assert_int_equal(live_run_begin(gone), 1);
    until = sce_clock_ms() + SCE_RUN_READER_GONE_MS + 2000;
    while (live_cancelled(gone) == 0 && sce_clock_ms() < until)
        sce_sleep_ms(50);
    assert_int_equal(live_cancelled(gone), 2);
    finish_ok(gone);
    live_run_release(gone);
}

/* A detached run outlives its reader: the run beside it, started with it
 * and not polled either, is cancelled; the detached one runs on.  Its meta
 * comes with every poll from the start (after_seq 0), and only then. */
static void test_detached_and_meta(void **state)
{
    static const char meta[] = "{\"language_id\":71}\0tail";
    live_run *det = NULL, *plain = new_run("");
    live_events ev;
    char err[128];
    int64_t until;

    (void)state;
    assert_int_equal(
        live_run_create(reg, "t", 65536, meta, sizeof(meta), 1, &det, err, sizeof(err)), SCE_OK);
    assert_int_equal(live_run_begin(det), 1);
    assert_int_equal(live_run_begin(plain), 1);
    live_output(det, SCE__V1__STREAM__STREAM_STDOUT, "x", 1);

    assert_int_equal(live_events_take(det, 0, &ev), SCE_OK);
    assert_int_equal(ev.msg.meta.len, sizeof(meta));
    assert_memory_equal(ev.msg.meta.data, meta, sizeof(meta));
    live_events_free(&ev);
    assert_int_equal(live_events_take(det, 1, &ev), SCE_OK);
    assert_int_equal(ev.msg.meta.len, 0);
    live_events_free(&ev);
    assert_int_equal(live_events_take(plain, 0, &ev), SCE_OK); /* none given */
    assert_int_equal(ev.msg.meta.len, 0);
    live_events_free(&ev);

    until = sce_clock_ms() + SCE_RUN_READER_GONE_MS + 2000;
    while (live_cancelled(plain) == 0 && sce_clock_ms() < until)
        sce_sleep_ms(50);
    assert_int_equal(live_cancelled(plain), 2);
    sce_sleep_ms(3 * SCE_LIVE_TICK_MS); /* the timer has seen the detached one too */
    assert_int_equal(live_cancelled(det), 0);
    finish_ok(plain);
    live_run_release(plain);

    /* Ended: the end and the meta at after_seq 0. */
    finish_ok(det);
    assert_int_equal(live_events_take(det, 0, &ev), SCE_OK);
    assert_true(ev.msg.done);
    assert_int_equal(ev.msg.meta.len, sizeof(meta));
    assert_memory_equal(ev.msg.meta.data, meta, sizeof(meta));
    live_events_free(&ev);
    live_run_release(det);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunks_merge_until_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_run_keeps_its_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_closed_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiesce_fires_and_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_and_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_reader_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detached_and_meta, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
