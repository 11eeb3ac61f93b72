/* RouteTable schema (spec §3). */
#include <stdio.h>
#include <string.h>

#include "config/kinds.h"
#include "util/text.h"

static const char *const failure_mode_names[] = {"ROUTE_REPLACEMENT", "FREEZE_CONFIG", NULL};
static const char *const redirect_code_names[] = {
    "MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT", NULL};
static const uint32_t redirect_codes[] = {301, 302, 303, 307, 308};
static const char *const sort_method_names[] = {"TABLE_WEIGHT", "ROUTE_SPECIFICITY", NULL};

static const char *check_route_host(const char *s)
{
    return cw_hostname_check(s, CW_HOST_ALLOW_WILDCARD | CW_HOST_ALLOW_STAR);
}

static const char *check_method(const char *s)
{
    for (const char *c = s; *c; c++)
        if (*c < 'A' || *c > 'Z')
            return "must be an upper-case HTTP method such as GET or POST";
    return *s ? NULL : "must not be empty";
}

/* ---- destinations and forwardTo ---- */

static void destination_post(struct cw_decode *d, void *obj)
{
    struct cw_destination *dst = obj;
    if (!dst->has_ref && !dst->has_lambda)
        cw_decode_error(d, NULL, "missing required field \"ref\"");
    if (dst->has_ref && dst->has_lambda)
        cw_decode_error(d, NULL, "set only one of ref and awsLambda");
}

static const struct cw_field destination_fields[] = {
    {.name = "ref",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_destination, ref),
     CW_PRESENT(struct cw_destination, has_ref),
     .sub = &cw_schema_object_ref},
    {.name = "kind",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_destination, kind),
     .names = cw_dest_kind_names},
    {.name = "port",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_destination, port),
     .sub = &cw_schema_port_selector},
    {.name = "weight",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_destination, weight),
     CW_PRESENT(struct cw_destination, has_weight),
     .max = 100},
    {.name = "subset", .type = CW_F_IGNORE, CW_PRESENT(struct cw_destination, has_subset)},
    {.name = "awsLambda", .type = CW_F_IGNORE, CW_PRESENT(struct cw_destination, has_lambda)},
    {0},
};
static const struct cw_schema destination_schema = {.fields = destination_fields,
                                                    .post = destination_post};

/* regexRewrite and its pattern decode into the same cw_forward_to (offset 0), flattened. */
static const struct cw_field regex_pattern_fields[] = {
    {.name = "regex",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_forward_to, regex_rewrite_pattern),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "googleRe2", .type = CW_F_IGNORE},
    {0},
};
static const struct cw_schema regex_pattern_schema = {.fields = regex_pattern_fields};

static const struct cw_field regex_rewrite_fields[] = {
    {.name = "pattern",
     .type = CW_F_OBJ,
     .offset = 0,
     .flags = CW_F_REQUIRED,
     .sub = &regex_pattern_schema},
    {.name = "substitution",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_forward_to, regex_rewrite_substitution),
     .flags = CW_F_REQUIRED},
    {0},
};
static const struct cw_schema regex_rewrite_schema = {.fields = regex_rewrite_fields};

static void forward_to_post(struct cw_decode *d, void *obj)
{
    struct cw_forward_to *f = obj;
    if (f->path_rewrite && f->has_regex_rewrite)
        cw_decode_error(d, NULL, "pathRewrite and regexRewrite are mutually exclusive");
    if (f->host_rewrite && f->auto_host_rewrite)
        cw_decode_error(d, NULL, "hostRewrite and autoHostRewrite are mutually exclusive");
}

static const struct cw_field forward_to_fields[] = {
    {.name = "destinations",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_forward_to, destinations),
     .sub = &destination_schema,
     .elem_size = sizeof(struct cw_destination)},
    {.name = "pathRewrite", .type = CW_F_STR, CW_FIELD_AT(struct cw_forward_to, path_rewrite)},
    {.name = "regexRewrite",
     .type = CW_F_OBJ,
     .offset = 0,
     CW_PRESENT(struct cw_forward_to, has_regex_rewrite),
     .sub = &regex_rewrite_schema},
    {.name = "hostRewrite",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_forward_to, host_rewrite),
     .check = cw_check_hostname},
    {.name = "autoHostRewrite",
     .type = CW_F_BOOL,
     CW_FIELD_AT(struct cw_forward_to, auto_host_rewrite)},
    {0},
};
static const struct cw_schema forward_to_schema = {.fields = forward_to_fields,
                                                   .post = forward_to_post};

/* ---- HTTP routes ---- */

