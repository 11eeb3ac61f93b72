/*
 * One resolved name's addresses, TTL and last-known-good (names.h has the rules).
 */
#include "dns/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define FAILURE_BACKOFF_CAP_MS 30000

void cw_dns_name_init(struct cw_dns_name *n, const char *name)
{
    memset(n, 0, sizeof(*n));
    n->name = cw_xstrdup(name);
}

void cw_dns_name_deinit(struct cw_dns_name *n)
{
    free(n->name);
    n->name = NULL;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Only the family and the address count: ports are the endpoints', not the name's. */
static int compare_addresses(const void *x, const void *y)
{
    const struct sockaddr_storage *a = x, *b = y;
    if (a->ss_family != b->ss_family)
        return a->ss_family < b->ss_family ? -1 : 1;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4);
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/* Sorts and deduplicates <in> into <out>; returns how many are kept. */
static uint32_t normalise(const struct sockaddr_storage *in, uint32_t n,
                          struct sockaddr_storage *out)
{
    struct sockaddr_storage tmp[CW_DNS_MAX_ADDRESSES * 2];
    if (n > CW_DNS_MAX_ADDRESSES * 2)
        n = CW_DNS_MAX_ADDRESSES * 2;
    if (n == 0)
        return 0;
    memcpy(tmp, in, n * sizeof(*in));
    qsort(tmp, n, sizeof(*tmp), compare_addresses);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n && k < CW_DNS_MAX_ADDRESSES; i++) {
        if (k && !compare_addresses(&out[k - 1], &tmp[i]))
            continue;
        memset(&out[k], 0, sizeof(out[k]));
        out[k].ss_family = tmp[i].ss_family;
        if (tmp[i].ss_family == AF_INET)
            ((struct sockaddr_in *)&out[k])->sin_addr = ((struct sockaddr_in *)&tmp[i])->sin_addr;
        else
            ((struct sockaddr_in6 *)&out[k])->sin6_addr =
                ((struct sockaddr_in6 *)&tmp[i])->sin6_addr;
        k++;
    }
    return k;
}

static bool same_set(const struct sockaddr_storage *a, uint32_t na,
                     const struct sockaddr_storage *b, uint32_t nb)
{
    if (na != nb)
        return false;
    for (uint32_t i = 0; i < na; i++)
        if (compare_addresses(&a[i], &b[i]))
            return false;
    return true;
}

struct cw_dns_change cw_dns_name_answered(struct cw_dns_name *n, const struct cw_dns_settings *s,
                                          const struct sockaddr_storage *addrs, uint32_t n_addrs,
                                          uint32_t ttl_s, uint64_t now_ms)
{
    struct sockaddr_storage fresh[CW_DNS_MAX_ADDRESSES];
    uint32_t k = normalise(addrs, n_addrs, fresh);
    if (k == 0)
        return cw_dns_name_failed(n, s, "no address", now_ms);
    struct cw_dns_change c = {.recovered = n->failures > 0 && n->state != CW_DNS_PENDING};
    c.addresses = !same_set(n->addrs, n->n_addrs, fresh, k);
    memcpy(n->addrs, fresh, k * sizeof(*fresh));
    n->n_addrs = k;
    n->state = CW_DNS_RESOLVED;
    n->ttl_s = ttl_s;
    n->failures = 0;
    n->error[0] = '\0';
    n->confirmed_at_ms = now_ms;
    n->expires_at_ms = 0;
    n->refresh_at_ms = now_ms + clamp((uint64_t)ttl_s * 1000, s->min_ttl_ms, s->max_ttl_ms);
    return c;
}

struct cw_dns_change cw_dns_name_failed(struct cw_dns_name *n, const struct cw_dns_settings *s,
                                        const char *reason, uint64_t now_ms)
{
    struct cw_dns_change c = {.failing = n->failures == 0 || strcmp(n->error, reason) != 0};
    snprintf(n->error, sizeof(n->error), "%s", reason);
    n->failures++;
    n->failures_total++;
    if (n->n_addrs && n->state != CW_DNS_FAILED) {
        /* Last-known-good: the addresses stay until stale_for past their last confirmation. */
        n->expires_at_ms = n->confirmed_at_ms + s->stale_for_ms;
        n->state = CW_DNS_STALE;
        if (now_ms >= n->expires_at_ms) {
            n->n_addrs = 0;
            n->state = CW_DNS_FAILED;
            c.addresses = c.dropped = true;
        }
    } else {
        n->state = CW_DNS_FAILED;
    }
    uint32_t doublings = n->failures - 1 < 16 ? n->failures - 1 : 16;
    uint64_t backoff = clamp(s->min_ttl_ms << doublings, s->min_ttl_ms,
                             s->max_ttl_ms < FAILURE_BACKOFF_CAP_MS ? s->max_ttl_ms
                                                                    : FAILURE_BACKOFF_CAP_MS);
    n->refresh_at_ms = now_ms + backoff;
    if (n->state == CW_DNS_STALE && n->refresh_at_ms > n->expires_at_ms)
        n->refresh_at_ms = n->expires_at_ms; /* look once more before giving them up */
    return c;
}

void cw_dns_address_text(const struct sockaddr_storage *a, char *out, size_t size)
{
    const void *bytes = a->ss_family == AF_INET
                            ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
                            : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;
    if (!inet_ntop(a->ss_family, bytes, out, (socklen_t)size))
        snprintf(out, size, "?");
}

const char *cw_dns_name_state_text(enum cw_dns_state s)
{
    switch (s) {
    case CW_DNS_PENDING:
        return "not resolved yet";
    case CW_DNS_RESOLVED:
        return "resolved";
    case CW_DNS_STALE:
        return "stale (last-known-good)";
    case CW_DNS_FAILED:
        break;
    }
    return "does not resolve";
}
