/*
 * What a parsed request head gets (proxy/http_decide.h), on a snapshot translated from real
 * manifests: requests that must be refused before routing (two Host headers, an invalid Host,
 * CONNECT, a path above the root), and routing and forwarding on the normalised path, so that
 * a route for "/v1/" cannot be used to reach "/admin".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../translate/tr_support.h"
#include "proxy/http_decide.h"

#define ES_API                                                                                     \
    DOC NET "kind: ExternalService\n"                                                              \
            "metadata: {name: api, namespace: data}\n"                                             \
            "spec: {addresses: ['127.0.0.30'], ports: [{name: http, number: 19300}]}\n"

/* A prefix route for /v1/ to the service, a direct response for /admin, nothing else. */
#define TABLE                                                                                      \
    DOC NET "kind: RouteTable\n"                                                                   \
            "metadata: {name: api, namespace: gw}\n"                                               \
            "spec:\n"                                                                              \
            "  hosts: [api.example.com]\n"                                                         \
            "  virtualGateways: [{name: web}]\n"                                                   \
            "  http:\n"                                                                            \
            "  - name: v1\n"                                                                       \
            "    matchers: [{uri: {prefix: /v1/}}]\n"                                              \
            "    forwardTo:\n"                                                                     \
            "      destinations:\n"                                                                \
            "      - {ref: {name: api, namespace: data}, kind: EXTERNAL_SERVICE, "                 \
            "port: {number: 19300}}\n"                                                             \
            "  - name: admin\n"                                                                    \
            "    matchers: [{uri: {prefix: /admin}}]\n"                                            \
            "    directResponse: {status: 403, body: admin only}\n"

static struct trt x;

static int setup(void **state)
{
    (void)state;
    trt_run(&x, WS_OPS DOC VG_WEB ES_API TABLE);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    trt_free(&x);
    return 0;
}

/* One decision for the request <text>; <out> gets the forwarded head (NUL-terminated). */
struct decided {
    struct cw_http_decision d;
    struct cw_http_head head;
    struct cw_out out;
};

static void decide(struct decided *r, const char *text)
{
    memset(r, 0, sizeof(*r));
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &cw_http_head_settings);
    p.data = &r->head;
    assert_int_equal(llhttp_execute(&p, text, strlen(text)), HPE_PAUSED);
    /* One cluster per route: no worker is needed to pick among weights. */
    static struct cw_request_ids ids = {{1, 2}};
    cw_http_decide(&r->d, &p, &r->head, trt_need_listener(&x, 8080), 0, "127.0.0.9", NULL, &ids,
                   &r->out);
    cw_out_put(&r->out, "", 1);
}

static void check_answer(const char *text, int status, const char *body)
{
    struct decided r;
    decide(&r, text);
    if (r.d.status != status)
        fail_msg("%s: got %d (%s), want %d", text, r.d.status, r.d.body ? r.d.body : "-", status);
    assert_string_equal(r.d.body, body);
    cw_out_free(&r.out);
}

/* The request line of the head forwarded for <text>. */
static void check_forwarded(const char *text, const char *request_line)
{
    struct decided r;
    decide(&r, text);
    if (r.d.status)
        fail_msg("%s: answered %d (%s), want it forwarded", text, r.d.status, r.d.body);
    size_t n = strlen(request_line);
    if (strncmp(r.out.p, request_line, n) != 0 || strncmp(r.out.p + n, "\r\n", 2) != 0)
        fail_msg("%s: forwarded %s, want %s", text, r.out.p, request_line);
    cw_out_free(&r.out);
}

#define GET(target, headers) "GET " target " HTTP/1.1\r\n" headers "\r\n"
#define API                  "Host: api.example.com\r\n"

