/*
 * Workspace membership (spec §8.1-§8.2): which workspace owns each namespace, and which
 * WorkspaceSettings belongs to each workspace. A namespace belongs to at most one workspace: the
 * workspace with precedence (older creationTimestamp, then namespace/name) keeps it and a later
 * workspace that claims it too is INVALID and owns nothing.
 */
#include <string.h>

#include "translate/translate_int.h"
#include "util/text.h"

#define ADMIN_NAMESPACE    "gloo-mesh"
#define GLOBAL_SETTINGS    "global"
#define IMPLICIT_WORKSPACE "default"

/* Every namespace that some object lives in, plus the gateway's own. */
static void collect_namespaces(struct tr *t, struct cw_strmap *namespaces)
{
    for (uint32_t i = 0; i < t->cfg->objects.n; i++) {
        const struct cw_object *o = t->cfg->objects.v[i];
        if (o->kind != CW_KIND_WORKSPACE)
            cw_strmap_put_new(namespaces, o->meta.ns, strlen(o->meta.ns), (void *)o->meta.ns);
    }
    if (t->gw->ns)
        cw_strmap_put_new(namespaces, t->gw->ns, strlen(t->gw->ns), (void *)t->gw->ns);
}

static bool cluster_applies(struct tr *t, const struct cw_workload_cluster *c)
{
    /* Without --cluster every entry describes the one cluster causeway reads manifests for. */
    if (!t->gw->cluster)
        return true;
    if (c->name && !cw_glob_match(c->name, t->gw->cluster))
        return false;
    return c->selector.n == 0; /* cluster labels are unknown to causeway */
}

/* True when workspace <w> selects namespace <ns>; reports label selectors it cannot evaluate. */
static bool selects_namespace(struct tr *t, const struct cw_workspace *w, const char *ns)
{
    for (uint32_t c = 0; c < w->clusters.n; c++) {
        const struct cw_workload_cluster *wc = &w->clusters.v[c];
        if (!cluster_applies(t, wc))
            continue;
        for (uint32_t i = 0; i < wc->namespaces.n; i++) {
            const struct cw_namespace_selector *s = &wc->namespaces.v[i];
            if (s->labels.n)
                continue; /* reported once in check_label_selectors */
            if (cw_glob_match(s->name, ns))
                return true;
        }
    }
    return false;
}

static void check_label_selectors(struct tr *t, const struct cw_workspace *w)
{
    for (uint32_t c = 0; c < w->clusters.n; c++)
        for (uint32_t i = 0; i < w->clusters.v[c].namespaces.n; i++)
            if (w->clusters.v[c].namespaces.v[i].labels.n)
                tr_warn(t, &w->obj,
                        "workloadClusters[%u].namespaces[%u]: namespace labels cannot be "
                        "evaluated (causeway reads no Namespace objects); entry ignored",
                        c, i);
}

static struct tr_workspace *new_workspace(struct tr *t, const char *name,
                                          const struct cw_workspace *src)
{
    struct tr_workspace *ws = CW_ARENA_NEW(t->arena, struct tr_workspace);
    ws->index = t->workspaces.n;
    ws->name = name;
    ws->src = src;
    if (src)
        ws->labels = src->obj.meta.labels;
    CW_VEC_PUSH(&t->workspaces, ws);
    return ws;
}

/* Claims every known namespace <w> selects, unless one is taken: then <w> is INVALID. */
static void claim_namespaces(struct tr *t, const struct cw_workspace *w, struct cw_strmap *known,
                             struct cw_strmap *owner)
{
    const char *taken_ns = NULL;
    struct tr_workspace *taken_by = NULL;
    for (size_t i = 0; i < known->cap && !taken_ns; i++) {
        const char *ns = known->slots[i].key ? known->slots[i].value : NULL;
        if (ns && selects_namespace(t, w, ns) && (taken_by = cw_strmap_get(owner, ns, strlen(ns))))
            taken_ns = ns;
    }
    if (taken_ns) {
        tr_invalid(t, &w->obj, "namespace %s already belongs to workspace %s", taken_ns,
                   taken_by->name);
        return;
    }
    struct tr_workspace *ws = new_workspace(t, w->obj.meta.name, w);
    for (size_t i = 0; i < known->cap; i++) {
        const char *ns = known->slots[i].key ? known->slots[i].value : NULL;
        if (ns && selects_namespace(t, w, ns)) {
            cw_strmap_set(owner, ns, strlen(ns), ws);
            ws->n_namespaces++;
        }
    }
}

