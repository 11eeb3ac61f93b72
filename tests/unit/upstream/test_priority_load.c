/*
 * Envoy's priority load (spec §7.3, peers.md §2.6): the worked examples, pinned. Overprovisioning
 * 1.4 in integer arithmetic; a priority keeps everything while ≥ 5/7 of it is available.
 */
#include "support.h"
#include "upstream/upstream.h"

/* Loads for priorities given as (available, total) pairs. */
static uint32_t loads(uint32_t n, const uint32_t *pairs, uint32_t *out)
{
    uint32_t available[CW_MAX_PRIORITIES], total[CW_MAX_PRIORITIES];
    for (uint32_t p = 0; p < n; p++) {
        available[p] = pairs[2 * p];
        total[p] = pairs[2 * p + 1];
    }
    return cw_priority_loads(available, total, n, out);
}

static void six_of_ten_gives_84_16(void **state)
{
    (void)state;
    uint32_t load[2];
    assert_int_equal(loads(2, (uint32_t[]){6, 10, 4, 4}, load), 100);
    assert_int_equal(load[0], 84);
    assert_int_equal(load[1], 16);
}

static void seventy_two_percent_keeps_everything(void **state)
{
    (void)state;
    uint32_t load[2];
    loads(2, (uint32_t[]){72, 100, 10, 10}, load);
    assert_int_equal(load[0], 100);
    assert_int_equal(load[1], 0);
    /* The exact threshold: 5 of 7 is 140·5/7 = 100. */
    loads(2, (uint32_t[]){5, 7, 1, 1}, load);
    assert_int_equal(load[0], 100);
    loads(2, (uint32_t[]){4, 7, 1, 1}, load); /* 140·4/7 = 80 */
    assert_int_equal(load[0], 80);
    assert_int_equal(load[1], 20);
}

static void seventy_one_percent_spills_one(void **state)
{
    (void)state;
    uint32_t load[2];
    loads(2, (uint32_t[]){71, 100, 3, 3}, load);
    assert_int_equal(load[0], 99);
    assert_int_equal(load[1], 1);
}

static void half_gives_70_30(void **state)
{
    (void)state;
    uint32_t load[2];
    loads(2, (uint32_t[]){1, 2, 1, 1}, load);
    assert_int_equal(load[0], 70);
    assert_int_equal(load[1], 30);
}

static void one_endpoint_per_locality_moves_everything(void **state)
{
    (void)state;
    uint32_t load[3];
    loads(3, (uint32_t[]){0, 1, 1, 1, 1, 1}, load); /* Dallas ejected */
    assert_int_equal(load[0], 0);
    assert_int_equal(load[1], 100);
    assert_int_equal(load[2], 0);
    loads(3, (uint32_t[]){0, 1, 0, 1, 1, 1}, load); /* and the mapped region too */
    assert_int_equal(load[2], 100);
}

static void nothing_available_is_zero(void **state)
{
    (void)state;
    uint32_t load[2] = {7, 7};
    assert_int_equal(loads(2, (uint32_t[]){0, 3, 0, 2}, load), 0);
    assert_int_equal(load[0], 0);
    assert_int_equal(load[1], 0);
}

/* A sick P0 and a sick P1 (peers.md §2.7's example without panic): loads follow health. */
static void both_degraded_split_by_health(void **state)
{
    (void)state;
    uint32_t load[2];
    /* P0 2/10 → 28, P1 1/4 → 35; norm 63: 28·100/63 = 44, 35·100/63 = 55, leftover 1 to P0. */
    assert_int_equal(loads(2, (uint32_t[]){2, 10, 1, 4}, load), 63);
    assert_int_equal(load[0], 45);
    assert_int_equal(load[1], 55);
}

/* §7.4: three endpoints in P0, one of them down (2/3 → 93) keeps ~93 %. */
static void two_of_three_keeps_93(void **state)
{
    (void)state;
    uint32_t load[2];
    loads(2, (uint32_t[]){2, 3, 1, 1}, load);
    assert_int_equal(load[0], 93);
    assert_int_equal(load[1], 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(six_of_ten_gives_84_16),
        cmocka_unit_test(seventy_two_percent_keeps_everything),
        cmocka_unit_test(seventy_one_percent_spills_one),
        cmocka_unit_test(half_gives_70_30),
        cmocka_unit_test(one_endpoint_per_locality_moves_everything),
        cmocka_unit_test(nothing_available_is_zero),
        cmocka_unit_test(both_degraded_split_by_health),
        cmocka_unit_test(two_of_three_keeps_93),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
