/*
 * RouteTable ↔ VirtualGateway binding (spec §4.3) and which VirtualGateways this gateway
 * implements (§4.1 workloads): ref namespace defaulting, allowedRouteTables host filters with
 * namespace prefixes and selectors, route type vs listener type, workspace visibility,
 * exposedExternalServices.
 */
#include "tr_support.h"

/* Workspace ops over namespaces gw, data and apps. */
#define WS_OPS3                                                                                    \
    ADMIN "kind: Workspace\n"                                                                      \
          "metadata: {name: ops, namespace: gloo-mesh}\n"                                          \
          "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: gw}, {name: data}, "     \
          "{name: apps}]}]}\n"

/* VirtualGateway gw/edge with the given spec body (indented by two). */
#define VG(spec)                                                                                   \
    DOC NET "kind: VirtualGateway\n"                                                               \
            "metadata: {name: edge, namespace: gw}\n"                                              \
            "spec:\n" spec

/* RouteTable <ns>/<name> for <host> on gateway ref <vgref>, answering 200 to everything. */
#define RT(ns, name, host, vgref)                                                                  \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: " name ", namespace: " ns "}\n"                                      \
            "spec:\n"                                                                              \
            "  hosts: ['" host "']\n"                                                              \
            "  virtualGateways: [" vgref "]\n"                                                     \
            "  http: [{name: ok, directResponse: {status: 200}}]\n"

/* The same with labels. */
#define RT_LABELED(ns, name, labels, host, vgref)                                                  \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: " name ", namespace: " ns ", labels: " labels "}\n"                  \
            "spec:\n"                                                                              \
            "  hosts: ['" host "']\n"                                                              \
            "  virtualGateways: [" vgref "]\n"                                                     \
            "  http: [{name: ok, directResponse: {status: 200}}]\n"

#define HTTP_8080 "  listeners: [{port: {number: 8080}, http: {}}]\n"

static void ref_namespace_defaults_to_route_table_namespace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG(HTTP_8080) RT("gw", "a", "a.example.com", "{name: edge}")
                    RT("data", "b", "b.example.com", "{name: edge}")
                        RT("data", "c", "c.example.com", "{name: edge, namespace: gw}"));
    assert_accepted(&x, "RouteTable", "gw/a");
    assert_non_null(trt_vhost(&x, 8080, "a.example.com"));
    /* data/b means data/edge, which does not exist. */
    assert_status(&x, "RouteTable", "data/b", CW_APPROVAL_WARNING,
                  "VirtualGateway data/edge not found");
    assert_null(trt_vhost(&x, 8080, "b.example.com"));
    assert_accepted(&x, "RouteTable", "data/c");
    assert_non_null(trt_vhost(&x, 8080, "c.example.com"));
    assert_int_equal(trt_counter(&x, "RouteTable", "gw/a", "numAllowedVirtualGateways"), 1);
    assert_int_equal(trt_counter(&x, "RouteTable", "data/b", "numAllowedVirtualGateways"), 0);
    assert_int_equal(trt_counter(&x, "VirtualGateway", "gw/edge", "routeTablesCount"), 2);
    trt_free(&x);
}

