#include "util/stats.h"

#include <stdio.h>
#include <stdlib.h>

/* From 1 ms (the clock's resolution) to 10 s, about ×2.5 apart. */
const uint32_t cw_histogram_le_ms[CW_HISTOGRAM_BUCKETS] = {1,   2,   5,    10,   25,   50,
                                                           100, 250, 1000, 2500, 5000, 10000};

_Thread_local unsigned cw_stats_index;

/* One spare slot so that a process that never called cw_stats_init (validate, unit tests)
 * still counts somewhere harmless. */
static struct cw_thread_stats spare;
static struct cw_thread_stats *slots = &spare;
static unsigned n_slots = 1;

void cw_stats_init(unsigned n)
{
    if (slots != &spare)
        return;
    struct cw_thread_stats *s = aligned_alloc(64, sizeof(*s) * (n ? n : 1));
    if (!s) {
        fputs("causeway: out of memory\n", stderr);
        abort();
    }
    for (unsigned i = 0; i < n; i++)
        s[i] = (struct cw_thread_stats){.requests = NULL};
    slots = s;
    n_slots = n ? n : 1;
}

unsigned cw_stats_slots(void)
{
    return n_slots;
}

struct cw_thread_stats *cw_stats_slot(unsigned i)
{
    return &slots[i < n_slots ? i : 0];
}

void cw_stats_bind_thread(unsigned i)
{
    cw_stats_index = i < n_slots ? i : 0;
}

void cw_histogram_observe(struct cw_histogram *h, uint64_t ms)
{
    for (unsigned b = 0; b < CW_HISTOGRAM_BUCKETS; b++)
        if (ms <= cw_histogram_le_ms[b]) {
            cw_stat_add(&h->buckets[b], 1);
            break;
        }
    cw_stat_add(&h->count, 1);
    cw_stat_add(&h->sum_ms, ms);
}

void cw_histogram_sum_add(struct cw_histogram_sum *sum, const struct cw_histogram *h)
{
    uint64_t below = 0;
    for (unsigned b = 0; b < CW_HISTOGRAM_BUCKETS; b++) {
        below += cw_stat_get(&h->buckets[b]);
        sum->buckets[b] += below;
    }
    sum->count += cw_stat_get(&h->count);
    sum->sum_ms += cw_stat_get(&h->sum_ms);
}
