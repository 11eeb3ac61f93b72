/*
 * `causeway validate --plan`: what this gateway would serve, and why — listeners, hosts, routes
 * with their weights, clusters with each endpoint's priority and locality. The same snapshot the
 * data plane reads, printed for people.
 */
#ifndef CW_CLI_PLAN_OUTPUT_H
#define CW_CLI_PLAN_OUTPUT_H

#include <stdio.h>

#include "snapshot/snapshot_types.h"

void cw_print_plan(FILE *out, const struct cw_snapshot *snap);

#endif
