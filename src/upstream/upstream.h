/*
 * Runtime upstream state that outlives a request: one host record per (cluster, address, port)
 * — a hostname endpoint contributes one host per resolved address, each keeping the endpoint's
 * locality and priority — the health of every host (outlier detection, spec §5), the load of
 * every priority (§7.3) and the choice of a host for a new request or connection.
 *
 * Who writes what:
 *  - the control thread builds the host arrays before workers start and owns ejection state
 *    (ejected flag, multiplier, timers, per-priority availability; ejection.c);
 *  - workers read the arrays, choose hosts (lb_pick.c) and report outcomes (outcomes.c) into
 *    per-host atomics; a host that reaches a threshold is handed to the control thread;
 *  - per-worker choice state (round-robin cursors, priority spread) lives in each worker, so
 *    choosing never writes shared memory.
 */
#ifndef CW_UPSTREAM_H
#define CW_UPSTREAM_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "snapshot/snapshot_types.h"
#include "util/diag.h"
#include "util/stats.h"

/* Why an attempt on a host failed, for the metrics. */
enum cw_failure_kind {
    CW_FAILURE_CONNECT, /* refused, unreachable, connect timeout */
    CW_FAILURE_TLS,     /* the upstream TLS handshake */
    CW_FAILURE_RESET,   /* closed or reset before a response */
    CW_FAILURE_TIMEOUT, /* no response in time */
    CW_FAILURE_5XX,     /* the upstream answered 5xx */
    CW_FAILURE_KINDS
};

/* Why a host was ejected: the threshold that tripped. */
enum cw_ejection_reason {
    CW_EJECT_CONSECUTIVE_ERRORS,
    CW_EJECT_CONSECUTIVE_GATEWAY_ERRORS,
    CW_EJECT_REASONS
};

/* One thread's counts for one host (util/stats.h: written by that thread only). */
struct cw_host_counters {
    _Atomic uint64_t attempts; /* requests and connections sent its way */
    _Atomic uint64_t finished; /* of those, the ones whose request or connection ended */
    _Atomic uint64_t failures[CW_FAILURE_KINDS];
    struct cw_histogram connect; /* time to a usable connection (TLS handshake included) */
} __attribute__((aligned(64)));

/*
 * Outlier-detection state of one host. Workers touch only the atomics; the rest belongs to the
 * control thread. Kept apart from the host record so that a reload that keeps an endpoint keeps
 * its health: the builds before and after a reload share the record (reference counted), so
 * requests still running on the old configuration count on the same counters.
 */
struct cw_host_health {
    _Atomic uint32_t refs; /* builds sharing the record, plus queued ejection requests */
    _Atomic uint32_t consecutive_errors;         /* 5xx and local failures since a success */
    _Atomic uint32_t consecutive_gateway_errors; /* 502/503/504 and local failures */
    _Atomic bool ejected;                        /* out of the pool: never chosen */
    _Atomic bool eject_pending;                  /* handed to the control thread, not yet seen */
    struct cw_host_counters *counters;           /* one per stats slot (cw_stats_slots) */
    /* control thread only */
    uint32_t multiplier;     /* Envoy's backoff: the k of "base × k" */
    uint32_t ejections;      /* how many times this host was ejected */
    uint32_t ejected_for[CW_EJECT_REASONS]; /* the same, by reason */
    uint32_t returns;                       /* ejections that ended */
    uint32_t refusals;                      /* ejections maxEjectionPercent refused */
    enum cw_ejection_reason last_reason;
    uint64_t ejected_at_ms;  /* monotonic, last ejection */
    uint64_t return_at_ms;   /* monotonic, when the current ejection ends */
    uint64_t returned_at_ms; /* monotonic, last return; 0 = never ejected */
    /* where the host sits in the build the control thread serves now (ejection.c) */
    uint32_t cluster, host;
    bool in_current; /* false: the endpoint left the configuration */
};

struct cw_tls_session_slot;

struct cw_host {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[64];           /* "127.0.0.41:18081" / "[::1]:443", for logs */
    char *locality;          /* "us-east-1/us-east-1a", "-" without one, for logs */
    uint32_t priority;       /* the endpoint's priority, 0 when priorities do not apply */
    uint32_t locality_group; /* its cw_upstream_cluster.localities entry; 0 without them */
    struct cw_host_health *health;
    const char *dns_name; /* the endpoint's name when it is one (SNI, certificate check) */
    struct cw_tls_session_slot *tls_session; /* its last TLS session; NULL: plaintext */
};

/* Priorities beyond this share the last one (§7.2 yields at most 5). */
#define CW_MAX_PRIORITIES 16

/* Hosts of one priority sit together in the host array: [first, first + n). */
struct cw_priority_range {
    uint32_t first, n;
};

/* Under a distribute mapping (spec §6) the hosts of one locality sit together too, and the
 * locality has its weight (cw_endpoint.locality_weight). */
struct cw_locality_group {
    uint32_t first, n;
    uint32_t weight;
};

