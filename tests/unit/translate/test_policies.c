/*
 * OutlierDetectionPolicy and FailoverPolicy selection (spec §5, §6, §8.3): applyToDestinations
 * picks ExternalService ports by labels, name and port of the policy's own workspace (empty ⇒
 * all of them; imported services keep their owner's policies); kind SERVICE is INVALID; when
 * two policies of a kind select one port the older applies and the newer gets a WARNING; a
 * FailoverPolicy without outlier detection is inactive with a WARNING.
 */
#include "tr_support.h"

/* data/inv (labelled failover=true; ports 80 and 443), data/pay (tier=gold), data/plain. */
#define SERVICES                                                                                   \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: inv, namespace: data, labels: {failover: 'true'}}\n"                 \
            "spec: {hosts: [inv.internal], ports: [{name: http, number: 80}, {name: https, "       \
            "number: 443}]}\n" DOC NET "kind: ExternalService\n"                                   \
            "metadata: {name: pay, namespace: data, labels: {tier: gold}}\n"                       \
            "spec: {hosts: [pay.internal], ports: [{name: http, number: 80}]}\n" DOC NET           \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: plain, namespace: data}\n"                                           \
            "spec: {hosts: [plain.internal], ports: [{name: http, number: 80}]}\n"

/* OutlierDetectionPolicy data/<name> created at <created>, with spec <spec>. */
#define ODP_AT(name, created, spec)                                                                \
    DOC RESILIENT "kind: OutlierDetectionPolicy\n"                                                 \
                  "metadata: {name: " name ", namespace: data, creationTimestamp: '" created       \
                  "'}\n"                                                                           \
                  "spec: " spec "\n"
#define ODP(name, spec) ODP_AT(name, "2024-01-01T00:00:00Z", spec)

#define FP(name, spec)                                                                             \
    DOC RESILIENT "kind: FailoverPolicy\n"                                                         \
                  "metadata: {name: " name ", namespace: data}\n"                                  \
                  "spec: " spec "\n"

#define ES_LABELED(labels) "{kind: EXTERNAL_SERVICE, selector: {labels: " labels "}}"

/* The outlier policy's name on cluster <name>, or "-" when none applies. */
static const char *outlier_of(const struct trt *x, const char *cluster)
{
    const struct cw_cluster *c = trt_need_cluster(x, cluster);
    return c->outlier ? c->outlier->obj.meta.name : "-";
}

static const char *failover_of(const struct trt *x, const char *cluster)
{
    const struct cw_cluster *c = trt_need_cluster(x, cluster);
    return c->failover ? c->failover->obj.meta.name : "-";
}

static void selection_by_labels(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP(
                    "od", "{applyToDestinations: [" ES_LABELED("{failover: 'true'}") "]}"));
    assert_all_accepted(&x);
    assert_string_equal(outlier_of(&x, "data/inv:80"), "od");
    assert_string_equal(outlier_of(&x, "data/inv:443"), "od");
    assert_string_equal(outlier_of(&x, "data/pay:80"), "-");
    assert_string_equal(outlier_of(&x, "data/plain:80"), "-");
    assert_int_equal(
        trt_counter(&x, "OutlierDetectionPolicy", "data/od", "numSelectedDestinationPorts"), 2);
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inv",
                                 "numAppliedDestinationPolicies/OutlierDetectionPolicy"),
                     1);
    trt_free(&x);
}

static void selection_by_name_and_port(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP(
                    "by-name", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: "
                               "pay}}]}")
                    ODP("by-port", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, port: "
                                   "{number: 443}, selector: {name: inv}}]}")
                        ODP("by-port-name", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, "
                                            "port: {name: http}, selector: {labels: {failover: "
                                            "'true'}}}]}"));
    assert_all_accepted(&x);
    assert_string_equal(outlier_of(&x, "data/pay:80"), "by-name");
    assert_string_equal(outlier_of(&x, "data/inv:443"), "by-port");
    assert_string_equal(outlier_of(&x, "data/inv:80"), "by-port-name");
    assert_string_equal(outlier_of(&x, "data/plain:80"), "-");
    trt_free(&x);
}

static void selectors_are_ored(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES FP("fo", "{applyToDestinations: [" ES_LABELED(
                                             "{tier: gold}") ", {kind: EXTERNAL_SERVICE, "
                                                             "selector: {name: plain}}]}")
                    ODP("od", "{}"));
    assert_all_accepted(&x);
    assert_string_equal(failover_of(&x, "data/pay:80"), "fo");
    assert_string_equal(failover_of(&x, "data/plain:80"), "fo");
    assert_string_equal(failover_of(&x, "data/inv:80"), "-");
    trt_free(&x);
}

