/*
 * Request routing (spec §3.2): host selection (exact beats wildcard, longest wildcard suffix,
 * "*" last, port ignored), route order, and every matcher kind, on snapshots translated from
 * real manifests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../translate/tr_support.h"
#include "proxy/router.h"

#define ES_API                                                                                     \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: api, namespace: data}\n"                                             \
            "spec: {addresses: ['127.0.0.30'], ports: [{name: http, number: 19300}]}\n"

#define TABLE(name, hosts, routes)                                                                 \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: " name ", namespace: gw}\n"                                          \
            "spec:\n"                                                                              \
            "  hosts: " hosts "\n"                                                                 \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  http:\n" routes

#define DIRECT(name, status) "    directResponse: {status: " #status ", body: " name "}\n"

/* A request built from literal parts; headers are "Name: value" strings. */
struct req {
    struct cw_http_head head;
    struct cw_route_request r;
};

static void make(struct req *q, const char *method, const char *target, const char *host,
                 const char *const *headers)
{
    memset(q, 0, sizeof(*q));
    q->r.method = method;
    cw_router_split_target((struct cw_span){target, strlen(target)}, &q->r.path, &q->r.query);
    q->r.host = (struct cw_span){host, strlen(host)};
    q->r.port = 8080;
    for (int i = 0; headers && headers[i]; i++) {
        const char *colon = strchr(headers[i], ':');
        struct cw_header *h = &q->head.headers[q->head.n_headers++];
        h->name = (struct cw_span){headers[i], (size_t)(colon - headers[i])};
        h->value = (struct cw_span){colon + 2, strlen(colon + 2)};
    }
    q->r.head = &q->head;
}

/* The body of the direct response the request reaches, or "404" when nothing matches. */
static const char *route_of(const struct trt *x, const char *method, const char *target,
                            const char *host, const char *const *headers)
{
    struct req q;
    make(&q, method, target, host, headers);
    const struct cw_virtual_host *vh = cw_router_vhost(trt_need_listener(x, 8080), q.r.host);
    if (!vh)
        return "404";
    int m;
    const struct cw_route *r = cw_router_match(vh, &q.r, &m);
    return r ? r->http->direct.body : "404";
}

static void exact_host_beats_wildcards(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB TABLE("exact", "[shop.example.com]", "  - " DIRECT("exact", 200))
                    TABLE("wild", "['*.example.com']", "  - " DIRECT("wild", 200))
                        TABLE("deep", "['*.shop.example.com']", "  - " DIRECT("deep", 200))
                            TABLE("any", "['*']", "  - " DIRECT("any", 200)));
    assert_string_equal(route_of(&x, "GET", "/", "shop.example.com", NULL), "exact");
    assert_string_equal(route_of(&x, "GET", "/", "SHOP.Example.com", NULL), "exact");
    assert_string_equal(route_of(&x, "GET", "/", "pay.example.com", NULL), "wild");
    /* The longest wildcard suffix wins. */
    assert_string_equal(route_of(&x, "GET", "/", "a.shop.example.com", NULL), "deep");
    /* A wildcard needs at least one character before its suffix. */
    assert_string_equal(route_of(&x, "GET", "/", "example.com", NULL), "any");
    assert_string_equal(route_of(&x, "GET", "/", "other.org", NULL), "any");
    /* A Host longer than any indexable name still reaches the wildcards. */
    char long_host[400];
    memset(long_host, 'a', 300);
    strcpy(long_host + 300, ".shop.example.com");
    assert_string_equal(route_of(&x, "GET", "/", long_host, NULL), "deep");
    trt_free(&x);
}

static void unknown_host_without_catch_all(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS DOC VG_WEB TABLE("exact", "[shop.example.com]", "  - " DIRECT("exact", 200)));
    assert_string_equal(route_of(&x, "GET", "/", "pay.example.com", NULL), "404");
    trt_free(&x);
}

