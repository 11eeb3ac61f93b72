/*
 * Import/export visibility (spec §8.3): a resource owned by workspace A is usable in workspace B
 * only when A exports it to B AND B imports it from A. Either side alone changes nothing.
 */
#include "tr_support.h"

/*
 * Workspace "gateway" (namespace gw, labels tier=edge) serves RouteTable gw/front, which routes
 * to ExternalService app/api owned by workspace "app" (namespace app). <app_spec> and
 * <gateway_spec> are the two WorkspaceSettings specs.
 */
static const char *linked(const char *app_spec, const char *gateway_spec)
{
    static char buf[4096];
    snprintf(
        buf, sizeof(buf),
        ADMIN
        "kind: Workspace\n"
        "metadata: {name: gateway, namespace: gloo-mesh, labels: {tier: edge}}\n"
        "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}]}]}\n" DOC ADMIN
        "kind: Workspace\n"
        "metadata: {name: app, namespace: gloo-mesh, labels: {tier: backend}}\n"
        "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: app}]}]}\n" DOC ADMIN
        "kind: WorkspaceSettings\n"
        "metadata: {name: app, namespace: app}\n"
        "spec: %s\n" DOC ADMIN "kind: WorkspaceSettings\n"
        "metadata: {name: gateway, namespace: gw}\n"
        "spec: %s\n" DOC NET "kind: ExternalService\n"
        "metadata: {name: api, namespace: app}\n"
        "spec: {hosts: [api.internal], ports: [{name: http, number: 80, protocol: HTTP}]}\n" DOC
            VG_WEB DOC NET "kind: RouteTable\n"
        "metadata: {name: front, namespace: gw}\n"
        "spec:\n"
        "  hosts: [front.example.com]\n"
        "  virtualGateways: [{name: web}]\n"
        "  http:\n"
        "  - name: api\n"
        "    forwardTo:\n"
        "      destinations: [{ref: {name: api, namespace: app}, kind: EXTERNAL_SERVICE}]\n",
        app_spec, gateway_spec);
    return buf;
}

#define EXPORT_ES_TO_GATEWAY                                                                       \
    "{exportTo: [{workspaces: [{name: gateway}], resources: [{kind: EXTERNAL_SERVICE}]}]}"
#define IMPORT_ES_FROM_APP                                                                         \
    "{importFrom: [{workspaces: [{name: app}], resources: [{kind: EXTERNAL_SERVICE}]}]}"
#define NOT_FOUND "destination EXTERNAL_SERVICE app/api not found in workspace gateway"

/* The route to app/api is served: the import made the service usable in "gateway". */
static void assert_route_served(const struct trt *x)
{
    assert_accepted(x, "RouteTable", "gw/front");
    const struct cw_route *r = trt_need_route(trt_need_vhost(x, 8080, "front.example.com"), "api");
    static const char *const names[] = {"app/api:80"};
    static const uint32_t weights[] = {100};
    trt_assert_forward(r, 1, names, weights);
}

/* The route is a 500 and the table says why: the service is not visible where it is used. */
static void assert_route_not_found(const struct trt *x)
{
    assert_status(x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, NOT_FOUND);
    const struct cw_route *r = trt_need_route(trt_need_vhost(x, 8080, "front.example.com"), "api");
    trt_assert_failed(r, NOT_FOUND);
}

static void export_and_import_make_service_visible(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked(EXPORT_ES_TO_GATEWAY, IMPORT_ES_FROM_APP));
    assert_route_served(&x);
    /* Ownership does not move with an import. */
    assert_string_equal(trt_status(&x, "ExternalService", "app/api")->workspace, "app");
    assert_int_equal(trt_counter(&x, "Workspace", "gloo-mesh/gateway", "numImportedWorkspaces"), 1);
    assert_int_equal(trt_counter(&x, "Workspace", "gloo-mesh/app", "numImportedWorkspaces"), 0);
    trt_free(&x);
}

static void no_link_service_not_visible(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked("{}", "{}"));
    assert_route_not_found(&x);
    assert_accepted(&x, "ExternalService", "app/api");
    trt_free(&x);
}

static void export_without_import_changes_nothing(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked(EXPORT_ES_TO_GATEWAY, "{}"));
    assert_route_not_found(&x);
    assert_int_equal(trt_counter(&x, "Workspace", "gloo-mesh/gateway", "numImportedWorkspaces"), 0);
    trt_free(&x);
}

