/*
 * Compiling the routes of one RouteTable (spec §3.2-§3.5): matchers with their regexes,
 * destinations resolved to clusters with weights, rewrites, and delegation to child tables.
 * A route that cannot be served becomes CW_ROUTE_FAILED (a 500 that says why) and its table
 * gets the reason as a status message; failureMode decides in route_tables.c whether the table
 * is still served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/routes.h"
#include "util/regex.h"

#define MAX_DELEGATION_DEPTH 8

static struct cw_regex *compile(struct tr *t, const char *pattern, bool full, bool icase, char *err,
                                size_t err_size)
{
    struct cw_regex *re = cw_regex_compile(pattern, full, icase, err, err_size);
    if (re)
        CW_ARENA_PUSH(t->arena, &t->out->snapshot->regexes, re);
    return re;
}

/* Records a route problem: INVALID or WARNING on the table, and the route answers 500. */
static void fail_route(struct rt_ctx *c, struct cw_route *r, bool invalid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_route(struct rt_ctx *c, struct cw_route *r, bool invalid, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The table stays served under ROUTE_REPLACEMENT; route_tables.c decides from c->failed. */
    if (invalid)
        tr_invalid_served(c->t, &c->table->obj, "%s (route %s)", msg, r->name);
    else
        tr_warn(c->t, &c->table->obj, "%s (route %s)", msg, r->name);
    r->kind = CW_ROUTE_FAILED;
    r->failure = cw_arena_strdup(c->t->arena, msg);
    c->failed = true;
}

/* Where a pattern's literal text ends: at its first metacharacter, less the last character when
 * a quantifier follows it, kept whole for UTF-8. Nothing when the pattern has alternatives. */
static size_t literal_start(const char *p)
{
    if (strchr(p, '|'))
        return 0;
    size_t n = strcspn(p, "\\^$.|?*+()[]{}");
    if (n && p[n] && strchr("?*+{", p[n]))
        for (n--; n && ((unsigned char)p[n] & 0xC0) == 0x80; n--)
            ;
    return n;
}

/*
 * Stands in for a matcher regex RE2 refused, so that the failed route still answers its 500
 * where it was meant to apply: paths starting with the pattern's literal text, any header or
 * query value. Failing closed: a deny route written with a look-ahead must not let requests
 * through to the routes after it, and routes outside its literal prefix keep working.
 */
static struct cw_regex *stand_in(struct rt_ctx *c, const char *pattern, bool path)
{
    const char *p = pattern + (path && pattern[0] == '^');
    const char *any =
        cw_arena_printf(c->t->arena, "%.*s(?s:.*)", path ? (int)literal_start(p) : 0, p);
    char err[256];
    struct cw_regex *re = compile(c->t, any, true, false, err, sizeof(err));
    return re ? re : compile(c->t, "(?s:.*)", true, false, err, sizeof(err));
}

/* Compiles one matcher regex, or a stand-in after reporting RE2's reason (the first only) for the
 * field named by <fmt>. */
static struct cw_regex *compile_matcher(struct rt_ctx *c, struct cw_route *r, const char *pattern,
                                        bool path, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static struct cw_regex *compile_matcher(struct rt_ctx *c, struct cw_route *r, const char *pattern,
                                        bool path, bool *ok, const char *fmt, ...)
{
    char err[256], where[96];
    struct cw_regex *re = compile(c->t, pattern, true, false, err, sizeof(err));
    if (re)
        return re;
    if (*ok) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(where, sizeof(where), fmt, ap);
        va_end(ap);
        fail_route(c, r, true, "%s: %s", where, err);
    }
    *ok = false;
    return stand_in(c, pattern, path);
}

/* Compiles every matcher's regexes. False when RE2 refused one: the route is then failed, and
 * every matcher still has a regex for each regex field (stand_in), so it can be matched. */
static bool compile_matchers(struct rt_ctx *c, struct cw_route *r)
{
    const struct cw_http_route *h = r->http;
    bool ok = true;
    r->matcher_regexes = CW_ARENA_ARRAY(c->t->arena, struct cw_route_regexes, h->matchers.n + 1);
    for (uint32_t i = 0; i < h->matchers.n; i++) {
        const struct cw_http_matcher *m = &h->matchers.v[i];
        struct cw_route_regexes *rx = &r->matcher_regexes[i];
        if (m->uri_kind == CW_URI_REGEX)
            rx->uri = compile_matcher(c, r, m->uri, true, &ok, "matchers[%u].uri.regex", i);
        rx->headers = CW_ARENA_ARRAY(c->t->arena, struct cw_regex *, m->headers.n + 1);
        for (uint32_t j = 0; j < m->headers.n; j++) {
            const struct cw_header_matcher *hm = &m->headers.v[j];
            if (hm->regex && hm->value)
                rx->headers[j] = compile_matcher(c, r, hm->value, false, &ok,
                                                 "matchers[%u].headers[%u].value", i, j);
        }
        rx->query = CW_ARENA_ARRAY(c->t->arena, struct cw_regex *, m->query.n + 1);
        for (uint32_t j = 0; j < m->query.n; j++) {
            const struct cw_query_matcher *q = &m->query.v[j];
            if (q->regex && q->value)
                rx->query[j] = compile_matcher(c, r, q->value, false, &ok,
                                               "matchers[%u].queryParameters[%u].value", i, j);
        }
    }
    return ok;
}

/* ---- destinations ---- */

static const char *dest_kind_name(enum cw_dest_kind k)
{
    return k == CW_DEST_SERVICE               ? "SERVICE"
           : k == CW_DEST_VIRTUAL_DESTINATION ? "VIRTUAL_DESTINATION"
                                              : "EXTERNAL_SERVICE";
}

static struct cw_cluster *resolve_port(struct rt_ctx *c, struct cw_route *r,
                                       const struct cw_external_service *es,
                                       const struct cw_port_selector *ps)
{
    struct tr_object *te = tr_obj(c->t, &es->obj);
    struct cw_cluster **cl = te->clusters;
    if (te->hosts_per_port > 1) {
        /* §3.3: each destination must resolve to exactly one hostname. */
        fail_route(c, r, true,
                   "destination EXTERNAL_SERVICE %s/%s has %u hosts and no "
                   "ExternalEndpoints; a destination must resolve to exactly one hostname",
                   es->obj.meta.ns, es->obj.meta.name, te->hosts_per_port);
        return NULL;
    }
    for (uint32_t i = 0; i < es->ports.n; i++) {
        const struct cw_es_port *p = &es->ports.v[i];
        if ((ps->number && p->number == ps->number) ||
            (ps->name && p->name && !strcmp(p->name, ps->name)))
            return cl[i];
    }
    if (!ps->number && !ps->name) {
        if (es->ports.n == 1)
            return cl[0];
        fail_route(c, r, true, "port required: destination has multiple ports");
        return NULL;
    }
    char port[80];
    if (ps->number)
        snprintf(port, sizeof(port), "%u", ps->number);
    else
        snprintf(port, sizeof(port), "%s", ps->name);
    fail_route(c, r, true, "port %s not found on %s/%s", port, es->obj.meta.ns, es->obj.meta.name);
    return NULL;
}

static struct cw_cluster *resolve_destination(struct rt_ctx *c, struct cw_route *r,
                                              const struct cw_destination *d)
{
    const struct cw_route_table *rt = c->table;
    if (d->has_lambda) {
        fail_route(c, r, false, "awsLambda destinations are not served by causeway");
        return NULL;
    }
    if (d->kind != CW_DEST_EXTERNAL_SERVICE) {
        fail_route(c, r, false,
                   "destination kind %s is not served by causeway (it routes to "
                   "EXTERNAL_SERVICE only)",
                   dest_kind_name(d->kind));
        return NULL;
    }
    if (d->has_subset) {
        fail_route(c, r, true, "subset is only allowed on Kubernetes SERVICE destinations");
        return NULL;
    }
    const char *ns = d->ref.ns ? d->ref.ns : rt->obj.meta.ns;
    const char *key = cw_arena_printf(c->t->arena, "%s/%s", ns, d->ref.name);
    const struct cw_external_service *es = cw_strmap_get(&c->t->es_by_name, key, strlen(key));
    const struct tr_workspace *ws = tr_obj(c->t, &rt->obj)->ws;
    if (!es || !tr_visible_in(c->t, &es->obj, ws)) {
        fail_route(c, r, true, "destination EXTERNAL_SERVICE %s not found in workspace %s", key,
                   ws ? ws->name : "(none)");
        return NULL;
    }
    if (!tr_obj(c->t, &es->obj)->usable || !tr_obj(c->t, &es->obj)->clusters) {
        fail_route(c, r, true, "destination EXTERNAL_SERVICE %s is INVALID", key);
        return NULL;
    }
    return resolve_port(c, r, es, &d->port);
}

/* §3.3: explicit weights ≤ 100, the rest split over unweighted destinations, each ≥ 1. */
static bool assign_weights(struct rt_ctx *c, struct cw_route *r, const struct cw_destination *d,
                           uint32_t n)
{
    uint32_t sum = 0, unweighted = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (d[i].has_weight)
            sum += d[i].weight;
        else
            unweighted++;
    }
    if (sum > 100 || (unweighted == 0 && sum != 100) ||
        (unweighted > 0 && 100 - sum < unweighted)) {
        fail_route(c, r, true, "destination weights must sum to 100");
        return false;
    }
    uint32_t share = unweighted ? (100 - sum) / unweighted : 0;
    uint32_t extra = unweighted ? (100 - sum) % unweighted : 0;
    for (uint32_t i = 0; i < n; i++) {
        if (d[i].has_weight) {
            r->clusters.v[i].weight = d[i].weight;
        } else {
            r->clusters.v[i].weight = share + (extra ? 1 : 0);
            if (extra)
                extra--;
        }
    }
    return true;
}

