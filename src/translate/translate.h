/*
 * Translation: a pure function from loaded resources to a snapshot plus one status per resource
 * (spec §8.3-§9). No I/O, no globals; the same inputs always give the same output.
 *
 * Thread: any (the control thread in the gateway). The result borrows strings and structs from
 * the cw_config it was built from: keep the config alive until cw_translation_deinit.
 */
#ifndef CW_TRANSLATE_H
#define CW_TRANSLATE_H

#include <stdint.h>

#include "config/config.h"
#include "snapshot/snapshot_types.h"
#include "util/arena.h"
#include "util/diag.h"

/* Approval states with Gloo's proto numbering (spec §9). */
enum cw_approval {
    CW_APPROVAL_PENDING = 0,
    CW_APPROVAL_ACCEPTED = 1,
    CW_APPROVAL_INVALID = 2,
    CW_APPROVAL_WARNING = 3,
    CW_APPROVAL_FAILED = 4,
};

/* A named number in a status block, e.g. numSelectedExternalEndpoints. A name with a '/' is an
 * entry of a map: "numAppliedDestinationPolicies/OutlierDetectionPolicy". */
struct cw_status_counter {
    const char *name;
    uint64_t value;
};

#define CW_STATUS_MAX_COUNTERS 8

struct cw_status {
    enum cw_approval approval;
    const char *message;   /* every reason, "; "-separated, most severe first; NULL if none */
    const char *workspace; /* ownedByWorkspace; NULL when the object belongs to none */
    int64_t observed_generation;
    uint32_t n_counters;
    struct cw_status_counter counters[CW_STATUS_MAX_COUNTERS];
};

/* Who this gateway instance is (DESIGN.md "The gateway's identity"). */
struct cw_gateway_identity {
    const char *name;            /* matched by VirtualGateway workloads selector.name */
    const char *ns;              /* --namespace */
    const char *cluster;         /* --cluster; NULL ⇒ every workloadClusters entry applies */
    cw_labels_t labels;          /* --labels */
    struct cw_locality locality; /* --locality; region "" ⇒ no locality prioritisation */
    const char *secrets_dir;     /* --secrets-dir: Secrets as mounted files, or NULL */
};

struct cw_translation {
    struct cw_arena arena;      /* owns statuses and the snapshot */
    struct cw_status *statuses; /* indexed by cw_object.id, in config load order */
    uint32_t n_statuses;
    struct cw_snapshot *snapshot; /* what this gateway serves */
    uint32_t invalid;             /* number of INVALID statuses */
    uint32_t warnings;            /* number of WARNING statuses */
};

/*
 * Translates <cfg> for the gateway <gw>. Assigns cw_object.id in <cfg> (the only write to it).
 * Notes for the user that are not statuses (implicit workspace, skipped kinds) go to <diags>.
 * Returns 0; <out> must be released with cw_translation_deinit.
 */
int cw_translate(struct cw_config *cfg, const struct cw_gateway_identity *gw,
                 struct cw_translation *out, struct cw_diags *diags);

void cw_translation_deinit(struct cw_translation *t);

/* "ACCEPTED", "INVALID", ... */
const char *cw_approval_name(enum cw_approval a);

#endif
