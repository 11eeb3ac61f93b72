/*
 * Delegation (spec §3.4): a parent route's delegate selects child RouteTables by ObjectSelector
 * (own workspace plus imports; entries in list order, the tables of one entry in creation
 * time order); TABLE_WEIGHT puts higher child weights first, ties keeping that order;
 * ROUTE_SPECIFICITY sorts the delegated routes by their most specific path matcher; children
 * must leave hosts, virtualGateways and failureMode empty; each child route is guarded by the
 * parent's matchers.
 */
#include "tr_support.h"
#include "cli/plan_output.h"

/* Parent gw/root on shop.example.com whose route "to-children" (prefix /api) delegates with
 * <delegate> (a flow mapping). */
#define PARENT(delegate)                                                                           \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: root, namespace: gw}\n"                                              \
            "spec:\n"                                                                              \
            "  hosts: [shop.example.com]\n"                                                        \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  http:\n"                                                                            \
            "  - {name: to-children, matchers: [{uri: {prefix: /api}}], delegate: " delegate "}\n" \
            "  - {name: rest, directResponse: {status: 404}}\n"

/* Child data/<name> with labels, creation time, weight and one route named <route>. */
#define CHILD(name, labels, created, weight, route)                                                \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: " name ", namespace: data, labels: " labels                          \
            ", creationTimestamp: '" created "'}\n"                                                \
            "spec:\n"                                                                              \
            "  weight: " weight "\n"                                                               \
            "  http: [{name: " route ", directResponse: {status: 200}}]\n"

static const struct cw_virtual_host *shop(const struct trt *x)
{
    return trt_need_vhost(x, 8080, "shop.example.com");
}

/* Asserts the route names of shop.example.com, in order. */
static void assert_route_order(const struct trt *x, uint32_t n, const char *const *names)
{
    const struct cw_virtual_host *vh = shop(x);
    if (vh->routes.n != n) {
        char *dump = trt_dump(x);
        fail_msg("expected %u routes, got %u; statuses:\n%s", n, vh->routes.n, dump);
    }
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(vh->routes.v[i].name, names[i]))
            fail_msg("route %u: expected %s, got %s", i, names[i], vh->routes.v[i].name);
}

static void children_selected_by_labels_in_creation_order(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}]}")
                    CHILD("late", "{team: a}", "2024-03-01T00:00:00Z", "0", "late-r")
                        CHILD("early", "{team: a}", "2024-01-01T00:00:00Z", "0", "early-r")
                            CHILD("foreign", "{team: b}", "2024-01-01T00:00:00Z", "0", "b-r"));
    assert_all_accepted(&x);
    static const char *const order[] = {"early-r", "late-r", "rest"};
    assert_route_order(&x, 3, order);
    /* Each child route is guarded by the delegating route's matchers. */
    const struct cw_route *r = trt_need_route(shop(&x), "early-r");
    assert_non_null(r->parent);
    assert_string_equal(r->parent->name, "to-children");
    assert_string_equal(r->table->obj.meta.name, "early");
    assert_null(trt_need_route(shop(&x), "rest")->parent);
    assert_int_equal(trt_counter(&x, "RouteTable", "data/early", "numParentRouteTables"), 1);
    assert_int_equal(trt_counter(&x, "RouteTable", "data/foreign", "numParentRouteTables"), 0);
    trt_free(&x);
}

static void table_weight_orders_children(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}], sortMethod: "
                                     "TABLE_WEIGHT}") CHILD("light", "{team: a}",
                                                            "2024-01-01T00:00:00Z", "0", "light-r")
                CHILD("heavy", "{team: a}", "2024-02-01T00:00:00Z", "10", "heavy-r")
                    CHILD("tie-old", "{team: a}", "2024-03-01T00:00:00Z", "5", "tie-old-r")
                        CHILD("tie-new", "{team: a}", "2024-04-01T00:00:00Z", "5", "tie-new-r"));
    assert_all_accepted(&x);
    /* Higher weight first; equal weights keep creation order. */
    static const char *const order[] = {"heavy-r", "tie-old-r", "tie-new-r", "light-r", "rest"};
    assert_route_order(&x, 5, order);
    trt_free(&x);
}

