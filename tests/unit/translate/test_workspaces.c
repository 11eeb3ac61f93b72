/*
 * Workspace membership (spec §8.1-§8.2): every object belongs to the workspace that selects its
 * namespace; a namespace belongs to at most one workspace; objects outside every workspace are
 * INVALID; with no Workspace at all everything forms the implicit workspace "default"; one
 * WorkspaceSettings per workspace.
 */
#include "tr_support.h"

/* An ExternalService in namespace <ns> with a single address. */
#define ES_IN(ns, name, addr)                                                                      \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: " name ", namespace: " ns "}\n"                                      \
            "spec: {addresses: ['" addr "'], ports: [{name: tcp, number: 7000}]}\n"

static void namespace_maps_to_its_workspace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES_IN("data", "db", "10.0.0.1"));
    assert_accepted(&x, "ExternalService", "data/db");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "ops");
    /* The WorkspaceSettings lives in gw, which ops also owns. */
    assert_string_equal(trt_status(&x, "WorkspaceSettings", "gw/ops")->workspace, "ops");
    assert_accepted(&x, "Workspace", "gloo-mesh/ops");
    assert_non_null(trt_cluster(&x, "data/db:7000"));
    trt_free(&x);
}

static void namespace_glob_selects_namespaces(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            ADMIN "kind: Workspace\n"
                  "metadata: {name: teams, namespace: gloo-mesh}\n"
                  "spec: {workloadClusters: [{name: '*', namespaces: [{name: 'team-*'}]}]}\n" ES_IN(
                      "team-a", "db", "10.0.0.1") ES_IN("team-b", "db", "10.0.0.2")
                      ES_IN("other", "db", "10.0.0.3"));
    assert_string_equal(trt_status(&x, "ExternalService", "team-a/db")->workspace, "teams");
    assert_string_equal(trt_status(&x, "ExternalService", "team-b/db")->workspace, "teams");
    assert_status(&x, "ExternalService", "other/db", CW_APPROVAL_INVALID,
                  "namespace other is not in any Workspace");
    assert_int_equal(trt_counter(&x, "Workspace", "gloo-mesh/teams", "numSelectedNamespaces"), 2);
    trt_free(&x);
}

/* Both workspaces claim namespace data: the older keeps it, the newer is INVALID. */
static const char *two_claims(const char *ops_created, const char *other_created)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             ADMIN "kind: Workspace\n"
                   "metadata: {name: ops, namespace: gloo-mesh, creationTimestamp: '%s'}\n"
                   "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}, "
                   "{name: data}]}]}\n" DOC ADMIN "kind: Workspace\n"
                   "metadata: {name: other, namespace: gloo-mesh, creationTimestamp: '%s'}\n"
                   "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: data}, "
                   "{name: extra}]}]}\n" ES_IN("data", "db", "10.0.0.1")
                       ES_IN("extra", "db", "10.0.0.2"),
             ops_created, other_created);
    return buf;
}

static void namespace_claimed_twice_newer_workspace_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, two_claims("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"));
    assert_accepted(&x, "Workspace", "gloo-mesh/ops");
    assert_status(&x, "Workspace", "gloo-mesh/other", CW_APPROVAL_INVALID,
                  "namespace data already belongs to workspace ops");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "ops");
    /* The INVALID workspace owns nothing, not even the namespace nobody else claims. */
    assert_status(&x, "ExternalService", "extra/db", CW_APPROVAL_INVALID,
                  "namespace extra is not in any Workspace");
    trt_free(&x);

    /* Swap the ages: now "other" is older and keeps data; ops is the INVALID one. */
    trt_run(&x, two_claims("2024-03-01T00:00:00Z", "2024-02-01T00:00:00Z"));
    assert_accepted(&x, "Workspace", "gloo-mesh/other");
    assert_status(&x, "Workspace", "gloo-mesh/ops", CW_APPROVAL_INVALID,
                  "namespace data already belongs to workspace other");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "other");
    assert_string_equal(trt_status(&x, "ExternalService", "extra/db")->workspace, "other");
    trt_free(&x);
}

static void object_outside_every_workspace_is_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES_IN("elsewhere", "db", "10.0.0.1") ES_IN("data", "ok", "10.0.0.2"));
    assert_status_prefix(&x, "ExternalService", "elsewhere/db", CW_APPROVAL_INVALID,
                         "namespace elsewhere is not in any Workspace");
    assert_null(trt_status(&x, "ExternalService", "elsewhere/db")->workspace);
    /* Not translated: no cluster for it. */
    assert_null(trt_cluster(&x, "elsewhere/db:7000"));
    assert_accepted(&x, "ExternalService", "data/ok");
    trt_free(&x);
}

