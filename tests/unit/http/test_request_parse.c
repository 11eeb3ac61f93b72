/*
 * Request heads and bodies that llhttp (strict) and causeway's callbacks (http/head.h) must
 * refuse or accept: an empty header name is refused, a CR or LF inside the request target is
 * refused, a chunk extension (RFC 9112 §7.1.1) is accepted and its body ends where it should.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/chunked.h"
#include "http/head.h"

static struct cw_http_head head;

/* Parses <text> as a message of <type>; returns llhttp's answer (HPE_PAUSED: a complete head). */
static llhttp_errno_t parse(llhttp_t *p, llhttp_type_t type, const char *text)
{
    llhttp_init(p, type, &cw_http_head_settings);
    p->data = &head;
    return llhttp_execute(p, text, strlen(text));
}

static void check_refused(llhttp_type_t type, const char *text, const char *reason)
{
    llhttp_t p;
    llhttp_errno_t err = parse(&p, type, text);
    if (err == HPE_OK || err == HPE_PAUSED)
        fail_msg("accepted: %s", text);
    if (reason)
        assert_string_equal(llhttp_get_error_reason(&p), reason);
}

static void an_empty_header_name_is_refused(void **state)
{
    (void)state;
    check_refused(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a.example\r\n: value\r\n\r\n",
                  "empty header name");
    check_refused(HTTP_REQUEST, "GET / HTTP/1.1\r\n: value\r\nHost: a.example\r\n\r\n",
                  "empty header name");
    check_refused(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a.example\r\n:\r\n\r\n",
                  "empty header name");
    check_refused(HTTP_RESPONSE, "HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n",
                  "empty header name");
    /* The same head with a name parses. */
    llhttp_t p;
    assert_int_equal(
        parse(&p, HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a.example\r\nX: value\r\n\r\n"),
        HPE_PAUSED);
    assert_int_equal(head.n_headers, 2);
}

/* llhttp in strict mode ends the target at the first CR or LF and then wants " HTTP/1.1": the
 * request is refused whatever follows, so no target with a line break reaches routing. */
static void a_cr_or_lf_in_the_target_is_refused(void **state)
{
    (void)state;
    check_refused(HTTP_REQUEST, "GET /a\rb HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL);
    check_refused(HTTP_REQUEST, "GET /a\nb HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL);
    check_refused(HTTP_REQUEST, "GET /a\r HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL);
    check_refused(HTTP_REQUEST, "GET /a\r\nX: HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL);
    check_refused(HTTP_REQUEST, "GET /a%0d%0a\n HTTP/1.1\r\nHost: a.example\r\n\r\n", NULL);
    /* Escaped, a CR or LF is only text. */
    llhttp_t p;
    assert_int_equal(parse(&p, HTTP_REQUEST, "GET /a%0d%0ab HTTP/1.1\r\nHost: a.example\r\n\r\n"),
                     HPE_PAUSED);
    assert_int_equal(head.url.len, strlen("/a%0d%0ab"));
}

/* Parses a chunked request whose body is <body>: true when the body completes the message as
 * llhttp reads it and ends as causeway's own check wants (CRLF CRLF). */
static bool chunked_body_accepted(const char *body)
{
    llhttp_t p;
    assert_int_equal(
        parse(&p, HTTP_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
        HPE_PAUSED);
    llhttp_resume(&p);
    size_t n = strlen(body);
    if (llhttp_execute(&p, body, n) != HPE_PAUSED) /* paused by on_message_complete */
        return false;
    if (llhttp_get_error_pos(&p) != body + n) /* the message ended at the body's end */
        return false;
    struct cw_chunked_tail tail = {{0}};
    cw_chunked_tail_add(&tail, body, n);
    return cw_chunked_tail_ok(&tail);
}

/* RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
 * causeway forwards the body with its framing as it came, extensions included (see
 * http/chunked.h). */
static void a_chunk_extension_is_accepted(void **state)
{
    (void)state;
    assert_true(chunked_body_accepted("5;name=value\r\nhello\r\n0\r\n\r\n"));
    assert_true(chunked_body_accepted("5;name\r\nhello\r\n0\r\n\r\n"));
    assert_true(chunked_body_accepted("5;name=\"a ; b\"\r\nhello\r\n0\r\n\r\n"));
    assert_true(chunked_body_accepted("5\r\nhello\r\n0;last=1\r\n\r\n"));
    /* What follows an extension is never read as a chunk of its own. */
    assert_false(chunked_body_accepted("5;name=value\nhello\r\n0\r\n\r\n"));
    assert_false(chunked_body_accepted("5;na me=value\r\nhello\r\n0\r\n\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_empty_header_name_is_refused),
        cmocka_unit_test(a_cr_or_lf_in_the_target_is_refused),
        cmocka_unit_test(a_chunk_extension_is_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
