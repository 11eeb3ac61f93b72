/*
 * VirtualGateways (spec §4): which ones this gateway implements (workloads matched against its
 * identity), listener validity, and the snapshot listeners with their exposed ExternalServices.
 * Listeners of several VirtualGateways on one HTTP port are merged (as Istio merges Gateways);
 * a port wanted as both HTTP and TCP is served by the VirtualGateway with precedence.
 */
#include <string.h>

#include "snapshot/snapshot.h"
#include "tls/termination.h"
#include "translate/translate_int.h"
#include "util/netaddr.h"
#include "util/text.h"

static bool workload_matches(struct tr *t, const struct cw_workload_selector *w)
{
    if (!w->has_selector)
        return true; /* "{}" selects every gateway */
    const struct cw_object_selector *s = &w->selector;
    const struct cw_gateway_identity *gw = t->gw;
    if (s->name && (!gw->name || strcmp(s->name, gw->name)))
        return false;
    if (s->ns && (!gw->ns || strcmp(s->ns, gw->ns)))
        return false;
    if (s->cluster && gw->cluster && strcmp(s->cluster, gw->cluster))
        return false;
    if (s->workspace && (!t->gateway_ws || strcmp(s->workspace, t->gateway_ws->name)))
        return false;
    return tr_labels_match(&s->labels, &gw->labels);
}

static bool selects_gateway(struct tr *t, const struct cw_virtual_gateway *vg)
{
    if (!vg->has_workloads)
        return true; /* nil ⇒ all gateway workloads */
    for (uint32_t i = 0; i < vg->workloads.n; i++)
        if (workload_matches(t, &vg->workloads.v[i]))
            return true;
    return false;
}

static bool is_http_protocol(const char *p)
{
    static const char *const http[] = {"GRPC",       "GRPC-WEB", "HTTP", "HTTPS",
                                       "HTTP_PROXY", "HTTP2",    NULL};
    for (int i = 0; http[i]; i++)
        if (!strcmp(http[i], p))
            return true;
    return false;
}

static const char *app_protocol(const struct cw_listener *l)
{
    if (l->app_protocol)
        return l->app_protocol;
    if (l->http)
        return l->tls.present ? "HTTPS" : "HTTP";
    return l->tls.present ? "TLS" : "TCP";
}

static const char *first_host(const struct cw_listener *l)
{
    if (l->allowed_route_tables.n)
        return l->allowed_route_tables.v[0].host;
    if (l->exposed_external_services.n)
        return l->exposed_external_services.v[0].host;
    return "*";
}

/* Listener rules within one VirtualGateway; returns false when the gateway is INVALID. */
static bool check_listeners(struct tr *t, const struct cw_virtual_gateway *vg)
{
    bool ok = true;
    for (uint32_t i = 0; i < vg->listeners.n; i++) {
        const struct cw_listener *l = &vg->listeners.v[i];
        const char *proto = app_protocol(l);
        if ((!strcmp(proto, "HTTPS") || !strcmp(proto, "TLS")) && !l->tls.present) {
            tr_invalid(t, &vg->obj, "listeners[%u]: appProtocol %s requires tls", i, proto);
            ok = false;
        }
        if (l->http != is_http_protocol(proto)) {
            tr_invalid(t, &vg->obj, "listeners[%u]: appProtocol %s needs %s listener", i, proto,
                       l->http ? "a tcp" : "an http");
            ok = false;
        }
        for (uint32_t j = 0; j < i; j++) {
            const struct cw_listener *o = &vg->listeners.v[j];
            if (!l->port.number || l->port.number != o->port.number)
                continue;
            if (strcmp(proto, app_protocol(o)) != 0) {
                tr_invalid(t, &vg->obj,
                           "listeners[%u]: port %u has appProtocol %s but "
                           "listeners[%u] uses it with %s",
                           i, l->port.number, proto, j, app_protocol(o));
                ok = false;
            } else if (!strcmp(first_host(l), first_host(o))) {
                tr_invalid(t, &vg->obj,
                           "listeners[%u]: port %u collides with listeners[%u] "
                           "(same appProtocol and first host %s)",
                           i, l->port.number, j, first_host(l));
                ok = false;
            }
        }
    }
    return ok;
}

