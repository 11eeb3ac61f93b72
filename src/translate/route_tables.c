/*
 * RouteTable ↔ VirtualGateway binding (spec §4.3) and the virtual hosts of each listener.
 * A table is served on a listener of a VirtualGateway it names when it is visible in that
 * gateway's workspace, the listener's kind fits its routes, and allowedRouteTables lets it in.
 * Tables sharing a host on one listener are merged oldest first (§3.2), the newer with a WARNING.
 */
#include <string.h>
#include <strings.h>

#include "snapshot/snapshot.h"
#include "translate/routes.h"
#include "util/text.h"

static void check_hosts(struct tr *t, const struct cw_route_table *rt)
{
    for (uint32_t i = 0; i < rt->hosts.n; i++)
        if (!strcmp(rt->hosts.v[i], "*"))
            tr_warn(t, &rt->obj,
                    "host \"*\" is not a valid hostname in Gloo 2.14; accepted as "
                    "match-all");
    if (rt->virtual_gateways.n && rt->hosts.n == 0)
        tr_invalid(t, &rt->obj, "hosts is required on a RouteTable with virtualGateways");
}

/* An allowedRouteTables entry admits <rt> when its namespace part and selector match. */
static bool filter_admits_table(struct tr *t, const struct cw_virtual_gateway *vg,
                                const struct cw_route_table_filter *f,
                                const struct cw_route_table *rt, const char **dns)
{
    if (!tr_host_filter_ns(f->host, vg->obj.meta.ns, rt->obj.meta.ns, dns))
        return false;
    /* [DECISION] A9: an entry without selector filters by host only. */
    return !f->has_selector || tr_selector_matches(t, &f->selector, &rt->obj);
}

/* The narrower of two intersecting host patterns: what is actually served. */
static const char *narrower(const char *filter, const char *host)
{
    if (!strcmp(filter, "*") || filter[0] != '*')
        return filter[0] == '*' || host[0] != '*' ? host : filter;
    if (host[0] != '*')
        return host;
    return strlen(filter) > strlen(host) ? filter : host;
}

/*
 * The domain under which <rt>'s <host> is served on listener <l> through its <i>-th
 * allowedRouteTables entry, or NULL when that entry admits no part of it (Istio serves a
 * VirtualService only for the hosts the Gateway server allows). A host may be served under
 * several entries: "*.example.com" under both "a.example.com" and "b.example.com".
 */
static const char *served_domain(struct tr *t, const struct cw_virtual_gateway *vg,
                                 const struct cw_listener *l, uint32_t i,
                                 const struct cw_route_table *rt, const char *host)
{
    const char *dns;
    if (filter_admits_table(t, vg, &l->allowed_route_tables.v[i], rt, &dns) &&
        (!strcmp(dns, "*") || cw_host_patterns_intersect(dns, host)))
        return narrower(dns, host);
    return NULL;
}

static bool listener_allows(struct tr *t, const struct cw_virtual_gateway *vg,
                            const struct cw_listener *l, const struct cw_route_table *rt)
{
    if (!l->has_allowed_route_tables)
        return true;
    for (uint32_t h = 0; h < rt->hosts.n; h++)
        for (uint32_t i = 0; i < l->allowed_route_tables.n; i++)
            if (served_domain(t, vg, l, i, rt, rt->hosts.v[h]))
                return true;
    return false; /* a table bound to gateways always has hosts (check_hosts) */
}

/* The virtual host of <sl> for <domain>: names are equal as the router's index sees them
 * (case and a trailing dot aside). */
static struct cw_virtual_host *find_vhost(struct cw_snapshot_listener *sl, const char *domain)
{
    char want[CW_HOST_KEY_MAX], have[CW_HOST_KEY_MAX];
    if (cw_snapshot_host_key(domain, strlen(domain), true, want, sizeof(want)) < 0)
        return NULL;
    for (uint32_t i = 0; i < sl->virtual_hosts.n; i++) {
        const char *d = sl->virtual_hosts.v[i]->domain;
        if (cw_snapshot_host_key(d, strlen(d), true, have, sizeof(have)) >= 0 &&
            !strcmp(want, have))
            return sl->virtual_hosts.v[i];
    }
    return NULL;
}

/* Whether <vh> already has the routes compiled in <c> (its first one, from the same source). */
static bool holds_routes_of(const struct cw_virtual_host *vh, const struct rt_ctx *c)
{
    const struct cw_route *first = &c->http.v[0];
    for (uint32_t i = 0; i < vh->routes.n; i++) {
        const struct cw_route *r = &vh->routes.v[i];
        if (r->http == first->http && r->parent == first->parent && r->table == first->table)
            return true;
    }
    return false;
}

