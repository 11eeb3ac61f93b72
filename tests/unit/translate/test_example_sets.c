/*
 * The example manifest sets of spec §12, written out exactly as the spec gives them, with the
 * statuses and snapshot the spec expects. The gateway is the one §12 assumes: namespace gw,
 * labels app=c-gateway, locality us-east-1/us-east-1a. Sets B, C and E reuse set A's Workspace
 * ops and VirtualGateway edge.
 */
#include "tr_support.h"

/* Set A's Workspace ops, its WorkspaceSettings and VirtualGateway edge. */
#define SET_A_COMMON                                                                               \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: Workspace\n"                                                                            \
    "metadata: {name: ops, namespace: gloo-mesh}\n"                                                \
    "spec:\n"                                                                                      \
    "  workloadClusters:\n"                                                                        \
    "  - name: cluster1\n"                                                                         \
    "    namespaces: [{name: gw}, {name: data}]\n"                                                 \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: WorkspaceSettings\n"                                                                    \
    "metadata: {name: ops, namespace: gw}\n"                                                       \
    "spec: {}\n"                                                                                   \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: VirtualGateway\n"                                                                       \
    "metadata: {name: edge, namespace: gw}\n"                                                      \
    "spec:\n"                                                                                      \
    "  workloads:\n"                                                                               \
    "  - selector: {labels: {app: c-gateway}}\n"                                                   \
    "  listeners:\n"                                                                               \
    "  - port: {number: 8080}\n"                                                                   \
    "    http: {}\n"                                                                               \
    "    allowedRouteTables: [{host: '*.example.com'}]   # covers search./shop./pay. in sets A, "  \
    "B, E\n"                                                                                       \
    "  - port: {number: 5432}\n"                                                                   \
    "    tcp: {}\n"                                                                                \
    "    allowedRouteTables: [{host: 'orders-db.internal'}]\n"

