/*
 * Weighted locality mappings (spec §6, Istio's distribute; peers.md §2.10): a FailoverPolicy
 * mapping whose targets have weights spreads the traffic of the gateways in its `from`
 * locality over its `to` localities by those weights, instead of failing over, with or without
 * outlier detection (§7.1). Localities it does not name get nothing. This file checks such
 * policies and works out, per cluster, the weight of every endpoint's locality; the data plane
 * (upstream/locality_pick.c) picks a locality by those weights, then an endpoint in it.
 */
#include <string.h>

#include "translate/distribute.h"

static const char *text(const char *s)
{
    return s ? s : "";
}

static bool same(const char *a, const char *b)
{
    return strcmp(text(a), text(b)) == 0;
}

/* Whether locality <outer> contains <inner>: a locality that leaves out its zone (subZone)
 * stands for every zone (subZone) of its region (zone), as Istio's "region/<any>" does. */
static bool covers(const struct cw_locality *outer, const struct cw_locality *inner)
{
    return same(outer->region, inner->region) &&
           (!text(outer->zone)[0] || same(outer->zone, inner->zone)) &&
           (!text(outer->subzone)[0] || same(outer->subzone, inner->subzone));
}

static bool overlap(const struct cw_locality *a, const struct cw_locality *b)
{
    return covers(a, b) || covers(b, a);
}

/* "region[/zone[/subZone]]" in the translation arena, for messages. */
static const char *name_of(struct tr *t, const struct cw_locality *l)
{
    if (text(l->subzone)[0])
        return cw_arena_printf(t->arena, "%s/%s/%s", text(l->region), text(l->zone), l->subzone);
    if (text(l->zone)[0])
        return cw_arena_printf(t->arena, "%s/%s", text(l->region), l->zone);
    return text(l->region);
}

/* Istio refuses a policy that both distributes and fails over (§6): one or the other. */
static bool check_not_mixed(struct tr *t, const struct cw_failover_policy *fp)
{
    for (uint32_t i = 1; i < fp->mappings.n; i++) {
        if (fp->mappings.v[i].distribute != fp->mappings.v[0].distribute) {
            uint32_t w = fp->mappings.v[0].distribute ? 0 : i;
            tr_invalid(t, &fp->obj,
                       "localityMappings[%u] has weights but localityMappings[%u] has none: a "
                       "policy either distributes traffic by weight or fails over, not both",
                       w, w ? 0 : i);
            return false;
        }
    }
    return true;
}

/*
 * [DECISION] §6 does not say which mapping applies when several `from`s hold the gateway (a
 * region and one of its zones), nor which target takes an endpoint two of them hold. Istio's
 * validation refuses both overlaps, and so do we: at most one mapping applies to a gateway and
 * one target to an endpoint, and neither list order nor specificity has to decide.
 */
static bool check_no_overlap(struct tr *t, const struct cw_failover_policy *fp)
{
    for (uint32_t i = 0; i < fp->mappings.n; i++) {
        const struct cw_locality_mapping *m = &fp->mappings.v[i];
        for (uint32_t j = 0; j < i; j++) {
            if (overlap(&m->from, &fp->mappings.v[j].from)) {
                tr_invalid(t, &fp->obj,
                           "localityMappings[%u].from %s overlaps localityMappings[%u].from %s", i,
                           name_of(t, &m->from), j, name_of(t, &fp->mappings.v[j].from));
                return false;
            }
        }
        for (uint32_t k = 0; k < m->to.n; k++) {
            for (uint32_t j = 0; j < k; j++) {
                if (overlap(&m->to.v[k].locality, &m->to.v[j].locality)) {
                    tr_invalid(t, &fp->obj, "localityMappings[%u].to[%u] %s overlaps to[%u] %s", i,
                               k, name_of(t, &m->to.v[k].locality), j,
                               name_of(t, &m->to.v[j].locality));
                    return false;
                }
            }
        }
    }
    return true;
}

/* The mapping whose `from` holds the gateway's locality, or NULL (a gateway without a region
 * is in none). */
static const struct cw_locality_mapping *mapping_from(const struct cw_failover_policy *fp,
                                                      const struct cw_locality *g)
{
    if (!text(g->region)[0])
        return NULL;
    for (uint32_t i = 0; i < fp->mappings.n; i++)
        if (covers(&fp->mappings.v[i].from, g))
            return &fp->mappings.v[i];
    return NULL;
}

void tr_check_distribute(struct tr *t, const struct cw_failover_policy *fp)
{
    if (!check_not_mixed(t, fp) || !cw_failover_distributes(fp) || !check_no_overlap(t, fp))
        return;
    /* Istio applies distribute or failover, never both: without a mapping for this gateway
     * there is neither, which a user expecting failover should be told. */
    if (!mapping_from(fp, &t->gw->locality))
        tr_note(t, &fp->obj,
                "distribute: no localityMappings[].from holds this gateway's locality %s; its "
                "traffic spreads over every endpoint, without failover priorities",
                text(t->gw->locality.region)[0] ? name_of(t, &t->gw->locality) : "(none)");
}

/* The target of <m> whose locality holds <l>, or NULL. */
static const struct cw_locality_target *target_of(const struct cw_locality_mapping *m,
                                                  const struct cw_locality *l)
{
    for (uint32_t i = 0; i < m->to.n; i++)
        if (covers(&m->to.v[i].locality, l))
            return &m->to.v[i];
    return NULL;
}

/*
 * Istio's applyLocalityWeights: a target's weight is split over the endpoint localities it
 * holds in proportion to their endpoints (each endpoint weighs 1 in Istio), rounded up. A
 * region-only target holding two zones of one endpoint each gives each zone half its weight.
 * [DECISION] A target written with weight 0 gets nothing (Istio refuses 0; the CRD allows it).
 */
static uint32_t locality_weight(const struct cw_cluster *c, const struct cw_locality_mapping *m,
                                const struct cw_endpoint *e)
{
    const struct cw_locality_target *target = target_of(m, &e->locality);
    if (!target || target->weight == 0)
        return 0;
    uint32_t in_target = 0, in_locality = 0;
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        const struct cw_locality *l = &c->endpoints.v[i].locality;
        in_target += target_of(m, l) == target;
        in_locality += cw_locality_equal(l, &e->locality);
    }
    return (target->weight * in_locality + in_target - 1) / in_target;
}

void tr_distribute(struct tr *t, struct cw_cluster *c)
{
    const struct cw_locality_mapping *m = mapping_from(c->failover, &t->gw->locality);
    c->distribute = m;
    for (uint32_t i = 0; i < c->endpoints.n; i++)
        c->endpoints.v[i].locality_weight = m ? locality_weight(c, m, &c->endpoints.v[i]) : 0;
}
