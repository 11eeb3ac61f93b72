/* OutlierDetectionPolicy (spec §5) and FailoverPolicy (spec §6) schemas. */
#include "config/kinds.h"

/* Defaults that apply when config or one of its fields is absent (§5). */
#define DEFAULT_CONSECUTIVE_ERRORS 5u
#define DEFAULT_INTERVAL_MS        10000u
#define DEFAULT_BASE_EJECTION_MS   30000u

static const struct cw_field outlier_config_fields[] = {
    {.name = "consecutiveErrors",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_outlier_config, consecutive_errors),
     CW_PRESENT(struct cw_outlier_config, has_consecutive_errors),
     .min = 1,
     .max = INT32_MAX},
    {.name = "consecutiveGatewayErrors",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_outlier_config, consecutive_gateway_errors),
     .max = INT32_MAX},
    {.name = "interval",
     .type = CW_F_DURATION,
     CW_FIELD_AT(struct cw_outlier_config, interval_ms),
     CW_PRESENT(struct cw_outlier_config, has_interval)},
    {.name = "baseEjectionTime",
     .type = CW_F_DURATION,
     CW_FIELD_AT(struct cw_outlier_config, base_ejection_ms),
     CW_PRESENT(struct cw_outlier_config, has_base_ejection)},
    {.name = "maxEjectionPercent",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_outlier_config, max_ejection_percent),
     CW_PRESENT(struct cw_outlier_config, has_max_ejection_percent),
     .max = 100},
    {0},
};

static const struct cw_schema outlier_config_schema = {.fields = outlier_config_fields};

static void outlier_policy_post(struct cw_decode *d, void *obj)
{
    (void)d;
    /* Runs after config{} (or without it), so every absent field gets its default here. */
    struct cw_outlier_config *c = &((struct cw_outlier_policy *)obj)->config;
    if (!c->has_consecutive_errors)
        c->consecutive_errors = DEFAULT_CONSECUTIVE_ERRORS;
    if (!c->has_interval)
        c->interval_ms = DEFAULT_INTERVAL_MS;
    if (!c->has_base_ejection)
        c->base_ejection_ms = DEFAULT_BASE_EJECTION_MS;
    /* [DECISION] §5: absent ⇒ 100 (Gloo), explicit 0 ⇒ 10 (Istio's default). */
    if (!c->has_max_ejection_percent)
        c->max_ejection_percent = 100;
    else if (c->max_ejection_percent == 0)
        c->max_ejection_percent = 10;
}

static const struct cw_field outlier_policy_fields[] = {
    {.name = "applyToDestinations",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_outlier_policy, apply_to),
     .sub = &cw_schema_dest_selector,
     .elem_size = sizeof(struct cw_dest_selector)},
    {.name = "config",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_outlier_policy, config),
     .sub = &outlier_config_schema},
    {0},
};
const struct cw_schema cw_schema_outlier_detection_policy = {.fields = outlier_policy_fields,
                                                             .post = outlier_policy_post};

/* ---- FailoverPolicy ---- */

static const struct cw_field target_fields[] = {
    {.name = "region",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_locality_target, locality.region),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "zone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality_target, locality.zone)},
    {.name = "subZone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality_target, locality.subzone)},
    {.name = "weight",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_locality_target, weight),
     CW_PRESENT(struct cw_locality_target, has_weight),
     .max = 100},
    {0},
};

static void target_post(struct cw_decode *d, void *obj)
{
    (void)d;
    cw_locality_fill_empty(&((struct cw_locality_target *)obj)->locality);
}

static const struct cw_schema target_schema = {.fields = target_fields, .post = target_post};

/*
 * Unspecified weights are derived from the others (§6). [DECISION] The spec does not say how:
 * what the written weights leave is shared equally by the targets without one, in list order
 * the first of them taking the percent points that do not divide (100 - 70 over two targets:
 * 15 and 15; 100 - 50 over three: 17, 17 and 16). Each gets at least 1 (checked before).
 */
static void derive_weights(struct cw_locality_mapping *m, uint32_t unweighted, uint32_t left)
{
    if (unweighted == 0)
        return;
    uint32_t share = left / unweighted, odd = left % unweighted;
    for (uint32_t i = 0; i < m->to.n; i++) {
        struct cw_locality_target *t = &m->to.v[i];
        if (t->has_weight)
            continue;
        t->weight = share + (odd > 0);
        if (odd > 0)
            odd--;
    }
}

static void mapping_post(struct cw_decode *d, void *obj)
{
    struct cw_locality_mapping *m = obj;
    uint32_t weighted = 0, sum = 0;
    for (uint32_t i = 0; i < m->to.n; i++) {
        if (m->to.v[i].has_weight) {
            weighted++;
            sum += m->to.v[i].weight;
        }
    }
    m->distribute = weighted > 0;
    if (weighted && (sum > 100 || (weighted == m->to.n && sum != 100)))
        cw_decode_error(d, "to", "weights must total 100 (they total %u)", sum);
    else if (weighted && weighted < m->to.n && 100 - sum < m->to.n - weighted)
        cw_decode_error(d, "to", "weights leave %u%% for %u targets without a weight", 100 - sum,
                        m->to.n - weighted);
    else if (weighted)
        derive_weights(m, m->to.n - weighted, 100 - sum);
}

static const struct cw_field mapping_fields[] = {
    {.name = "from",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_locality_mapping, from),
     .flags = CW_F_REQUIRED,
     .sub = &cw_schema_region_locality},
    {.name = "to",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_locality_mapping, to),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY,
     .sub = &target_schema,
     .elem_size = sizeof(struct cw_locality_target)},
    {0},
};
static const struct cw_schema mapping_schema = {.fields = mapping_fields, .post = mapping_post};

static const struct cw_field priority_labels_fields[] = {
    {.name = "labels", .type = CW_F_STRS, CW_FIELD_AT(struct cw_failover_policy, priority_labels)},
    {0},
};
static const struct cw_schema priority_labels_schema = {.fields = priority_labels_fields};

/* config{} decodes into the policy struct itself (offset 0). */
static const struct cw_field failover_config_fields[] = {
    {.name = "localityMappings",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_failover_policy, mappings),
     .sub = &mapping_schema,
     .elem_size = sizeof(struct cw_locality_mapping)},
    {.name = "priorityLabels", .type = CW_F_OBJ, .offset = 0, .sub = &priority_labels_schema},
    {0},
};
static const struct cw_schema failover_config_schema = {.fields = failover_config_fields};

static const struct cw_field failover_policy_fields[] = {
    {.name = "applyToDestinations",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_failover_policy, apply_to),
     .sub = &cw_schema_dest_selector,
     .elem_size = sizeof(struct cw_dest_selector)},
    {.name = "config", .type = CW_F_OBJ, .offset = 0, .sub = &failover_config_schema},
    {0},
};
const struct cw_schema cw_schema_failover_policy = {.fields = failover_policy_fields};
