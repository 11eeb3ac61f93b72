#include "util/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cw_ip_prefix_truncate(struct cw_ip_prefix *p, uint8_t len)
{
    unsigned total = p->family == 4 ? 4u : 16u;
    for (unsigned i = 0; i < total; i++) {
        unsigned bit = i * 8u;
        if (bit >= len)
            p->addr[i] = 0;
        else if (bit + 8u > len)
            p->addr[i] &= (uint8_t)(0xffu << (8u - (len - bit)));
    }
    p->len = len;
}

/* Returns 0, -1 for a malformed or out-of-range length, -2 for a leading zero. */
static int parse_len(const char *s, unsigned max, unsigned *out)
{
    if (!*s || strlen(s) > 3)
        return -1;
    unsigned v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        v = v * 10u + (unsigned)(*c - '0');
    }
    if (v > max)
        return -1;
    /* "/08" is not a canonical length; Go rejects leading zeros too. */
    if (s[0] == '0' && s[1])
        return -2;
    *out = v;
    return 0;
}

int cw_ip_prefix_parse(const char *text, struct cw_ip_prefix *out, const char **why)
{
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof(buf)) {
        *why = "not an IP address or CIDR prefix";
        return -1;
    }
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        out->len = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        out->len = 128;
    } else {
        *why = slash ? "not a valid CIDR prefix" : "not a valid IP address";
        return -1;
    }
    if (slash) {
        unsigned len;
        int rc = parse_len(slash + 1, out->len, &len);
        if (rc == -2) {
            *why = "prefix length must not have leading zeros";
            return -1;
        }
        if (rc != 0) {
            *why = out->family == 4 ? "prefix length must be 0-32" : "prefix length must be 0-128";
            return -1;
        }
        cw_ip_prefix_truncate(out, (uint8_t)len);
    }
    return 0;
}

char *cw_ip_addr_format(const struct cw_ip_prefix *p, char *buf)
{
    inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, CW_IP_PREFIX_TEXT);
    return buf;
}

char *cw_ip_prefix_format(const struct cw_ip_prefix *p, char *buf)
{
    cw_ip_addr_format(p, buf);
    size_t n = strlen(buf);
    snprintf(buf + n, CW_IP_PREFIX_TEXT - n, "/%u", p->len);
    return buf;
}

bool cw_ip_prefix_is_host(const struct cw_ip_prefix *p)
{
    return p->len == (p->family == 4 ? 32 : 128);
}

bool cw_ip_literal_sockaddr(const char *text, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        out->ss_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        out->ss_family = AF_INET6;
        return true;
    }
    return false;
}

bool cw_ip_literal(const char *text)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, text, tmp) == 1 || inet_pton(AF_INET6, text, tmp) == 1;
}
