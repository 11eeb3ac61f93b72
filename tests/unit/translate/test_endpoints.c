/*
 * ExternalService shape, endpoint selection and port resolution (spec §1.1, §1.4, §2): exactly
 * one of hosts/addresses; endpoints chosen by labels within the service's workspace; an empty
 * selector selects nothing; the [DECISION] port rules; what happens without endpoints.
 */
#include "tr_support.h"

/* ExternalEndpoint data/<name> with labels, address and the rest of its spec. */
#define EE(name, labels, address, rest)                                                            \
    DOC NET "kind: ExternalEndpoint\n"                                                             \
            "metadata: {name: " name ", namespace: data, labels: " labels "}\n"                    \
            "spec: {address: '" address "'" rest "}\n"

/* ExternalService data/<name> with the given spec body. */
#define ES(name, spec)                                                                             \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: " name ", namespace: data}\n"                                        \
            "spec: " spec "\n"

/* ---- hosts XOR addresses ---- */

static void hosts_and_addresses_are_exclusive(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("both", "{hosts: [db.example.com], addresses: ['10.0.0.1'], ports: "
                                  "[{number: 80}]}") ES("neither", "{ports: [{number: 80}]}")
                    ES("hosts", "{hosts: [h.example.com], ports: [{number: 80}]}")
                        ES("addrs", "{addresses: ['10.0.0.2'], ports: [{number: 80}]}"));
    assert_status_prefix(&x, "ExternalService", "data/both", CW_APPROVAL_INVALID,
                         "exactly one of hosts or addresses must be set");
    assert_status_prefix(&x, "ExternalService", "data/neither", CW_APPROVAL_INVALID,
                         "exactly one of hosts or addresses must be set");
    assert_null(trt_cluster(&x, "data/both:80"));
    assert_null(trt_cluster(&x, "data/neither:80"));
    assert_accepted(&x, "ExternalService", "data/hosts");
    assert_accepted(&x, "ExternalService", "data/addrs");
    trt_free(&x);
}

/* ---- selection ---- */

static void selector_picks_endpoints_by_labels(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv, tier: db}", "10.1.0.1", ", ports: [{number: 8080}]")
                    EE("b", "{app: inv}", "10.1.0.2", ", ports: [{number: 8080}]")
                        EE("c", "{app: other, tier: db}", "10.1.0.3", ", ports: [{number: 8080}]")
                            ES("inv", "{hosts: [inv.internal], ports: [{number: 8080}], "
                                      "selector: {app: inv}}")
                                ES("inv-db", "{hosts: [invdb.internal], ports: [{number: 8080}], "
                                             "selector: {app: inv, tier: db}}"));
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inv:8080");
    assert_int_equal(c->endpoints.n, 2);
    assert_non_null(trt_endpoint(c, "10.1.0.1"));
    assert_non_null(trt_endpoint(c, "10.1.0.2"));
    /* With endpoints, the service's own host is not a backend. */
    assert_null(trt_endpoint(c, "inv.internal"));
    assert_string_equal(trt_need_endpoint(c, "10.1.0.1")->source, "data/a");
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inv", "numSelectedExternalEndpoints"),
                     2);
    /* Every selector label must be present (AND). */
    c = trt_need_cluster(&x, "data/inv-db:8080");
    assert_int_equal(c->endpoints.n, 1);
    assert_non_null(trt_endpoint(c, "10.1.0.1"));
    trt_free(&x);
}

static void endpoint_in_another_workspace_is_not_selected(void **state)
{
    (void)state;
    struct trt x;
    /* ExternalEndpoints are not an import/export kind (§2): even an exporting workspace's
     * endpoints stay invisible. */
    trt_run(&x, WS_OPS DOC ADMIN
            "kind: Workspace\n"
            "metadata: {name: far, namespace: gloo-mesh}\n"
            "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
            "far}]}]}\n" DOC ADMIN "kind: WorkspaceSettings\n"
            "metadata: {name: far, namespace: far}\n"
            "spec: {exportTo: [{workspaces: [{name: '*'}]}]}\n" DOC NET "kind: ExternalEndpoint\n"
            "metadata: {name: remote, namespace: far, labels: {app: inv}}\n"
            "spec: {address: 10.9.0.1, ports: [{number: 8080}]}\n" EE("local", "{app: inv}",
                                                                      "10.1.0.1", "")
                ES("inv", "{hosts: [inv.internal], ports: [{number: 8080}], "
                          "selector: {app: inv}}"));
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inv:8080");
    assert_int_equal(c->endpoints.n, 1);
    assert_non_null(trt_endpoint(c, "10.1.0.1"));
    assert_null(trt_endpoint(c, "10.9.0.1"));
    trt_free(&x);
}

