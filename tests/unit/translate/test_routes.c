/*
 * Route compilation (spec §3.1-§3.5): failureMode (ROUTE_REPLACEMENT serves the rest with the
 * bad route as a 500; FREEZE_CONFIG serves nothing of the table), regex matchers compiled with
 * RE2 (a bad one names RE2's reason), TCP routes to EXTERNAL_SERVICE as a documented
 * extension, destinations of kinds causeway does not serve, route names.
 */
#include "tr_support.h"
#include "util/regex.h"

#define SERVICES                                                                                   \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: api, namespace: data}\n"                                             \
            "spec: {hosts: [api.internal], ports: [{name: http, number: 80}]}\n" DOC NET           \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: db, namespace: data}\n"                                              \
            "spec: {addresses: ['10.20.30.50'], ports: [{name: pg, number: 5432, protocol: "       \
            "TCP}]}\n"

#define TO_API "{destinations: [{ref: {name: api, namespace: data}, kind: EXTERNAL_SERVICE}]}"
#define TO_MISSING                                                                                 \
    "{destinations: [{ref: {name: missing, namespace: data}, kind: EXTERNAL_SERVICE}]}"

/* Translates RouteTable gw/front for shop.example.com on gw/edge with <spec_rest> appended to
 * its spec (failureMode, http, tcp lines), plus an unrelated healthy table gw/other. */
static void run_table(struct trt *x, const char *spec_rest)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             WS_OPS SERVICES DOC VG_EDGE DOC NET "kind: RouteTable\n"
                                                 "metadata: {name: front, namespace: gw}\n"
                                                 "spec:\n"
                                                 "  hosts: [shop.example.com, orders-db.internal]\n"
                                                 "  virtualGateways: [{name: edge}]\n"
                                                 "%s" DOC NET "kind: RouteTable\n"
                                                 "metadata: {name: other, namespace: gw}\n"
                                                 "spec:\n"
                                                 "  hosts: [other.example.com]\n"
                                                 "  virtualGateways: [{name: edge}]\n"
                                                 "  http: [{name: ok, forwardTo: " TO_API "}]\n",
             spec_rest);
    trt_run(x, yaml);
}

static const struct cw_route *route(const struct trt *x, const char *name)
{
    return trt_need_route(trt_need_vhost(x, 8080, "shop.example.com"), name);
}

#define THREE_ROUTES_ONE_BAD                                                                       \
    "  http:\n"                                                                                    \
    "  - {name: good, matchers: [{uri: {prefix: /a}}], forwardTo: " TO_API "}\n"                   \
    "  - {name: bad, matchers: [{uri: {prefix: /b}}], forwardTo: " TO_MISSING "}\n"                \
    "  - {name: fallback, directResponse: {status: 404, body: nope}}\n"

/* ---- failureMode ---- */

static void route_replacement_serves_other_routes(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, THREE_ROUTES_ONE_BAD); /* ROUTE_REPLACEMENT is the default */
    assert_status_prefix(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID,
                         "destination EXTERNAL_SERVICE data/missing not found in workspace ops");
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "shop.example.com");
    assert_int_equal(vh->routes.n, 3);
    /* Order kept: the bad route is a 500 in its place, the others work. */
    assert_string_equal(vh->routes.v[0].name, "good");
    assert_string_equal(vh->routes.v[1].name, "bad");
    assert_string_equal(vh->routes.v[2].name, "fallback");
    assert_int_equal(vh->routes.v[0].kind, CW_ROUTE_FORWARD);
    trt_assert_failed(&vh->routes.v[1], "destination EXTERNAL_SERVICE data/missing not found");
    assert_int_equal(vh->routes.v[2].kind, CW_ROUTE_DIRECT_RESPONSE);
    assert_accepted(&x, "RouteTable", "gw/other");
    trt_free(&x);
}

static void explicit_route_replacement_same_as_default(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  failureMode: ROUTE_REPLACEMENT\n" THREE_ROUTES_ONE_BAD);
    trt_assert_failed(route(&x, "bad"), "data/missing");
    assert_int_equal(route(&x, "good")->kind, CW_ROUTE_FORWARD);
    trt_free(&x);
}

static void freeze_config_serves_nothing_of_the_table(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  failureMode: FREEZE_CONFIG\n" THREE_ROUTES_ONE_BAD);
    assert_status_prefix(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID,
                         "destination EXTERNAL_SERVICE data/missing not found in workspace ops");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "FREEZE_CONFIG");
    /* On a first load there is no last good config: the table is simply not served. */
    assert_null(trt_vhost(&x, 8080, "shop.example.com"));
    /* Other tables on the listener are unaffected. */
    assert_non_null(trt_vhost(&x, 8080, "other.example.com"));
    trt_free(&x);
}

