/*
 * The translation pipeline. Each pass lives in its own file and reads what earlier passes
 * decided; this file only orders them and owns the result.
 */
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "translate/translate_int.h"
#include "util/xalloc.h"

/* Objects whose YAML did not decode are INVALID with their first schema error (§9 admission). */
static void mark_decode_errors(struct tr *t)
{
    for (uint32_t i = 0; i < t->cfg->objects.n; i++) {
        struct cw_object *o = t->cfg->objects.v[i];
        if (o->error)
            tr_invalid(t, o, "%s", o->error);
    }
}

int cw_translate(struct cw_config *cfg, const struct cw_gateway_identity *gw,
                 struct cw_translation *out, struct cw_diags *diags)
{
    memset(out, 0, sizeof(*out));
    cw_arena_init(&out->arena);
    uint32_t n = cfg->objects.n;
    for (uint32_t i = 0; i < n; i++)
        cfg->objects.v[i]->id = i;
    out->n_statuses = n;
    out->statuses = CW_ARENA_ARRAY(&out->arena, struct cw_status, n ? n : 1);
    out->snapshot = CW_ARENA_NEW(&out->arena, struct cw_snapshot);
    out->snapshot->locality = gw->locality;

    struct tr t = {.cfg = cfg, .gw = gw, .out = out, .arena = &out->arena, .diags = diags};
    t.objs = cw_xcalloc(n ? n : 1, sizeof(*t.objs));
    cw_strmap_init(&t.es_by_name);
    cw_strmap_init(&t.vg_by_name);
    cw_strmap_init(&t.served_pairs);
    cw_strmap_init(&t.tls_contexts);
    cw_arena_init(&t.scratch);

    mark_decode_errors(&t);
    tr_workspaces(&t);
    tr_visibility_init(&t);
    tr_external_services(&t);
    tr_endpoints(&t);
    tr_policies(&t);
    tr_priorities(&t);
    tr_virtual_gateways(&t);
    tr_route_tables(&t);
    tr_finish_statuses(&t);

    out->snapshot->clusters.v =
        t.clusters.v ? CW_ARENA_ARRAY(&out->arena, struct cw_cluster *, t.clusters.n) : NULL;
    for (uint32_t i = 0; i < t.clusters.n; i++) {
        out->snapshot->clusters.v[i] = t.clusters.v[i];
        t.clusters.v[i]->index = i;
    }
    out->snapshot->clusters.n = t.clusters.n;
    cw_snapshot_index(out->snapshot, &out->arena);

    CW_VEC_FREE(&t.clusters);
    CW_VEC_FREE(&t.workspaces);
    cw_strmap_deinit(&t.es_by_name);
    cw_strmap_deinit(&t.vg_by_name);
    cw_strmap_deinit(&t.served_pairs);
    tr_tls_contexts_free(&t);
    cw_arena_deinit(&t.scratch);
    free(t.links);
    free(t.objs);
    return 0;
}

void cw_translation_deinit(struct cw_translation *t)
{
    cw_snapshot_release(t->snapshot);
    cw_arena_deinit(&t->arena);
    memset(t, 0, sizeof(*t));
}
