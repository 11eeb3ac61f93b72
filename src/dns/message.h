/*
 * The DNS wire format, as far as the responder needs it (RFC 1035 §4): reading the one question of
 * a query and writing the answer. Pure functions over buffers; any thread.
 *
 * A query is read defensively because anyone who can reach the port can send one: no compression
 * pointer is followed (a question has nothing earlier to point at, so a pointer there is malformed
 * and a loop is impossible), counts are checked, never used to size a loop, and every read is
 * bounded by the message length.
 */
#ifndef CW_DNS_MESSAGE_H
#define CW_DNS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#define CW_DNS_TYPE_A 1
#define CW_DNS_TYPE_AAAA 28
#define CW_DNS_TYPE_ANY 255
#define CW_DNS_CLASS_IN 1

#define CW_DNS_RCODE_NOERROR 0
#define CW_DNS_RCODE_FORMERR 1
#define CW_DNS_RCODE_SERVFAIL 2
#define CW_DNS_RCODE_NOTIMP 4
#define CW_DNS_RCODE_REFUSED 5

#define CW_DNS_HEADER_SIZE 12
#define CW_DNS_MAX_NAME 253 /* presentation form, without the final dot */

struct cw_dns_query {
    uint16_t id;
    uint16_t flags;                  /* as received: opcode and RD are echoed */
    char name[CW_DNS_MAX_NAME + 1];  /* lowercase, dotted, no final dot; "" for the root */
    uint16_t qtype, qclass;
    size_t question_end;             /* offset just past the question; 0 when it was not read */
};

/* An address the responder gives out (--advertise-address). */
struct cw_dns_address {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
};

/*
 * Reads the header and the single question of query <msg>. Returns CW_DNS_RCODE_NOERROR, the
 * rcode to answer with when the query is malformed or not one we serve (FORMERR, NOTIMP; the
 * header is then valid and the question may not be), or -1 when nothing should be sent back at
 * all (shorter than a header, or a response rather than a query).
 */
int cw_dns_query_parse(const uint8_t *msg, size_t len, struct cw_dns_query *q);

/*
 * Writes the response to <q> (read from <msg>, whose question is echoed byte for byte) into
 * <out>: <rcode>, and one answer of <ttl> seconds for each of the <n> addresses whose family the
 * question asks for (A, AAAA or ANY). Returns the length, or -1 when <cap> is too small.
 */
int cw_dns_response_write(const struct cw_dns_query *q, const uint8_t *msg, int rcode,
                          const struct cw_dns_address *addrs, uint32_t n, uint32_t ttl,
                          uint8_t *out, size_t cap);

#endif
