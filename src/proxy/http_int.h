/* HTTP/1.1 proxying internals shared by http_conn.c and http_upstream.c (private). */
#ifndef CW_PROXY_HTTP_INT_H
#define CW_PROXY_HTTP_INT_H

#include <llhttp.h>
#include <netinet/in.h>

#include "http/head.h"
#include "proxy/proxy_int.h"
#include "event/sock.h"

/* Per connection and direction; also the largest request or response head accepted. */
#define CW_HTTP_BUFFER (32 * 1024)

struct up_conn;

enum http_state {
    HTTP_READING_HEAD = 0, /* waiting for (the rest of) a request head */
    HTTP_FORWARDING,       /* request going upstream, response coming back */
    HTTP_REPLYING,         /* a local reply is being written */
    HTTP_LINGERING,        /* answered and half-closed: the rest of a request body is dropped */
};

/* What the timer of a client connection is waiting for. */
enum http_deadline {
    DEADLINE_IDLE = 0,
    DEADLINE_HEADERS,
    DEADLINE_CONNECT,
    DEADLINE_RESPONSE,
    DEADLINE_LINGER,
};

/* One request/response exchange; a connection has at most one at a time, so pipelined requests
 * are answered in order. */
struct exchange {
    const struct cw_route *route;
    const struct cw_cluster *cluster;
    const struct cw_upstream_cluster *uc;
    struct up_conn *up;
    const struct cw_host *host; /* the last host tried, named in the access log */
    uint32_t tried[CW_MAX_ATTEMPTS];
    uint32_t n_tried;
    bool stale_retried;
    bool reset_retried;     /* an idempotent request is sent again after a reset only once */
    struct cw_out head_out; /* the request head sent upstream */
    bool head_only;         /* HEAD request: the response has no body */
    bool idempotent;        /* GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2) */
    bool head_sent;         /* the request head is on its way upstream: body bytes may follow */
    bool req_has_body, req_done, resp_started;
    int status;
    const char *reason;
    char *log_text; /* "METHOD\0path\0host\0" copied for the access log */
    uint64_t start_ms, bytes_in, bytes_out;
    uint64_t body_in; /* request body bytes forwarded so far (with chunk framing) */
};

struct http_conn {
    struct cw_conn_link link; /* first: the worker's list holds &link */
    struct cw_worker *w;
    struct cw_generation *gen; /* referenced; moves to the worker's newest between requests */
    const struct cw_snapshot_listener *listener;  /* of <gen> */
    const struct cw_worker_listener *accepted_on; /* its listener follows reloads */
    struct cw_sock sock;
    struct cw_timer timer;
    enum http_deadline deadline;
    uint64_t deadline_start;
    uint64_t last_activity; /* last byte moved either way, for the idle deadline */
    uint64_t deadline_at;   /* when the current deadline expires (loop milliseconds) */
    uint64_t linger_until;  /* HTTP_LINGERING ends by then at the latest */
    llhttp_t parser;
    struct cw_http_head head;
    char *buf;
    size_t len, parsed;
    char client_ip[48];
    enum http_state state;
    struct exchange ex;
    struct cw_sock_write write_req;
    bool response_done;      /* the pending response write is the last of the exchange */
    struct cw_out resp_head; /* the response head, sent together with the first body bytes */
    bool head_pending;
    struct cw_out reply; /* a local reply being written */
    bool closing, writing, keep_alive, reading;
};

/* ---- http_conn.c: the client connection ---- */

void cw_http_close(struct http_conn *c);

/*
 * After the last answer (the exchange has ended): half-closes once the queued writes are out,
 * then closes. When the client may still be sending a request body that was not read
 * (<body_unread>), the connection lingers first: closing with unread bytes would make the
 * kernel send a reset, which can destroy the answer before the client reads it (a 413 would
 * reach the client as "connection reset"). What comes is read and dropped until the client
 * closes, stays quiet for LINGER_QUIET_MS, or LINGER_MAX_MS have passed.
 */