static void host_filter_namespace_prefixes(void **state)
{
    (void)state;
    struct trt x;
    /* One listener per kind of prefix; each table binds where its namespace is allowed. */
    trt_run(&x, WS_OPS3 VG("  listeners:\n"
                           "  - {port: {number: 8081}, http: {}, allowedRouteTables: [{host: "
                           "'./*.example.com'}]}\n"
                           "  - {port: {number: 8082}, http: {}, allowedRouteTables: [{host: "
                           "'data/*.example.com'}]}\n"
                           "  - {port: {number: 8083}, http: {}, allowedRouteTables: [{host: "
                           "'*/*.example.com'}]}\n"
                           "  - {port: {number: 8084}, http: {}, allowedRouteTables: [{host: "
                           "'*.example.com'}]}\n")
                    RT("gw", "g", "g.example.com", "{name: edge, namespace: gw}")
                        RT("data", "d", "d.example.com", "{name: edge, namespace: gw}")
                            RT("apps", "a", "a.example.com", "{name: edge, namespace: gw}"));
    assert_all_accepted(&x);
    /* "./": the VirtualGateway's own namespace (gw) only. */
    assert_non_null(trt_vhost(&x, 8081, "g.example.com"));
    assert_null(trt_vhost(&x, 8081, "d.example.com"));
    assert_null(trt_vhost(&x, 8081, "a.example.com"));
    /* "data/": that namespace only. */
    assert_null(trt_vhost(&x, 8082, "g.example.com"));
    assert_non_null(trt_vhost(&x, 8082, "d.example.com"));
    assert_null(trt_vhost(&x, 8082, "a.example.com"));
    /* "*\/" and no prefix: any namespace. */
    for (uint16_t port = 8083; port <= 8084; port++) {
        assert_non_null(trt_vhost(&x, port, "g.example.com"));
        assert_non_null(trt_vhost(&x, port, "d.example.com"));
        assert_non_null(trt_vhost(&x, port, "a.example.com"));
    }
    trt_free(&x);
}

static void refused_everywhere_warns_with_listener(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG("  listeners:\n"
                           "  - {port: {number: 8081}, http: {}, allowedRouteTables: [{host: "
                           "'./*.example.com'}]}\n")
                    RT("data", "d", "d.example.com", "{name: edge, namespace: gw}"));
    assert_status_prefix(&x, "RouteTable", "data/d", CW_APPROVAL_WARNING,
                         "not allowed by VirtualGateway gw/edge listener 8081");
    assert_null(trt_vhost(&x, 8081, "d.example.com"));
    assert_int_equal(trt_counter(&x, "RouteTable", "data/d", "numAllowedVirtualGateways"), 0);
    trt_free(&x);
}

static void host_filter_dns_patterns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS3 VG("  listeners:\n"
                       "  - {port: {number: 8080}, http: {}, allowedRouteTables: [{host: "
                       "'*.example.com'}]}\n") RT("gw", "shop", "shop.example.com", "{name: edge}")
                RT("gw", "deep", "a.b.example.com", "{name: edge}")
                    RT("gw", "wild", "*.example.com", "{name: edge}")
                        RT("gw", "apex", "example.com", "{name: edge}")
                            RT("gw", "other", "shop.example.org", "{name: edge}"));
    assert_accepted(&x, "RouteTable", "gw/shop");
    assert_accepted(&x, "RouteTable", "gw/deep");
    assert_accepted(&x, "RouteTable", "gw/wild");
    assert_non_null(trt_vhost(&x, 8080, "shop.example.com"));
    assert_non_null(trt_vhost(&x, 8080, "*.example.com"));
    /* "*.example.com" does not cover the apex, nor another domain. */
    assert_status(&x, "RouteTable", "gw/apex", CW_APPROVAL_WARNING,
                  "not allowed by VirtualGateway gw/edge listener 8080");
    assert_status(&x, "RouteTable", "gw/other", CW_APPROVAL_WARNING,
                  "not allowed by VirtualGateway gw/edge listener 8080");
    assert_null(trt_vhost(&x, 8080, "example.com"));
    assert_null(trt_vhost(&x, 8080, "shop.example.org"));
    trt_free(&x);
}

static void only_allowed_hosts_of_a_table_are_served(void **state)
{
    (void)state;
    struct trt x;
    /* The table binds through shop.example.com, but the listener admits *.example.com only:
     * its other host must not be served there (Istio serves a VirtualService only for the
     * hosts the Gateway server allows). */
    trt_run(&x, WS_OPS3 VG("  listeners:\n"
                           "  - {port: {number: 8080}, http: {}, allowedRouteTables: [{host: "
                           "'*.example.com'}]}\n") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: mixed, namespace: gw}\n"
            "spec:\n"
            "  hosts: [shop.example.com, admin.internal]\n"
            "  virtualGateways: [{name: edge}]\n"
            "  http: [{name: ok, directResponse: {status: 200}}]\n");
    assert_non_null(trt_vhost(&x, 8080, "shop.example.com"));
    assert_null(trt_vhost(&x, 8080, "admin.internal"));
    trt_free(&x);
}

