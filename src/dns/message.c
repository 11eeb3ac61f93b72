/*
 * Reading a DNS query's question and writing the answer (see message.h for what is refused).
 */
#include "dns/message.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define FLAG_QR 0x8000
#define FLAG_AA 0x0400
#define FLAG_RD 0x0100
#define OPCODE_MASK 0x7800
#define POINTER_OFFSET_TO_QUESTION 0xc00c /* compression pointer to the question's name */

static uint16_t read16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void write16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Letters, digits, '-', '_' (service labels) and '*'; anything else cannot be a name we serve, and
 * keeping it out means a name never holds a '.' inside a label or a control character. */
static bool host_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '*';
}

/*
 * Reads the uncompressed name at msg[*off] into <out> (lowercase, dotted). Returns false when it
 * runs past the message, uses compression or another label type, is longer than 255 bytes on
 * the wire, or holds a character no host name has.
 */
static bool read_name(const uint8_t *msg, size_t len, size_t *off, char *out)
{
    size_t at = *off, wire = 0, n = 0;
    for (;;) {
        if (at >= len)
            return false;
        uint8_t label = msg[at++];
        wire += 1u + label;
        if (label == 0)
            break;
        if (label > 63 || wire > 255 || at + label > len)
            return false; /* 0x40-0xff: compression pointer or reserved label type */
        if (n)
            out[n++] = '.';
        for (uint8_t i = 0; i < label; i++) {
            uint8_t c = msg[at + i];
            if (!host_char(c) || n >= CW_DNS_MAX_NAME)
                return false;
            out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        at += label;
    }
    out[n] = '\0';
    *off = at;
    return true;
}

int cw_dns_query_parse(const uint8_t *msg, size_t len, struct cw_dns_query *q)
{
    memset(q, 0, sizeof(*q));
    if (len < CW_DNS_HEADER_SIZE)
        return -1;
    q->id = read16(msg);
    q->flags = read16(msg + 2);
    if (q->flags & FLAG_QR)
        return -1; /* a response: answering it could start a loop between two servers */
    if (q->flags & OPCODE_MASK)
        return CW_DNS_RCODE_NOTIMP;
    /* Exactly one question (what every resolver sends); answers and authorities have no place
     * in a query. Additional records (EDNS) are allowed and ignored. */
    if (read16(msg + 4) != 1 || read16(msg + 6) != 0 || read16(msg + 8) != 0)
        return CW_DNS_RCODE_FORMERR;
    size_t off = CW_DNS_HEADER_SIZE;
    if (!read_name(msg, len, &off, q->name) || off + 4 > len)
        return CW_DNS_RCODE_FORMERR;
    q->qtype = read16(msg + off);
    q->qclass = read16(msg + off + 2);
    q->question_end = off + 4;
    return CW_DNS_RCODE_NOERROR;
}

static bool wanted(const struct cw_dns_query *q, int family)
{
    return q->qtype == CW_DNS_TYPE_ANY || (q->qtype == CW_DNS_TYPE_A && family == AF_INET) ||
           (q->qtype == CW_DNS_TYPE_AAAA && family == AF_INET6);
}

/* One answer record for <a>; returns its size, or 0 when it does not fit. */
static size_t write_answer(uint8_t *p, size_t room, const struct cw_dns_address *a, uint32_t ttl)
{
    size_t rdlen = a->family == AF_INET ? 4 : 16;
    if (room < 12 + rdlen)
        return 0;
    write16(p, POINTER_OFFSET_TO_QUESTION);
    write16(p + 2, a->family == AF_INET ? CW_DNS_TYPE_A : CW_DNS_TYPE_AAAA);
    write16(p + 4, CW_DNS_CLASS_IN);
    write16(p + 6, (uint16_t)(ttl >> 16));
    write16(p + 8, (uint16_t)ttl);
    write16(p + 10, (uint16_t)rdlen);
    memcpy(p + 12, a->bytes, rdlen);
    return 12 + rdlen;
}

int cw_dns_response_write(const struct cw_dns_query *q, const uint8_t *msg, int rcode,
                          const struct cw_dns_address *addrs, uint32_t n, uint32_t ttl,
                          uint8_t *out, size_t cap)
{
    size_t qlen = q->question_end ? q->question_end - CW_DNS_HEADER_SIZE : 0;
    if (cap < CW_DNS_HEADER_SIZE + qlen)
        return -1;
    uint16_t flags = FLAG_QR | (q->flags & (OPCODE_MASK | FLAG_RD)) | (uint16_t)(rcode & 0xf);
    if (rcode == CW_DNS_RCODE_NOERROR)
        flags |= FLAG_AA; /* the gateway is the authority for the names it serves */
    memset(out, 0, CW_DNS_HEADER_SIZE);
    write16(out, q->id);
    write16(out + 2, flags);
    write16(out + 4, qlen ? 1 : 0);
    memcpy(out + CW_DNS_HEADER_SIZE, msg + CW_DNS_HEADER_SIZE, qlen);
    size_t at = CW_DNS_HEADER_SIZE + qlen;
    uint16_t answers = 0;
    for (uint32_t i = 0; qlen && rcode == CW_DNS_RCODE_NOERROR && i < n; i++) {
        if (!wanted(q, addrs[i].family))
            continue;
        size_t w = write_answer(out + at, cap - at, &addrs[i], ttl);
        if (!w)
            return -1;
        at += w;
        answers++;
    }
    write16(out + 6, answers);
    return (int)at;
}