static const struct cw_field header_fields[] = {
    {.name = "name",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_header_matcher, name),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "value", .type = CW_F_STR, CW_FIELD_AT(struct cw_header_matcher, value)},
    {.name = "regex", .type = CW_F_BOOL, CW_FIELD_AT(struct cw_header_matcher, regex)},
    {.name = "invertMatch", .type = CW_F_BOOL, CW_FIELD_AT(struct cw_header_matcher, invert)},
    {0},
};
static const struct cw_schema header_schema = {.fields = header_fields};

static const struct cw_field query_fields[] = {
    {.name = "name",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_query_matcher, name),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY},
    {.name = "value", .type = CW_F_STR, CW_FIELD_AT(struct cw_query_matcher, value)},
    {.name = "regex", .type = CW_F_BOOL, CW_FIELD_AT(struct cw_query_matcher, regex)},
    {0},
};
static const struct cw_schema query_schema = {.fields = query_fields};

static const struct cw_field uri_fields[] = {
    {.name = "exact", .type = CW_F_STR, CW_FIELD_AT(struct cw_uri_matcher, exact)},
    {.name = "prefix", .type = CW_F_STR, CW_FIELD_AT(struct cw_uri_matcher, prefix)},
    {.name = "regex", .type = CW_F_STR, CW_FIELD_AT(struct cw_uri_matcher, regex)},
    {.name = "suffix", .type = CW_F_STR, CW_FIELD_AT(struct cw_uri_matcher, suffix)},
    {.name = "ignoreCase", .type = CW_F_BOOL, CW_FIELD_AT(struct cw_uri_matcher, ignore_case)},
    {0},
};
static const struct cw_schema uri_schema = {.fields = uri_fields};

static void http_matcher_post(struct cw_decode *d, void *obj)
{
    struct cw_http_matcher *m = obj;
    struct cw_uri_matcher *u = &m->uri_in;
    int set = !!u->exact + !!u->prefix + !!u->regex + !!u->suffix;
    if (set > 1)
        cw_decode_error(d, "uri", "set only one of exact, prefix and regex");
    if (u->suffix)
        cw_decode_error(d, "uri.suffix", "not supported by Gloo; use regex");
    m->ignore_case = u->ignore_case;
    if (u->exact) {
        m->uri_kind = CW_URI_EXACT;
        m->uri = u->exact;
    } else if (u->prefix) {
        m->uri_kind = CW_URI_PREFIX;
        m->uri = u->prefix;
    } else if (u->regex) {
        m->uri_kind = CW_URI_REGEX;
        m->uri = u->regex;
    }
}

static const struct cw_field http_matcher_fields[] = {
    {.name = "uri",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_http_matcher, uri_in),
     .sub = &uri_schema},
    {.name = "headers",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_http_matcher, headers),
     .sub = &header_schema,
     .elem_size = sizeof(struct cw_header_matcher)},
    {.name = "queryParameters",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_http_matcher, query),
     .sub = &query_schema,
     .elem_size = sizeof(struct cw_query_matcher)},
    {.name = "method",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_http_matcher, method),
     .check = check_method},
    {.name = "port", .type = CW_F_U32, CW_FIELD_AT(struct cw_http_matcher, port), .max = 65535},
    {.name = "name", .type = CW_F_IGNORE}, /* unsupported by Gloo */
    {0},
};
static const struct cw_schema http_matcher_schema = {.fields = http_matcher_fields,
                                                     .post = http_matcher_post};

static void redirect_post(struct cw_decode *d, void *obj)
{
    (void)d;
    struct cw_redirect *r = obj;
    r->code = redirect_codes[r->response_code];
}

static const struct cw_field redirect_fields[] = {
    {.name = "hostRedirect",
     .type = CW_F_STR,
     CW_FIELD_AT(struct cw_redirect, host),
     .check = cw_check_hostname},
    {.name = "pathRedirect", .type = CW_F_STR, CW_FIELD_AT(struct cw_redirect, path)},
    {.name = "responseCode",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_redirect, response_code),
     .names = redirect_code_names},
    {0},
};
static const struct cw_schema redirect_schema = {.fields = redirect_fields, .post = redirect_post};

static void direct_response_post(struct cw_decode *d, void *obj)
{
    struct cw_direct_response *r = obj;
    if (r->body && strlen(r->body) >= 1024u * 1024u)
        cw_decode_error(d, "body", "must be smaller than 1 MB");
}