static void freeze_config_without_errors_is_served(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  failureMode: FREEZE_CONFIG\n"
                  "  http: [{name: good, forwardTo: " TO_API "}]\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    assert_int_equal(route(&x, "good")->kind, CW_ROUTE_FORWARD);
    trt_free(&x);
}

static void freeze_config_status_matches_what_is_served(void **state)
{
    (void)state;
    struct trt x;
    /* A route to a kind causeway does not serve is only a WARNING under ROUTE_REPLACEMENT.
     * Under FREEZE_CONFIG the status must still tell the truth: WARNING means the object is
     * live (§9), so either the table is served or it is not reported as WARNING. */
    run_table(&x, "  failureMode: FREEZE_CONFIG\n"
                  "  http:\n"
                  "  - {name: kube, forwardTo: {destinations: [{ref: {name: web}, kind: SERVICE, "
                  "port: {number: 80}}]}}\n"
                  "  - {name: ok, forwardTo: " TO_API "}\n");
    const struct cw_status *st = trt_status(&x, "RouteTable", "gw/front");
    bool served = trt_vhost(&x, 8080, "shop.example.com") != NULL;
    if (!served && st->approval != CW_APPROVAL_INVALID)
        fail_msg("table not served but status is %s: %s", cw_approval_name(st->approval),
                 st->message ? st->message : "");
    trt_free(&x);
}

/* ---- regex matchers ---- */

static void regex_matchers_are_compiled(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - name: re\n"
                  "    matchers:\n"
                  "    - uri: {regex: '/api/v[0-9]+/.*'}\n"
                  "      headers: [{name: x-tenant, value: 't-[a-z]+', regex: true}, {name: "
                  "x-plain, value: v}]\n"
                  "      queryParameters: [{name: q, value: '[0-9]+', regex: true}]\n"
                  "    forwardTo: " TO_API "\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    const struct cw_route *r = route(&x, "re");
    assert_int_equal(r->kind, CW_ROUTE_FORWARD);
    assert_non_null(r->matcher_regexes);
    assert_non_null(r->matcher_regexes[0].uri);
    assert_non_null(r->matcher_regexes[0].headers[0]);
    assert_null(r->matcher_regexes[0].headers[1]); /* plain value: no regex */
    assert_non_null(r->matcher_regexes[0].query[0]);
    trt_free(&x);
}

static void bad_uri_regex_invalid_with_re2_reason(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - {name: bad, matchers: [{uri: {regex: '/api/(v1'}}], forwardTo: " TO_API "}\n"
                  "  - {name: good, forwardTo: " TO_API "}\n");
    /* RE2's own words. */
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID,
                  "matchers[0].uri.regex: missing ): /api/(v1 (route bad)");
    trt_assert_failed(route(&x, "bad"), "missing ): /api/(v1");
    assert_int_equal(route(&x, "good")->kind, CW_ROUTE_FORWARD);
    trt_free(&x);
}

/* The failed route still answers its 500 where it was meant to apply (fail closed): its
 * pattern's literal start stands in for the regex RE2 refused; other paths go on. */
static void refused_regex_route_fails_closed_on_its_literal_prefix(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x,
              "  http:\n"
              "  - {name: deny, matchers: [{uri: {regex: '^/admin/(?!public/).*'}}, "
              "{headers: [{name: x-v, value: 'v(?=1)', regex: true}]}], "
              "directResponse: {status: 403}}\n"
              "  - {name: alt, matchers: [{uri: {regex: '/a|/b(?=c)'}}], forwardTo: " TO_API "}\n"
              "  - {name: quantified, matchers: [{uri: {regex: '/déjà++'}}], forwardTo: " TO_API
              "}\n");
    const struct cw_route *deny = route(&x, "deny");
    trt_assert_failed(deny, "matchers[0].uri.regex: invalid perl operator: (?!");
    const struct cw_regex *path = deny->matcher_regexes[0].uri;
    assert_true(cw_regex_match(path, "/admin/", 7));
    assert_true(cw_regex_match(path, "/admin/public/x", 15));
    assert_false(cw_regex_match(path, "/other", 6));
    assert_false(cw_regex_match(path, "/admin", 6));
    /* Only the first refusal is reported; the header's regex stands in for any value. */
    assert_true(cw_regex_match(deny->matcher_regexes[1].headers[0], "anything", 8));
    const struct cw_regex *alt = route(&x, "alt")->matcher_regexes[0].uri;
    assert_true(cw_regex_match(alt, "/zzz", 4)); /* alternatives: no common prefix to keep */
    /* A quantifier takes its character (here two bytes of UTF-8) out of the prefix. */
    const struct cw_regex *q = route(&x, "quantified")->matcher_regexes[0].uri;
    assert_true(cw_regex_match(q, "/déj", strlen("/déj")));
    assert_false(cw_regex_match(q, "/dé", strlen("/dé")));
    trt_free(&x);
}