static void compile_forward(struct rt_ctx *c, struct cw_route *r, const struct cw_forward_to *f)
{
    const struct cw_destination *d = f->destinations.v;
    uint32_t n = f->destinations.n;
    if (n == 0) {
        if (!c->table->has_default_destination) {
            fail_route(c, r, true,
                       "forwardTo has no destinations and the RouteTable has no "
                       "defaultDestination");
            return;
        }
        d = &c->table->default_destination;
        n = 1;
    }
    r->kind = CW_ROUTE_FORWARD;
    r->forward = f;
    r->clusters.v = CW_ARENA_ARRAY(c->t->arena, struct cw_weighted_cluster, n);
    r->clusters.n = n;
    for (uint32_t i = 0; i < n; i++) {
        r->clusters.v[i].cluster = resolve_destination(c, r, &d[i]);
        if (!r->clusters.v[i].cluster)
            return;
    }
    if (n == 1 && !d[0].has_weight) {
        r->clusters.v[0].weight = 100;
        return;
    }
    assign_weights(c, r, d, n);
}

static void compile_rewrites(struct rt_ctx *c, struct cw_route *r)
{
    const struct cw_forward_to *f = r->forward;
    if (r->kind != CW_ROUTE_FORWARD || !f)
        return;
    if (f->path_rewrite) {
        for (uint32_t i = 0; i < r->http->matchers.n; i++)
            if (r->http->matchers.v[i].uri_kind == CW_URI_REGEX) {
                fail_route(c, r, true,
                           "pathRewrite is not supported with a regex matcher; use "
                           "regexRewrite");
                return;
            }
    }
    char err[256];
    if (!f->has_regex_rewrite)
        return;
    r->rewrite_regex = compile(c->t, f->regex_rewrite_pattern, false, false, err, sizeof(err));
    if (!r->rewrite_regex)
        fail_route(c, r, true, "regexRewrite.pattern.regex: %s", err);
    else if (cw_regex_set_rewrite(r->rewrite_regex, f->regex_rewrite_substitution, err,
                                  sizeof(err)) != 0)
        fail_route(c, r, true, "regexRewrite.substitution: %s", err);
}

