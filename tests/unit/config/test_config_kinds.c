/*
 * Every kind causeway serves decodes its fields into the structs of config/config_types.h,
 * with the defaults of spec/gloo-api.md §1-§8. A field that silently lands in the wrong place
 * (or not at all) would change routing, so each value is checked.
 */
#include <string.h>

#include "support.h"

/* Loads <yaml>, asserts that it is clean and holds exactly one object of the expected kind. */
static const struct cw_object *load_one(struct cwt_load *l, const char *yaml, enum cw_kind kind)
{
    cwt_load_yaml(l, "kinds.yaml", yaml);
    if (l->text[0])
        fail_msg("expected no diagnostics, got:\n%s", l->text);
    assert_int_equal(l->cfg.objects.n, 1);
    assert_int_equal(l->cfg.by_kind[kind].n, 1);
    const struct cw_object *obj = l->cfg.objects.v[0];
    assert_int_equal(obj->kind, kind);
    assert_null(obj->error);
    return obj;
}

static const char *label(const cw_labels_t *labels, const char *key)
{
    for (uint32_t i = 0; i < labels->n; i++)
        if (strcmp(labels->v[i].key, key) == 0)
            return labels->v[i].value;
    return NULL;
}

static void kind_registry(void **state)
{
    (void)state;
    assert_string_equal(cw_kind_name(CW_KIND_EXTERNAL_SERVICE), "ExternalService");
    assert_string_equal(cw_kind_api_version(CW_KIND_EXTERNAL_SERVICE),
                        "networking.gloo.solo.io/v2");
    assert_string_equal(cw_kind_api_version(CW_KIND_OUTLIER_DETECTION_POLICY),
                        "resilience.policy.gloo.solo.io/v2");
    assert_string_equal(cw_kind_api_version(CW_KIND_WORKSPACE_SETTINGS), "admin.gloo.solo.io/v2");
    assert_string_equal(cw_kind_name(CW_KIND_FAILOVER_POLICY), "FailoverPolicy");
}

static void external_service(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_external_service *es =
        (const void *)load_one(&l,
                               "apiVersion: networking.gloo.solo.io/v2\n"
                               "kind: ExternalService\n"
                               "metadata:\n"
                               "  name: inventory\n"
                               "  namespace: data\n"
                               "  labels: {failover: \"true\", tier: \"\"}\n"
                               "spec:\n"
                               "  hosts: [inventory.internal, '*.inventory.example.com']\n"
                               "  selector: {app: inventory}\n"
                               "  subjectAltNames: [inventory.corp.example.com]\n"
                               "  ports:\n"
                               "  - name: http\n"
                               "    number: 80\n"
                               "    protocol: HTTP\n"
                               "    targetPort: {name: http}\n"
                               "  - name: https\n"
                               "    number: 443\n"
                               "    protocol: HTTPS\n"
                               "    targetPort: {number: 8443}\n"
                               "    clientsideTls:\n"
                               "      mode: MUTUAL\n"
                               "      sni: api.example.com\n"
                               "      caCertificates: /etc/ca.pem\n"
                               "      clientCertificate: /etc/cert.pem\n"
                               "      privateKey: /etc/key.pem\n"
                               "      insecureSkipVerify: false\n"
                               "    egressGatewayRoutes: {portMatch: 80}\n"
                               "  - number: 5432\n"
                               "    clientsideTls: {}\n",
                               CW_KIND_EXTERNAL_SERVICE);
    assert_string_equal(label(&es->obj.meta.labels, "failover"), "true");
    assert_string_equal(label(&es->obj.meta.labels, "tier"), "");
    assert_int_equal(es->hosts.n, 2);
    assert_string_equal(es->hosts.v[0], "inventory.internal");
    assert_string_equal(es->hosts.v[1], "*.inventory.example.com");
    assert_int_equal(es->addresses.n, 0);
    assert_int_equal(es->selector.n, 1);
    assert_string_equal(label(&es->selector, "app"), "inventory");
    assert_int_equal(es->subject_alt_names.n, 1);
    assert_int_equal(es->ports.n, 3);

    const struct cw_es_port *http = &es->ports.v[0];
    assert_string_equal(http->name, "http");
    assert_int_equal(http->number, 80);
    assert_int_equal(http->protocol, CW_PROTO_HTTP);
    assert_true(http->has_target_port);
    assert_string_equal(http->target_port.name, "http");
    assert_int_equal(http->target_port.number, 0);
    assert_false(http->tls.present);

    const struct cw_es_port *https = &es->ports.v[1];
    assert_int_equal(https->protocol, CW_PROTO_HTTPS);
    assert_int_equal(https->target_port.number, 8443);
    assert_null(https->target_port.name);
    assert_true(https->tls.present);
    assert_int_equal(https->tls.mode, CW_TLS_MODE_MUTUAL);
    assert_string_equal(https->tls.sni, "api.example.com");
    assert_string_equal(https->tls.ca_certificates, "/etc/ca.pem");
    assert_string_equal(https->tls.client_certificate, "/etc/cert.pem");
    assert_string_equal(https->tls.private_key, "/etc/key.pem");
    assert_false(https->tls.insecure_skip_verify);

    /* "clientsideTls: {}" is the idiom for "originate TLS with defaults" (§1.3). */
    const struct cw_es_port *pg = &es->ports.v[2];
    assert_null(pg->name);
    assert_int_equal(pg->protocol, CW_PROTO_UNSET);
    assert_false(pg->has_target_port);
    assert_true(pg->tls.present);
    assert_int_equal(pg->tls.mode, CW_TLS_MODE_UNSET);
    cwt_load_free(&l);
}

