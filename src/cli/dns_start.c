/*
 * Starting resolution and the responder (dns_start.h): what `run` and `validate` share.
 */
#include "cli/dns_start.h"

#include <stdlib.h>
#include <uv.h>

#include "dns/endpoint_names.h"

void cw_cli_dns_want(struct cw_dns_resolver *r, const struct cw_snapshot *snap)
{
    const char **names;
    uint32_t n = cw_dns_endpoint_names(snap, &names);
    cw_dns_resolver_want(r, names, n);
    free(names);
}

struct cw_dns_resolver *cw_cli_dns_resolve(const struct cw_dns_options *o,
                                           const struct cw_snapshot *snap, FILE *events,
                                           cw_dns_unresolved_fn *unresolved, void *data,
                                           const char *command)
{
    struct cw_dns_resolver *r;
    char why[512];
    struct cw_dns_resolver_config cfg = cw_dns_resolver_config_of(o, events);
    if (cw_dns_resolver_new(&r, uv_default_loop(), &cfg, why, sizeof(why)) != 0) {
        fprintf(stderr, "causeway %s: %s\n", command, why);
        return NULL;
    }
    cw_cli_dns_want(r, snap);
    cw_dns_resolver_settle(r, CW_DNS_FIRST_ANSWERS_MS);
    cw_dns_each_unresolved(snap, r, unresolved, data);
    return r;
}

int cw_cli_dns_responder_start(const struct cw_dns_options *o, const struct cw_snapshot *snap,
                               struct cw_dns_resolver *resolver, struct cw_dns_responder **out)
{
    *out = NULL;
    if (!o->listen)
        return 0;
    struct cw_dns_responder_config cfg = {.listen = o->listen,
                                          .advertised = o->advertised,
                                          .n_advertised = o->n_advertised,
                                          .ttl_s = o->answer_ttl_s,
                                          .forward_to = o->forward ? resolver : NULL};
    char why[512];
    if (cw_dns_responder_start(out, uv_default_loop(), &cfg, snap, why, sizeof(why)) != 0) {
        fprintf(stderr, "causeway run: %s\n", why);
        return -1;
    }
    fprintf(stderr, "causeway: DNS responder on %s (UDP and TCP)\n", o->listen);
    return 0;
}
