/*
 * The responder's names (dns/zone.h): RouteTable hosts bound to the gateway's listeners, the
 * hosts its listeners expose, the hostnames of services its TCP routes forward to; wildcards
 * answer their subdomains, a bare "*" nothing. A TCP route whose destination does not exist (it
 * answers 500, it has no cluster) crashed the zone once: it is in the manifests here.
 */
#include "dns/zone.h"
#include "translate/tr_support.h"

#define SERVICES                                                                                   \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: api, namespace: data}\n"                                             \
            "spec: {hosts: [api.internal], ports: [{name: http, number: 80, protocol: HTTP}]}\n" \
        DOC NET                                                                                    \
            "kind: ExternalService\n"                                                              \
            "metadata: {name: db, namespace: data}\n"                                              \
            "spec: {hosts: [Database.External], ports: [{name: pg, number: 5432, protocol: TCP}]}\n"

#define GATEWAY                                                                                    \
    DOC NET "kind: VirtualGateway\n"                                                               \
            "metadata: {name: web, namespace: gw}\n"                                               \
            "spec:\n"                                                                              \
            "  listeners:\n"                                                                       \
            "  - {port: {number: 8080}, http: {},"                                                 \
            " exposedExternalServices: [{host: api.internal}]}\n"                                  \
            "  - {port: {number: 5432}, tcp: {}}\n"                                                 \
            "  - {port: {number: 5433}, tcp: {}}\n"

#define ROUTES                                                                                     \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: shop, namespace: gw}\n"                                              \
            "spec:\n"                                                                              \
            "  hosts: [shop.example.com, '*.apps.example.com']\n"                                  \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  http: [{name: ok, directResponse: {status: 200}}]\n" DOC NET                        \
            "kind: RouteTable\n"                                                                   \
            "metadata: {name: db, namespace: gw}\n"                                                \
            "spec:\n"                                                                              \
            "  hosts: [db.internal]\n"                                                             \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  tcp: [{matchers: [{port: 5432}], forwardTo: {destinations: [{ref: {name: db,"       \
            " namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 5432}}]}}]\n" DOC NET         \
            "kind: RouteTable\n"                                                                   \
            "metadata: {name: ghost, namespace: gw}\n"                                             \
            "spec:\n"                                                                              \
            "  hosts: [ghost.internal]\n"                                                          \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  tcp: [{matchers: [{port: 5433}], forwardTo: {destinations: [{ref: {name: ghost,"    \
            " namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 5432}}]}}]\n"

static void the_gateways_names_and_only_those(void **state)
{
    (void)state;
    struct trt x;
    trt_run(&x, WS_OPS SERVICES GATEWAY ROUTES);
    struct cw_dns_zone z;
    cw_dns_zone_build(&z, x.tr.snapshot);
    trt_free(&x); /* the zone keeps copies */
    assert_true(cw_dns_zone_owns(&z, "shop.example.com"));
    assert_true(cw_dns_zone_owns(&z, "api.internal"));      /* exposed */
    assert_true(cw_dns_zone_owns(&z, "database.external")); /* a TCP route's service */
    assert_true(cw_dns_zone_owns(&z, "db.internal"));       /* the TCP RouteTable's host */
    assert_true(cw_dns_zone_owns(&z, "ghost.internal"));    /* its route fails, its host is ours */
    assert_true(cw_dns_zone_owns(&z, "a.apps.example.com"));
    assert_true(cw_dns_zone_owns(&z, "a.b.apps.example.com"));
    assert_false(cw_dns_zone_owns(&z, "apps.example.com")); /* the wildcard's suffix itself */
    assert_false(cw_dns_zone_owns(&z, "xapps.example.com"));
    assert_false(cw_dns_zone_owns(&z, "example.com"));
    assert_false(cw_dns_zone_owns(&z, "www.example.org"));
    cw_dns_zone_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_gateways_names_and_only_those),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