/* The rest of set A: two ExternalServices reached by IP and their RouteTables. */
#define SET_A_SERVICES                                                                             \
    "---\n"                                                                                        \
    "# Elasticsearch-style DB reached by IP over HTTP\n"                                           \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata: {name: search-db, namespace: data}\n"                                               \
    "spec:\n"                                                                                      \
    "  addresses: [\"10.20.30.40\"]\n"                                                             \
    "  ports:\n"                                                                                   \
    "  - {name: http, number: 9200, protocol: HTTP}\n"                                             \
    "---\n"                                                                                        \
    "# PostgreSQL reached by IP over TCP\n"                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata: {name: orders-db, namespace: data}\n"                                               \
    "spec:\n"                                                                                      \
    "  addresses: [\"10.20.30.50/32\"]\n"                                                          \
    "  ports:\n"                                                                                   \
    "  - {name: pg, number: 5432, protocol: TCP}\n"                                                \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: RouteTable\n"                                                                           \
    "metadata: {name: search, namespace: gw}\n"                                                    \
    "spec:\n"                                                                                      \
    "  hosts: ['search.example.com']\n"                                                            \
    "  virtualGateways: [{name: edge, namespace: gw}]\n"                                           \
    "  http:\n"                                                                                    \
    "  - name: search-api\n"                                                                       \
    "    matchers:\n"                                                                              \
    "    - uri: {prefix: /_search}\n"                                                              \
    "      method: GET\n"                                                                          \
    "    - uri: {exact: /_health}\n"                                                               \
    "    forwardTo:\n"                                                                             \
    "      destinations:\n"                                                                        \
    "      - ref: {name: search-db, namespace: data}\n"                                            \
    "        kind: EXTERNAL_SERVICE\n"                                                             \
    "        port: {number: 9200}\n"                                                               \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: RouteTable\n"                                                                           \
    "metadata: {name: orders-db, namespace: gw}\n"                                                 \
    "spec:\n"                                                                                      \
    "  hosts: ['orders-db.internal']\n"                                                            \
    "  virtualGateways: [{name: edge, namespace: gw}]\n"                                           \
    "  tcp:\n"                                                                                     \
    "  - matchers: [{port: 5432}]\n"                                                               \
    "    forwardTo:\n"                                                                             \
    "      destinations:\n"                                                                        \
    "      - ref: {name: orders-db, namespace: data}\n"                                            \
    "        kind: EXTERNAL_SERVICE\n"                                                             \
    "        port: {number: 5432}\n"

/* Set B without its OutlierDetectionPolicy (endpoints, service, failover, route). */
#define SET_B_ENDPOINTS_AND_SERVICE                                                                \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalEndpoint\n"                                                                     \
    "metadata:\n"                                                                                  \
    "  name: inventory-east\n"                                                                     \
    "  namespace: data\n"                                                                          \
    "  labels: {app: inventory}\n"                                                                 \
    "spec:\n"                                                                                      \
    "  address: 10.1.0.10\n"                                                                       \
    "  ports: [{name: http, number: 8080}]\n"                                                      \
    "  locality: {region: us-east-1, zone: us-east-1a}\n"                                          \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalEndpoint\n"                                                                     \
    "metadata:\n"                                                                                  \
    "  name: inventory-west\n"                                                                     \
    "  namespace: data\n"                                                                          \
    "  labels: {app: inventory}\n"                                                                 \
    "spec:\n"                                                                                      \
    "  address: inventory.us-west-2.corp.example.com   # DNS-resolved\n"                           \
    "  ports: [{name: http, number: 8080}]\n"                                                      \
    "  locality: {region: us-west-2, zone: us-west-2b}\n"                                          \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata:\n"                                                                                  \
    "  name: inventory\n"                                                                          \
    "  namespace: data\n"                                                                          \
    "  labels: {failover: \"true\"}\n"                                                             \
    "spec:\n"                                                                                      \
    "  hosts: [inventory.internal]        # internal name, CNAME-like\n"                           \
    "  ports:\n"                                                                                   \
    "  - name: http\n"                                                                             \
    "    number: 80\n"                                                                             \
    "    protocol: HTTP\n"                                                                         \
    "    targetPort: {name: http}         # -> 8080 on each endpoint\n"                            \
    "  selector: {app: inventory}\n"

#define SET_B_OUTLIER                                                                              \
    "---\n"                                                                                        \
    "apiVersion: resilience.policy.gloo.solo.io/v2\n"                                              \
    "kind: OutlierDetectionPolicy\n"                                                               \
    "metadata: {name: inventory-od, namespace: data}\n"                                            \
    "spec:\n"                                                                                      \
    "  applyToDestinations:\n"                                                                     \
    "  - kind: EXTERNAL_SERVICE\n"                                                                 \
    "    selector: {labels: {failover: \"true\"}}\n"                                               \
    "  config:\n"                                                                                  \
    "    consecutiveErrors: 2\n"                                                                   \
    "    interval: 5s\n"                                                                           \
    "    baseEjectionTime: 30s\n"                                                                  \
    "    maxEjectionPercent: 100\n"

#define SET_B_FAILOVER_AND_ROUTE                                                                   \
    "---\n"                                                                                        \
    "apiVersion: resilience.policy.gloo.solo.io/v2\n"                                              \
    "kind: FailoverPolicy\n"                                                                       \
    "metadata: {name: inventory-fo, namespace: data}\n"                                            \
    "spec:\n"                                                                                      \
    "  applyToDestinations:\n"                                                                     \
    "  - kind: EXTERNAL_SERVICE\n"                                                                 \
    "    selector: {labels: {failover: \"true\"}}\n"                                               \
    "  config:\n"                                                                                  \
    "    localityMappings:\n"                                                                      \
    "    - from: {region: us-east-1}\n"                                                            \
    "      to: [{region: us-west-2}]\n"                                                            \
    "    - from: {region: us-west-2}\n"                                                            \
    "      to: [{region: us-east-1}]\n"                                                            \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: RouteTable\n"                                                                           \
    "metadata: {name: inventory, namespace: gw}\n"                                                 \
    "spec:\n"                                                                                      \
    "  hosts: ['shop.example.com']\n"                                                              \
    "  virtualGateways: [{name: edge, namespace: gw}]\n"                                           \
    "  http:\n"                                                                                    \
    "  - name: inventory\n"                                                                        \
    "    matchers: [{uri: {prefix: /inventory/}}]   # trailing slash: /inventory/x -> /x\n"        \
    "    forwardTo:\n"                                                                             \
    "      pathRewrite: /\n"                                                                       \
    "      hostRewrite: inventory.internal\n"                                                      \
    "      destinations:\n"                                                                        \
    "      - ref: {name: inventory, namespace: data}\n"                                            \
    "        kind: EXTERNAL_SERVICE\n"                                                             \
    "        port: {number: 80}\n"

#define SET_C                                                                                      \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata:\n"                                                                                  \
    "  name: ledger-a          # created first\n"                                                  \
    "  namespace: data\n"                                                                          \
    "spec:\n"                                                                                      \
    "  addresses: [\"192.0.2.15\"]\n"                                                              \
    "  ports: [{name: tcp, number: 7000, protocol: TCP}]\n"                                        \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata:\n"                                                                                  \
    "  name: ledger-b          # created later, same workspace (namespace data ∈ ops)\n"         \
    "  namespace: data\n"                                                                          \
    "spec:\n"                                                                                      \
    "  addresses: [\"192.0.2.15/32\"]     # same address after normalisation\n"                    \
    "  ports: [{name: tcp, number: 7001, protocol: TCP}]\n"

/* Set D: Workspaces staging and prod. */
#define SET_D_WORKSPACES                                                                           \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: Workspace\n"                                                                            \
    "metadata: {name: staging, namespace: gloo-mesh, labels: {env: staging}}\n"                    \
    "spec:\n"                                                                                      \
    "  workloadClusters: [{name: cluster1, namespaces: [{name: staging-data}]}]\n"                 \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: Workspace\n"                                                                            \
    "metadata: {name: prod, namespace: gloo-mesh, labels: {env: prod}}\n"                          \
    "spec:\n"                                                                                      \
    "  workloadClusters: [{name: cluster1, namespaces: [{name: prod-data}]}]\n"

/* Set D's first WorkspaceSettings: no import/export. */
#define SET_D_STAGING_ALONE                                                                        \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: WorkspaceSettings\n"                                                                    \
    "metadata: {name: staging, namespace: staging-data}\n"                                         \
    "spec: {}                       # no import/export\n"

#define SET_D_PROD_ALONE                                                                           \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: WorkspaceSettings\n"                                                                    \
    "metadata: {name: prod, namespace: prod-data}\n"                                               \
    "spec: {}\n"

/* Set D's two ExternalServices with the same address. */
#define SET_D_SERVICES                                                                             \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata: {name: customers-db, namespace: staging-data}\n"                                    \
    "spec:\n"                                                                                      \
    "  addresses: [\"203.0.113.7\"]\n"                                                             \
    "  ports: [{name: pg, number: 5432, protocol: TCP}]\n"                                         \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata: {name: customers-db, namespace: prod-data}\n"                                       \
    "spec:\n"                                                                                      \
    "  addresses: [\"203.0.113.7\"]\n"                                                             \
    "  ports: [{name: pg, number: 5432, protocol: TCP}]\n"

/* Set D's linking WorkspaceSettings (replacing the empty ones). */
#define SET_D_PROD_EXPORTS                                                                         \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: WorkspaceSettings\n"                                                                    \
    "metadata: {name: prod, namespace: prod-data}\n"                                               \
    "spec:\n"                                                                                      \
    "  exportTo:\n"                                                                                \
    "  - workspaces: [{selector: {env: staging}}]\n"                                               \
    "    resources: [{kind: EXTERNAL_SERVICE}]\n"

#define SET_D_STAGING_IMPORTS                                                                      \
    "---\n"                                                                                        \
    "apiVersion: admin.gloo.solo.io/v2\n"                                                          \
    "kind: WorkspaceSettings\n"                                                                    \
    "metadata: {name: staging, namespace: staging-data}\n"                                         \
    "spec:\n"                                                                                      \
    "  importFrom:\n"                                                                              \
    "  - workspaces: [{name: prod}]\n"                                                             \
    "    resources: [{kind: EXTERNAL_SERVICE}]\n"

#define SET_E                                                                                      \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: ExternalService\n"                                                                      \
    "metadata: {name: payments-api, namespace: data}\n"                                            \
    "spec:\n"                                                                                      \
    "  hosts: [api.payments.example.net]      # no endpoints => DNS on this name\n"                \
    "  ports:\n"                                                                                   \
    "  - name: https\n"                                                                            \
    "    number: 443\n"                                                                            \
    "    protocol: HTTPS\n"                                                                        \
    "    clientsideTls:\n"                                                                         \
    "      sni: api.payments.example.net\n"                                                        \
    "      caCertificates: /etc/ssl/certs/ca-certificates.crt\n"                                   \
    "---\n"                                                                                        \
    "apiVersion: networking.gloo.solo.io/v2\n"                                                     \
    "kind: RouteTable\n"                                                                           \
    "metadata: {name: payments, namespace: gw}\n"                                                  \
    "spec:\n"                                                                                      \
    "  hosts: ['pay.example.com']\n"                                                               \
    "  virtualGateways: [{name: edge, namespace: gw}]\n"                                           \
    "  http:\n"                                                                                    \
    "  - name: charge\n"                                                                           \
    "    matchers:\n"                                                                              \
    "    - uri: {prefix: /v1/charges}\n"                                                           \
    "      headers: [{name: x-tenant}]          # presence match\n"                                \
    "    forwardTo:\n"                                                                             \
    "      autoHostRewrite: true\n"                                                                \
    "      destinations:\n"                                                                        \
    "      - {ref: {name: payments-api, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: " \
    "443}}\n"                                                                                      \
    "  - name: deny-rest\n"                                                                        \
    "    directResponse: {status: 403, body: \"forbidden\"}\n"

/* ---- Set A ---- */

static void set_a_routes_to_databases_by_ip(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_A_COMMON SET_A_SERVICES);
    /* "All objects ACCEPTED (orders-db RouteTable ACCEPTED with the A1 extension note)." */
    assert_accepted(&x, "Workspace", "gloo-mesh/ops");
    assert_accepted(&x, "WorkspaceSettings", "gw/ops");
    assert_accepted(&x, "VirtualGateway", "gw/edge");
    assert_accepted(&x, "ExternalService", "data/search-db");
    assert_accepted(&x, "ExternalService", "data/orders-db");
    assert_accepted(&x, "RouteTable", "gw/search");
    assert_status(&x, "RouteTable", "gw/orders-db", CW_APPROVAL_ACCEPTED,
                  "extension: tcp→EXTERNAL_SERVICE");
    assert_string_equal(trt_status(&x, "ExternalService", "data/search-db")->workspace, "ops");
    assert_int_equal(x.tr.invalid, 0);
    assert_int_equal(x.tr.warnings, 0);

    /* GET /_search on :8080 with Host search.example.com → 10.20.30.40:9200. */
    const struct cw_snapshot_listener *http = trt_need_listener(&x, 8080);
    assert_true(http->http);
    const struct cw_route *r =
        trt_need_route(trt_need_vhost(&x, 8080, "search.example.com"), "search-api");
    static const char *const search[] = {"data/search-db:9200"};
    static const uint32_t all[] = {100};
    trt_assert_forward(r, 1, search, all);
    assert_int_equal(r->http->matchers.n, 2);
    assert_string_equal(r->http->matchers.v[0].method, "GET");
    const struct cw_endpoint *e = trt_need_endpoint(r->clusters.v[0].cluster, "10.20.30.40");
    assert_int_equal(e->port, 9200);
    assert_false(e->is_hostname);
    assert_int_equal(r->clusters.v[0].cluster->endpoints.n, 1);

    /* A TCP connection to :5432 → 10.20.30.50:5432. */
    const struct cw_snapshot_listener *tcp = trt_need_listener(&x, 5432);
    assert_false(tcp->http);
    assert_int_equal(tcp->tcp_routes.n, 1);
    static const char *const orders[] = {"data/orders-db:5432"};
    trt_assert_forward(&tcp->tcp_routes.v[0], 1, orders, all);
    e = trt_need_endpoint(tcp->tcp_routes.v[0].clusters.v[0].cluster, "10.20.30.50");
    assert_int_equal(e->port, 5432);

    /* Each table is served on exactly the listener its routes fit. */
    assert_null(trt_vhost(&x, 8080, "orders-db.internal"));
    assert_int_equal(tcp->virtual_hosts.n, 0);
    assert_int_equal(trt_counter(&x, "RouteTable", "gw/search", "numAllowedVirtualGateways"), 1);
    assert_int_equal(trt_counter(&x, "RouteTable", "gw/orders-db", "numAllowedVirtualGateways"), 1);
    assert_int_equal(trt_counter(&x, "VirtualGateway", "gw/edge", "routeTablesCount"), 2);
    trt_free(&x);
}

/* ---- Set B ---- */

static void set_b_two_localities_with_failover(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_A_COMMON SET_B_ENDPOINTS_AND_SERVICE SET_B_OUTLIER SET_B_FAILOVER_AND_ROUTE);
    assert_all_accepted(&x);
    assert_int_equal(
        trt_counter(&x, "ExternalService", "data/inventory", "numSelectedExternalEndpoints"), 2);
    /* numAppliedDestinationPolicies has 2 entries. */
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inventory",
                                 "numAppliedDestinationPolicies/OutlierDetectionPolicy"),
                     1);
    assert_int_equal(trt_counter(&x, "ExternalService", "data/inventory",
                                 "numAppliedDestinationPolicies/FailoverPolicy"),
                     1);

    /* P0 = 10.1.0.10:8080, P1 = the west hostname :8080 (targetPort name http → 8080). */
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inventory:80");
    assert_int_equal(c->endpoints.n, 2);
    assert_true(c->locality_priorities);
    assert_int_equal(c->n_priorities, 2);
    const struct cw_endpoint *east = trt_need_endpoint(c, "10.1.0.10");
    assert_int_equal(east->port, 8080);
    assert_int_equal(east->priority, 0);
    const struct cw_endpoint *west = trt_need_endpoint(c, "inventory.us-west-2.corp.example.com");
    assert_true(west->is_hostname);
    assert_int_equal(west->port, 8080);
    assert_int_equal(west->priority, 1);
    assert_string_equal(west->locality.zone, "us-west-2b");

    /* The ODP's settings are what the data plane ejects with. */
    assert_non_null(c->outlier);
    assert_int_equal(c->outlier->config.consecutive_errors, 2);
    assert_int_equal(c->outlier->config.interval_ms, 5000);
    assert_int_equal(c->outlier->config.base_ejection_ms, 30000);
    assert_int_equal(c->outlier->config.max_ejection_percent, 100);
    assert_string_equal(c->failover->obj.meta.name, "inventory-fo");

    const struct cw_route *r =
        trt_need_route(trt_need_vhost(&x, 8080, "shop.example.com"), "inventory");
    static const char *const inv[] = {"data/inventory:80"};
    static const uint32_t all[] = {100};
    trt_assert_forward(r, 1, inv, all);
    assert_string_equal(r->forward->path_rewrite, "/");
    assert_string_equal(r->forward->host_rewrite, "inventory.internal");
    trt_free(&x);
}

