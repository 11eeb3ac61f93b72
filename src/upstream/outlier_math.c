/* The arithmetic of ejection: cap, duration, multiplier growth and decay (peers.md §2.3–2.4). */
#include "upstream/outlier.h"

#define MAX_EJECTION_FLOOR_MS 300000u

bool cw_outlier_cap_allows(uint32_t ejected, uint32_t total, uint32_t max_percent)
{
    if (ejected == 0)
        return total > 0;
    if (ejected >= total)
        return false;
    return (uint64_t)(ejected + 1) * 100 <= (uint64_t)max_percent * total;
}

uint64_t cw_outlier_max_ms(uint64_t base_ms)
{
    return base_ms > MAX_EJECTION_FLOOR_MS ? base_ms : MAX_EJECTION_FLOOR_MS;
}

uint32_t cw_outlier_decayed(uint32_t multiplier, uint64_t healthy_ms, uint64_t interval_ms)
{
    if (interval_ms == 0)
        return 0;
    uint64_t steps = healthy_ms / interval_ms;
    return steps >= multiplier ? 0 : multiplier - (uint32_t)steps;
}

uint32_t cw_outlier_bumped(uint32_t multiplier, uint64_t base_ms)
{
    if ((uint64_t)multiplier * base_ms < cw_outlier_max_ms(base_ms) + base_ms)
        return multiplier + 1;
    return multiplier;
}

uint64_t cw_outlier_ejection_ms(uint32_t multiplier, uint64_t base_ms)
{
    uint64_t max = cw_outlier_max_ms(base_ms);
    uint64_t t = (uint64_t)multiplier * base_ms;
    return t < max ? t : max;
}
