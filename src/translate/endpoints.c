/*
 * Endpoint selection and port resolution (spec §1.4): each usable ExternalService becomes one
 * cluster per port. Endpoints come from the ExternalEndpoints its selector picks in its own
 * workspace; without any, from its hosts (DNS) or single addresses. Selection uses an index from
 * "workspace|key=value" to endpoints so that 10,000 services over 50,000 endpoints stay linear.
 */
#include <stdio.h>
#include <string.h>

#include "translate/translate_int.h"
#include "util/netaddr.h"
#include "util/text.h"

struct ee_list {
    CW_VEC(const struct cw_external_endpoint *) v;
};

struct selection {
    struct cw_strmap index; /* "ws|k=v" → struct ee_list */
    CW_VEC(struct ee_list *) lists;
};

static const char *label_key(struct tr *t, const struct tr_workspace *ws, const struct cw_label *l)
{
    return tr_key(t, ws->index, l->key, '=', l->value);
}

static void build_index(struct tr *t, struct selection *sel)
{
    for (uint32_t i = 0; i < CW_CONFIG_COUNT(t->cfg, EXTERNAL_ENDPOINT); i++) {
        const struct cw_external_endpoint *ee =
            CW_CONFIG_GET(t->cfg, EXTERNAL_ENDPOINT, cw_external_endpoint, i);
        struct tr_object *to = tr_obj(t, &ee->obj);
        if (!to->usable)
            continue;
        for (uint32_t l = 0; l < ee->obj.meta.labels.n; l++) {
            const char *key = label_key(t, to->ws, &ee->obj.meta.labels.v[l]);
            struct ee_list *list = cw_strmap_get(&sel->index, key, strlen(key));
            if (!list) {
                list = CW_ARENA_NEW(t->arena, struct ee_list);
                cw_strmap_set(&sel->index, key, strlen(key), list);
                CW_VEC_PUSH(&sel->lists, list);
            }
            CW_VEC_PUSH(&list->v, ee);
        }
    }
}

/* The endpoints of <es>'s workspace carrying every selector label, in load order. */
static uint32_t select_endpoints(struct tr *t, struct selection *sel,
                                 const struct cw_external_service *es,
                                 const struct cw_external_endpoint ***out)
{
    if (es->selector.n == 0)
        return 0; /* an empty selector selects nothing (§1.1) */
    const struct tr_workspace *ws = tr_obj(t, &es->obj)->ws;
    struct ee_list *smallest = NULL;
    for (uint32_t i = 0; i < es->selector.n; i++) {
        const char *key = label_key(t, ws, &es->selector.v[i]);
        struct ee_list *list = cw_strmap_get(&sel->index, key, strlen(key));
        if (!list)
            return 0;
        if (!smallest || list->v.n < smallest->v.n)
            smallest = list;
    }
    *out = CW_ARENA_ARRAY(t->arena, const struct cw_external_endpoint *, smallest->v.n);
    uint32_t n = 0;
    for (uint32_t i = 0; i < smallest->v.n; i++)
        if (tr_labels_match(&es->selector, &smallest->v.v[i]->obj.meta.labels))
            (*out)[n++] = smallest->v.v[i];
    return n;
}

static bool has_wildcard_host(const struct cw_external_service *es)
{
    for (uint32_t i = 0; i < es->hosts.n; i++)
        if (cw_hostname_is_wildcard(es->hosts.v[i]))
            return true;
    return false;
}

/* What selects the backend port of <c>: its targetPort, or 443 whatever targetPort says when
 * the service has a wildcard host (§1.2, with a WARNING from build_clusters). */
static struct cw_port_selector target_of(const struct cw_cluster *c)
{
    if (has_wildcard_host(c->service))
        return (struct cw_port_selector){.number = 443};
    return c->port->target_port;
}

/* The backend port of endpoint <ee> for service port <p> selected by <tp> (§1.4 decision),
 * or 0. */
static uint32_t endpoint_port(const struct cw_es_port *p, const struct cw_port_selector *tp,
                              const struct cw_external_endpoint *ee)
{
    if (ee->ports.n == 0)
        return tp->name ? 0 : tp->number ? tp->number : p->number;
    for (uint32_t i = 0; i < ee->ports.n; i++) {
        const struct cw_ee_port *e = &ee->ports.v[i];
        if (tp->name && e->name && !strcmp(e->name, tp->name))
            return e->number;
        if (!tp->name && tp->number && tp->number == e->number)
            return e->number;
    }
    if (tp->name || tp->number)
        return 0;
    for (uint32_t i = 0; i < ee->ports.n; i++)
        if (p->name && ee->ports.v[i].name && !strcmp(ee->ports.v[i].name, p->name))
            return ee->ports.v[i].number;
    for (uint32_t i = 0; i < ee->ports.n; i++)
        if (ee->ports.v[i].number == p->number)
            return p->number;
    return 0;
}