static void set_b_without_outlier_detection(void **state)
{
    (void)state;
    struct trt x;
    /* "Delete the ODP ⇒ no priorities ... regardless of the FailoverPolicy (which turns
     * WARNING)." */
    trt_run(&x, SET_A_COMMON SET_B_ENDPOINTS_AND_SERVICE SET_B_FAILOVER_AND_ROUTE);
    assert_status_prefix(&x, "FailoverPolicy", "data/inventory-fo", CW_APPROVAL_WARNING,
                         "no OutlierDetectionPolicy selects data/inventory; failover inactive");
    assert_accepted(&x, "ExternalService", "data/inventory");
    assert_accepted(&x, "RouteTable", "gw/inventory");
    const struct cw_cluster *c = trt_need_cluster(&x, "data/inventory:80");
    assert_false(c->locality_priorities);
    assert_int_equal(trt_need_endpoint(c, "10.1.0.10")->priority, 0);
    assert_int_equal(trt_need_endpoint(c, "inventory.us-west-2.corp.example.com")->priority, 0);
    assert_int_equal(c->n_priorities, 1);
    trt_free(&x);
}

/* ---- Set C ---- */

static void set_c_overlap_in_one_workspace(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_A_COMMON SET_C);
    const struct cw_status *a = trt_status(&x, "ExternalService", "data/ledger-a");
    assert_int_equal(a->approval, CW_APPROVAL_ACCEPTED);
    assert_null(a->message);
    assert_int_equal(a->observed_generation, 1);
    assert_string_equal(a->workspace, "ops");
    const struct cw_status *b = trt_status(&x, "ExternalService", "data/ledger-b");
    assert_int_equal(b->approval, CW_APPROVAL_INVALID);
    assert_string_equal(b->message, "address 192.0.2.15/32 already used by ExternalService "
                                    "data/ledger-a in workspace ops");
    assert_int_equal(b->observed_generation, 1);
    assert_string_equal(b->workspace, "ops");
    assert_non_null(trt_cluster(&x, "data/ledger-a:7000"));
    assert_null(trt_cluster(&x, "data/ledger-b:7001"));
    trt_free(&x);
}

