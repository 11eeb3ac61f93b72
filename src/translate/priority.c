/*
 * Endpoint priorities relative to the gateway's locality (spec §7.2, Istio's
 * applyLocalityFailover), computed once here so that the data plane only reads them.
 * Priorities apply only when outlier detection does (§7.1): without it Envoy would never learn
 * that an endpoint failed, so every endpoint shares priority 0.
 */
#include <string.h>

#include "translate/distribute.h"
#include "translate/translate_int.h"

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The first mapping whose from.region is the gateway's region. */
static const struct cw_locality_mapping *mapping_for(const struct cw_failover_policy *fp,
                                                     const struct cw_locality *g)
{
    if (!fp)
        return NULL;
    for (uint32_t i = 0; i < fp->mappings.n; i++)
        if (same(fp->mappings.v[i].from.region, g->region))
            return &fp->mappings.v[i];
    return NULL;
}

static uint32_t locality_priority(const struct cw_locality *g, const struct cw_locality *e,
                                  const struct cw_locality_mapping *m)
{
    if (same(e->region, g->region) && same(e->zone, g->zone) && same(e->subzone, g->subzone))
        return 0;
    if (same(e->region, g->region) && same(e->zone, g->zone))
        return 1;
    if (same(e->region, g->region))
        return 2;
    if (!m)
        return 3;
    for (uint32_t i = 0; i < m->to.n; i++)
        if (same(e->region, m->to.v[i].locality.region))
            return 3;
    return 4; /* regions not named in the mapping are demoted, never excluded */
}

/* Istio failoverPriority: endpoints matching more leading labels of the gateway come first. */
static uint32_t label_priority(const struct cw_gateway_identity *gw, const cw_strs_t *labels,
                               const cw_labels_t *endpoint_labels)
{
    uint32_t matched = 0;
    for (; matched < labels->n; matched++) {
        const char *entry = labels->v[matched];
        const char *eq = strchr(entry, '=');
        char key[256];
        size_t kl = eq ? (size_t)(eq - entry) : strlen(entry);
        if (kl >= sizeof(key))
            break;
        memcpy(key, entry, kl);
        key[kl] = '\0';
        const char *want = eq ? eq + 1 : tr_label_value(&gw->labels, key);
        const char *have = endpoint_labels ? tr_label_value(endpoint_labels, key) : NULL;
        if (!want || !have || strcmp(want, have) != 0)
            break;
    }
    return labels->n - matched;
}

/* Renumbers priorities 0..n-1 without gaps, keeping their order. */
static uint32_t compact(struct cw_cluster *c)
{
    bool used[260] = {0};
    for (uint32_t i = 0; i < c->endpoints.n; i++)
        used[c->endpoints.v[i].priority < 259 ? c->endpoints.v[i].priority : 259] = true;
    uint32_t rank[260], n = 0;
    for (uint32_t p = 0; p < 260; p++)
        rank[p] = used[p] ? n++ : 0;
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        uint32_t p = c->endpoints.v[i].priority;
        c->endpoints.v[i].priority = rank[p < 259 ? p : 259];
    }
    return n;
}

static void assign(struct tr *t, struct cw_cluster *c)
{
    const struct cw_locality *g = &t->gw->locality;
    const struct cw_failover_policy *fp = c->failover;
    /* [DECISION] §6 only says Istio allows one of distribute and failover per destination.
     * As in Istio, a policy with weights sets no priorities, even on a gateway none of its
     * mappings applies to (peers.md §2.10); the policy's status notes it there. */
    if (cw_failover_distributes(fp))
        tr_distribute(t, c);
    c->locality_priorities =
        c->outlier != NULL && g->region && g->region[0] && !cw_failover_distributes(fp);
    if (!c->locality_priorities) {
        for (uint32_t i = 0; i < c->endpoints.n; i++)
            c->endpoints.v[i].priority = 0;
        c->n_priorities = c->endpoints.n ? 1 : 0;
        return;
    }
    bool by_labels = fp && fp->mappings.n == 0 && fp->priority_labels.n > 0;
    const struct cw_locality_mapping *m = mapping_for(fp, g);
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        struct cw_endpoint *e = &c->endpoints.v[i];
        e->priority = by_labels ? label_priority(t->gw, &fp->priority_labels, e->labels)
                                : locality_priority(g, &e->locality, m);
    }
    c->n_priorities = compact(c);
}

void tr_priorities(struct tr *t)
{
    for (uint32_t i = 0; i < t->clusters.n; i++)
        assign(t, t->clusters.v[i]);
}
