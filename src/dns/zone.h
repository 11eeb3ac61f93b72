/*
 * The hostnames this gateway answers for (the responder's zone), taken from a snapshot: the
 * hosts of RouteTables bound to its listeners, the hostnames of the ExternalServices its TCP
 * (and TLS pass-through) routes forward to, and the hosts its listeners expose through
 * exposedExternalServices. "*.suffix" answers every name below suffix; a bare "*" answers
 * nothing (it would claim every name in the world). Control thread.
 */
#ifndef CW_DNS_ZONE_H
#define CW_DNS_ZONE_H

#include <stdbool.h>

#include "snapshot/snapshot_types.h"
#include "util/strmap.h"

struct cw_dns_zone {
    struct cw_strmap exact; /* lowercase name → itself (owned, in <names>) */
    char **names;           /* every owned string: exact names and wildcard suffixes */
    unsigned n_names, cap_names;
    char **suffixes; /* ".suffix" of each "*.suffix" (borrowed from <names>) */
    unsigned n_suffixes;
};

/* Builds the zone of <snap>; it copies what it keeps, so the snapshot may go first. */
void cw_dns_zone_build(struct cw_dns_zone *z, const struct cw_snapshot *snap);
void cw_dns_zone_free(struct cw_dns_zone *z);

/* Whether <name> (lowercase, no final dot) is one of the zone's. */
bool cw_dns_zone_owns(const struct cw_dns_zone *z, const char *name);

#endif
