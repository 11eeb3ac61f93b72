/*
 * Building the host records of every cluster: addresses (names come resolved), order by
 * priority, count availability, and carry health over from a previous build so that a reload keeps what was learnt.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/session_slot.h"
#include "upstream/outlier.h"
#include "util/netaddr.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* Hosts one name may give its endpoint (more records are not used; dns/names.h keeps as many). */
#define MAX_ADDRESSES_PER_NAME 16

static void format_host(struct cw_host *h)
{
    char ip[INET6_ADDRSTRLEN];
    if (h->addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&h->addr;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(h->text, sizeof(h->text), "%s:%u", ip, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&h->addr;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(h->text, sizeof(h->text), "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

/* "us-east-1/us-east-1a" ("-" without a locality): where an endpoint sits. */
static char *format_locality(const struct cw_locality *l)
{
    char out[512];
    if (!l->region[0])
        snprintf(out, sizeof(out), "-");
    else if (!l->zone[0])
        snprintf(out, sizeof(out), "%s", l->region);
    else if (!l->subzone[0])
        snprintf(out, sizeof(out), "%s/%s", l->region, l->zone);
    else
        snprintf(out, sizeof(out), "%s/%s/%s", l->region, l->zone, l->subzone);
    return cw_xstrdup(out);
}

/* Fills host <h> of endpoint <e> at address <a> (its port is the endpoint's). */
static void fill_host(struct cw_upstream_cluster *uc, struct cw_host *h, const struct cw_endpoint *e,
                      const struct sockaddr_storage *a)
{
    memset(&h->addr, 0, sizeof(h->addr));
    if (a->ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&h->addr;
        *in = *(const struct sockaddr_in *)a;
        in->sin_port = htons(e->port);
        h->addr_len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&h->addr;
        *in6 = *(const struct sockaddr_in6 *)a;
        in6->sin6_port = htons(e->port);
        h->addr_len = sizeof(*in6);
    }
    h->priority = e->priority < CW_MAX_PRIORITIES ? e->priority : CW_MAX_PRIORITIES - 1;
    h->locality = format_locality(&e->locality);
    h->dns_name = e->is_hostname ? e->address : NULL;
    h->tls_session = uc->cluster->tls ? cw_tls_session_slot_new() : NULL;
    format_host(h);
}

/*
 * Appends the hosts of endpoint <e> to <uc> (<cap>: the room left): its address, or every
 * address <names> has for its name. Sets *<unresolved> when its name has none.
 */
static uint32_t add_endpoint_hosts(struct cw_upstream_cluster *uc, const struct cw_endpoint *e,
                                   uint32_t cap, const struct cw_name_lookup *names,
                                   bool *unresolved, struct cw_diags *diags)
{
    struct sockaddr_storage addrs[MAX_ADDRESSES_PER_NAME];
    int n = 0;
    if (!e->is_hostname) {
        n = cw_ip_literal_sockaddr(e->address, &addrs[0]) ? 1 : 0;
        if (!n)
            cw_diags_add(diags, CW_SEV_WARNING, NULL, 0, 0, uc->cluster->name, NULL,
                         "endpoint %s is not an IP address", e->address);
    } else {
        n = names ? names->addresses(names->ctx, e->address, addrs, MAX_ADDRESSES_PER_NAME) : -1;
        if (n < 0) {
            *unresolved = true;
            return 0;
        }
    }
    uint32_t k = 0;
    for (int i = 0; i < n && k < cap; i++)
        fill_host(uc, &uc->hosts[uc->n_hosts + k++], e, &addrs[i]);
    return k;
}

static int by_priority(const void *a, const void *b)
{
    const struct cw_host *x = a, *y = b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (x->locality_group != y->locality_group) /* all 0 unless the cluster distributes */
        return x->locality_group < y->locality_group ? -1 : 1;
    return x < y ? -1 : x > y; /* stable: keep the endpoints' order within a priority */
}

/*
 * Under a distribute mapping: puts host <h> in the group of its locality, opening one with
 * <weight> (the endpoint's locality weight) for a locality not seen yet. Hosts are compared
 * by their locality text, which names region, zone and subzone.
 */
static void join_locality_group(struct cw_upstream_cluster *uc, struct cw_host *h, uint32_t weight)
{
    for (struct cw_host *other = uc->hosts; other < h; other++) {
        if (!strcmp(other->locality, h->locality)) {
            h->locality_group = other->locality_group;
            return;
        }
    }
    h->locality_group = uc->n_localities++;
    uc->localities[h->locality_group].weight = weight;
}

/* Host <i> joins a run of hosts that sit together in the sorted array; the first opens it. */
static void extend_run(uint32_t *first, uint32_t *n, uint32_t i)
{
    if ((*n)++ == 0)
        *first = i;
}

/*
 * Groups the hosts by priority, and by locality when the cluster distributes (all in priority
 * 0 then): where each group sits, and how many of its hosts are available (not ejected).
 */
static void index_hosts(struct cw_upstream_cluster *uc)
{
    qsort(uc->hosts, uc->n_hosts, sizeof(*uc->hosts), by_priority);
    uint32_t n = uc->n_hosts ? uc->hosts[uc->n_hosts - 1].priority + 1 : 0;
    uc->n_priorities = n;
    uc->priorities = cw_xcalloc(n ? n : 1, sizeof(*uc->priorities));
    uc->available = cw_xcalloc(n ? n : 1, sizeof(*uc->available));
    if (uc->n_localities)
        uc->locality_available = cw_xcalloc(uc->n_localities, sizeof(*uc->locality_available));
    for (uint32_t i = 0; i < uc->n_hosts; i++) {
        const struct cw_host *h = &uc->hosts[i];
        bool up = !atomic_load(&h->health->ejected);
        extend_run(&uc->priorities[h->priority].first, &uc->priorities[h->priority].n, i);
        atomic_fetch_add(&uc->available[h->priority], up);
        uc->n_ejected += !up;
        if (uc->n_localities) {
            struct cw_locality_group *g = &uc->localities[h->locality_group];
            extend_run(&g->first, &g->n, i);
            atomic_fetch_add(&uc->locality_available[h->locality_group], up);
        }
    }
}

/* "cluster|address" of a host: what must stay equal for its health to carry over a reload. */
static void host_key(char *out, size_t size, const char *cluster, const struct cw_host *h)
{
    snprintf(out, size, "%s|%s", cluster, h->text);
}

/* Hosts of <previous> by key; <keys> keeps the key strings alive (the map borrows them). */
static void index_previous(struct cw_strmap *m, char ***keys, uint32_t *n_keys,
                           struct cw_upstreams *previous)
{
    uint32_t total = 0;
    for (uint32_t c = 0; previous && c < previous->n; c++)
        total += previous->clusters[c].n_hosts;
    *keys = cw_xcalloc(total ? total : 1, sizeof(**keys));
    *n_keys = 0;
    for (uint32_t c = 0; previous && c < previous->n; c++) {
        struct cw_upstream_cluster *uc = &previous->clusters[c];
        for (uint32_t i = 0; i < uc->n_hosts; i++) {
            char key[512];
            host_key(key, sizeof(key), uc->cluster->name, &uc->hosts[i]);
            char *k = (*keys)[(*n_keys)++] = cw_xstrdup(key);
            cw_strmap_put_new(m, k, strlen(k), &uc->hosts[i]);
        }
    }
}

/*
 * The host's health: shared with the previous build's host of the same key, or fresh. An
 * ejection in progress carries over with its return time.
 */
static struct cw_host_health *health_for(struct cw_strmap *previous, const char *cluster,
                                         const struct cw_host *h)
{
    char key[512];
    host_key(key, sizeof(key), cluster, h);
    struct cw_host *old = cw_strmap_get(previous, key, strlen(key));
    if (old && old->health) {
        /* Taken once: two endpoints at one address each keep a record of their own. */
        cw_strmap_set(previous, key, strlen(key), NULL);
        atomic_fetch_add(&old->health->refs, 1);
        return old->health;
    }
    struct cw_host_health *hh = cw_xcalloc(1, sizeof(*hh));
    atomic_init(&hh->refs, 1);
    hh->counters = aligned_alloc(64, cw_stats_slots() * sizeof(*hh->counters));
    if (!hh->counters) {
        fputs("causeway: out of memory\n", stderr);
        abort();
    }
    memset(hh->counters, 0, cw_stats_slots() * sizeof(*hh->counters));
    return hh;
}

void cw_host_health_unref(struct cw_host_health *hh)
{
    if (hh && atomic_fetch_sub(&hh->refs, 1) == 1) {
        free(hh->counters);
        free(hh);
    }
}

static void build_cluster(struct cw_upstream_cluster *uc, const struct cw_cluster *c,
                          struct cw_strmap *previous, const struct cw_name_lookup *names,
                          struct cw_diags *diags)
{
    uc->cluster = c;
    uc->index = c->index;
    uc->outlier = c->outlier ? &c->outlier->config : NULL;
    uint32_t cap = 0;
    for (uint32_t e = 0; e < c->endpoints.n; e++)
        cap += c->endpoints.v[e].is_hostname ? MAX_ADDRESSES_PER_NAME : 1;
    uc->hosts = cw_xcalloc(cap ? cap : 1, sizeof(*uc->hosts));
    if (c->distribute)
        uc->localities = cw_xcalloc(cap ? cap : 1, sizeof(*uc->localities));
    bool unresolved = false;
    for (uint32_t e = 0; e < c->endpoints.n; e++) {
        const struct cw_endpoint *ep = &c->endpoints.v[e];
        /* Istio drops the endpoints of localities a distribute mapping does not name: they
         * get no traffic and do not count for the ejection cap. */
        if (c->distribute && ep->locality_weight == 0)
            continue;
        uint32_t first = uc->n_hosts;
        uc->n_hosts += add_endpoint_hosts(uc, ep, cap - uc->n_hosts, names, &unresolved, diags);
        for (uint32_t h = first; c->distribute && h < uc->n_hosts; h++)
            join_locality_group(uc, &uc->hosts[h], ep->locality_weight);
    }
    for (uint32_t i = 0; i < uc->n_hosts; i++) {
        struct cw_host *h = &uc->hosts[i];
        h->health = health_for(previous, c->name, h);
        /* Without outlier detection nothing is ejected, whatever an earlier build decided. */
        if (!uc->outlier)
            atomic_store(&h->health->ejected, false);
    }
    uc->unresolved = unresolved && uc->n_hosts == 0;
    index_hosts(uc);
}

int cw_upstreams_build(struct cw_upstreams *u, const struct cw_snapshot *snap,
                       struct cw_upstreams *previous, const struct cw_name_lookup *names,
                       struct cw_diags *diags)
{
    struct cw_strmap old;
    cw_strmap_init(&old);
    char **keys;
    uint32_t n_keys;
    index_previous(&old, &keys, &n_keys, previous);
    u->n = snap->clusters.n;
    u->clusters = cw_xcalloc(u->n ? u->n : 1, sizeof(*u->clusters));
    u->queue = previous ? previous->queue : NULL;
    for (uint32_t i = 0; i < u->n; i++)
        build_cluster(&u->clusters[i], snap->clusters.v[i], &old, names, diags);
    cw_strmap_deinit(&old);
    for (uint32_t i = 0; i < n_keys; i++)
        free(keys[i]);
    free(keys);
    return 0;
}

void cw_upstreams_free(struct cw_upstreams *u)
{
    for (uint32_t i = 0; i < u->n; i++) {
        struct cw_upstream_cluster *uc = &u->clusters[i];
        for (uint32_t h = 0; h < uc->n_hosts; h++) {
            cw_host_health_unref(uc->hosts[h].health);
            free(uc->hosts[h].locality);
            cw_tls_session_slot_free(uc->hosts[h].tls_session);
        }
        free(uc->hosts);
        free(uc->priorities);
        free(uc->available);
        free(uc->localities);
        free(uc->locality_available);
    }
    free(u->clusters);
    u->clusters = NULL;
    u->n = 0;
}
