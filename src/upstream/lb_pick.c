/*
 * Choosing a host: a priority by the loads of §7.3 (ejected and already-tried hosts count as
 * unavailable), then round robin over the available hosts of that priority. Per-locality
 * weights inside a priority are proportional to their available hosts (§7.3), which is what
 * round robin over the available hosts gives.
 */
#include "upstream/upstream.h"

/* Steps through 0..99 in an order that spreads consecutive picks (37 is coprime with 100). */
#define SPREAD_STEP 37

static bool was_tried(uint32_t host, const uint32_t *tried, uint32_t n_tried)
{
    for (uint32_t i = 0; i < n_tried; i++)
        if (tried[i] == host)
            return true;
    return false;
}

/* Not ejected, not tried already, and unless <pending_ok> not on its way to ejection (a
 * threshold was just reached: the control thread decides in a moment, and no request should
 * reach the host meanwhile if another can take it). A pending host is only a candidate: the
 * cap (maxEjectionPercent) may refuse its ejection, so when every other host is gone it still
 * serves rather than the request getting "no healthy upstream". */
static bool usable(const struct cw_upstream_cluster *uc, uint32_t h, const uint32_t *tried,
                   uint32_t n_tried, bool pending_ok)
{
    if (uc->outlier) {
        const struct cw_host_health *hh = uc->hosts[h].health;
        if (atomic_load_explicit(&hh->ejected, memory_order_relaxed) ||
            (!pending_ok && atomic_load_explicit(&hh->eject_pending, memory_order_relaxed)))
            return false;
    }
    return !was_tried(h, tried, n_tried);
}

/* Round robin over hosts [first, first + n) of <uc>. */
static int pick_in_range(const struct cw_upstream_cluster *uc, uint32_t first, uint32_t n,
                         struct cw_pick_cursor *cursor, const uint32_t *tried, uint32_t n_tried,
                         bool pending_ok)
{
    for (uint32_t step = 0; step < n; step++) {
        uint32_t h = first + (cursor->round_robin + step) % n;
        if (usable(uc, h, tried, n_tried, pending_ok)) {
            cursor->round_robin += step + 1;
            return (int)h;
        }
    }
    return -1;
}

/* Which priority serves this pick: the walk of the cumulative loads that <spread> falls in. */
static uint32_t choose_priority(const uint32_t *load, uint32_t n, uint32_t spread)
{
    uint32_t sum = 0;
    for (uint32_t p = 0; p < n; p++) {
        sum += load[p];
        if (spread < sum)
            return p;
    }
    return 0;
}

int cw_lb_pick(const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor,
               const uint32_t *tried, uint32_t n_tried)
{
    uint32_t n = uc->n_priorities;
    if (n == 0)
        return -1;
    if (n == 1) {
        int h = pick_in_range(uc, 0, uc->n_hosts, cursor, tried, n_tried, false);
        return h >= 0 ? h : pick_in_range(uc, 0, uc->n_hosts, cursor, tried, n_tried, true);
    }
    uint32_t available[CW_MAX_PRIORITIES], total[CW_MAX_PRIORITIES], load[CW_MAX_PRIORITIES];
    for (uint32_t p = 0; p < n; p++) {
        available[p] = atomic_load_explicit(&uc->available[p], memory_order_relaxed);
        total[p] = uc->priorities[p].n;
    }
    for (uint32_t i = 0; i < n_tried; i++) {
        const struct cw_host *h = &uc->hosts[tried[i]];
        bool ejected = atomic_load_explicit(&h->health->ejected, memory_order_relaxed);
        if (!ejected && available[h->priority] > 0)
            available[h->priority]--;
    }
    if (cw_priority_loads(available, total, n, load) == 0)
        return -1;
    cursor->spread = (cursor->spread + SPREAD_STEP) % 100;
    uint32_t chosen = choose_priority(load, n, cursor->spread);
    const struct cw_priority_range *r = &uc->priorities[chosen];
    int h = pick_in_range(uc, r->first, r->n, cursor, tried, n_tried, false);
    /* The counts may lag an ejection by a moment: fall back to the next priority with a host,
     * and last to a host whose ejection is still being decided. */
    for (uint32_t p = 0; h < 0 && p < n; p++)
        if (p != chosen)
            h = pick_in_range(uc, uc->priorities[p].first, uc->priorities[p].n, cursor, tried,
                              n_tried, false);
    for (uint32_t p = 0; h < 0 && p < n; p++)
        h = pick_in_range(uc, uc->priorities[p].first, uc->priorities[p].n, cursor, tried,
                          n_tried, true);
    return h;
}
