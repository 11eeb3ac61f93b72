/*
 * The heads causeway sends on (http/head.h): header lines are copied as they arrived,
 * hop-by-hop headers and those the Connection header names are left out, X-Forwarded-* and a
 * rewritten Host are added. Heads are parsed by llhttp, as the data plane does, and responses
 * by the fast path too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/head.h"
#include "http/response_head.h"

static struct cw_http_head head;

static void parse_llhttp(llhttp_type_t type, const char *text)
{
    llhttp_t p;
    llhttp_init(&p, type, &cw_http_head_settings);
    p.data = &head;
    assert_int_equal(llhttp_execute(&p, text, strlen(text)), HPE_PAUSED);
}

/* The client's copy of <text>'s head, parsed by llhttp or by the fast path. */
static char *response_out(const char *text, bool fast, bool close)
{
    struct cw_response_framing f;
    int status = 0;
    if (fast) {
        assert_true(cw_response_head_parse(text, strlen(text), &head, &f) > 0);
        status = f.status;
    } else {
        llhttp_t p;
        llhttp_init(&p, HTTP_RESPONSE, &cw_http_head_settings);
        p.data = &head;
        assert_int_equal(llhttp_execute(&p, text, strlen(text)), HPE_PAUSED);
        status = p.status_code;
    }
    struct cw_out o = {0};
    cw_http_write_response_head(&o, status, &head, close);
    cw_out_put(&o, "", 1);
    return o.p;
}

static void check_response(const char *in, bool close, const char *want)
{
    for (int fast = 0; fast < 2; fast++) {
        char *got = response_out(in, fast, close);
        assert_string_equal(got, want);
        free(got);
    }
}

static void response_lines_are_copied_as_they_arrived(void **state)
{
    (void)state;
    check_response("HTTP/1.1 200 OK\r\nServer:tight\r\nX-Pad:  spaced  \r\nX-Empty:\r\n"
                   "Content-Length: 2\r\n\r\n",
                   false,
                   "HTTP/1.1 200 OK\r\nServer:tight\r\nX-Pad:  spaced  \r\nX-Empty:\r\n"
                   "Content-Length: 2\r\n\r\n");
}

static void hop_by_hop_response_headers_are_left_out(void **state)
{
    (void)state;
    check_response("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nX-A: 1\r\nConnection: keep-alive"
                   "\r\nX-B: 2\r\nX-C: 3\r\nContent-Length: 0\r\nUpgrade: h2c\r\n\r\n",
                   false,
                   "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n");
}

