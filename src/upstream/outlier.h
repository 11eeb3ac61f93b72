/*
 * Outlier detection (spec §5, peers.md §2.3–2.4): the arithmetic, kept pure so that unit tests
 * pin it, and the control-thread side that ejects and returns hosts.
 */
#ifndef CW_OUTLIER_H
#define CW_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "upstream/upstream.h"

/* ---- arithmetic (outlier_math.c) ---- */

/*
 * Whether one more host of a cluster of <total> may be ejected while <ejected> already are:
 * (ejected + 1) / total ≤ max_percent, computed over the whole cluster, and one host may always
 * go when none is out ("at least one endpoint can always be ejected").
 */
bool cw_outlier_cap_allows(uint32_t ejected, uint32_t total, uint32_t max_percent);

/* The longest ejection: max(300 s, base) (Istio raises Envoy's maximum to the base). */
uint64_t cw_outlier_max_ms(uint64_t base_ms);

/*
 * The multiplier after <healthy_ms> without ejection: one less per whole <interval_ms>, never
 * below 0. (Envoy decrements once per sweep; counting whole intervals gives the same result
 * without a sweep.)
 */
uint32_t cw_outlier_decayed(uint32_t multiplier, uint64_t healthy_ms, uint64_t interval_ms);

/* The multiplier for a new ejection: Envoy raises it while multiplier × base < max + base. */
uint32_t cw_outlier_bumped(uint32_t multiplier, uint64_t base_ms);

/* How long an ejection with <multiplier> lasts: min(base × multiplier, max). */
uint64_t cw_outlier_ejection_ms(uint32_t multiplier, uint64_t base_ms);

/* ---- ejection and return (ejection.c; control thread) ---- */

/*
 * Starts ejecting hosts of <u> on <loop>: hosts that reach a threshold (cw_host_report) are
 * ejected at once, subject to maxEjectionPercent, and return exactly when their time is up.
 * Every ejection, refused ejection and return is written as one line to <events> and kept in
 * <log> (either may be NULL).
 */
struct cw_event_log;
void cw_ejection_start(struct cw_upstreams *u, uv_loop_t *loop, FILE *events,
                       struct cw_event_log *log);

/*
 * Makes the control thread serve <next>, a build made with <current> as its previous: hosts are
 * found by their shared health records, ejections in progress keep their return times, and
 * requests still queued for hosts that left the configuration are dropped. Control thread.
 */
void cw_ejection_adopt(struct cw_upstreams *current, struct cw_upstreams *next);

/* Stops the timers and frees the queue; the loop must run once more to close the handles. */
void cw_ejection_stop(struct cw_upstreams *u);

/* Drops one reference to a health record (hosts.c). */
void cw_host_health_unref(struct cw_host_health *hh);

/*
 * Hands host <h> of cluster <uc> to the control thread (worker threads; takes a short lock, only
 * on the failure path). <threshold> names the counter that tripped, <cause> the last failure.
 */
void cw_ejection_request(struct cw_upstreams *u, const struct cw_upstream_cluster *uc, uint32_t h,
                         const char *threshold, uint32_t count, const char *cause);

#endif
