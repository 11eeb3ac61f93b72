/*
 * Ejection and return of hosts (spec §5), on the control thread. Workers hand over hosts that
 * reached a threshold through a small locked queue and an async wake-up; the control thread
 * applies maxEjectionPercent, marks the host ejected, lowers its priority's availability (the
 * loads of §7.3 follow at once) and arms one timer for the earliest return, so a host returns
 * exactly when its time is up rather than at the next sweep.
 */
#include <stdlib.h>
#include <string.h>

#include "upstream/outlier.h"
#include "util/event_log.h"
#include "util/vec.h"
#include "util/xalloc.h"

/* A host is named by its health record: it stays valid across reloads (reference counted). */
struct ejection_request {
    struct cw_host_health *health;
    const char *threshold;
    uint32_t count;
    const char *cause;
};

struct ejected_host {
    uint32_t cluster, host;
};

struct cw_ejection_queue {
    uv_mutex_t lock;
    CW_VEC(struct ejection_request) pending; /* under lock */
    uv_async_t wake;
    uv_timer_t return_timer;
    CW_VEC(struct ejected_host) ejected; /* control thread only */
    struct cw_upstreams *upstreams;
    FILE *events;
    struct cw_event_log *log; /* the same events, kept for the admin API; may be NULL */
    int open_handles; /* wake and return_timer until their close completes; the last frees q */
};

void cw_ejection_request(struct cw_upstreams *u, const struct cw_upstream_cluster *uc, uint32_t h,
                         const char *threshold, uint32_t count, const char *cause)
{
    struct cw_ejection_queue *q = u->queue;
    struct cw_host_health *hh = uc->hosts[h].health;
    if (!q || atomic_exchange(&hh->eject_pending, true))
        return; /* already on its way */
    atomic_fetch_add(&hh->refs, 1);
    uv_mutex_lock(&q->lock);
    CW_VEC_PUSH(&q->pending, ((struct ejection_request){hh, threshold, count, cause}));
    uv_mutex_unlock(&q->lock);
    uv_async_send(&q->wake);
}

/* ---- event lines ---- */

static void format_loads(const struct cw_upstream_cluster *uc, char *out, size_t size)
{
    uint32_t available[CW_MAX_PRIORITIES], total[CW_MAX_PRIORITIES], load[CW_MAX_PRIORITIES];
    for (uint32_t p = 0; p < uc->n_priorities; p++) {
        available[p] = atomic_load(&uc->available[p]);
        total[p] = uc->priorities[p].n;
    }
    cw_priority_loads(available, total, uc->n_priorities, load);
    size_t len = 0;
    out[0] = 0;
    for (uint32_t p = 0; p < uc->n_priorities && len < size; p++)
        len += (size_t)snprintf(out + len, size - len, "%s%u", p ? "/" : "", load[p]);
}

/* "event=<what> service=... endpoint=... locality=... priority=N" then <detail>, one line;
 * and the same as a structured event with <fields> (key, value, ..., NULL) for /events. */
static void event_line(struct cw_ejection_queue *q, const char *what,
                       const struct cw_upstream_cluster *uc, const struct cw_host *h,
                       const char *detail, const char *const *fields)
{
    char loads[128];
    format_loads(uc, loads, sizeof(loads));
    char priority[16];
    snprintf(priority, sizeof(priority), "%u", h->priority);
    const char *kv[24] = {"service", uc->cluster->name, "endpoint", h->text, "locality",
                          h->locality, "priority", priority, "priority_loads", loads};
    for (unsigned i = 10; fields && *fields && i < 22; i++)
        kv[i] = *fields++;
    cw_event_log_add(q->log, what, kv);
    if (!q->events)
        return;
    fprintf(q->events,
            "causeway: event=%s service=%s endpoint=%s locality=%s priority=%u %s "
            "priority_loads=%s\n",
            what, uc->cluster->name, h->text, h->locality, h->priority, detail, loads);
    fflush(q->events);
}

/* ---- ejecting ---- */

static void add(_Atomic uint32_t *counter, int delta)
{
    atomic_store(counter, (uint32_t)((int)atomic_load(counter) + delta));
}

/* The host's priority, and its locality under a distribute mapping, gain or lose a host. */
static void set_available(struct cw_upstream_cluster *uc, const struct cw_host *h, int delta)
{
    add(&uc->available[h->priority], delta);
    if (uc->n_localities)
        add(&uc->locality_available[h->locality_group], delta);
}

static void arm_return_timer(struct cw_ejection_queue *q, uint64_t now);