static void routes_in_order_first_match_wins(void **state)
{
    (void)state;
    struct trt x;
    trt_run(
        &x,
        WS_OPS DOC VG_WEB TABLE(
            "t", "[a.example.com]",
            "  - matchers: [{uri: {exact: /v1/x}}]\n" DIRECT(
                "exact",
                200) "  - matchers: [{uri: {prefix: /v1}}]\n" DIRECT("prefix",
                                                                     200) "  - matchers: [{uri: "
                                                                          "{regex: "
                                                                          "'/v[0-9]+/"
                                                                          ".*'}}]\n" DIRECT(
                                                                              "regex",
                                                                              200) " "
                                                                                   " "
                                                                                   "-"
                                                                                   " "
                                                                                   "m"
                                                                                   "a"
                                                                                   "t"
                                                                                   "c"
                                                                                   "h"
                                                                                   "e"
                                                                                   "r"
                                                                                   "s"
                                                                                   ":"
                                                                                   " "
                                                                                   "["
                                                                                   "{"
                                                                                   "u"
                                                                                   "r"
                                                                                   "i"
                                                                                   ":"
                                                                                   " "
                                                                                   "{"
                                                                                   "p"
                                                                                   "r"
                                                                                   "e"
                                                                                   "f"
                                                                                   "i"
                                                                                   "x"
                                                                                   ":"
                                                                                   " "
                                                                                   "/"
                                                                                   "C"
                                                                                   "A"
                                                                                   "S"
                                                                                   "E"
                                                                                   ","
                                                                                   " "
                                                                                   "i"
                                                                                   "g"
                                                                                   "n"
                                                                                   "o"
                                                                                   "r"
                                                                                   "e"
                                                                                   "C"
                                                                                   "a"
                                                                                   "s"
                                                                                   "e"
                                                                                   ":"
                                                                                   " "
                                                                                   "t"
                                                                                   "r"
                                                                                   "u"
                                                                                   "e"
                                                                                   "}"
                                                                                   "}"
                                                                                   "]"
                                                                                   "\n" DIRECT(
                                                                                       "icase",
                                                                                       200)));
    assert_string_equal(route_of(&x, "GET", "/v1/x", "a.example.com", NULL), "exact");
    /* The query string is not part of the path. */
    assert_string_equal(route_of(&x, "GET", "/v1/x?y=1", "a.example.com", NULL), "exact");
    /* A plain string prefix: /v1 also matches /v1x (Envoy semantics). */
    assert_string_equal(route_of(&x, "GET", "/v1x", "a.example.com", NULL), "prefix");
    assert_string_equal(route_of(&x, "GET", "/v2/z", "a.example.com", NULL), "regex");
    /* A regex must match the whole path. */
    assert_string_equal(route_of(&x, "GET", "/x/v2/z", "a.example.com", NULL), "404");
    assert_string_equal(route_of(&x, "GET", "/case/y", "a.example.com", NULL), "icase");
    trt_free(&x);
}

static void method_header_and_query_matchers(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            WS_OPS DOC VG_WEB TABLE(
                "t", "[a.example.com]",
                "  - matchers: [{method: POST, uri: {prefix: /}}]\n" DIRECT(
                    "post", 200) "  - matchers: [{headers: [{name: x-tenant, value: "
                                 "acme}]}]\n" DIRECT("acme",
                                                     200) "  - matchers: [{headers: [{name: "
                                                          "x-tenant, value: 'b.*', regex: "
                                                          "true}]}]\n" DIRECT(
                                                              "b-tenant",
                                                              200) "  - matchers: [{headers: "
                                                                   "[{name: "
                                                                   "x-debug}]}]\n" DIRECT(
                                                                       "debug",
                                                                       200) "  - "
                                                                            "matchers: "
                                                                            "[{"
                                                                            "queryParame"
                                                                            "ters: "
                                                                            "[{name: v, "
                                                                            "value: "
                                                                            "'2'}]}]"
                                                                            "\n" DIRECT("v2", 200) "  - matchers: [{queryParameters: [{name: beta}]}]\n" DIRECT(
                                                                                "beta",
                                                                                200) "  - "
                                                                                     "matchers: "
                                                                                     "[{headers: "
                                                                                     "[{name: "
                                                                                     "x-internal, "
                                                                                     "invertMatch: "
                                                                                     "true}]}]"
                                                                                     "\n" DIRECT("p"
                                                                                                 "u"
                                                                                                 "b"
                                                                                                 "l"
                                                                                                 "i"
                                                                                                 "c",
                                                                                                 200)));
    const char *acme[] = {"X-Tenant: acme", NULL};
    const char *bob[] = {"x-tenant: bob", NULL};
    const char *debug[] = {"X-Debug: ", NULL};
    const char *internal[] = {"X-Internal: 1", NULL};
    assert_string_equal(route_of(&x, "POST", "/", "a.example.com", NULL), "post");
    assert_string_equal(route_of(&x, "GET", "/", "a.example.com", acme), "acme");
    assert_string_equal(route_of(&x, "GET", "/", "a.example.com", bob), "b-tenant");
    assert_string_equal(route_of(&x, "GET", "/", "a.example.com", debug), "debug");
    assert_string_equal(route_of(&x, "GET", "/?a=1&v=2", "a.example.com", NULL), "v2");
    assert_string_equal(route_of(&x, "GET", "/?v=3&beta", "a.example.com", NULL), "beta");
    /* invertMatch: an absent header matches; a present one does not. */
    assert_string_equal(route_of(&x, "GET", "/", "a.example.com", NULL), "public");
    assert_string_equal(route_of(&x, "GET", "/", "a.example.com", internal), "404");
    trt_free(&x);
}