static void no_workspace_means_implicit_default(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, NET "kind: ExternalService\n"
                    "metadata: {name: db, namespace: data}\n"
                    "spec: {addresses: ['10.0.0.1'], ports: [{number: 7000}]}\n" ES_IN(
                        "other", "db", "10.0.0.2"));
    assert_accepted(&x, "ExternalService", "data/db");
    assert_accepted(&x, "ExternalService", "other/db");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "default");
    assert_string_equal(trt_status(&x, "ExternalService", "other/db")->workspace, "default");
    assert_non_null(trt_cluster(&x, "data/db:7000"));
    /* The user is told why no workspace errors appear. */
    char *notes = cwt_diags_text(&x.diags);
    assert_diag_contains(notes, "implicit workspace \"default\"");
    free(notes);
    trt_free(&x);
}

static void implicit_workspace_shares_one_address_space(void **state)
{
    (void)state;
    struct trt x;
    /* Different namespaces, same implicit workspace: the overlap rule applies. */
    trt_run(&x, NET "kind: ExternalService\n"
                    "metadata: {name: a, namespace: one}\n"
                    "spec: {addresses: ['10.0.0.1'], ports: [{number: 7000}]}\n" ES_IN("two", "b",
                                                                                       "10.0.0.1"));
    assert_accepted(&x, "ExternalService", "one/a");
    assert_status(&x, "ExternalService", "two/b", CW_APPROVAL_INVALID,
                  "address 10.0.0.1 already used by ExternalService one/a in workspace default");
    trt_free(&x);
}

static void one_workspace_settings_per_workspace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, ADMIN "kind: Workspace\n"
                      "metadata: {name: ops, namespace: gloo-mesh}\n"
                      "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}, "
                      "{name: data}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
                      "metadata: {name: ops, namespace: gw, creationTimestamp: "
                      "'2024-01-01T00:00:00Z'}\n"
                      "spec: {}\n" DOC ADMIN "kind: WorkspaceSettings\n"
                      "metadata: {name: ops-again, namespace: data, creationTimestamp: "
                      "'2024-05-01T00:00:00Z'}\n"
                      "spec: {}\n");
    assert_accepted(&x, "WorkspaceSettings", "gw/ops");
    assert_status(&x, "WorkspaceSettings", "data/ops-again", CW_APPROVAL_INVALID,
                  "workspace ops already has WorkspaceSettings gw/ops");
    trt_free(&x);
}

static void workspace_settings_outside_workspaces_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC ADMIN "kind: WorkspaceSettings\n"
                                 "metadata: {name: stray, namespace: nowhere}\n"
                                 "spec: {}\n");
    assert_status(&x, "WorkspaceSettings", "nowhere/stray", CW_APPROVAL_INVALID,
                  "namespace nowhere is not in any Workspace");
    trt_free(&x);
}

static void other_cluster_entries_do_not_apply(void **state)
{
    (void)state;
    struct trt x;
    struct cw_gateway_identity gw = trt_gateway();
    gw.cluster = "cluster1";
    /* Only cluster2's entry names namespace data: for a gateway in cluster1 it is unowned. */
    trt_run_gw(&x,
               ADMIN
               "kind: Workspace\n"
               "metadata: {name: ops, namespace: gloo-mesh}\n"
               "spec:\n"
               "  workloadClusters:\n"
               "  - {name: cluster1, namespaces: [{name: gw}]}\n"
               "  - {name: cluster2, namespaces: [{name: data}]}\n" ES_IN("data", "db", "10.0.0.1")
                   ES_IN("gw", "local", "10.0.0.2"),
               &gw);
    assert_status(&x, "ExternalService", "data/db", CW_APPROVAL_INVALID,
                  "namespace data is not in any Workspace");
    assert_accepted(&x, "ExternalService", "gw/local");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(namespace_maps_to_its_workspace),
        cmocka_unit_test(namespace_glob_selects_namespaces),
        cmocka_unit_test(namespace_claimed_twice_newer_workspace_invalid),
        cmocka_unit_test(object_outside_every_workspace_is_invalid),
        cmocka_unit_test(no_workspace_means_implicit_default),
        cmocka_unit_test(implicit_workspace_shares_one_address_space),
        cmocka_unit_test(one_workspace_settings_per_workspace),
        cmocka_unit_test(workspace_settings_outside_workspaces_invalid),
        cmocka_unit_test(other_cluster_entries_do_not_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