static void selector_matching_only_foreign_endpoints_falls_back_to_hosts(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC ADMIN "kind: Workspace\n"
                                 "metadata: {name: far, namespace: gloo-mesh}\n"
                                 "spec: {workloadClusters: [{name: cluster1, namespaces: [{name: "
                                 "far}]}]}\n" DOC NET "kind: ExternalEndpoint\n"
                                 "metadata: {name: remote, namespace: far, labels: {app: inv}}\n"
                                 "spec: {address: 10.9.0.1}\n" ES(
                                     "inv", "{hosts: [inv.internal], ports: [{number: 80}], "
                                            "selector: {app: inv}}"));
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inv:80");
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inv", "numSelectedExternalEndpoints"),
                     0);
    assert_int_equal(c->endpoints.n, 1);
    assert_true(trt_need_endpoint(c, "inv.internal")->is_hostname);
    trt_free(&x);
}

static void empty_selector_selects_nothing(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1", "")
                    ES("empty", "{hosts: [e.internal], ports: [{number: 80}], selector: {}}")
                        ES("absent", "{hosts: [a.internal], ports: [{number: 80}]}"));
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/empty:80");
    assert_int_equal(c->endpoints.n, 1);
    assert_non_null(trt_endpoint(c, "e.internal"));
    c = trt_need_cluster(&x, "data/absent:80");
    assert_int_equal(c->endpoints.n, 1);
    assert_non_null(trt_endpoint(c, "a.internal"));
    assert_int_equal(
        trt_counter(&x, "ExternalService", "data/empty", "numSelectedExternalEndpoints"), 0);
    trt_free(&x);
}

static void endpoint_locality_and_hostname_kept(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("east", "{app: inv}", "10.1.0.10",
                          ", ports: [{name: http, number: 8080}], locality: {region: us-east-1, "
                          "zone: us-east-1a, subZone: rack1}")
                    EE("west", "{app: inv}", "inventory.us-west-2.corp.example.com",
                       ", ports: [{name: http, number: 8080}], locality: {region: us-west-2}")
                        ES("inv", "{hosts: [inv.internal], ports: [{name: http, number: 80}], "
                                  "selector: {app: inv}}"));
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inv:80");
    const struct cw_endpoint *e = trt_need_endpoint(c, "10.1.0.10");
    assert_false(e->is_hostname);
    assert_string_equal(e->locality.region, "us-east-1");
    assert_string_equal(e->locality.zone, "us-east-1a");
    assert_string_equal(e->locality.subzone, "rack1");
    e = trt_need_endpoint(c, "inventory.us-west-2.corp.example.com");
    assert_true(e->is_hostname);
    assert_int_equal(e->port, 8080);
    assert_string_equal(e->locality.region, "us-west-2");
    assert_string_equal(e->locality.zone, "");
    trt_free(&x);
}

/* ---- port resolution (§1.4 [DECISION]) ---- */

static void target_port_by_name(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1",
                          ", ports: [{name: admin, number: 9000}, {name: http, number: 8080}]")
                    ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: [{name: web, "
                              "number: 80, targetPort: {name: http}}]}"));
    assert_all_accepted(&x);
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/inv:80"), "10.1.0.1")->port,
                     8080);
    trt_free(&x);
}

static void target_port_by_number_must_be_listed(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1", ", ports: [{number: 8443}]")
                    EE("b", "{app: inv}", "10.1.0.2", ", ports: [{number: 9999}]")
                        ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: "
                                  "[{number: 443, targetPort: {number: 8443}}]}"));
    /* b lacks 8443: WARNING naming it, and it is left out of the cluster. */
    assert_status_prefix(&x, "ExternalService", "data/inv", CW_APPROVAL_WARNING,
                         "ExternalEndpoint data/b has no port matching");
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inv:443");
    assert_int_equal(c->endpoints.n, 1);
    assert_int_equal(trt_need_endpoint(c, "10.1.0.1")->port, 8443);
    assert_null(c->unroutable);
    trt_free(&x);
}

static void no_target_port_matches_port_name_first(void **state)
{
    (void)state;
    struct trt x;
    /* Port "http" (80): the endpoint's port named http wins over its port numbered 80. */
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1",
                          ", ports: [{name: legacy, number: 80}, {name: http, number: 8080}]")
                    ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: [{name: http, "
                              "number: 80}]}"));
    assert_all_accepted(&x);
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/inv:80"), "10.1.0.1")->port,
                     8080);
    trt_free(&x);
}

