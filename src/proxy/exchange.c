/*
 * One request forwarded and its response brought back (exchange.h): host choice, retries, the
 * upstream's deadlines and outlier reports. The client side is reached only through the
 * callbacks of struct cw_exchange_events; the upstream only through h1_client.h.
 */
#include "proxy/exchange.h"

#include <time.h>

#include "event/event_types.h"
#include "proxy/proxy.h"

static void on_up_connect(void *data);
static void on_up_written(void *data);
static void on_up_head(void *data, int status);
static void on_up_body(void *data, const char *p, size_t n, bool done);
static void on_up_error(void *data, const char *why, enum cw_h1_failure failure);

static const struct cw_h1_events up_events = {
    .on_connect = on_up_connect,
    .on_written = on_up_written,
    .on_head = on_up_head,
    .on_body = on_up_body,
    .on_error = on_up_error,
};

/* ---- failing, from the loop ---- */

static void on_failure_due(struct cw_timer *t)
{
    struct cw_exchange *ex = t->data;
    ex->failing = false;
    ex->ev->on_failed(ex->data, ex->status, ex->reason);
}

/* No response will come: the client is answered <status> from the loop. The exchange's timer
 * carries it (due at once), so that cw_exchange_end can still call it off. */
static void fail_later(struct cw_exchange *ex, int status, const char *why)
{
    ex->status = status;
    ex->reason = why;
    ex->failing = true;
    cw_timer_start(ex->env->io, &ex->timer, 0, on_failure_due);
}

static void drop_upstream(struct cw_exchange *ex)
{
    cw_h1_release(ex->up, false); /* nothing to do without one */
    ex->up = NULL;
}

/* ---- deadlines ---- */

static void on_connect_timeout(struct cw_timer *t);

static void on_response_timeout(struct cw_timer *t)
{
    struct cw_exchange *ex = t->data;
    drop_upstream(ex);
    cw_attempts_report(&ex->attempts, 504, "upstream timeout");
    fail_later(ex, 504, "upstream timeout");
}

/* The upstream's time to answer counts from the end of the request: while a body is on its
 * way, only a stall (the client connection's idle timeout) ends the exchange. */
static void time_the_response(struct cw_exchange *ex)
{
    cw_timer_start(ex->env->io, &ex->timer, ex->env->timeouts->upstream_ms, on_response_timeout);
}

/* ---- attempts ---- */

/* Connects to <h> (or takes a pooled connection to it). */
/* Monotonic nanoseconds (the vDSO's clock: no system call), for the access log's µs times. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void try_host(struct cw_exchange *ex, const struct cw_host *h)
{
    ex->head_sent = false;
    ex->connect_us = ex->response_us = -1;
    ex->connect_start_ns = now_ns();
    cw_timer_start(ex->env->io, &ex->timer, ex->env->timeouts->connect_ms, on_connect_timeout);
    ex->up = cw_h1_acquire(ex->env->pools, ex->rq.ups, ex->uc->index,
                           (uint32_t)(h - ex->uc->hosts), ex->stale_retried, ex->rq.head_only,
                           &up_events, ex);
}

/* Picks a host not tried yet and tries it; false when no host is left. */
static bool try_next_host(struct cw_exchange *ex)
{
    const struct cw_host *h = cw_attempts_next(&ex->attempts);
    if (h)
        try_host(ex, h);
    return h != NULL;
}

/*
 * The upstream failed before any response byte: retry elsewhere or answer 502. Retrying is
 * safe when no byte of the request body is gone: a failed connect, or a pooled connection the
 * upstream had closed (retried once, on a fresh connection); and a bodiless idempotent request
 * that got no response may go to another host — once, so that a request that kills its
 * upstream cannot take several hosts down with it.
 */
static void upstream_failed(struct cw_exchange *ex, const char *why, bool before_sending)
{
    bool stale = ex->up && cw_h1_reused(ex->up) && !ex->stale_retried;
    ex->up = NULL; /* the h1 client closed it (on_error), or the caller dropped it */
    ex->reason = why;
    /* A pooled connection the upstream closed while idle says nothing about the host. */
    if (!stale)
        cw_attempts_report(&ex->attempts, CW_LOCAL_FAILURE, why);
    bool resend = !ex->rq.has_body && !before_sending &&
                  (stale || (ex->rq.idempotent && !ex->reset_retried));
    if ((before_sending || resend) && !ex->body_given) {
        if (stale && !before_sending) {
            /* The same host again, on a fresh connection: the host did nothing wrong. */
            ex->stale_retried = true;
            try_host(ex, ex->attempts.host);
            return;
        }
        if (!before_sending)
            ex->reset_retried = true;
        if (try_next_host(ex))
            return;
    }
    fail_later(ex, 502, why);
}

static void on_connect_timeout(struct cw_timer *t)
{
    struct cw_exchange *ex = t->data;
    drop_upstream(ex);
    upstream_failed(ex, "connect timeout", true);
}

/* ---- upstream events ---- */

