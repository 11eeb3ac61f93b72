/*
 * Scale sanity: 2,000 ExternalServices over 10,000 ExternalEndpoints, with policies, overlaps
 * and RouteTables, translate completely and correctly. A quadratic pass would turn this into
 * minutes; the test asserts only that the result is right, never how long it took.
 */
#include "tr_support.h"

#define SERVICES  2000
#define PER       5   /* endpoints per service */
#define TABLES    200 /* RouteTables, each routing to SERVICES / TABLES services */
#define DUP_EVERY 100 /* every 100th service reuses the previous one's host: INVALID */

/* A growable text buffer. */
struct buf {
    char *p;
    size_t len;
    FILE *f;
};

static void generate(struct buf *b)
{
    b->f = open_memstream(&b->p, &b->len);
    fputs(WS_OPS DOC VG_WEB, b->f);
    fputs(DOC RESILIENT "kind: OutlierDetectionPolicy\n"
                        "metadata: {name: od, namespace: data}\n"
                        "spec: {}\n" DOC RESILIENT "kind: FailoverPolicy\n"
                        "metadata: {name: fo, namespace: data}\n"
                        "spec: {config: {localityMappings: [{from: {region: us-east-1}, to: "
                        "[{region: us-west-2}]}]}}\n",
          b->f);
    static const char *const regions[] = {"us-east-1", "us-west-2", "eu-west-1"};
    for (int i = 0; i < SERVICES; i++) {
        int host = (i % DUP_EVERY == DUP_EVERY - 1) ? i - 1 : i;
        fprintf(b->f,
                DOC NET "kind: ExternalService\n"
                        "metadata: {name: svc-%d, namespace: data}\n"
                        "spec: {hosts: [svc-%d.internal], selector: {app: svc-%d}, ports: "
                        "[{name: http, number: 80}]}\n",
                i, host, i);
        for (int k = 0; k < PER; k++)
            fprintf(b->f,
                    DOC NET "kind: ExternalEndpoint\n"
                            "metadata: {name: ep-%d-%d, namespace: data, labels: {app: svc-%d, "
                            "shard: s%d}}\n"
                            "spec: {address: 10.%d.%d.%d, ports: [{name: http, number: 8080}], "
                            "locality: {region: %s, zone: z%d}}\n",
                    i, k, i, k, i / 250, i % 250, k + 1, regions[k % 3], k);
    }
    int per_table = SERVICES / TABLES;
    for (int t = 0; t < TABLES; t++) {
        fprintf(b->f,
                DOC NET "kind: RouteTable\n"
                        "metadata: {name: rt-%d, namespace: gw}\n"
                        "spec:\n"
                        "  hosts: [t%d.example.com]\n"
                        "  virtualGateways: [{name: web}]\n"
                        "  http:\n",
                t, t);
        for (int r = 0; r < per_table; r++) {
            int s = t * per_table + r;
            fprintf(b->f,
                    "  - name: r%d\n"
                    "    matchers: [{uri: {prefix: /s%d/}}]\n"
                    "    forwardTo: {destinations: [{ref: {name: svc-%d, namespace: data}, kind: "
                    "EXTERNAL_SERVICE}]}\n",
                    s, s, s);
        }
    }
    fclose(b->f);
}

static void thousands_of_services_translate(void **state)
{
    (void)state;
    struct buf b;
    generate(&b);
    struct trt x;
    trt_run(&x, b.p);

    int dups = SERVICES / DUP_EVERY;
    assert_int_equal(CW_CONFIG_COUNT(&x.load.cfg, EXTERNAL_SERVICE), SERVICES);
    assert_int_equal(CW_CONFIG_COUNT(&x.load.cfg, EXTERNAL_ENDPOINT), SERVICES * PER);
    /* The duplicates lose the overlap rule; the route tables naming them say so. */
    assert_int_equal(x.tr.snapshot->clusters.n, SERVICES - dups);
    assert_status_prefix(&x, "ExternalService", "data/svc-99", CW_APPROVAL_INVALID,
                         "host svc-98.internal already used by ExternalService data/svc-98");
    assert_accepted(&x, "ExternalService", "data/svc-98");
    assert_accepted(&x, "ExternalService", "data/svc-1998");

    /* Every accepted service selected exactly its own five endpoints, with priorities. */
    const struct cw_cluster *c = trt_need_cluster(&x, "data/svc-1234:80");
    assert_int_equal(c->endpoints.n, PER);
    assert_true(c->locality_priorities);
    /* Gateway us-east-1/us-east-1a: same region other zone, mapped region, unmapped region. */
    assert_int_equal(trt_need_endpoint(c, "10.4.234.1")->priority, 0); /* us-east-1/z0 */
    assert_int_equal(trt_need_endpoint(c, "10.4.234.2")->priority, 1); /* us-west-2 */
    assert_int_equal(trt_need_endpoint(c, "10.4.234.3")->priority, 2); /* eu-west-1 */
    assert_int_equal(c->n_priorities, 3);
    assert_int_equal(
        trt_counter(&x, "ExternalService", "data/svc-1234", "numSelectedExternalEndpoints"), PER);
    assert_int_equal(
        trt_counter(&x, "OutlierDetectionPolicy", "data/od", "numSelectedDestinationPorts"),
        SERVICES - dups);

    /* Every table is served; exactly the tables routing to a duplicate are INVALID. */
    const struct cw_snapshot_listener *l = trt_need_listener(&x, 8080);
    assert_int_equal(l->virtual_hosts.n, TABLES);
    assert_int_equal(x.tr.invalid, dups + dups);
    const struct cw_route *r =
        trt_need_route(trt_need_vhost(&x, 8080, "t123.example.com"), "r1234");
    assert_string_equal(r->clusters.v[0].cluster->name, "data/svc-1234:80");
    trt_assert_failed(trt_need_route(trt_need_vhost(&x, 8080, "t9.example.com"), "r99"),
                      "data/svc-99");
    trt_free(&x);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thousands_of_services_translate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