static void eject(struct cw_ejection_queue *q, const struct ejection_request *rq, uint64_t now)
{
    struct cw_host_health *hh = rq->health;
    atomic_store(&hh->consecutive_errors, 0); /* reset even when the cap refuses (Envoy) */
    atomic_store(&hh->consecutive_gateway_errors, 0);
    if (!hh->in_current || atomic_load(&hh->ejected))
        return; /* gone in a reload, or ejected already */
    struct cw_upstream_cluster *uc = &q->upstreams->clusters[hh->cluster];
    struct cw_host *h = &uc->hosts[hh->host];
    const struct cw_outlier_config *od = uc->outlier;
    if (!od)
        return; /* a reload removed outlier detection meanwhile */
    char detail[512];
    if (!cw_outlier_cap_allows(uc->n_ejected, uc->n_hosts, od->max_ejection_percent)) {
        snprintf(detail, sizeof(detail),
                 "reason=\"%u %s, last: %s\" refused=\"maxEjectionPercent %u: %u of %u "
                 "endpoints already ejected\"",
                 rq->count, rq->threshold, rq->cause, od->max_ejection_percent, uc->n_ejected,
                 uc->n_hosts);
        hh->refusals++;
        char reason[256], refused[128];
        snprintf(reason, sizeof(reason), "%u %s, last: %s", rq->count, rq->threshold, rq->cause);
        snprintf(refused, sizeof(refused), "maxEjectionPercent %u: %u of %u endpoints already ejected",
                 od->max_ejection_percent, uc->n_ejected, uc->n_hosts);
        event_line(q, "eject-refused", uc, h, detail,
                   (const char *[]){"reason", reason, "refused", refused, NULL});
        return;
    }
    uint32_t m = hh->returned_at_ms
                     ? cw_outlier_decayed(hh->multiplier, now - hh->returned_at_ms, od->interval_ms)
                     : hh->multiplier;
    hh->multiplier = cw_outlier_bumped(m, od->base_ejection_ms);
    uint64_t duration = cw_outlier_ejection_ms(hh->multiplier, od->base_ejection_ms);
    hh->ejections++;
    hh->last_reason = strstr(rq->threshold, "gateway") ? CW_EJECT_CONSECUTIVE_GATEWAY_ERRORS
                                                       : CW_EJECT_CONSECUTIVE_ERRORS;
    hh->ejected_for[hh->last_reason]++;
    hh->ejected_at_ms = now;
    hh->return_at_ms = now + duration;
    atomic_store(&hh->ejected, true);
    uc->n_ejected++;
    set_available(uc, h, -1);
    CW_VEC_PUSH(&q->ejected, ((struct ejected_host){hh->cluster, hh->host}));
    snprintf(detail, sizeof(detail),
             "reason=\"%u %s, last: %s\" ejection=%u multiplier=%u duration_ms=%llu", rq->count,
             rq->threshold, rq->cause, hh->ejections, hh->multiplier, (unsigned long long)duration);
    char reason[256], ejection[16], duration_ms[24];
    snprintf(reason, sizeof(reason), "%u %s, last: %s", rq->count, rq->threshold, rq->cause);
    snprintf(ejection, sizeof(ejection), "%u", hh->ejections);
    snprintf(duration_ms, sizeof(duration_ms), "%llu", (unsigned long long)duration);
    event_line(q, "eject", uc, h, detail,
               (const char *[]){"reason", reason, "ejection", ejection, "duration_ms", duration_ms,
                                NULL});
    arm_return_timer(q, now);
}

static void on_wake(uv_async_t *a)
{
    struct cw_ejection_queue *q = a->data;
    uv_mutex_lock(&q->lock);
    size_t n = q->pending.n;
    struct ejection_request *batch = cw_xmalloc((n ? n : 1) * sizeof(*batch));
    memcpy(batch, q->pending.v, n * sizeof(*batch));
    q->pending.n = 0;
    uv_mutex_unlock(&q->lock);
    uint64_t now = uv_now(a->loop);
    for (size_t i = 0; i < n; i++) {
        eject(q, &batch[i], now);
        /* Only now, ejected or not: until here workers kept away from the host. */
        atomic_store(&batch[i].health->eject_pending, false);
        cw_host_health_unref(batch[i].health);
    }
    free(batch);
}

/* ---- returning ---- */