static void on_up_connect(void *data)
{
    struct cw_exchange *ex = data;
    if (ex->rq.has_body)
        cw_timer_stop(ex->env->io, &ex->timer);
    else
        time_the_response(ex);
    ex->head_sent = true;
    ex->sent_ns = now_ns();
    ex->connect_us =
        cw_h1_reused(ex->up) ? 0 : (int64_t)((ex->sent_ns - ex->connect_start_ns) / 1000);
    ex->up_tls = cw_h1_tls_handshake(ex->up);
    cw_h1_write(ex->up, ex->rq.head, ex->rq.head_len);
}

static void on_up_written(void *data)
{
    struct cw_exchange *ex = data;
    if (ex->req_done && ex->rq.has_body && !ex->resp_started) /* the body's last byte is out */
        time_the_response(ex);
    if (!ex->req_done)
        ex->ev->on_sent(ex->data);
}

static void on_up_head(void *data, int status)
{
    struct cw_exchange *ex = data;
    if (status >= 200 || status == 101) {
        ex->response_us = (int64_t)((now_ns() - ex->sent_ns) / 1000);
        cw_attempts_report(&ex->attempts, status, NULL);
        ex->status = status;
        ex->resp_started = true;
        ex->reason = NULL;
        cw_timer_stop(ex->env->io, &ex->timer);
    }
    ex->ev->on_head(ex->data, status);
}

static void on_up_body(void *data, const char *p, size_t n, bool done)
{
    struct cw_exchange *ex = data;
    ex->ev->on_body(ex->data, p, n, done);
}

static void on_up_error(void *data, const char *why, enum cw_h1_failure failure)
{
    struct cw_exchange *ex = data;
    if (failure == CW_H1_LOCAL) {
        /* Not the endpoint's doing: nothing is reported against it, and another host would
         * meet the same shortage. */
        ex->up = NULL;
        fail_later(ex, 503, why);
        return;
    }
    if (failure == CW_H1_MID_RESPONSE || ex->resp_started) {
        ex->up = NULL;
        cw_timer_stop(ex->env->io, &ex->timer);
        ex->reason = why;
        ex->ev->on_broken(ex->data, why);
        return;
    }
    upstream_failed(ex, why, !ex->head_sent);
}

/* ---- the client side's calls ---- */

void cw_exchange_start(struct cw_exchange *ex, const struct cw_exchange_env *env,
                       const struct cw_exchange_request *rq, const struct cw_exchange_events *ev,
                       void *data)
{
    *ex = (struct cw_exchange){
        .env = env, .ev = ev, .data = data, .rq = *rq, .connect_us = -1, .response_us = -1};
    ex->timer.data = ex;
    ex->uc = &rq->ups->clusters[rq->cluster->index];
    ex->req_done = !rq->has_body;
    cw_attempts_init(&ex->attempts, rq->ups, ex->uc, rq->cursor);
    if (ex->uc->unresolved)
        fail_later(ex, 503, CW_NAME_NOT_RESOLVED);
    else if (rq->cluster->unroutable || ex->uc->n_hosts == 0 || !try_next_host(ex))
        fail_later(ex, 503, "no healthy upstream");
}

void cw_exchange_send_body(struct cw_exchange *ex, const char *p, size_t n, bool last)
{
    ex->body_given = ex->body_given || n > 0;
    ex->req_done = last;
    cw_h1_write(ex->up, p, n);
}

void cw_exchange_consumed(struct cw_exchange *ex)
{
    if (ex->up)
        cw_h1_consumed(ex->up);
}

void cw_exchange_pause(struct cw_exchange *ex)
{
    if (ex->up)
        cw_h1_pause(ex->up);
}

void cw_exchange_client_head(const struct cw_exchange *ex, struct cw_out *o, bool close)
{
    cw_h1_client_head(ex->up, o, close);
}

bool cw_exchange_needs_eof(const struct cw_exchange *ex)
{
    return ex->up && cw_h1_needs_eof(ex->up);
}

int cw_exchange_upgrade(struct cw_exchange *ex, struct cw_transport_handoff *h, char *rest,
                        size_t cap, size_t *rest_len)
{
    int rc = ex->up ? cw_h1_detach(ex->up, h, rest, cap, rest_len) : CW_EBADF;
    if (rc == 0)
        ex->up = NULL;
    return rc;
}

bool cw_exchange_stalled(struct cw_exchange *ex)
{
    if (cw_timer_armed(&ex->timer) || ex->failing)
        return true; /* connecting or awaiting the response: the exchange's own deadline */
    if (!ex->up || !cw_h1_sending(ex->up))
        return false;
    drop_upstream(ex);
    cw_attempts_report(&ex->attempts, 504, "upstream timeout");
    fail_later(ex, 504, "upstream timeout");
    return true;
}

void cw_exchange_end(struct cw_exchange *ex)
{
    cw_timer_stop(ex->env->io, &ex->timer); /* and with it a failure on its way */
    ex->failing = false;
    cw_h1_release(ex->up, ex->req_done);
    ex->up = NULL;
}
