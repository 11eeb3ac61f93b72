/*
 * One resolved name's bookkeeping (dns/names.h): TTL clamping, address-set changes, and
 * last-known-good when lookups fail.
 */
#include <arpa/inet.h>
#include <string.h>

#include "dns/names.h"
#include "support.h"

static const struct cw_dns_settings S = {
    .min_ttl_ms = 1000, .max_ttl_ms = 300000, .stale_for_ms = 600000};

static struct sockaddr_storage v4(const char *text)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    a.ss_family = AF_INET;
    inet_pton(AF_INET, text, &((struct sockaddr_in *)&a)->sin_addr);
    return a;
}

static void ttl_is_clamped(void **state)
{
    (void)state;
    struct cw_dns_name n;
    cw_dns_name_init(&n, "api.example.test");
    struct sockaddr_storage a = v4("10.0.0.1");
    cw_dns_name_answered(&n, &S, &a, 1, 0, 1000);
    assert_int_equal(n.refresh_at_ms, 1000 + 1000); /* TTL 0: no sooner than --dns-min-ttl */
    cw_dns_name_answered(&n, &S, &a, 1, 86400, 5000);
    assert_int_equal(n.refresh_at_ms, 5000 + 300000); /* a day: no later than --dns-max-ttl */
    cw_dns_name_answered(&n, &S, &a, 1, 30, 5000);
    assert_int_equal(n.refresh_at_ms, 5000 + 30000);
    cw_dns_name_deinit(&n);
}

static void a_new_address_set_is_a_change_and_order_is_not(void **state)
{
    (void)state;
    struct cw_dns_name n;
    cw_dns_name_init(&n, "api.example.test");
    struct sockaddr_storage ab[] = {v4("10.0.0.1"), v4("10.0.0.2")};
    struct sockaddr_storage ba[] = {v4("10.0.0.2"), v4("10.0.0.1"), v4("10.0.0.2")};
    assert_true(cw_dns_name_answered(&n, &S, ab, 2, 5, 0).addresses); /* first answer */
    assert_false(cw_dns_name_answered(&n, &S, ba, 3, 5, 10).addresses); /* same set */
    assert_int_equal(n.n_addrs, 2);                                     /* deduplicated */
    assert_true(cw_dns_name_answered(&n, &S, ab, 1, 5, 20).addresses);  /* one left */
    assert_int_equal(n.n_addrs, 1);
    cw_dns_name_deinit(&n);
}

static void a_failure_keeps_the_last_addresses_until_stale_for(void **state)
{
    (void)state;
    struct cw_dns_name n;
    cw_dns_name_init(&n, "api.example.test");
    struct sockaddr_storage a = v4("10.0.0.1");
    cw_dns_name_answered(&n, &S, &a, 1, 5, 1000);
    struct cw_dns_change c = cw_dns_name_failed(&n, &S, "NXDOMAIN", 6000);
    assert_true(c.failing);
    assert_false(c.addresses);
    assert_int_equal(n.state, CW_DNS_STALE);
    assert_int_equal(n.n_addrs, 1);
    assert_int_equal(n.expires_at_ms, 1000 + 600000);
    /* The same failure again is not news; another reason is. */
    assert_false(cw_dns_name_failed(&n, &S, "NXDOMAIN", 7000).failing);
    assert_true(cw_dns_name_failed(&n, &S, "timeout", 9000).failing);
    /* Past stale_for the addresses go: that is a change. */
    c = cw_dns_name_failed(&n, &S, "timeout", 1000 + 600000);
    assert_true(c.addresses && c.dropped);
    assert_int_equal(n.n_addrs, 0);
    assert_int_equal(n.state, CW_DNS_FAILED);
    assert_int_equal(n.failures_total, 4);
    /* An answer brings them back, and says it recovered. */
    c = cw_dns_name_answered(&n, &S, &a, 1, 5, 700000);
    assert_true(c.addresses && c.recovered);
    cw_dns_name_deinit(&n);
}

static void failed_lookups_back_off(void **state)
{
    (void)state;
    struct cw_dns_name n;
    cw_dns_name_init(&n, "never.example.test");
    uint64_t expect[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        cw_dns_name_failed(&n, &S, "timeout", 0);
        assert_int_equal(n.refresh_at_ms, expect[i]);
    }
    assert_int_equal(n.state, CW_DNS_FAILED);
    /* An answer with no address is a failure, not an empty host set. */
    struct cw_dns_name m;
    cw_dns_name_init(&m, "empty.example.test");
    struct cw_dns_change c = cw_dns_name_answered(&m, &S, NULL, 0, 5, 0);
    assert_true(c.failing);
    assert_string_equal(m.error, "no address");
    cw_dns_name_deinit(&m);
    cw_dns_name_deinit(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ttl_is_clamped),
        cmocka_unit_test(a_new_address_set_is_a_change_and_order_is_not),
        cmocka_unit_test(a_failure_keeps_the_last_addresses_until_stale_for),
        cmocka_unit_test(failed_lookups_back_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
