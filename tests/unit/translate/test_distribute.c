/*
 * Weighted locality mappings (spec §6, Istio's distribute) for the gateway at
 * us-east-1/us-east-1a: weights written or derived from the others, the mapping whose `from`
 * holds the gateway, each endpoint's locality weight (a region-only target shared by its
 * zones, nothing for localities not named), no priorities with or without outlier detection,
 * and the policies refused: weighted and unweighted mappings mixed, overlapping localities.
 */
#include "db_support.h"

#define EAST_A EP("east-a", "10.0.0.1", "{region: us-east-1, zone: us-east-1a}")
#define EAST_B EP("east-b", "10.0.0.2", "{region: us-east-1, zone: us-east-1b}")
#define WEST   EP("west", "10.0.0.3", "{region: us-west-2, zone: us-west-2a}")
#define WEST_2 EP("west-2", "10.0.0.4", "{region: us-west-2, zone: us-west-2a}")
#define EU     EP("eu", "10.0.0.5", "{region: eu-west-1, zone: eu-west-1a}")

/* 70 % of what us-east-1 sends goes to us-west-2, 30 % to eu-west-1: nothing stays local. */
#define AWAY_70_30                                                                                 \
    FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2, weight: 70}, "                 \
             "{region: eu-west-1, weight: 30}]}]")

static uint32_t weight(const struct trt *x, const char *address)
{
    return trt_need_endpoint(db_cluster(x), address)->locality_weight;
}

static const struct cw_failover_policy *policy(const struct trt *x)
{
    const struct cw_object *o = trt_find(x, "FailoverPolicy", "data/fo");
    assert_non_null(o);
    return (const struct cw_failover_policy *)o;
}

static void unspecified_weights_are_derived_from_the_others(void **state)
{
    (void)state;
    struct trt x;
    /* 100 - 50 over three targets: 17, 17, 16, in list order. */
    db_run(&x,
           FAILOVER("[{from: {region: us-east-1}, to: [{region: us-east-1}, {region: us-west-2, "
                    "weight: 50}, {region: eu-west-1}, {region: ap-south-1}]}]"),
           NULL);
    const struct cw_locality_mapping *m = &policy(&x)->mappings.v[0];
    assert_true(m->distribute);
    assert_int_equal(m->to.v[0].weight, 17);
    assert_false(m->to.v[0].has_weight);
    assert_int_equal(m->to.v[1].weight, 50);
    assert_true(m->to.v[1].has_weight);
    assert_int_equal(m->to.v[2].weight, 17);
    assert_int_equal(m->to.v[3].weight, 16);
    trt_free(&x);
    /* An even remainder is shared evenly. */
    db_run(&x,
           FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2, weight: 70}, "
                    "{region: eu-west-1}, {region: us-east-1}]}]"),
           NULL);
    m = &policy(&x)->mappings.v[0];
    assert_int_equal(m->to.v[1].weight, 15);
    assert_int_equal(m->to.v[2].weight, 15);
    trt_free(&x);
    /* Without any weight the mapping is failover, not distribute. */
    db_run(&x, FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2}]}]"), NULL);
    assert_false(policy(&x)->mappings.v[0].distribute);
    trt_free(&x);
}

static void weights_that_do_not_total_100_are_refused(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "fo.yaml",
                  RESILIENT "kind: FailoverPolicy\n"
                            "metadata: {name: fo, namespace: data}\n"
                            "spec: {config: {localityMappings: [{from: {region: a}, to: [{region: "
                            "b, weight: 70}, {region: c, weight: 20}]}]}}\n");
    assert_diag_contains(l.text, "spec.config.localityMappings[0].to: weights must total 100 "
                                 "(they total 90)");
    cwt_load_free(&l);
    /* 99 written leaves 1 % for two targets: each must get at least 1. */
    cwt_load_yaml(&l, "fo.yaml",
                  RESILIENT "kind: FailoverPolicy\n"
                            "metadata: {name: fo, namespace: data}\n"
                            "spec: {config: {localityMappings: [{from: {region: a}, to: [{region: "
                            "b, weight: 99}, {region: c}, {region: d}]}]}}\n");
    assert_diag_contains(l.text, "weights leave 1% for 2 targets without a weight");
    cwt_load_free(&l);
}