static void assign_owners(struct tr *t, struct cw_strmap *owner, bool implicit)
{
    for (uint32_t i = 0; i < t->cfg->objects.n; i++) {
        const struct cw_object *o = t->cfg->objects.v[i];
        if (o->kind == CW_KIND_WORKSPACE)
            continue;
        struct tr_object *to = tr_obj(t, o);
        to->ws = cw_strmap_get(owner, o->meta.ns, strlen(o->meta.ns));
        bool global = o->kind == CW_KIND_WORKSPACE_SETTINGS &&
                      !strcmp(o->meta.name, GLOBAL_SETTINGS) &&
                      !strcmp(o->meta.ns, ADMIN_NAMESPACE);
        if (!to->ws && !global && !implicit)
            tr_invalid(t, o, "namespace %s is not in any Workspace", o->meta.ns);
        to->usable = !o->error && !to->invalid_msg && (to->ws || global);
    }
    if (t->gw->ns)
        t->gateway_ws = cw_strmap_get(owner, t->gw->ns, strlen(t->gw->ns));
}

/* One WorkspaceSettings per workspace; the one named global in gloo-mesh applies to all. */
static void assign_settings(struct tr *t)
{
    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, CW_KIND_WORKSPACE_SETTINGS, &n);
    const struct cw_workspace_settings *global = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_workspace_settings *s = (const struct cw_workspace_settings *)v[i];
        struct tr_object *to = tr_obj(t, &s->obj);
        if (!to->usable)
            continue;
        if (!strcmp(s->obj.meta.name, GLOBAL_SETTINGS) &&
            !strcmp(s->obj.meta.ns, ADMIN_NAMESPACE)) {
            global = s;
            continue;
        }
        if (to->ws->settings) {
            tr_invalid(t, &s->obj, "workspace %s already has WorkspaceSettings %s/%s", to->ws->name,
                       to->ws->settings->obj.meta.ns, to->ws->settings->obj.meta.name);
            continue;
        }
        to->ws->settings = s;
    }
    if (!global)
        return;
    /* The global settings override each workspace's own import/export lists. */
    for (uint32_t w = 0; w < t->workspaces.n; w++) {
        struct tr_workspace *ws = t->workspaces.v[w];
        if (ws->settings && ws->settings != global)
            tr_note(t, &ws->settings->obj, "overridden by WorkspaceSettings %s/%s", ADMIN_NAMESPACE,
                    GLOBAL_SETTINGS);
        ws->settings = global;
    }
}

void tr_workspaces(struct tr *t)
{
    struct cw_strmap known, owner;
    cw_strmap_init(&known);
    cw_strmap_init(&owner);
    collect_namespaces(t, &known);

    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, CW_KIND_WORKSPACE, &n);
    bool implicit = n == 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_workspace *w = (const struct cw_workspace *)v[i];
        if (w->obj.error)
            continue;
        check_label_selectors(t, w);
        claim_namespaces(t, w, &known, &owner);
    }
    if (implicit) {
        /* Without any Workspace, every namespace forms one implicit workspace, so a small
         * setup needs no tenancy objects. */
        struct tr_workspace *ws = new_workspace(t, IMPLICIT_WORKSPACE, NULL);
        for (size_t i = 0; i < known.cap; i++)
            if (known.slots[i].key) {
                cw_strmap_set(&owner, known.slots[i].key, known.slots[i].len, ws);
                ws->n_namespaces++;
            }
        if (t->cfg->objects.n)
            cw_diags_add(t->diags, CW_SEV_NOTE, NULL, 0, 0, NULL, NULL,
                         "no Workspace defined: all namespaces form the implicit workspace "
                         "\"%s\"",
                         IMPLICIT_WORKSPACE);
    }
    assign_owners(t, &owner, implicit);
    assign_settings(t);
    cw_strmap_deinit(&known);
    cw_strmap_deinit(&owner);
}