static const struct cw_field direct_response_fields[] = {
    {.name = "status",
     .type = CW_F_U32,
     CW_FIELD_AT(struct cw_direct_response, status),
     .flags = CW_F_REQUIRED,
     .min = 100,
     .max = 599},
    {.name = "body", .type = CW_F_STR, CW_FIELD_AT(struct cw_direct_response, body)},
    {0},
};
static const struct cw_schema direct_response_schema = {.fields = direct_response_fields,
                                                        .post = direct_response_post};

static const struct cw_field delegate_fields[] = {
    {.name = "routeTables",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_delegate, route_tables),
     .sub = &cw_schema_object_selector,
     .elem_size = sizeof(struct cw_object_selector)},
    {.name = "allowedRoutes", .type = CW_F_IGNORE},
    {.name = "sortMethod",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_delegate, sort_method),
     .names = sort_method_names},
    {0},
};
static const struct cw_schema delegate_schema = {.fields = delegate_fields};

static void http_route_post(struct cw_decode *d, void *obj)
{
    struct cw_http_route *r = obj;
    int n = r->has_forward + r->has_delegate + r->has_redirect + r->has_direct + r->has_graphql;
    if (n != 1) {
        cw_decode_error(d, NULL,
                        "set exactly one of forwardTo, delegate, redirect, "
                        "directResponse and graphql (%d set)",
                        n);
        return;
    }
    r->action = r->has_forward    ? CW_ACTION_FORWARD
                : r->has_delegate ? CW_ACTION_DELEGATE
                : r->has_redirect ? CW_ACTION_REDIRECT
                : r->has_direct   ? CW_ACTION_DIRECT_RESPONSE
                                  : CW_ACTION_GRAPHQL;
}

static const struct cw_field http_route_fields[] = {
    {.name = "name", .type = CW_F_STR, CW_FIELD_AT(struct cw_http_route, name)},
    {.name = "labels", .type = CW_F_LABELS, CW_FIELD_AT(struct cw_http_route, labels)},
    {.name = "matchers",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_http_route, matchers),
     .sub = &http_matcher_schema,
     .elem_size = sizeof(struct cw_http_matcher)},
    {.name = "forwardTo",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_http_route, forward),
     CW_PRESENT(struct cw_http_route, has_forward),
     .sub = &forward_to_schema},
    {.name = "delegate",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_http_route, delegate),
     CW_PRESENT(struct cw_http_route, has_delegate),
     .sub = &delegate_schema},
    {.name = "redirect",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_http_route, redirect),
     CW_PRESENT(struct cw_http_route, has_redirect),
     .sub = &redirect_schema},
    {.name = "directResponse",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_http_route, direct),
     CW_PRESENT(struct cw_http_route, has_direct),
     .sub = &direct_response_schema},
    {.name = "graphql", .type = CW_F_IGNORE, CW_PRESENT(struct cw_http_route, has_graphql)},
    {0},
};
static const struct cw_schema http_route_schema = {.fields = http_route_fields,
                                                   .post = http_route_post};

/* ---- TCP and TLS routes ---- */

static const struct cw_field tcp_matcher_fields[] = {
    {.name = "port", .type = CW_F_U32, CW_FIELD_AT(struct cw_tcp_matcher, port), .max = 65535},
    {0},
};
static const struct cw_schema tcp_matcher_schema = {.fields = tcp_matcher_fields};

static void stream_forward_post(struct cw_decode *d, struct cw_forward_to *f)
{
    if (f->path_rewrite || f->has_regex_rewrite || f->host_rewrite || f->auto_host_rewrite)
        cw_decode_error(d, "forwardTo", "rewrites are only allowed on HTTP routes");
}

static void tcp_route_post(struct cw_decode *d, void *obj)
{
    stream_forward_post(d, &((struct cw_tcp_route *)obj)->forward);
}

static const struct cw_field tcp_route_fields[] = {
    {.name = "matchers",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_tcp_route, matchers),
     .sub = &tcp_matcher_schema,
     .elem_size = sizeof(struct cw_tcp_matcher)},
    {.name = "forwardTo",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_tcp_route, forward),
     CW_PRESENT(struct cw_tcp_route, has_forward),
     .flags = CW_F_REQUIRED,
     .sub = &forward_to_schema},
    {0},
};
static const struct cw_schema tcp_route_schema = {.fields = tcp_route_fields,
                                                  .post = tcp_route_post};

static const struct cw_field tls_matcher_fields[] = {
    {.name = "sniHosts",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_tls_matcher, sni_hosts),
     .flags = CW_F_REQUIRED | CW_F_NONEMPTY,
     .check = cw_check_host_or_wildcard},
    {.name = "port", .type = CW_F_U32, CW_FIELD_AT(struct cw_tls_matcher, port), .max = 65535},
    {0},
};
static const struct cw_schema tls_matcher_schema = {.fields = tls_matcher_fields};