void cw_http_end_connection(struct http_conn *c, bool body_unread);
#define LINGER_QUIET_MS 1000
#define LINGER_MAX_MS   30000
void cw_http_set_deadline(struct http_conn *c, enum http_deadline d);

/* Answers the current request locally with <status> and a one-line reason (<text>: <body> is a
 * reason that gets a newline) and optional extra header lines. */
void cw_http_local_reply(struct http_conn *c, int status, const char *body, bool text,
                         const char *extra);

/* Logs the exchange and releases its upstream (to the pool when <upstream_reusable>). */
void cw_http_end_exchange(struct http_conn *c, bool upstream_reusable);

/* Parses or forwards what the client buffer holds, as the state asks. */
void cw_http_process(struct http_conn *c);
void cw_http_start_reading(struct http_conn *c);
void cw_http_stop_reading(struct http_conn *c);
void cw_http_compact(struct http_conn *c);

/* ---- http_forward.c ---- */

/* Forwards the parsed request to <cl> (route <r>, matched by matcher index <matcher>; NULL for
 * an exposed service). */
struct cw_route_request;
void cw_http_forward(struct http_conn *c, const struct cw_route *r, int matcher,
                     const struct cw_route_request *req, struct cw_cluster *cl);

/* Sends the request body bytes the client buffer holds. */
void cw_http_forward_body(struct http_conn *c);

/* ---- http_forward.c, for the upstream side ---- */

/* The upstream is connected (or a pooled one is reused): send the request. */
void cw_http_send_request(struct http_conn *c);

/* The upstream failed before any response byte: retry elsewhere or answer 502/503. */
void cw_http_upstream_failed(struct http_conn *c, const char *why, bool before_sending);

/* Tells outlier detection how the current attempt's host did (status, or a local failure). */
void cw_http_report(struct http_conn *c, int status, const char *cause);

/* Response bytes [p, p+n) are ready for the client; <done> marks the end of the response. */
void cw_http_response_data(struct http_conn *c, const char *p, size_t n, bool done);

/* The response head arrived: write it (and what follows) to the client. */
void cw_http_response_head(struct http_conn *c, struct up_conn *up);

/* The upstream broke after the response started: the client connection must close. */
void cw_http_abort(struct http_conn *c, const char *why);

/* Closes the exchange's upstream connection, if any, and forgets it: what was sent on it is cut
 * short, so it is not pooled. */
void cw_http_drop_upstream(struct http_conn *c);

/* ---- http_upstream.c ---- */

/* Picks a host and connects (or reuses a pooled connection). Returns false when no host is
 * left; the reason is in c->ex.reason. */
bool cw_upstream_acquire(struct http_conn *c);

/* Writes [p, p+n) upstream; false when the write failed. Calls back cw_http_upstream_wrote. */
bool cw_upstream_write(struct up_conn *up, const char *p, size_t n);

/* Finished with <up>: back to the pool when reusable, else closed. */
void cw_upstream_release(struct up_conn *up, bool reusable);

/* Stops/starts reading the response (backpressure from the client). */
void cw_upstream_pause(struct up_conn *up);
void cw_upstream_resume(struct up_conn *up);

/* True when the response parser says the connection can be reused. */
bool cw_upstream_keep_alive(const struct up_conn *up);

/* True when the response is delimited by the upstream closing. */
bool cw_upstream_needs_eof(const struct up_conn *up);

/* The response status code of <up>'s current response. */
int cw_upstream_status(const struct up_conn *up);

/* Writes the client's copy of <up>'s response head into <o>. */
void cw_upstream_client_head(const struct up_conn *up, struct cw_out *o, bool close);
bool cw_upstream_reused(const struct up_conn *up);

/* A write upstream finished (request head or body). */
void cw_http_upstream_wrote(struct http_conn *c, int status);

/* Closes idle pooled connections older than the idle timeout (worker sweep). */
void cw_upstream_sweep(struct cw_worker *w);

/* Closes every idle pooled connection (shutdown, or a reload that replaces the hosts). */
void cw_upstream_close_idle(struct cw_worker *w);

#endif
