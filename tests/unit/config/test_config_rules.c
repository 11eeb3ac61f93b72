/*
 * Rules checked while loading a single object (admission, spec §9): egressGatewayRoutes needs
 * hosts and an HTTP-family port (§1.2); a TLS route's sniHosts must lie within its table's hosts
 * (§3.6); a Workspace cluster entry may leave out both name and selector (§8.1). The exact
 * messages are in the goldens (tests/config/invalid/es-egress, rt-sni-hosts, ws-clusters).
 */
#include "support.h"

#define NET "apiVersion: networking.gloo.solo.io/v2\n"

/* ExternalService data/db with <where> (hosts or addresses) and one port (<port>: its fields
 * in flow style) that has egressGatewayRoutes. */
#define EGRESS_ES(where, port)                                                                     \
    NET "kind: ExternalService\n"                                                                  \
        "metadata: {name: db, namespace: data}\n"                                                  \
        "spec:\n"                                                                                  \
        "  " where "\n"                                                                            \
        "  ports:\n"                                                                               \
        "  - {" port                                                                               \
        ", egressGatewayRoutes: {portMatch: 80, virtualGatewayRefs: [{name: egress}]}}\n"

static void egress_gateway_routes_need_hosts(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "es.yaml", EGRESS_ES("addresses: [10.1.2.3]", "number: 80, protocol: HTTP"));
    assert_diag_contains(l.text, "ExternalService data/db: spec.ports[0].egressGatewayRoutes: "
                                 "requires hosts; not allowed with addresses");
    cwt_load_free(&l);

    cwt_load_yaml(&l, "es.yaml",
                  EGRESS_ES("hosts: [db.example.org]", "number: 80, protocol: HTTP"));
    assert_no_errors(&l);
    cwt_load_free(&l);
}

static void egress_gateway_routes_need_http_ports(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "es.yaml",
                  EGRESS_ES("hosts: [db.example.org]", "number: 5432, protocol: TCP"));
    assert_diag_contains(l.text, "spec.ports[0].egressGatewayRoutes: only allowed on HTTP, HTTP2 "
                                 "and HTTPS ports");
    cwt_load_free(&l);

    cwt_load_yaml(&l, "es.yaml",
                  EGRESS_ES("hosts: [db.example.org]", "number: 443, protocol: HTTPS"));
    assert_no_errors(&l);
    cwt_load_free(&l);
}

/* RouteTable gw/tls with <hosts> and one TLS route matching <sni>. */
#define TLS_TABLE(hosts, sni)                                                                      \
    NET "kind: RouteTable\n"                                                                       \
        "metadata: {name: tls, namespace: gw}\n"                                                   \
        "spec:\n"                                                                                  \
        "  hosts: " hosts "\n"                                                                     \
        "  tls:\n"                                                                                 \
        "  - matchers: [{sniHosts: " sni "}]\n"                                                    \
        "    forwardTo: {destinations: [{ref: {name: db}, kind: EXTERNAL_SERVICE}]}\n"

static void tls_sni_hosts_within_table_hosts(void **state)
{
    (void)state;
    struct cwt_load l;
    /* Names a wildcard host covers, the host itself, and anything under a bare "*". */
    cwt_load_yaml(&l, "rt.yaml",
                  TLS_TABLE("[db.example.com, '*.api.example.com']",
                            "[db.example.com, DB.example.com., v1.api.example.com, "
                            "'*.eu.api.example.com', '*.api.example.com']"));
    assert_no_errors(&l);
    cwt_load_free(&l);
    cwt_load_yaml(&l, "rt.yaml", TLS_TABLE("['*']", "[anything.example.net, '*.net']"));
    assert_no_errors(&l);
    cwt_load_free(&l);
}

static void tls_sni_hosts_outside_table_hosts_invalid(void **state)
{
    (void)state;
    struct cwt_load l;
    /* The parent domain of a wildcard and a wider wildcard are not within it. */
    cwt_load_yaml(&l, "rt.yaml",
                  TLS_TABLE("['*.api.example.com']", "[api.example.com, '*.example.com', "
                                                     "v1.api.example.com]"));
    assert_diag_contains(l.text, "spec.tls[0].matchers[0].sniHosts[0]: \"api.example.com\" is "
                                 "not within the RouteTable's hosts");
    assert_diag_contains(l.text, "spec.tls[0].matchers[0].sniHosts[1]: \"*.example.com\" is not "
                                 "within the RouteTable's hosts");
    assert_diag_lacks(l.text, "sniHosts[2]");
    cwt_load_free(&l);
}

static void workspace_entry_without_name_or_selector_is_valid(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "ws.yaml",
                  "apiVersion: admin.gloo.solo.io/v2\n"
                  "kind: Workspace\n"
                  "metadata: {name: backend, namespace: gloo-mesh}\n"
                  "spec: {workloadClusters: [{namespaces: [{name: backend-apis}]}]}\n");
    assert_no_errors(&l);
    cwt_load_free(&l);
    /* And a Workspace without spec at all (the CRD's "policy" example). */
    cwt_load_yaml(&l, "ws.yaml",
                  "apiVersion: admin.gloo.solo.io/v2\n"
                  "kind: Workspace\n"
                  "metadata: {name: policy, namespace: gloo-mesh}\n");
    assert_no_errors(&l);
    cwt_load_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(egress_gateway_routes_need_hosts),
        cmocka_unit_test(egress_gateway_routes_need_http_ports),
        cmocka_unit_test(tls_sni_hosts_within_table_hosts),
        cmocka_unit_test(tls_sni_hosts_outside_table_hosts_invalid),
        cmocka_unit_test(workspace_entry_without_name_or_selector_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