/* Every service a served route forwards to counts this gateway once. */
static void count_served(struct tr *t, const struct cw_route *r,
                         const struct cw_virtual_gateway *vg)
{
    for (uint32_t i = 0; r->kind == CW_ROUTE_FORWARD && i < r->clusters.n; i++)
        tr_count_gateway(t, &r->clusters.v[i].cluster->service->obj, &vg->obj);
}

/* Serves <rt>'s routes under <domain> on <sl>, once per virtual host. */
static void attach_domain(struct tr *t, struct rt_ctx *c, struct cw_snapshot_listener *sl,
                          const char *domain)
{
    const struct cw_route_table *rt = c->table;
    struct cw_virtual_host *vh = find_vhost(sl, domain);
    if (!vh) {
        vh = CW_ARENA_NEW(t->arena, struct cw_virtual_host);
        vh->domain = domain;
        vh->table = rt;
        CW_ARENA_PUSH(t->arena, &sl->virtual_hosts, vh);
    } else if (c->http.n && holds_routes_of(vh, c)) {
        return; /* the same name again: another entry, host or gateway on this port */
    } else if (vh->table != rt) {
        tr_warn(t, &rt->obj,
                "host %s on listener %u is also served by RouteTable %s/%s; "
                "its routes are evaluated first",
                vh->domain, sl->port, vh->table->obj.meta.ns, vh->table->obj.meta.name);
    }
    for (uint32_t i = 0; i < c->http.n; i++)
        CW_ARENA_PUSH(t->arena, &vh->routes, c->http.v[i]);
}

static void attach_http(struct tr *t, struct rt_ctx *c, struct cw_snapshot_listener *sl,
                        const struct cw_virtual_gateway *vg, const struct cw_listener *l)
{
    const struct cw_route_table *rt = c->table;
    for (uint32_t h = 0; h < rt->hosts.n; h++) {
        if (!l->has_allowed_route_tables) {
            attach_domain(t, c, sl, rt->hosts.v[h]);
            continue;
        }
        for (uint32_t i = 0; i < l->allowed_route_tables.n; i++) {
            const char *domain = served_domain(t, vg, l, i, rt, rt->hosts.v[h]);
            if (domain)
                attach_domain(t, c, sl, domain);
        }
    }
    /* Served under at least one name (listener_allows said so): each route counts once. */
    for (uint32_t i = 0; i < c->http.n; i++)
        count_served(t, &c->http.v[i], vg);
}

static bool tcp_route_on_port(const struct cw_route *r, uint32_t port)
{
    if (r->tcp->matchers.n == 0)
        return true;
    for (uint32_t i = 0; i < r->tcp->matchers.n; i++)
        if (!r->tcp->matchers.v[i].port || r->tcp->matchers.v[i].port == port)
            return true;
    return false;
}

/* Whether a pass-through route applies on <port> (a matcher without a port: any). */
static bool tls_route_on_port(const struct cw_route *r, uint32_t port)
{
    for (uint32_t i = 0; i < r->tls->matchers.n; i++)
        if (!r->tls->matchers.v[i].port || r->tls->matchers.v[i].port == port)
            return true;
    return false;
}

/* A pass-through listener takes the table's tls routes (by SNI); any other tcp listener its
 * tcp routes. */
static void attach_passthrough(struct tr *t, struct rt_ctx *c, struct cw_snapshot_listener *sl,
                               const struct cw_virtual_gateway *vg)
{
    for (uint32_t i = 0; i < c->tls.n; i++) {
        if (!tls_route_on_port(&c->tls.v[i], sl->port))
            continue;
        CW_ARENA_PUSH(t->arena, &sl->tls_routes, c->tls.v[i]);
        count_served(t, &c->tls.v[i], vg);
    }
    if (c->tcp.n)
        tr_warn(t, &c->table->obj,
                "tcp routes are not served on listener %u (tls PASSTHROUGH routes by SNI: use "
                "tls routes)",
                sl->port);
}

static void attach_tcp(struct tr *t, struct rt_ctx *c, struct cw_snapshot_listener *sl,
                       const struct cw_virtual_gateway *vg)
{
    if (sl->passthrough) {
        attach_passthrough(t, c, sl, vg);
        return;
    }
    if (c->tls.n)
        tr_warn(t, &c->table->obj,
                "tls routes need a listener with tls mode PASSTHROUGH; listener %u has none",
                sl->port);
    for (uint32_t i = 0; i < c->tcp.n; i++) {
        if (!tcp_route_on_port(&c->tcp.v[i], sl->port))
            continue;
        if (sl->tcp_routes.n && sl->tcp_routes.v[0].table != c->table)
            tr_warn(t, &c->table->obj,
                    "tcp port %u is already routed by RouteTable %s/%s; "
                    "this route is used only if that one does not match",
                    sl->port, sl->tcp_routes.v[0].table->obj.meta.ns,
                    sl->tcp_routes.v[0].table->obj.meta.name);
        CW_ARENA_PUSH(t->arena, &sl->tcp_routes, c->tcp.v[i]);
        count_served(t, &c->tcp.v[i], vg);
    }
}