static void external_service_addresses(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_external_service *es =
        (const void *)load_one(&l,
                               "apiVersion: networking.gloo.solo.io/v2\n"
                               "kind: ExternalService\n"
                               "metadata: {name: ledger, namespace: data}\n"
                               "spec:\n"
                               "  addresses: [192.0.2.15, 10.1.0.0/16, '2001:db8::/64']\n"
                               "  ports: [{name: tcp, number: 9000, protocol: TCP}]\n",
                               CW_KIND_EXTERNAL_SERVICE);
    /* Addresses are kept as written; translation compares canonical forms. */
    assert_int_equal(es->addresses.n, 3);
    assert_string_equal(es->addresses.v[1], "10.1.0.0/16");
    assert_string_equal(es->addresses.v[2], "2001:db8::/64");
    assert_int_equal(es->hosts.n, 0);
    assert_int_equal(es->ports.v[0].protocol, CW_PROTO_TCP);
    cwt_load_free(&l);
}

static void external_endpoint(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_external_endpoint *ee = (const void *)load_one(
        &l,
        "apiVersion: networking.gloo.solo.io/v2\n"
        "kind: ExternalEndpoint\n"
        "metadata: {name: inventory-west, namespace: data, labels: {app: inventory}}\n"
        "spec:\n"
        "  address: inventory.us-west-2.corp.example.com\n"
        "  ports: [{name: http, number: 8080}, {name: admin, number: 9090}]\n"
        "  locality: {region: us-west-2, zone: us-west-2b, subZone: rack-7}\n",
        CW_KIND_EXTERNAL_ENDPOINT);
    assert_string_equal(ee->address, "inventory.us-west-2.corp.example.com");
    assert_int_equal(ee->ports.n, 2);
    assert_string_equal(ee->ports.v[1].name, "admin");
    assert_int_equal(ee->ports.v[1].number, 9090);
    assert_string_equal(ee->locality.region, "us-west-2");
    assert_string_equal(ee->locality.zone, "us-west-2b");
    assert_string_equal(ee->locality.subzone, "rack-7");
    assert_string_equal(label(&ee->obj.meta.labels, "app"), "inventory");
    cwt_load_free(&l);
}

static void external_endpoint_without_locality(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_external_endpoint *ee =
        (const void *)load_one(&l,
                               "apiVersion: networking.gloo.solo.io/v2\n"
                               "kind: ExternalEndpoint\n"
                               "metadata: {name: db, namespace: data}\n"
                               "spec: {address: '2001:db8::10', ports: [{number: 5432}]}\n",
                               CW_KIND_EXTERNAL_ENDPOINT);
    assert_string_equal(ee->address, "2001:db8::10");
    /* Absent locality fields are "" so they compare equal to an empty gateway field (§7.2). */
    assert_string_equal(ee->locality.region, "");
    assert_string_equal(ee->locality.zone, "");
    assert_string_equal(ee->locality.subzone, "");
    assert_null(ee->ports.v[0].name); /* one port needs no name */
    cwt_load_free(&l);

    ee = (const void *)load_one(&l,
                                "apiVersion: networking.gloo.solo.io/v2\n"
                                "kind: ExternalEndpoint\n"
                                "metadata: {name: db, namespace: data}\n"
                                "spec: {address: 10.0.0.1, locality: {region: us-east-1}}\n",
                                CW_KIND_EXTERNAL_ENDPOINT);
    assert_string_equal(ee->locality.region, "us-east-1");
    assert_string_equal(ee->locality.zone, "");
    assert_int_equal(ee->ports.n, 0);
    cwt_load_free(&l);
}

