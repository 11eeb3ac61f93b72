#include "proxy/router.h"

#include <string.h>
#include <strings.h>

#include "snapshot/snapshot.h"
#include "util/regex.h"

void cw_router_split_target(struct cw_span target, struct cw_span *path, struct cw_span *query)
{
    const char *q = memchr(target.p, '?', target.len);
    *path = (struct cw_span){target.p, q ? (size_t)(q - target.p) : target.len};
    *query = q ? (struct cw_span){q + 1, target.len - path->len - 1} : (struct cw_span){"", 0};
}

/* "*.example.com" (or "*-x.example.com") matches when the host ends with what follows '*'. */
static size_t wildcard_match(struct cw_span host, const char *domain)
{
    size_t n = strlen(domain) - 1;
    const char *suffix = domain + 1;
    if (host.len <= n || strncasecmp(host.p + host.len - n, suffix, n) != 0)
        return 0;
    return n;
}

/* The value indexed under <host> in <m> (the snapshot's host indexes), or NULL. */
static void *lookup_host(const struct cw_strmap *m, struct cw_span host)
{
    char key[CW_HOST_KEY_MAX];
    int n = cw_snapshot_host_key(host.p, host.len, false, key, sizeof(key));
    return n < 0 ? NULL : cw_strmap_get(m, key, (size_t)n);
}

const struct cw_virtual_host *cw_router_vhost(const struct cw_snapshot_listener *l,
                                              struct cw_span host)
{
    const struct cw_virtual_host *exact = lookup_host(&l->exact_hosts, host);
    if (exact)
        return exact; /* exact beats any wildcard */
    const struct cw_virtual_host *best = NULL, *any = NULL;
    size_t best_len = 0;
    for (uint32_t i = 0; i < l->wildcard_hosts.n; i++) {
        const struct cw_virtual_host *vh = l->wildcard_hosts.v[i];
        if (vh->domain[1] == '\0') {
            any = any ? any : vh;
            continue;
        }
        size_t n = wildcard_match(host, vh->domain);
        if (n > best_len) {
            best = vh;
            best_len = n;
        }
    }
    return best ? best : any;
}

struct cw_cluster *cw_router_exposed(const struct cw_snapshot_listener *l, struct cw_span host)
{
    return lookup_host(&l->exposed_hosts, host);
}

static bool value_matches(struct cw_span v, const char *want, const struct cw_regex *re)
{
    if (re)
        return cw_regex_match(re, v.p, v.len);
    return strlen(want) == v.len && memcmp(want, v.p, v.len) == 0;
}

static bool header_matches(const struct cw_route_request *req, const struct cw_header_matcher *m,
                           const struct cw_regex *re)
{
    const struct cw_span *v = cw_http_header(req->head, m->name);
    bool ok = v && (!m->value || value_matches(*v, m->value, re));
    return m->invert ? !ok : ok;
}

/* Finds query parameter <name> in "a=1&b=2"; <*value> gets its (raw) value. */
static bool query_param(struct cw_span q, const char *name, struct cw_span *value)
{
    size_t n = strlen(name);
    const char *p = q.p, *end = q.p + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *key_end = eq ? eq : stop;
        if ((size_t)(key_end - p) == n && memcmp(p, name, n) == 0) {
            *value =
                eq ? (struct cw_span){eq + 1, (size_t)(stop - eq - 1)} : (struct cw_span){"", 0};
            return true;
        }
        p = stop + 1;
    }
    return false;
}

static bool uri_matches(const struct cw_http_matcher *m, const struct cw_regex *re,
                        struct cw_span path)
{
    size_t n;
    switch (m->uri_kind) {
    case CW_URI_ANY:
        return true;
    case CW_URI_EXACT:
        n = strlen(m->uri);
        return n == path.len && (m->ignore_case ? strncasecmp(m->uri, path.p, n) == 0
                                                : memcmp(m->uri, path.p, n) == 0);
    case CW_URI_PREFIX:
        n = strlen(m->uri);
        return n <= path.len && (m->ignore_case ? strncasecmp(m->uri, path.p, n) == 0
                                                : memcmp(m->uri, path.p, n) == 0);
    case CW_URI_REGEX:
        return cw_regex_match(re, path.p, path.len);
    }
    return false;
}

static bool matcher_matches(const struct cw_http_matcher *m, const struct cw_route_regexes *rx,
                            const struct cw_route_request *req)
{
    if (m->port && m->port != req->port)
        return false;
    if (m->method && strcmp(m->method, req->method) != 0)
        return false;
    if (!uri_matches(m, rx->uri, req->path))
        return false;
    for (uint32_t i = 0; i < m->headers.n; i++)
        if (!header_matches(req, &m->headers.v[i], rx->headers[i]))
            return false;
    for (uint32_t i = 0; i < m->query.n; i++) {
        const struct cw_query_matcher *q = &m->query.v[i];
        struct cw_span v;
        if (!query_param(req->query, q->name, &v))
            return false;
        if (q->value && !value_matches(v, q->value, rx->query[i]))
            return false;
    }
    return true;
}

/* Matchers are OR-ed; none ⇒ everything. Returns the matching index, -1 for "no matchers",
 * -2 for no match. */
static int route_matches(const struct cw_route *r, const struct cw_route_request *req)
{
    if (r->parent && route_matches(r->parent, req) == -2)
        return -2;
    const struct cw_http_route *h = r->http;
    if (h->matchers.n == 0)
        return -1;
    for (uint32_t i = 0; i < h->matchers.n; i++)
        if (matcher_matches(&h->matchers.v[i], &r->matcher_regexes[i], req))
            return (int)i;
    return -2;
}

const struct cw_route *cw_router_match(const struct cw_virtual_host *vh,
                                       const struct cw_route_request *req, int *matcher)
{
    for (uint32_t i = 0; i < vh->routes.n; i++) {
        int m = route_matches(&vh->routes.v[i], req);
        if (m != -2) {
            *matcher = m;
            return &vh->routes.v[i];
        }
    }
    return NULL;
}