/* ---- HTTP routes and delegation ---- */

static const char *route_name(struct rt_ctx *c, const struct cw_http_route *h, uint32_t index,
                              struct cw_strmap *names)
{
    if (!h->name)
        return cw_arena_printf(c->t->arena, "http[%u]", index);
    const char *name = h->name;
    if (!strncmp(name, "insecure-", 9))
        name += 9; /* Gloo trims this prefix from route names */
    for (uint32_t n = 1; cw_strmap_get(names, name, strlen(name)); n++)
        name = cw_arena_printf(c->t->arena, "duplicate-%s-%u", h->name, n);
    cw_strmap_set(names, name, strlen(name), (void *)h);
    return name;
}

static void compile_delegate(struct rt_ctx *c, struct cw_route *parent, uint32_t depth);

static void compile_http_route(struct rt_ctx *c, const struct cw_http_route *h, uint32_t index,
                               struct cw_strmap *names, const struct cw_route *parent,
                               uint32_t depth)
{
    struct cw_route r = {.table = c->table, .http = h, .parent = parent};
    r.name = route_name(c, h, index, names);
    if (!compile_matchers(c, &r)) {
        CW_ARENA_PUSH(c->t->arena, &c->http, r);
        return;
    }
    switch (h->action) {
    case CW_ACTION_FORWARD:
        compile_forward(c, &r, &h->forward);
        if (r.kind == CW_ROUTE_FORWARD)
            compile_rewrites(c, &r);
        break;
    case CW_ACTION_REDIRECT:
        r.kind = CW_ROUTE_REDIRECT;
        break;
    case CW_ACTION_DIRECT_RESPONSE:
        r.kind = CW_ROUTE_DIRECT_RESPONSE;
        /* §3.4: the schema admits 100-599, but a direct response is a final answer, 200-599 (as
         * Envoy requires), so an informational status is a misconfigured route. */
        if (h->direct.status < 200)
            fail_route(c, &r, true, "directResponse.status must be between 200 and 599, got %u",
                       h->direct.status);
        break;
    case CW_ACTION_DELEGATE: {
        /* The delegating route itself is not served; its matchers guard every child route. */
        struct cw_route *p = CW_ARENA_NEW(c->t->arena, struct cw_route);
        *p = r;
        compile_delegate(c, p, depth);
        return;
    }
    case CW_ACTION_GRAPHQL:
        fail_route(c, &r, false, "graphql routes are not served by causeway");
        break;
    case CW_ACTION_NONE:
        fail_route(c, &r, true, "route has no action");
        break;
    }
    CW_ARENA_PUSH(c->t->arena, &c->http, r);
}

