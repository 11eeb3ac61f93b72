/*
 * The workers' timers (event/timer.h): due order, moving and stopping armed timers, a callback
 * that stops another timer (whose owner may then be freed), and a callback that re-arms its own
 * timer for now, which must wait for the next run instead of spinning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event/timer.h"

static char fired[64];
static size_t n_fired;

static void note(struct cw_timer *t)
{
    fired[n_fired++] = *(const char *)t->data;
    fired[n_fired] = '\0';
}

static void timers_run_in_due_order_and_only_when_due(void **state)
{
    (void)state;
    struct cw_timer_heap h = {0};
    struct cw_timer t[6];
    const char *names = "abcdef";
    uint64_t due[6] = {50, 10, 30, 10, 70, 20};
    n_fired = 0;
    for (int i = 0; i < 6; i++) {
        t[i] = (struct cw_timer){.data = (void *)(names + i)};
        cw_timer_heap_start(&h, &t[i], due[i], note);
    }
    cw_timer_heap_run(&h, 9);
    assert_int_equal(n_fired, 0);
    cw_timer_heap_run(&h, 30);
    assert_int_equal(n_fired, 4);
    assert_true(strcmp(fired, "bdfc") == 0 || strcmp(fired, "dbfc") == 0);
    assert_false(cw_timer_armed(&t[1]));
    assert_true(cw_timer_armed(&t[0]));
    cw_timer_heap_run(&h, 1000);
    assert_int_equal(n_fired, 6);
    assert_string_equal(fired + 4, "ae");
    assert_null(cw_timer_heap_first(&h));
    cw_timer_heap_free(&h);
}

static void an_armed_timer_moves_and_a_stopped_one_never_fires(void **state)
{
    (void)state;
    struct cw_timer_heap h = {0};
    struct cw_timer a = {.data = "a"}, b = {.data = "b"}, c = {.data = "c"};
    n_fired = 0;
    cw_timer_heap_start(&h, &a, 10, note);
    cw_timer_heap_start(&h, &b, 20, note);
    cw_timer_heap_start(&h, &c, 30, note);
    cw_timer_heap_start(&h, &a, 40, note); /* later */
    cw_timer_heap_start(&h, &c, 5, note);  /* sooner */
    cw_timer_heap_stop(&h, &b);
    cw_timer_heap_stop(&h, &b); /* stopping twice is harmless */
    assert_int_equal(cw_timer_heap_first(&h)->due, 5);
    cw_timer_heap_run(&h, 100);
    assert_string_equal(fired, "ca");
    cw_timer_heap_free(&h);
}

static struct cw_timer_heap *running;
static struct cw_timer *victim;

static void stop_victim(struct cw_timer *t)
{
    note(t);
    cw_timer_heap_stop(running, victim);
    memset(victim, 0xff, sizeof(*victim)); /* its owner is gone */
}

static void a_callback_may_stop_another_due_timer(void **state)
{
    (void)state;
    struct cw_timer_heap h = {0};
    struct cw_timer a = {.data = "a"}, *b = calloc(1, sizeof(*b));
    b->data = "b";
    n_fired = 0;
    running = &h;
    victim = b;
    cw_timer_heap_start(&h, &a, 10, stop_victim);
    cw_timer_heap_start(&h, b, 10, note);
    /* whichever of the two equal deadlines comes first, b's callback must not run after a's */
    cw_timer_heap_run(&h, 10);
    assert_true(strcmp(fired, "a") == 0 || strcmp(fired, "ba") == 0);
    free(b);
    cw_timer_heap_free(&h);
}

static void again(struct cw_timer *t)
{
    note(t);
    cw_timer_heap_start(running, t, 10, again); /* due at once, again */
}

static void a_timer_rearmed_for_now_waits_for_the_next_run(void **state)
{
    (void)state;
    struct cw_timer_heap h = {0};
    struct cw_timer a = {.data = "a"};
    n_fired = 0;
    running = &h;
    cw_timer_heap_start(&h, &a, 10, again);
    cw_timer_heap_run(&h, 10);
    assert_string_equal(fired, "a");
    cw_timer_heap_run(&h, 10);
    assert_string_equal(fired, "aa");
    cw_timer_heap_stop(&h, &a);
    cw_timer_heap_free(&h);
}

/* Many timers with random deadlines come out sorted, with random stops in between. */
static void many_timers_come_out_sorted(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct cw_timer_heap h = {0};
    struct cw_timer *t = calloc(N, sizeof(*t));
    srand(7);
    for (int i = 0; i < N; i++)
        cw_timer_heap_start(&h, &t[i], (uint64_t)(rand() % 5000), note);
    for (int i = 0; i < N; i += 3)
        cw_timer_heap_stop(&h, &t[i]);
    uint64_t last = 0;
    unsigned count = 0;
    while (cw_timer_heap_first(&h)) {
        struct cw_timer *first = cw_timer_heap_first(&h);
        assert_true(first->due >= last);
        last = first->due;
        cw_timer_heap_stop(&h, first);
        count++;
    }
    assert_int_equal(count, N - (N + 2) / 3);
    free(t);
    cw_timer_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_run_in_due_order_and_only_when_due),
        cmocka_unit_test(an_armed_timer_moves_and_a_stopped_one_never_fires),
        cmocka_unit_test(a_callback_may_stop_another_due_timer),
        cmocka_unit_test(a_timer_rearmed_for_now_waits_for_the_next_run),
        cmocka_unit_test(many_timers_come_out_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
