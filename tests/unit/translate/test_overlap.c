/*
 * The ExternalService overlap rule (spec §8.4): services sharing a normalised address or a
 * case-insensitive host collide when some workspace sees both. The older (creationTimestamp,
 * then namespace/name) keeps the key; the other is INVALID, names the winner, and is not
 * translated. Partially overlapping CIDRs are both accepted with a WARNING.
 */
#include "tr_support.h"

/* ExternalService <ns>/<name> with spec fields <keys> ("addresses: [...]" or "hosts: [...]"). */
#define ES(ns, name, keys)                                                                         \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: " name ", namespace: " ns "}\n"                                      \
            "spec: {" keys ", ports: [{name: tcp, number: 7000, protocol: TCP}]}\n"

/* The same, created at <created>. */
#define ES_AT(ns, name, created, keys)                                                             \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: " name ", namespace: " ns ", creationTimestamp: '" created "'}\n"    \
            "spec: {" keys ", ports: [{name: tcp, number: 7000, protocol: TCP}]}\n"

static void single_address_equals_host_prefix(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("data", "a", "addresses: ['10.0.0.1']")
                    ES("data", "b", "addresses: ['10.0.0.1/32']"));
    assert_accepted(&x, "ExternalService", "data/a");
    assert_status_prefix(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                         "address 10.0.0.1/32 already used by ExternalService data/a in "
                         "workspace ops");
    /* The loser is not translated at all. */
    assert_non_null(trt_cluster(&x, "data/a:7000"));
    assert_null(trt_cluster(&x, "data/b:7000"));
    assert_string_equal(trt_status(&x, "ExternalService", "data/b")->workspace, "ops");
    trt_free(&x);
}

static void ipv6_spellings_collide(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("data", "a", "addresses: ['2001:db8::1']")
                    ES("data", "b", "addresses: ['2001:0DB8:0000:0000::0001/128']")
                        ES("data", "c", "addresses: ['2001:db9::/64']")
                            ES("data", "d", "addresses: ['2001:db9:0:0::/64']"));
    assert_accepted(&x, "ExternalService", "data/a");
    assert_status(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                  "address 2001:0DB8:0000:0000::0001/128 already used by ExternalService data/a "
                  "in workspace ops");
    assert_status(&x, "ExternalService", "data/d", CW_APPROVAL_INVALID,
                  "address 2001:db9:0:0::/64 already used by ExternalService data/c");
    trt_free(&x);
}

static void distinct_addresses_do_not_collide(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS ES("data", "a", "addresses: ['10.0.0.1']")
                ES("data", "b", "addresses: ['10.0.0.2']") ES("data", "c", "hosts: [a.example.com]")
                    ES("data", "d", "hosts: [b.example.com]"));
    assert_all_accepted(&x);
    trt_free(&x);
}

static void hosts_collide_case_insensitively(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("data", "a", "hosts: [db.example.com]")
                    ES("data", "b", "hosts: [DB.Example.COM]"));
    assert_accepted(&x, "ExternalService", "data/a");
    /* [DECISION] §8.4.1: hosts count like addresses. */
    assert_status(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                  "DB.Example.COM already used by ExternalService data/a in workspace ops");
    trt_free(&x);
    /* A trailing dot names the same host. */
    trt_run(&x, WS_OPS ES("data", "a", "hosts: [db.example.com]")
                    ES("data", "b", "hosts: [db.example.com.]"));
    assert_status(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                  "already used by ExternalService data/a");
    trt_free(&x);
}

static void older_creation_timestamp_wins(void **state)
{
    (void)state;
    struct trt x;
    /* "a" sorts first by name, but "z" is older: age decides. */
    trt_run(&x, WS_OPS ES_AT("data", "a", "2024-06-01T00:00:00Z", "addresses: ['10.0.0.1']")
                    ES_AT("data", "z", "2024-01-01T00:00:00Z", "addresses: ['10.0.0.1']"));
    assert_accepted(&x, "ExternalService", "data/z");
    assert_status_prefix(&x, "ExternalService", "data/a", CW_APPROVAL_INVALID,
                         "address 10.0.0.1 already used by ExternalService data/z in "
                         "workspace ops");
    trt_free(&x);
}

static void missing_timestamp_counts_as_newest(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("data", "a", "addresses: ['10.0.0.1']")
                    ES_AT("data", "z", "2024-01-01T00:00:00Z", "addresses: ['10.0.0.1']"));
    assert_accepted(&x, "ExternalService", "data/z");
    assert_status(&x, "ExternalService", "data/a", CW_APPROVAL_INVALID,
                  "already used by ExternalService data/z");
    trt_free(&x);
}