static void route_table_http(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_route_table *rt = (const void *)load_one(
        &l,
        "apiVersion: networking.gloo.solo.io/v2\n"
        "kind: RouteTable\n"
        "metadata: {name: search, namespace: gw}\n"
        "spec:\n"
        "  hosts: ['search.example.com', '*']\n"
        "  virtualGateways: [{name: edge, namespace: gw, cluster: c1}, {name: other}]\n"
        "  failureMode: FREEZE_CONFIG\n"
        "  weight: -5\n"
        "  defaultDestination:\n"
        "    ref: {name: search-db, namespace: data}\n"
        "    kind: EXTERNAL_SERVICE\n"
        "    port: {number: 9200}\n"
        "  http:\n"
        "  - name: search-api\n"
        "    labels: {route: search}\n"
        "    matchers:\n"
        "    - uri: {prefix: /_search, ignoreCase: true}\n"
        "      method: GET\n"
        "      port: 8080\n"
        "      headers:\n"
        "      - {name: x-user, value: 'a.*', regex: true, invertMatch: true}\n"
        "      - {name: x-present}\n"
        "      queryParameters: [{name: q, value: x}]\n"
        "    - uri: {exact: /_health}\n"
        "    - uri: {regex: '/v[0-9]+/.*'}\n"
        "    forwardTo:\n"
        "      pathRewrite: /\n"
        "      hostRewrite: search.internal\n"
        "      destinations:\n"
        "      - ref: {name: search-db, namespace: data}\n"
        "        kind: EXTERNAL_SERVICE\n"
        "        port: {name: http}\n"
        "        weight: 70\n"
        "      - ref: {name: search-db-2}\n"
        "        kind: EXTERNAL_SERVICE\n"
        "  - name: rewrite\n"
        "    forwardTo:\n"
        "      regexRewrite: {pattern: {regex: '^/old/(.*)'}, substitution: '/new/\\1'}\n"
        "      autoHostRewrite: true\n"
        "  - redirect: {hostRedirect: www.example.com, pathRedirect: /x, responseCode: "
        "PERMANENT_REDIRECT}\n"
        "  - redirect: {pathRedirect: /y}\n"
        "  - directResponse: {status: 503, body: down for maintenance}\n"
        "  - delegate:\n"
        "      routeTables: [{labels: {team: web}, namespace: web}]\n"
        "      sortMethod: ROUTE_SPECIFICITY\n",
        CW_KIND_ROUTE_TABLE);
    assert_int_equal(rt->hosts.n, 2);
    assert_string_equal(rt->hosts.v[1], "*");
    assert_int_equal(rt->virtual_gateways.n, 2);
    assert_string_equal(rt->virtual_gateways.v[0].cluster, "c1");
    assert_string_equal(rt->virtual_gateways.v[1].name, "other");
    assert_null(rt->virtual_gateways.v[1].ns); /* ⇒ the table's namespace, decided later */
    assert_true(rt->has_failure_mode);
    assert_int_equal(rt->failure_mode, CW_FAILURE_FREEZE_CONFIG);
    assert_int_equal(rt->weight, -5);
    assert_true(rt->has_default_destination);
    assert_string_equal(rt->default_destination.ref.name, "search-db");
    assert_int_equal(rt->default_destination.kind, CW_DEST_EXTERNAL_SERVICE);
    assert_int_equal(rt->default_destination.port.number, 9200);
    assert_true(rt->has_http);
    assert_false(rt->has_tcp);
    assert_int_equal(rt->http.n, 6);

    const struct cw_http_route *r = &rt->http.v[0];
    assert_string_equal(r->name, "search-api");
    assert_string_equal(label(&r->labels, "route"), "search");
    assert_int_equal(r->action, CW_ACTION_FORWARD);
    assert_int_equal(r->matchers.n, 3);
    const struct cw_http_matcher *m = &r->matchers.v[0];
    assert_int_equal(m->uri_kind, CW_URI_PREFIX);
    assert_string_equal(m->uri, "/_search");
    assert_true(m->ignore_case);
    assert_string_equal(m->method, "GET");
    assert_int_equal(m->port, 8080);
    assert_int_equal(m->headers.n, 2);
    assert_string_equal(m->headers.v[0].value, "a.*");
    assert_true(m->headers.v[0].regex);
    assert_true(m->headers.v[0].invert);
    assert_null(m->headers.v[1].value); /* presence test */
    assert_int_equal(m->query.n, 1);
    assert_string_equal(m->query.v[0].name, "q");
    assert_int_equal(r->matchers.v[1].uri_kind, CW_URI_EXACT);
    assert_string_equal(r->matchers.v[1].uri, "/_health");
    assert_int_equal(r->matchers.v[2].uri_kind, CW_URI_REGEX);
    assert_string_equal(r->forward.path_rewrite, "/");
    assert_string_equal(r->forward.host_rewrite, "search.internal");
    assert_int_equal(r->forward.destinations.n, 2);
    const struct cw_destination *d0 = &r->forward.destinations.v[0];
    assert_true(d0->has_ref);
    assert_string_equal(d0->ref.ns, "data");
    assert_string_equal(d0->port.name, "http");
    assert_true(d0->has_weight);
    assert_int_equal(d0->weight, 70);
    assert_false(r->forward.destinations.v[1].has_weight);

    r = &rt->http.v[1];
    assert_int_equal(r->matchers.n, 0); /* no matchers: matches everything */
    assert_true(r->forward.has_regex_rewrite);
    assert_string_equal(r->forward.regex_rewrite_pattern, "^/old/(.*)");
    assert_string_equal(r->forward.regex_rewrite_substitution, "/new/\\1");
    assert_true(r->forward.auto_host_rewrite);
    assert_int_equal(r->forward.destinations.n, 0); /* ⇒ defaultDestination */

    r = &rt->http.v[2];
    assert_int_equal(r->action, CW_ACTION_REDIRECT);
    assert_string_equal(r->redirect.host, "www.example.com");
    assert_int_equal(r->redirect.code, 308);
    assert_int_equal(rt->http.v[3].redirect.code, 301); /* MOVED_PERMANENTLY by default */

    r = &rt->http.v[4];
    assert_int_equal(r->action, CW_ACTION_DIRECT_RESPONSE);
    assert_int_equal(r->direct.status, 503);
    assert_string_equal(r->direct.body, "down for maintenance");

    r = &rt->http.v[5];
    assert_int_equal(r->action, CW_ACTION_DELEGATE);
    assert_int_equal(r->delegate.route_tables.n, 1);
    assert_string_equal(label(&r->delegate.route_tables.v[0].labels, "team"), "web");
    assert_int_equal(r->delegate.sort_method, CW_SORT_ROUTE_SPECIFICITY);
    cwt_load_free(&l);
}

