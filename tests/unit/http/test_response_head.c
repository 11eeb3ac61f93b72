/*
 * The plain response head fast path (http/response_head.h): what it accepts, what it declines,
 * and — the property the data plane relies on — that every head it accepts is accepted by
 * llhttp in strict mode too, with the same length, status, headers, Content-Length and
 * keep-alive. The comparison runs over hand-written heads and over every one-byte change of
 * them (replaced, deleted, inserted), so a byte the fast path lets through that llhttp would
 * refuse fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/response_head.h"

#define NGINX_HEAD                                                                                 \
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 28 Nov 2026 04:22:40 GMT\r\n"           \
    "Content-Type: text/plain\r\nContent-Length: 66\r\nConnection: keep-alive\r\n\r\n"

static struct cw_http_head head;
static struct cw_response_framing framing;

static size_t parse(const char *text)
{
    return cw_response_head_parse(text, strlen(text), &head, &framing);
}

static void assert_span(struct cw_span s, const char *text)
{
    char got[256];
    snprintf(got, sizeof(got), "%.*s", (int)s.len, s.p);
    assert_string_equal(got, text);
}

static void a_plain_head_is_parsed_whole(void **state)
{
    (void)state;
    const char *text = NGINX_HEAD "body bytes";
    assert_int_equal(parse(text), strlen(NGINX_HEAD));
    assert_int_equal(framing.status, 200);
    assert_int_equal(framing.content_length, 66);
    assert_true(framing.keep_alive);
    assert_span(head.reason, "OK");
    assert_int_equal(head.n_headers, 5);
    assert_span(head.headers[0].name, "Server");
    assert_span(head.headers[0].value, "nginx/1.22.1");
    assert_span(head.headers[1].value, "Sat, 28 Nov 2026 04:22:40 GMT");
    assert_span(head.headers[4].name, "Connection");
}

static void spaces_before_values_are_skipped_and_after_them_kept(void **state)
{
    (void)state;
    assert_true(parse("HTTP/1.1 404 Not Found\r\nX-A:tight\r\nX-B: \t spaced \t \r\nX-C:\r\n"
                      "content-length:  0  \r\n\r\n") > 0);
    assert_int_equal(framing.status, 404);
    assert_int_equal(framing.content_length, 0);
    assert_span(head.reason, "Not Found");
    assert_span(head.headers[0].value, "tight");
    assert_span(head.headers[1].value, "spaced \t ");
    assert_span(head.headers[2].value, "");
    assert_span(head.headers[3].value, "0  ");
}

static void connection_close_ends_keep_alive(void **state)
{
    (void)state;
    assert_true(parse("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\n") > 0);
    assert_false(framing.keep_alive);
    assert_true(parse("HTTP/1.1 500 \r\nContent-Length: 2\r\n\r\n") > 0);
    assert_true(framing.keep_alive);
    assert_span(head.reason, "");
}

/* Each of these is left to llhttp: framing of another kind, or bytes a plain head never has. */
static const char *const declined[] = {
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 600 Odd\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",                              /* no length: until EOF */
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", /* repeated */
    "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: upgrade\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close, x-a\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 2\r\n\r\n", /* obs-fold */
    "HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\n",                        /* bare LF */
    "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\n",
    "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 2\r\n\r\n", /* space before the colon */
    "HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX(A): a\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: caf\xc3\xa9\r\nContent-Length: 2\r\n\r\n", /* not ASCII */
    "HTTP/1.1 200 OK\r\nX-A: \x7f\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-A: \x01\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 \x80\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1  200 OK\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n",
    "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
};

static void other_heads_are_declined(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        if (parse(declined[i]) != 0)
            fail_msg("accepted #%zu: %s", i, declined[i]);
    }
}

static void a_head_cut_anywhere_is_declined(void **state)
{
    (void)state;
    const char *text = NGINX_HEAD;
    for (size_t n = 0; n < strlen(text); n++)
        assert_int_equal(cw_response_head_parse(text, n, &head, &framing), 0);
}

