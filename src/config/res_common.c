/*
 * The kind registry and the sub-types every kind shares (spec §0.2): ObjectReference,
 * ObjectSelector, PortSelector, DestinationSelector, locality, and the value checks.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/kinds.h"
#include "util/netaddr.h"
#include "util/text.h"

static const struct cw_kind_info registry[CW_KIND_COUNT] = {
    {CW_KIND_WORKSPACE, "Workspace", "admin.gloo.solo.io/v2", sizeof(struct cw_workspace),
     &cw_schema_workspace, false},
    {CW_KIND_WORKSPACE_SETTINGS, "WorkspaceSettings", "admin.gloo.solo.io/v2",
     sizeof(struct cw_workspace_settings), &cw_schema_workspace_settings, false},
    {CW_KIND_VIRTUAL_GATEWAY, "VirtualGateway", "networking.gloo.solo.io/v2",
     sizeof(struct cw_virtual_gateway), &cw_schema_virtual_gateway, true},
    {CW_KIND_ROUTE_TABLE, "RouteTable", "networking.gloo.solo.io/v2", sizeof(struct cw_route_table),
     &cw_schema_route_table, true},
    {CW_KIND_EXTERNAL_SERVICE, "ExternalService", "networking.gloo.solo.io/v2",
     sizeof(struct cw_external_service), &cw_schema_external_service, true},
    {CW_KIND_EXTERNAL_ENDPOINT, "ExternalEndpoint", "networking.gloo.solo.io/v2",
     sizeof(struct cw_external_endpoint), &cw_schema_external_endpoint, true},
    {CW_KIND_OUTLIER_DETECTION_POLICY, "OutlierDetectionPolicy",
     "resilience.policy.gloo.solo.io/v2", sizeof(struct cw_outlier_policy),
     &cw_schema_outlier_detection_policy, false},
    {CW_KIND_FAILOVER_POLICY, "FailoverPolicy", "resilience.policy.gloo.solo.io/v2",
     sizeof(struct cw_failover_policy), &cw_schema_failover_policy, false},
};

const struct cw_kind_info *cw_kind_info_by_name(const char *name)
{
    for (int i = 0; i < CW_KIND_COUNT; i++)
        if (strcmp(registry[i].name, name) == 0)
            return &registry[i];
    return NULL;
}

const char *cw_kind_name(enum cw_kind kind)
{
    return registry[kind].name;
}

const char *cw_kind_api_version(enum cw_kind kind)
{
    return registry[kind].api_version;
}

/* ---- value checks ---- */

const char *cw_check_hostname(const char *s)
{
    return cw_hostname_check(s, 0);
}

const char *cw_check_host_or_wildcard(const char *s)
{
    return cw_hostname_check(s, CW_HOST_ALLOW_WILDCARD);
}

const char *cw_check_ip_or_cidr(const char *s)
{
    struct cw_ip_prefix p;
    const char *why = NULL;
    if (cw_ip_prefix_parse(s, &p, &why) == 0)
        return NULL;
    /* A DNS name in addresses is a common slip; say where it belongs. */
    if (!strchr(s, '/') && !cw_hostname_check(s, CW_HOST_ALLOW_WILDCARD))
        return "a hostname, not an IP address: list it under hosts";
    return why;
}

static const char *check_dns1123(const char *s, size_t max, bool dots)
{
    size_t n = strlen(s);
    if (n == 0)
        return "must not be empty";
    if (n > max)
        return dots ? "must be at most 253 characters" : "must be at most 63 characters";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || (dots && c == '.');
        if (!ok)
            return dots ? "must consist of lower case letters, digits, '-' and '.'"
                        : "must consist of lower case letters, digits and '-'";
    }
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')) ||
        !((s[n - 1] >= 'a' && s[n - 1] <= 'z') || (s[n - 1] >= '0' && s[n - 1] <= '9')))
        return "must start and end with a letter or digit";
    return NULL;
}

const char *cw_check_dns1123_label(const char *s)
{
    return check_dns1123(s, 63, false);
}

