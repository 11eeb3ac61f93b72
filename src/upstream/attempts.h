/*
 * The attempts of one request or TCP connection at a cluster: which host comes next (never one
 * tried already), how many tries were made, and how each went (reported to outlier detection).
 * HTTP exchanges and TCP tunnels use the same helper, so the pick-and-retry rules are written
 * once. Worker threads; the struct lives in its owner.
 */
#ifndef CW_UPSTREAM_ATTEMPTS_H
#define CW_UPSTREAM_ATTEMPTS_H

#include "upstream/upstream.h"

struct cw_attempts {
    struct cw_upstreams *ups;
    const struct cw_upstream_cluster *uc;
    struct cw_pick_cursor *cursor; /* the worker's for this cluster */
    const struct cw_host *host;    /* the host of the current (last) attempt, or NULL */
    uint32_t tried[CW_MAX_ATTEMPTS];
    uint32_t n_tried;
};

void cw_attempts_init(struct cw_attempts *a, struct cw_upstreams *ups,
                      const struct cw_upstream_cluster *uc, struct cw_pick_cursor *cursor);

/* Chooses the host of the next attempt (cw_lb_pick, skipping the hosts tried): it becomes
 * a->host. NULL, leaving a->host as it was, when no host is left or the attempts are used up. */
const struct cw_host *cw_attempts_next(struct cw_attempts *a);

/* Reports how the current attempt's host did: an HTTP status, or CW_LOCAL_FAILURE with its
 * <cause>. Nothing without a current host. */
void cw_attempts_report(const struct cw_attempts *a, int status, const char *cause);

/* The request or connection is over: its hosts no longer count it in flight (once, on the
 * worker that made the attempts). */
void cw_attempts_finish(const struct cw_attempts *a);

/* Attempts after the first, for the access log. */
static inline uint32_t cw_attempts_retries(const struct cw_attempts *a)
{
    return a->n_tried > 1 ? a->n_tried - 1 : 0;
}

#endif
