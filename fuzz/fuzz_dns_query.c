/*
 * The responder's query reader and answer writer (src/dns/message.h) over a client's datagram.
 * Besides memory safety and UB: a question read is a lowercase name within the message, and the
 * answer written for it reads back as the same question (its header made a query again).
 * Input: the datagram.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "dns/message.h"

static void check_name(const char *name)
{
    size_t n = strlen(name);
    CHECK(n <= CW_DNS_MAX_NAME);
    for (size_t i = 0; i < n; i++)
        CHECK(!(name[i] >= 'A' && name[i] <= 'Z') && name[i] > ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cw_dns_query q;
    int rcode = cw_dns_query_parse(data, size, &q);
    if (rcode < 0)
        return 0;
    CHECK(q.question_end <= size);
    if (rcode == CW_DNS_RCODE_NOERROR)
        check_name(q.name);
    static const struct cw_dns_address addrs[] = {
        {.family = AF_INET, .bytes = {127, 0, 8, 1}},
        {.family = AF_INET6, .bytes = {0xfd, 0, [15] = 1}},
    };
    uint8_t out[600];
    int n = cw_dns_response_write(&q, data, rcode, addrs, 2, 5, out, sizeof(out));
    CHECK(n >= CW_DNS_HEADER_SIZE && (size_t)n <= sizeof(out));
    if (rcode != CW_DNS_RCODE_NOERROR)
        return 0;
    out[2] &= 0x7f; /* the response's header as a query's */
    out[6] = out[7] = 0;
    struct cw_dns_query back;
    CHECK(cw_dns_query_parse(out, (size_t)n, &back) == CW_DNS_RCODE_NOERROR);
    CHECK(!strcmp(back.name, q.name) && back.qtype == q.qtype && back.id == q.id);
    return 0;
}