static void match_all_table_limited_to_allowed_hosts(void **state)
{
    (void)state;
    struct trt x;
    /* A table for "*" binds to a listener admitting *.example.com, but must not become a
     * catch-all there: other.org is not allowed on that listener. */
    trt_run(&x, WS_OPS3 VG("  listeners:\n"
                           "  - {port: {number: 8080}, http: {}, allowedRouteTables: [{host: "
                           "'*.example.com'}]}\n") RT("gw", "all", "*", "{name: edge}"));
    assert_null(trt_vhost(&x, 8080, "*"));
    assert_non_null(trt_vhost(&x, 8080, "*.example.com")); /* served where it is allowed */
    assert_status(&x, "RouteTable", "gw/all", CW_APPROVAL_WARNING, "host \"*\"");
    trt_free(&x);
}

static void wildcard_table_served_under_every_allowed_host(void **state)
{
    (void)state;
    struct trt x;
    /* *.example.com intersects both entries: it is served for each of them, not the first. */
    trt_run(&x,
            WS_OPS3 VG("  listeners:\n"
                       "  - port: {number: 8080}\n"
                       "    http: {}\n"
                       "    allowedRouteTables: [{host: a.example.com}, {host: b.example.com}]\n")
                RT("gw", "wild", "*.example.com", "{name: edge}"));
    assert_accepted(&x, "RouteTable", "gw/wild");
    assert_int_equal(trt_need_vhost(&x, 8080, "a.example.com")->routes.n, 1);
    assert_int_equal(trt_need_vhost(&x, 8080, "b.example.com")->routes.n, 1);
    assert_null(trt_vhost(&x, 8080, "*.example.com"));
    trt_free(&x);
}

static void host_filter_selectors(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS3 VG("  listeners:\n"
                       "  - port: {number: 8080}\n"
                       "    http: {}\n"
                       "    allowedRouteTables:\n"
                       "    - {host: '*', selector: {labels: {expose: 'true'}}}\n"
                       "    - {host: '*.internal', selector: {namespace: apps}}\n")
                RT_LABELED("gw", "yes", "{expose: 'true'}", "yes.example.com", "{name: edge}")
                    RT_LABELED("gw", "no", "{expose: 'false'}", "no.example.com", "{name: edge}")
                        RT("apps", "int", "svc.internal", "{name: edge, namespace: gw}")
                            RT("data", "int", "db.internal", "{name: edge, namespace: gw}"));
    assert_accepted(&x, "RouteTable", "gw/yes");
    assert_non_null(trt_vhost(&x, 8080, "yes.example.com"));
    assert_status(&x, "RouteTable", "gw/no", CW_APPROVAL_WARNING,
                  "not allowed by VirtualGateway gw/edge listener 8080");
    assert_accepted(&x, "RouteTable", "apps/int");
    assert_non_null(trt_vhost(&x, 8080, "svc.internal"));
    assert_status(&x, "RouteTable", "data/int", CW_APPROVAL_WARNING, "not allowed");
    trt_free(&x);
}

static void no_allowed_route_tables_admits_all(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS3 VG(HTTP_8080) RT("apps", "x", "anything.org", "{name: edge, namespace: gw}"));
    assert_accepted(&x, "RouteTable", "apps/x");
    assert_non_null(trt_vhost(&x, 8080, "anything.org"));
    trt_free(&x);
}

/* ---- route types vs listener types ---- */

#define ES_DB                                                                                      \
    DOC NET                                                                                        \
        "kind: ExternalService\n"                                                                  \
        "metadata: {name: db, namespace: data}\n"                                                  \
        "spec: {addresses: ['10.20.30.50'], ports: [{name: pg, number: 5432, protocol: TCP}]}\n"

static void route_type_must_fit_listener(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG("  listeners: [{port: {number: 5432}, tcp: {}}]\n")
                    RT("gw", "web", "web.example.com", "{name: edge}"));
    assert_status(&x, "RouteTable", "gw/web", CW_APPROVAL_WARNING,
                  "VirtualGateway gw/edge has no listener for this RouteTable's http routes");
    const struct cw_snapshot_listener *l = trt_need_listener(&x, 5432);
    assert_int_equal(l->virtual_hosts.n, 0);
    assert_int_equal(l->tcp_routes.n, 0);
    trt_free(&x);
}

