/*
 * Import/export visibility (spec §8.3) and the selector matching every pass uses. A resource
 * owned by workspace A is usable in B only when A exports it to B and B imports it from A.
 * links[] caches, per pair of workspaces, whether any export and import entry connect them, so
 * the per-resource check runs only for linked pairs.
 */
#include <stdlib.h>
#include <string.h>

#include "translate/translate_int.h"
#include "util/text.h"
#include "util/xalloc.h"

const char *tr_label_value(const cw_labels_t *labels, const char *key)
{
    for (uint32_t i = 0; i < labels->n; i++)
        if (!strcmp(labels->v[i].key, key))
            return labels->v[i].value;
    return NULL;
}

bool tr_labels_match(const cw_labels_t *want, const cw_labels_t *have)
{
    for (uint32_t i = 0; i < want->n; i++) {
        const char *v = tr_label_value(have, want->v[i].key);
        if (!v || strcmp(v, want->v[i].value) != 0)
            return false;
    }
    return true;
}

bool tr_selector_matches(struct tr *t, const struct cw_object_selector *sel,
                         const struct cw_object *o)
{
    if (sel->name && strcmp(sel->name, o->meta.name) != 0)
        return false;
    if (sel->ns && strcmp(sel->ns, o->meta.ns) != 0)
        return false;
    if (sel->cluster && t->gw->cluster && strcmp(sel->cluster, t->gw->cluster) != 0)
        return false;
    if (sel->workspace) {
        const struct tr_workspace *ws = tr_obj(t, o)->ws;
        if (!ws || strcmp(sel->workspace, ws->name) != 0)
            return false;
    }
    return tr_labels_match(&sel->labels, &o->meta.labels);
}

static bool workspace_picked(const struct cw_import_export *e, const struct tr_workspace *ws)
{
    for (uint32_t i = 0; i < e->workspaces.n; i++) {
        const struct cw_workspace_pick *p = &e->workspaces.v[i];
        if (!p->name && p->selector.n == 0)
            continue; /* an empty entry selects nothing */
        if (p->name && !cw_glob_match(p->name, ws->name))
            continue;
        if (!tr_labels_match(&p->selector, &ws->labels))
            continue;
        return true;
    }
    return false;
}

static enum cw_resource_kind resource_kind(const struct cw_object *o)
{
    return o->kind == CW_KIND_ROUTE_TABLE ? CW_RES_ROUTE_TABLE : CW_RES_EXTERNAL_SERVICE;
}

static bool resource_picked(struct tr *t, const struct cw_import_export *e,
                            const struct cw_object *o)
{
    if (!e->has_resources)
        return true; /* [DECISION] §8.2: omitted resources ⇒ every exportable kind */
    for (uint32_t i = 0; i < e->resources.n; i++) {
        const struct cw_resource_pick *p = &e->resources.v[i];
        if (p->kind != CW_RES_ALL && p->kind != resource_kind(o))
            continue;
        if (p->name && strcmp(p->name, o->meta.name) != 0)
            continue;
        if (p->ns && strcmp(p->ns, o->meta.ns) != 0)
            continue;
        if (p->cluster && t->gw->cluster && strcmp(p->cluster, t->gw->cluster) != 0)
            continue;
        if (!tr_labels_match(&p->labels, &o->meta.labels))
            continue;
        return true;
    }
    return false;
}

/* Some entry of <list> picks workspace <ws> and, when <o> is given, the resource <o>. */
static bool any_entry(struct tr *t, const struct cw_workspace_settings *s, bool exports,
                      const struct tr_workspace *ws, const struct cw_object *o)
{
    if (!s)
        return false;
    const struct cw_import_export *v = exports ? s->export_to.v : s->import_from.v;
    uint32_t n = exports ? s->export_to.n : s->import_from.n;
    for (uint32_t i = 0; i < n; i++)
        if (workspace_picked(&v[i], ws) && (!o || resource_picked(t, &v[i], o)))
            return true;
    return false;
}

bool tr_linked(struct tr *t, const struct tr_workspace *from, const struct tr_workspace *to)
{
    return t->links[from->index * t->workspaces.n + to->index];
}

bool tr_visible_in(struct tr *t, const struct cw_object *o, const struct tr_workspace *ws)
{
    const struct tr_workspace *owner = tr_obj(t, o)->ws;
    if (!owner || !ws)
        return false;
    if (owner == ws)
        return true;
    if (!tr_linked(t, owner, ws))
        return false;
    return any_entry(t, owner->settings, true, ws, o) &&
           any_entry(t, ws->settings, false, owner, o);
}

void tr_visibility_init(struct tr *t)
{
    uint32_t n = t->workspaces.n;
    t->links = cw_xcalloc((size_t)n * n + 1, sizeof(bool));
    for (uint32_t a = 0; a < n; a++) {
        for (uint32_t b = 0; b < n; b++) {
            struct tr_workspace *wa = t->workspaces.v[a], *wb = t->workspaces.v[b];
            if (a == b)
                continue;
            bool linked = any_entry(t, wa->settings, true, wb, NULL) &&
                          any_entry(t, wb->settings, false, wa, NULL);
            t->links[a * n + b] = linked;
            if (linked)
                wb->n_imported++;
        }
    }
}

bool tr_host_filter_ns(const char *filter, const char *vg_ns, const char *obj_ns, const char **dns)
{
    const char *slash = strchr(filter, '/');
    *dns = slash ? slash + 1 : filter;
    if (!slash)
        return true; /* no namespace part ⇒ any namespace ("*\/") */
    size_t n = (size_t)(slash - filter);
    if (n == 1 && filter[0] == '*')
        return true;
    if (n == 1 && filter[0] == '.')
        return !strcmp(vg_ns, obj_ns);
    return strlen(obj_ns) == n && !strncmp(filter, obj_ns, n);
}
