/* VirtualGateway schema (spec §4). */
#include <string.h>

#include "config/kinds.h"

static const char *const app_protocols[] = {"GRPC",       "GRPC-WEB", "HTTP", "HTTPS",
                                            "HTTP_PROXY", "HTTP2",    "TCP",  "MONGO",
                                            "REDIS",      "MYSQL",    "TLS",  NULL};
static const char *const listener_tls_modes[] = {
    "PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL", NULL};

/* The "<ns>/" of an allowedRouteTables host: a namespace name, "*" (any) or "." (the
 * gateway's own). */
static bool namespace_part_ok(const char *s, size_t n)
{
    if (n == 1 && (s[0] == '*' || s[0] == '.'))
        return true;
    char ns[64];
    if (n == 0 || n >= sizeof(ns))
        return false;
    memcpy(ns, s, n);
    ns[n] = '\0';
    return cw_check_dns1123_label(ns) == NULL;
}

static const char *check_host_filter(const char *s)
{
    /* "[namespace/]dnsName": namespace may be "*" or "."; the name may be "*" or "*.x.y". */
    const char *slash = strchr(s, '/');
    const char *host = slash ? slash + 1 : s;
    if (slash && !namespace_part_ok(s, (size_t)(slash - s)))
        return "namespace part must be a namespace name, '*' or '.'";
    if (strcmp(host, "*") == 0)
        return NULL;
    return cw_check_host_or_wildcard(host);
}

static const struct cw_field workload_fields[] = {
    {.name = "kind", .type = CW_F_STR, CW_FIELD_AT(struct cw_workload_selector, kind)},
    {.name = "selector",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_workload_selector, selector),
     CW_PRESENT(struct cw_workload_selector, has_selector),
     .sub = &cw_schema_object_selector},
    {.name = "port", .type = CW_F_IGNORE},
    {0},
};
static const struct cw_schema workload_schema = {.fields = workload_fields};

static const struct cw_field filter_fields[] = {
    {.name = "host",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_route_table_filter, host),
     .flags = CW_F_REQUIRED,
     .check = check_host_filter},
    {.name = "selector",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_route_table_filter, selector),
     CW_PRESENT(struct cw_route_table_filter, has_selector),
     .sub = &cw_schema_object_selector},
    {.name = "allowedRoutes", .type = CW_F_IGNORE},
    {0},
};
static const struct cw_schema filter_schema = {.fields = filter_fields};

static const struct cw_field tls_files_fields[] = {
    {.name = "serverCert", .type = CW_F_STR, CW_FIELD_AT(struct cw_listener_tls, server_cert)},
    {.name = "privateKey", .type = CW_F_STR, CW_FIELD_AT(struct cw_listener_tls, private_key)},
    {.name = "caCerts", .type = CW_F_STR, CW_FIELD_AT(struct cw_listener_tls, ca_certs)},
    {0},
};
static const struct cw_schema tls_files_schema = {.fields = tls_files_fields};

static const char *const tls_versions[] = {"TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2",
                                           "TLSv1_3",  NULL};

/* parameters{} decodes into the listener's TLS struct too (offset 0). */
static const struct cw_field tls_parameters_fields[] = {
    {.name = "minimumProtocolVersion",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_listener_tls, min_version),
     .names = tls_versions},
    {.name = "maximumProtocolVersion",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_listener_tls, max_version),
     .names = tls_versions},
    {.name = "cipherSuites",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_listener_tls, cipher_suites)},
    {0},
};
static const struct cw_schema tls_parameters_schema = {.fields = tls_parameters_fields};

static void listener_tls_post(struct cw_decode *d, void *obj)
{
    struct cw_listener_tls *t = obj;
    t->present = true;
    if (t->secret_name && (t->server_cert || t->private_key))
        cw_decode_error(d, NULL, "set only one of secretName and files");
}

static const struct cw_field listener_tls_fields[] = {
    {.name = "mode",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_listener_tls, mode),
     .names = listener_tls_modes},
    {.name = "secretName", .type = CW_F_STR, CW_FIELD_AT(struct cw_listener_tls, secret_name)},
    /* files{} decodes into the same struct (offset 0). */
    {.name = "files", .type = CW_F_OBJ, .offset = 0, .sub = &tls_files_schema},
    {.name = "parameters", .type = CW_F_OBJ, .offset = 0, .sub = &tls_parameters_schema},
    {.name = "verifySubjectAltName",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_listener_tls, verify_subject_alt_names)},
    {0},
};
static const struct cw_schema listener_tls_schema = {.fields = listener_tls_fields,
                                                     .post = listener_tls_post};

static const struct cw_field empty_fields[] = {{0}};
static const struct cw_schema empty_schema = {.fields = empty_fields};

static void listener_post(struct cw_decode *d, void *obj)
{
    struct cw_listener *l = obj;
    if (l->http && l->tcp)
        cw_decode_error(d, NULL, "http and tcp are mutually exclusive");
    if (l->https_redirect && l->tls.present)
        cw_decode_error(d, NULL, "httpsRedirect and tls are mutually exclusive");
    if (l->https_redirect && !l->http)
        cw_decode_error(d, "httpsRedirect", "only allowed on http listeners");
}

static const struct cw_field listener_fields[] = {
    {.name = "port",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_listener, port),
     .flags = CW_F_REQUIRED,
     .sub = &cw_schema_required_port_selector},
    {.name = "http",
     .type = CW_F_OBJ,
     .offset = 0,
     CW_PRESENT(struct cw_listener, http),
     .sub = &empty_schema},
    {.name = "tcp",
     .type = CW_F_OBJ,
     .offset = 0,
     CW_PRESENT(struct cw_listener, tcp),
     .sub = &empty_schema},
    {.name = "tls",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_listener, tls),
     .sub = &listener_tls_schema},
    {.name = "httpsRedirect", .type = CW_F_BOOL, CW_FIELD_AT(struct cw_listener, https_redirect)},
    {.name = "appProtocol",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_listener, app_protocol),
     .names = app_protocols},
    {.name = "allowedRouteTables",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_listener, allowed_route_tables),
     CW_PRESENT(struct cw_listener, has_allowed_route_tables),
     .sub = &filter_schema,
     .elem_size = sizeof(struct cw_route_table_filter)},
    {.name = "exposedExternalServices",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_listener, exposed_external_services),
     CW_PRESENT(struct cw_listener, has_exposed_external_services),
     .sub = &filter_schema,
     .elem_size = sizeof(struct cw_route_table_filter)},
    {0},
};
static const struct cw_schema listener_schema = {.fields = listener_fields, .post = listener_post};

static const struct cw_field virtual_gateway_fields[] = {
    {.name = "workloads",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_virtual_gateway, workloads),
     CW_PRESENT(struct cw_virtual_gateway, has_workloads),
     .sub = &workload_schema,
     .elem_size = sizeof(struct cw_workload_selector)},
    {.name = "listeners",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_virtual_gateway, listeners),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY,
     .sub = &listener_schema,
     .elem_size = sizeof(struct cw_listener)},
    {0},
};
const struct cw_schema cw_schema_virtual_gateway = {.fields = virtual_gateway_fields};