static void route_table_tcp_and_tls(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_route_table *rt = (const void *)load_one(
        &l,
        "apiVersion: networking.gloo.solo.io/v2\n"
        "kind: RouteTable\n"
        "metadata: {name: orders-db, namespace: gw}\n"
        "spec:\n"
        "  hosts: ['orders-db.internal', '*.example.com']  # sniHosts lie within hosts (§3.6)\n"
        "  virtualGateways: [{name: edge, namespace: gw}]\n"
        "  tcp:\n"
        "  - matchers: [{port: 5432}]\n"
        "    forwardTo:\n"
        "      destinations:\n"
        "      - ref: {name: orders-db, namespace: data}\n"
        "        kind: EXTERNAL_SERVICE\n"
        "        port: {number: 5432}\n"
        "  - forwardTo: {destinations: [{ref: {name: fallback}, kind: EXTERNAL_SERVICE}]}\n"
        "  tls:\n"
        "  - matchers: [{sniHosts: ['*.example.com', db.example.com], port: 443}]\n"
        "    forwardTo: {destinations: [{ref: {name: tls-db}, kind: EXTERNAL_SERVICE}]}\n",
        CW_KIND_ROUTE_TABLE);
    assert_false(rt->has_http);
    assert_true(rt->has_tcp);
    assert_true(rt->has_tls);
    assert_false(rt->has_failure_mode);
    assert_int_equal(rt->failure_mode, CW_FAILURE_ROUTE_REPLACEMENT);
    assert_int_equal(rt->tcp.n, 2);
    assert_int_equal(rt->tcp.v[0].matchers.n, 1);
    assert_int_equal(rt->tcp.v[0].matchers.v[0].port, 5432);
    assert_true(rt->tcp.v[0].has_forward);
    assert_string_equal(rt->tcp.v[0].forward.destinations.v[0].ref.name, "orders-db");
    assert_int_equal(rt->tcp.v[1].matchers.n, 0); /* any port */
    assert_int_equal(rt->tls.n, 1);
    assert_int_equal(rt->tls.v[0].matchers.v[0].sni_hosts.n, 2);
    assert_string_equal(rt->tls.v[0].matchers.v[0].sni_hosts.v[0], "*.example.com");
    assert_int_equal(rt->tls.v[0].matchers.v[0].port, 443);
    cwt_load_free(&l);
}