static void timestamp_tie_broken_by_namespace_then_name(void **state)
{
    (void)state;
    struct trt x;
#define T "2024-01-01T00:00:00Z"
    /* Same age: "data/b" loses to "data/a" by name ... */
    trt_run(&x, WS_OPS ES_AT("data", "b", T, "addresses: ['10.0.0.1']")
                    ES_AT("data", "a", T, "addresses: ['10.0.0.1']"));
    assert_accepted(&x, "ExternalService", "data/a");
    assert_status(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                  "already used by ExternalService data/a");
    trt_free(&x);
    /* ... and namespace comes before name: "data/a" loses to "apps/z" (apps < data). */
    trt_run(&x, ADMIN "kind: Workspace\n"
                      "metadata: {name: ops, namespace: gloo-mesh}\n"
                      "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: apps}, "
                      "{name: data}]}]}\n" ES_AT("data", "a", T, "addresses: ['10.0.0.1']")
                          ES_AT("apps", "z", T, "addresses: ['10.0.0.1']"));
    assert_accepted(&x, "ExternalService", "apps/z");
    assert_status(&x, "ExternalService", "data/a", CW_APPROVAL_INVALID,
                  "already used by ExternalService apps/z in workspace ops");
    trt_free(&x);
#undef T
}

/* Workspaces staging (staging-data) and prod (prod-data) with the given settings specs. */
static const char *two_workspaces(const char *staging_spec, const char *prod_spec,
                                  const char *services)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             ADMIN "kind: Workspace\n"
                   "metadata: {name: staging, namespace: gloo-mesh, labels: {env: staging}}\n"
                   "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
                   "staging-data}]}]}\n" DOC ADMIN "kind: Workspace\n"
                   "metadata: {name: prod, namespace: gloo-mesh, labels: {env: prod}}\n"
                   "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
                   "prod-data}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
                   "metadata: {name: staging, namespace: staging-data}\n"
                   "spec: %s\n" DOC ADMIN "kind: WorkspaceSettings\n"
                   "metadata: {name: prod, namespace: prod-data}\n"
                   "spec: %s\n%s",
             staging_spec, prod_spec, services);
    return buf;
}

#define SAME_ADDRESS_BOTH_SIDES                                                                    \
    ES_AT("staging-data", "db", "2024-01-01T00:00:00Z", "addresses: ['203.0.113.7']")              \
    ES_AT("prod-data", "db", "2024-02-01T00:00:00Z", "addresses: ['203.0.113.7']")

static void isolated_workspaces_may_reuse_an_address(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, two_workspaces("{}", "{}", SAME_ADDRESS_BOTH_SIDES));
    assert_accepted(&x, "ExternalService", "staging-data/db");
    assert_accepted(&x, "ExternalService", "prod-data/db");
    assert_non_null(trt_cluster(&x, "staging-data/db:7000"));
    assert_non_null(trt_cluster(&x, "prod-data/db:7000"));
    trt_free(&x);
}

static void linked_workspaces_collide(void **state)
{
    (void)state;
    struct trt x;
    /* prod exports to staging, staging imports from prod: staging sees both. */
    trt_run(&x, two_workspaces("{importFrom: [{workspaces: [{name: prod}]}]}",
                               "{exportTo: [{workspaces: [{selector: {env: staging}}]}]}",
                               SAME_ADDRESS_BOTH_SIDES));
    assert_accepted(&x, "ExternalService", "staging-data/db");
    assert_status_prefix(&x, "ExternalService", "prod-data/db", CW_APPROVAL_INVALID,
                         "address 203.0.113.7 already used by ExternalService staging-data/db "
                         "in workspace staging");
    trt_free(&x);
}

static void one_sided_link_does_not_collide(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, two_workspaces("{}", "{exportTo: [{workspaces: [{name: staging}]}]}",
                               SAME_ADDRESS_BOTH_SIDES));
    assert_all_accepted(&x);
    trt_free(&x);
    trt_run(&x, two_workspaces("{importFrom: [{workspaces: [{name: prod}]}]}", "{}",
                               SAME_ADDRESS_BOTH_SIDES));
    assert_all_accepted(&x);
    trt_free(&x);
}

static void both_imported_into_a_common_workspace_collide(void **state)
{
    (void)state;
    struct trt x;
    /* [DECISION] §8.4.2: staging and prod do not see each other, but "edge" sees both. */
    char yaml[8192];
    snprintf(yaml, sizeof(yaml), "%s%s",
             two_workspaces("{exportTo: [{workspaces: [{name: edge}]}]}",
                            "{exportTo: [{workspaces: [{name: edge}]}]}", SAME_ADDRESS_BOTH_SIDES),
             DOC ADMIN
             "kind: Workspace\n"
             "metadata: {name: edge, namespace: gloo-mesh}\n"
             "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}]}]}\n" DOC ADMIN
             "kind: WorkspaceSettings\n"
             "metadata: {name: edge, namespace: gw}\n"
             "spec: {importFrom: [{workspaces: [{name: '*'}]}]}\n");
    trt_run(&x, yaml);
    assert_accepted(&x, "ExternalService", "staging-data/db");
    assert_status(&x, "ExternalService", "prod-data/db", CW_APPROVAL_INVALID,
                  "address 203.0.113.7 already used by ExternalService staging-data/db in "
                  "workspace edge");
    trt_free(&x);
}