static void bad_header_regex_invalid(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - name: bad\n"
                  "    matchers: [{headers: [{name: x-v, value: '[a-', regex: true}]}]\n"
                  "    forwardTo: " TO_API "\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "headers[0]");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "missing ]: [a-");
    assert_int_equal(route(&x, "bad")->kind, CW_ROUTE_FAILED);
    trt_free(&x);
}

static void header_value_not_compiled_without_regex_flag(void **state)
{
    (void)state;
    struct trt x;
    /* '[a-' is only a regex when regex: true. */
    run_table(&x, "  http:\n"
                  "  - {name: plain, matchers: [{headers: [{name: x-v, value: '[a-'}]}], "
                  "forwardTo: " TO_API "}\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    trt_free(&x);
}

static void bad_regex_rewrite_fails_route(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - name: rw\n"
                  "    forwardTo:\n"
                  "      regexRewrite: {pattern: {regex: '(x'}, substitution: '/'}\n"
                  "      destinations: [{ref: {name: api, namespace: data}, kind: "
                  "EXTERNAL_SERVICE}]\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "regexRewrite");
    trt_assert_failed(route(&x, "rw"), "regexRewrite.pattern.regex: missing ): (x");
    trt_free(&x);
}

static void path_rewrite_with_regex_matcher_fails_route(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - name: rw\n"
                  "    matchers: [{uri: {regex: '/a/.*'}}]\n"
                  "    forwardTo:\n"
                  "      pathRewrite: /\n"
                  "      destinations: [{ref: {name: api, namespace: data}, kind: "
                  "EXTERNAL_SERVICE}]\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID, "pathRewrite");
    assert_int_equal(route(&x, "rw")->kind, CW_ROUTE_FAILED);
    trt_free(&x);
}

/* ---- TCP ---- */

static void tcp_route_to_external_service_is_an_extension(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  tcp:\n"
                  "  - matchers: [{port: 5432}]\n"
                  "    forwardTo: {destinations: [{ref: {name: db, namespace: data}, kind: "
                  "EXTERNAL_SERVICE, port: {number: 5432}}]}\n");
    /* A1 [DECISION]: ACCEPTED, and the message says it is our extension. */
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_ACCEPTED,
                  "extension: tcp→EXTERNAL_SERVICE");
    const struct cw_snapshot_listener *l = trt_need_listener(&x, 5432);
    assert_int_equal(l->tcp_routes.n, 1);
    const struct cw_route *r = &l->tcp_routes.v[0];
    static const char *const names[] = {"data/db:5432"};
    static const uint32_t weights[] = {100};
    trt_assert_forward(r, 1, names, weights);
    assert_null(r->http);
    assert_non_null(r->tcp);
    assert_string_equal(trt_need_endpoint(r->clusters.v[0].cluster, "10.20.30.50")->address,
                        "10.20.30.50");
    trt_free(&x);
}

static void tcp_route_for_another_port_not_attached(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  tcp:\n"
                  "  - matchers: [{port: 3306}]\n"
                  "    forwardTo: {destinations: [{ref: {name: db, namespace: data}, kind: "
                  "EXTERNAL_SERVICE}]}\n");
    assert_int_equal(trt_need_listener(&x, 5432)->tcp_routes.n, 0);
    trt_free(&x);
}

static void tcp_route_with_bad_destination_fails(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  tcp:\n"
                  "  - forwardTo: {destinations: [{ref: {name: gone, namespace: data}, kind: "
                  "EXTERNAL_SERVICE}]}\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_INVALID,
                  "destination EXTERNAL_SERVICE data/gone not found in workspace ops");
    assert_status_lacks(&x, "RouteTable", "gw/front", "extension: tcp");
    const struct cw_snapshot_listener *l = trt_need_listener(&x, 5432);
    assert_int_equal(l->tcp_routes.n, 1);
    trt_assert_failed(&l->tcp_routes.v[0], "data/gone");
    trt_free(&x);
}