static void tls_route_post(struct cw_decode *d, void *obj)
{
    stream_forward_post(d, &((struct cw_tls_route *)obj)->forward);
}

static const struct cw_field tls_route_fields[] = {
    {.name = "matchers",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_tls_route, matchers),
     .sub = &tls_matcher_schema,
     .elem_size = sizeof(struct cw_tls_matcher)},
    {.name = "forwardTo",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_tls_route, forward),
     CW_PRESENT(struct cw_tls_route, has_forward),
     .flags = CW_F_REQUIRED,
     .sub = &forward_to_schema},
    {0},
};
static const struct cw_schema tls_route_schema = {.fields = tls_route_fields,
                                                  .post = tls_route_post};

/* ---- the table ---- */

/* Whether the SNI pattern <sni> names only hosts the table serves: some host pattern matches
 * it as written ("*.a.example.com" lies within "*.example.com", "example.com" does not). */
static bool sni_within_hosts(const struct cw_route_table *rt, const char *sni)
{
    for (uint32_t i = 0; i < rt->hosts.n; i++)
        if (cw_host_match(rt->hosts.v[i], sni))
            return true;
    return false;
}

/* §3.6: sniHosts must be a subset of the table's hosts (checked whether or not causeway serves
 * TLS routes, so a table is judged as Gloo judges it). */
static void check_sni_hosts(struct cw_decode *d, const struct cw_route_table *rt)
{
    char field[64];
    for (uint32_t i = 0; i < rt->tls.n; i++) {
        for (uint32_t j = 0; j < rt->tls.v[i].matchers.n; j++) {
            const struct cw_tls_matcher *m = &rt->tls.v[i].matchers.v[j];
            for (uint32_t k = 0; k < m->sni_hosts.n; k++) {
                if (sni_within_hosts(rt, m->sni_hosts.v[k]))
                    continue;
                snprintf(field, sizeof(field), "tls[%u].matchers[%u].sniHosts[%u]", i, j, k);
                cw_decode_error(d, field, "\"%s\" is not within the RouteTable's hosts",
                                m->sni_hosts.v[k]);
            }
        }
    }
}

static void route_table_post(struct cw_decode *d, void *obj)
{
    struct cw_route_table *rt = obj;
    if (!rt->has_http && !rt->has_tcp && !rt->has_tls)
        cw_decode_error(d, NULL, "at least one of http, tcp and tls must be set");
    check_sni_hosts(d, rt);
}

static const struct cw_field route_table_fields[] = {
    {.name = "hosts",
     .type = CW_F_STRS,
     CW_FIELD_AT(struct cw_route_table, hosts),
     .check = check_route_host},
    {.name = "virtualGateways",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_route_table, virtual_gateways),
     .sub = &cw_schema_object_ref,
     .elem_size = sizeof(struct cw_object_ref)},
    {.name = "workloadSelectors", .type = CW_F_IGNORE}, /* sidecars only */
    {.name = "defaultDestination",
     .type = CW_F_OBJ,
     CW_FIELD_AT(struct cw_route_table, default_destination),
     CW_PRESENT(struct cw_route_table, has_default_destination),
     .sub = &destination_schema},
    {.name = "http",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_route_table, http),
     CW_PRESENT(struct cw_route_table, has_http),
     .sub = &http_route_schema,
     .elem_size = sizeof(struct cw_http_route)},
    {.name = "tcp",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_route_table, tcp),
     CW_PRESENT(struct cw_route_table, has_tcp),
     .sub = &tcp_route_schema,
     .elem_size = sizeof(struct cw_tcp_route)},
    {.name = "tls",
     .type = CW_F_LIST,
     CW_FIELD_AT(struct cw_route_table, tls),
     CW_PRESENT(struct cw_route_table, has_tls),
     .sub = &tls_route_schema,
     .elem_size = sizeof(struct cw_tls_route)},
    {.name = "failureMode",
     .type = CW_F_ENUM,
     CW_FIELD_AT(struct cw_route_table, failure_mode),
     CW_PRESENT(struct cw_route_table, has_failure_mode),
     .names = failure_mode_names},
    {.name = "weight", .type = CW_F_I32, CW_FIELD_AT(struct cw_route_table, weight)},
    {.name = "applyToDestinations", .type = CW_F_IGNORE}, /* waypoints only */
    {.name = "portalMetadata", .type = CW_F_IGNORE},
    {.name = "virtualServiceAnnotations", .type = CW_F_IGNORE},
    {0},
};
const struct cw_schema cw_schema_route_table = {.fields = route_table_fields,
                                                .post = route_table_post};