/* ---- Set D ---- */

static void set_d_isolated_workspaces_both_accepted(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_D_WORKSPACES SET_D_STAGING_ALONE SET_D_PROD_ALONE SET_D_SERVICES);
    assert_all_accepted(&x);
    assert_string_equal(trt_status(&x, "ExternalService", "staging-data/customers-db")->workspace,
                        "staging");
    assert_string_equal(trt_status(&x, "ExternalService", "prod-data/customers-db")->workspace,
                        "prod");
    trt_free(&x);
}

static void set_d_linked_workspaces_collide(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_D_WORKSPACES SET_D_STAGING_IMPORTS SET_D_PROD_EXPORTS SET_D_SERVICES);
    /* No creationTimestamp in the set: tie ⇒ namespace/name, prod-data < staging-data. */
    assert_accepted(&x, "ExternalService", "prod-data/customers-db");
    assert_status_prefix(&x, "ExternalService", "staging-data/customers-db", CW_APPROVAL_INVALID,
                         "address 203.0.113.7 already used by ExternalService "
                         "prod-data/customers-db in workspace staging");
    assert_accepted(&x, "WorkspaceSettings", "prod-data/prod");
    assert_accepted(&x, "WorkspaceSettings", "staging-data/staging");
    trt_free(&x);
}