static void close_is_announced(void **state)
{
    (void)state;
    check_response("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true,
                   "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

static void names_the_connection_header_lists_are_left_out(void **state)
{
    (void)state;
    char *got =
        response_out("HTTP/1.1 200 OK\r\nConnection: x-one,X-Two , keep-alive\r\n"
                     "X-One: a\r\nX-Keep: b\r\nx-two: c\r\nTransfer-Encoding: chunked\r\n\r\n",
                     false, false);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nX-Keep: b\r\nTransfer-Encoding: chunked\r\n\r\n");
    free(got);
}

/* More listed names than are split up front: the rest are still honoured. */
static void a_long_connection_list_is_honoured_to_the_end(void **state)
{
    (void)state;
    char text[4096], want[4096];
    int n = sprintf(text, "HTTP/1.1 200 OK\r\nConnection: close");
    for (int i = 0; i < 40; i++)
        n += sprintf(text + n, ", x-h%d", i);
    n += sprintf(text + n, "\r\n");
    int w = sprintf(want, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 40; i++) {
        n += sprintf(text + n, "X-H%d: v\r\nX-Kept%d: v\r\n", i, i);
        w += sprintf(want + w, "X-Kept%d: v\r\n", i);
    }
    sprintf(text + n, "Content-Length: 0\r\n\r\n");
    sprintf(want + w, "Content-Length: 0\r\n\r\n");
    char *got = response_out(text, false, false);
    assert_string_equal(got, want);
    free(got);
}

static char *request_out_tls(const char *text, const char *host, bool client_tls)
{
    parse_llhttp(HTTP_REQUEST, text);
    struct cw_forward_head f = {
        .method = "GET",
        .path = {"/up", 3},
        .host = host,
        .client_ip = "127.0.0.9",
        .client_tls = client_tls,
    };
    struct cw_out o = {0};
    cw_http_write_request_head(&o, &head, &f);
    cw_out_put(&o, "", 1);
    return o.p;
}

static char *request_out(const char *text, const char *host)
{
    return request_out_tls(text, host, false);
}

/* A request that came over TLS (a terminating listener) says so upstream, and a client's own
 * X-Forwarded-Proto never survives: only the gateway knows how the request came. */
static void a_request_over_tls_is_forwarded_as_https(void **state)
{
    (void)state;
    char *got = request_out_tls("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: http\r\n\r\n",
                                NULL, true);
    assert_string_equal(got, "GET /up HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 127.0.0.9\r\n"
                             "X-Forwarded-Proto: https\r\n\r\n");
    free(got);
}

static void request_heads_get_forwarding_headers(void **state)
{
    (void)state;
    char *got = request_out("GET /in HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n"
                            "X-Forwarded-For: 10.0.0.1\r\nTE: trailers\r\nX-Forwarded-Proto: "
                            "https\r\nUser-Agent: t\r\n\r\n",
                            NULL);
    assert_string_equal(got, "GET /up HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n"
                             "User-Agent: t\r\nX-Forwarded-For: 10.0.0.1, 127.0.0.9\r\n"
                             "X-Forwarded-Proto: http\r\n\r\n");
    free(got);
}

static void a_rewritten_host_replaces_the_clients(void **state)
{
    (void)state;
    char *got = request_out("GET / HTTP/1.1\r\nAccept: */*\r\nhost: a.example\r\nX-Z: z\r\n\r\n",
                            "b.internal");
    assert_string_equal(got, "GET /up HTTP/1.1\r\nAccept: */*\r\nX-Z: z\r\nHost: b.internal\r\n"
                             "X-Forwarded-For: 127.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
    free(got);
}

/* A Connection header that names the framing headers or Host removes none of them: the
 * upstream would read an unframed body as a second request of the client's choosing. */
static void a_connection_list_never_removes_framing_or_host(void **state)
{
    (void)state;
    char *got = request_out("POST /in HTTP/1.1\r\nHost: a.example\r\n"
                            "Connection: content-length, host, x-drop\r\nX-Drop: 1\r\n"
                            "Content-Length: 5\r\n\r\n",
                            NULL);
    assert_string_equal(got, "GET /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n"
                             "X-Forwarded-For: 127.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
    free(got);
    got = request_out("POST /in HTTP/1.1\r\nHost: a.example\r\nConnection: Transfer-Encoding"
                      "\r\nTransfer-Encoding: chunked\r\n\r\n",
                      NULL);
    assert_string_equal(got, "GET /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked"
                             "\r\nX-Forwarded-For: 127.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
    free(got);
}

static void a_response_connection_list_never_removes_framing(void **state)
{
    (void)state;
    /* The fast path declines such a head; llhttp's path writes it. */
    char *got = response_out("HTTP/1.1 200 OK\r\nConnection: content-length\r\n"
                             "Content-Length: 3\r\n\r\n",
                             false, false);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    free(got);
    got = response_out("HTTP/1.1 200 OK\r\nConnection: keep-alive, transfer-encoding\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n",
                             false, false);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    free(got);
    /* The same holds when the list is longer than what is split up front. */
    char text[2048];
    int n = sprintf(text, "HTTP/1.1 200 OK\r\nConnection: close");
    for (int i = 0; i < 40; i++)
        n += sprintf(text + n, ", x-h%d", i);
    sprintf(text + n, ", content-length\r\nContent-Length: 0\r\n\r\n");
    got = response_out(text, false, false);
    assert_string_equal(got, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    free(got);
}

/* "GET /x" without a version is HTTP/0.9 to llhttp, which then reads headers after it; found by
 * fuzz/fuzz_request_head.c, whose corpus keeps the input (http09-with-headers). */
static void a_request_line_without_version_is_refused(void **state)
{
    (void)state;
    const char *text = "GET /admin\r\nHost: api.example.com\r\n\r\n";
    llhttp_t p;
    llhttp_init(&p, HTTP_REQUEST, &cw_http_head_settings);
    p.data = &head;
    assert_int_equal(llhttp_execute(&p, text, strlen(text)), HPE_CB_HEADERS_COMPLETE);
    parse_llhttp(HTTP_REQUEST, "GET /admin HTTP/1.0\r\nHost: api.example.com\r\n\r\n");
}

/* An upgrade request keeps its Upgrade header and says "Connection: upgrade" (whatever else its
 * Connection header listed); without the upgrade both are hop-by-hop and dropped. */
static void an_upgrade_request_keeps_upgrade_and_connection(void **state)
{
    (void)state;
    const char *in = "GET /chat HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive, Upgrade"
                     "\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n";
    parse_llhttp(HTTP_REQUEST, in);
    struct cw_forward_head f = {
        .method = "GET", .path = {"/chat", 5}, .client_ip = "127.0.0.9", .upgrade = true};
    struct cw_out o = {0};
    cw_http_write_request_head(&o, &head, &f);
    cw_out_put(&o, "", 1);
    assert_string_equal(o.p, "GET /chat HTTP/1.1\r\nHost: a.example\r\nUpgrade: websocket\r\n"
                             "Sec-WebSocket-Key: k\r\nConnection: upgrade\r\n"
                             "X-Forwarded-For: 127.0.0.9\r\nX-Forwarded-Proto: http\r\n\r\n");
    cw_out_free(&o);
    char *plain = request_out(in, NULL);
    assert_null(strstr(plain, "Upgrade"));
    assert_null(strstr(plain, "Connection"));
    free(plain);
}

static void a_101_keeps_upgrade_and_connection(void **state)
{
    (void)state;
    char *got = response_out("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
                             false, true);
    assert_string_equal(got, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Sec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n");
    free(got);
}

/* A head written on borrowed space stays there while it fits and moves to malloc's memory,
 * bytes intact, when it grows past it; freeing never frees the borrowed space. */
static void an_out_buffer_on_borrowed_space_grows_off_it(void **state)
{
    (void)state;
    char space[16];
    struct cw_out o;
    cw_out_borrow(&o, space, sizeof(space));
    cw_out_lit(&o, "0123456789");
    assert_ptr_equal(o.p, space);
    cw_out_lit(&o, "abcdefghij");
    assert_ptr_not_equal(o.p, space);
    assert_false(o.borrowed);
    assert_int_equal(o.len, 20);
    assert_memory_equal(o.p, "0123456789abcdefghij", 20);
    cw_out_free(&o);
    cw_out_borrow(&o, space, sizeof(space));
    cw_out_lit(&o, "short");
    cw_out_free(&o); /* the stack space: a free() here would crash */
    assert_null(o.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(response_lines_are_copied_as_they_arrived),
        cmocka_unit_test(hop_by_hop_response_headers_are_left_out),
        cmocka_unit_test(close_is_announced),
        cmocka_unit_test(names_the_connection_header_lists_are_left_out),
        cmocka_unit_test(a_long_connection_list_is_honoured_to_the_end),
        cmocka_unit_test(request_heads_get_forwarding_headers),
        cmocka_unit_test(a_rewritten_host_replaces_the_clients),
        cmocka_unit_test(a_request_over_tls_is_forwarded_as_https),
        cmocka_unit_test(an_upgrade_request_keeps_upgrade_and_connection),
        cmocka_unit_test(a_101_keeps_upgrade_and_connection),
        cmocka_unit_test(an_out_buffer_on_borrowed_space_grows_off_it),
        cmocka_unit_test(a_connection_list_never_removes_framing_or_host),
        cmocka_unit_test(a_response_connection_list_never_removes_framing),
        cmocka_unit_test(a_request_line_without_version_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
