/*
 * OutlierDetectionPolicy and FailoverPolicy selection (spec §5-§6). A policy applies to the
 * ExternalServices of its own workspace (destination policies do not follow imports, §8.3) that
 * its applyToDestinations selects; with none listed, to every one. Policies are taken in
 * precedence order: when two of a kind select the same service port, the older one applies and
 * the newer gets a WARNING naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "translate/distribute.h"
#include "translate/translate_int.h"
#include "util/xalloc.h"

struct policy_kind {
    enum cw_kind kind;
    int slot; /* 0 = outlier, 1 = failover: index into tr_object.n_policies */
};

static const struct cw_object **slot_of(struct cw_cluster *c, int slot)
{
    return slot == 0 ? (const struct cw_object **)&c->outlier
                     : (const struct cw_object **)&c->failover;
}

static bool port_selected(const struct cw_port_selector *sel, const struct cw_es_port *p)
{
    if (sel->number)
        return sel->number == p->number;
    if (sel->name)
        return p->name && !strcmp(sel->name, p->name);
    return true;
}

/* Attaches policy <po> to the ports of <es> chosen by <port>; returns ports attached. */
static uint32_t attach(struct tr *t, const struct cw_object *po, int slot,
                       const struct cw_external_service *es, const struct cw_port_selector *port)
{
    struct tr_object *te = tr_obj(t, &es->obj);
    uint32_t n = 0;
    bool counted = false;
    for (uint32_t i = 0; i < es->ports.n; i++) {
        if (!port_selected(port, &es->ports.v[i]))
            continue;
        const struct cw_object **s = slot_of(te->clusters[i * te->hosts_per_port], slot);
        if (*s == po)
            continue; /* selected twice by overlapping selectors */
        if (*s) {
            tr_warn(t, po, "ExternalService %s/%s port %u already uses %s %s/%s", es->obj.meta.ns,
                    es->obj.meta.name, es->ports.v[i].number, cw_kind_name(po->kind), (*s)->meta.ns,
                    (*s)->meta.name);
            continue;
        }
        /* A service with one upstream per host gets the policy on each of them. */
        for (uint32_t h = 0; h < te->hosts_per_port; h++)
            *slot_of(te->clusters[i * te->hosts_per_port + h], slot) = po;
        n++;
        if (!counted) {
            te->n_policies[slot]++;
            counted = true;
        }
    }
    return n;
}

static bool candidate(struct tr *t, const struct cw_object *po,
                      const struct cw_external_service *es)
{
    struct tr_object *te = tr_obj(t, &es->obj);
    return te->usable && te->clusters && te->ws == tr_obj(t, po)->ws;
}

static uint32_t apply_selector(struct tr *t, const struct cw_object *po, int slot,
                               const struct cw_dest_selector *sel, uint32_t index)
{
    if (sel->kind == CW_DEST_VIRTUAL_DESTINATION) {
        tr_warn(t, po,
                "applyToDestinations[%u]: causeway does not serve VirtualDestinations; "
                "ignored",
                index);
        return 0;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < CW_CONFIG_COUNT(t->cfg, EXTERNAL_SERVICE); i++) {
        const struct cw_external_service *es =
            CW_CONFIG_GET(t->cfg, EXTERNAL_SERVICE, cw_external_service, i);
        if (!candidate(t, po, es))
            continue;
        if (sel->has_selector && !tr_selector_matches(t, &sel->selector, &es->obj))
            continue;
        n += attach(t, po, slot, es, &sel->port);
    }
    return n;
}