static void matchers_are_or_ed_and_fields_and_ed(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB TABLE(
                    "t", "[a.example.com]",
                    "  - matchers: [{method: GET, uri: {prefix: /a}}, {uri: {exact: /b}}]\n" DIRECT(
                        "ab", 200)));
    assert_string_equal(route_of(&x, "GET", "/a1", "a.example.com", NULL), "ab");
    assert_string_equal(route_of(&x, "DELETE", "/a1", "a.example.com", NULL), "404");
    assert_string_equal(route_of(&x, "DELETE", "/b", "a.example.com", NULL), "ab");
    trt_free(&x);
}

static void delegated_routes_need_parent_matchers(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS DOC VG_WEB TABLE("parent", "[a.example.com]",
                                        "  - matchers: [{uri: {prefix: /shop}}]\n"
                                        "    delegate: {routeTables: [{labels: {team: shop}}]}\n")
                    DOC NET
            "kind: RouteTable\n"
            "metadata: {name: child, namespace: gw, labels: {team: shop}}\n"
            "spec:\n"
            "  http:\n"
            "  - matchers: [{uri: {prefix: /shop/cart}}]\n" DIRECT(
                "cart", 200) "  - matchers: [{uri: {prefix: /}}]\n" DIRECT("child-any", 200));
    assert_string_equal(route_of(&x, "GET", "/shop/cart/1", "a.example.com", NULL), "cart");
    assert_string_equal(route_of(&x, "GET", "/shop/x", "a.example.com", NULL), "child-any");
    /* The child's catch-all must not escape the parent's /shop prefix. */
    assert_string_equal(route_of(&x, "GET", "/other", "a.example.com", NULL), "404");
    trt_free(&x);
}

static void exposed_service_by_its_own_host(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x,
            /* Exposure by hostname is asked for per listener (§4.2 [DECISION]). */
            WS_OPS DOC NET "kind: VirtualGateway\n"
                           "metadata: {name: web, namespace: gw}\n"
                           "spec:\n"
                           "  listeners:\n"
                           "  - {port: {number: 8080}, http: {}, "
                           "exposedExternalServices: [{host: '*'}]}\n" DOC NET
                           "kind: ExternalService\n"
                           "metadata: {name: db, namespace: data}\n"
                           "spec: {hosts: [database.external], ports: [{number: 8080, "
                           "protocol: HTTP}]}\n");
    const struct cw_snapshot_listener *l = trt_need_listener(&x, 8080);
    struct cw_cluster *c = cw_router_exposed(l, (struct cw_span){"Database.External", 17});
    assert_non_null(c);
    assert_string_equal(c->name, "data/db:8080");
    assert_null(cw_router_exposed(l, (struct cw_span){"other.external", 14}));
    trt_free(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exact_host_beats_wildcards),
        cmocka_unit_test(unknown_host_without_catch_all),
        cmocka_unit_test(routes_in_order_first_match_wins),
        cmocka_unit_test(method_header_and_query_matchers),
        cmocka_unit_test(matchers_are_or_ed_and_fields_and_ed),
        cmocka_unit_test(delegated_routes_need_parent_matchers),
        cmocka_unit_test(exposed_service_by_its_own_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