void tr_compile_http_routes(struct rt_ctx *c, const struct cw_route_table *rt,
                            const struct cw_route *parent, uint32_t depth)
{
    const struct cw_route_table *saved = c->table;
    c->table = rt;
    struct cw_strmap names;
    cw_strmap_init(&names);
    for (uint32_t i = 0; i < rt->http.n; i++)
        compile_http_route(c, &rt->http.v[i], i, &names, parent, depth);
    cw_strmap_deinit(&names);
    c->table = saved;
}

static bool child_selected(struct rt_ctx *c, const struct cw_delegate *del,
                           const struct cw_route_table *child)
{
    for (uint32_t s = 0; s < del->route_tables.n; s++)
        if (tr_selector_matches(c->t, &del->route_tables.v[s], &child->obj))
            return true;
    return false;
}

static bool child_valid(struct rt_ctx *c, const struct cw_route_table *child)
{
    if (child->hosts.n || child->virtual_gateways.n || child->has_failure_mode) {
        tr_invalid(c->t, &child->obj,
                   "a delegated RouteTable must leave hosts, virtualGateways "
                   "and failureMode empty (delegated to by %s/%s)",
                   c->table->obj.meta.ns, c->table->obj.meta.name);
        return false;
    }
    return true;
}

/* Whether <child> may be delegated to from the table being compiled (checked once per table,
 * so an invalid child is reported once however many selector entries name it). */
static bool child_eligible(struct rt_ctx *c, const struct cw_delegate *del,
                           const struct cw_route_table *child)
{
    const struct tr_workspace *ws = tr_obj(c->t, &c->table->obj)->ws;
    if (child == c->table || child->obj.error || !tr_obj(c->t, &child->obj)->ws ||
        !tr_visible_in(c->t, &child->obj, ws) || !child_selected(c, del, child))
        return false;
    return child_valid(c, child);
}

/* TABLE_WEIGHT: higher weight first; a stable insertion sort keeps the selection order
 * (list order, then creation order) among equal weights. */
static void sort_by_weight(const struct cw_route_table **v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        const struct cw_route_table *x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1]->weight < x->weight; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/*
 * The children of <del> in §3.4's order: routeTables entries in list order (tables listed by
 * name keep the list's order), the tables one entry selects in creation order (older first,
 * as label selection is ordered); a table selected by several entries keeps its first place.
 */
static uint32_t select_children(struct rt_ctx *c, const struct cw_delegate *del,
                                const struct cw_route_table ***out)
{
    uint32_t n_all;
    struct cw_object **all = tr_by_precedence(c->t, CW_KIND_ROUTE_TABLE, &n_all);
    bool *candidate = CW_ARENA_ARRAY(&c->t->scratch, bool, n_all + 1);
    for (uint32_t i = 0; i < n_all; i++)
        candidate[i] = child_eligible(c, del, (const struct cw_route_table *)all[i]);
    *out = CW_ARENA_ARRAY(c->t->arena, const struct cw_route_table *, n_all + 1);
    uint32_t n = 0;
    for (uint32_t s = 0; s < del->route_tables.n; s++) {
        for (uint32_t i = 0; i < n_all; i++) {
            if (!candidate[i] || !tr_selector_matches(c->t, &del->route_tables.v[s], all[i]))
                continue;
            candidate[i] = false;
            (*out)[n++] = (const struct cw_route_table *)all[i];
        }
    }
    if (del->sort_method == CW_SORT_TABLE_WEIGHT)
        sort_by_weight(*out, n);
    return n;
}