static void import_without_export_changes_nothing(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked("{}", IMPORT_ES_FROM_APP));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void export_to_another_workspace_does_not_count(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: somebody-else}]}]}", IMPORT_ES_FROM_APP));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void resource_kind_must_match_on_both_sides(void **state)
{
    (void)state;
    struct trt x;
    /* Only RouteTables are exported: the ExternalService stays private. */
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: gateway}], resources: [{kind: "
                       "ROUTE_TABLE}]}]}",
                       IMPORT_ES_FROM_APP));
    assert_route_not_found(&x);
    trt_free(&x);
    /* Exported, but the importer takes only RouteTables. */
    trt_run(&x, linked(EXPORT_ES_TO_GATEWAY, "{importFrom: [{workspaces: [{name: app}], "
                                             "resources: [{kind: ROUTE_TABLE}]}]}"));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void resource_name_and_labels_filter_exports(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: gateway}], resources: [{kind: "
                       "EXTERNAL_SERVICE, name: other-api}]}]}",
                       IMPORT_ES_FROM_APP));
    assert_route_not_found(&x);
    trt_free(&x);
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: gateway}], resources: [{kind: "
                       "EXTERNAL_SERVICE, name: api, namespace: app}]}]}",
                       IMPORT_ES_FROM_APP));
    assert_route_served(&x);
    trt_free(&x);
    /* app/api carries no labels, so a labels filter leaves it private. */
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: gateway}], resources: [{kind: "
                       "EXTERNAL_SERVICE, labels: {shared: 'true'}}]}]}",
                       IMPORT_ES_FROM_APP));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void workspace_selectors_and_globs(void **state)
{
    (void)state;
    struct trt x;
    /* Export by workspace labels, import by glob, resources omitted ⇒ every kind (§8.2). */
    trt_run(&x, linked("{exportTo: [{workspaces: [{selector: {tier: edge}}]}]}",
                       "{importFrom: [{workspaces: [{name: 'a*'}]}]}"));
    assert_route_served(&x);
    trt_free(&x);
    /* name '*' ⇒ all workspaces; kind ALL covers ExternalServices. */
    trt_run(&x, linked("{exportTo: [{workspaces: [{name: '*'}], resources: [{kind: ALL}]}]}",
                       "{importFrom: [{workspaces: [{name: '*'}], resources: [{kind: ALL}]}]}"));
    assert_route_served(&x);
    trt_free(&x);
    /* A label selector that does not match the importer. */
    trt_run(&x, linked("{exportTo: [{workspaces: [{selector: {tier: backend}}]}]}",
                       "{importFrom: [{workspaces: [{name: app}]}]}"));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void import_is_not_transitive_backwards(void **state)
{
    (void)state;
    struct trt x;
    /* gateway exports to app and app imports: that links gateway → app, not app → gateway. */
    trt_run(&x, linked("{importFrom: [{workspaces: [{name: gateway}]}]}",
                       "{exportTo: [{workspaces: [{name: app}]}]}"));
    assert_route_not_found(&x);
    trt_free(&x);
}

static void global_settings_apply_to_every_workspace(void **state)
{
    (void)state;
    struct trt x;
    char yaml[8192];
    /* Both per-workspace settings are empty; the global one in gloo-mesh links everything. */
    snprintf(yaml, sizeof(yaml),
             "%s" DOC ADMIN "kind: WorkspaceSettings\n"
             "metadata: {name: global, namespace: gloo-mesh}\n"
             "spec: {exportTo: [{workspaces: [{name: '*'}]}], importFrom: "
             "[{workspaces: [{name: '*'}]}]}\n",
             linked("{}", "{}"));
    trt_run(&x, yaml);
    assert_route_served(&x);
    assert_accepted(&x, "WorkspaceSettings", "gloo-mesh/global");
    assert_status(&x, "WorkspaceSettings", "gw/gateway", CW_APPROVAL_ACCEPTED, "overridden");
    trt_free(&x);
}

static void destinations_resolve_in_the_route_tables_workspace(void **state)
{
    (void)state;
    struct trt x;
    /* RouteTable team/t is exported to the gateway's workspace, but its destination
     * gw-side/api lives in the gateway's workspace and is not imported into team's: §3.3 says
     * the destination must be in the RouteTable's workspace or imported into it. */
    trt_run(
        &x, ADMIN
        "kind: Workspace\n"
        "metadata: {name: gateway, namespace: gloo-mesh}\n"
        "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}]}]}\n" DOC ADMIN
        "kind: WorkspaceSettings\n"
        "metadata: {name: gateway, namespace: gw}\n"
        "spec: {importFrom: [{workspaces: [{name: team}]}]}\n" DOC ADMIN "kind: Workspace\n"
        "metadata: {name: team, namespace: gloo-mesh}\n"
        "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: team}]}]}\n" DOC ADMIN
        "kind: WorkspaceSettings\n"
        "metadata: {name: team, namespace: team}\n"
        "spec: {exportTo: [{workspaces: [{name: gateway}]}]}\n" DOC NET "kind: ExternalService\n"
        "metadata: {name: api, namespace: gw}\n"
        "spec: {hosts: [api.internal], ports: [{number: 80}]}\n" DOC NET "kind: ExternalService\n"
        "metadata: {name: own, namespace: team}\n"
        "spec: {hosts: [own.internal], ports: [{number: 80}]}\n" DOC VG_WEB DOC NET
        "kind: RouteTable\n"
        "metadata: {name: t, namespace: team}\n"
        "spec:\n"
        "  hosts: [team.example.com]\n"
        "  virtualGateways: [{name: web, namespace: gw}]\n"
        "  http:\n"
        "  - {name: own, forwardTo: {destinations: [{ref: {name: own}, kind: "
        "EXTERNAL_SERVICE}]}}\n"
        "  - {name: api, forwardTo: {destinations: [{ref: {name: api, namespace: "
        "gw}, kind: EXTERNAL_SERVICE}]}}\n");
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "team.example.com");
    assert_int_equal(trt_need_route(vh, "own")->kind, CW_ROUTE_FORWARD);
    trt_assert_failed(trt_need_route(vh, "api"),
                      "destination EXTERNAL_SERVICE gw/api not found in workspace team");
    assert_status(&x, "RouteTable", "team/t", CW_APPROVAL_INVALID,
                  "destination EXTERNAL_SERVICE gw/api not found in workspace team");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_and_import_make_service_visible),
        cmocka_unit_test(no_link_service_not_visible),
        cmocka_unit_test(export_without_import_changes_nothing),
        cmocka_unit_test(import_without_export_changes_nothing),
        cmocka_unit_test(export_to_another_workspace_does_not_count),
        cmocka_unit_test(resource_kind_must_match_on_both_sides),
        cmocka_unit_test(resource_name_and_labels_filter_exports),
        cmocka_unit_test(workspace_selectors_and_globs),
        cmocka_unit_test(import_is_not_transitive_backwards),
        cmocka_unit_test(global_settings_apply_to_every_workspace),
        cmocka_unit_test(destinations_resolve_in_the_route_tables_workspace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