static void set_d_linked_older_staging_wins(void **state)
{
    (void)state;
    struct trt x;
    /* The same link when staging's service is the older one (cold start by timestamp). */
    trt_run(&x, SET_D_WORKSPACES SET_D_STAGING_IMPORTS SET_D_PROD_EXPORTS
            "---\n" NET "kind: ExternalService\n"
            "metadata: {name: customers-db, namespace: staging-data, creationTimestamp: "
            "'2024-01-01T00:00:00Z'}\n"
            "spec: {addresses: ['203.0.113.7'], ports: [{name: pg, number: 5432, protocol: "
            "TCP}]}\n"
            "---\n" NET "kind: ExternalService\n"
            "metadata: {name: customers-db, namespace: prod-data, creationTimestamp: "
            "'2024-02-01T00:00:00Z'}\n"
            "spec: {addresses: ['203.0.113.7'], ports: [{name: pg, number: 5432, protocol: "
            "TCP}]}\n");
    assert_accepted(&x, "ExternalService", "staging-data/customers-db");
    assert_status_prefix(&x, "ExternalService", "prod-data/customers-db", CW_APPROVAL_INVALID,
                         "address 203.0.113.7 already used by ExternalService "
                         "staging-data/customers-db in workspace staging");
    trt_free(&x);
}