/* A route's rank under ROUTE_SPECIFICITY (§3.4): the path matcher type, then its length. */
struct specificity {
    int type;      /* exact 3, regex 2, prefix 1 */
    size_t length; /* of the path or pattern */
};

static struct specificity path_specificity(const struct cw_http_matcher *m)
{
    switch (m->uri_kind) {
    case CW_URI_EXACT:
        return (struct specificity){3, strlen(m->uri)};
    case CW_URI_REGEX:
        return (struct specificity){2, strlen(m->uri)};
    case CW_URI_PREFIX:
        return (struct specificity){1, strlen(m->uri)};
    default:
        return (struct specificity){1, 1}; /* no path matcher counts as prefix "/" */
    }
}

static bool more_specific(struct specificity a, struct specificity b)
{
    return a.type != b.type ? a.type > b.type : a.length > b.length;
}

/* The most specific path matcher of <r>; headers, query and method do not count (§3.4). */
static struct specificity specificity(const struct cw_route *r)
{
    struct specificity best = {1, 1}; /* a route without matchers matches like prefix "/" */
    for (uint32_t i = 0; i < r->http->matchers.n; i++) {
        struct specificity s = path_specificity(&r->http->matchers.v[i]);
        if (i == 0 || more_specific(s, best))
            best = s;
    }
    return best;
}

/* Stable insertion sort of routes by descending specificity (ties keep table order). */
static void sort_by_specificity(struct cw_route *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct cw_route x = v[i];
        struct specificity sx = specificity(&x);
        uint32_t j = i;
        for (; j > 0 && more_specific(sx, specificity(&v[j - 1])); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static void compile_delegate(struct rt_ctx *c, struct cw_route *parent, uint32_t depth)
{
    const struct cw_delegate *del = &parent->http->delegate;
    if (depth >= MAX_DELEGATION_DEPTH) {
        fail_route(c, parent, true, "delegation deeper than %d levels (a cycle?)",
                   MAX_DELEGATION_DEPTH);
        CW_ARENA_PUSH(c->t->arena, &c->http, *parent);
        return;
    }
    const struct cw_route_table **children;
    uint32_t n = select_children(c, del, &children);
    if (n == 0) {
        tr_warn(c->t, &c->table->obj, "delegate selects no RouteTable (route %s)", parent->name);
        return;
    }
    uint32_t first = c->http.n;
    for (uint32_t i = 0; i < n; i++) {
        tr_obj(c->t, &children[i]->obj)->counter2++; /* numParentRouteTables */
        tr_compile_http_routes(c, children[i], parent, depth + 1);
    }
    if (del->sort_method == CW_SORT_ROUTE_SPECIFICITY)
        sort_by_specificity(c->http.v + first, c->http.n - first);
}

/* ---- TCP routes ---- */

void tr_compile_tcp_routes(struct rt_ctx *c, const struct cw_route_table *rt)
{
    c->table = rt;
    for (uint32_t i = 0; i < rt->tcp.n; i++) {
        const struct cw_tcp_route *tcp = &rt->tcp.v[i];
        struct cw_route r = {.table = rt, .tcp = tcp};
        r.name = cw_arena_printf(c->t->arena, "tcp[%u]", i);
        compile_forward(c, &r, &tcp->forward);
        if (r.kind == CW_ROUTE_FORWARD)
            tr_note(c->t, &rt->obj, "extension: tcp→EXTERNAL_SERVICE");
        CW_ARENA_PUSH(c->t->arena, &c->tcp, r);
    }
    for (uint32_t i = 0; i < rt->tls.n; i++) {
        const struct cw_tls_route *tls = &rt->tls.v[i];
        struct cw_route r = {.table = rt, .tls = tls};
        r.name = cw_arena_printf(c->t->arena, "tls[%u]", i);
        compile_forward(c, &r, &tls->forward);
        CW_ARENA_PUSH(c->t->arena, &c->tls, r);
    }
}