/* ---- kinds causeway does not serve ---- */

static void service_and_virtual_destination_kinds_warn(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - {name: kube, forwardTo: {destinations: [{ref: {name: web}, kind: "
                  "SERVICE, port: {number: 80}}]}}\n"
                  "  - {name: vd, forwardTo: {destinations: [{ref: {name: global}, kind: "
                  "VIRTUAL_DESTINATION, port: {number: 80}}]}}\n"
                  "  - {name: ok, forwardTo: " TO_API "}\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_WARNING,
                  "destination kind SERVICE is not served by causeway");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_WARNING,
                  "destination kind VIRTUAL_DESTINATION is not served by causeway");
    assert_int_equal(route(&x, "kube")->kind, CW_ROUTE_FAILED);
    assert_int_equal(route(&x, "vd")->kind, CW_ROUTE_FAILED);
    assert_int_equal(route(&x, "ok")->kind, CW_ROUTE_FORWARD);
    trt_free(&x);
}

static void omitted_kind_means_service(void **state)
{
    (void)state;
    struct trt x;
    /* Destination.kind defaults to SERVICE (§3.3): forgetting it is the classic mistake. */
    run_table(&x, "  http:\n"
                  "  - {name: r, forwardTo: {destinations: [{ref: {name: api, namespace: "
                  "data}}]}}\n");
    assert_status(&x, "RouteTable", "gw/front", CW_APPROVAL_WARNING, "SERVICE");
    assert_int_equal(route(&x, "r")->kind, CW_ROUTE_FAILED);
    trt_free(&x);
}

/* ---- other actions and names ---- */

static void redirect_and_direct_response(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - {name: moved, redirect: {hostRedirect: new.example.com, responseCode: "
                  "FOUND}}\n"
                  "  - {name: deny, directResponse: {status: 403, body: forbidden}}\n");
    assert_accepted(&x, "RouteTable", "gw/front");
    assert_int_equal(route(&x, "moved")->kind, CW_ROUTE_REDIRECT);
    assert_int_equal(route(&x, "moved")->http->redirect.code, 302);
    assert_int_equal(route(&x, "deny")->kind, CW_ROUTE_DIRECT_RESPONSE);
    assert_int_equal(route(&x, "deny")->http->direct.status, 403);
    trt_free(&x);
}

static void route_names_deduplicated_and_defaulted(void **state)
{
    (void)state;
    struct trt x;
    run_table(&x, "  http:\n"
                  "  - {name: r, directResponse: {status: 200}}\n"
                  "  - {name: r, directResponse: {status: 201}}\n"
                  "  - {name: insecure-plain, directResponse: {status: 202}}\n"
                  "  - {directResponse: {status: 203}}\n");
    const struct cw_virtual_host *vh = trt_need_vhost(&x, 8080, "shop.example.com");
    assert_int_equal(vh->routes.n, 4);
    assert_string_equal(vh->routes.v[0].name, "r");
    assert_string_equal(vh->routes.v[1].name, "duplicate-r-1");
    assert_string_equal(vh->routes.v[2].name, "plain");
    assert_string_equal(vh->routes.v[3].name, "http[3]");
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_replacement_serves_other_routes),
        cmocka_unit_test(explicit_route_replacement_same_as_default),
        cmocka_unit_test(freeze_config_serves_nothing_of_the_table),
        cmocka_unit_test(freeze_config_without_errors_is_served),
        cmocka_unit_test(freeze_config_status_matches_what_is_served),
        cmocka_unit_test(regex_matchers_are_compiled),
        cmocka_unit_test(bad_uri_regex_invalid_with_re2_reason),
        cmocka_unit_test(refused_regex_route_fails_closed_on_its_literal_prefix),
        cmocka_unit_test(bad_header_regex_invalid),
        cmocka_unit_test(header_value_not_compiled_without_regex_flag),
        cmocka_unit_test(bad_regex_rewrite_fails_route),
        cmocka_unit_test(path_rewrite_with_regex_matcher_fails_route),
        cmocka_unit_test(tcp_route_to_external_service_is_an_extension),
        cmocka_unit_test(tcp_route_for_another_port_not_attached),
        cmocka_unit_test(tcp_route_with_bad_destination_fails),
        cmocka_unit_test(service_and_virtual_destination_kinds_warn),
        cmocka_unit_test(omitted_kind_means_service),
        cmocka_unit_test(redirect_and_direct_response),
        cmocka_unit_test(route_names_deduplicated_and_defaulted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