static void traffic_split_by_weight_and_nothing_stays_local(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x, EAST_A WEST EU AWAY_70_30, NULL);
    assert_all_accepted(&x);
    assert_non_null(db_cluster(&x)->distribute);
    assert_int_equal(weight(&x, "10.0.0.3"), 70);
    assert_int_equal(weight(&x, "10.0.0.5"), 30);
    assert_int_equal(weight(&x, "10.0.0.1"), 0); /* local, but not named */
    trt_free(&x);
}

static void region_target_is_shared_by_its_zones(void **state)
{
    (void)state;
    struct trt x;
    /* us-east-1's 60 over its two zones of one endpoint each; us-west-2's 40 over one zone of
     * two endpoints. */
    db_run(&x,
           EAST_A EAST_B WEST WEST_2 FAILOVER("[{from: {region: us-east-1}, to: [{region: "
                                              "us-east-1, weight: 60}, {region: us-west-2}]}]"),
           NULL);
    assert_int_equal(weight(&x, "10.0.0.1"), 30);
    assert_int_equal(weight(&x, "10.0.0.2"), 30);
    assert_int_equal(weight(&x, "10.0.0.3"), 40);
    assert_int_equal(weight(&x, "10.0.0.4"), 40);
    trt_free(&x);
    /* Istio rounds each zone's part up: 50 over three zones is 17 each. */
    db_run(&x,
           EAST_A EAST_B EP("east-c", "10.0.0.6", "{region: us-east-1, zone: us-east-1c}")
               WEST FAILOVER("[{from: {region: us-east-1}, to: [{region: us-east-1, weight: 50}, "
                             "{region: us-west-2, weight: 50}]}]"),
           NULL);
    assert_int_equal(weight(&x, "10.0.0.1"), 17);
    assert_int_equal(weight(&x, "10.0.0.6"), 17);
    assert_int_equal(weight(&x, "10.0.0.3"), 50);
    trt_free(&x);
    /* A zone target takes only its zone. */
    db_run(&x,
           EAST_A EAST_B FAILOVER("[{from: {region: us-east-1}, to: [{region: us-east-1, zone: "
                                  "us-east-1b, weight: 100}]}]"),
           NULL);
    assert_int_equal(weight(&x, "10.0.0.1"), 0);
    assert_int_equal(weight(&x, "10.0.0.2"), 100);
    trt_free(&x);
}

static void mapping_whose_from_holds_the_gateway_applies(void **state)
{
    (void)state;
    struct trt x;
    /* A zone `from` for another zone does not hold the gateway; its own zone's does. */
    db_run(&x,
           EAST_A WEST EU FAILOVER("[{from: {region: us-east-1, zone: us-east-1b}, to: [{region: "
                                   "us-west-2, weight: 100}]}, {from: {region: us-east-1, zone: "
                                   "us-east-1a}, to: [{region: eu-west-1, weight: 100}]}]"),
           NULL);
    assert_all_accepted(&x);
    assert_int_equal(weight(&x, "10.0.0.5"), 100);
    assert_int_equal(weight(&x, "10.0.0.3"), 0);
    trt_free(&x);
}

static void no_priorities_with_or_without_outlier_detection(void **state)
{
    (void)state;
    struct trt x;
    /* §7.1: distribute works without outlier detection, so no "failover inactive" WARNING. */
    db_run(&x, EAST_A WEST EU AWAY_70_30, NULL);
    assert_accepted(&x, "FailoverPolicy", "data/fo");
    assert_false(db_cluster(&x)->locality_priorities);
    trt_free(&x);
    /* With outlier detection too: Istio applies distribute or failover, never both. */
    db_run(&x, EAST_A WEST EU ODP AWAY_70_30, NULL);
    assert_all_accepted(&x);
    assert_false(db_cluster(&x)->locality_priorities);
    for (uint32_t i = 0; i < db_cluster(&x)->endpoints.n; i++)
        assert_int_equal(db_cluster(&x)->endpoints.v[i].priority, 0);
    assert_int_equal(db_cluster(&x)->n_priorities, 1);
    trt_free(&x);
}

