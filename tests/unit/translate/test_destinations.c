/*
 * Route destinations (spec §3.3): the ExternalService named by ref (namespace defaulting to the
 * RouteTable's) must be visible and usable, its port chosen by number or name (required when it
 * has several), and weights must total 100 with the remainder split over unweighted
 * destinations, each getting at least 1.
 */
#include "tr_support.h"

/* Services data/a..d (one HTTP port 80 each) and data/multi (80 and 443). */
#define SERVICES                                                                                   \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: a, namespace: data}\n"                                               \
            "spec: {hosts: [a.internal], ports: [{name: http, number: 80}]}\n" DOC NET             \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: b, namespace: data}\n"                                               \
            "spec: {hosts: [b.internal], ports: [{name: http, number: 80}]}\n" DOC NET             \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: c, namespace: data}\n"                                               \
            "spec: {hosts: [c.internal], ports: [{name: http, number: 80}]}\n" DOC NET             \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: d, namespace: data}\n"                                               \
            "spec: {hosts: [d.internal], ports: [{name: http, number: 80}]}\n" DOC NET             \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: multi, namespace: data}\n"                                           \
            "spec: {hosts: [multi.internal], ports: [{name: http, number: 80}, {name: https, "     \
            "number: 443, protocol: HTTPS}]}\n"

/* Translates RouteTable gw/front (shop.example.com on gw/web) whose only route "r" forwards to
 * <destinations> (a YAML flow list). */
static void run_route(struct trt *x, const char *destinations)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             WS_OPS SERVICES DOC VG_WEB DOC NET "kind: RouteTable\n"
                                                "metadata: {name: front, namespace: gw}\n"
                                                "spec:\n"
                                                "  hosts: [shop.example.com]\n"
                                                "  virtualGateways: [{name: web}]\n"
                                                "  http:\n"
                                                "  - name: r\n"
                                                "    forwardTo: {destinations: %s}\n",
             destinations);
    trt_run(x, yaml);
}

static const struct cw_route *the_route(const struct trt *x)
{
    return trt_need_route(trt_need_vhost(x, 8080, "shop.example.com"), "r");
}

/* Short destination entries. */
#define TO(name) "{ref: {name: " name ", namespace: data}, kind: EXTERNAL_SERVICE}"
#define TO_W(name, w)                                                                              \
    "{ref: {name: " name ", namespace: data}, kind: EXTERNAL_SERVICE, weight: " w "}"

/* Asserts an accepted route with these clusters and weights. */
#define ASSERT_WEIGHTS(x, n, ...)                                                                  \
    do {                                                                                           \
        assert_accepted((x), "RouteTable", "gw/front");                                            \
        static const char *const names_[] = {"data/a:80", "data/b:80", "data/c:80", "data/d:80"};  \
        static const uint32_t weights_[] = {__VA_ARGS__};                                          \
        trt_assert_forward(the_route(x), (n), names_, weights_);                                   \
    } while (0)

/* The route is replaced by a 500 and the table is INVALID with <msg>. */
static void assert_route_invalid(const struct trt *x, const char *msg)
{
    assert_status(x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, msg);
    trt_assert_failed(the_route(x), msg);
}

/* ---- weights ---- */

static void single_destination_gets_everything(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO("a") "]");
    ASSERT_WEIGHTS(&x, 1, 100);
    trt_free(&x);
}

static void explicit_weights_summing_to_100(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "30") ", " TO_W("b", "70") "]");
    ASSERT_WEIGHTS(&x, 2, 30, 70);
    trt_free(&x);
}

static void remainder_split_over_unweighted(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "40") ", " TO("b") ", " TO("c") "]");
    ASSERT_WEIGHTS(&x, 3, 40, 30, 30);
    trt_free(&x);
}

static void uneven_remainder_still_totals_100(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "50") ", " TO("b") ", " TO("c") ", " TO("d") "]");
    assert_accepted(&x, "RouteTable", "gw/front");
    const struct cw_route *r = the_route(&x);
    assert_int_equal(r->kind, CW_ROUTE_FORWARD);
    assert_int_equal(r->clusters.n, 4);
    assert_int_equal(r->clusters.v[0].weight, 50);
    uint32_t sum = 0;
    for (uint32_t i = 0; i < 4; i++)
        sum += r->clusters.v[i].weight;
    assert_int_equal(sum, 100);
    /* 50 over three: 16 or 17 each, never 0. */
    for (uint32_t i = 1; i < 4; i++)
        assert_in_range(r->clusters.v[i].weight, 16, 17);
    trt_free(&x);
}

static void all_unweighted_share_equally(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO("a") ", " TO("b") "]");
    ASSERT_WEIGHTS(&x, 2, 50, 50);
    trt_free(&x);
}

static void smallest_remainder_gives_each_one(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "98") ", " TO("b") ", " TO("c") "]");
    ASSERT_WEIGHTS(&x, 3, 98, 1, 1);
    trt_free(&x);
}