static void two_host_headers_are_refused(void **state)
{
    (void)state;
    const char *want = "malformed request: more than one Host header";
    check_answer(GET("/v1/a", API API), 400, want);
    check_answer(GET("/v1/a", API "X-A: 1\r\nhost: other.example.com\r\n"), 400, want);
    check_answer(GET("/v1/a", "HOST: api.example.com\r\n" API), 400, want);
    check_answer(GET("/v1/a", "X-A: 1\r\n"), 400, "missing Host header");
    check_forwarded(GET("/v1/a", API "X-Host: other\r\n"), "GET /v1/a HTTP/1.1");
}

/* RFC 9112 §3.2: a Host with an invalid value is a 400 too; a port and an IPv6 literal are
 * valid. */
static void an_invalid_host_is_refused(void **state)
{
    (void)state;
    const char *want = "malformed request: invalid Host header";
    check_answer(GET("/v1/a", "Host: api.example.com\" x=1\r\n"), 400, want);
    check_answer(GET("/v1/a", "Host: user@api.example.com\r\n"), 400, want);
    check_answer(GET("/v1/a", "Host: api.example.com/x\r\n"), 400, want);
    check_forwarded(GET("/v1/a", "Host: api.example.com:8080\r\n"), "GET /v1/a HTTP/1.1");
    check_answer(GET("/v1/a", "Host: [::1]:8080\r\n"), 404, "no route: unknown host");
}

/* A CONNECT is answered, never forwarded and never left waiting, and the connection closes:
 * what follows its head is tunnel bytes to llhttp. */
static void connect_is_not_implemented(void **state)
{
    (void)state;
    const char *texts[] = {
        "CONNECT api.example.com:443 HTTP/1.1\r\n" API "\r\n",
        "CONNECT api.example.com:443 HTTP/1.1\r\n" API "Content-Length: 5\r\n\r\n",
        "CONNECT api.example.com:443 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct decided r;
        decide(&r, texts[i]);
        assert_int_equal(r.d.status, 501);
        assert_string_equal(r.d.body, "CONNECT is not supported");
        assert_true(r.d.close);
        assert_int_equal(r.out.len, 1); /* nothing written for an upstream */
        cw_out_free(&r.out);
    }
}

static void dot_segments_cannot_leave_a_prefix_route(void **state)
{
    (void)state;
    check_answer(GET("/v1/../admin", API), 403, "admin only");
    check_answer(GET("/v1/%2e%2e/admin", API), 403, "admin only");
    check_answer(GET("/v1/%2E%2E/admin", API), 403, "admin only");
    check_answer(GET("/v1/.%2E/admin/x?a=1", API), 403, "admin only");
    check_answer(GET("/v1/./../admin", API), 403, "admin only");
    /* Reaching /v1/ by way of another path routes there, and what goes upstream is normalised. */
    check_forwarded(GET("/admin/../v1/a", API), "GET /v1/a HTTP/1.1");
    check_forwarded(GET("/v1/x/../%7Ea/./b?q=/../%2e", API), "GET /v1/~a/b?q=/../%2e HTTP/1.1");
    check_forwarded(GET("/v1/a%2F..%2Fb", API), "GET /v1/a%2F..%2Fb HTTP/1.1");
    check_forwarded(GET("/v1//a/", API), "GET /v1//a/ HTTP/1.1");
    check_forwarded(GET("/v1/a?", API), "GET /v1/a? HTTP/1.1");
}

static void a_path_above_the_root_is_refused(void **state)
{
    (void)state;
    const char *want = "malformed request: path climbs above /";
    check_answer(GET("/..", API), 400, want);
    check_answer(GET("/v1/../../admin", API), 400, want);
    check_answer(GET("/%2e%2e/v1/a", API), 400, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_host_headers_are_refused),
        cmocka_unit_test(an_invalid_host_is_refused),
        cmocka_unit_test(connect_is_not_implemented),
        cmocka_unit_test(dot_segments_cannot_leave_a_prefix_route),
        cmocka_unit_test(a_path_above_the_root_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
