/*
 * The responder's wire format (dns/message.h): a query's question read, hostile queries
 * refused without reading past the message, and answers that echo the question.
 */
#include <string.h>
#include <sys/socket.h>

#include "dns/message.h"
#include "support.h"

/* Header (ID 0x1234, RD, one question) + "database.external" A IN. */
static const uint8_t QUERY[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                8,    'D',  'a',  't',  'a', 'b', 'a', 's', 'e',
                                8,    'e',  'x',  't',  'e', 'r', 'n', 'a', 'l',
                                0,    0,    1,    0,    1};

static void a_query_is_read_lowercase(void **state)
{
    (void)state;
    struct cw_dns_query q;
    assert_int_equal(cw_dns_query_parse(QUERY, sizeof(QUERY), &q), CW_DNS_RCODE_NOERROR);
    assert_string_equal(q.name, "database.external");
    assert_int_equal(q.qtype, CW_DNS_TYPE_A);
    assert_int_equal(q.id, 0x1234);
    assert_int_equal(q.question_end, sizeof(QUERY));
}

static void hostile_queries_are_refused(void **state)
{
    (void)state;
    struct cw_dns_query q;
    uint8_t m[sizeof(QUERY) + 8];
    for (size_t cut = 0; cut < sizeof(QUERY); cut++) /* every truncation */
        assert_true(cw_dns_query_parse(QUERY, cut, &q) != CW_DNS_RCODE_NOERROR);
    assert_int_equal(cw_dns_query_parse(QUERY, 11, &q), -1); /* not even a header: dropped */
    memcpy(m, QUERY, sizeof(QUERY));
    m[12] = 0xc0; /* a compression pointer at the question: to itself, a loop */
    m[13] = 12;
    assert_int_equal(cw_dns_query_parse(m, sizeof(QUERY), &q), CW_DNS_RCODE_FORMERR);
    memcpy(m, QUERY, sizeof(QUERY));
    m[4] = m[5] = m[6] = m[7] = 0xff; /* 65535 questions and answers */
    assert_int_equal(cw_dns_query_parse(m, sizeof(QUERY), &q), CW_DNS_RCODE_FORMERR);
    memcpy(m, QUERY, sizeof(QUERY));
    m[2] |= 0x80; /* a response: never answered */
    assert_int_equal(cw_dns_query_parse(m, sizeof(QUERY), &q), -1);
    memcpy(m, QUERY, sizeof(QUERY));
    m[2] |= 0x28; /* opcode 5 (UPDATE) */
    assert_int_equal(cw_dns_query_parse(m, sizeof(QUERY), &q), CW_DNS_RCODE_NOTIMP);
    memcpy(m, QUERY, sizeof(QUERY));
    m[13] = '.'; /* a dot inside a label */
    assert_int_equal(cw_dns_query_parse(m, sizeof(QUERY), &q), CW_DNS_RCODE_FORMERR);
}

static void an_answer_echoes_the_question_with_the_addresses_asked_for(void **state)
{
    (void)state;
    struct cw_dns_query q;
    cw_dns_query_parse(QUERY, sizeof(QUERY), &q);
    const struct cw_dns_address addrs[] = {
        {.family = AF_INET, .bytes = {127, 0, 8, 90}},
        {.family = AF_INET6, .bytes = {0xfd, [15] = 0x90}},
    };
    uint8_t out[512];
    int n = cw_dns_response_write(&q, QUERY, CW_DNS_RCODE_NOERROR, addrs, 2, 5, out, sizeof(out));
    assert_int_equal(n, sizeof(QUERY) + 16); /* one A record: pointer, type, class, TTL, 4 */
    assert_int_equal(out[2], 0x85);          /* QR, AA, RD */
    assert_int_equal(out[3], 0x00);          /* NOERROR, no RA */
    assert_int_equal(out[7], 1);             /* one answer */
    assert_memory_equal(out + 12, QUERY + 12, sizeof(QUERY) - 12);
    const uint8_t *a = out + sizeof(QUERY);
    assert_int_equal(a[0], 0xc0);
    assert_int_equal(a[9], 5); /* TTL */
    assert_memory_equal(a + 12, addrs[0].bytes, 4);
    n = cw_dns_response_write(&q, QUERY, CW_DNS_RCODE_REFUSED, addrs, 2, 5, out, sizeof(out));
    assert_int_equal(n, sizeof(QUERY));
    assert_int_equal(out[3] & 0x0f, CW_DNS_RCODE_REFUSED);
    assert_int_equal(out[7], 0);
    assert_int_equal(cw_dns_response_write(&q, QUERY, 0, addrs, 2, 5, out, 20), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_query_is_read_lowercase),
        cmocka_unit_test(hostile_queries_are_refused),
        cmocka_unit_test(an_answer_echoes_the_question_with_the_addresses_asked_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
