/* Round robin over a cluster's hosts (the choice interface the resilience work extends with
 * priorities and ejection). */
#include "upstream/upstream.h"

static int was_tried(uint32_t host, const uint32_t *tried, uint32_t n_tried)
{
    for (uint32_t i = 0; i < n_tried; i++)
        if (tried[i] == host)
            return 1;
    return 0;
}

int cw_lb_pick(const struct cw_upstream_cluster *uc, uint32_t *cursor, const uint32_t *tried,
               uint32_t n_tried)
{
    uint32_t n = uc->n_hosts;
    for (uint32_t step = 0; step < n; step++) {
        uint32_t h = (*cursor + step) % n;
        if (!was_tried(h, tried, n_tried)) {
            *cursor = h + 1;
            return (int)h;
        }
    }
    return -1;
}
