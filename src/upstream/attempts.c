#include "upstream/attempts.h"

void cw_attempts_init(struct cw_attempts *a, struct cw_upstreams *ups,
                      const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor)
{
    *a = (struct cw_attempts){.ups = ups, .uc = uc, .cursor = cursor};
}

const struct cw_host *cw_attempts_next(struct cw_attempts *a)
{
    if (a->n_tried >= CW_MAX_ATTEMPTS)
        return NULL;
    int h = cw_lb_pick(a->uc, a->cursor, a->tried, a->n_tried);
    if (h < 0)
        return NULL;
    a->tried[a->n_tried++] = (uint32_t)h;
    a->host = &a->uc->hosts[h];
    cw_stat_add(&cw_host_counters(a->host)->attempts, 1);
    return a->host;
}

void cw_attempts_finish(const struct cw_attempts *a)
{
    for (uint32_t i = 0; i < a->n_tried; i++)
        cw_stat_add(&cw_host_counters(&a->uc->hosts[a->tried[i]])->finished, 1);
}

void cw_attempts_report(const struct cw_attempts *a, int status, const char *cause)
{
    if (a->host)
        cw_host_report(a->ups, a->uc, (uint32_t)(a->host - a->uc->hosts), status, cause);
}
