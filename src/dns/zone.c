/*
 * The responder's names, from a snapshot (zone.h).
 */
#include "dns/zone.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static char *keep(struct cw_dns_zone *z, const char *text)
{
    if (z->n_names == z->cap_names) {
        z->cap_names = z->cap_names ? z->cap_names * 2 : 16;
        z->names = cw_xrealloc(z->names, z->cap_names * sizeof(*z->names));
    }
    char *copy = cw_xstrdup(text);
    for (char *p = copy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t len = strlen(copy);
    if (len && copy[len - 1] == '.')
        copy[len - 1] = '\0'; /* "db.example." is "db.example" */
    return z->names[z->n_names++] = copy;
}

static void add(struct cw_dns_zone *z, const char *host)
{
    if (!host || !host[0] || !strcmp(host, "*"))
        return;
    if (!strncmp(host, "*.", 2)) {
        char *suffix = keep(z, host + 1); /* ".suffix": a name must end with it */
        z->suffixes = cw_xrealloc(z->suffixes, (z->n_suffixes + 1) * sizeof(*z->suffixes));
        z->suffixes[z->n_suffixes++] = suffix;
        return;
    }
    if (cw_strmap_get(&z->exact, host, strlen(host)))
        return;
    char *name = keep(z, host);
    cw_strmap_put_new(&z->exact, name, strlen(name), name);
}

/* The hostnames of the services a TCP or TLS route forwards to, and its table's hosts. */
static void add_routes(struct cw_dns_zone *z, const struct cw_route *routes, uint32_t n)
{
    for (uint32_t r = 0; r < n; r++) {
        for (uint32_t h = 0; routes[r].table && h < routes[r].table->hosts.n; h++)
            add(z, routes[r].table->hosts.v[h]);
        for (uint32_t c = 0; c < routes[r].clusters.n; c++) {
            /* A destination translation could not resolve has no cluster (the route fails). */
            const struct cw_cluster *cl = routes[r].clusters.v[c].cluster;
            const struct cw_external_service *es = cl ? cl->service : NULL;
            for (uint32_t h = 0; es && h < es->hosts.n; h++)
                add(z, es->hosts.v[h]);
        }
    }
}

void cw_dns_zone_build(struct cw_dns_zone *z, const struct cw_snapshot *snap)
{
    memset(z, 0, sizeof(*z));
    cw_strmap_init(&z->exact);
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        const struct cw_snapshot_listener *l = snap->listeners.v[i];
        for (uint32_t v = 0; v < l->virtual_hosts.n; v++)
            add(z, l->virtual_hosts.v[v]->domain);
        add_routes(z, l->tcp_routes.v, l->tcp_routes.n);
        add_routes(z, l->tls_routes.v, l->tls_routes.n);
        for (uint32_t e = 0; e < l->exposed.n; e++)
            add(z, l->exposed.v[e].host);
    }
}

void cw_dns_zone_free(struct cw_dns_zone *z)
{
    cw_strmap_deinit(&z->exact);
    for (unsigned i = 0; i < z->n_names; i++)
        free(z->names[i]);
    free(z->names);
    free(z->suffixes);
    memset(z, 0, sizeof(*z));
}

bool cw_dns_zone_owns(const struct cw_dns_zone *z, const char *name)
{
    size_t len = strlen(name);
    if (cw_strmap_get(&z->exact, name, len))
        return true;
    for (unsigned i = 0; i < z->n_suffixes; i++) {
        size_t sl = strlen(z->suffixes[i]);
        /* "*.example.com" answers "a.example.com" and "a.b.example.com", not "example.com" */
        if (len > sl && !strcmp(name + len - sl, z->suffixes[i]))
            return true;
    }
    return false;
}
