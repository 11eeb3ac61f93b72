/* How healthy a set of hosts is, and how traffic is split over priorities (spec §7.3,
 * peers.md §2.6), with panic off. */
#include "upstream/upstream.h"

#define OVERPROVISIONING 140 /* Envoy's factor 1.4, as an integer percentage */

uint32_t cw_health_percent(uint32_t available, uint32_t total)
{
    if (total == 0)
        return 0;
    uint32_t health = (uint32_t)((uint64_t)OVERPROVISIONING * available / total);
    return health < 100 ? health : 100;
}

uint32_t cw_priority_loads(const uint32_t *available, const uint32_t *total, uint32_t n,
                           uint32_t *load)
{
    uint32_t norm = 0;
    for (uint32_t p = 0; p < n; p++) {
        load[p] = cw_health_percent(available[p], total[p]); /* turned into a load below */
        norm += load[p];
    }
    if (norm > 100)
        norm = 100;
    if (norm == 0) {
        for (uint32_t p = 0; p < n; p++)
            load[p] = 0;
        return 0;
    }
    uint32_t left = 100;
    int first_healthy = -1;
    for (uint32_t p = 0; p < n; p++) {
        if (load[p] && first_healthy < 0)
            first_healthy = (int)p;
        uint32_t share = load[p] * 100 / norm;
        load[p] = share < left ? share : left;
        left -= load[p];
    }
    /* Rounding leftovers go to the first priority with any health, as Envoy does. */
    load[first_healthy] += left;
    return norm;
}