static void virtual_gateway(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_virtual_gateway *vg = (const void *)load_one(
        &l,
        "apiVersion: networking.gloo.solo.io/v2\n"
        "kind: VirtualGateway\n"
        "metadata: {name: edge, namespace: gw}\n"
        "spec:\n"
        "  workloads:\n"
        "  - selector: {labels: {app: c-gateway}, cluster: cluster1}\n"
        "  - kind: VM\n"
        "  listeners:\n"
        "  - port: {number: 8080}\n"
        "    http: {}\n"
        "    allowedRouteTables: [{host: '*.example.com'}, {host: 'gw/api.example.com', "
        "selector: {labels: {expose: \"yes\"}}}]\n"
        "  - port: {number: 5432}\n"
        "    tcp: {}\n"
        "    appProtocol: TCP\n"
        "  - port: {name: https}\n"
        "    http:\n"
        "    tls: {mode: SIMPLE, secretName: gw-cert}\n"
        "  - port: {number: 8443}\n"
        "    tcp:\n"
        "    tls:\n"
        "      mode: MUTUAL\n"
        "      files: {serverCert: /c.pem, privateKey: /k.pem, caCerts: /ca.pem}\n"
        "      parameters: {minimumProtocolVersion: TLSv1_2}\n"
        "    exposedExternalServices: [{host: '*'}]\n"
        "  - port: {number: 80}\n"
        "    http: {}\n"
        "    httpsRedirect: true\n",
        CW_KIND_VIRTUAL_GATEWAY);
    assert_true(vg->has_workloads);
    assert_int_equal(vg->workloads.n, 2);
    assert_true(vg->workloads.v[0].has_selector);
    assert_string_equal(label(&vg->workloads.v[0].selector.labels, "app"), "c-gateway");
    assert_string_equal(vg->workloads.v[0].selector.cluster, "cluster1");
    assert_string_equal(vg->workloads.v[1].kind, "VM");
    assert_false(vg->workloads.v[1].has_selector);
    assert_int_equal(vg->listeners.n, 5);

    const struct cw_listener *http = &vg->listeners.v[0];
    assert_int_equal(http->port.number, 8080);
    assert_true(http->http);
    assert_false(http->tcp);
    assert_false(http->tls.present);
    assert_true(http->has_allowed_route_tables);
    assert_int_equal(http->allowed_route_tables.n, 2);
    assert_string_equal(http->allowed_route_tables.v[0].host, "*.example.com");
    assert_false(http->allowed_route_tables.v[0].has_selector);
    assert_string_equal(http->allowed_route_tables.v[1].host, "gw/api.example.com");
    assert_true(http->allowed_route_tables.v[1].has_selector);
    assert_false(http->has_exposed_external_services);

    const struct cw_listener *tcp = &vg->listeners.v[1];
    assert_true(tcp->tcp);
    assert_false(tcp->http);
    assert_string_equal(tcp->app_protocol, "TCP");
    assert_false(tcp->has_allowed_route_tables); /* omitted ⇒ any RouteTable may bind */

    /* "http:" with no value still makes an HTTP listener. */
    const struct cw_listener *https = &vg->listeners.v[2];
    assert_string_equal(https->port.name, "https");
    assert_true(https->http);
    assert_true(https->tls.present);
    assert_string_equal(https->tls.mode, "SIMPLE");
    assert_string_equal(https->tls.secret_name, "gw-cert");

    const struct cw_listener *mtls = &vg->listeners.v[3];
    assert_true(mtls->tcp);
    assert_string_equal(mtls->tls.server_cert, "/c.pem");
    assert_string_equal(mtls->tls.private_key, "/k.pem");
    assert_string_equal(mtls->tls.ca_certs, "/ca.pem");
    assert_true(mtls->has_exposed_external_services);
    assert_string_equal(mtls->exposed_external_services.v[0].host, "*");

    assert_true(vg->listeners.v[4].https_redirect);
    cwt_load_free(&l);

    /* Without workloads every gateway implements the VirtualGateway. */
    vg = (const void *)load_one(&l,
                                "apiVersion: networking.gloo.solo.io/v2\n"
                                "kind: VirtualGateway\n"
                                "metadata: {name: any, namespace: gw}\n"
                                "spec: {listeners: [{port: {number: 80}, http: {}}]}\n",
                                CW_KIND_VIRTUAL_GATEWAY);
    assert_false(vg->has_workloads);
    cwt_load_free(&l);
}

