/*
 * Choosing a host: a priority by the loads of §7.3 (ejected and already-tried hosts count as
 * unavailable), then round robin over the available hosts of that priority. Per-locality
 * weights inside a priority are proportional to their available hosts (§7.3), which is what
 * round robin over the available hosts gives. Under a distribute mapping (§6) a locality is
 * chosen by its weight instead, and a host within it.
 */
#include "upstream/upstream.h"

/* Steps through 0..99 in an order that spreads consecutive picks (37 is coprime with 100). */
#define SPREAD_STEP 37

/* 2^32 divided by the golden ratio. Stepping by it walks [0, 2^32) so that consecutive picks
 * land far apart and every run of picks covers the range evenly (a Weyl sequence): laid over
 * the localities' weights it splits any number of picks by those weights within a pick or two,
 * whatever the weights are and however health changes them between picks. */
#define GOLDEN_STEP 0x9E3779B9u

static bool was_tried(uint32_t host, const uint32_t *tried, uint32_t n_tried)
{
    for (uint32_t i = 0; i < n_tried; i++)
        if (tried[i] == host)
            return true;
    return false;
}

static bool is_ejected(const struct cw_host *h)
{
    return atomic_load_explicit(&h->health->ejected, memory_order_relaxed);
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
        if (is_ejected(&uc->hosts[h]) ||
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

/* Hosts of locality <g> this pick may use: not ejected, and not tried already. */
static uint32_t locality_available(const struct cw_upstream_cluster *uc, uint32_t g,
                                   const uint32_t *tried, uint32_t n_tried)
{
    uint32_t available = atomic_load_explicit(&uc->locality_available[g], memory_order_relaxed);
    for (uint32_t i = 0; i < n_tried; i++) {
        const struct cw_host *h = &uc->hosts[tried[i]];
        if (h->locality_group == g && !is_ejected(h) && available > 0)
            available--;
    }
    return available;
}

/* Envoy's effective locality weight (peers.md §2.8): the weight scaled by the locality's
 * health, so a locality keeps its share while 5/7 of its hosts are available and has none
 * when no host is. */
static uint64_t effective_weight(const struct cw_upstream_cluster *uc, uint32_t g,
                                 const uint32_t *tried, uint32_t n_tried)
{
    const struct cw_locality_group *l = &uc->localities[g];
    return (uint64_t)l->weight * cw_health_percent(locality_available(uc, g, tried, n_tried), l->n);
}

/* The <k>-th usable host of [first, first + n), or -1 when there are fewer. */
static int nth_usable(const struct cw_upstream_cluster *uc, uint32_t first, uint32_t n, uint64_t k,
                      const uint32_t *tried, uint32_t n_tried)
{
    for (uint32_t h = first; h < first + n; h++)
        if (usable(uc, h, tried, n_tried, false) && k-- == 0)
            return (int)h;
    return -1;
}

/*
 * A locality by weight (spec §6), then a host in it. The pick's point in [0, total effective
 * weight) falls in one locality's stretch; where it falls inside that stretch chooses among the
 * locality's usable hosts, so they share its traffic evenly without per-locality state.
 */
static int pick_by_locality(const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor,
                            const uint32_t *tried, uint32_t n_tried)
{
    uint64_t total = 0;
    for (uint32_t g = 0; g < uc->n_localities; g++)
        total += effective_weight(uc, g, tried, n_tried);
    if (total == 0)
        return -1; /* every host ejected or tried: panic is off */
    cursor->locality_phase += GOLDEN_STEP;
    uint64_t point = (total * cursor->locality_phase) >> 32;
    int h = -1;
    for (uint32_t g = 0; g < uc->n_localities; g++) {
        uint64_t w = effective_weight(uc, g, tried, n_tried);
        if (point >= w) {
            point -= w;
            continue;
        }
        const struct cw_locality_group *l = &uc->localities[g];
        uint32_t hosts = 0;
        for (uint32_t i = l->first; i < l->first + l->n; i++)
            hosts += usable(uc, i, tried, n_tried, false);
        h = nth_usable(uc, l->first, l->n, point * hosts / w, tried, n_tried);
        break;
    }
    /* The counts may lag an ejection by a moment: fall back to any host, and last to one
     * whose ejection is still being decided. */
    if (h < 0)
        h = pick_in_range(uc, 0, uc->n_hosts, cursor, tried, n_tried, false);
    return h >= 0 ? h : pick_in_range(uc, 0, uc->n_hosts, cursor, tried, n_tried, true);
}

int cw_lb_pick(const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor,
               const uint32_t *tried, uint32_t n_tried)
{
    if (uc->n_localities)
        return pick_by_locality(uc, cursor, tried, n_tried);
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
        if (!is_ejected(h) && available[h->priority] > 0)
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
        h = pick_in_range(uc, uc->priorities[p].first, uc->priorities[p].n, cursor, tried, n_tried,
                          true);
    return h;
}