static void explicit_weights_below_100_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "30") ", " TO_W("b", "30") "]");
    assert_route_invalid(&x, "destination weights must sum to 100");
    trt_free(&x);
}

static void weights_above_100_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "60") ", " TO_W("b", "50") "]");
    assert_route_invalid(&x, "destination weights must sum to 100");
    trt_free(&x);
    run_route(&x, "[" TO_W("a", "80") ", " TO_W("b", "30") ", " TO("c") "]");
    assert_route_invalid(&x, "destination weights must sum to 100");
    trt_free(&x);
}

static void no_remainder_for_unweighted_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO_W("a", "100") ", " TO("b") "]");
    assert_route_invalid(&x, "destination weights must sum to 100");
    trt_free(&x);
    /* 1 left for two unweighted destinations: one of them would get 0. */
    run_route(&x, "[" TO_W("a", "99") ", " TO("b") ", " TO("c") "]");
    assert_route_invalid(&x, "destination weights must sum to 100");
    trt_free(&x);
}

/* ---- ports ---- */

static void port_by_number_or_name(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[{ref: {name: multi, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: "
                  "443}}]");
    static const char *const tls[] = {"data/multi:443"};
    static const uint32_t all[] = {100};
    trt_assert_forward(the_route(&x), 1, tls, all);
    assert_accepted(&x, "RouteTable", "gw/front");
    trt_free(&x);
    run_route(&x, "[{ref: {name: multi, namespace: data}, kind: EXTERNAL_SERVICE, port: {name: "
                  "http}}]");
    static const char *const plain[] = {"data/multi:80"};
    trt_assert_forward(the_route(&x), 1, plain, all);
    trt_free(&x);
}

static void port_not_on_service_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[{ref: {name: multi, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: "
                  "8443}}]");
    assert_route_invalid(&x, "port 8443 not found on data/multi");
    trt_free(&x);
    run_route(&x, "[{ref: {name: multi, namespace: data}, kind: EXTERNAL_SERVICE, port: {name: "
                  "grpc}}]");
    assert_route_invalid(&x, "port grpc not found on data/multi");
    trt_free(&x);
}

static void port_required_with_several_ports(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO("multi") "]");
    assert_route_invalid(&x, "port required: destination has multiple ports");
    trt_free(&x);
}

/* ---- refs ---- */

static void missing_service_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[" TO("nope") "]");
    assert_route_invalid(&x, "destination EXTERNAL_SERVICE data/nope not found in workspace ops");
    trt_free(&x);
}

static void ref_namespace_defaults_to_route_table_namespace(void **state)
{
    (void)state;
    struct trt x;
    /* The table lives in gw: {name: a} means gw/a, which does not exist. */
    run_route(&x, "[{ref: {name: a}, kind: EXTERNAL_SERVICE}]");
    assert_route_invalid(&x, "destination EXTERNAL_SERVICE gw/a not found in workspace ops");
    trt_free(&x);
}

static void destination_that_lost_the_overlap_rule(void **state)
{
    (void)state;
    struct trt x;
    /* Set C: a route to ledger-b (INVALID) is misconfigured, 500 under ROUTE_REPLACEMENT. */
    trt_run(&x, WS_OPS DOC VG_WEB DOC NET
            "kind: ExternalService\n"
            "metadata: {name: ledger-a, namespace: data}\n"
            "spec: {addresses: ['192.0.2.15'], ports: [{number: "
            "7000}]}\n" DOC NET "kind: ExternalService\n"
            "metadata: {name: ledger-b, namespace: data}\n"
            "spec: {addresses: ['192.0.2.15/32'], ports: [{number: "
            "7001}]}\n" DOC NET "kind: RouteTable\n"
            "metadata: {name: front, namespace: gw}\n"
            "spec:\n"
            "  hosts: [shop.example.com]\n"
            "  virtualGateways: [{name: web}]\n"
            "  http:\n"
            "  - name: r\n"
            "    forwardTo: {destinations: [" TO("ledger-b") "]}\n"
                                                             "  - name: ok\n"
                                                             "    forwardTo: {destinations: [" TO(
                                                                 "ledger-a") "]}\n");
    assert_status(&x, "ExternalService", "data/ledger-b", CW_APPROVAL_INVALID, "ledger-a");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "data/ledger-b");
    trt_assert_failed(the_route(&x), "data/ledger-b");
    const struct cw_route *ok = trt_need_route(trt_need_vhost(&x, 8080, "shop.example.com"), "ok");
    assert_int_equal(ok->kind, CW_ROUTE_FORWARD);
    trt_free(&x);
}