static void no_target_port_then_port_number(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1", ", ports: [{name: other, number: 9000}]")
                    ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: [{name: web, "
                              "number: 9000}]}"));
    assert_all_accepted(&x);
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/inv:9000"), "10.1.0.1")->port,
                     9000);
    trt_free(&x);
}

static void endpoint_without_ports_uses_target_or_service_port(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1", "")
                    ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: [{name: web, "
                              "number: 80, targetPort: {number: 8080}}, {name: pg, number: "
                              "5432}]}"));
    assert_all_accepted(&x);
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/inv:80"), "10.1.0.1")->port,
                     8080);
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/inv:5432"), "10.1.0.1")->port,
                     5432);
    trt_free(&x);
}

static void no_endpoint_has_the_port_makes_cluster_unroutable(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: inv}", "10.1.0.1", ", ports: [{name: http, number: 8080}]")
                    ES("inv", "{hosts: [inv.internal], selector: {app: inv}, ports: [{name: pg, "
                              "number: 5432}, {name: http, number: 80}]}"));
    assert_status(&x, "ExternalService", "data/inv", CW_APPROVAL_WARNING,
                  "ExternalEndpoint data/a has no port matching pg");
    const struct cw_cluster *pg = trt_need_cluster(&x, "data/inv:5432");
    assert_int_equal(pg->endpoints.n, 0);
    assert_non_null(pg->unroutable);
    /* The other port is unaffected. */
    const struct cw_cluster *http = trt_need_cluster(&x, "data/inv:80");
    assert_int_equal(trt_need_endpoint(http, "10.1.0.1")->port, 8080);
    assert_null(http->unroutable);
    trt_free(&x);
}

static void target_port_name_without_endpoints_invalid(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("api", "{hosts: [api.example.com], ports: [{name: https, number: 443, "
                                 "targetPort: {name: https}}]}"));
    assert_status_prefix(&x, "ExternalService", "data/api", CW_APPROVAL_INVALID,
                         "targetPort name https requires selected ExternalEndpoints");
    assert_null(trt_cluster(&x, "data/api:443"));
    trt_free(&x);
}

static void target_port_number_without_endpoints(void **state)
{
    (void)state;
    struct trt x;
    /* TLS origination idiom: clients use 80, the host is reached on 443. */
    trt_run(&x, WS_OPS ES("api", "{hosts: [api.example.com], ports: [{name: http, number: 80, "
                                 "targetPort: {number: 443}, clientsideTls: {}}]}"));
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/api:80");
    assert_int_equal(trt_need_endpoint(c, "api.example.com")->port, 443);
    trt_free(&x);
}

/* ---- no endpoints ---- */

static void host_without_endpoints_is_resolved(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("api", "{hosts: [a.example.com], ports: [{number: 443, protocol: "
                                 "HTTPS}, {number: 80}]}"));
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/api:443");
    assert_int_equal(c->endpoints.n, 1);
    const struct cw_endpoint *e = trt_need_endpoint(c, "a.example.com");
    assert_true(e->is_hostname);
    assert_int_equal(e->port, 443);
    assert_null(e->source); /* the service itself, not an ExternalEndpoint */
    assert_string_equal(c->host, "a.example.com");
    /* One cluster per port. */
    assert_int_equal(trt_need_endpoint(trt_need_cluster(&x, "data/api:80"), "a.example.com")->port,
                     80);
    trt_free(&x);
}

static void each_host_is_its_own_upstream(void **state)
{
    (void)state;
    struct trt x;
    /* §1.4 rule 2: without endpoints, each host of the service is resolved as its own
     * upstream (Istio builds one cluster per host of a DNS ServiceEntry), so the addresses
     * of a.example.com and b.example.com never mix in one pool. */
    trt_run(&x, WS_OPS ES("api", "{hosts: [a.example.com, b.example.com], ports: [{number: "
                                 "443, protocol: HTTPS}]}"));
    assert_all_accepted(&x);
    const struct cw_snapshot *s = x.tr.snapshot;
    bool seen_a = false, seen_b = false;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->clusters.n; i++) {
        const struct cw_cluster *c = s->clusters.v[i];
        if (strcmp(c->service->obj.meta.name, "api") || c->port->number != 443)
            continue;
        n++;
        assert_int_equal(c->endpoints.n, 1);
        assert_true(c->endpoints.v[0].is_hostname);
        assert_int_equal(c->endpoints.v[0].port, 443);
        assert_string_equal(c->host, c->endpoints.v[0].address);
        seen_a |= !strcmp(c->host, "a.example.com");
        seen_b |= !strcmp(c->host, "b.example.com");
    }
    assert_int_equal(n, 2);
    assert_true(seen_a && seen_b);
    trt_free(&x);
}