static bool already_attached(struct tr *t, struct rt_ctx *c, const struct cw_snapshot_listener *sl)
{
    for (uint32_t i = 0; i < c->attached.n; i++)
        if (c->attached.v[i] == sl)
            return true;
    CW_ARENA_PUSH(t->arena, &c->attached, sl);
    return false;
}

/* Binds <rt> to the listeners of one referenced VirtualGateway. */
static void bind_gateway(struct tr *t, struct rt_ctx *c, const struct cw_object_ref *ref,
                         bool serve)
{
    const struct cw_route_table *rt = c->table;
    const char *key =
        cw_arena_printf(t->arena, "%s/%s", ref->ns ? ref->ns : rt->obj.meta.ns, ref->name);
    const struct cw_virtual_gateway *vg = cw_strmap_get(&t->vg_by_name, key, strlen(key));
    if (!vg) {
        tr_warn(t, &rt->obj, "VirtualGateway %s not found", key);
        return;
    }
    struct tr_object *tv = tr_obj(t, &vg->obj);
    if (!tv->usable || !tv->listeners) {
        tr_warn(t, &rt->obj, "VirtualGateway %s is INVALID", key);
        return;
    }
    if (!tr_visible_in(t, &rt->obj, tv->ws)) {
        tr_warn(t, &rt->obj,
                "not visible in workspace %s of VirtualGateway %s (export it from %s "
                "and import it there)",
                tv->ws->name, key, tr_obj(t, &rt->obj)->ws->name);
        return;
    }
    uint32_t refused_port = 0;
    bool fits = false, bound = false;
    for (uint32_t li = 0; li < vg->listeners.n; li++) {
        const struct cw_listener *l = &vg->listeners.v[li];
        if (l->http ? rt->http.n == 0 : (rt->tcp.n == 0 && rt->tls.n == 0))
            continue;
        fits = true;
        if (!listener_allows(t, vg, l, rt)) {
            if (!refused_port)
                refused_port = l->port.number;
            continue;
        }
        bound = true;
        struct cw_snapshot_listener *sl = tv->listeners[li];
        if (!sl || !serve)
            continue;
        if (sl->http)
            attach_http(t, c, sl, vg, l); /* once per virtual host, see attach_domain */
        else if (!already_attached(t, c, sl))
            attach_tcp(t, c, sl, vg);
    }
    if (!fits)
        tr_warn(t, &rt->obj, "VirtualGateway %s has no listener for this RouteTable's %s routes",
                key, rt->http.n ? "http" : "tcp");
    else if (!bound)
        tr_warn(t, &rt->obj, "not allowed by VirtualGateway %s listener %u", key, refused_port);
    else {
        tr_obj(t, &rt->obj)->counter++; /* numAllowedVirtualGateways */
        tv->counter2++;                 /* routeTablesCount */
    }
}

static void translate_table(struct tr *t, const struct cw_route_table *rt)
{
    struct rt_ctx c = {.t = t, .table = rt};
    if (!tr_obj(t, &rt->obj)->usable)
        return; /* already INVALID (a decode error): nothing more to say */
    check_hosts(t, rt);
    if (!tr_obj(t, &rt->obj)->usable)
        return;
    tr_compile_http_routes(&c, rt, NULL, 0);
    tr_compile_tcp_routes(&c, rt);
    c.table = rt;
    /* FREEZE_CONFIG keeps the last good table; on a first load there is none to keep. */
    bool serve = !(c.failed && rt->failure_mode == CW_FAILURE_FREEZE_CONFIG);
    if (!serve) /* not live, so never WARNING: the whole table waits for a fix */
        tr_invalid(t, &rt->obj, "failureMode FREEZE_CONFIG: table not served until fixed");
    for (uint32_t i = 0; i < rt->virtual_gateways.n; i++)
        bind_gateway(t, &c, &rt->virtual_gateways.v[i], serve);
}

void tr_route_tables(struct tr *t)
{
    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, CW_KIND_ROUTE_TABLE, &n);
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_route_table *rt = (const struct cw_route_table *)v[i];
        /* Delegated children are compiled through their parents. */
        if (rt->virtual_gateways.n)
            translate_table(t, rt);
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct cw_route_table *rt = (const struct cw_route_table *)v[i];
        if (!rt->virtual_gateways.n && !tr_obj(t, &rt->obj)->counter2 && rt->hosts.n == 0 &&
            tr_obj(t, &rt->obj)->usable)
            tr_note(t, &rt->obj,
                    "no virtualGateways and no parent delegates to it: serves "
                    "sidecars only, nothing on this gateway");
    }
}