/* What an existing listener serves, for a port collision's message. */
static const char *served_as(const struct cw_snapshot_listener *sl)
{
    if (sl->http)
        return sl->tls ? "HTTPS" : "HTTP";
    return sl->tls ? "TLS" : sl->passthrough ? "TLS passthrough" : "TCP";
}

/* The snapshot listener for listener <l> of <vg>, or NULL with a WARNING why it is not served. */
static struct cw_snapshot_listener *
serve_listener(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
               const struct cw_listener *l)
{
    if (!l->port.number) {
        tr_warn(t, &vg->obj,
                "listener port %s: causeway binds port numbers; use "
                "port.number",
                l->port.name);
        return NULL;
    }
    /* The snapshot is still being built here, so its listeners may be completed. */
    struct cw_snapshot_listener *sl = (struct cw_snapshot_listener *)cw_snapshot_listener_on(
        t->out->snapshot, (uint16_t)l->port.number);
    if (sl) {
        bool same_tls = (sl->tls != NULL) == (l->tls.present && !sl->passthrough);
        sl->https_redirect |= sl->http && l->http && same_tls && l->https_redirect;
        if (sl->http && l->http && same_tls) /* merged: routes of both are served on the port */
            return !l->tls.present || tr_listener_tls(t, vg, index, l, sl) ? sl : NULL;
        tr_warn(t, &vg->obj, "listener %u: port already served as %s by VirtualGateway %s/%s",
                l->port.number, served_as(sl), sl->gateway->obj.meta.ns,
                sl->gateway->obj.meta.name);
        return NULL;
    }
    sl = CW_ARENA_NEW(t->arena, struct cw_snapshot_listener);
    sl->port = (uint16_t)l->port.number;
    sl->http = l->http;
    sl->gateway = vg;
    sl->source = l;
    sl->https_redirect = l->https_redirect;
    if (l->tls.present && !tr_listener_tls(t, vg, index, l, sl)) {
        if (sl->tls)
            cw_tls_termination_free(sl->tls); /* nothing served: not in the snapshot */
        return NULL;
    }
    CW_ARENA_PUSH(t->arena, &t->out->snapshot->listeners, sl);
    return sl;
}

/* --- exposedExternalServices --- */

/* Whether an exposedExternalServices entry of <l> matches <es> (by host and selector). */
static bool es_exposed_by(struct tr *t, const struct cw_virtual_gateway *vg,
                          const struct cw_listener *l, const struct cw_external_service *es)
{
    for (uint32_t i = 0; i < l->exposed_external_services.n; i++) {
        const struct cw_route_table_filter *f = &l->exposed_external_services.v[i];
        const char *dns;
        if (!tr_host_filter_ns(f->host, vg->obj.meta.ns, es->obj.meta.ns, &dns))
            continue;
        if (f->has_selector && !tr_selector_matches(t, &f->selector, &es->obj))
            continue;
        for (uint32_t h = 0; h < es->hosts.n; h++)
            if (cw_host_patterns_intersect(dns, es->hosts.v[h]))
                return true;
        if (es->addresses.n && !strcmp(dns, "*"))
            return true;
    }
    return false;
}

static bool http_port(const struct cw_es_port *p)
{
    return p->protocol == CW_PROTO_UNSET || p->protocol == CW_PROTO_HTTP ||
           p->protocol == CW_PROTO_HTTPS || p->protocol == CW_PROTO_HTTP2 ||
           p->protocol == CW_PROTO_GRPC;
}

/*
 * The index of the service port a connection on listener <l> reaches: the port with the
 * listener's number, else the only port, else the first HTTP port; an HTTP listener reaches
 * only HTTP-family ports. -1 when none fits.
 */