static void empty_apply_to_selects_every_service_of_the_workspace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("od", "{}") DOC ADMIN
            "kind: Workspace\n"
            "metadata: {name: far, namespace: gloo-mesh}\n"
            "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: far}]}]}\n" DOC NET
            "kind: ExternalService\n"
            "metadata: {name: ext, namespace: far}\n"
            "spec: {hosts: [ext.internal], ports: [{number: 80}]}\n");
    assert_string_equal(outlier_of(&x, "data/inv:80"), "od");
    assert_string_equal(outlier_of(&x, "data/inv:443"), "od");
    assert_string_equal(outlier_of(&x, "data/pay:80"), "od");
    assert_string_equal(outlier_of(&x, "data/plain:80"), "od");
    /* Another workspace's service is not "every destination in the policy's workspace". */
    assert_string_equal(outlier_of(&x, "far/ext:80"), "-");
    assert_int_equal(
        trt_counter(&x, "OutlierDetectionPolicy", "data/od", "numSelectedDestinationPorts"), 4);
    trt_free(&x);
}

static void policies_do_not_follow_imports(void **state)
{
    (void)state;
    struct trt x;
    /* far/ext is exported to ops and imported there, but ops's policies stay with ops (§8.3,
     * §10.7); far's own policy applies. */
    trt_run(&x, ADMIN
            "kind: Workspace\n"
            "metadata: {name: ops, namespace: gloo-mesh}\n"
            "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}, {name: "
            "data}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
            "metadata: {name: ops, namespace: gw}\n"
            "spec: {importFrom: [{workspaces: [{name: far}]}]}\n" DOC ADMIN "kind: Workspace\n"
            "metadata: {name: far, namespace: gloo-mesh}\n"
            "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: far}]}]}\n" DOC ADMIN
            "kind: WorkspaceSettings\n"
            "metadata: {name: far, namespace: far}\n"
            "spec: {exportTo: [{workspaces: [{name: ops}]}]}\n" DOC NET "kind: ExternalService\n"
            "metadata: {name: ext, namespace: far, labels: {failover: 'true'}}\n"
            "spec: {hosts: [ext.internal], ports: [{number: 80}]}\n" ODP("ops-all", "{}")
                ODP("ops-named", "{applyToDestinations: [{kind: "
                                 "EXTERNAL_SERVICE, selector: {name: "
                                 "ext, namespace: far}}]}"));
    assert_string_equal(outlier_of(&x, "far/ext:80"), "-");
    assert_int_equal(
        trt_counter(&x, "OutlierDetectionPolicy", "data/ops-named", "numSelectedDestinationPorts"),
        0);
    trt_free(&x);
}

static void outlier_defaults(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("od", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, "
                                          "selector: {name: pay}}]}")
                    ODP("zero", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: "
                                "plain}}], config: {maxEjectionPercent: 0, interval: 1s500ms}}"));
    const struct cw_outlier_config *c = &trt_need_cluster(&x, "data/pay:80")->outlier->config;
    assert_int_equal(c->consecutive_errors, 5);
    assert_int_equal(c->consecutive_gateway_errors, 0);
    assert_int_equal(c->interval_ms, 10000);
    assert_int_equal(c->base_ejection_ms, 30000);
    assert_int_equal(c->max_ejection_percent, 100); /* Gloo's default, not Istio's 10 */
    /* A7 [DECISION]: an explicit 0 means Istio's 10 %. */
    c = &trt_need_cluster(&x, "data/plain:80")->outlier->config;
    assert_int_equal(c->max_ejection_percent, 10);
    assert_int_equal(c->interval_ms, 1500);
    assert_int_equal(c->consecutive_errors, 5);
    trt_free(&x);
}

static void older_policy_wins_a_port(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP_AT("od-new", "2024-06-01T00:00:00Z",
                                       "{applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: "
                                       "{name: inv}}]}")
                    ODP_AT("od-old", "2024-01-01T00:00:00Z",
                           "{applyToDestinations: [{kind: EXTERNAL_SERVICE, port: {number: 80}, "
                           "selector: {name: inv}}]}"));
    assert_accepted(&x, "OutlierDetectionPolicy", "data/od-old");
    assert_status_prefix(&x, "OutlierDetectionPolicy", "data/od-new", CW_APPROVAL_WARNING,
                         "ExternalService data/inv port 80 already uses OutlierDetectionPolicy "
                         "data/od-old");
    assert_string_equal(outlier_of(&x, "data/inv:80"), "od-old");
    /* The newer policy still applies where it does not conflict. */
    assert_string_equal(outlier_of(&x, "data/inv:443"), "od-new");
    assert_int_equal(
        trt_counter(&x, "OutlierDetectionPolicy", "data/od-new", "numSelectedDestinationPorts"), 1);
    trt_free(&x);
}

static void older_failover_policy_wins_too(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("od", "{}") DOC RESILIENT
            "kind: FailoverPolicy\n"
            "metadata: {name: fo-b, namespace: data, creationTimestamp: "
            "'2024-02-01T00:00:00Z'}\n"
            "spec: {applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: pay}}]}\n" DOC
                RESILIENT "kind: FailoverPolicy\n"
            "metadata: {name: fo-a, namespace: data, creationTimestamp: "
            "'2024-03-01T00:00:00Z'}\n"
            "spec: {applyToDestinations: [{kind: EXTERNAL_SERVICE, "
            "selector: {name: pay}}]}\n");
    assert_accepted(&x, "FailoverPolicy", "data/fo-b");
    assert_status(&x, "FailoverPolicy", "data/fo-a", CW_APPROVAL_WARNING,
                  "already uses FailoverPolicy data/fo-b");
    assert_string_equal(failover_of(&x, "data/pay:80"), "fo-b");
    trt_free(&x);
}