static const char *port_text(struct tr *t, const struct cw_es_port *p,
                             const struct cw_port_selector *tp)
{
    if (tp->name)
        return cw_arena_printf(t->arena, "targetPort name %s", tp->name);
    if (tp->number)
        return cw_arena_printf(t->arena, "targetPort %u", tp->number);
    return p->name ? cw_arena_printf(t->arena, "%s (%u)", p->name, p->number)
                   : cw_arena_printf(t->arena, "%u", p->number);
}

static void add_endpoint(struct tr *t, struct cw_cluster *c, const char *address, uint32_t port,
                         const struct cw_external_endpoint *ee)
{
    const struct cw_locality *loc = ee ? &ee->locality : NULL;
    struct cw_endpoint *e = &c->endpoints.v[c->endpoints.n++];
    e->address = address;
    e->is_hostname = !cw_ip_literal(address);
    e->port = (uint16_t)port;
    static const struct cw_locality none = {"", "", ""};
    e->locality = loc ? *loc : none;
    e->source = ee ? tr_ref(t, &ee->obj) : NULL;
    e->labels = ee ? &ee->obj.meta.labels : NULL;
}

static void endpoints_from_selection(struct tr *t, struct cw_cluster *c,
                                     const struct cw_external_endpoint **ees, uint32_t n)
{
    const struct cw_external_service *es = c->service;
    struct cw_port_selector tp = target_of(c);
    c->endpoints.v = CW_ARENA_ARRAY(t->arena, struct cw_endpoint, n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t port = endpoint_port(c->port, &tp, ees[i]);
        if (!port) {
            tr_warn(t, &es->obj, "ExternalEndpoint %s/%s has no port matching %s",
                    ees[i]->obj.meta.ns, ees[i]->obj.meta.name, port_text(t, c->port, &tp));
            continue;
        }
        add_endpoint(t, c, ees[i]->address, port, ees[i]);
    }
    if (c->endpoints.n == 0)
        c->unroutable = "no selected ExternalEndpoint has the port";
}

/* Without endpoints the service's own hosts (DNS) or single addresses are the backends;
 * <only_host>, when set, limits them to that one host (its own upstream). */
static void endpoints_from_service(struct tr *t, struct cw_cluster *c, const char *only_host)
{
    const struct cw_external_service *es = c->service;
    const struct cw_es_port *p = c->port;
    struct cw_port_selector tp = target_of(c);
    uint32_t port = tp.number ? tp.number : p->number;
    if (tp.name) {
        tr_invalid(t, &es->obj, "targetPort name %s requires selected ExternalEndpoints", tp.name);
        c->unroutable = "targetPort name without endpoints";
        return;
    }
    c->endpoints.v = CW_ARENA_ARRAY(t->arena, struct cw_endpoint, es->hosts.n + es->addresses.n);
    for (uint32_t i = 0; i < es->hosts.n; i++) {
        if (cw_hostname_is_wildcard(es->hosts.v[i]) || (only_host && es->hosts.v[i] != only_host))
            continue;
        add_endpoint(t, c, es->hosts.v[i], port, NULL);
    }
    bool wide = false;
    for (uint32_t i = 0; i < es->addresses.n; i++) {
        struct cw_ip_prefix pfx;
        const char *why;
        char buf[CW_IP_PREFIX_TEXT];
        if (cw_ip_prefix_parse(es->addresses.v[i], &pfx, &why) != 0)
            continue;
        if (!cw_ip_prefix_is_host(&pfx)) {
            wide = true;
            continue;
        }
        add_endpoint(t, c, cw_arena_strdup(t->arena, cw_ip_addr_format(&pfx, buf)), port, NULL);
    }
    if (wide)
        tr_warn(t, &es->obj, "CIDR address has no concrete endpoints");
    if (c->endpoints.n == 0)
        c->unroutable =
            wide ? "CIDR address has no concrete endpoints" : "wildcard host without endpoints";
}

/* The non-wildcard hosts of <es>, each of which is its own upstream without endpoints. */
static uint32_t dns_hosts(const struct cw_external_service *es, const char **out)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < es->hosts.n; i++)
        if (!cw_hostname_is_wildcard(es->hosts.v[i]))
            out[n++] = es->hosts.v[i];
    return n;
}

/* A cluster for port <p> of <es>: of the one DNS host <own_host> (several hosts without
 * endpoints, §1.4), or of the whole service when NULL. <first_host> is the service's first
 * non-wildcard host, the Host autoHostRewrite sends. */
