/*
 * The typed resources of a loaded manifest set: one struct per Gloo kind, with every field of
 * spec/gloo-api.md §1-§8. Strings are NUL-terminated and owned by the config's arena; absent
 * optional strings are NULL, absent lists have n == 0 and a has_* flag where "absent" and
 * "empty" mean different things. Read-only after cw_config_load returns.
 */
#ifndef CW_CONFIG_TYPES_H
#define CW_CONFIG_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define CW_LIST(type)                                                                              \
    struct {                                                                                       \
        type *v;                                                                                   \
        uint32_t n;                                                                                \
    }

enum cw_kind {
    CW_KIND_WORKSPACE = 0,
    CW_KIND_WORKSPACE_SETTINGS,
    CW_KIND_VIRTUAL_GATEWAY,
    CW_KIND_ROUTE_TABLE,
    CW_KIND_EXTERNAL_SERVICE,
    CW_KIND_EXTERNAL_ENDPOINT,
    CW_KIND_OUTLIER_DETECTION_POLICY,
    CW_KIND_FAILOVER_POLICY,
    CW_KIND_COUNT,
};

struct cw_label {
    const char *key;
    const char *value;
};
typedef CW_LIST(struct cw_label) cw_labels_t;
typedef CW_LIST(const char *) cw_strs_t;

struct cw_meta {
    const char *name;
    const char *ns; /* "default" when absent, as kubectl does */
    cw_labels_t labels;
    int64_t created;    /* creationTimestamp, Unix seconds; INT64_MAX when absent (newest) */
    int64_t generation; /* 1 when absent */
};

/* Header shared by every resource. <id> indexes the translation's status array. */
struct cw_object {
    enum cw_kind kind;
    uint32_t id;
    struct cw_meta meta;
    const char *file;
    uint32_t line, col;  /* start of the document (or List item) */
    const char *error;   /* first schema error ("spec.x: reason"); NULL when the object decoded */
    uint32_t load_order; /* position in load order, the last tie-breaker */
};

/* ---- shared sub-types (spec §0.2) ---- */

struct cw_object_ref {
    const char *name;
    const char *ns;      /* NULL ⇒ the containing object's namespace */
    const char *cluster; /* NULL ⇒ the containing object's cluster */
};

struct cw_object_selector {
    const char *name;
    const char *ns;
    const char *cluster;
    const char *workspace;
    cw_labels_t labels;
};

struct cw_port_selector {
    uint32_t number; /* 0 = unset */
    const char *name;
};

enum cw_dest_kind {
    CW_DEST_SERVICE = 0,
    CW_DEST_VIRTUAL_DESTINATION,
    CW_DEST_EXTERNAL_SERVICE,
};

struct cw_dest_selector {
    enum cw_dest_kind kind;
    struct cw_port_selector port;
    bool has_selector;
    struct cw_object_selector selector;
};
typedef CW_LIST(struct cw_dest_selector) cw_dest_selectors_t;

struct cw_locality {
    const char *region; /* "" when absent: empty strings compare equal (§7.2) */
    const char *zone;
    const char *subzone;
};

/* ---- ExternalService (§1) ---- */

enum cw_protocol {
    CW_PROTO_UNSET = 0,
    CW_PROTO_HTTP,
    CW_PROTO_HTTPS,
    CW_PROTO_GRPC,
    CW_PROTO_HTTP2,
    CW_PROTO_MONGO,
    CW_PROTO_TCP,
    CW_PROTO_TLS,
};

enum cw_tls_mode {
    CW_TLS_MODE_UNSET = 0,
    CW_TLS_MODE_SIMPLE,
    CW_TLS_MODE_MUTUAL,
    CW_TLS_MODE_ISTIO_MUTUAL,
    CW_TLS_MODE_DISABLE,
};

struct cw_client_tls {
    bool present;
    enum cw_tls_mode mode;
    const char *sni;
    const char *ca_certificates;
    const char *client_certificate;
    const char *private_key;
    const char *credential_name;
    bool insecure_skip_verify;
};

struct cw_es_port {
    const char *name;
    uint32_t number;
    enum cw_protocol protocol;
    bool has_target_port;
    struct cw_port_selector target_port;
    struct cw_client_tls tls;
    bool has_egress_gateway_routes; /* egress only: kept to check its rules (§1.2) */
};

struct cw_external_service {
    struct cw_object obj;
    cw_strs_t hosts;
    cw_strs_t addresses;
    CW_LIST(struct cw_es_port) ports;
    cw_labels_t selector;
    cw_strs_t subject_alt_names;
};

/* ---- ExternalEndpoint (§2) ---- */

struct cw_ee_port {
    const char *name;
    uint32_t number;
};

