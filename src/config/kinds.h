/*
 * The registry of kinds causeway serves: names, API group and the schema of each spec
 * (private to config/). One res_*.c file per kind defines its schema.
 */
#ifndef CW_CONFIG_KINDS_H
#define CW_CONFIG_KINDS_H

#include <stddef.h>

#include "config/schema.h"

struct cw_kind_info {
    enum cw_kind kind;
    const char *name;
    const char *api_version;
    size_t size; /* sizeof the kind's struct, which starts with struct cw_object */
    const struct cw_schema *spec;
    bool spec_required;
};

extern const struct cw_schema cw_schema_external_service;
extern const struct cw_schema cw_schema_external_endpoint;
extern const struct cw_schema cw_schema_route_table;
extern const struct cw_schema cw_schema_virtual_gateway;
extern const struct cw_schema cw_schema_outlier_detection_policy;
extern const struct cw_schema cw_schema_failover_policy;
extern const struct cw_schema cw_schema_workspace;
extern const struct cw_schema cw_schema_workspace_settings;

/* Shared sub-schemas (res_common.c). */
extern const struct cw_schema cw_schema_object_ref;
extern const struct cw_schema cw_schema_object_selector;
extern const struct cw_schema cw_schema_port_selector;
extern const struct cw_schema cw_schema_required_port_selector;
extern const struct cw_schema cw_schema_dest_selector;
extern const struct cw_schema cw_schema_locality;
extern const struct cw_schema cw_schema_region_locality;
extern const char *const cw_dest_kind_names[];

/* Value checks shared by several kinds (res_common.c). */
const char *cw_check_hostname(const char *s);
const char *cw_check_host_or_wildcard(const char *s);
const char *cw_check_ip_or_cidr(const char *s);
const char *cw_check_dns1123_label(const char *s);
const char *cw_check_dns1123_subdomain(const char *s);

/* Turns absent region/zone/subZone into "" (absent and empty mean the same, §7.2). */
void cw_locality_fill_empty(struct cw_locality *l);

/* Finds the entry whose kind name is <name>, or NULL. */
const struct cw_kind_info *cw_kind_info_by_name(const char *name);

#endif