static void set_d_one_sided_link_changes_nothing(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_D_WORKSPACES SET_D_STAGING_ALONE SET_D_PROD_EXPORTS SET_D_SERVICES);
    assert_all_accepted(&x);
    trt_free(&x);
    trt_run(&x, SET_D_WORKSPACES SET_D_STAGING_IMPORTS SET_D_PROD_ALONE SET_D_SERVICES);
    assert_all_accepted(&x);
    trt_free(&x);
}

/* ---- Set E ---- */

static void set_e_https_api_with_tls_origination(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, SET_A_COMMON SET_E);
    assert_all_accepted(&x);
    const struct cw_cluster *c = trt_need_cluster(&x, "data/payments-api:443");
    assert_int_equal(c->endpoints.n, 1);
    const struct cw_endpoint *e = trt_need_endpoint(c, "api.payments.example.net");
    assert_true(e->is_hostname);
    assert_int_equal(e->port, 443);
    assert_string_equal(c->host, "api.payments.example.net"); /* autoHostRewrite target */
    assert_int_equal(c->port->protocol, CW_PROTO_HTTPS);
    assert_true(c->port->tls.present);
    assert_string_equal(c->port->tls.sni, "api.payments.example.net");
    assert_string_equal(c->port->tls.ca_certificates, "/etc/ssl/certs/ca-certificates.crt");

    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "pay.example.com");
    assert_int_equal(vh->routes.n, 2);
    const struct cw_route *charge = &vh->routes.v[0];
    assert_string_equal(charge->name, "charge");
    static const char *const pay[] = {"data/payments-api:443"};
    static const uint32_t all[] = {100};
    trt_assert_forward(charge, 1, pay, all);
    assert_true(charge->forward->auto_host_rewrite);
    assert_int_equal(charge->http->matchers.v[0].headers.n, 1);
    assert_null(charge->http->matchers.v[0].headers.v[0].value); /* presence match */
    const struct cw_route *deny = &vh->routes.v[1];
    assert_string_equal(deny->name, "deny-rest");
    assert_int_equal(deny->kind, CW_ROUTE_DIRECT_RESPONSE);
    assert_int_equal(deny->http->direct.status, 403);
    assert_string_equal(deny->http->direct.body, "forbidden");
    trt_free(&x);
}