static void failover_without_outlier_detection_inactive(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES FP("fo", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, "
                                         "selector: {name: pay}}]}"));
    /* A5 [DECISION]: no synthesised outlier detection; the policy says it does nothing. */
    assert_status_prefix(&x, "FailoverPolicy", "data/fo", CW_APPROVAL_WARNING,
                         "no OutlierDetectionPolicy selects data/pay; failover inactive");
    const struct cw_cluster *c = trt_need_cluster(&x, "data/pay:80");
    assert_non_null(c->failover);
    assert_null(c->outlier);
    assert_false(c->locality_priorities);
    trt_free(&x);
}

static void failover_with_outlier_detection_accepted(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES FP("fo",
                                   "{applyToDestinations: [" ES_LABELED("{failover: 'true'}") "]}")
                    ODP("od", "{applyToDestinations: [" ES_LABELED("{failover: 'true'}") "]}"));
    assert_all_accepted(&x);
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inv",
                                 "numAppliedDestinationPolicies/OutlierDetectionPolicy"),
                     1);
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inv",
                                 "numAppliedDestinationPolicies/FailoverPolicy"),
                     1);
    assert_true(trt_need_cluster(&x, "data/inv:80")->locality_priorities);
    trt_free(&x);
}

static void kind_service_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("explicit", "{applyToDestinations: [{kind: SERVICE, "
                                                "selector: {name: pay}}]}")
                    ODP("omitted", "{applyToDestinations: [{selector: {name: plain}}]}"));
    assert_status_prefix(&x, "OutlierDetectionPolicy", "data/explicit", CW_APPROVAL_INVALID,
                         "applyToDestinations.kind must be VIRTUAL_DESTINATION or "
                         "EXTERNAL_SERVICE");
    /* kind defaults to SERVICE (§0.2). */
    assert_status_prefix(&x, "OutlierDetectionPolicy", "data/omitted", CW_APPROVAL_INVALID,
                         "applyToDestinations.kind must be VIRTUAL_DESTINATION or "
                         "EXTERNAL_SERVICE");
    assert_string_equal(outlier_of(&x, "data/pay:80"), "-");
    assert_string_equal(outlier_of(&x, "data/plain:80"), "-");
    trt_free(&x);
}

static void invalid_policy_applies_nowhere(void **state)
{
    (void)state;
    struct trt x;
    /* The first entry is fine, the second makes the policy INVALID: an INVALID policy is not
     * applied (§9), not even through its valid entries. */
    trt_run(&x, WS_OPS SERVICES ODP("mixed", "{applyToDestinations: [{kind: EXTERNAL_SERVICE, "
                                             "selector: {name: pay}}, {kind: SERVICE}]}"));
    assert_status(&x, "OutlierDetectionPolicy", "data/mixed", CW_APPROVAL_INVALID,
                  "applyToDestinations.kind must be VIRTUAL_DESTINATION or EXTERNAL_SERVICE");
    assert_string_equal(outlier_of(&x, "data/pay:80"), "-");
    assert_int_equal(trt_counter(&x, "ExternalService", "data/pay",
                                 "numAppliedDestinationPolicies/OutlierDetectionPolicy"),
                     -1);
    trt_free(&x);
}

static void virtual_destination_kind_is_ignored_with_warning(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("vd", "{applyToDestinations: [{kind: VIRTUAL_DESTINATION, "
                                          "selector: {name: pay}}]}"));
    assert_status(&x, "OutlierDetectionPolicy", "data/vd", CW_APPROVAL_WARNING,
                  "VirtualDestination");
    assert_string_equal(outlier_of(&x, "data/pay:80"), "-");
    trt_free(&x);
}

static void priority_labels_must_not_mix_forms(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES ODP("od", "{}") FP(
                    "mixed", "{config: {priorityLabels: {labels: [topology.kubernetes.io/region, "
                             "'tier=gold']}}}"));
    assert_status(&x, "FailoverPolicy", "data/mixed", CW_APPROVAL_INVALID, "priorityLabels");
    assert_string_equal(failover_of(&x, "data/pay:80"), "-");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selection_by_labels),
        cmocka_unit_test(selection_by_name_and_port),
        cmocka_unit_test(selectors_are_ored),
        cmocka_unit_test(empty_apply_to_selects_every_service_of_the_workspace),
        cmocka_unit_test(policies_do_not_follow_imports),
        cmocka_unit_test(outlier_defaults),
        cmocka_unit_test(older_policy_wins_a_port),
        cmocka_unit_test(older_failover_policy_wins_too),
        cmocka_unit_test(failover_without_outlier_detection_inactive),
        cmocka_unit_test(failover_with_outlier_detection_accepted),
        cmocka_unit_test(kind_service_invalid),
        cmocka_unit_test(invalid_policy_applies_nowhere),
        cmocka_unit_test(virtual_destination_kind_is_ignored_with_warning),
        cmocka_unit_test(priority_labels_must_not_mix_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
