/*
 * Endpoint priorities (spec §7.1-§7.2) for the gateway at us-east-1/us-east-1a: same subzone 0,
 * same zone 1, same region 2, elsewhere 3; with a failover mapping from the gateway's region,
 * regions it names stay at 3 and the rest drop to 4; then priorities are renumbered without
 * gaps. Priorities exist only with outlier detection and a gateway region.
 */
#include "db_support.h"

#define SAME    EP("same", "10.0.0.1", "{region: us-east-1, zone: us-east-1a}")
#define SUBZONE EP("subzone", "10.0.0.2", "{region: us-east-1, zone: us-east-1a, subZone: rack-9}")
#define ZONE    EP("zone", "10.0.0.3", "{region: us-east-1, zone: us-east-1b}")
#define WEST    EP("west", "10.0.0.4", "{region: us-west-2, zone: us-west-2a}")
#define EU      EP("eu", "10.0.0.5", "{region: eu-west-1, zone: eu-west-1a}")
#define EAST2   EP("east2", "10.0.0.6", "{region: us-east-2, zone: us-east-2a}")
#define NOWHERE                                                                                    \
    DOC NET "kind: ExternalEndpoint\n"                                                             \
            "metadata: {name: nowhere, namespace: data, labels: {app: db}}\n"                      \
            "spec: {address: '10.0.0.7', ports: [{number: 5432}]}\n"

static uint32_t prio(const struct trt *x, const char *address)
{
    return trt_need_endpoint(db_cluster(x), address)->priority;
}

static void default_priorities_by_locality(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x, SAME SUBZONE ZONE WEST NOWHERE ODP, NULL);
    assert_all_accepted(&x);
    assert_true(db_cluster(&x)->locality_priorities);
    assert_int_equal(prio(&x, "10.0.0.1"), 0); /* same region, zone and (empty) subzone */
    assert_int_equal(prio(&x, "10.0.0.2"), 1); /* subzone differs */
    assert_int_equal(prio(&x, "10.0.0.3"), 2); /* zone differs */
    assert_int_equal(prio(&x, "10.0.0.4"), 3); /* another region */
    /* No locality at all is just "elsewhere" for a gateway that has one. */
    assert_int_equal(prio(&x, "10.0.0.7"), 3);
    assert_int_equal(db_cluster(&x)->n_priorities, 4);
    trt_free(&x);
}

static void priorities_renumbered_without_gaps(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x, SAME WEST ODP, NULL);
    assert_int_equal(prio(&x, "10.0.0.1"), 0);
    assert_int_equal(prio(&x, "10.0.0.4"), 1);
    assert_int_equal(db_cluster(&x)->n_priorities, 2);
    trt_free(&x);
    /* Nothing local: the same-region endpoint is the preferred one. */
    db_run(&x, ZONE WEST ODP, NULL);
    assert_int_equal(prio(&x, "10.0.0.3"), 0);
    assert_int_equal(prio(&x, "10.0.0.4"), 1);
    assert_int_equal(db_cluster(&x)->n_priorities, 2);
    trt_free(&x);
    /* A single locality is a single priority. */
    db_run(&x, WEST ODP, NULL);
    assert_int_equal(prio(&x, "10.0.0.4"), 0);
    assert_int_equal(db_cluster(&x)->n_priorities, 1);
    trt_free(&x);
}

static void gateway_subzone_counts(void **state)
{
    (void)state;
    struct trt x;
    struct cw_gateway_identity gw = trt_gateway();
    gw.locality.subzone = "rack-9";
    db_run(&x, SAME SUBZONE ODP, &gw);
    assert_int_equal(prio(&x, "10.0.0.2"), 0);
    assert_int_equal(prio(&x, "10.0.0.1"), 1); /* empty subzone ≠ rack-9 */
    trt_free(&x);
}

static void failover_mapping_prefers_mapped_region(void **state)
{
    (void)state;
    struct trt x;
    /* us-east-2 looks closer, but only eu-west-1 is named: us-east-2 and us-west-2 drop
     * below it (demoted, never excluded). */
    db_run(&x,
           SAME EU EAST2 WEST ODP FAILOVER("[{from: {region: us-east-1}, to: [{region: "
                                           "eu-west-1}]}]"),
           NULL);
    assert_all_accepted(&x);
    assert_int_equal(prio(&x, "10.0.0.1"), 0);
    assert_int_equal(prio(&x, "10.0.0.5"), 1);
    assert_int_equal(prio(&x, "10.0.0.6"), 2);
    assert_int_equal(prio(&x, "10.0.0.4"), 2);
    assert_int_equal(db_cluster(&x)->n_priorities, 3);
    assert_int_equal(db_cluster(&x)->endpoints.n, 4);
    trt_free(&x);
}