static void http_and_tcp_routes_go_to_their_listeners(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 ES_DB VG("  listeners:\n"
                                 "  - {port: {number: 8080}, http: {}}\n"
                                 "  - {port: {number: 5432}, tcp: {}}\n") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: both, namespace: gw}\n"
            "spec:\n"
            "  hosts: [db.example.com]\n"
            "  virtualGateways: [{name: edge}]\n"
            "  http: [{name: status, directResponse: {status: 204}}]\n"
            "  tcp:\n"
            "  - forwardTo: {destinations: [{ref: {name: db, namespace: data}, kind: "
            "EXTERNAL_SERVICE}]}\n");
    assert_status(&x, "RouteTable", "gw/both", CW_APPROVAL_ACCEPTED,
                  "extension: tcp→EXTERNAL_SERVICE");
    const struct cw_snapshot_listener *http = trt_need_listener(&x, 8080);
    const struct cw_snapshot_listener *tcp = trt_need_listener(&x, 5432);
    assert_true(http->http);
    assert_false(tcp->http);
    assert_int_equal(http->tcp_routes.n, 0);
    assert_non_null(trt_vhost(&x, 8080, "db.example.com"));
    assert_int_equal(tcp->virtual_hosts.n, 0);
    assert_int_equal(tcp->tcp_routes.n, 1);
    assert_string_equal(tcp->tcp_routes.v[0].clusters.v[0].cluster->name, "data/db:5432");
    trt_free(&x);
}

static void listener_without_http_or_tcp_is_tcp(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG("  listeners: [{port: {number: 9000}}]\n"));
    assert_false(trt_need_listener(&x, 9000)->http);
    trt_free(&x);
}

/* ---- workspace visibility of the table ---- */

static const char *foreign_table(const char *app_settings, const char *ops_settings)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             WS_OPS3 DOC ADMIN "kind: WorkspaceSettings\n"
                               "metadata: {name: ops, namespace: gw}\n"
                               "spec: %s\n" DOC ADMIN "kind: Workspace\n"
                               "metadata: {name: app, namespace: gloo-mesh}\n"
                               "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
                               "team}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
                               "metadata: {name: app, namespace: team}\n"
                               "spec: %s\n" VG(HTTP_8080) RT("team", "t", "team.example.com",
                                                             "{name: edge, namespace: gw}"),
             ops_settings, app_settings);
    return buf;
}

static void table_not_visible_in_gateway_workspace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, foreign_table("{}", "{}"));
    assert_status_prefix(&x, "RouteTable", "team/t", CW_APPROVAL_WARNING,
                         "not visible in workspace ops");
    assert_null(trt_vhost(&x, 8080, "team.example.com"));
    trt_free(&x);
    /* Export alone is not enough either. */
    trt_run(&x, foreign_table("{exportTo: [{workspaces: [{name: ops}]}]}", "{}"));
    assert_status(&x, "RouteTable", "team/t", CW_APPROVAL_WARNING, "not visible in workspace ops");
    trt_free(&x);
}

static void exported_and_imported_table_binds(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, foreign_table("{exportTo: [{workspaces: [{name: ops}], resources: [{kind: "
                              "ROUTE_TABLE}]}]}",
                              "{importFrom: [{workspaces: [{name: app}], resources: [{kind: "
                              "ROUTE_TABLE}]}]}"));
    assert_accepted(&x, "RouteTable", "team/t");
    assert_non_null(trt_vhost(&x, 8080, "team.example.com"));
    trt_free(&x);
}

/* ---- which VirtualGateways this gateway implements ---- */