struct cw_external_endpoint {
    struct cw_object obj;
    const char *address;
    CW_LIST(struct cw_ee_port) ports;
    struct cw_locality locality;
};

/* ---- RouteTable (§3) ---- */

struct cw_destination {
    struct cw_object_ref ref;
    bool has_ref;
    enum cw_dest_kind kind;
    struct cw_port_selector port;
    bool has_weight;
    uint32_t weight;
    bool has_subset;
    bool has_lambda;
};
typedef CW_LIST(struct cw_destination) cw_destinations_t;

struct cw_forward_to {
    cw_destinations_t destinations;
    const char *path_rewrite;
    bool has_regex_rewrite;
    const char *regex_rewrite_pattern;
    const char *regex_rewrite_substitution;
    const char *host_rewrite;
    bool auto_host_rewrite;
};

struct cw_header_matcher {
    const char *name;
    const char *value; /* NULL ⇒ presence test */
    bool regex;
    bool invert;
};

struct cw_query_matcher {
    const char *name;
    const char *value;
    bool regex;
};

enum cw_uri_match {
    CW_URI_ANY = 0,
    CW_URI_EXACT,
    CW_URI_PREFIX,
    CW_URI_REGEX,
};

struct cw_uri_matcher {
    const char *exact;
    const char *prefix;
    const char *regex;
    const char *suffix; /* in the API but unsupported by Gloo */
    bool ignore_case;
};

struct cw_http_matcher {
    struct cw_uri_matcher uri_in;
    enum cw_uri_match uri_kind; /* derived from uri_in */
    const char *uri;            /* the exact/prefix/regex string */
    bool ignore_case;
    CW_LIST(struct cw_header_matcher) headers;
    CW_LIST(struct cw_query_matcher) query;
    const char *method;
    uint32_t port; /* 0 ⇒ any listener port */
};

enum cw_route_action {
    CW_ACTION_NONE = 0,
    CW_ACTION_FORWARD,
    CW_ACTION_DELEGATE,
    CW_ACTION_REDIRECT,
    CW_ACTION_DIRECT_RESPONSE,
    CW_ACTION_GRAPHQL,
};

struct cw_redirect {
    const char *host;
    const char *path;
    int response_code; /* index into MOVED_PERMANENTLY, FOUND, ... */
    uint32_t code;     /* derived HTTP status: 301 by default */
};

struct cw_direct_response {
    uint32_t status;
    const char *body;
};

enum cw_sort_method {
    CW_SORT_TABLE_WEIGHT = 0,
    CW_SORT_ROUTE_SPECIFICITY,
};

struct cw_delegate {
    CW_LIST(struct cw_object_selector) route_tables;
    enum cw_sort_method sort_method;
};

struct cw_http_route {
    const char *name;
    cw_labels_t labels;
    CW_LIST(struct cw_http_matcher) matchers;
    enum cw_route_action action; /* derived from the has_* flags */
    bool has_forward, has_delegate, has_redirect, has_direct, has_graphql;
    struct cw_forward_to forward;
    struct cw_delegate delegate;
    struct cw_redirect redirect;
    struct cw_direct_response direct;
};

struct cw_tcp_matcher {
    uint32_t port; /* 0 ⇒ any listener port */
};

struct cw_tcp_route {
    CW_LIST(struct cw_tcp_matcher) matchers; /* empty ⇒ any */
    bool has_forward;
    struct cw_forward_to forward;
};

struct cw_tls_matcher {
    cw_strs_t sni_hosts;
    uint32_t port;
};

struct cw_tls_route {
    CW_LIST(struct cw_tls_matcher) matchers;
    bool has_forward;
    struct cw_forward_to forward;
};

enum cw_failure_mode {
    CW_FAILURE_ROUTE_REPLACEMENT = 0,
    CW_FAILURE_FREEZE_CONFIG,
};

struct cw_route_table {
    struct cw_object obj;
    cw_strs_t hosts;
    CW_LIST(struct cw_object_ref) virtual_gateways;
    bool has_default_destination;
    struct cw_destination default_destination;
    bool has_http, has_tcp, has_tls;
    CW_LIST(struct cw_http_route) http;
    CW_LIST(struct cw_tcp_route) tcp;
    CW_LIST(struct cw_tls_route) tls;
    enum cw_failure_mode failure_mode;
    bool has_failure_mode;
    int32_t weight;
};

/* ---- VirtualGateway (§4) ---- */

struct cw_workload_selector {
    const char *kind; /* KUBE (default) or VM */
    bool has_selector;
    struct cw_object_selector selector;
};

struct cw_route_table_filter {
    const char *host; /* [namespace/]dnsName */
    bool has_selector;
    struct cw_object_selector selector;
};

