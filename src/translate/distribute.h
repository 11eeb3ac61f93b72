/*
 * Weighted locality mappings (spec §6, Istio's distribute), private to translate/: the checks
 * run with the other FailoverPolicy checks (policies.c), the weights with the priorities
 * (priority.c), which a distributing policy replaces.
 */
#ifndef CW_TRANSLATE_DISTRIBUTE_H
#define CW_TRANSLATE_DISTRIBUTE_H

#include "translate/translate_int.h"

/* Checks a FailoverPolicy's weighted mappings: not mixed with unweighted ones, no overlapping
 * localities (INVALID otherwise); notes when none applies to this gateway. */
void tr_check_distribute(struct tr *t, const struct cw_failover_policy *fp);

/* For a cluster whose failover policy distributes: the mapping that applies to this gateway
 * (cw_cluster.distribute) and the locality weight of every endpoint. */
void tr_distribute(struct tr *t, struct cw_cluster *c);

#endif
