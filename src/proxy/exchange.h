/*
 * An exchange: one request forwarded to a cluster and its response brought back. It is the
 * only code that knows both sides: it takes the request (its head, then body bytes) from the
 * client connection, chooses the host (attempts.h), drives an HTTP/1.1 upstream client
 * (h1_client.h), retries where that is safe, times the upstream (connect and response
 * deadlines), reports every outcome to outlier detection, and hands the response back.
 *
 * Calls go down (connection → exchange → h1 client); what happens comes back up through the
 * callbacks of struct cw_exchange_events, each delivered from the loop, never inside the call
 * that caused it. The struct lives wherever its owner wants it (the client connection keeps it
 * in the request's work block). One thread: the worker's.
 */
#ifndef CW_PROXY_EXCHANGE_H
#define CW_PROXY_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/loop.h"
#include "http/head.h"
#include "proxy/h1_client.h"
#include "proxy/proxy.h"
#include "snapshot/snapshot_types.h"
#include "upstream/attempts.h"

struct cw_exchange_events {
    /* The request head, or the body bytes given last, went out: more body bytes may be given. */
    void (*on_sent)(void *data);
    /* The response head arrived (interim 1xx ones too): the client's copy is written with
     * cw_exchange_client_head during this call. */
    void (*on_head)(void *data, int status);
    /* Response body bytes [p, p + n), <done> at the end; nothing more comes until
     * cw_exchange_consumed. */
    void (*on_body)(void *data, const char *p, size_t n, bool done);
    /* No response came and none will: answer the client <status> (502, 503 or 504) with the
     * reason <why>. The upstream is released. */
    void (*on_failed)(void *data, int status, const char *why);
    /* The upstream broke after the response began: the client connection must close. */
    void (*on_broken)(void *data, const char *why);
};

/* What an exchange needs of its worker. */
struct cw_exchange_env {
    struct cw_io_loop *io;
    struct cw_h1_pools *pools;
    const struct cw_timeouts *timeouts;
};

struct cw_exchange_request {
    struct cw_upstreams *ups; /* of the generation the request is served on */
    const struct cw_cluster *cluster;
    struct cw_pick_cursor *cursor;
    const char *head; /* the request head to send, kept in place until the exchange ends */
    size_t head_len;
    bool has_body;   /* body bytes follow (cw_exchange_send_body) */
    bool head_only;  /* a HEAD request: the response has no body */
    bool idempotent; /* RFC 9110 §9.2.2: may be sent again to another host */
};

struct cw_exchange {
    const struct cw_exchange_env *env;
    const struct cw_exchange_events *ev;
    void *data;
    struct cw_exchange_request rq;
    const struct cw_upstream_cluster *uc;
    struct cw_attempts attempts;
    struct cw_h1_conn *up;
    struct cw_timer timer; /* connect, then response deadline; or a failure on its way */
    const char *reason; /* why the last attempt failed, for the access log */
    const char *up_tls; /* the upstream connection's TLS handshake: "full", "resumed", NULL */
    int status;         /* of the response, or of the local answer on failure */
    /* The last attempt's times, for the access log, in µs: its connect (0 for a pooled
     * connection) and from the request head going out to the response head; -1 when none. */
    int64_t connect_us, response_us;
    uint64_t connect_start_ns, sent_ns;
    bool head_sent;     /* the request head is on its way: body bytes may follow */
    bool body_given;    /* some request body bytes went upstream: no retry any more */
    bool req_done;      /* the last request body byte was given */
    bool resp_started;  /* a final response head arrived */
    bool stale_retried, reset_retried;
    bool failing; /* on_failed is on its way (the timer carries it) */
};

/* Starts forwarding <rq>; on_sent (head out), on_head... or on_failed follow. */
void cw_exchange_start(struct cw_exchange *ex, const struct cw_exchange_env *env,
                       const struct cw_exchange_request *rq, const struct cw_exchange_events *ev,
                       void *data);

/* Sends request body bytes [p, p + n) (in place until on_sent); <last> ends the body. Only
 * after on_sent, one piece at a time. */
void cw_exchange_send_body(struct cw_exchange *ex, const char *p, size_t n, bool last);

/* The bytes of the last on_body were written to the client: the response goes on. */
void cw_exchange_consumed(struct cw_exchange *ex);

/* The client is slow: stop reading the upstream until cw_exchange_consumed. */
void cw_exchange_pause(struct cw_exchange *ex);

/* The client's copy of the response head; during on_head only. */
void cw_exchange_client_head(const struct cw_exchange *ex, struct cw_out *o, bool close);

/* The response body ends when the upstream closes (the client connection must close too). */
bool cw_exchange_needs_eof(const struct cw_exchange *ex);

/*
 * The upstream switched protocols (101, during on_head): its connection, now the caller's in
 * <h>, and the bytes that followed the head (see cw_h1_detach). The exchange only ends after
 * this. 0 or a negative error.
 */
int cw_exchange_upgrade(struct cw_exchange *ex, struct cw_transport_handoff *h, char *rest,
                        size_t cap, size_t *rest_len);

/*
 * Nothing moved for the client connection's idle timeout while the request body was on its
 * way. True when the upstream held it up (bytes wait for it to take them, or its own deadline
 * runs): the exchange then fails (504, counted against the host, on_failed follows) or keeps
 * timing. False when the client stopped sending: the upstream is not blamed, and the caller
 * answers it (408) after cw_exchange_end.
 */
bool cw_exchange_stalled(struct cw_exchange *ex);

/* The exchange is over (the response written, or the client gone): the upstream goes back to
 * its pool when it can carry another request, else it is closed. No callback comes after. */
void cw_exchange_end(struct cw_exchange *ex);

/* For the access log: the host of the last attempt (NULL if none) and the retries made. */
static inline const struct cw_host *cw_exchange_host(const struct cw_exchange *ex)
{
    return ex->attempts.host;
}

static inline uint32_t cw_exchange_retries(const struct cw_exchange *ex)
{
    return cw_attempts_retries(&ex->attempts);
}

#endif