static void failover_mapping_without_local_endpoints(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x, EU WEST ODP FAILOVER("[{from: {region: us-east-1}, to: [{region: eu-west-1}]}]"),
           NULL);
    assert_int_equal(prio(&x, "10.0.0.5"), 0);
    assert_int_equal(prio(&x, "10.0.0.4"), 1);
    trt_free(&x);
}

static void every_region_of_the_mapping_shares_a_priority(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           EU WEST EAST2 ODP FAILOVER("[{from: {region: us-east-1}, to: [{region: eu-west-1}, "
                                      "{region: us-west-2}]}]"),
           NULL);
    assert_int_equal(prio(&x, "10.0.0.5"), 0);
    assert_int_equal(prio(&x, "10.0.0.4"), 0);
    assert_int_equal(prio(&x, "10.0.0.6"), 1);
    trt_free(&x);
}

static void only_first_matching_mapping_used(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           EU WEST ODP FAILOVER("[{from: {region: us-east-1}, to: [{region: eu-west-1}]}, "
                                "{from: {region: us-east-1}, to: [{region: us-west-2}]}]"),
           NULL);
    assert_int_equal(prio(&x, "10.0.0.5"), 0);
    assert_int_equal(prio(&x, "10.0.0.4"), 1);
    trt_free(&x);
}

static void mapping_for_another_region_changes_nothing(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x,
           SAME EU WEST ODP FAILOVER("[{from: {region: us-west-2}, to: [{region: eu-west-1}]}]"),
           NULL);
    assert_int_equal(prio(&x, "10.0.0.1"), 0);
    /* Both other regions keep the default "elsewhere" priority. */
    assert_int_equal(prio(&x, "10.0.0.5"), 1);
    assert_int_equal(prio(&x, "10.0.0.4"), 1);
    assert_int_equal(db_cluster(&x)->n_priorities, 2);
    trt_free(&x);
}

static void no_outlier_detection_means_one_priority(void **state)
{
    (void)state;
    struct trt x;
    /* §7.1: without outlier detection nobody learns an endpoint failed: spread over all,
     * even with a FailoverPolicy. */
    db_run(&x, SAME ZONE WEST FAILOVER("[{from: {region: us-east-1}, to: [{region: us-west-2}]}]"),
           NULL);
    assert_status(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_WARNING, "failover inactive");
    assert_false(db_cluster(&x)->locality_priorities);
    assert_int_equal(db_cluster(&x)->endpoints.n, 3);
    for (uint32_t i = 0; i < db_cluster(&x)->endpoints.n; i++)
        assert_int_equal(db_cluster(&x)->endpoints.v[i].priority, 0);
    assert_int_equal(db_cluster(&x)->n_priorities, 1);
    trt_free(&x);
    db_run(&x, SAME ZONE WEST, NULL);
    assert_false(db_cluster(&x)->locality_priorities);
    assert_int_equal(db_cluster(&x)->endpoints.n, 3);
    for (uint32_t i = 0; i < db_cluster(&x)->endpoints.n; i++)
        assert_int_equal(db_cluster(&x)->endpoints.v[i].priority, 0);
    trt_free(&x);
}

static void gateway_without_region_means_no_priorities(void **state)
{
    (void)state;
    struct trt x;
    struct cw_gateway_identity gw = trt_gateway();
    gw.locality = (struct cw_locality){"", "", ""};
    db_run(&x, SAME ZONE WEST NOWHERE ODP, &gw);
    assert_false(db_cluster(&x)->locality_priorities);
    assert_int_equal(db_cluster(&x)->endpoints.n, 4);
    for (uint32_t i = 0; i < db_cluster(&x)->endpoints.n; i++)
        assert_int_equal(db_cluster(&x)->endpoints.v[i].priority, 0);
    assert_int_equal(db_cluster(&x)->n_priorities, 1);
    trt_free(&x);
}

static void hostname_endpoint_keeps_its_priority(void **state)
{
    (void)state;
    struct trt x;
    db_run(&x, SAME EP("dns", "db.us-west-2.corp.example.com", "{region: us-west-2}") ODP, NULL);
    const struct cw_endpoint *e =
        trt_need_endpoint(db_cluster(&x), "db.us-west-2.corp.example.com");
    assert_true(e->is_hostname);
    assert_int_equal(e->priority, 1);
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_priorities_by_locality),
        cmocka_unit_test(priorities_renumbered_without_gaps),
        cmocka_unit_test(gateway_subzone_counts),
        cmocka_unit_test(failover_mapping_prefers_mapped_region),
        cmocka_unit_test(failover_mapping_without_local_endpoints),
        cmocka_unit_test(every_region_of_the_mapping_shares_a_priority),
        cmocka_unit_test(only_first_matching_mapping_used),
        cmocka_unit_test(mapping_for_another_region_changes_nothing),
        cmocka_unit_test(no_outlier_detection_means_one_priority),
        cmocka_unit_test(gateway_without_region_means_no_priorities),
        cmocka_unit_test(hostname_endpoint_keeps_its_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
