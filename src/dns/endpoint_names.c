/*
 * The hostnames a snapshot's endpoints need, and which have no address (endpoint_names.h).
 */
#include "dns/endpoint_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

uint32_t cw_dns_endpoint_names(const struct cw_snapshot *snap, const char ***out)
{
    uint32_t cap = 0, n = 0;
    for (uint32_t c = 0; c < snap->clusters.n; c++)
        cap += snap->clusters.v[c]->endpoints.n;
    const char **names = cw_xcalloc(cap ? cap : 1, sizeof(*names));
    struct cw_strmap seen;
    cw_strmap_init(&seen);
    for (uint32_t c = 0; c < snap->clusters.n; c++) {
        const struct cw_cluster *cl = snap->clusters.v[c];
        for (uint32_t e = 0; e < cl->endpoints.n; e++) {
            const char *name = cl->endpoints.v[e].address;
            if (cl->endpoints.v[e].is_hostname &&
                cw_strmap_put_new(&seen, name, strlen(name), (void *)name) == name)
                names[n++] = name;
        }
    }
    cw_strmap_deinit(&seen);
    *out = names;
    return n;
}

/* How many names without an address one service reports by name; the rest are counted. */
#define NAMED_PER_SERVICE 3

struct tally {
    const struct cw_external_service *es;
    uint32_t names;
};

/* The tally of <es> in <*t> (<*n> of them), added when new. */
static struct tally *tally_of(struct tally **t, uint32_t *n, const struct cw_external_service *es)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*t)[i].es == es)
            return &(*t)[i];
    *t = cw_xrealloc(*t, (*n + 1) * sizeof(**t));
    (*t)[*n] = (struct tally){.es = es};
    return &(*t)[(*n)++];
}

void cw_dns_each_unresolved(const struct cw_snapshot *snap, const struct cw_dns_resolver *r,
                            cw_dns_unresolved_fn *fn, void *data)
{
    /* One report per service and name, though every port of the service is a cluster; the
     * keys ("<service address>|<name>") live in <keys> while the map borrows them. */
    struct cw_strmap told;
    cw_strmap_init(&told);
    char **keys = NULL;
    uint32_t n_keys = 0, n_tallies = 0;
    struct tally *tallies = NULL;
    for (uint32_t c = 0; c < snap->clusters.n; c++) {
        const struct cw_cluster *cl = snap->clusters.v[c];
        for (uint32_t e = 0; e < cl->endpoints.n; e++) {
            const struct cw_endpoint *ep = &cl->endpoints.v[e];
            const struct cw_dns_name *n = ep->is_hostname ? cw_dns_resolver_find(r, ep->address)
                                                          : NULL;
            if (!ep->is_hostname || (n && n->n_addrs))
                continue;
            char key[512];
            snprintf(key, sizeof(key), "%p|%s", (const void *)cl->service, ep->address);
            if (cw_strmap_get(&told, key, strlen(key)))
                continue;
            keys = cw_xrealloc(keys, (n_keys + 1) * sizeof(*keys));
            keys[n_keys] = cw_xstrdup(key);
            cw_strmap_put_new(&told, keys[n_keys], strlen(key), keys[n_keys]);
            n_keys++;
            if (tally_of(&tallies, &n_tallies, cl->service)->names++ >= NAMED_PER_SERVICE)
                continue;
            const char *why = !n || n->state == CW_DNS_PENDING ? "not resolved yet" : n->error;
            fn(data, cl->service, ep->address, why);
        }
    }
    for (uint32_t i = 0; i < n_tallies; i++) {
        if (tallies[i].names <= NAMED_PER_SERVICE)
            continue;
        char more[64];
        snprintf(more, sizeof(more), "%u more names do not resolve",
                 tallies[i].names - NAMED_PER_SERVICE);
        fn(data, tallies[i].es, more, NULL);
    }
    free(tallies);
    cw_strmap_deinit(&told);
    for (uint32_t i = 0; i < n_keys; i++)
        free(keys[i]);
    free(keys);
}
