/*
 * IP addresses and CIDR prefixes (util/netaddr.h): ExternalService addresses are compared in
 * canonical form, so two spellings of one network must collide and bad input must be refused.
 */
#include <string.h>

#include "support.h"
#include "util/netaddr.h"

/* Parses <text> and returns its canonical "addr/len" in <buf>. */
static const char *canon(const char *text, char *buf)
{
    struct cw_ip_prefix p;
    const char *why = NULL;
    if (cw_ip_prefix_parse(text, &p, &why) != 0)
        fail_msg("\"%s\" rejected: %s", text, why);
    return cw_ip_prefix_format(&p, buf);
}

static void assert_bad(const char *text, const char *word)
{
    struct cw_ip_prefix p;
    const char *why = NULL;
    if (cw_ip_prefix_parse(text, &p, &why) == 0)
        fail_msg("\"%s\" accepted", text);
    assert_non_null(why);
    if (!strstr(why, word))
        fail_msg("\"%s\": reason \"%s\" does not mention \"%s\"", text, why, word);
}

static void ipv4_canonical_forms(void **state)
{
    (void)state;
    char buf[CW_IP_PREFIX_TEXT];
    assert_string_equal(canon("10.0.0.1", buf), "10.0.0.1/32");
    assert_string_equal(canon("10.0.0.1/32", buf), "10.0.0.1/32");
    assert_string_equal(canon("10.1.0.0/16", buf), "10.1.0.0/16");
    assert_string_equal(canon("0.0.0.0/0", buf), "0.0.0.0/0");
    assert_string_equal(canon("255.255.255.255", buf), "255.255.255.255/32");
}

static void host_bits_are_cleared(void **state)
{
    (void)state;
    char buf[CW_IP_PREFIX_TEXT];
    /* As Go's net.ParseCIDR reports the network, so 10.1.2.3/16 overlaps 10.1.0.0/16. */
    assert_string_equal(canon("10.1.2.3/16", buf), "10.1.0.0/16");
    assert_string_equal(canon("10.1.2.3/0", buf), "0.0.0.0/0");
    assert_string_equal(canon("192.168.1.255/25", buf), "192.168.1.128/25");
    assert_string_equal(canon("192.168.1.255/23", buf), "192.168.0.0/23");
    assert_string_equal(canon("2001:db8::ffff/64", buf), "2001:db8::/64");
    assert_string_equal(canon("2001:db8:abcd:12ff::1/52", buf), "2001:db8:abcd:1000::/52");
}

static void ipv6_canonical_forms(void **state)
{
    (void)state;
    char buf[CW_IP_PREFIX_TEXT];
    assert_string_equal(canon("2001:DB8:0:0::1", buf), "2001:db8::1/128");
    assert_string_equal(canon("2001:0db8:0000:0000:0000:0000:0000:0001", buf), "2001:db8::1/128");
    assert_string_equal(canon("::1", buf), "::1/128");
    assert_string_equal(canon("::", buf), "::/128");
    assert_string_equal(canon("2001:db8::/32", buf), "2001:db8::/32");
    assert_string_equal(canon("::ffff:10.0.0.1", buf), "::ffff:10.0.0.1/128");
    /* The longest possible text fits CW_IP_PREFIX_TEXT. */
    assert_string_equal(canon("1111:2222:3333:4444:5555:6666:7777:8888/128", buf),
                        "1111:2222:3333:4444:5555:6666:7777:8888/128");
}

static void family_and_host(void **state)
{
    (void)state;
    struct cw_ip_prefix p;
    const char *why;
    assert_int_equal(cw_ip_prefix_parse("10.0.0.1", &p, &why), 0);
    assert_int_equal(p.family, 4);
    assert_int_equal(p.len, 32);
    assert_true(cw_ip_prefix_is_host(&p));
    assert_int_equal(cw_ip_prefix_parse("10.0.0.0/8", &p, &why), 0);
    assert_false(cw_ip_prefix_is_host(&p));
    assert_int_equal(cw_ip_prefix_parse("2001:db8::1", &p, &why), 0);
    assert_int_equal(p.family, 6);
    assert_int_equal(p.len, 128);
    assert_true(cw_ip_prefix_is_host(&p));
    assert_int_equal(cw_ip_prefix_parse("2001:db8::/64", &p, &why), 0);
    assert_false(cw_ip_prefix_is_host(&p));

    char buf[CW_IP_PREFIX_TEXT];
    assert_int_equal(cw_ip_prefix_parse("10.9.8.7/8", &p, &why), 0);
    assert_string_equal(cw_ip_addr_format(&p, buf), "10.0.0.0"); /* no "/len" */
}

static void truncate_to_shorter_prefix(void **state)
{
    (void)state;
    struct cw_ip_prefix p;
    const char *why;
    char buf[CW_IP_PREFIX_TEXT];
    assert_int_equal(cw_ip_prefix_parse("10.20.30.40", &p, &why), 0);
    cw_ip_prefix_truncate(&p, 20);
    assert_string_equal(cw_ip_prefix_format(&p, buf), "10.20.16.0/20");
    cw_ip_prefix_truncate(&p, 0);
    assert_string_equal(cw_ip_prefix_format(&p, buf), "0.0.0.0/0");
}

static void bad_inputs(void **state)
{
    (void)state;
    assert_bad("", "not an IP address");
    assert_bad("10.0.0.256", "not a valid IP address");
    assert_bad("10.0.0", "not a valid IP address");
    assert_bad("010.0.0.1", "not a valid IP address"); /* leading zeros are octal to some */
    assert_bad("db.example.com", "not a valid IP address");
    assert_bad("10.0.0.1 ", "not a valid IP address");
    assert_bad("10.0.0.256/24", "CIDR");
    assert_bad("10.0.0.1/33", "0-32");
    assert_bad("10.0.0.1/", "0-32");
    assert_bad("10.0.0.1/-1", "0-32");
    assert_bad("10.0.0.1/8x", "0-32");
    assert_bad("10.0.0.1/1000", "0-32");
    assert_bad("10.0.0.0/08", "leading zeros");
    assert_bad("::1/129", "0-128");
    assert_bad("2001:db8::/064", "leading zeros");
    assert_bad("2001:db8:::1", "not a valid IP address");
    assert_bad("[::1]", "not a valid IP address");
    /* Longer than any address: refused, not overflowing. */
    assert_bad("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/128", "not");
}

static void ip_literal(void **state)
{
    (void)state;
    assert_true(cw_ip_literal("10.0.0.1"));
    assert_true(cw_ip_literal("2001:db8::1"));
    assert_true(cw_ip_literal("::1"));
    assert_false(cw_ip_literal("10.0.0.1/32")); /* a prefix is not an endpoint address */
    assert_false(cw_ip_literal("10.0.0.256"));
    assert_false(cw_ip_literal("db.example.com"));
    assert_false(cw_ip_literal(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_canonical_forms),
        cmocka_unit_test(host_bits_are_cleared),
        cmocka_unit_test(ipv6_canonical_forms),
        cmocka_unit_test(family_and_host),
        cmocka_unit_test(truncate_to_shorter_prefix),
        cmocka_unit_test(bad_inputs),
        cmocka_unit_test(ip_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