/* VG gw/edge with <workloads> and one HTTP listener, plus a table on it. */
static bool served_with_workloads(const char *workloads, const struct cw_gateway_identity *gw,
                                  int64_t *selected)
{
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "%s" DOC NET "kind: VirtualGateway\n"
             "metadata: {name: edge, namespace: gw}\n"
             "spec:\n"
             "%s" HTTP_8080 "%s",
             WS_OPS3, workloads, RT("gw", "a", "a.example.com", "{name: edge}"));
    struct trt x;
    trt_run_gw(&x, yaml, gw);
    bool served = trt_listener(&x, 8080) != NULL;
    /* Not implementing a gateway is not an error of the VirtualGateway. */
    assert_accepted(&x, "VirtualGateway", "gw/edge");
    if (served)
        assert_non_null(trt_vhost(&x, 8080, "a.example.com"));
    *selected = trt_counter(&x, "VirtualGateway", "gw/edge", "selectedWorkloadsCount");
    trt_free(&x);
    return served;
}

static void workloads_matched_against_gateway_identity(void **state)
{
    (void)state;
    struct cw_gateway_identity gw = trt_gateway();
    int64_t sel;
    assert_true(served_with_workloads("", &gw, &sel)); /* absent ⇒ every gateway */
    assert_int_equal(sel, 1);
    assert_true(served_with_workloads("  workloads: [{selector: {labels: {app: c-gateway}}}]\n",
                                      &gw, &sel));
    assert_false(
        served_with_workloads("  workloads: [{selector: {labels: {app: other}}}]\n", &gw, &sel));
    assert_int_equal(sel, 0);
    /* Labels must all match (AND). */
    assert_false(served_with_workloads(
        "  workloads: [{selector: {labels: {app: c-gateway, tier: x}}}]\n", &gw, &sel));
    assert_true(served_with_workloads("  workloads: [{selector: {namespace: gw}}]\n", &gw, &sel));
    assert_false(
        served_with_workloads("  workloads: [{selector: {namespace: other}}]\n", &gw, &sel));
    assert_true(served_with_workloads("  workloads: [{selector: {name: c-gateway}}]\n", &gw, &sel));
    assert_false(served_with_workloads("  workloads: [{selector: {name: ingress}}]\n", &gw, &sel));
    /* Entries are OR-ed. */
    assert_true(served_with_workloads("  workloads:\n"
                                      "  - {selector: {labels: {app: other}}}\n"
                                      "  - {selector: {labels: {app: c-gateway}, namespace: gw}}\n",
                                      &gw, &sel));
    /* "{}" selects every gateway. */
    assert_true(served_with_workloads("  workloads: [{selector: {}}]\n", &gw, &sel));
}

static void workloads_cluster_selector(void **state)
{
    (void)state;
    struct cw_gateway_identity gw = trt_gateway();
    gw.cluster = "cluster1";
    int64_t sel;
    assert_true(
        served_with_workloads("  workloads: [{selector: {cluster: cluster1}}]\n", &gw, &sel));
    assert_false(
        served_with_workloads("  workloads: [{selector: {cluster: cluster2}}]\n", &gw, &sel));
}

static void invalid_virtual_gateway_serves_nothing(void **state)
{
    (void)state;
    struct trt x;
    /* The same port twice with the same protocol and first host (§4.2 validity rule). */
    trt_run(&x, WS_OPS3 VG("  listeners:\n"
                           "  - {port: {number: 8080}, http: {}}\n"
                           "  - {port: {number: 8080}, http: {}}\n")
                    RT("gw", "a", "a.example.com", "{name: edge}"));
    assert_status(&x, "VirtualGateway", "gw/edge", CW_APPROVAL_INVALID, "collides");
    assert_null(trt_listener(&x, 8080));
    assert_status(&x, "RouteTable", "gw/a", CW_APPROVAL_WARNING, "VirtualGateway gw/edge");
    trt_free(&x);
}

static void route_table_hosts_rules(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG(HTTP_8080) RT("gw", "star", "*", "{name: edge}") DOC NET
            "kind: RouteTable\n"
            "metadata: {name: nohosts, namespace: gw}\n"
            "spec:\n"
            "  virtualGateways: [{name: edge}]\n"
            "  http: [{name: ok, directResponse: {status: 200}}]\n");
    /* A8: bare "*" accepted with a WARNING, and it is served. */
    assert_status(&x, "RouteTable", "gw/star", CW_APPROVAL_WARNING, "\"*\"");
    assert_non_null(trt_vhost(&x, 8080, "*"));
    assert_status(&x, "RouteTable", "gw/nohosts", CW_APPROVAL_INVALID, "hosts");
    trt_free(&x);
}

