/*
 * Counters written on the hot path without a shared write: every thread that counts (each
 * worker, and the control thread) has its own slot, and only that thread writes it. A reader on
 * another thread (the admin scrape) sums the slots.
 *
 * Every counter is an _Atomic uint64_t written with a relaxed load and a relaxed store (never a
 * read-modify-write: there is one writer), and read with a relaxed load. On x86-64 and arm64
 * both compile to plain moves, so counting costs what a plain increment costs, and the reader
 * never sees a torn value; C11 calls it race-free, so sanitizers agree.
 */
#ifndef CW_UTIL_STATS_H
#define CW_UTIL_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Buckets of every latency histogram, upper bounds in milliseconds (the loop clock's unit);
 * the +Inf bucket is the count. */
#define CW_HISTOGRAM_BUCKETS 12
extern const uint32_t cw_histogram_le_ms[CW_HISTOGRAM_BUCKETS];

/* One writer: the slot's thread. */
static inline void cw_stat_add(_Atomic uint64_t *c, uint64_t delta)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + delta,
                          memory_order_relaxed);
}

static inline uint64_t cw_stat_get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* Observations by bucket (not cumulative: the reader adds them up), their count and sum. */
struct cw_histogram {
    _Atomic uint64_t buckets[CW_HISTOGRAM_BUCKETS];
    _Atomic uint64_t count, sum_ms;
};

void cw_histogram_observe(struct cw_histogram *h, uint64_t ms);

/* Adds what <h> holds into <sum> (a plain copy the reader owns). */
struct cw_histogram_sum {
    uint64_t buckets[CW_HISTOGRAM_BUCKETS]; /* cumulative: observations ≤ le */
    uint64_t count, sum_ms;
};
void cw_histogram_sum_add(struct cw_histogram_sum *sum, const struct cw_histogram *h);

enum cw_tls_side { CW_TLS_CLIENT_SIDE, CW_TLS_UPSTREAM_SIDE };

struct cw_request_table;

/* One thread's counters. Aligned so that two slots never share a cache line. */
struct cw_thread_stats {
    _Atomic uint64_t client_opened, client_closed;     /* accepted client connections */
    _Atomic uint64_t upstream_opened, upstream_closed; /* connections to endpoints */
    _Atomic uint64_t tunnels_opened, tunnels_closed;   /* TCP tunnels (upgrades included) */
    _Atomic uint64_t tls_full[2], tls_resumed[2], tls_failed[2]; /* by enum cw_tls_side */
    struct cw_request_table *requests; /* the worker's requests by label set (request_stats.h) */
} __attribute__((aligned(64)));

/*
 * Makes <n> slots (slot 0 is the control thread's, 1..n-1 the workers'). Once, on the control
 * thread, before any slot is used; the slots live until the process exits (a scrape may come
 * while the proxy stops).
 */
void cw_stats_init(unsigned n);

unsigned cw_stats_slots(void);
struct cw_thread_stats *cw_stats_slot(unsigned i);

/* Makes slot <i> the calling thread's (a worker calls it first thing). */
void cw_stats_bind_thread(unsigned i);

/* The calling thread's slot index and slot (the control thread's until it binds another). */
extern _Thread_local unsigned cw_stats_index;
static inline struct cw_thread_stats *cw_stats(void)
{
    return cw_stats_slot(cw_stats_index);
}

#endif
