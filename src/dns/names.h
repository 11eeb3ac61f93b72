/*
 * What the gateway knows about one name it resolves: its addresses, when to look again, and
 * whether it is serving the last-known-good addresses while lookups fail. Pure bookkeeping with
 * the time passed in (resolver.c does the lookups); control thread only.
 *
 * The rules (README "DNS"): a successful answer replaces the addresses and is trusted for its
 * TTL, clamped to [min_ttl, max_ttl]; a failed lookup (SERVFAIL, timeout, NXDOMAIN, no address)
 * keeps the last good addresses until stale_for has passed since they were last confirmed
 * (Envoy's STRICT_DNS empties the cluster instead; peers.md §3 #9), and is retried with a
 * backoff from min_ttl doubling up to 30 s (never beyond max_ttl).
 */
#ifndef CW_DNS_NAMES_H
#define CW_DNS_NAMES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define CW_DNS_MAX_ADDRESSES 16 /* per name: more records than this are not used */

struct cw_dns_settings {
    uint64_t min_ttl_ms, max_ttl_ms; /* --dns-min-ttl, --dns-max-ttl */
    uint64_t stale_for_ms;           /* --dns-stale-for */
};

enum cw_dns_state {
    CW_DNS_PENDING,  /* asked, never answered yet */
    CW_DNS_RESOLVED, /* the addresses come from the last answer */
    CW_DNS_STALE,    /* lookups fail; the last good addresses are still served */
    CW_DNS_FAILED,   /* no addresses: never resolved, or stale for too long */
};

struct cw_dns_name {
    char *name;
    enum cw_dns_state state;
    struct sockaddr_storage addrs[CW_DNS_MAX_ADDRESSES]; /* sorted; port 0 */
    uint32_t n_addrs;
    uint32_t ttl_s;           /* of the last answer, before clamping */
    uint64_t refresh_at_ms;   /* monotonic: when to look again */
    uint64_t confirmed_at_ms; /* monotonic: last answer that gave these addresses */
    uint64_t expires_at_ms;   /* monotonic: when stale addresses are dropped (STALE only) */
    uint32_t failures;        /* consecutive failed lookups */
    uint64_t failures_total;
    char error[96]; /* why the last lookup failed ("" after a success) */
};

/* What one lookup's outcome changed, for the event log and the generation rebuild. */
struct cw_dns_change {
    bool addresses; /* the address set differs: hosts must be rebuilt */
    bool failing;   /* a failure that is new, or whose reason changed: log it once */
    bool recovered; /* the first success after failures */
    bool dropped;   /* the stale addresses were given up */
};

void cw_dns_name_init(struct cw_dns_name *n, const char *name);
void cw_dns_name_deinit(struct cw_dns_name *n);

/* Applies a successful answer at <now_ms>: <n_addrs> addresses (any order, duplicates allowed)
 * with the smallest TTL <ttl_s>. An answer with no address counts as a failure "no address". */
struct cw_dns_change cw_dns_name_answered(struct cw_dns_name *n, const struct cw_dns_settings *s,
                                          const struct sockaddr_storage *addrs, uint32_t n_addrs,
                                          uint32_t ttl_s, uint64_t now_ms);

/* Applies a failed lookup (<reason>: "NXDOMAIN", "timeout", ...) at <now_ms>. */
struct cw_dns_change cw_dns_name_failed(struct cw_dns_name *n, const struct cw_dns_settings *s,
                                        const char *reason, uint64_t now_ms);

/* "127.0.8.1" / "::1": the address alone, for logs and the plan. */
void cw_dns_address_text(const struct sockaddr_storage *a, char *out, size_t size);

/* "resolved", "stale (last-known-good)", "does not resolve", "not resolved yet". */
const char *cw_dns_name_state_text(enum cw_dns_state s);

#endif