static void outlier_policy_explicit(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_outlier_policy *od = (const void *)load_one(
        &l,
        "apiVersion: resilience.policy.gloo.solo.io/v2\n"
        "kind: OutlierDetectionPolicy\n"
        "metadata: {name: inventory-od, namespace: data}\n"
        "spec:\n"
        "  applyToDestinations:\n"
        "  - kind: EXTERNAL_SERVICE\n"
        "    port: {number: 80}\n"
        "    selector: {labels: {failover: \"true\"}, namespace: data, workspace: ops}\n"
        "  - kind: VIRTUAL_DESTINATION\n"
        "    selector: {name: reviews}\n"
        "  config:\n"
        "    consecutiveErrors: 2\n"
        "    consecutiveGatewayErrors: 1\n"
        "    interval: 5s\n"
        "    baseEjectionTime: 1m30s\n"
        "    maxEjectionPercent: 50\n",
        CW_KIND_OUTLIER_DETECTION_POLICY);
    assert_int_equal(od->apply_to.n, 2);
    const struct cw_dest_selector *s = &od->apply_to.v[0];
    assert_int_equal(s->kind, CW_DEST_EXTERNAL_SERVICE);
    assert_int_equal(s->port.number, 80);
    assert_true(s->has_selector);
    assert_string_equal(label(&s->selector.labels, "failover"), "true");
    assert_string_equal(s->selector.ns, "data");
    assert_string_equal(s->selector.workspace, "ops");
    assert_int_equal(od->apply_to.v[1].kind, CW_DEST_VIRTUAL_DESTINATION);
    assert_string_equal(od->apply_to.v[1].selector.name, "reviews");
    assert_int_equal(od->config.consecutive_errors, 2);
    assert_int_equal(od->config.consecutive_gateway_errors, 1);
    assert_int_equal(od->config.interval_ms, 5000);
    assert_int_equal(od->config.base_ejection_ms, 90000);
    assert_int_equal(od->config.max_ejection_percent, 50);
    cwt_load_free(&l);
}

/* Loads an OutlierDetectionPolicy whose spec is <spec> and returns its config. */
static struct cw_outlier_config outlier_config(const char *spec)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "apiVersion: resilience.policy.gloo.solo.io/v2\n"
             "kind: OutlierDetectionPolicy\n"
             "metadata: {name: od, namespace: data}\n"
             "%s",
             spec);
    struct cwt_load l;
    const struct cw_outlier_policy *od =
        (const void *)load_one(&l, yaml, CW_KIND_OUTLIER_DETECTION_POLICY);
    struct cw_outlier_config c = od->config;
    cwt_load_free(&l);
    return c;
}

static void outlier_policy_defaults(void **state)
{
    (void)state;
    /* §5: consecutiveErrors 5, interval 10s, baseEjectionTime 30s, maxEjectionPercent 100. */
    static const char *const specs[] = {"", "spec: {}\n", "spec: {config: {}}\n",
                                        "spec:\n  config:\n"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct cw_outlier_config c = outlier_config(specs[i]);
        assert_int_equal(c.consecutive_errors, 5);
        assert_int_equal(c.consecutive_gateway_errors, 0);
        assert_int_equal(c.interval_ms, 10000);
        assert_int_equal(c.base_ejection_ms, 30000);
        assert_int_equal(c.max_ejection_percent, 100);
    }
    /* Defaults fill only the fields left out. */
    struct cw_outlier_config c = outlier_config("spec: {config: {interval: 2s}}\n");
    assert_int_equal(c.interval_ms, 2000);
    assert_int_equal(c.consecutive_errors, 5);
    assert_int_equal(c.base_ejection_ms, 30000);
}

