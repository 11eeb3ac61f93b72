/*
 * The end of a chunked body (http/chunked.h): only CRLF CRLF ends it, however the body is cut
 * into pieces; "0\r\n\n", which llhttp accepts, does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "http/chunked.h"

/* Feeds <body> in pieces of <piece> bytes and says whether its end is accepted. */
static bool ends_well(const char *body, size_t piece)
{
    struct cw_chunked_tail t = {0};
    size_t n = strlen(body);
    for (size_t i = 0; i < n; i += piece)
        cw_chunked_tail_add(&t, body + i, i + piece <= n ? piece : n - i);
    return cw_chunked_tail_ok(&t);
}

static void only_crlf_crlf_ends_a_chunked_body(void **state)
{
    (void)state;
    for (size_t piece = 1; piece <= 8; piece++) {
        assert_true(ends_well("5\r\nhello\r\n0\r\n\r\n", piece));
        assert_true(ends_well("5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", piece));
        assert_true(ends_well("0\r\n\r\n", piece));
        assert_false(ends_well("5\r\nhello\r\n0\r\n\n", piece));
        assert_false(ends_well("0\r\nX-T: 1\r\n\n", piece));
        assert_false(ends_well("0\n\n", piece));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_crlf_crlf_ends_a_chunked_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
