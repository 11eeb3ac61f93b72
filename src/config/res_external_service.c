/* ExternalService (spec §1) and ExternalEndpoint (spec §2) schemas. */
#include <stdio.h>
#include <string.h>

#include "config/kinds.h"
#include "util/netaddr.h"
#include "util/text.h"

static const char *const protocol_names[] = {"",      "HTTP", "HTTPS", "GRPC", "HTTP2",
                                             "MONGO", "TCP",  "TLS",   NULL};
static const char *const tls_mode_names[] = {"",        "SIMPLE", "MUTUAL", "ISTIO_MUTUAL",
                                             "DISABLE", NULL};

static void client_tls_post(struct cw_decode *d, void *obj)
{
    struct cw_client_tls *t = obj;
    t->present = true;
    bool files = t->ca_certificates || t->client_certificate || t->private_key;
    if (t->credential_name && files)
        cw_decode_error(d, NULL,
                        "credentialName excludes caCertificates, clientCertificate and "
                        "privateKey");
    if (t->mode == CW_TLS_MODE_MUTUAL && !t->credential_name &&
        (!t->client_certificate || !t->private_key))
        cw_decode_error(d, NULL, "mode MUTUAL requires clientCertificate and privateKey");
    if (t->mode == CW_TLS_MODE_ISTIO_MUTUAL && t->ca_certificates)
        cw_decode_error(d, "caCertificates", "must be empty with mode ISTIO_MUTUAL");
}

static const struct cw_field client_tls_fields[] = {
    {.name = "mode",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_client_tls, mode),
     .names = tls_mode_names},
    {.name = "sni",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_client_tls, sni),
     .check = cw_check_hostname},
    {.name = "caCertificates",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_client_tls, ca_certificates)},
    {.name = "clientCertificate",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_client_tls, client_certificate)},
    {.name = "privateKey", .type = CW_F_STR, CW_FIELD_AT(struct cw_client_tls, private_key)},
    {.name = "credentialName",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_client_tls, credential_name)},
    {.name = "insecureSkipVerify",
     .type = CW_F_BOOL,
     CW_FIELD_AT(struct cw_client_tls, insecure_skip_verify)},
    {0},
};
static const struct cw_schema client_tls_schema = {.fields = client_tls_fields,
                                                   .post = client_tls_post};

static const struct cw_field es_port_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_es_port, name)},
    {.name = "number",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_es_port, number),
     .flags = CW_F_REQUIRED,
     .min = 1,
     .max = 65535},
    {.name = "protocol",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_es_port, protocol),
     .names = protocol_names},
    {.name = "targetPort",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_es_port, target_port),
     CW_PRESENT(struct cw_es_port, has_target_port),
     .sub = &cw_schema_port_selector},
    {.name = "clientsideTls",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_es_port, tls),
     .sub = &client_tls_schema},
    /* Egress only, out of scope; its presence is kept for the rules of §1.2. */
    {.name = "egressGatewayRoutes",
     .type = CW_F_IGNORE,
     CW_PRESENT(struct cw_es_port, has_egress_gateway_routes)},
    {0},
};
static const struct cw_schema es_port_schema = {.fields = es_port_fields};

static bool egress_protocol(enum cw_protocol p)
{
    return p == CW_PROTO_UNSET || p == CW_PROTO_HTTP || p == CW_PROTO_HTTP2 || p == CW_PROTO_HTTPS;
}

/* §1.2: egress gateways route by hostname, so egressGatewayRoutes needs hosts, and HTTP. */
static void check_egress_routes(struct cw_decode *d, const struct cw_external_service *es)
{
    char field[64];
    for (uint32_t i = 0; i < es->ports.n; i++) {
        const struct cw_es_port *p = &es->ports.v[i];
        if (!p->has_egress_gateway_routes)
            continue;
        snprintf(field, sizeof(field), "ports[%u].egressGatewayRoutes", i);
        if (es->addresses.n)
            cw_decode_error(d, field, "requires hosts; not allowed with addresses");
        if (!egress_protocol(p->protocol))
            cw_decode_error(d, field, "only allowed on HTTP, HTTP2 and HTTPS ports");
    }
}