static void gateway_outside_every_from_gets_no_distribution_and_no_failover(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           EAST_A WEST EU ODP FAILOVER("[{from: {region: us-west-2}, to: [{region: eu-west-1, "
                                       "weight: 100}]}]"),
           NULL);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_ACCEPTED,
                  "distribute: no localityMappings[].from holds this gateway's locality "
                  "us-east-1/us-east-1a");
    assert_null(db_cluster(&x)->distribute);
    assert_false(db_cluster(&x)->locality_priorities);
    assert_int_equal(db_cluster(&x)->n_priorities, 1);
    trt_free(&x);
    /* A gateway without a region is in no `from`. */
    struct cw_gateway_identity gw = trt_gateway();
    gw.locality = (struct cw_locality){"", "", ""};
    db_run(&x, EAST_A WEST EU AWAY_70_30, &gw);
    assert_null(db_cluster(&x)->distribute);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_ACCEPTED, "locality (none)");
    trt_free(&x);
}

static void weighted_and_failover_mappings_cannot_mix(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           EAST_A WEST EU ODP FAILOVER("[{from: {region: us-west-2}, to: [{region: eu-west-1}]}, "
                                       "{from: {region: us-east-1}, to: [{region: us-west-2, "
                                       "weight: 100}]}]"),
           NULL);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_INVALID,
                  "localityMappings[1] has weights but localityMappings[0] has none: a policy "
                  "either distributes traffic by weight or fails over, not both");
    /* An INVALID policy applies nowhere: default priorities. */
    assert_null(db_cluster(&x)->failover);
    assert_true(db_cluster(&x)->locality_priorities);
    trt_free(&x);
}

static void overlapping_localities_are_refused(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           EAST_A WEST FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2, weight: "
                                "100}]}, {from: {region: us-east-1, zone: us-east-1a}, to: "
                                "[{region: us-east-1, weight: 100}]}]"),
           NULL);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_INVALID,
                  "localityMappings[1].from us-east-1/us-east-1a overlaps "
                  "localityMappings[0].from us-east-1");
    trt_free(&x);
    db_run(&x,
           EAST_A WEST FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2, weight: "
                                "50}, {region: us-west-2, zone: us-west-2a, weight: 50}]}]"),
           NULL);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_INVALID,
                  "localityMappings[0].to[1] us-west-2/us-west-2a overlaps to[0] us-west-2");
    trt_free(&x);
    /* Different zones of one region do not overlap. */
    db_run(&x,
           EAST_A EAST_B FAILOVER("[{from: {region: us-east-1}, to: [{region: us-east-1, zone: "
                                  "us-east-1a, weight: 50}, {region: us-east-1, zone: us-east-1b, "
                                  "weight: 50}]}]"),
           NULL);
    assert_all_accepted(&x);
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unspecified_weights_are_derived_from_the_others),
        cmocka_unit_test(weights_that_do_not_total_100_are_refused),
        cmocka_unit_test(traffic_split_by_weight_and_nothing_stays_local),
        cmocka_unit_test(region_target_is_shared_by_its_zones),
        cmocka_unit_test(mapping_whose_from_holds_the_gateway_applies),
        cmocka_unit_test(no_priorities_with_or_without_outlier_detection),
        cmocka_unit_test(gateway_outside_every_from_gets_no_distribution_and_no_failover),
        cmocka_unit_test(weighted_and_failover_mappings_cannot_mix),
        cmocka_unit_test(overlapping_localities_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