static void apply_policy(struct tr *t, const struct cw_object *po, int slot,
                         const cw_dest_selectors_t *apply_to)
{
    struct tr_object *tp = tr_obj(t, po);
    uint32_t n = 0;
    /* Checked before anything is attached: an INVALID policy applies nowhere, not even
     * through its valid entries. */
    for (uint32_t i = 0; i < apply_to->n; i++) {
        if (apply_to->v[i].kind == CW_DEST_SERVICE) {
            tr_invalid(t, po,
                       "applyToDestinations.kind must be VIRTUAL_DESTINATION or "
                       "EXTERNAL_SERVICE");
            return;
        }
    }
    if (apply_to->n == 0) {
        static const struct cw_port_selector all_ports = {0};
        for (uint32_t i = 0; i < CW_CONFIG_COUNT(t->cfg, EXTERNAL_SERVICE); i++) {
            const struct cw_external_service *es =
                CW_CONFIG_GET(t->cfg, EXTERNAL_SERVICE, cw_external_service, i);
            if (candidate(t, po, es))
                n += attach(t, po, slot, es, &all_ports);
        }
    }
    for (uint32_t i = 0; i < apply_to->n; i++)
        n += apply_selector(t, po, slot, &apply_to->v[i], i);
    tp->counter = n; /* numSelectedDestinationPorts */
}

static void check_failover(struct tr *t, const struct cw_failover_policy *fp)
{
    const cw_strs_t *labels = &fp->priority_labels;
    uint32_t pairs = 0;
    for (uint32_t i = 0; i < labels->n; i++)
        pairs += strchr(labels->v[i], '=') != NULL;
    if (pairs && pairs != labels->n)
        tr_invalid(t, &fp->obj, "priorityLabels.labels must be all keys or all key=value pairs");
    if (labels->n && fp->mappings.n)
        tr_note(t, &fp->obj, "localityMappings take precedence over priorityLabels");
    tr_check_distribute(t, fp);
}

static void run_kind(struct tr *t, enum cw_kind kind)
{
    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, kind, &n);
    for (uint32_t i = 0; i < n; i++) {
        if (!tr_obj(t, v[i])->usable)
            continue;
        if (kind == CW_KIND_OUTLIER_DETECTION_POLICY) {
            apply_policy(t, v[i], 0, &((struct cw_outlier_policy *)v[i])->apply_to);
        } else {
            struct cw_failover_policy *fp = (struct cw_failover_policy *)v[i];
            check_failover(t, fp);
            if (tr_obj(t, v[i])->usable)
                apply_policy(t, v[i], 1, &fp->apply_to);
        }
    }
}

/* [DECISION] §7.1: failover without outlier detection is inactive, and the policy says so.
 * Weighted mappings (distribute) need no outlier detection: they are not failover. */
static void warn_failover_without_outlier(struct tr *t)
{
    for (uint32_t i = 0; i < t->clusters.n; i++) {
        struct cw_cluster *c = t->clusters.v[i];
        if (c->failover && !c->outlier && !cw_failover_distributes(c->failover))
            tr_warn(t, &c->failover->obj,
                    "no OutlierDetectionPolicy selects %s/%s; failover "
                    "inactive",
                    c->service->obj.meta.ns, c->service->obj.meta.name);
    }
}

/* §7.1: a gateway without a locality prioritises nothing, so a failover policy would silently
 * leave traffic alternating between data centers: the policy says so (once per policy). */
static void warn_failover_without_locality(struct tr *t)
{
    if (t->gw->locality.region[0])
        return;
    bool *warned = cw_xcalloc(t->cfg->objects.n + 1, sizeof(*warned));
    for (uint32_t i = 0; i < t->clusters.n; i++) {
        struct cw_cluster *c = t->clusters.v[i];
        if (!c->failover || !c->outlier || cw_failover_distributes(c->failover) ||
            warned[c->failover->obj.id])
            continue;
        warned[c->failover->obj.id] = true;
        tr_warn(t, &c->failover->obj,
                "this gateway has no locality (--locality or CAUSEWAY_LOCALITY); failover "
                "inactive, traffic is spread over every data center");
    }
    free(warned);
}

void tr_policies(struct tr *t)
{
    run_kind(t, CW_KIND_OUTLIER_DETECTION_POLICY);
    run_kind(t, CW_KIND_FAILOVER_POLICY);
    warn_failover_without_outlier(t);
    warn_failover_without_locality(t);
}
