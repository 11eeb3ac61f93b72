/*
 * The data plane: worker threads, each with its own event loop (event/loop.h) and its own
 * SO_REUSEPORT listening socket for every listener of the snapshot. A connection never moves
 * between threads and the per-request path takes no lock.
 *
 * Lifecycle (control thread): cw_proxy_start binds every socket first, so a port that cannot be
 * bound is reported before anything runs; cw_proxy_publish hands the workers a reloaded
 * configuration; cw_proxy_stop stops accepting, lets in-flight work finish up to the drain
 * timeout, then closes what is left and joins the workers.
 */
#ifndef CW_PROXY_H
#define CW_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "snapshot/snapshot_types.h"
#include "upstream/upstream.h"

struct cw_access_log;

struct cw_timeouts {
    uint64_t connect_ms;         /* upstream TCP connect */
    uint64_t request_headers_ms; /* a client must send a request's headers within this */
    uint64_t upstream_ms;        /* an upstream must start its response within this */
    uint64_t idle_ms;            /* a connection with no traffic either way is closed */
    uint64_t drain_ms;           /* on shutdown, in-flight work gets this long */
};

/*
 * One configuration being served: the snapshot and its upstream hosts. Each worker holds a
 * reference to the generation it serves and every connection one to the generation it started
 * on (an HTTP connection moves to the newest between requests), so a reload never pulls the
 * ground from under work in flight; the last reference calls <release>, on any thread.
 */
struct cw_generation {
    const struct cw_snapshot *snapshot;
    struct cw_upstreams *upstreams; /* host health is written through it */
    _Atomic uint32_t refs;
    void (*release)(struct cw_generation *g);
};

static inline struct cw_generation *cw_generation_ref(struct cw_generation *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
    return g;
}

static inline void cw_generation_unref(struct cw_generation *g)
{
    if (atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        g->release(g);
}

struct cw_cpu_list;

struct cw_proxy_config {
    struct cw_generation *generation; /* the first one served; each worker takes a reference */
    const char *bind;                 /* listen address, e.g. "0.0.0.0" or "127.0.0.1" */
    unsigned workers;
    const struct cw_cpu_list *worker_cpus; /* worker i runs on cpu[i % n]; NULL: not pinned */
    struct cw_timeouts timeouts;
    uint64_t max_request_body;        /* bytes; a larger request body gets 413; 0 = no limit */
    uint64_t max_connections;         /* client connections at once; 0 = no cap */
    struct cw_access_log *access_log; /* NULL ⇒ no access log */
};

struct cw_proxy;

/*
 * Binds the listeners and starts the workers. Returns NULL after printing the reason on stderr
 * (a port in use, a bad bind address). <cfg> and what it points to must outlive the proxy.
 */
struct cw_proxy *cw_proxy_start(const struct cw_proxy_config *cfg);

/*
 * Hands every worker <g>, which must have the same listeners (ports and kinds) as the
 * generation being served: new connections and new requests use it, work in flight finishes
 * on the one it started with. Takes its own references. Control thread.
 */
void cw_proxy_publish(struct cw_proxy *p, struct cw_generation *g);

/* Stops accepting and lets in-flight work drain (up to the drain timeout), without waiting.
 * Control thread. */
void cw_proxy_begin_stop(struct cw_proxy *p);

/* True once every worker is done draining: cw_proxy_stop then returns at once. */
bool cw_proxy_stopped(struct cw_proxy *p);

/* Stops accepting, drains, closes, joins and frees. Control thread. */
void cw_proxy_stop(struct cw_proxy *p);

#endif