static void gateways_sharing_an_http_port_merge(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG(HTTP_8080) DOC NET
            "kind: VirtualGateway\n"
            "metadata: {name: edge2, namespace: gw}\n"
            "spec:\n" HTTP_8080 DOC NET "kind: VirtualGateway\n"
            "metadata: {name: zz-raw, namespace: gw}\n" /* last by name: the newest */
            "spec: {listeners: [{port: {number: 8080}, tcp: {}}]}\n" RT("gw", "a", "a.example.com",
                                                                        "{name: edge}")
                RT("gw", "b", "b.example.com", "{name: edge2}"));
    /* Two HTTP gateways on 8080 share one listener (as Istio merges Gateways). */
    assert_non_null(trt_vhost(&x, 8080, "a.example.com"));
    assert_non_null(trt_vhost(&x, 8080, "b.example.com"));
    assert_true(trt_need_listener(&x, 8080)->http);
    /* A TCP listener cannot share the port: the newer gateway is told. */
    assert_status(&x, "VirtualGateway", "gw/zz-raw", CW_APPROVAL_WARNING,
                  "port already served as HTTP");
    trt_free(&x);
}

static void table_on_two_merged_gateways_served_once(void **state)
{
    (void)state;
    struct trt x;
    /* One table bound to both gateways of a merged port must not have its routes twice. */
    trt_run(&x, WS_OPS3 VG(HTTP_8080) DOC NET
            "kind: VirtualGateway\n"
            "metadata: {name: edge2, namespace: gw}\n"
            "spec:\n" HTTP_8080 RT("gw", "a", "a.example.com", "{name: edge}, {name: edge2}"));
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "a.example.com");
    assert_int_equal(vh->routes.n, 1);
    trt_free(&x);
}

static void merged_gateways_each_admit_their_own_hosts(void **state)
{
    (void)state;
    struct trt x;
    /* Two gateways on one port, each allowing one name of a wildcard table: both names are
     * served, each once. */
    trt_run(&x, WS_OPS3 VG("  listeners: [{port: {number: 8080}, http: {}, "
                           "allowedRouteTables: [{host: a.example.com}]}]\n") DOC NET
            "kind: VirtualGateway\n"
            "metadata: {name: edge2, namespace: gw}\n"
            "spec:\n"
            "  listeners: [{port: {number: 8080}, http: {}, "
            "allowedRouteTables: [{host: b.example.com}]}]\n" RT("gw", "wild", "*.example.com",
                                                                 "{name: edge}, {name: edge2}"));
    assert_int_equal(trt_need_vhost(&x, 8080, "a.example.com")->routes.n, 1);
    assert_int_equal(trt_need_vhost(&x, 8080, "b.example.com")->routes.n, 1);
    assert_int_equal(trt_counter(&x, "VirtualGateway", "gw/edge2", "routeTablesCount"), 1);
    trt_free(&x);
}

static void tables_sharing_a_host_merge_oldest_first(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 VG(HTTP_8080) DOC NET "kind: RouteTable\n"
                                              "metadata: {name: newer, namespace: gw, "
                                              "creationTimestamp: '2024-05-01T00:00:00Z'}\n"
                                              "spec:\n"
                                              "  hosts: [shop.example.com]\n"
                                              "  virtualGateways: [{name: edge}]\n"
                                              "  http: [{name: second, directResponse: {status: "
                                              "201}}]\n" DOC NET "kind: RouteTable\n"
                                              "metadata: {name: older, namespace: gw, "
                                              "creationTimestamp: '2024-01-01T00:00:00Z'}\n"
                                              "spec:\n"
                                              "  hosts: [shop.example.com]\n"
                                              "  virtualGateways: [{name: edge}]\n"
                                              "  http: [{name: first, directResponse: {status: "
                                              "200}}]\n");
    assert_accepted(&x, "RouteTable", "gw/older");
    assert_status(&x, "RouteTable", "gw/newer", CW_APPROVAL_WARNING,
                  "also served by RouteTable gw/older");
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "shop.example.com");
    assert_int_equal(vh->routes.n, 2);
    assert_string_equal(vh->routes.v[0].name, "first");
    assert_string_equal(vh->routes.v[1].name, "second");
    trt_free(&x);
}