struct cw_upstream_cluster {
    const struct cw_cluster *cluster;
    struct cw_host *hosts; /* sorted by priority */
    uint32_t n_hosts;
    struct cw_priority_range *priorities;
    uint32_t n_priorities;
    /* Hosts of each priority that are not ejected (written by the control thread). */
    _Atomic uint32_t *available;
    /* Istio distribute (§6): the localities that get traffic, and how many hosts of each are
     * not ejected (written by the control thread). n_localities is 0 when the cluster does not
     * distribute; then every host has priority 0 and a locality group. Hosts of localities the
     * mapping sends nothing are not built at all. */
    struct cw_locality_group *localities;
    _Atomic uint32_t *locality_available;
    uint32_t n_localities;
    uint32_t n_ejected; /* control thread only: checked against maxEjectionPercent */
    /* No host because no endpoint name has an address yet: requests get 503
     * CW_NAME_NOT_RESOLVED rather than "no healthy upstream". */
    bool unresolved;
    /* NULL: no OutlierDetectionPolicy selects the service, hosts are never ejected (§7.1). */
    const struct cw_outlier_config *outlier;
    uint32_t index;
};

struct cw_ejection_queue;

struct cw_upstreams {
    struct cw_upstream_cluster *clusters; /* indexed by cw_cluster.index */
    uint32_t n;
    /* Hosts that reached an outlier threshold, waiting for the control thread (ejection.c). */
    struct cw_ejection_queue *queue;
};

/*
 * Where the addresses of hostname endpoints come from: the dns module's resolver on the control
 * thread (dns/resolver.h), or a test's table. <addresses> writes up to <cap> addresses of <name>
 * (ports ignored) and returns how many, or -1 when the name has none (never resolved).
 */
struct cw_name_lookup {
    int (*addresses)(void *ctx, const char *name, struct sockaddr_storage *out, uint32_t cap);
    void *ctx;
};

/* Why a cluster whose hostname endpoints have no address yet has no host (503 reason). */
#define CW_NAME_NOT_RESOLVED "endpoint name not resolved"

/*
 * Builds the host records of every cluster in <snap>. IP endpoints are parsed; hostname
 * endpoints take the addresses <names> knows now (never a lookup here: no blocking call), one
 * host per address with the endpoint's locality and priority. A name without addresses (or every
 * name, when <names> is NULL) contributes no host; a cluster left without any host for that
 * reason has <unresolved> set. When <previous> is given, a host with the same cluster name and
 * address shares its health record (counters, ejection, multiplier) and the ejection queue is
 * shared too; call cw_ejection_adopt to make the control thread serve the new build. Returns 0.
 */
int cw_upstreams_build(struct cw_upstreams *u, const struct cw_snapshot *snap,
                       struct cw_upstreams *previous, const struct cw_name_lookup *names,
                       struct cw_diags *diags);

void cw_upstreams_free(struct cw_upstreams *u);

/* ---- choosing a host (lb_pick.c; worker threads, no shared writes) ---- */

/* At most this many connection attempts are made for one request or connection. */
#define CW_MAX_ATTEMPTS 4

/* A worker's own choice state for one cluster. */
struct cw_pick_cursor {
    uint32_t round_robin;    /* position in the host array */
    uint32_t spread;         /* walks 0..99 to split traffic by priority load */
    uint32_t locality_phase; /* walks [0, 2^32) to split traffic by locality weight */
};

/*
 * Picks a host of <uc> for a new attempt, skipping ejected hosts and the <n_tried> hosts in
 * <tried> (indices into uc->hosts, already attempted for this request or connection). A
 * priority is chosen by the loads of §7.3, counting tried hosts as unavailable, then hosts of
 * that priority take turns. Under a distribute mapping a locality is chosen instead, by its
 * weight scaled by its health (§6, Envoy's locality-weighted LB), then a host in it. Returns
 * the host index, or -1 when no host is available (panic is off: the caller answers 503 "no
 * healthy upstream", or its last failure after retries).
 */
int cw_lb_pick(const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor,
               const uint32_t *tried, uint32_t n_tried);

/*
 * Envoy's health of a set of hosts (a priority, a locality; peers.md §2.6, §2.8), in percent:
 * min(100, 140 × available / total) with overprovisioning factor 1.4, so a set keeps its whole
 * share while at least 5/7 of its hosts are available. 0 for an empty set.
 */
uint32_t cw_health_percent(uint32_t available, uint32_t total);

/*
 * Envoy's priority load (peers.md §2.6), integer arithmetic with overprovisioning factor 1.4:
 * health = min(100, 140 × available / total) per priority, normalised over the sum (capped at
 * 100), each priority taking what the ones before it left. Writes <n> loads that sum to 100 and
 * returns the normalised total availability; 0 means no host is available (loads all 0).
 */
uint32_t cw_priority_loads(const uint32_t *available, const uint32_t *total, uint32_t n,
                           uint32_t *load);

/* ---- outcomes (outcomes.c; worker threads) ---- */

/*
 * Records the outcome of one attempt on host <h> of <uc>: an HTTP status (a TCP connect that
 * succeeded reports 200; <cause> NULL names the status), or a local failure — connect refused,
 * connect timeout, reset before a response, upstream timeout — reported as 503 with its <cause>
 * (Envoy maps local failures the same way). Any status below 500 resets both counters; a threshold
 * reached hands the host to the control thread for ejection. Does nothing without outlier
 * detection.
 */
void cw_host_report(struct cw_upstreams *u, const struct cw_upstream_cluster *uc, uint32_t h,
                    int status, const char *cause);

/* The calling thread's counters for host <h> (util/stats.h). */
static inline struct cw_host_counters *cw_host_counters(const struct cw_host *h)
{
    return &h->health->counters[cw_stats_index];
}

/* Status a local failure is reported as. */
#define CW_LOCAL_FAILURE 503

#endif
