/*
 * Outcomes of attempts, counted per host for outlier detection (spec §5, peers.md §2.2): the
 * consecutive-error counters are shared by all workers, so they are atomics; a success writes
 * them only when they are not already zero, which keeps the healthy path free of shared writes.
 */
#include <string.h>

#include "upstream/outlier.h"

static bool is_gateway_error(int status)
{
    return status == 502 || status == 503 || status == 504;
}

static void reset_counters(struct cw_host_health *hh)
{
    if (atomic_load_explicit(&hh->consecutive_errors, memory_order_relaxed))
        atomic_store_explicit(&hh->consecutive_errors, 0, memory_order_relaxed);
    if (atomic_load_explicit(&hh->consecutive_gateway_errors, memory_order_relaxed))
        atomic_store_explicit(&hh->consecutive_gateway_errors, 0, memory_order_relaxed);
}

/* Counts one error on <counter>; true exactly when it reaches <threshold> (0 = disabled). */
static bool reaches(_Atomic uint32_t *counter, uint32_t threshold)
{
    uint32_t now = atomic_fetch_add_explicit(counter, 1, memory_order_relaxed) + 1;
    return threshold && now == threshold;
}

/* The cause named in an ejection event when the upstream answered with <status>. */
static const char *status_cause(int status)
{
    static const char *const names[] = {"HTTP 500", "HTTP 501", "HTTP 502",
                                        "HTTP 503", "HTTP 504", "HTTP 505"};
    return status >= 500 && status <= 505 ? names[status - 500] : "HTTP 5xx";
}

/* The kind of a local failure, from the cause the proxy gives it ("connect refused",
 * "connect timeout", "upstream TLS: ...", "upstream timeout", "upstream reset ..."). */
static enum cw_failure_kind failure_kind(int status, const char *cause)
{
    if (!cause)
        return CW_FAILURE_5XX;
    if (!strncmp(cause, "connect", 7))
        return CW_FAILURE_CONNECT;
    if (!strncmp(cause, "upstream TLS", 12))
        return CW_FAILURE_TLS;
    if (strstr(cause, "timeout"))
        return CW_FAILURE_TIMEOUT;
    return status == CW_LOCAL_FAILURE ? CW_FAILURE_RESET : CW_FAILURE_5XX;
}

void cw_host_report(struct cw_upstreams *u, const struct cw_upstream_cluster *uc, uint32_t h,
                    int status, const char *cause)
{
    if (status >= 500)
        cw_stat_add(&cw_host_counters(&uc->hosts[h])->failures[failure_kind(status, cause)], 1);
    const struct cw_outlier_config *od = uc->outlier;
    if (!od)
        return;
    struct cw_host_health *hh = uc->hosts[h].health;
    if (status < 500) {
        reset_counters(hh);
        return;
    }
    if (atomic_load_explicit(&hh->ejected, memory_order_relaxed))
        return; /* late outcomes of an ejected host (requests already in flight) */
    if (!cause)
        cause = status_cause(status);
    if (is_gateway_error(status)) {
        if (reaches(&hh->consecutive_gateway_errors, od->consecutive_gateway_errors))
            cw_ejection_request(u, uc, h, "consecutive gateway errors",
                                od->consecutive_gateway_errors, cause);
    } else if (atomic_load_explicit(&hh->consecutive_gateway_errors, memory_order_relaxed)) {
        atomic_store_explicit(&hh->consecutive_gateway_errors, 0, memory_order_relaxed);
    }
    if (reaches(&hh->consecutive_errors, od->consecutive_errors))
        cw_ejection_request(u, uc, h, "consecutive errors", od->consecutive_errors, cause);
}
