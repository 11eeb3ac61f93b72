/*
 * The loop's busy polling (event/loop.c, wait_events): it starts once waits keep ending with
 * events within the budget (a loaded worker), and stops, so that an idle worker sleeps at once,
 * when its waits end on timers instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "event/loop.h"

static int wakes_left;

/* Busy: each wake-up posts the next one, so every wait finds an event at once. */
static void on_wake(struct cw_io_loop *l)
{
    if (--wakes_left > 0)
        cw_io_wake(l);
    else
        cw_io_loop_finish(l);
}

static int ticks_left;
static struct cw_io_loop *ticking;

/* Idle: the loop wakes only for a timer, 1 ms at a time. */
static void on_tick(struct cw_timer *t)
{
    if (--ticks_left > 0)
        cw_timer_start(ticking, t, 1, on_tick);
    else
        cw_io_loop_finish(ticking);
}

static void run_ticks(struct cw_io_loop *l, int n)
{
    struct cw_timer t = {0};
    ticking = l;
    ticks_left = n;
    l->finishing = false;
    cw_timer_start(l, &t, 1, on_tick);
    cw_io_loop_run(l);
}

/* Without --busy-poll a loop polls for up to CW_IO_BUSY_POLL_ON_US (20 µs) under load. Runs
 * first, before any test sets the budget. */
static void loops_poll_by_default(void **state)
{
    (void)state;
    struct cw_io_loop l;
    assert_int_equal(cw_io_loop_init(&l), 0);
    assert_int_equal(l.spin_us, CW_IO_BUSY_POLL_ON_US);
    assert_int_equal(CW_IO_BUSY_POLL_ON_US, 20);
    cw_io_loop_close(&l);
}

static void polling_follows_the_load(void **state)
{
    (void)state;
    struct cw_io_loop l;
    cw_io_set_busy_poll(50);
    assert_int_equal(cw_io_loop_init(&l), 0);
    assert_int_equal(l.spin_us, 50);
    l.on_wake = on_wake;

    /* A new loop sleeps at once; timer-only waits keep it so. */
    run_ticks(&l, 20);
    assert_true(l.spin_score < 128);

    /* Events within the budget, wait after wait: it polls. */
    wakes_left = 40;
    l.finishing = false;
    cw_io_wake(&l);
    cw_io_loop_run(&l);
    assert_true(l.spin_score >= 128);

    /* Idle again: after a few waits that end on a timer it sleeps at once. */
    run_ticks(&l, 10);
    assert_true(l.spin_score < 128);
    cw_io_loop_close(&l);

    /* --busy-poll off: never. */
    cw_io_set_busy_poll(0);
    assert_int_equal(cw_io_loop_init(&l), 0);
    assert_int_equal(l.spin_us, 0);
    cw_io_loop_close(&l);
    cw_io_set_busy_poll(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loops_poll_by_default),
        cmocka_unit_test(polling_follows_the_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