struct cw_listener_tls {
    bool present;
    const char *mode;
    const char *secret_name;
    const char *server_cert;
    const char *private_key;
    const char *ca_certs;
    const char *min_version; /* parameters.minimumProtocolVersion: TLS_AUTO, TLSv1_0..TLSv1_3 */
    const char *max_version; /* parameters.maximumProtocolVersion */
    cw_strs_t cipher_suites; /* parameters.cipherSuites (OpenSSL names) */
    cw_strs_t verify_subject_alt_names; /* MUTUAL: a client certificate must carry one */
};

struct cw_listener {
    struct cw_port_selector port;
    bool http;
    bool tcp;
    struct cw_listener_tls tls;
    bool https_redirect;
    const char *app_protocol;
    bool has_allowed_route_tables;
    CW_LIST(struct cw_route_table_filter) allowed_route_tables;
    bool has_exposed_external_services;
    CW_LIST(struct cw_route_table_filter) exposed_external_services;
};

struct cw_virtual_gateway {
    struct cw_object obj;
    bool has_workloads; /* absent ⇒ every gateway implements it */
    CW_LIST(struct cw_workload_selector) workloads;
    CW_LIST(struct cw_listener) listeners;
};

/* ---- OutlierDetectionPolicy (§5) and FailoverPolicy (§6) ---- */

struct cw_outlier_config {
    uint32_t consecutive_errors;         /* default 5 */
    uint32_t consecutive_gateway_errors; /* 0 = disabled */
    uint64_t interval_ms;                /* default 10s */
    uint64_t base_ejection_ms;           /* default 30s */
    uint32_t max_ejection_percent;       /* absent ⇒ 100, explicit 0 ⇒ 10 (§5 decision) */
    /* which fields were written, so the defaults above fill only the rest */
    bool has_consecutive_errors, has_interval, has_base_ejection, has_max_ejection_percent;
};

struct cw_outlier_policy {
    struct cw_object obj;
    cw_dest_selectors_t apply_to;
    struct cw_outlier_config config;
};

struct cw_locality_target {
    struct cw_locality locality;
    bool has_weight; /* written in the manifest; otherwise <weight> was derived (§6) */
    uint32_t weight; /* percent of the traffic from <from>, when the mapping distributes */
};

struct cw_locality_mapping {
    struct cw_locality from;
    CW_LIST(struct cw_locality_target) to;
    /* Some target has a weight: Istio's distribute (weighted spread), not failover (§6). Every
     * target then has its weight, the ones without one derived from the others. */
    bool distribute;
};

struct cw_failover_policy {
    struct cw_object obj;
    cw_dest_selectors_t apply_to;
    CW_LIST(struct cw_locality_mapping) mappings;
    cw_strs_t priority_labels;
};

/* A policy whose mappings have weights distributes (Istio distribute) instead of failing over.
 * Mixing weighted and unweighted mappings makes the policy INVALID, so the first one tells. */
static inline bool cw_failover_distributes(const struct cw_failover_policy *fp)
{
    return fp && fp->mappings.n > 0 && fp->mappings.v[0].distribute;
}

/* ---- Workspace and WorkspaceSettings (§8) ---- */

struct cw_namespace_selector {
    const char *name; /* glob */
    cw_labels_t labels;
    bool config_enabled; /* default true */
    bool has_config_enabled;
};

struct cw_workload_cluster {
    const char *name; /* glob */
    cw_labels_t selector;
    bool config_enabled; /* default true */
    bool has_config_enabled;
    CW_LIST(struct cw_namespace_selector) namespaces;
};

struct cw_workspace {
    struct cw_object obj;
    CW_LIST(struct cw_workload_cluster) clusters;
};

struct cw_workspace_pick {
    const char *name; /* glob; "*" ⇒ all */
    cw_labels_t selector;
};

/* What kinds an import/export entry covers; CW_RES_ALL when resources is omitted. */
enum cw_resource_kind {
    CW_RES_ALL = 0,
    CW_RES_ROUTE_TABLE,
    CW_RES_SERVICE,
    CW_RES_VIRTUAL_DESTINATION,
    CW_RES_EXTERNAL_SERVICE,
    CW_RES_OTHER, /* API_DOC, GRAPHQL_*, EXTERNAL_WORKLOAD: not served by causeway */
};

struct cw_resource_pick {
    enum cw_resource_kind kind; /* derived from kind_text */
    const char *kind_text;
    const char *name;
    const char *ns;
    const char *cluster;
    cw_labels_t labels;
};

struct cw_import_export {
    CW_LIST(struct cw_workspace_pick) workspaces;
    bool has_resources;
    CW_LIST(struct cw_resource_pick) resources;
};

struct cw_workspace_settings {
    struct cw_object obj;
    CW_LIST(struct cw_import_export) export_to;
    CW_LIST(struct cw_import_export) import_from;
};

#endif