/* ---- exposedExternalServices ---- */

#define TWO_SERVICES                                                                               \
    DOC NET                                                                                        \
        "kind: ExternalService\n"                                                                  \
        "metadata: {name: api, namespace: data}\n"                                                 \
        "spec: {hosts: [api.internal], ports: [{name: http, number: 80, protocol: HTTP}]}\n" DOC   \
            NET "kind: ExternalService\n"                                                          \
        "metadata: {name: billing, namespace: data}\n"                                             \
        "spec: {hosts: [billing.internal], ports: [{name: http, number: 80, protocol: "            \
        "HTTP}]}\n"

static void exposed_services_listed_by_host(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 TWO_SERVICES VG("  listeners:\n"
                                        "  - {port: {number: 8080}, http: {}, "
                                        "exposedExternalServices: [{host: api.internal}]}\n"));
    const struct cw_exposed_service *e = trt_exposed(&x, 8080, "api.internal");
    assert_non_null(e);
    assert_string_equal(e->cluster->name, "data/api:80");
    assert_null(trt_exposed(&x, 8080, "billing.internal"));
    assert_int_equal(trt_counter(&x, "ExternalService", "data/api", "numSelectedVirtualGateways"),
                     1);
    assert_int_equal(
        trt_counter(&x, "ExternalService", "data/billing", "numSelectedVirtualGateways"), 0);
    trt_free(&x);
}

static void exposed_services_omitted_exposes_none(void **state)
{
    (void)state;
    struct trt x;
    /* §4.2 [DECISION]: without exposedExternalServices a listener serves RouteTables only. */
    trt_run(&x, WS_OPS3 TWO_SERVICES VG(HTTP_8080));
    assert_int_equal(trt_need_listener(&x, 8080)->exposed.n, 0);
    assert_null(trt_exposed(&x, 8080, "api.internal"));
    assert_int_equal(trt_counter(&x, "ExternalService", "data/api", "numSelectedVirtualGateways"),
                     0);
    trt_free(&x);
}

static void exposed_services_star_exposes_all(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 TWO_SERVICES VG("  listeners:\n"
                                        "  - {port: {number: 8080}, http: {}, "
                                        "exposedExternalServices: [{host: '*'}]}\n"));
    assert_non_null(trt_exposed(&x, 8080, "api.internal"));
    assert_non_null(trt_exposed(&x, 8080, "billing.internal"));
    trt_free(&x);
}

static void exposed_services_selected_by_labels(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 DOC NET "kind: ExternalService\n"
                                "metadata: {name: api, namespace: data, labels: {edge: 'yes'}}\n"
                                "spec: {hosts: [api.internal], ports: [{number: 80}]}\n" DOC NET
                                "kind: ExternalService\n"
                                "metadata: {name: billing, namespace: data}\n"
                                "spec: {hosts: [billing.internal], ports: [{number: 80}]}\n" VG(
                                    "  listeners:\n"
                                    "  - {port: {number: 8080}, http: {}, "
                                    "exposedExternalServices: [{host: '*', selector: "
                                    "{labels: {edge: 'yes'}}}]}\n"));
    assert_non_null(trt_exposed(&x, 8080, "api.internal"));
    assert_null(trt_exposed(&x, 8080, "billing.internal"));
    trt_free(&x);
}

