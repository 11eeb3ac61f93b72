/*
 * Choosing hosts under a weighted locality mapping (spec §6, Istio's distribute), end to end
 * on real translated clusters for the gateway at us-east-1/us-east-1a: picks split by the
 * weights within a pick or two of 1,000, every host of a locality gets its share of the
 * locality's, localities not named get no host at all; with outlier detection a locality's
 * weight shrinks with its health as Envoy's does, an ejected locality's share goes to the
 * others, a retry leaves the locality it tried, and with nothing left there is no pick.
 */
#include "up_support.h"

#define EAST_A EP("east-a", "10.0.0.1", "{region: us-east-1, zone: us-east-1a}")
#define EAST_B EP("east-b", "10.0.0.2", "{region: us-east-1, zone: us-east-1b}")
#define WEST   EP("west", "10.0.0.3", "{region: us-west-2, zone: us-west-2a}")
#define WEST_2 EP("west-2", "10.0.0.4", "{region: us-west-2, zone: us-west-2a}")
#define EU     EP("eu", "10.0.0.5", "{region: eu-west-1, zone: eu-west-1a}")

/* A FailoverPolicy for data/db whose one mapping, from us-east-1, has <targets>. */
#define DISTRIBUTE(targets) FAILOVER("[{from: {region: us-east-1}, to: " targets "}]")

#define WEST_70_EU_30                                                                              \
    DISTRIBUTE("[{region: us-west-2, weight: 70}, {region: eu-west-1, weight: 30}]")
#define THREE_WAY                                                                                  \
    DISTRIBUTE("[{region: us-east-1, weight: 50}, {region: us-west-2, weight: 30}, "               \
               "{region: eu-west-1, weight: 20}]")

#define PICKS 1000

/* How many of PICKS picks went to the host at <text>. */
static uint32_t picks_to(struct world *w, const uint32_t *count, const char *text)
{
    return count[host(w, text)];
}

static void picks_split_by_the_weights(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, EAST_A WEST EU WEST_70_EU_30);
    assert_int_equal(w.db->n_localities, 2);
    assert_int_equal(w.db->n_hosts, 2); /* the local endpoint is not named: not a host at all */
    uint32_t count[2];
    pick_many(&w, PICKS, count);
    assert_in_range(picks_to(&w, count, "10.0.0.3:5432"), 699, 701);
    assert_in_range(picks_to(&w, count, "10.0.0.5:5432"), 299, 301);
    world_stop(&w);

    world_start(&w, EAST_A EAST_B WEST EU THREE_WAY ODP);
    uint32_t three[4];
    pick_many(&w, PICKS, three);
    /* us-east-1's 50 is shared by its two zones. */
    assert_in_range(picks_to(&w, three, "10.0.0.1:5432"), 248, 252);
    assert_in_range(picks_to(&w, three, "10.0.0.2:5432"), 248, 252);
    assert_in_range(picks_to(&w, three, "10.0.0.3:5432"), 298, 302);
    assert_in_range(picks_to(&w, three, "10.0.0.5:5432"), 198, 202);
    world_stop(&w);
}

static void hosts_of_a_locality_share_its_traffic(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, WEST WEST_2 EU WEST_70_EU_30);
    assert_int_equal(w.db->n_localities, 2);
    uint32_t count[3];
    pick_many(&w, PICKS, count);
    assert_in_range(picks_to(&w, count, "10.0.0.3:5432"), 345, 355);
    assert_in_range(picks_to(&w, count, "10.0.0.4:5432"), 345, 355);
    assert_in_range(picks_to(&w, count, "10.0.0.5:5432"), 298, 302);
    world_stop(&w);
}

static void health_scales_a_locality_weight(void **state)
{
    (void)state;
    struct world w;
    /* us-west-2 (70, two hosts) loses one: health min(100, 140 × 1/2) = 70, so its effective
     * weight is 70 × 0.7 = 49 against eu-west-1's 30: 62 % / 38 %. */
    world_start(&w, WEST WEST_2 EU WEST_70_EU_30 ODP_CONFIG("{consecutiveErrors: 1, "
                                                            "baseEjectionTime: 300s}"));
    report_failures(&w, host(&w, "10.0.0.3:5432"), 1, 503);
    assert_true(ejected(&w, host(&w, "10.0.0.3:5432")));
    uint32_t count[3];
    pick_many(&w, PICKS, count);
    assert_int_equal(picks_to(&w, count, "10.0.0.3:5432"), 0);
    assert_in_range(picks_to(&w, count, "10.0.0.4:5432"), 615, 625);
    assert_in_range(picks_to(&w, count, "10.0.0.5:5432"), 375, 385);
    world_stop(&w);
}

static void ejected_locality_share_goes_to_the_others(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, EAST_A WEST EU THREE_WAY ODP_CONFIG("{consecutiveErrors: 1, baseEjectionTime: "
                                                        "300s}"));
    report_failures(&w, host(&w, "10.0.0.5:5432"), 1, 503);
    assert_true(ejected(&w, host(&w, "10.0.0.5:5432")));
    uint32_t count[3];
    pick_many(&w, PICKS, count);
    /* 50 and 30 share everything: 62.5 % and 37.5 %. */
    assert_int_equal(picks_to(&w, count, "10.0.0.5:5432"), 0);
    assert_in_range(picks_to(&w, count, "10.0.0.1:5432"), 620, 630);
    assert_in_range(picks_to(&w, count, "10.0.0.3:5432"), 370, 380);
    fflush(w.events_file);
    assert_non_null(strstr(w.events, "event=eject service=data/db:5432 endpoint=10.0.0.5:5432 "
                                     "locality=eu-west-1/eu-west-1a priority=0"));
    world_stop(&w);
}

static void retry_leaves_the_locality_it_tried(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, EAST_A WEST EU THREE_WAY ODP);
    struct cw_pick_cursor cursor = {0};
    uint32_t tried[2] = {host(&w, "10.0.0.1:5432"), host(&w, "10.0.0.3:5432")};
    for (int i = 0; i < 20; i++) {
        int h = cw_lb_pick(w.db, &cursor, tried, 1);
        assert_true(h == (int)tried[1] || h == (int)host(&w, "10.0.0.5:5432"));
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(cw_lb_pick(w.db, &cursor, tried, 2), (int)host(&w, "10.0.0.5:5432"));
    world_stop(&w);
}

static void nothing_healthy_is_no_pick(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, WEST EU WEST_70_EU_30 ODP_CONFIG("{consecutiveErrors: 1}"));
    report_failures(&w, host(&w, "10.0.0.3:5432"), 1, 503);
    report_failures(&w, host(&w, "10.0.0.5:5432"), 1, 503);
    struct cw_pick_cursor cursor = {0};
    assert_int_equal(cw_lb_pick(w.db, &cursor, NULL, 0), -1); /* panic is off: 503 */
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picks_split_by_the_weights),
        cmocka_unit_test(hosts_of_a_locality_share_its_traffic),
        cmocka_unit_test(health_scales_a_locality_weight),
        cmocka_unit_test(ejected_locality_share_goes_to_the_others),
        cmocka_unit_test(retry_leaves_the_locality_it_tried),
        cmocka_unit_test(nothing_healthy_is_no_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