static void return_host(struct cw_ejection_queue *q, const struct ejected_host *e, uint64_t now)
{
    struct cw_upstream_cluster *uc = &q->upstreams->clusters[e->cluster];
    struct cw_host *h = &uc->hosts[e->host];
    struct cw_host_health *hh = h->health;
    atomic_store(&hh->consecutive_errors, 0);
    atomic_store(&hh->consecutive_gateway_errors, 0);
    hh->returned_at_ms = now;
    uc->n_ejected--;
    set_available(uc, h, +1);
    atomic_store(&hh->ejected, false);
    hh->returns++;
    char detail[128];
    snprintf(detail, sizeof(detail), "ejection=%u ejected_ms=%llu", hh->ejections,
             (unsigned long long)(now - hh->ejected_at_ms));
    char ejection[16], ejected_ms[24];
    snprintf(ejection, sizeof(ejection), "%u", hh->ejections);
    snprintf(ejected_ms, sizeof(ejected_ms), "%llu", (unsigned long long)(now - hh->ejected_at_ms));
    event_line(q, "return", uc, h, detail,
               (const char *[]){"reason", "ejection time over", "ejection", ejection, "ejected_ms",
                                ejected_ms, NULL});
}

static void on_return_timer(uv_timer_t *t)
{
    struct cw_ejection_queue *q = t->data;
    uv_update_time(t->loop);
    uint64_t now = uv_now(t->loop);
    for (size_t i = 0; i < q->ejected.n;) {
        struct ejected_host e = q->ejected.v[i];
        const struct cw_host_health *hh = q->upstreams->clusters[e.cluster].hosts[e.host].health;
        if (hh->return_at_ms <= now) {
            q->ejected.v[i] = q->ejected.v[--q->ejected.n];
            return_host(q, &e, now);
        } else {
            i++;
        }
    }
    arm_return_timer(q, now);
}

static void arm_return_timer(struct cw_ejection_queue *q, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < q->ejected.n; i++) {
        const struct ejected_host *e = &q->ejected.v[i];
        uint64_t at = q->upstreams->clusters[e->cluster].hosts[e->host].health->return_at_ms;
        if (at < next)
            next = at;
    }
    if (next == UINT64_MAX)
        uv_timer_stop(&q->return_timer);
    else
        uv_timer_start(&q->return_timer, on_return_timer, next > now ? next - now : 0, 0);
}

/* ---- lifecycle ---- */

/* Points every health record of <u> at its place in <u> (or marks it gone). */
static void mark_current(struct cw_upstreams *u, bool current)
{
    for (uint32_t c = 0; c < u->n; c++)
        for (uint32_t i = 0; i < u->clusters[c].n_hosts; i++) {
            struct cw_host_health *hh = u->clusters[c].hosts[i].health;
            hh->in_current = current;
            hh->cluster = c;
            hh->host = i;
        }
}

/* The ejected hosts of the build being served, and the timer for the first to return. */
static void collect_ejected(struct cw_ejection_queue *q, uint64_t now)
{
    struct cw_upstreams *u = q->upstreams;
    q->ejected.n = 0;
    for (uint32_t c = 0; c < u->n; c++)
        for (uint32_t i = 0; i < u->clusters[c].n_hosts; i++)
            if (atomic_load(&u->clusters[c].hosts[i].health->ejected))
                CW_VEC_PUSH(&q->ejected, ((struct ejected_host){c, i}));
    arm_return_timer(q, now);
}

void cw_ejection_adopt(struct cw_upstreams *current, struct cw_upstreams *next)
{
    struct cw_ejection_queue *q = current->queue;
    mark_current(current, false);
    mark_current(next, true);
    next->queue = q;
    if (!q)
        return;
    q->upstreams = next;
    collect_ejected(q, uv_now(q->wake.loop));
}

void cw_ejection_start(struct cw_upstreams *u, uv_loop_t *loop, FILE *events,
                       struct cw_event_log *log)
{
    struct cw_ejection_queue *q = cw_xcalloc(1, sizeof(*q));
    uv_mutex_init(&q->lock);
    q->upstreams = u;
    q->events = events;
    q->log = log;
    uv_async_init(loop, &q->wake, on_wake);
    q->wake.data = q;
    uv_timer_init(loop, &q->return_timer);
    q->return_timer.data = q;
    u->queue = q;
    mark_current(u, true);
    collect_ejected(q, uv_now(loop));
}

/* libuv runs close callbacks in no promised order (today the last closed first): whichever
 * handle closes last frees q, and neither callback touches q after that. */
static void on_closed(uv_handle_t *handle)
{
    struct cw_ejection_queue *q = handle->data;
    if (--q->open_handles == 0) {
        for (size_t i = 0; i < q->pending.n; i++)
            cw_host_health_unref(q->pending.v[i].health);
        uv_mutex_destroy(&q->lock);
        CW_VEC_FREE(&q->pending);
        CW_VEC_FREE(&q->ejected);
        free(q);
    }
}

void cw_ejection_stop(struct cw_upstreams *u)
{
    struct cw_ejection_queue *q = u->queue;
    if (!q)
        return;
    u->queue = NULL;
    q->open_handles = 2;
    uv_close((uv_handle_t *)&q->wake, on_closed);
    uv_close((uv_handle_t *)&q->return_timer, on_closed);
}
