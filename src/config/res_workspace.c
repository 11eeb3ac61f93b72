/* Workspace (spec §8.1) and WorkspaceSettings (spec §8.2) schemas. */
#include <string.h>

#include "config/kinds.h"

static const struct cw_field namespace_fields[] = {
    {.name = "name",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_namespace_selector, name),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "labels", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_namespace_selector, labels)},
    {.name = "configEnabled",
     .type = CW_F_BOOL,
     CW_FIELD_AT(struct cw_namespace_selector, config_enabled),
     CW_PRESENT(struct cw_namespace_selector, has_config_enabled)},
    {0},
};

static void namespace_post(struct cw_decode *d, void *obj)
{
    (void)d;
    struct cw_namespace_selector *n = obj;
    n->config_enabled = !n->has_config_enabled || n->config_enabled; /* default true */
}

static const struct cw_schema namespace_schema = {.fields = namespace_fields,
                                                  .post = namespace_post};

static void cluster_post(struct cw_decode *d, void *obj)
{
    (void)d;
    struct cw_workload_cluster *c = obj;
    /* Neither name nor selector is valid: the entry matches every cluster (§8.1). */
    c->config_enabled = !c->has_config_enabled || c->config_enabled; /* default true */
}

static const struct cw_field cluster_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_workload_cluster, name)},
    {.name = "selector", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_workload_cluster, selector)},
    {.name = "configEnabled",
     .type = CW_F_BOOL,
     CW_FIELD_AT(struct cw_workload_cluster, config_enabled),
     CW_PRESENT(struct cw_workload_cluster, has_config_enabled)},
    {.name = "namespaces",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_workload_cluster, namespaces),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY,
     .sub = &namespace_schema,
     .elem_size = sizeof(struct cw_namespace_selector)},
    {0},
};
static const struct cw_schema cluster_schema = {.fields = cluster_fields, .post = cluster_post};

static const struct cw_field workspace_fields[] = {
    {.name = "workloadClusters",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_workspace, clusters),
     .sub = &cluster_schema,
     .elem_size = sizeof(struct cw_workload_cluster)},
    {0},
};
const struct cw_schema cw_schema_workspace = {.fields = workspace_fields};

/* ---- WorkspaceSettings ---- */

/* In enum cw_resource_kind order up to EXTERNAL_SERVICE; the kinds after it are accepted but
 * not served by causeway (CW_RES_OTHER). */
static const char *const resource_kind_names[] = {"ALL",
                                                  "ROUTE_TABLE",
                                                  "SERVICE",
                                                  "VIRTUAL_DESTINATION",
                                                  "EXTERNAL_SERVICE",
                                                  "API_DOC",
                                                  "GRAPHQL_RESOLVER_MAP",
                                                  "GRAPHQL_SCHEMA",
                                                  "GRAPHQL_STITCHED_SCHEMA",
                                                  "EXTERNAL_WORKLOAD",
                                                  NULL};

static void resource_pick_post(struct cw_decode *d, void *obj)
{
    (void)d;
    struct cw_resource_pick *p = obj;
    p->kind = CW_RES_ALL;
    if (!p->kind_text)
        return;
    int i = cw_name_index(resource_kind_names, p->kind_text); /* the decoder checked it */
    p->kind = i >= 0 && i < CW_RES_OTHER ? (enum cw_resource_kind)i : CW_RES_OTHER;
}

static const struct cw_field resource_pick_fields[] = {
    {.name = "kind",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_resource_pick, kind_text),
     .names = resource_kind_names},
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_resource_pick, name)},
    {.name = "namespace", .type = CW_F_STR, CW_FIELD_AT(struct cw_resource_pick, ns)},
    {.name = "cluster", .type = CW_F_STR, CW_FIELD_AT(struct cw_resource_pick, cluster)},
    {.name = "labels", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_resource_pick, labels)},
    {0},
};
static const struct cw_schema resource_pick_schema = {.fields = resource_pick_fields,
                                                      .post = resource_pick_post};

static const struct cw_field workspace_pick_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_workspace_pick, name)},
    {.name = "selector", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_workspace_pick, selector)},
    {0},
};
static const struct cw_schema workspace_pick_schema = {.fields = workspace_pick_fields};

static const struct cw_field import_export_fields[] = {
    {.name = "workspaces",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_import_export, workspaces),
     .sub = &workspace_pick_schema,
     .elem_size = sizeof(struct cw_workspace_pick)},
    {.name = "resources",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_import_export, resources),
     CW_PRESENT(struct cw_import_export, has_resources),
     .sub = &resource_pick_schema,
     .elem_size = sizeof(struct cw_resource_pick)},
    {.name = "serviceIsolation", .type = CW_F_IGNORE},
    {0},
};
static const struct cw_schema import_export_schema = {.fields = import_export_fields};

static const struct cw_field workspace_settings_fields[] = {
    {.name = "exportTo",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_workspace_settings, export_to),
     .sub = &import_export_schema,
     .elem_size = sizeof(struct cw_import_export)},
    {.name = "importFrom",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_workspace_settings, import_from),
     .sub = &import_export_schema,
     .elem_size = sizeof(struct cw_import_export)},
    {.name = "options", .type = CW_F_IGNORE}, /* mesh options: out of scope for a gateway */
    {0},
};
const struct cw_schema cw_schema_workspace_settings = {.fields = workspace_settings_fields};
