#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "upstream/upstream.h"
#include "util/xalloc.h"

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

/* Appends the addresses of endpoint <e> to <uc>; <cap> is the room left. */
static uint32_t resolve_endpoint(struct cw_upstream_cluster *uc, const struct cw_endpoint *e,
                                 uint32_t cap, struct cw_diags *diags)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (!e->is_hostname)
        hints.ai_flags = AI_NUMERICHOST;
    char port[8];
    snprintf(port, sizeof(port), "%u", e->port);
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(e->address, port, &hints, &res);
    if (rc != 0) {
        cw_diags_add(diags, CW_SEV_WARNING, NULL, 0, 0, uc->cluster->name, NULL,
                     "endpoint %s does not resolve: %s", e->address, gai_strerror(rc));
        return 0;
    }
    uint32_t n = 0;
    for (struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next) {
        struct cw_host *h = &uc->hosts[uc->n_hosts + n];
        memcpy(&h->addr, ai->ai_addr, ai->ai_addrlen);
        h->addr_len = ai->ai_addrlen;
        h->endpoint = e;
        format_host(h);
        n++;
    }
    freeaddrinfo(res);
    return n;
}

#define MAX_ADDRESSES_PER_NAME 16

int cw_upstreams_build(struct cw_upstreams *u, const struct cw_snapshot *snap,
                       struct cw_diags *diags)
{
    u->n = snap->clusters.n;
    u->clusters = cw_xcalloc(u->n ? u->n : 1, sizeof(*u->clusters));
    for (uint32_t i = 0; i < u->n; i++) {
        const struct cw_cluster *c = snap->clusters.v[i];
        struct cw_upstream_cluster *uc = &u->clusters[i];
        uc->cluster = c;
        uint32_t cap = 0;
        for (uint32_t e = 0; e < c->endpoints.n; e++)
            cap += c->endpoints.v[e].is_hostname ? MAX_ADDRESSES_PER_NAME : 1;
        uc->hosts = cw_xcalloc(cap ? cap : 1, sizeof(*uc->hosts));
        for (uint32_t e = 0; e < c->endpoints.n; e++)
            uc->n_hosts += resolve_endpoint(uc, &c->endpoints.v[e], cap - uc->n_hosts, diags);
    }
    return 0;
}

void cw_upstreams_free(struct cw_upstreams *u)
{
    for (uint32_t i = 0; i < u->n; i++)
        free(u->clusters[i].hosts);
    free(u->clusters);
    u->clusters = NULL;
    u->n = 0;
}
