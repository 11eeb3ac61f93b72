/*
 * `validate --plan`: each endpoint name, the addresses it has now and when they expire.
 */
#include "cli/dns_plan.h"

#include <stdlib.h>
#include <time.h>

#include "dns/endpoint_names.h"

static void print_addresses(FILE *out, const struct cw_dns_name *n)
{
    for (uint32_t i = 0; i < n->n_addrs; i++) {
        char ip[64];
        cw_dns_address_text(&n->addrs[i], ip, sizeof(ip));
        fprintf(out, "%s%s", i ? "," : " ", ip);
    }
}

/* "2026-12-07T21:05:03Z (in 30s)": when the addresses of <n> are due again (or dropped). */
static void print_expiry(FILE *out, const struct cw_dns_name *n, uint64_t now_ms)
{
    uint64_t at = n->state == CW_DNS_STALE ? n->expires_at_ms : n->refresh_at_ms;
    uint64_t in_s = at > now_ms ? (at - now_ms + 999) / 1000 : 0;
    time_t wall = time(NULL) + (time_t)in_s;
    struct tm tm;
    char text[32];
    gmtime_r(&wall, &tm);
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, " expires %s (in %llus)", text, (unsigned long long)in_s);
}

void cw_print_dns_plan(FILE *out, const struct cw_snapshot *snap, const struct cw_dns_resolver *r)
{
    const char **names;
    uint32_t n = cw_dns_endpoint_names(snap, &names);
    uint64_t now = cw_dns_resolver_now(r);
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_dns_name *dn = cw_dns_resolver_find(r, names[i]);
        fprintf(out, "dns %s", names[i]);
        if (!dn || dn->state == CW_DNS_PENDING) {
            fputs(" not resolved yet\n", out);
            continue;
        }
        if (!dn->n_addrs) {
            fprintf(out, " does not resolve: %s\n", dn->error);
            continue;
        }
        print_addresses(out, dn);
        fprintf(out, " ttl %us", dn->ttl_s);
        if (dn->state == CW_DNS_STALE)
            fprintf(out, " stale (%s)", dn->error);
        print_expiry(out, dn, now);
        fputc('\n', out);
    }
    free(names);
}
