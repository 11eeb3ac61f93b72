/*
 * IP addresses and CIDR prefixes in canonical form, so that 10.0.0.1, 10.0.0.1/32 and
 * 010.0.0.1-free spellings compare equal and IPv6 has one spelling (RFC 5952 via inet_ntop).
 */
#ifndef CW_UTIL_NETADDR_H
#define CW_UTIL_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct cw_ip_prefix {
    uint8_t family; /* 4 or 6 */
    uint8_t len;    /* prefix length; 32/128 for a plain address */
    uint8_t addr[16];
};

/* Longest text of a canonical prefix: an IPv6 address, '/', three digits, NUL. */
#define CW_IP_PREFIX_TEXT 56

/*
 * Parses "1.2.3.4", "1.2.3.4/24", "2001:db8::1" or "2001:db8::/64". Host bits beyond the prefix
 * are cleared (as Go's net.ParseCIDR reports the network). Returns 0, or -1 with <*why> set to
 * a static reason.
 */
int cw_ip_prefix_parse(const char *text, struct cw_ip_prefix *out, const char **why);

/* Writes the canonical "addr/len" form into <buf> (CW_IP_PREFIX_TEXT bytes); returns <buf>. */
char *cw_ip_prefix_format(const struct cw_ip_prefix *p, char *buf);

/* Writes only the address part (no "/len"). */
char *cw_ip_addr_format(const struct cw_ip_prefix *p, char *buf);

/* True for a single address: /32 for IPv4, /128 for IPv6. */
bool cw_ip_prefix_is_host(const struct cw_ip_prefix *p);

/* True when <text> is a plain IPv4 or IPv6 literal without a prefix length. */
bool cw_ip_literal(const char *text);

/* The address <text> (IPv4 or IPv6, port 0) as a socket address; false when it is neither. */
bool cw_ip_literal_sockaddr(const char *text, struct sockaddr_storage *out);

/* Clears the bits of <p> beyond <len> and sets p->len = len. */
void cw_ip_prefix_truncate(struct cw_ip_prefix *p, uint8_t len);

#endif