static void more_headers_than_the_limit_are_declined(void **state)
{
    (void)state;
    static char text[8192];
    size_t n = (size_t)sprintf(text, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
    for (int i = 1; i < CW_HTTP_MAX_HEADERS; i++)
        n += (size_t)sprintf(text + n, "X-%d: v\r\n", i);
    strcpy(text + n, "\r\n");
    assert_true(parse(text) > 0); /* exactly the limit */
    strcpy(text + n, "X-Last: v\r\n\r\n");
    assert_int_equal(parse(text), 0);
}

/* ---- agreement with llhttp ---- */

struct llhttp_view {
    size_t len; /* 0: llhttp refused the head or wants more */
    int status;
    uint64_t content_length;
    bool keep_alive;
    struct cw_http_head head;
};

static void parse_with_llhttp(const char *p, size_t n, struct llhttp_view *v)
{
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &cw_http_head_settings);
    parser.data = &v->head;
    v->len = 0;
    if (llhttp_execute(&parser, p, n) != HPE_PAUSED)
        return;
    v->len = (size_t)(llhttp_get_error_pos(&parser) - p);
    v->status = parser.status_code;
    v->content_length = parser.content_length;
    v->keep_alive = llhttp_should_keep_alive(&parser);
}

static bool same_span(struct cw_span a, struct cw_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0); /* p is NULL when empty */
}

static int compared, accepted;

/* When the fast path accepts [p, p + n), llhttp must agree on everything the proxy uses. */
static void check_agreement(const char *p, size_t n)
{
    static struct llhttp_view slow;
    compared++;
    size_t len = cw_response_head_parse(p, n, &head, &framing);
    if (len == 0)
        return;
    accepted++;
    parse_with_llhttp(p, n, &slow);
    if (slow.len != len)
        fail_msg("llhttp refused or measured differently (%zu vs %zu): %.*s", slow.len, len, (int)n,
                 p);
    assert_int_equal(slow.status, framing.status);
    assert_int_equal(slow.content_length, framing.content_length);
    assert_int_equal(slow.keep_alive, framing.keep_alive);
    assert_true(same_span(slow.head.reason, head.reason));
    assert_int_equal(slow.head.n_headers, head.n_headers);
    for (uint32_t i = 0; i < head.n_headers; i++) {
        if (!same_span(slow.head.headers[i].name, head.headers[i].name) ||
            !same_span(slow.head.headers[i].value, head.headers[i].value))
            fail_msg("header %u differs from llhttp's (value [%.*s] vs [%.*s]) in: %.*s", i,
                     (int)head.headers[i].value.len, head.headers[i].value.p,
                     (int)slow.head.headers[i].value.len, slow.head.headers[i].value.p, (int)n, p);
    }
}

static const char *const seeds[] = {
    NGINX_HEAD,
    "HTTP/1.1 404 Not Found\r\nX-A:tight\r\nX-B: \t spaced \t \r\ncontent-length:  0  \r\n\r\n",
    "HTTP/1.1 503 \r\nConnection: close\r\nContent-Length: 12\r\nRetry-After: 5\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX-Empty:\r\nConnection: Keep-Alive\r\nContent-Length: 7\r\n\r\n",
};

/* Bytes worth trying at every position: separators, whitespace, controls, non-ASCII. */
static const char probes[] = {'\0', '\t', '\n', '\r', ' ', ':', ',', '"',       '(',
                              '/',  '0',  '9',  'A',  'z', '~', 127, (char)128, (char)255};

static void every_accepted_head_is_one_llhttp_accepts_alike(void **state)
{
    (void)state;
    char buf[512];
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        const char *seed = seeds[s];
        size_t n = strlen(seed);
        check_agreement(seed, n);
        for (size_t at = 0; at < n; at++) {
            for (size_t k = 0; k < sizeof(probes); k++) { /* replaced */
                memcpy(buf, seed, n);
                buf[at] = probes[k];
                check_agreement(buf, n);
            }
            for (size_t k = 0; k < sizeof(probes); k++) { /* inserted */
                memcpy(buf, seed, at);
                buf[at] = probes[k];
                memcpy(buf + at + 1, seed + at, n - at);
                check_agreement(buf, n + 1);
            }
            memcpy(buf, seed, at); /* deleted */
            memcpy(buf + at, seed + at + 1, n - at - 1);
            check_agreement(buf, n - 1);
        }
    }
    /* The comparison meant something: many variants took the fast path, many did not. */
    assert_true(accepted > 1000);
    assert_true(compared - accepted > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_plain_head_is_parsed_whole),
        cmocka_unit_test(spaces_before_values_are_skipped_and_after_them_kept),
        cmocka_unit_test(connection_close_ends_keep_alive),
        cmocka_unit_test(other_heads_are_declined),
        cmocka_unit_test(a_head_cut_anywhere_is_declined),
        cmocka_unit_test(more_headers_than_the_limit_are_declined),
        cmocka_unit_test(every_accepted_head_is_one_llhttp_accepts_alike),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