static void partial_cidr_overlap_warns_both(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("data", "wide", "addresses: ['10.0.0.0/16']")
                    ES("data", "narrow", "addresses: ['10.0.1.0/24']")
                        ES("data", "elsewhere", "addresses: ['10.1.0.0/24']"));
    /* §8.4.5 [AMBIGUOUS]: both accepted, both told about the other. */
    assert_status(&x, "ExternalService", "data/wide", CW_APPROVAL_WARNING,
                  "ExternalService data/narrow");
    assert_status(&x, "ExternalService", "data/narrow", CW_APPROVAL_WARNING,
                  "ExternalService data/wide");
    assert_status(&x, "ExternalService", "data/narrow", CW_APPROVAL_WARNING, "overlaps");
    assert_status_lacks(&x, "ExternalService", "data/elsewhere", "overlaps");
    trt_free(&x);
}

static void partial_overlap_in_isolated_workspaces_is_fine(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, two_workspaces("{}", "{}",
                               ES("staging-data", "wide", "addresses: ['10.0.0.0/16']")
                                   ES("prod-data", "narrow", "addresses: ['10.0.1.0/24']")));
    /* Only the CIDR-without-endpoints WARNING (§1.4.3) remains, no overlap. */
    assert_status_lacks(&x, "ExternalService", "staging-data/wide", "overlaps");
    assert_status_lacks(&x, "ExternalService", "prod-data/narrow", "overlaps");
    trt_free(&x);
}

static void invalid_service_does_not_block_a_third(void **state)
{
    (void)state;
    struct trt x;
    /* b loses 10.0.0.1 to a, so it claims nothing: c may use b's other address 10.0.0.2. */
    trt_run(&x,
            WS_OPS ES_AT("data", "a", "2024-01-01T00:00:00Z", "addresses: ['10.0.0.1']")
                ES_AT("data", "b", "2024-02-01T00:00:00Z", "addresses: ['10.0.0.1', '10.0.0.2']")
                    ES_AT("data", "c", "2024-03-01T00:00:00Z", "addresses: ['10.0.0.2']"));
    assert_accepted(&x, "ExternalService", "data/a");
    assert_status(&x, "ExternalService", "data/b", CW_APPROVAL_INVALID,
                  "address 10.0.0.1 already used by ExternalService data/a");
    assert_accepted(&x, "ExternalService", "data/c");
    trt_free(&x);
}

static void malformed_service_does_not_block_either(void **state)
{
    (void)state;
    struct trt x;
    /* The older service is INVALID for its shape, so the newer one keeps the address. */
    trt_run(&x, WS_OPS ES_AT("data", "bad", "2024-01-01T00:00:00Z",
                             "addresses: ['10.0.0.1'], hosts: [bad.example.com]")
                    ES_AT("data", "good", "2024-02-01T00:00:00Z", "addresses: ['10.0.0.1']"));
    assert_status(&x, "ExternalService", "data/bad", CW_APPROVAL_INVALID,
                  "exactly one of hosts or addresses must be set");
    assert_accepted(&x, "ExternalService", "data/good");
    trt_free(&x);
}

static void deleting_the_winner_accepts_the_loser(void **state)
{
    (void)state;
    struct trt x;
    /* Set C's follow-up: without ledger-a, ledger-b is ACCEPTED on the next translation. */
    trt_run(&x, WS_OPS ES("data", "ledger-b", "addresses: ['192.0.2.15/32']"));
    assert_accepted(&x, "ExternalService", "data/ledger-b");
    trt_free(&x);
    /* Re-creating ledger-a later gives it a newer timestamp: now ledger-a is the loser. */
    trt_run(&x,
            WS_OPS ES_AT("data", "ledger-b", "2024-01-01T10:00:00Z", "addresses: ['192.0.2.15/32']")
                ES_AT("data", "ledger-a", "2024-01-01T11:00:00Z", "addresses: ['192.0.2.15']"));
    assert_accepted(&x, "ExternalService", "data/ledger-b");
    assert_status_prefix(&x, "ExternalService", "data/ledger-a", CW_APPROVAL_INVALID,
                         "address 192.0.2.15 already used by ExternalService data/ledger-b in "
                         "workspace ops");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_address_equals_host_prefix),
        cmocka_unit_test(ipv6_spellings_collide),
        cmocka_unit_test(distinct_addresses_do_not_collide),
        cmocka_unit_test(hosts_collide_case_insensitively),
        cmocka_unit_test(older_creation_timestamp_wins),
        cmocka_unit_test(missing_timestamp_counts_as_newest),
        cmocka_unit_test(timestamp_tie_broken_by_namespace_then_name),
        cmocka_unit_test(isolated_workspaces_may_reuse_an_address),
        cmocka_unit_test(linked_workspaces_collide),
        cmocka_unit_test(one_sided_link_does_not_collide),
        cmocka_unit_test(both_imported_into_a_common_workspace_collide),
        cmocka_unit_test(partial_cidr_overlap_warns_both),
        cmocka_unit_test(partial_overlap_in_isolated_workspaces_is_fine),
        cmocka_unit_test(invalid_service_does_not_block_a_third),
        cmocka_unit_test(malformed_service_does_not_block_either),
        cmocka_unit_test(deleting_the_winner_accepts_the_loser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