static void outlier_max_ejection_percent_zero_means_ten(void **state)
{
    (void)state;
    /* [DECISION] §5 / A7: absent ⇒ 100 (Gloo), explicit 0 ⇒ 10 (Istio's default). */
    assert_int_equal(
        outlier_config("spec: {config: {maxEjectionPercent: 0}}\n").max_ejection_percent, 10);
    assert_int_equal(
        outlier_config("spec: {config: {maxEjectionPercent: 100}}\n").max_ejection_percent, 100);
    assert_int_equal(
        outlier_config("spec: {config: {maxEjectionPercent: 1}}\n").max_ejection_percent, 1);
    /* "maxEjectionPercent: null" is the same as leaving it out. */
    assert_int_equal(
        outlier_config("spec: {config: {maxEjectionPercent: null}}\n").max_ejection_percent, 100);
}

static void failover_policy(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_failover_policy *fp = (const void *)load_one(
        &l,
        "apiVersion: resilience.policy.gloo.solo.io/v2\n"
        "kind: FailoverPolicy\n"
        "metadata: {name: inventory-fo, namespace: data}\n"
        "spec:\n"
        "  applyToDestinations:\n"
        "  - kind: EXTERNAL_SERVICE\n"
        "    selector: {labels: {failover: \"true\"}}\n"
        "  config:\n"
        "    localityMappings:\n"
        "    - from: {region: us-east-1, zone: us-east-1a}\n"
        "      to: [{region: us-west-2}, {region: eu-west-1, zone: eu-west-1b}]\n"
        "    - from: {region: us-west-2}\n"
        "      to: [{region: us-east-1, weight: 80}, {region: eu-west-1, weight: 20}]\n"
        "    priorityLabels:\n"
        "      labels: [topology.kubernetes.io/region, topology.kubernetes.io/zone]\n",
        CW_KIND_FAILOVER_POLICY);
    assert_int_equal(fp->apply_to.n, 1);
    assert_int_equal(fp->apply_to.v[0].kind, CW_DEST_EXTERNAL_SERVICE);
    assert_int_equal(fp->mappings.n, 2);
    const struct cw_locality_mapping *m = &fp->mappings.v[0];
    assert_string_equal(m->from.region, "us-east-1");
    assert_string_equal(m->from.zone, "us-east-1a");
    assert_string_equal(m->from.subzone, "");
    assert_int_equal(m->to.n, 2);
    assert_string_equal(m->to.v[0].locality.region, "us-west-2");
    assert_string_equal(m->to.v[0].locality.zone, "");
    assert_false(m->to.v[0].has_weight);
    assert_string_equal(m->to.v[1].locality.zone, "eu-west-1b");
    m = &fp->mappings.v[1];
    assert_true(m->to.v[0].has_weight);
    assert_int_equal(m->to.v[0].weight, 80);
    assert_int_equal(m->to.v[1].weight, 20);
    assert_int_equal(fp->priority_labels.n, 2);
    assert_string_equal(fp->priority_labels.v[1], "topology.kubernetes.io/zone");
    cwt_load_free(&l);

    /* An empty FailoverPolicy enables locality LB without mappings (§6). */
    fp = (const void *)load_one(&l,
                                "apiVersion: resilience.policy.gloo.solo.io/v2\n"
                                "kind: FailoverPolicy\n"
                                "metadata: {name: fo, namespace: data}\n"
                                "spec: {}\n",
                                CW_KIND_FAILOVER_POLICY);
    assert_int_equal(fp->mappings.n, 0);
    assert_int_equal(fp->apply_to.n, 0);
    cwt_load_free(&l);
}

static void workspace(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_workspace *ws = (const void *)load_one(
        &l,
        "apiVersion: admin.gloo.solo.io/v2\n"
        "kind: Workspace\n"
        "metadata: {name: ops, namespace: gloo-mesh, labels: {team: ops}}\n"
        "spec:\n"
        "  workloadClusters:\n"
        "  - name: cluster1\n"
        "    namespaces: [{name: gw}, {name: 'data-*', labels: {env: prod}, configEnabled: "
        "false}]\n"
        "  - selector: {region: us-east-1}\n"
        "    configEnabled: false\n"
        "    namespaces: [{name: '*'}]\n",
        CW_KIND_WORKSPACE);
    assert_string_equal(label(&ws->obj.meta.labels, "team"), "ops");
    assert_int_equal(ws->clusters.n, 2);
    const struct cw_workload_cluster *c = &ws->clusters.v[0];
    assert_string_equal(c->name, "cluster1");
    assert_true(c->config_enabled); /* default true */
    assert_false(c->has_config_enabled);
    assert_int_equal(c->namespaces.n, 2);
    assert_string_equal(c->namespaces.v[0].name, "gw");
    assert_true(c->namespaces.v[0].config_enabled);
    assert_string_equal(c->namespaces.v[1].name, "data-*");
    assert_string_equal(label(&c->namespaces.v[1].labels, "env"), "prod");
    assert_false(c->namespaces.v[1].config_enabled);
    c = &ws->clusters.v[1];
    assert_null(c->name);
    assert_string_equal(label(&c->selector, "region"), "us-east-1");
    assert_false(c->config_enabled);
    assert_true(c->has_config_enabled);
    cwt_load_free(&l);
}

