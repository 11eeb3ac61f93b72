/* The names section of `validate --plan` (private to cli/). */
#ifndef CW_CLI_DNS_PLAN_H
#define CW_CLI_DNS_PLAN_H

#include <stdio.h>

#include "dns/resolver.h"
#include "snapshot/snapshot_types.h"

/*
 * One line per endpoint name of <snap>: "dns NAME ADDR,ADDR ttl Ns expires TIME (in Ns)", or
 * "dns NAME does not resolve: REASON" / "not resolved yet", from what <r> learnt.
 */
void cw_print_dns_plan(FILE *out, const struct cw_snapshot *snap, const struct cw_dns_resolver *r);

#endif
