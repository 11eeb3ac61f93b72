/*
 * Ejection arithmetic (spec §5, peers.md §2.3–2.4): the maxEjectionPercent cap over the whole
 * cluster with its "one may always go" rule, ejection time base × k capped at max(300 s, base),
 * the multiplier's growth to the cap and its decay by one per healthy interval.
 */
#include "support.h"
#include "upstream/outlier.h"

static void cap_with_one_endpoint(void **state)
{
    (void)state;
    assert_true(cw_outlier_cap_allows(0, 1, 10)); /* the only one may go, even at 10 % */
    assert_true(cw_outlier_cap_allows(0, 1, 100));
    assert_false(cw_outlier_cap_allows(1, 1, 100)); /* nothing left to eject */
}

static void cap_with_two_endpoints(void **state)
{
    (void)state;
    assert_true(cw_outlier_cap_allows(0, 2, 10));  /* first always */
    assert_false(cw_outlier_cap_allows(1, 2, 10)); /* 2/2 = 100 % > 10 % */
    assert_false(cw_outlier_cap_allows(1, 2, 50)); /* 100 % > 50 % */
    assert_true(cw_outlier_cap_allows(1, 2, 100));
}

static void cap_with_three_endpoints(void **state)
{
    (void)state;
    assert_true(cw_outlier_cap_allows(0, 3, 10));
    assert_false(cw_outlier_cap_allows(1, 3, 66)); /* 2/3 = 66.7 % > 66 % */
    assert_true(cw_outlier_cap_allows(1, 3, 67));
    assert_false(cw_outlier_cap_allows(2, 3, 99));
    assert_true(cw_outlier_cap_allows(2, 3, 100));
}

static void cap_with_ten_endpoints(void **state)
{
    (void)state;
    assert_true(cw_outlier_cap_allows(0, 10, 10)); /* 1/10 = 10 % */
    assert_false(cw_outlier_cap_allows(1, 10, 10));
    assert_true(cw_outlier_cap_allows(4, 10, 50));  /* the 5th: 50 % */
    assert_false(cw_outlier_cap_allows(5, 10, 50)); /* the 6th: 60 % */
    assert_true(cw_outlier_cap_allows(9, 10, 100));
}

static void max_is_300s_or_the_base(void **state)
{
    (void)state;
    assert_int_equal(cw_outlier_max_ms(30000), 300000);
    assert_int_equal(cw_outlier_max_ms(600000), 600000);
}

/* With the defaults (base 30 s): 30, 60, ... 300 s, then k stops at 11 and time at 300 s. */
static void backoff_grows_to_the_cap(void **state)
{
    (void)state;
    uint32_t k = 0;
    for (uint32_t n = 1; n <= 10; n++) {
        k = cw_outlier_bumped(k, 30000);
        assert_int_equal(k, n);
        assert_int_equal(cw_outlier_ejection_ms(k, 30000), 30000 * n);
    }
    k = cw_outlier_bumped(k, 30000);
    assert_int_equal(k, 11); /* 10·30 < 330: one more */
    assert_int_equal(cw_outlier_ejection_ms(k, 30000), 300000);
    assert_int_equal(cw_outlier_bumped(k, 30000), 11); /* 11·30 = 330: saturated */
    /* A base above 300 s: the maximum is the base, so every ejection lasts the base. */
    assert_int_equal(cw_outlier_ejection_ms(cw_outlier_bumped(1, 400000), 400000), 400000);
}

static void backoff_decays_one_per_healthy_interval(void **state)
{
    (void)state;
    assert_int_equal(cw_outlier_decayed(3, 0, 10000), 3);
    assert_int_equal(cw_outlier_decayed(3, 9999, 10000), 3);
    assert_int_equal(cw_outlier_decayed(3, 10000, 10000), 2);
    assert_int_equal(cw_outlier_decayed(3, 25000, 10000), 1);
    assert_int_equal(cw_outlier_decayed(3, 30000, 10000), 0);
    assert_int_equal(cw_outlier_decayed(3, 1000000, 10000), 0);
    /* Saturated at 11: it takes 2 healthy intervals before an ejection is shorter than 300 s. */
    uint32_t k = cw_outlier_decayed(11, 20000, 10000);
    assert_int_equal(cw_outlier_ejection_ms(cw_outlier_bumped(k, 30000), 30000), 300000);
    k = cw_outlier_decayed(11, 30000, 10000);
    assert_int_equal(cw_outlier_ejection_ms(cw_outlier_bumped(k, 30000), 30000), 270000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cap_with_one_endpoint),
        cmocka_unit_test(cap_with_two_endpoints),
        cmocka_unit_test(cap_with_three_endpoints),
        cmocka_unit_test(cap_with_ten_endpoints),
        cmocka_unit_test(max_is_300s_or_the_base),
        cmocka_unit_test(backoff_grows_to_the_cap),
        cmocka_unit_test(backoff_decays_one_per_healthy_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