static void exposed_services_counted_per_gateway(void **state)
{
    (void)state;
    struct trt x;
    /* One VirtualGateway with two listeners exposing the same service: still one gateway. */
    trt_run(&x, WS_OPS3 TWO_SERVICES VG("  listeners:\n"
                                        "  - {port: {number: 8080}, http: {}, "
                                        "exposedExternalServices: [{host: api.internal}]}\n"
                                        "  - {port: {number: 8081}, http: {}, "
                                        "exposedExternalServices: [{host: api.internal}]}\n"));
    assert_non_null(trt_exposed(&x, 8080, "api.internal"));
    assert_non_null(trt_exposed(&x, 8081, "api.internal"));
    /* numSelectedVirtualGateways counts gateways (§1.5), not listeners. */
    assert_int_equal(trt_counter(&x, "ExternalService", "data/api", "numSelectedVirtualGateways"),
                     1);
    trt_free(&x);
}

static void exposed_address_is_a_plain_ip(void **state)
{
    (void)state;
    struct trt x;
    /* Clients send "Host: 10.20.30.50"; the "/32" of the manifest never appears in a Host. */
    trt_run(&x,
            WS_OPS3 DOC NET "kind: ExternalService\n"
                            "metadata: {name: search, namespace: data}\n"
                            "spec: {addresses: ['10.20.30.50/32'], ports: [{name: http, number: "
                            "9200, protocol: HTTP}]}\n" VG("  listeners:\n"
                                                           "  - {port: {number: 8080}, http: {}, "
                                                           "exposedExternalServices: [{host: "
                                                           "'*'}]}\n"));
    const struct cw_exposed_service *e = trt_exposed(&x, 8080, "10.20.30.50");
    assert_non_null(e);
    assert_string_equal(e->cluster->name, "data/search:9200");
    trt_free(&x);
}

static void tcp_listener_exposes_only_when_asked(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS3 ES_DB VG("  listeners:\n"
                                 "  - {port: {number: 5432}, tcp: {}}\n"
                                 "  - {port: {number: 5433}, tcp: {}, exposedExternalServices: "
                                 "[{host: '*'}]}\n"));
    assert_int_equal(trt_need_listener(&x, 5432)->exposed.n, 0);
    const struct cw_exposed_service *e = trt_exposed(&x, 5433, "10.20.30.50");
    assert_non_null(e);
    assert_string_equal(e->cluster->name, "data/db:5432");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ref_namespace_defaults_to_route_table_namespace),
        cmocka_unit_test(host_filter_namespace_prefixes),
        cmocka_unit_test(refused_everywhere_warns_with_listener),
        cmocka_unit_test(host_filter_dns_patterns),
        cmocka_unit_test(only_allowed_hosts_of_a_table_are_served),
        cmocka_unit_test(match_all_table_limited_to_allowed_hosts),
        cmocka_unit_test(wildcard_table_served_under_every_allowed_host),
        cmocka_unit_test(host_filter_selectors),
        cmocka_unit_test(no_allowed_route_tables_admits_all),
        cmocka_unit_test(route_type_must_fit_listener),
        cmocka_unit_test(http_and_tcp_routes_go_to_their_listeners),
        cmocka_unit_test(listener_without_http_or_tcp_is_tcp),
        cmocka_unit_test(table_not_visible_in_gateway_workspace),
        cmocka_unit_test(exported_and_imported_table_binds),
        cmocka_unit_test(workloads_matched_against_gateway_identity),
        cmocka_unit_test(workloads_cluster_selector),
        cmocka_unit_test(invalid_virtual_gateway_serves_nothing),
        cmocka_unit_test(route_table_hosts_rules),
        cmocka_unit_test(gateways_sharing_an_http_port_merge),
        cmocka_unit_test(table_on_two_merged_gateways_served_once),
        cmocka_unit_test(merged_gateways_each_admit_their_own_hosts),
        cmocka_unit_test(tables_sharing_a_host_merge_oldest_first),
        cmocka_unit_test(exposed_services_listed_by_host),
        cmocka_unit_test(exposed_services_omitted_exposes_none),
        cmocka_unit_test(exposed_services_star_exposes_all),
        cmocka_unit_test(exposed_services_selected_by_labels),
        cmocka_unit_test(exposed_services_counted_per_gateway),
        cmocka_unit_test(exposed_address_is_a_plain_ip),
        cmocka_unit_test(tcp_listener_exposes_only_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
