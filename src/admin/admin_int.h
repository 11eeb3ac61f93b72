/* Internals shared by the files of src/admin/ (private). */
#ifndef CW_ADMIN_INT_H
#define CW_ADMIN_INT_H

#include <stdio.h>

#include "admin/admin.h"
#include "upstream/upstream.h"

/* What a handler answers: <out> gets the body; it sets status and type when not 200/JSON. */
struct cw_admin_reply {
    FILE *out;
    int status;
    const char *content_type;
    uv_loop_t *loop;
};

typedef void (*cw_admin_handler)(const struct cw_admin_source *src, struct cw_admin_reply *r);

void cw_admin_metrics(const struct cw_admin_source *src, struct cw_admin_reply *r);  /* metrics.c */
void cw_admin_clusters(const struct cw_admin_source *src, struct cw_admin_reply *r); /* clusters.c */
void cw_admin_page(const struct cw_admin_source *src, struct cw_admin_reply *r);     /* page.c */
void cw_admin_config_dump(const struct cw_admin_source *src, struct cw_admin_reply *r);
void cw_admin_status(const struct cw_admin_source *src, struct cw_admin_reply *r); /* config_dump.c */

/* One endpoint as the views show it (clusters.c), summed over the threads' counters. */
struct cw_endpoint_view {
    const struct cw_host *host;
    bool ejected;
    const char *ejection_reason; /* of the current or last ejection, or NULL */
    uint32_t ejections, returns, refusals;
    uint64_t return_in_ms; /* ejected: how long until it returns */
    uint64_t attempts, in_flight;
    uint64_t failures[CW_FAILURE_KINDS];
};

void cw_admin_endpoint_view(const struct cw_host *h, uint64_t now_ms, struct cw_endpoint_view *v);

/* The label value of a failure kind and of an ejection reason. */
extern const char *const cw_failure_kind_names[CW_FAILURE_KINDS];
extern const char *const cw_ejection_reason_names[CW_EJECT_REASONS];

/* The load share of every priority of <uc> (percent, cw_priority_loads) into <load>. */
void cw_admin_priority_loads(const struct cw_upstream_cluster *uc, uint32_t *load);

#endif
