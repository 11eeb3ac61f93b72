/*
 * The names a snapshot's endpoints need resolved (hostname ExternalEndpoints, and the hosts of
 * ExternalServices without endpoints, spec §1.4), and which of them have no address. Control
 * thread (and `validate`).
 */
#ifndef CW_DNS_ENDPOINT_NAMES_H
#define CW_DNS_ENDPOINT_NAMES_H

#include <stdint.h>

#include "config/config_types.h"
#include "dns/resolver.h"
#include "snapshot/snapshot_types.h"

/* Every distinct hostname of <snap>'s endpoints, in order of first use, into a malloc'd array
 * (the strings are the snapshot's) that the caller frees. Returns how many. */
uint32_t cw_dns_endpoint_names(const struct cw_snapshot *snap, const char ***out);

/* Called for a name without an address, with why ("NXDOMAIN", "timeout", "not resolved
 * yet"); with <reason> NULL, <name> is a summary ("9997 more names do not resolve"). */
typedef void cw_dns_unresolved_fn(void *data, const struct cw_external_service *es,
                                  const char *name, const char *reason);

/* Calls <fn> once per (ExternalService, name) of <snap> whose name has no address in <r>; past
 * three names a service gets one summary call instead of a call per name. */
void cw_dns_each_unresolved(const struct cw_snapshot *snap, const struct cw_dns_resolver *r,
                            cw_dns_unresolved_fn *fn, void *data);

#endif