static void external_service_post(struct cw_decode *d, void *obj)
{
    struct cw_external_service *es = obj;
    check_egress_routes(d, es);
    /*
     * "exactly one of hosts or addresses" is a status rule (§9), checked by translation.
     * A repeated port names the later entry and the earlier one, so the user knows what to fix.
     */
    char field[48];
    for (uint32_t i = 0; i < es->ports.n; i++) {
        for (uint32_t j = 0; j < i; j++) {
            /* 0 is a port whose number was missing or invalid, already reported. */
            if (es->ports.v[i].number && es->ports.v[i].number == es->ports.v[j].number) {
                snprintf(field, sizeof(field), "ports[%u].number", i);
                cw_decode_error(d, field, "port number %u is already listed in ports[%u]",
                                es->ports.v[i].number, j);
            } else if (es->ports.v[i].name && es->ports.v[j].name &&
                       strcmp(es->ports.v[i].name, es->ports.v[j].name) == 0) {
                snprintf(field, sizeof(field), "ports[%u].name", i);
                cw_decode_error(d, field, "port name \"%s\" is already listed in ports[%u]",
                                es->ports.v[i].name, j);
            }
        }
    }
}

static const struct cw_field external_service_fields[] = {
    {.name = "hosts",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_external_service, hosts),
     .check = cw_check_host_or_wildcard},
    {.name = "addresses",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_external_service, addresses),
     .check = cw_check_ip_or_cidr},
    {.name = "ports",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_external_service, ports),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY,
     .sub = &es_port_schema,
     .elem_size = sizeof(struct cw_es_port)},
    {.name = "selector", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_external_service, selector)},
    {.name = "subjectAltNames",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_external_service, subject_alt_names)},
    {0},
};
const struct cw_schema cw_schema_external_service = {.fields = external_service_fields,
                                                     .post = external_service_post};

/* ---- ExternalEndpoint ---- */

static const char *check_endpoint_address(const char *s)
{
    if (cw_ip_literal(s))
        return NULL;
    if (strncmp(s, "unix://", 7) == 0)
        return "unix:// addresses are not supported by causeway";
    if (strchr(s, '/'))
        return "must be an IP address or a hostname, not a CIDR prefix";
    if (strchr(s, ':'))
        return "must not contain a port; list ports under spec.ports";
    if (cw_hostname_is_wildcard(s))
        return "must not contain a wildcard";
    return cw_hostname_check(s, 0);
}

static const struct cw_field ee_port_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_ee_port, name)},
    {.name = "number",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_ee_port, number),
     .flags = CW_F_REQUIRED,
     .min = 1,
     .max = 65535},
    {0},
};
static const struct cw_schema ee_port_schema = {.fields = ee_port_fields};

static void external_endpoint_post(struct cw_decode *d, void *obj)
{
    struct cw_external_endpoint *ee = obj;
    cw_locality_fill_empty(&ee->locality);
    char field[32];
    if (ee->ports.n > 1) {
        for (uint32_t i = 0; i < ee->ports.n; i++) {
            if (!ee->ports.v[i].name) {
                snprintf(field, sizeof(field), "ports[%u].name", i);
                cw_decode_error(d, field, "required when more than one port is listed");
            }
        }
    }
}

static const struct cw_field external_endpoint_fields[] = {
    {.name = "address",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_external_endpoint, address),
     .flags = CW_F_REQUIRED,
     .check = check_endpoint_address},
    {.name = "ports",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_external_endpoint, ports),
     .sub = &ee_port_schema,
     .elem_size = sizeof(struct cw_ee_port)},
    {.name = "locality",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_external_endpoint, locality),
     .sub = &cw_schema_locality},
    {0},
};
const struct cw_schema cw_schema_external_endpoint = {.fields = external_endpoint_fields,
                                                      .post = external_endpoint_post};