static void route_specificity_orders_child_routes(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}], sortMethod: "
                                         "ROUTE_SPECIFICITY}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: c, namespace: data, labels: {team: a}}\n"
            "spec:\n"
            "  http:\n"
            "  - {name: short-prefix, matchers: [{uri: {prefix: /api}}], directResponse: "
            "{status: 200}}\n"
            "  - {name: long-prefix, matchers: [{uri: {prefix: /api/v1/}}], directResponse: "
            "{status: 200}}\n"
            "  - {name: exact, matchers: [{uri: {exact: /api/v1/x}}], directResponse: "
            "{status: 200}}\n");
    /* Exact paths first, then longer prefixes before shorter ones. */
    static const char *const order[] = {"exact", "long-prefix", "short-prefix", "rest"};
    assert_route_order(&x, 4, order);
    trt_free(&x);
}

static void children_selected_by_name_and_namespace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: one, namespace: data}]}")
                    CHILD("one", "{}", "2024-01-01T00:00:00Z", "0", "one-r")
                        CHILD("two", "{}", "2024-01-01T00:00:00Z", "0", "two-r"));
    static const char *const order[] = {"one-r", "rest"};
    assert_route_order(&x, 2, order);
    trt_free(&x);
}

static void children_listed_by_name_keep_list_order(void **state)
{
    (void)state;
    struct trt x;
    /* "late" is listed first although "early" is older: the list's order wins (§3.4). */
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: late}, {name: early}]}")
                    CHILD("early", "{}", "2024-01-01T00:00:00Z", "0", "early-r")
                        CHILD("late", "{}", "2024-03-01T00:00:00Z", "0", "late-r"));
    assert_all_accepted(&x);
    static const char *const order[] = {"late-r", "early-r", "rest"};
    assert_route_order(&x, 3, order);
    trt_free(&x);
}

static void children_selected_twice_keep_first_place(void **state)
{
    (void)state;
    struct trt x;
    /* "b" is named first and selected again by the label entry: it is not repeated, and the
     * label entry adds the others in creation order. */
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: b}, {labels: {team: a}}]}")
                    CHILD("a", "{team: a}", "2024-01-01T00:00:00Z", "0", "a-r")
                        CHILD("b", "{team: a}", "2024-02-01T00:00:00Z", "0", "b-r")
                            CHILD("c", "{team: a}", "2024-03-01T00:00:00Z", "0", "c-r"));
    assert_all_accepted(&x);
    static const char *const order[] = {"b-r", "a-r", "c-r", "rest"};
    assert_route_order(&x, 4, order);
    assert_int_equal(trt_counter(&x, "RouteTable", "data/b", "numParentRouteTables"), 1);
    trt_free(&x);
}

static void table_weight_keeps_list_order_among_equal_weights(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: y}, {name: x}, {name: heavy}], "
                                         "sortMethod: TABLE_WEIGHT}")
                    CHILD("x", "{}", "2024-01-01T00:00:00Z", "5", "x-r")
                        CHILD("y", "{}", "2024-02-01T00:00:00Z", "5", "y-r")
                            CHILD("heavy", "{}", "2024-03-01T00:00:00Z", "9", "heavy-r"));
    assert_all_accepted(&x);
    /* Higher weight first; y before x as listed, although x is older. */
    static const char *const order[] = {"heavy-r", "y-r", "x-r", "rest"};
    assert_route_order(&x, 4, order);
    trt_free(&x);
}

/* Child data/c (label team=a) with the routes <routes> (YAML list items), delegated to with
 * ROUTE_SPECIFICITY. */
#define SPECIFICITY_SET(routes)                                                                    \
    WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}], sortMethod: "                   \
                             "ROUTE_SPECIFICITY}") DOC NET                                         \
        "kind: RouteTable\n"                                                                       \
        "metadata: {name: c, namespace: data, labels: {team: a}}\n"                                \
        "spec:\n"                                                                                  \
        "  http:\n" routes