static void all_sets_together(void **state)
{
    (void)state;
    struct trt x;
    /* A, B, C and E share one workspace and gateway: together they change no status. */
    trt_run(&x, SET_A_COMMON SET_A_SERVICES SET_B_ENDPOINTS_AND_SERVICE SET_B_OUTLIER
                    SET_B_FAILOVER_AND_ROUTE SET_C SET_E);
    assert_int_equal(x.tr.invalid, 1); /* ledger-b */
    assert_int_equal(x.tr.warnings, 0);
    assert_status(&x, "ExternalService", "data/ledger-b", CW_APPROVAL_INVALID, "ledger-a");
    const struct cw_snapshot_listener *http = trt_need_listener(&x, 8080);
    assert_int_equal(http->virtual_hosts.n, 3);
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_a_routes_to_databases_by_ip),
        cmocka_unit_test(set_b_two_localities_with_failover),
        cmocka_unit_test(set_b_without_outlier_detection),
        cmocka_unit_test(set_c_overlap_in_one_workspace),
        cmocka_unit_test(set_d_isolated_workspaces_both_accepted),
        cmocka_unit_test(set_d_linked_workspaces_collide),
        cmocka_unit_test(set_d_linked_older_staging_wins),
        cmocka_unit_test(set_d_one_sided_link_changes_nothing),
        cmocka_unit_test(set_e_https_api_with_tls_origination),
        cmocka_unit_test(all_sets_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
