/*
 * Asynchronous name resolution with c-ares on the control thread's libuv loop: the names of
 * hostname endpoints are looked up, re-resolved when their TTL expires (names.h has the rules
 * for TTLs and last-known-good), and every change of an address set is reported through a
 * callback so the caller can build a new generation. Nothing here blocks: c-ares's sockets are
 * watched by the loop (its socket-state callback), its timeouts by a loop timer.
 *
 * All functions: control thread only.
 */
#ifndef CW_DNS_RESOLVER_H
#define CW_DNS_RESOLVER_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <uv.h>

#include "dns/names.h"

struct cw_dns_resolver_config {
    const char *const *servers; /* "ADDR[:PORT]" ("[v6]:PORT"); none: /etc/resolv.conf */
    unsigned n_servers;
    const char *hosts_file; /* consulted before DNS (/etc/hosts); NULL: none */
    struct cw_dns_settings settings;
    FILE *events; /* event=dns-... lines; NULL: none */
};

struct cw_dns_resolver;

/* Creates a resolver on <loop>. Returns 0, or -1 with the reason in <why>. */
int cw_dns_resolver_new(struct cw_dns_resolver **out, uv_loop_t *loop,
                        const struct cw_dns_resolver_config *cfg, char *why, size_t size);

/* <fn>(<data>) runs on the loop, once per burst of lookups that changed some address set. */
void cw_dns_resolver_on_change(struct cw_dns_resolver *r, void (*fn)(void *data), void *data);

/*
 * The names the configuration being served needs: each is looked up now (a reload re-resolves
 * at once), names no longer listed stop being refreshed (their entry stays, so a name that comes
 * back starts from what was known).
 */
void cw_dns_resolver_want(struct cw_dns_resolver *r, const char *const *names, uint32_t n);

/* How many wanted names have not had a first answer yet. */
uint32_t cw_dns_resolver_unanswered(const struct cw_dns_resolver *r);

/* Runs the loop until every wanted name had a first answer or <timeout_ms> passed: a bounded
 * wait, for start and `validate`, before anything else runs on the loop. */
void cw_dns_resolver_settle(struct cw_dns_resolver *r, uint64_t timeout_ms);

/* What is known about <name>, or NULL when it was never wanted. */
const struct cw_dns_name *cw_dns_resolver_find(const struct cw_dns_resolver *r, const char *name);

/* Writes up to <cap> addresses of <name> (port 0); returns how many, or -1 when it has none (never
 * resolved, or stale for too long). Matches struct cw_name_lookup (upstream.h). */
int cw_dns_resolver_addresses(void *resolver, const char *name, struct sockaddr_storage *out,
                              uint32_t cap);

/* Why lookups failed, as the metrics count them. */
enum cw_dns_failure_kind {
    CW_DNS_FAIL_NXDOMAIN,
    CW_DNS_FAIL_NO_ADDRESS,
    CW_DNS_FAIL_SERVFAIL,
    CW_DNS_FAIL_REFUSED,
    CW_DNS_FAIL_TIMEOUT,
    CW_DNS_FAIL_OTHER, /* connection refused, a malformed answer, ... */
    CW_DNS_FAIL_KINDS
};

/* What the resolver has done and holds now, for the admin API's metrics. */
struct cw_dns_stats {
    uint32_t names[CW_DNS_FAILED + 1];  /* wanted names, by enum cw_dns_state */
    uint64_t lookups_dns;               /* answered or failed by DNS */
    uint64_t lookups_hosts_file;        /* answered from the hosts file */
    uint64_t failures[CW_DNS_FAIL_KINDS];
    uint64_t address_changes;           /* lookups that changed a name's address set */
    uint32_t in_flight, queued;         /* lookups running, and waiting for a slot */
};

void cw_dns_resolver_stats(const struct cw_dns_resolver *r, struct cw_dns_stats *out);

/* The metrics' label of a failure kind ("nxdomain", "timeout", ...). */
const char *cw_dns_failure_kind_name(enum cw_dns_failure_kind k);

/* Monotonic milliseconds of the loop (the clock names.h's times are on). */
uint64_t cw_dns_resolver_now(const struct cw_dns_resolver *r);

/*
 * Sends query <msg> to the resolvers (--dns-forward) and calls <done> on the loop with the
 * answer, its ID set back to the query's, or with NULL when none came (also when the resolver
 * closes first: <done> is always called once).
 */
void cw_dns_resolver_forward(struct cw_dns_resolver *r, const uint8_t *msg, size_t len,
                             void (*done)(void *arg, const uint8_t *answer, size_t len),
                             void *arg);

/* Cancels lookups and closes the loop handles; the memory goes once the loop has run them. */
void cw_dns_resolver_close(struct cw_dns_resolver *r);

#endif
