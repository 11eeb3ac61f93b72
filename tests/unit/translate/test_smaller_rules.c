/*
 * The smaller rules of spec §3.4, §1.3 and §8.1 that translation decides: a direct response's
 * status must be final (200-599); TLS settings a wildcard-host ExternalService cannot honour
 * are WARNINGs; a Workspace cluster entry with neither name nor selector matches every cluster,
 * and a Workspace without spec is valid and owns nothing. (sniHosts and egressGatewayRoutes are
 * checked while loading: tests/unit/config/test_config_rules.c.)
 */
#include "tr_support.h"

/* gw/shop on shop.example.com (VirtualGateway gw/web) with one direct response of <status>
 * for /s and a plain 200 for everything else. */
#define SHOP_DIRECT(status)                                                                        \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: shop, namespace: gw}\n"                                              \
            "spec:\n"                                                                              \
            "  hosts: [shop.example.com]\n"                                                        \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  http:\n"                                                                            \
            "  - {name: s, matchers: [{uri: {exact: /s}}], directResponse: {status: " status       \
            "}}\n"                                                                                 \
            "  - {name: ok, directResponse: {status: 200}}\n"

static void direct_response_status_below_200_is_misconfigured(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB SHOP_DIRECT("100"));
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "shop.example.com");
    /* ROUTE_REPLACEMENT: the route answers 500 with the reason, the table's others still work. */
    trt_assert_failed(trt_need_route(vh, "s"), "directResponse.status must be between 200 and 599");
    assert_int_equal(trt_need_route(vh, "ok")->kind, CW_ROUTE_DIRECT_RESPONSE);
    assert_status(&x, "RouteTable", "gw/shop", CW_APPROVAL_INVALID,
                  "directResponse.status must be between 200 and 599, got 100 (route s)");
    trt_free(&x);
}

/* Asserts that gw/shop is ACCEPTED and its route "s" a direct response. */
static void assert_direct_served(const char *yaml)
{
    struct trt x;
    trt_run(&x, yaml);
    assert_accepted(&x, "RouteTable", "gw/shop");
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "shop.example.com");
    assert_int_equal(trt_need_route(vh, "s")->kind, CW_ROUTE_DIRECT_RESPONSE);
    trt_free(&x);
}

static void direct_response_status_200_to_599_accepted(void **state)
{
    (void)state;
    assert_direct_served(WS_OPS DOC VG_WEB SHOP_DIRECT("200"));
    assert_direct_served(WS_OPS DOC VG_WEB SHOP_DIRECT("599"));
}

/* ExternalService data/apis on '*.api.example.org' (one endpoint) with the clientsideTls <tls>
 * on its port 443. */
#define WILDCARD_ES(tls)                                                                           \
    DOC NET "kind: ExternalEndpoint\n"                                                             \
            "metadata: {name: api-east, namespace: data, labels: {app: api}}\n"                    \
            "spec: {address: 127.0.0.41, ports: [{name: https, number: 443}]}\n" DOC NET           \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: apis, namespace: data}\n"                                            \
            "spec:\n"                                                                              \
            "  hosts: ['*.api.example.org']\n"                                                     \
            "  selector: {app: api}\n"                                                             \
            "  ports: [{name: https, number: 443, protocol: HTTPS, clientsideTls: " tls "}]\n"

static void wildcard_host_credential_name_warns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS WILDCARD_ES("{credentialName: api-tls}"));
    assert_status(&x, "ExternalService", "data/apis", CW_APPROVAL_WARNING,
                  "port 443: clientsideTls.credentialName is not supported with a wildcard host");
    assert_non_null(trt_cluster(&x, "data/apis:443")); /* a WARNING: still served */
    trt_free(&x);
}

static void wildcard_host_ca_certificates_warns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS WILDCARD_ES("{caCertificates: /etc/ssl/ca.pem}"));
    assert_status(&x, "ExternalService", "data/apis", CW_APPROVAL_WARNING,
                  "port 443: clientsideTls.caCertificates is ignored with a wildcard host");
    trt_free(&x);
}

static void wildcard_host_client_certificate_warns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS WILDCARD_ES("{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /c.key}"));
    assert_status(&x, "ExternalService", "data/apis", CW_APPROVAL_WARNING,
                  "port 443: clientsideTls client certificate and key are ignored with a "
                  "wildcard host");
    trt_free(&x);
}

static void wildcard_host_plain_tls_accepted(void **state)
{
    (void)state;
    struct trt x;
    /* "clientsideTls: {}" asks for nothing a wildcard host cannot give. */
    trt_run(&x, WS_OPS WILDCARD_ES("{}"));
    assert_accepted(&x, "ExternalService", "data/apis");
    trt_free(&x);
}

static void workspace_entry_without_name_or_selector_matches_every_cluster(void **state)
{
    (void)state;
    struct trt x;
    struct cw_gateway_identity gw = trt_gateway();
    gw.cluster = "any-cluster";
    trt_run_gw(&x,
               ADMIN "kind: Workspace\n"
                     "metadata: {name: ops, namespace: gloo-mesh}\n"
                     "spec:\n"
                     "  workloadClusters:\n"
                     "  - namespaces: [{name: gw}, {name: data}]\n" DOC NET
                     "kind: ExternalService\n"
                     "metadata: {name: db, namespace: data}\n"
                     "spec: {addresses: [10.0.0.1], ports: [{number: 7000}]}\n",
               &gw);
    assert_accepted(&x, "Workspace", "gloo-mesh/ops");
    assert_accepted(&x, "ExternalService", "data/db");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "ops");
    trt_free(&x);
}

static void workspace_without_spec_is_valid(void **state)
{
    (void)state;
    struct trt x;
    /* The CRD's own "policy" example: a Workspace with no spec owns nothing and is not an error;
     * the other Workspace keeps its namespaces. */
    trt_run(&x, ADMIN "kind: Workspace\n"
                      "metadata: {name: policy, namespace: gloo-mesh}\n" DOC WS_OPS DOC NET
                      "kind: ExternalService\n"
                      "metadata: {name: db, namespace: data}\n"
                      "spec: {addresses: [10.0.0.1], ports: [{number: 7000}]}\n");
    assert_accepted(&x, "Workspace", "gloo-mesh/policy");
    assert_accepted(&x, "ExternalService", "data/db");
    assert_string_equal(trt_status(&x, "ExternalService", "data/db")->workspace, "ops");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(direct_response_status_below_200_is_misconfigured),
        cmocka_unit_test(direct_response_status_200_to_599_accepted),
        cmocka_unit_test(wildcard_host_credential_name_warns),
        cmocka_unit_test(wildcard_host_ca_certificates_warns),
        cmocka_unit_test(wildcard_host_client_certificate_warns),
        cmocka_unit_test(wildcard_host_plain_tls_accepted),
        cmocka_unit_test(workspace_entry_without_name_or_selector_matches_every_cluster),
        cmocka_unit_test(workspace_without_spec_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