static int exposed_port(const struct cw_external_service *es, const struct cw_listener *l)
{
    for (uint32_t i = 0; i < es->ports.n; i++)
        if (es->ports.v[i].number == l->port.number && (!l->http || http_port(&es->ports.v[i])))
            return (int)i;
    if (es->ports.n == 1 && (!l->http || http_port(&es->ports.v[0])))
        return 0;
    for (uint32_t i = 0; l->http && i < es->ports.n; i++)
        if (http_port(&es->ports.v[i]))
            return (int)i;
    return -1;
}

static void add_exposed(struct tr *t, struct cw_snapshot_listener *sl, const char *host,
                        struct cw_cluster *c)
{
    struct cw_exposed_service e = {.host = host, .cluster = c};
    CW_ARENA_PUSH(t->arena, &sl->exposed, e);
}

static uint32_t expose_services(struct tr *t, const struct cw_virtual_gateway *vg,
                                const struct cw_listener *l, struct cw_snapshot_listener *sl)
{
    const struct tr_workspace *ws = tr_obj(t, &vg->obj)->ws;
    /* §4.2 [DECISION]: without exposedExternalServices a listener serves RouteTables only, so
     * an internet-facing listener never relays to every declared service by its Host. */
    if (!l->has_exposed_external_services)
        return 0;
    uint32_t count = 0;
    for (uint32_t i = 0; i < CW_CONFIG_COUNT(t->cfg, EXTERNAL_SERVICE); i++) {
        const struct cw_external_service *es =
            CW_CONFIG_GET(t->cfg, EXTERNAL_SERVICE, cw_external_service, i);
        struct tr_object *te = tr_obj(t, &es->obj);
        if (!te->usable || !te->clusters || !tr_visible_in(t, &es->obj, ws) ||
            !es_exposed_by(t, vg, l, es))
            continue;
        int port = exposed_port(es, l);
        if (port < 0)
            continue;
        count++;
        tr_count_gateway(t, &es->obj, &vg->obj);
        struct cw_cluster **c = te->clusters + (uint32_t)port * te->hosts_per_port;
        for (uint32_t h = 0, dns = 0; h < es->hosts.n; h++) {
            bool wildcard = cw_hostname_is_wildcard(es->hosts.v[h]);
            add_exposed(t, sl, es->hosts.v[h], c[te->hosts_per_port > 1 && !wildcard ? dns : 0]);
            dns += !wildcard;
        }
        /* Host headers name single addresses; a CIDR is not a host. */
        for (uint32_t a = 0; a < es->addresses.n; a++) {
            struct cw_ip_prefix pfx;
            const char *why;
            char buf[CW_IP_PREFIX_TEXT];
            if (cw_ip_prefix_parse(es->addresses.v[a], &pfx, &why) == 0 &&
                cw_ip_prefix_is_host(&pfx))
                add_exposed(t, sl, cw_arena_strdup(t->arena, cw_ip_addr_format(&pfx, buf)), c[0]);
        }
    }
    if (!sl->http && count > 1)
        tr_warn(t, &vg->obj,
                "listener %u: a TCP listener can forward to one ExternalService, "
                "%u are exposed",
                l->port.number, count);
    return count;
}

void tr_virtual_gateways(struct tr *t)
{
    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, CW_KIND_VIRTUAL_GATEWAY, &n);
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_virtual_gateway *vg = (const struct cw_virtual_gateway *)v[i];
        const char *ref = tr_ref(t, &vg->obj);
        cw_strmap_put_new(&t->vg_by_name, ref, strlen(ref), (void *)vg);
        struct tr_object *to = tr_obj(t, &vg->obj);
        if (!to->usable || !check_listeners(t, vg))
            continue;
        to->selects_gateway = selects_gateway(t, vg);
        to->listeners = CW_ARENA_ARRAY(t->arena, struct cw_snapshot_listener *, vg->listeners.n);
        if (!to->selects_gateway)
            continue;
        for (uint32_t li = 0; li < vg->listeners.n; li++) {
            const struct cw_listener *l = &vg->listeners.v[li];
            to->listeners[li] = serve_listener(t, vg, li, l);
            if (to->listeners[li])
                to->counter += expose_services(t, vg, l, to->listeners[li]);
        }
    }
}