static void single_addresses_are_static_backends(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("v4", "{addresses: ['10.20.30.50/32'], ports: [{number: 5432}]}")
                    ES("v6", "{addresses: ['2001:db8::7/128'], ports: [{number: 5432}]}"));
    assert_all_accepted(&x);
    const struct cw_endpoint *e =
        trt_need_endpoint(trt_need_cluster(&x, "data/v4:5432"), "10.20.30.50");
    assert_false(e->is_hostname);
    assert_int_equal(e->port, 5432);
    e = trt_need_endpoint(trt_need_cluster(&x, "data/v6:5432"), "2001:db8::7");
    assert_false(e->is_hostname);
    assert_null(trt_need_cluster(&x, "data/v4:5432")->unroutable);
    trt_free(&x);
}

static void cidr_without_endpoints_warns_and_is_unroutable(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("net", "{addresses: ['10.50.0.0/16'], ports: [{number: 443}]}"));
    assert_status_prefix(&x, "ExternalService", "data/net", CW_APPROVAL_WARNING,
                         "CIDR address has no concrete endpoints");
    /* WARNING means live: the cluster exists, but routes to it get 503. */
    const struct cw_cluster *c = trt_need_cluster(&x, "data/net:443");
    assert_int_equal(c->endpoints.n, 0);
    assert_non_null(c->unroutable);
    trt_free(&x);
}

static void cidr_with_endpoints_is_routable(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS EE("a", "{app: net}", "10.50.1.1", "")
                    ES("net", "{addresses: ['10.50.0.0/16'], selector: {app: net}, ports: "
                              "[{number: 443}]}"));
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/net:443");
    assert_int_equal(trt_need_endpoint(c, "10.50.1.1")->port, 443);
    assert_null(c->unroutable);
    trt_free(&x);
}

static void wildcard_host_without_endpoints_warns(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS ES("wild", "{hosts: ['*.example.com'], ports: [{number: 443}]}"));
    /* §1.4.4 [DECISION]: mesh-side only; the gateway cannot route it. */
    assert_status(&x, "ExternalService", "data/wild", CW_APPROVAL_WARNING, "wildcard");
    const struct cw_cluster *c = trt_need_cluster(&x, "data/wild:443");
    assert_int_equal(c->endpoints.n, 0);
    assert_non_null(c->unroutable);
    trt_free(&x);
}

static void wildcard_host_ignores_target_port(void **state)
{
    (void)state;
    struct trt x;
    /* §1.2: with a wildcard host targetPort is ignored (WARNING) and the backend port is 443. */
    trt_run(&x, WS_OPS EE("api", "{app: api}", "10.3.0.1",
                          ", ports: [{name: https, number: 443}, {name: alt, number: 8443}]")
                    ES("wild", "{hosts: ['*.example.com'], selector: {app: api}, "
                               "ports: [{number: 443, targetPort: {number: 8443}}]}"));
    assert_status(&x, "ExternalService", "data/wild", CW_APPROVAL_WARNING,
                  "port 443: targetPort is ignored with a wildcard host (always 443)");
    const struct cw_cluster *c = trt_need_cluster(&x, "data/wild:443");
    assert_int_equal(trt_need_endpoint(c, "10.3.0.1")->port, 443);
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hosts_and_addresses_are_exclusive),
        cmocka_unit_test(selector_picks_endpoints_by_labels),
        cmocka_unit_test(endpoint_in_another_workspace_is_not_selected),
        cmocka_unit_test(selector_matching_only_foreign_endpoints_falls_back_to_hosts),
        cmocka_unit_test(empty_selector_selects_nothing),
        cmocka_unit_test(endpoint_locality_and_hostname_kept),
        cmocka_unit_test(target_port_by_name),
        cmocka_unit_test(target_port_by_number_must_be_listed),
        cmocka_unit_test(no_target_port_matches_port_name_first),
        cmocka_unit_test(no_target_port_then_port_number),
        cmocka_unit_test(endpoint_without_ports_uses_target_or_service_port),
        cmocka_unit_test(no_endpoint_has_the_port_makes_cluster_unroutable),
        cmocka_unit_test(target_port_name_without_endpoints_invalid),
        cmocka_unit_test(target_port_number_without_endpoints),
        cmocka_unit_test(host_without_endpoints_is_resolved),
        cmocka_unit_test(each_host_is_its_own_upstream),
        cmocka_unit_test(single_addresses_are_static_backends),
        cmocka_unit_test(cidr_without_endpoints_warns_and_is_unroutable),
        cmocka_unit_test(cidr_with_endpoints_is_routable),
        cmocka_unit_test(wildcard_host_without_endpoints_warns),
        cmocka_unit_test(wildcard_host_ignores_target_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
