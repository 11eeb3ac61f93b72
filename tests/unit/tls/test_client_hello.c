/*
 * The ClientHello SNI reader (tls/client_hello.h) over hellos built here byte by byte: the name
 * is found whole, in pieces and across records; everything hostile is refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tls/client_hello.h"

struct bytes {
    unsigned char v[20000];
    size_t n;
};

static void put(struct bytes *b, const void *p, size_t n)
{
    memcpy(b->v + b->n, p, n);
    b->n += n;
}

static void put16(struct bytes *b, size_t v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 2);
}

/* A ClientHello body naming <name> (NULL: no server_name extension), with <pad> bytes of a
 * padding extension to make it large. */
static struct bytes hello_body(const char *name, size_t pad)
{
    struct bytes b = {.n = 0};
    static const unsigned char version_random[34] = {3, 3};
    put(&b, version_random, sizeof(version_random));
    put(&b, "\x00", 1);                     /* session id: none */
    put(&b, "\x00\x02\x13\x01", 4);         /* one cipher suite */
    put(&b, "\x01\x00", 2);                 /* compression: null */
    struct bytes ext = {.n = 0};
    put(&ext, "\x00\x0b\x00\x02\x01\x00", 6); /* ec_point_formats, before the name */
    if (name) {
        size_t n = strlen(name);
        put16(&ext, 0);         /* server_name */
        put16(&ext, n + 5);     /* extension length */
        put16(&ext, n + 3);     /* list length */
        put(&ext, "\x00", 1);   /* host_name */
        put16(&ext, n);
        put(&ext, name, n);
    }
    if (pad) {
        put16(&ext, 21); /* padding */
        put16(&ext, pad);
        for (size_t i = 0; i < pad; i++)
            put(&ext, "\x00", 1);
    }
    put16(&b, ext.n);
    put(&b, ext.v, ext.n);
    return b;
}

/* The handshake message around <body>, in records of at most <record> bytes. */
static struct bytes records(const struct bytes *body, size_t record)
{
    struct bytes msg = {.n = 0};
    unsigned char h[4] = {1, (unsigned char)(body->n >> 16), (unsigned char)(body->n >> 8),
                          (unsigned char)body->n};
    put(&msg, h, 4);
    put(&msg, body->v, body->n);
    struct bytes out = {.n = 0};
    for (size_t i = 0; i < msg.n; i += record) {
        size_t len = msg.n - i < record ? msg.n - i : record;
        put(&out, "\x16\x03\x01", 3);
        put16(&out, len);
        put(&out, msg.v + i, len);
    }
    return out;
}

static enum cw_hello_result read_sni(const struct bytes *b, size_t n, char *sni)
{
    return cw_client_hello_sni(b->v, n, sni, 256, NULL);
}

static void the_server_name_is_found_lowercased(void **state)
{
    (void)state;
    struct bytes body = hello_body("Api.Example.COM", 0);
    struct bytes in = records(&body, 16384);
    char sni[256];
    assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_SNI);
    assert_string_equal(sni, "api.example.com");
}

static void every_prefix_asks_for_more(void **state)
{
    (void)state;
    struct bytes body = hello_body("db.internal", 300);
    struct bytes in = records(&body, 16384);
    char sni[256];
    for (size_t n = 0; n < in.n; n++)
        assert_int_equal(read_sni(&in, n, sni), CW_HELLO_NEED_MORE);
    assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_SNI);
}

static void a_hello_split_over_records_is_read(void **state)
{
    (void)state;
    struct bytes body = hello_body("split.example.com", 1000);
    for (size_t record = 1; record < 64; record += 7) {
        struct bytes in = records(&body, record);
        char sni[256];
        assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_SNI);
        assert_string_equal(sni, "split.example.com");
    }
}

static void a_hello_without_a_name_says_so(void **state)
{
    (void)state;
    struct bytes body = hello_body(NULL, 10);
    struct bytes in = records(&body, 16384);
    char sni[256];
    assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_NO_SNI);
}

static void plain_http_is_not_tls(void **state)
{
    (void)state;
    const char *get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    char sni[256];
    const char *why = NULL;
    assert_int_equal(cw_client_hello_sni((const unsigned char *)get, strlen(get), sni, 256, &why),
                     CW_HELLO_INVALID);
    assert_non_null(why);
}

static void a_name_that_is_not_a_host_name_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"a..b", ".a", "a.", "a b", "a/b", "a\x01", "ä.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct bytes body = hello_body(bad[i], 0);
        struct bytes in = records(&body, 16384);
        char sni[256];
        assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_INVALID);
    }
}

static void lengths_that_lie_are_refused(void **state)
{
    (void)state;
    struct bytes body = hello_body("x.test", 0);
    struct bytes in = records(&body, 16384);
    char sni[256];
    /* the server_name list says more than its extension holds */
    struct bytes lie = in;
    for (size_t i = 0; i + 6 < lie.n; i++)
        if (!memcmp(lie.v + i, "\x00\x00\x00\x0b\x00\x09", 6)) /* type 0, len 11, list 9 */
            lie.v[i + 5] = 0x40;
    assert_int_equal(read_sni(&lie, lie.n, sni), CW_HELLO_INVALID);
    /* a handshake message that is not a ClientHello */
    struct bytes server_hello = in;
    server_hello.v[5] = 2;
    assert_int_equal(read_sni(&server_hello, server_hello.n, sni), CW_HELLO_INVALID);
    /* a record that is not a handshake */
    struct bytes alert = in;
    alert.v[0] = 21;
    assert_int_equal(read_sni(&alert, alert.n, sni), CW_HELLO_INVALID);
}

static void a_hello_beyond_the_limit_is_refused(void **state)
{
    (void)state;
    struct bytes body = hello_body("big.test", CW_CLIENT_HELLO_MAX);
    struct bytes in = records(&body, 16384);
    char sni[256];
    assert_int_equal(read_sni(&in, in.n, sni), CW_HELLO_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_server_name_is_found_lowercased),
        cmocka_unit_test(every_prefix_asks_for_more),
        cmocka_unit_test(a_hello_split_over_records_is_read),
        cmocka_unit_test(a_hello_without_a_name_says_so),
        cmocka_unit_test(plain_http_is_not_tls),
        cmocka_unit_test(a_name_that_is_not_a_host_name_is_refused),
        cmocka_unit_test(lengths_that_lie_are_refused),
        cmocka_unit_test(a_hello_beyond_the_limit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