static struct cw_cluster *new_cluster(struct tr *t, const struct cw_external_service *es,
                                      const struct cw_es_port *p, const char *own_host,
                                      const char *first_host)
{
    struct cw_cluster *c = CW_ARENA_NEW(t->arena, struct cw_cluster);
    c->name = own_host ? cw_arena_printf(t->arena, "%s/%s:%u@%s", es->obj.meta.ns,
                                         es->obj.meta.name, p->number, own_host)
                       : cw_arena_printf(t->arena, "%s/%s:%u", es->obj.meta.ns, es->obj.meta.name,
                                         p->number);
    c->service = es;
    c->port = p;
    c->host = own_host ? own_host : first_host;
    return c;
}

/*
 * §1.3's caveats for a service with a wildcard host: Gloo cannot give such a service its own TLS
 * identity, so credentialName is unsupported, caCertificates gives way to the default trust
 * bundle, and a client certificate and key are not presented. The service is still served.
 */
static void warn_wildcard_tls(struct tr *t, const struct cw_external_service *es,
                              const struct cw_es_port *p)
{
    const struct cw_client_tls *tls = &p->tls;
    if (tls->credential_name)
        tr_warn(t, &es->obj,
                "port %u: clientsideTls.credentialName is not supported with a wildcard host",
                p->number);
    if (tls->ca_certificates)
        tr_warn(t, &es->obj,
                "port %u: clientsideTls.caCertificates is ignored with a wildcard host (the "
                "default trust bundle is used)",
                p->number);
    if (tls->client_certificate || tls->private_key)
        tr_warn(t, &es->obj,
                "port %u: clientsideTls client certificate and key are ignored with a wildcard "
                "host",
                p->number);
}

static void build_clusters(struct tr *t, const struct cw_external_service *es,
                           const struct cw_external_endpoint **ees, uint32_t n_ees)
{
    struct tr_object *to = tr_obj(t, &es->obj);
    const char *hosts[es->hosts.n + 1];
    uint32_t n_hosts = dns_hosts(es, hosts);
    uint32_t k = (!n_ees && n_hosts > 1) ? n_hosts : 1;
    to->hosts_per_port = k;
    to->clusters = CW_ARENA_ARRAY(t->arena, struct cw_cluster *, es->ports.n * k);
    bool wildcard = n_hosts < es->hosts.n;
    for (uint32_t i = 0; i < es->ports.n; i++) {
        const struct cw_es_port *p = &es->ports.v[i];
        if (wildcard && p->has_target_port)
            tr_warn(t, &es->obj,
                    "port %u: targetPort is ignored with a wildcard host "
                    "(always 443)",
                    p->number);
        if (wildcard)
            warn_wildcard_tls(t, es, p);
        for (uint32_t h = 0; h < k; h++) {
            const char *own_host = k > 1 ? hosts[h] : NULL;
            struct cw_cluster *c = new_cluster(t, es, p, own_host, n_hosts ? hosts[0] : NULL);
            if (n_ees)
                endpoints_from_selection(t, c, ees, n_ees);
            else
                endpoints_from_service(t, c, own_host);
            to->clusters[i * k + h] = c;
        }
    }
    if (wildcard && !n_ees)
        tr_warn(t, &es->obj, "wildcard host without endpoints cannot be routed from the gateway");
    if (!to->usable || !tr_tls_origination(t, es, to->clusters, k)) {
        to->clusters = NULL; /* found INVALID: nothing of it is served */
        return;
    }
    for (uint32_t i = 0; i < es->ports.n * k; i++)
        CW_VEC_PUSH(&t->clusters, to->clusters[i]);
}

void tr_endpoints(struct tr *t)
{
    struct selection sel = {0};
    cw_strmap_init(&sel.index);
    build_index(t, &sel);
    for (uint32_t i = 0; i < CW_CONFIG_COUNT(t->cfg, EXTERNAL_SERVICE); i++) {
        const struct cw_external_service *es =
            CW_CONFIG_GET(t->cfg, EXTERNAL_SERVICE, cw_external_service, i);
        struct tr_object *to = tr_obj(t, &es->obj);
        if (!to->usable)
            continue;
        const struct cw_external_endpoint **ees = NULL;
        uint32_t n = select_endpoints(t, &sel, es, &ees);
        to->n_selected_endpoints = n;
        build_clusters(t, es, ees, n);
    }
    for (uint32_t i = 0; i < sel.lists.n; i++)
        CW_VEC_FREE(&sel.lists.v[i]->v);
    CW_VEC_FREE(&sel.lists);
    cw_strmap_deinit(&sel.index);
}