static void route_specificity_exact_regex_prefix_longer_first(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SPECIFICITY_SET(
                    "  - {name: no-path, directResponse: {status: 200}}\n"
                    "  - {name: short-prefix, matchers: [{uri: {prefix: /a}}], directResponse: "
                    "{status: 200}}\n"
                    "  - {name: short-regex, matchers: [{uri: {regex: /a.*}}], directResponse: "
                    "{status: 200}}\n"
                    "  - {name: long-regex, matchers: [{uri: {regex: '/a/[0-9]+/x'}}], "
                    "directResponse: {status: 200}}\n"
                    "  - {name: short-exact, matchers: [{uri: {exact: /a}}], directResponse: "
                    "{status: 200}}\n"
                    "  - {name: long-exact, matchers: [{uri: {exact: /a/b/c}}], directResponse: "
                    "{status: 200}}\n"
                    "  - {name: slash, matchers: [{uri: {prefix: /}}], directResponse: "
                    "{status: 200}}\n"));
    /* Exact, then regex, then prefix; longer first within a type; no path matcher counts as
     * prefix "/", so it ties with "slash" and keeps its place before it. */
    static const char *const order[] = {"long-exact",   "short-exact", "long-regex", "short-regex",
                                        "short-prefix", "no-path",     "slash",      "rest"};
    assert_route_order(&x, 8, order);
    trt_free(&x);
}

static void route_specificity_counts_path_matcher_only(void **state)
{
    (void)state;
    struct trt x;
    /* Headers, query parameters and methods do not make a route more specific: these two
     * tie and keep the table's order. The most specific of several matchers counts. */
    trt_run(&x, SPECIFICITY_SET(
                    "  - {name: plain, matchers: [{uri: {prefix: /api}}], directResponse: "
                    "{status: 200}}\n"
                    "  - {name: with-header, matchers: [{uri: {prefix: /api}, method: GET, "
                    "headers: [{name: x-v, value: '1'}], queryParameters: [{name: q}]}], "
                    "directResponse: {status: 200}}\n"
                    "  - {name: either, matchers: [{uri: {prefix: /}}, {uri: {exact: /z}}], "
                    "directResponse: {status: 200}}\n"));
    static const char *const order[] = {"either", "plain", "with-header", "rest"};
    assert_route_order(&x, 4, order);
    trt_free(&x);
}

static void plan_shows_delegation_order(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: late}, {name: early}]}")
                    CHILD("early", "{}", "2024-01-01T00:00:00Z", "0", "early-r")
                        CHILD("late", "{}", "2024-03-01T00:00:00Z", "0", "late-r"));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cw_print_plan(f, x.tr.snapshot);
    fclose(f);
    const char *late = strstr(buf, "route late-r [data/late] within prefix /api and");
    const char *early = strstr(buf, "route early-r [data/early] within prefix /api and");
    if (!late || !early || late > early)
        fail_msg("expected late-r, then early-r, in the plan:\n%s", buf);
    free(buf);
    trt_free(&x);
}

static void child_with_hosts_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}]}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: bad, namespace: data, labels: {team: a}}\n"
            "spec:\n"
            "  hosts: [bad.example.com]\n"
            "  http: [{name: bad-r, directResponse: {status: 200}}]\n" CHILD(
                "good", "{team: a}", "2024-01-01T00:00:00Z", "0", "good-r"));
    assert_status(&x, "RouteTable", "data/bad", CW_APPROVAL_INVALID,
                  "a delegated RouteTable must leave hosts, virtualGateways and failureMode empty");
    static const char *const order[] = {"good-r", "rest"};
    assert_route_order(&x, 2, order);
    trt_free(&x);
}

static void delegate_selecting_nothing_warns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: nobody}}]}"));
    assert_status(&x, "RouteTable", "gw/root", CW_APPROVAL_WARNING,
                  "delegate selects no RouteTable");
    static const char *const order[] = {"rest"};
    assert_route_order(&x, 1, order);
    trt_free(&x);
}

static void child_route_failure_marks_child(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}]}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: broken, namespace: data, labels: {team: a}}\n"
            "spec:\n"
            "  http:\n"
            "  - name: to-nowhere\n"
            "    forwardTo: {destinations: [{ref: {name: nowhere}, kind: EXTERNAL_SERVICE}]}\n");
    assert_status(&x, "RouteTable", "data/broken", CW_APPROVAL_INVALID,
                  "destination EXTERNAL_SERVICE data/nowhere not found in workspace ops");
    trt_assert_failed(trt_need_route(shop(&x), "to-nowhere"), "data/nowhere");
    trt_free(&x);
}