static void default_destination_fills_empty_forward(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES DOC VG_WEB DOC NET
            "kind: RouteTable\n"
            "metadata: {name: front, namespace: gw}\n"
            "spec:\n"
            "  hosts: [shop.example.com]\n"
            "  virtualGateways: [{name: web}]\n"
            "  defaultDestination: " TO("b") "\n"
                                             "  http: [{name: r, forwardTo: {}}]\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    static const char *const names[] = {"data/b:80"};
    static const uint32_t weights[] = {100};
    trt_assert_forward(the_route(&x), 1, names, weights);
    trt_free(&x);
}

static void empty_forward_without_default_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_route(&x, "[]");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "defaultDestination");
    assert_int_equal(the_route(&x)->kind, CW_ROUTE_FAILED);
    trt_free(&x);
}

static void destination_without_concrete_endpoints_gets_503(void **state)
{
    (void)state;
    struct trt x;
    /* §1.4.3: a CIDR without endpoints is live (WARNING) but unroutable: routes to it are
     * served and answer 503, they are not misconfigured. */
    trt_run(&x, WS_OPS DOC VG_WEB DOC NET "kind: ExternalService\n"
                                          "metadata: {name: net, namespace: data}\n"
                                          "spec: {addresses: ['10.50.0.0/16'], ports: [{number: "
                                          "80}]}\n" DOC NET "kind: RouteTable\n"
                                          "metadata: {name: front, namespace: gw}\n"
                                          "spec:\n"
                                          "  hosts: [shop.example.com]\n"
                                          "  virtualGateways: [{name: web}]\n"
                                          "  http: [{name: r, forwardTo: {destinations: "
                                          "[" TO("net") "]}}]\n");
    assert_status(&x, "ExternalService", "data/net", CW_APPROVAL_WARNING,
                  "CIDR address has no concrete endpoints");
    assert_accepted(&x, "RouteTable", "gw/front");
    const struct cw_route *r = the_route(&x);
    assert_int_equal(r->kind, CW_ROUTE_FORWARD);
    assert_non_null(r->clusters.v[0].cluster->unroutable);
    trt_free(&x);
}

/* RouteTable gw/front routing to data/two, a service with two hosts, plus <extra> docs. */
static void run_two_hosts(struct trt *x, const char *service_rest, const char *extra)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             WS_OPS DOC VG_WEB DOC NET
             "kind: ExternalService\n"
             "metadata: {name: two, namespace: data}\n"
             "spec: {hosts: [one.example.net, two.example.net], ports: "
             "[{number: 443}]%s}\n%s" DOC NET "kind: RouteTable\n"
             "metadata: {name: front, namespace: gw}\n"
             "spec:\n"
             "  hosts: [shop.example.com]\n"
             "  virtualGateways: [{name: web}]\n"
             "  http: [{name: r, forwardTo: {destinations: [" TO("two") "]}}]\n",
             service_rest, extra);
    trt_run(x, yaml);
}

static void destination_must_resolve_to_one_hostname(void **state)
{
    (void)state;
    struct trt x;
    /* §3.3: without endpoints each host is its own upstream, so the destination is ambiguous. */
    run_two_hosts(&x, "", "");
    assert_route_invalid(&x, "exactly one hostname");
    trt_free(&x);
    /* With ExternalEndpoints the endpoints are the one backend set: fine. */
    run_two_hosts(&x, ", selector: {app: two}",
                  DOC NET "kind: ExternalEndpoint\n"
                          "metadata: {name: ep, namespace: data, labels: {app: two}}\n"
                          "spec: {address: 10.7.0.1}\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    const struct cw_route *r = the_route(&x);
    assert_int_equal(r->kind, CW_ROUTE_FORWARD);
    assert_int_equal(trt_need_endpoint(r->clusters.v[0].cluster, "10.7.0.1")->port, 443);
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_destination_gets_everything),
        cmocka_unit_test(explicit_weights_summing_to_100),
        cmocka_unit_test(remainder_split_over_unweighted),
        cmocka_unit_test(uneven_remainder_still_totals_100),
        cmocka_unit_test(all_unweighted_share_equally),
        cmocka_unit_test(smallest_remainder_gives_each_one),
        cmocka_unit_test(explicit_weights_below_100_invalid),
        cmocka_unit_test(weights_above_100_invalid),
        cmocka_unit_test(no_remainder_for_unweighted_invalid),
        cmocka_unit_test(port_by_number_or_name),
        cmocka_unit_test(port_not_on_service_invalid),
        cmocka_unit_test(port_required_with_several_ports),
        cmocka_unit_test(missing_service_invalid),
        cmocka_unit_test(ref_namespace_defaults_to_route_table_namespace),
        cmocka_unit_test(destination_that_lost_the_overlap_rule),
        cmocka_unit_test(default_destination_fills_empty_forward),
        cmocka_unit_test(empty_forward_without_default_invalid),
        cmocka_unit_test(destination_without_concrete_endpoints_gets_503),
        cmocka_unit_test(destination_must_resolve_to_one_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