static void workspace_settings(void **state)
{
    (void)state;
    struct cwt_load l;
    const struct cw_workspace_settings *wss = (const void *)load_one(
        &l,
        "apiVersion: admin.gloo.solo.io/v2\n"
        "kind: WorkspaceSettings\n"
        "metadata: {name: ops, namespace: gw}\n"
        "spec:\n"
        "  exportTo:\n"
        "  - workspaces: [{name: web}, {selector: {team: shop}}]\n"
        "    resources:\n"
        "    - kind: EXTERNAL_SERVICE\n"
        "      labels: {shared: \"true\"}\n"
        "    - {kind: ROUTE_TABLE, name: search, namespace: gw, cluster: cluster1}\n"
        "    - kind: API_DOC\n"
        "    - {name: any-kind}\n"
        "  importFrom:\n"
        "  - workspaces: [{name: '*'}]\n"
        "  options:\n"
        "    serviceIsolation: {enabled: true}\n",
        CW_KIND_WORKSPACE_SETTINGS);
    assert_int_equal(wss->export_to.n, 1);
    const struct cw_import_export *e = &wss->export_to.v[0];
    assert_int_equal(e->workspaces.n, 2);
    assert_string_equal(e->workspaces.v[0].name, "web");
    assert_string_equal(label(&e->workspaces.v[1].selector, "team"), "shop");
    assert_true(e->has_resources);
    assert_int_equal(e->resources.n, 4);
    assert_int_equal(e->resources.v[0].kind, CW_RES_EXTERNAL_SERVICE);
    assert_string_equal(label(&e->resources.v[0].labels, "shared"), "true");
    assert_int_equal(e->resources.v[1].kind, CW_RES_ROUTE_TABLE);
    assert_string_equal(e->resources.v[1].name, "search");
    assert_string_equal(e->resources.v[1].ns, "gw");
    assert_string_equal(e->resources.v[1].cluster, "cluster1");
    assert_int_equal(e->resources.v[2].kind, CW_RES_OTHER); /* a kind causeway does not serve */
    assert_int_equal(e->resources.v[3].kind, CW_RES_ALL);   /* kind omitted */
    assert_int_equal(wss->import_from.n, 1);
    assert_string_equal(wss->import_from.v[0].workspaces.v[0].name, "*");
    /* Omitted resources ⇒ all exportable kinds (§8.2), distinct from an empty list. */
    assert_false(wss->import_from.v[0].has_resources);
    cwt_load_free(&l);

    /* "spec: {}" and no spec at all are both a WorkspaceSettings that shares nothing. */
    wss = (const void *)load_one(&l,
                                 "apiVersion: admin.gloo.solo.io/v2\n"
                                 "kind: WorkspaceSettings\n"
                                 "metadata: {name: ops, namespace: gw}\n",
                                 CW_KIND_WORKSPACE_SETTINGS);
    assert_int_equal(wss->export_to.n, 0);
    assert_int_equal(wss->import_from.n, 0);
    cwt_load_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kind_registry),
        cmocka_unit_test(external_service),
        cmocka_unit_test(external_service_addresses),
        cmocka_unit_test(external_endpoint),
        cmocka_unit_test(external_endpoint_without_locality),
        cmocka_unit_test(route_table_http),
        cmocka_unit_test(route_table_tcp_and_tls),
        cmocka_unit_test(virtual_gateway),
        cmocka_unit_test(outlier_policy_explicit),
        cmocka_unit_test(outlier_policy_defaults),
        cmocka_unit_test(outlier_max_ejection_percent_zero_means_ten),
        cmocka_unit_test(failover_policy),
        cmocka_unit_test(workspace),
        cmocka_unit_test(workspace_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