static void child_in_unlinked_workspace_not_selected(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC ADMIN
            "kind: Workspace\n"
            "metadata: {name: team, namespace: gloo-mesh}\n"
            "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
            "team}]}]}\n" DOC VG_WEB PARENT("{routeTables: [{labels: {team: a}}]}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: child, namespace: team, labels: {team: a}}\n"
            "spec: {http: [{name: hidden, directResponse: {status: 200}}]}\n");
    assert_null(trt_route(shop(&x), "hidden"));
    assert_status(&x, "RouteTable", "gw/root", CW_APPROVAL_WARNING,
                  "delegate selects no RouteTable");
    trt_free(&x);
}

/* Workspaces ops (gw, data; imports per <ops_spec>) and team (exports everything to ops). */
static const char *with_team(const char *ops_spec)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             ADMIN
             "kind: Workspace\n"
             "metadata: {name: ops, namespace: gloo-mesh}\n"
             "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}, {name: "
             "data}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
             "metadata: {name: ops, namespace: gw}\n"
             "spec: %s\n" DOC ADMIN "kind: Workspace\n"
             "metadata: {name: team, namespace: gloo-mesh}\n"
             "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: team}]}]}\n" DOC ADMIN
             "kind: WorkspaceSettings\n"
             "metadata: {name: team, namespace: team}\n"
             "spec: {exportTo: [{workspaces: [{name: ops}]}]}\n" DOC NET "kind: RouteTable\n"
             "metadata: {name: child, namespace: team, labels: {team: a}}\n"
             "spec: {http: [{name: shared, directResponse: {status: 200}}]}\n" DOC VG_WEB PARENT(
                 "{routeTables: [{labels: {team: a}}]}"),
             ops_spec);
    return buf;
}

static void imported_child_selected(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, with_team("{importFrom: [{workspaces: [{name: team}]}]}"));
    assert_all_accepted(&x);
    const struct cw_route *r = trt_need_route(shop(&x), "shared");
    assert_string_equal(r->table->obj.meta.ns, "team");
    trt_free(&x);
    /* Exported but not imported: invisible. */
    trt_run(&x, with_team("{}"));
    assert_null(trt_route(shop(&x), "shared"));
    trt_free(&x);
}

static void delegation_cycle_terminates(void **state)
{
    (void)state;
    struct trt x;
    /* ping delegates to pong and pong to ping: compilation must stop and say so. */
    trt_run(&x, WS_OPS DOC VG_WEB PARENT("{routeTables: [{name: ping, namespace: data}]}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: ping, namespace: data}\n"
            "spec: {http: [{name: to-pong, delegate: {routeTables: [{name: pong}]}}]}\n" DOC NET
            "kind: RouteTable\n"
            "metadata: {name: pong, namespace: data}\n"
            "spec: {http: [{name: to-ping, delegate: {routeTables: [{name: ping}]}}]}\n");
    const struct cw_virtual_host *vh = shop(&x);
    bool failed = false;
    for (uint32_t i = 0; i < vh->routes.n; i++)
        failed |= vh->routes.v[i].kind == CW_ROUTE_FAILED;
    assert_true(failed);
    /* Whichever table closes the loop is INVALID and says why. */
    const struct cw_status *ping = trt_status(&x, "RouteTable", "data/ping");
    const struct cw_status *pong = trt_status(&x, "RouteTable", "data/pong");
    const struct cw_status *bad = ping->approval == CW_APPROVAL_INVALID ? ping : pong;
    assert_int_equal(bad->approval, CW_APPROVAL_INVALID);
    assert_non_null(strstr(bad->message, "cycle"));
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(children_selected_by_labels_in_creation_order),
        cmocka_unit_test(table_weight_orders_children),
        cmocka_unit_test(route_specificity_orders_child_routes),
        cmocka_unit_test(children_selected_by_name_and_namespace),
        cmocka_unit_test(children_listed_by_name_keep_list_order),
        cmocka_unit_test(children_selected_twice_keep_first_place),
        cmocka_unit_test(table_weight_keeps_list_order_among_equal_weights),
        cmocka_unit_test(route_specificity_exact_regex_prefix_longer_first),
        cmocka_unit_test(route_specificity_counts_path_matcher_only),
        cmocka_unit_test(plan_shows_delegation_order),
        cmocka_unit_test(child_with_hosts_invalid),
        cmocka_unit_test(delegate_selecting_nothing_warns),
        cmocka_unit_test(child_route_failure_marks_child),
        cmocka_unit_test(child_in_unlinked_workspace_not_selected),
        cmocka_unit_test(imported_child_selected),
        cmocka_unit_test(delegation_cycle_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