const char *cw_check_dns1123_subdomain(const char *s)
{
    return check_dns1123(s, 253, true);
}

/* ---- shared sub-schemas ---- */

static const struct cw_field object_ref_fields[] = {
    {.name = "name",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_object_ref, name),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "namespace", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_ref, ns)},
    {.name = "cluster", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_ref, cluster)},
    {0},
};
const struct cw_schema cw_schema_object_ref = {.fields = object_ref_fields};

static const struct cw_field object_selector_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_selector, name)},
    {.name = "namespace", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_selector, ns)},
    {.name = "cluster", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_selector, cluster)},
    {.name = "workspace", .type = CW_F_STR, CW_FIELD_AT(struct cw_object_selector, workspace)},
    {.name = "labels", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_object_selector, labels)},
    {0},
};
const struct cw_schema cw_schema_object_selector = {.fields = object_selector_fields};

static void port_selector_post(struct cw_decode *d, void *obj)
{
    struct cw_port_selector *p = obj;
    if (p->number && p->name)
        cw_decode_error(d, NULL, "set at most one of number and name");
}

static const struct cw_field port_selector_fields[] = {
    {.name = "number",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_port_selector, number),
     .min = 1,
     .max = 65535},
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_port_selector, name)},
    {0},
};
const struct cw_schema cw_schema_port_selector = {.fields = port_selector_fields,
                                                  .post = port_selector_post};

/* A port that must be named one way or the other ("port: {}" is an error; no port at all is
 * the parent's missing required field). */
static void required_port_selector_post(struct cw_decode *d, void *obj)
{
    struct cw_port_selector *p = obj;
    port_selector_post(d, obj);
    if (!p->number && !p->name)
        cw_decode_error(d, NULL, "set number or name");
}

const struct cw_schema cw_schema_required_port_selector = {.fields = port_selector_fields,
                                                           .post = required_port_selector_post};

const char *const cw_dest_kind_names[] = {"SERVICE", "VIRTUAL_DESTINATION", "EXTERNAL_SERVICE",
                                          NULL};

static const struct cw_field dest_selector_fields[] = {
    {.name = "kind",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_dest_selector, kind),
     .names = cw_dest_kind_names},
    {.name = "port",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_dest_selector, port),
     .sub = &cw_schema_port_selector},
    {.name = "selector",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_dest_selector, selector),
     CW_PRESENT(struct cw_dest_selector, has_selector),
     .sub = &cw_schema_object_selector},
    {0},
};
const struct cw_schema cw_schema_dest_selector = {.fields = dest_selector_fields};

void cw_locality_fill_empty(struct cw_locality *l)
{
    /* Empty strings compare equal to an absent gateway field (§7.2), so normalise to "". */
    if (!l->region)
        l->region = "";
    if (!l->zone)
        l->zone = "";
    if (!l->subzone)
        l->subzone = "";
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool cw_locality_equal(const struct cw_locality *a, const struct cw_locality *b)
{
    return same_text(a->region, b->region) && same_text(a->zone, b->zone) &&
           same_text(a->subzone, b->subzone);
}

static void locality_post(struct cw_decode *d, void *obj)
{
    (void)d;
    cw_locality_fill_empty(obj);
}

static const struct cw_field locality_fields[] = {
    {.name = "region", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality, region)},
    {.name = "zone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality, zone)},
    {.name = "subZone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality, subzone)},
    {0},
};
const struct cw_schema cw_schema_locality = {.fields = locality_fields, .post = locality_post};

/* A locality that names at least its region (a FailoverPolicy mapping's from). */
static const struct cw_field region_locality_fields[] = {
    {.name = "region",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_locality, region),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "zone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality, zone)},
    {.name = "subZone", .type = CW_F_STR, CW_FIELD_AT(struct cw_locality, subzone)},
    {0},
};
const struct cw_schema cw_schema_region_locality = {.fields = region_locality_fields,
                                                    .post = locality_post};
