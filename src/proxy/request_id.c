#include "proxy/request_id.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

void cw_request_ids_seed(struct cw_request_ids *ids)
{
    if (getrandom(ids->s, sizeof(ids->s), 0) != (ssize_t)sizeof(ids->s)) {
        struct timespec ts; /* no entropy source: ids stay unique per process, not secret */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ids->s[0] = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
        ids->s[1] = (uint64_t)(uintptr_t)ids ^ 0xD1B54A32D192ED03ull;
    }
    if (!ids->s[0] && !ids->s[1])
        ids->s[1] = 1;
}

static uint64_t next(struct cw_request_ids *ids)
{
    uint64_t x = ids->s[0], y = ids->s[1];
    ids->s[0] = y;
    x ^= x << 23;
    ids->s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return ids->s[1] + y;
}

static bool token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

/* The client's X-Request-Id value when there is exactly one and it is a sane token. */
static bool client_id(const struct cw_http_head *h, char *out)
{
    const struct cw_span *found = NULL;
    for (uint32_t i = 0; i < h->n_headers; i++) {
        const struct cw_span *n = &h->headers[i].name;
        if (!cw_span_is_lower(*n, "x-request-id", 12))
            continue;
        if (found)
            return false; /* two ids: neither is trusted */
        found = &h->headers[i].value;
    }
    if (!found || found->len == 0 || found->len > CW_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < found->len; i++)
        if (!token_char((unsigned char)found->p[i]))
            return false;
    memcpy(out, found->p, found->len);
    out[found->len] = '\0';
    return true;
}

/* 8-4-4-4-12 hexadecimal digits, version 4 and variant bits set as RFC 9562 says. */
static void new_id(struct cw_request_ids *ids, char *out)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t a = next(ids), b = next(ids);
    a = (a & ~0xF000ull) | 0x4000ull;                         /* version 4 */
    b = (b & ~(3ull << 62)) | (2ull << 62);                   /* variant 10 */
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(a >> (56 - 8 * i));
        bytes[8 + i] = (unsigned char)(b >> (56 - 8 * i));
    }
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[bytes[i] >> 4];
        *p++ = hex[bytes[i] & 15];
    }
    *p = '\0';
}

bool cw_request_id(const struct cw_http_head *h, struct cw_request_ids *ids, char *out)
{
    if (client_id(h, out))
        return true;
    new_id(ids, out);
    return false;
}
