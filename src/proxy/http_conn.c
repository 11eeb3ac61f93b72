/*
 * Client HTTP/1.1 connections (http_conn.h). The request in hand lives in a work block; the
 * exchange (exchange.h) reports back through the callbacks at the end of this file.
 */
#include "proxy/http_conn.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/transport.h"
#include "http/chunked.h"
#include "proxy/exchange.h"
#include "proxy/http_decide.h"
#include "proxy/http_writer.h"
#include "proxy/proxy_int.h"
#include "util/xalloc.h"

/* Lingering after the last answer: what the client still sends is read and dropped until it
 * closes, stays quiet this long, or LINGER_MAX_MS have passed. */
#define LINGER_QUIET_MS 1000
#define LINGER_MAX_MS   30000

enum http_state {
    HTTP_READING_HEAD = 0, /* waiting for (the rest of) a request head */
    HTTP_FORWARDING,       /* request going upstream, response coming back */
    HTTP_REPLYING,         /* a local reply is being written */
    HTTP_LINGERING,        /* answered and half-closed: the rest of a request body is dropped */
};

/* What the connection's timer is waiting for. */
enum http_deadline {
    DEADLINE_IDLE = 0, /* no traffic either way (between requests, or while forwarding) */
    DEADLINE_HEADERS,  /* the rest of a request head */
    DEADLINE_LINGER,
    DEADLINE_HANDSHAKE, /* a TLS client's handshake and first bytes: --request-header-timeout */
};

/* The request in hand and everything only it needs; one work block. The fields before
 * <parser> are cleared for each request; the rest is set up by its own code (the parser by
 * llhttp_init, the head index as a message begins, the exchange when it starts), because
 * clearing 100 header slots and the buffers costs more than a request's parse. */
struct request {
    bool forwarding; /* <ex> was started */
    bool has_body, body_done, head_only, idempotent, resp_started;
    int status;
    const char *reason;
    const struct cw_route *route;
    const struct cw_cluster *cluster;
    char *log_text; /* "METHOD\0path\0host\0request id\0" copied for the access log */
    struct cw_out head_out;      /* the request head sent upstream (on head_space when it fits) */
    struct cw_chunked_tail tail; /* of a chunked request body */
    uint64_t start_ms, bytes_in, bytes_out;
    uint64_t body_in; /* request body bytes forwarded so far (with chunk framing) */
    llhttp_t parser;
    struct cw_http_head head;
    struct cw_exchange ex;
    char bytes[CW_HTTP_MAX_HEAD];
    /* Room for the request head sent upstream and for the response head (or a local reply),
     * so that short ones need no allocation per request. */
    char head_space[1536];
    char reply_space[1536];
};
_Static_assert(sizeof(struct request) <= CW_BLOCK_SIZE, "a request fits its block");

struct http_conn {
    struct cw_conn_link link; /* first: the worker's list holds &link */
    struct cw_worker *w;
    struct cw_generation *gen; /* referenced; moves to the worker's newest between requests */
    const struct cw_snapshot_listener *listener;  /* of <gen> */
    const struct cw_worker_listener *accepted_on; /* its listener follows reloads */
    struct cw_transport tr;
    struct cw_timer timer;
    struct request *rq; /* NULL while idle */
    size_t len, parsed; /* bytes in rq->bytes, and how many of them were handled */
    struct cw_http_writer out; /* what goes to the client */
    uint64_t deadline_start, deadline_at;
    uint64_t last_activity; /* last byte moved either way, for the idle deadline */
    uint64_t linger_until;  /* HTTP_LINGERING ends by then at the latest */
    enum http_state state;
    enum http_deadline deadline;
    bool closing, keep_alive, reading;
    bool up_writing;    /* request bytes given to the exchange are not all out */
    bool response_done; /* the queued client write is the last of the response */
    char client_ip[INET6_ADDRSTRLEN];
    uint16_t client_port; /* for the access log */
};

static void process(struct http_conn *c);
static void close_conn(struct http_conn *c);

/* ---- the request's work block ---- */

/* A fresh request: no field set, the parser at the start of a message, an empty head index
 * (also for an error before llhttp begins a message). */
static void reset_request(struct request *rq)
{
    memset(rq, 0, offsetof(struct request, parser));
    llhttp_init(&rq->parser, HTTP_REQUEST, &cw_http_head_settings);
    rq->parser.data = &rq->head;
    rq->head.url = rq->head.reason = (struct cw_span){NULL, 0};
    rq->head.n_headers = 0;
    rq->head.too_many_headers = rq->head.in_name = false;
}

static struct request *take_request(struct http_conn *c)
{
    if (!c->rq) {
        c->rq = cw_block_get(&c->w->blocks);
        reset_request(c->rq);
    }
    return c->rq;
}

/* Between requests, with no byte waiting: the block goes back to the worker's pool. */
static void release_request_if_idle(struct http_conn *c)
{
    if (c->rq && c->len == 0 && c->state == HTTP_READING_HEAD) {
        cw_block_put(&c->w->blocks, c->rq);
        c->rq = NULL;
        c->parsed = 0;
    }
}

/* ---- the access log ---- */

static void log_request(struct http_conn *c)
{
    const struct cw_access_log *log = c->w->cfg->access_log;
    struct request *rq = c->rq;
    if (!log)
        return;
    const char *method = cw_log_text_field(rq->log_text, 0);
    const char *path = cw_log_text_field(rq->log_text, 1);
    const char *host = cw_log_text_field(rq->log_text, 2);
    char client[CW_CLIENT_TEXT];
    cw_client_text(client, c->client_ip, c->client_port);
    char route[256];
    const struct cw_host *h = rq->forwarding ? cw_exchange_host(&rq->ex) : NULL;
    if (rq->route)
        snprintf(route, sizeof(route), "%s/%s:%s", rq->route->table->obj.meta.ns,
                 rq->route->table->obj.meta.name, rq->route->name);
    struct cw_access_record r = {
        .protocol = "http",
        .listener = c->listener->port,
        .method = method,
        .path = path,
        .host = host,
        .route = rq->route ? route : (rq->cluster ? "exposed" : NULL),
        .service = rq->cluster ? rq->cluster->name : NULL,
        .endpoint = h ? h->text : NULL,
        .locality = h ? h->locality : NULL,
        .priority = h ? (int)h->priority : -1,
        .status = rq->status,
        .bytes_in = rq->bytes_in,
        .bytes_out = rq->bytes_out,
        .duration_ms = cw_worker_now(c->w) - rq->start_ms,
        .retries = rq->forwarding ? cw_exchange_retries(&rq->ex) : 0,
        .upstream_tls = rq->forwarding ? rq->ex.up_tls : NULL,
        .client = client,
        .request_id = cw_log_text_field(rq->log_text, 3),
        .upstream_connect_us = rq->forwarding ? rq->ex.connect_us : -1,
        .upstream_response_us = rq->forwarding ? rq->ex.response_us : -1,
        .reason = rq->reason,
    };
    cw_access_log_add(log, &c->w->log, &r);
}

static void count_request(struct http_conn *c)
{
    const struct request *rq = c->rq;
    cw_request_metrics_count(&(struct cw_request_done){
        .listener = c->listener->port,
        .status = rq->status,
        .route = rq->route,
        .cluster = rq->cluster,
        .bytes_in = rq->bytes_in,
        .bytes_out = rq->bytes_out,
        .duration_ms = cw_worker_now(c->w) - rq->start_ms,
        .retries = rq->forwarding ? cw_exchange_retries(&rq->ex) : 0,
        .attempts = rq->forwarding ? &rq->ex.attempts : NULL,
    });
}

static void save_log_text(struct request *rq, const char *method, struct cw_span path,
                          struct cw_span host, const char *request_id)
{
    struct cw_span fields[] = {{method, strlen(method)}, path, host,
                               {request_id, strlen(request_id)}};
    rq->log_text = cw_log_text_new(fields, 4);
}

/* Logs the request and ends its exchange; the block stays for pipelined bytes. */
static void end_request(struct http_conn *c)
{
    struct request *rq = c->rq;
    if (rq->forwarding) {
        if (!rq->reason && !rq->resp_started)
            rq->reason = rq->ex.reason;
        cw_exchange_end(&rq->ex);
    }
    count_request(c);
    log_request(c);
    free(rq->log_text);
    cw_out_free(&rq->head_out);
    cw_http_writer_reset(&c->out);
    c->up_writing = false;
    reset_request(rq);
    c->state = HTTP_READING_HEAD; /* nothing in hand: a close now logs nothing more */
}

/* ---- lifetime ---- */

static void on_closed(struct cw_transport *t)
{
    struct http_conn *c = t->data;
    cw_worker_untrack(c->w, &c->link);
    cw_block_put(&c->w->blocks, c->rq);
    cw_generation_unref(c->gen);
    free(c);
}

static void close_conn(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->state == HTTP_FORWARDING || c->state == HTTP_REPLYING)
        end_request(c);
    if (c->rq)
        cw_out_free(&c->rq->head_out);
    cw_http_writer_reset(&c->out);
    cw_timer_stop(&c->w->io, &c->timer);
    cw_transport_close(&c->tr, on_closed);
}

static void force_close(struct cw_conn_link *link)
{
    close_conn((struct http_conn *)link);
}

/* Shutdown: an idle keep-alive connection closes now; one with a request in hand answers it
 * with "Connection: close" (when its head is not sent yet) and closes after. */
static void drain(struct cw_conn_link *link)
{
    struct http_conn *c = (struct http_conn *)link;
    c->keep_alive = false;
    bool idle = c->state == HTTP_READING_HEAD && c->len == 0;
    if ((idle || c->state == HTTP_LINGERING) && !c->out.writing)
        close_conn(c);
}

static bool reclaim(struct cw_conn_link *link)
{
    struct http_conn *c = (struct http_conn *)link;
    if (c->closing || c->state != HTTP_READING_HEAD || c->len > 0 || c->out.writing)
        return false;
    close_conn(c);
    return true;
}

/* The upstream broke after the response started, or the client did: the connection closes. */
static void abort_request(struct http_conn *c, const char *why)
{
    if (c->rq && c->state == HTTP_FORWARDING) {
        c->rq->reason = why;
        if (!c->rq->status)
            c->rq->status = 502;
    }
    close_conn(c);
}

/* ---- timers ---- */

static void on_timer(struct cw_timer *t);

static void set_deadline(struct http_conn *c, enum http_deadline d)
{
    const struct cw_timeouts *to = &c->w->cfg->timeouts;
    uint64_t ms = d == DEADLINE_HEADERS || d == DEADLINE_HANDSHAKE ? to->request_headers_ms
                  : d == DEADLINE_LINGER                            ? LINGER_QUIET_MS
                                                                    : to->idle_ms;
    uint64_t now = cw_worker_now(c->w);
    c->deadline = d;
    c->deadline_start = now;
    c->deadline_at = now + ms;
    /* The timer only has to fire no later than the deadline. Most transitions move it later, so
     * an armed timer that is due sooner is left alone and on_timer re-arms for what remains:
     * one timer operation per request instead of one per state change. */
    if (!cw_timer_armed(&c->timer) || c->timer.due > c->deadline_at)
        cw_timer_start(&c->w->io, &c->timer, ms, on_timer);
}

/* Traffic since the deadline was set moves it to <window> after the last activity, but not past
 * <limit>: re-armed and true, or false when the connection stayed quiet. */
static bool moved_by_activity(struct http_conn *c, uint64_t now, uint64_t window, uint64_t limit)
{
    uint64_t quiet = now - c->last_activity;
    if (c->last_activity <= c->deadline_start || quiet >= window || now >= limit)
        return false;
    c->deadline_start = c->last_activity;
    c->deadline_at = c->last_activity + window;
    cw_timer_start(&c->w->io, &c->timer, window - quiet, on_timer);
    return true;
}

static void local_reply(struct http_conn *c, int status, const char *body, bool text,
                        const char *extra);

/* Nothing moved for the idle timeout while a request was being forwarded. */
static void forwarding_idle(struct http_conn *c)
{
    struct request *rq = c->rq;
    if (rq->resp_started) {
        abort_request(c, "idle timeout");
        return;
    }
    /* The exchange times its own waits (connect, response) and blames an upstream that stopped
     * reading; a client that stopped sending its body is not held against the upstream. */
    if (cw_exchange_stalled(&rq->ex)) {
        set_deadline(c, DEADLINE_IDLE);
        return;
    }
    cw_exchange_end(&rq->ex);
    c->keep_alive = false;
    local_reply(c, 408, "request body not received in time", true, NULL);
}

static void on_timer(struct cw_timer *t)
{
    struct http_conn *c = t->data;
    uint64_t now = cw_worker_now(c->w);
    if (now < c->deadline_at) { /* fired for an earlier deadline that has moved on */
        cw_timer_start(&c->w->io, t, c->deadline_at - now, on_timer);
        return;
    }
    switch (c->deadline) {
    case DEADLINE_IDLE:
        /* Traffic in either direction moves the deadline; the timer is re-armed lazily here
         * rather than on every read. */
        if (moved_by_activity(c, now, c->w->cfg->timeouts.idle_ms, UINT64_MAX))
            break;
        if (c->state == HTTP_FORWARDING)
            forwarding_idle(c);
        else
            close_conn(c);
        break;
    case DEADLINE_HEADERS:
        c->keep_alive = false;
        local_reply(c, 408, "request headers not received in time", true, NULL);
        break;
    case DEADLINE_LINGER:
        if (!moved_by_activity(c, now, LINGER_QUIET_MS, c->linger_until))
            close_conn(c);
        break;
    case DEADLINE_HANDSHAKE: /* nothing HTTP was said: there is no one to answer a 408 to */
        close_conn(c);
        break;
    }
}

/* ---- reading ---- */

static void on_alloc(struct cw_transport *t, struct cw_buf *buf)
{
    struct http_conn *c = t->data;
    if (c->state == HTTP_LINGERING) { /* dropped: any space will do */
        *buf = cw_buf_init(c->w->drop, sizeof(c->w->drop));
        return;
    }
    struct request *rq = take_request(c);
    *buf = cw_buf_init(rq->bytes + c->len, sizeof(rq->bytes) - c->len);
}

static void stop_reading(struct http_conn *c)
{
    if (c->reading) {
        c->reading = false;
        cw_transport_read_stop(&c->tr);
    }
}

static void on_read(struct cw_transport *t, ssize_t nread, const struct cw_buf *buf);

static void start_reading(struct http_conn *c)
{
    if (!c->reading && !c->closing && c->len < CW_HTTP_MAX_HEAD) {
        c->reading = true;
        cw_transport_read_start(&c->tr, on_alloc, on_read);
    }
}

static void on_read(struct cw_transport *t, ssize_t nread, const struct cw_buf *buf)
{
    (void)buf;
    struct http_conn *c = t->data;
    if (nread == 0)
        return;
    if (nread == CW_ENOBUFS) {
        /* The buffer is full of pipelined bytes: wait until the current request ends. */
        stop_reading(c);
        return;
    }
    if (nread > 0 && c->state == HTTP_LINGERING) {
        c->last_activity = cw_worker_now(c->w);
        return;
    }
    if (nread < 0) {
        if (c->state == HTTP_FORWARDING && c->rq->body_done && nread == CW_EOF) {
            /* The client finished sending; the response may still come. */
            c->reading = false;
            c->keep_alive = false;
            return;
        }
        close_conn(c);
        return;
    }
    c->len += (size_t)nread;
    c->last_activity = cw_worker_now(c->w);
    if (c->state == HTTP_READING_HEAD &&
        (c->deadline == DEADLINE_IDLE || c->deadline == DEADLINE_HANDSHAKE))
        set_deadline(c, DEADLINE_HEADERS);
    process(c);
}

/* Moves unparsed bytes to the front so the next head has the whole buffer. */
static void compact(struct http_conn *c)
{
    if (c->parsed == 0)
        return;
    memmove(c->rq->bytes, c->rq->bytes + c->parsed, c->len - c->parsed);
    c->len -= c->parsed;
    c->parsed = 0;
}

/* ---- the end of a request, and of the connection ---- */

static void on_final_shutdown(struct cw_transport *t, int status)
{
    struct http_conn *c = t->data;
    if (status < 0 || c->state != HTTP_LINGERING) {
        close_conn(c);
        return;
    }
    /* The FIN is out after the answer; what the client still sends is read and dropped. */
    c->linger_until = cw_worker_now(c->w) + LINGER_MAX_MS;
    set_deadline(c, DEADLINE_LINGER);
    start_reading(c);
}

/*
 * After the last answer: half-closes once the queued writes are out, then closes. When the
 * client may still be sending a request body that was not read (<body_unread>), the connection
 * lingers first: closing with unread bytes would make the kernel send a reset, which can destroy
 * the answer before the client reads it (a 413 would reach the client as "connection reset").
 */
static void end_connection(struct http_conn *c, bool body_unread)
{
    if (c->closing)
        return;
    if (!body_unread && !cw_transport_writes_queued(&c->tr)) {
        /* Nothing left to send or to wait for: close() sends the FIN itself (in the last
         * segment after a last cw_transport_try_write), and a shutdown first would only cost a call. */
        close_conn(c);
        return;
    }
    if (body_unread) {
        c->state = HTTP_LINGERING;
        c->len = c->parsed = 0;
        cw_block_put(&c->w->blocks, c->rq);
        c->rq = NULL;
    } else {
        stop_reading(c);
    }
    if (cw_transport_shutdown(&c->tr, on_final_shutdown) != 0)
        close_conn(c);
}

/* The request was answered: the next one, or the end of the connection. */
static void next_request(struct http_conn *c)
{
    bool body_unread = c->rq->has_body && !c->rq->body_done;
    end_request(c);
    if (!c->keep_alive) {
        end_connection(c, body_unread);
        return;
    }
    set_deadline(c, DEADLINE_IDLE);
    compact(c);
    release_request_if_idle(c);
    process(c); /* a pipelined request may be waiting in the buffer */
}

/* ---- local replies ---- */

static void on_reply_written(struct http_conn *c, int status)
{
    if (status < 0 || c->closing) {
        close_conn(c);
        return;
    }
    next_request(c);
}

/* Answers the current request locally with <status> and a one-line reason. */
static void local_reply(struct http_conn *c, int status, const char *body, bool text,
                        const char *extra)
{
    struct request *rq = c->rq;
    if (!rq->start_ms)
        rq->start_ms = cw_worker_now(c->w);
    rq->status = status;
    if (status >= 400 && !rq->reason)
        rq->reason = body;
    /* The rest of a request body is not read: closing is the only safe framing. */
    if (rq->has_body && !rq->body_done)
        c->keep_alive = false;
    c->state = HTTP_REPLYING;
    cw_timer_stop(&c->w->io, &c->timer);
    struct cw_out *reply = cw_http_writer_reply_buffer(&c->out);
    cw_http_write_local_reply(reply, status, body, text, extra, !c->keep_alive);
    rq->bytes_out = reply->len;
    if (!c->keep_alive)
        stop_reading(c);
    if (cw_http_writer_reply(&c->out) == CW_HTTP_WRITE_FAILED)
        close_conn(c);
}

/* ---- requests ---- */

/* Methods a request may be repeated with (RFC 9110 §9.2.2): safe to send to another host. */
static bool is_idempotent(uint8_t method)
{
    return method == HTTP_GET || method == HTTP_HEAD || method == HTTP_OPTIONS ||
           method == HTTP_TRACE || method == HTTP_PUT || method == HTTP_DELETE;
}

/* Between requests a connection moves to the configuration its worker serves now. */
static void use_newest_generation(struct http_conn *c)
{
    struct cw_generation *newest = c->w->gen;
    if (c->gen == newest)
        return;
    cw_generation_unref(c->gen);
    c->gen = cw_generation_ref(newest);
    c->listener = c->accepted_on->listener;
}

static void forward(struct http_conn *c, const struct cw_http_decision *d, struct cw_out *head);

static void on_request_head(struct http_conn *c)
{
    struct request *rq = c->rq;
    use_newest_generation(c);
    llhttp_t *p = &rq->parser;
    rq->start_ms = cw_worker_now(c->w);
    rq->bytes_in = c->parsed; /* the head; body bytes are added as they are forwarded */
    rq->has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
    rq->body_done = !rq->has_body;
    rq->head_only = p->method == HTTP_HEAD;
    rq->idempotent = is_idempotent(p->method);
    c->keep_alive = llhttp_should_keep_alive(p);
    struct cw_http_decision d;
    cw_out_borrow(&rq->head_out, rq->head_space, sizeof(rq->head_space));
    cw_http_writer_lend(&c->out, rq->reply_space, sizeof(rq->reply_space));
    cw_http_decide(&d, p, &rq->head, c->listener, c->w->cfg->max_request_body, c->client_ip,
                   c->w, &c->w->request_ids, &rq->head_out);
    if (c->w->cfg->access_log) { /* copied only when someone reads it */
        const struct cw_span *host = cw_http_header(&rq->head, "host");
        save_log_text(rq, llhttp_method_name((llhttp_method_t)p->method), rq->head.url,
                      host ? *host : (struct cw_span){"", 0}, d.request_id);
    }
    rq->route = d.route;
    rq->cluster = d.cluster;
    if (d.status) {
        if (d.close)
            c->keep_alive = false;
        local_reply(c, d.status, d.body, d.text, d.extra[0] ? d.extra : NULL);
        return;
    }
    forward(c, &d, &rq->head_out);
}

static int parse_error_status(llhttp_errno_t err, const struct cw_http_head *h, size_t len)
{
    if (err == HPE_USER && h->too_many_headers)
        return 431;
    if (len >= CW_HTTP_MAX_HEAD)
        return 431;
    return 400;
}

/* Parses what the buffer holds while a request head is awaited. */
static void parse_head(struct http_conn *c)
{
    if (c->parsed == c->len) {
        /* The parser keeps what it has seen of a head in its state, and the spans it recorded
         * stay where they are; only when nothing was seen may the block go back. */
        if (c->len == 0)
            release_request_if_idle(c);
        start_reading(c);
        return;
    }
    struct request *rq = c->rq;
    if (rq->head.n_headers == 0 && c->parsed > 0 && rq->parser.method == 0)
        compact(c);
    llhttp_errno_t err = llhttp_execute(&rq->parser, rq->bytes + c->parsed, c->len - c->parsed);
    if (err == HPE_OK) {
        c->parsed = c->len;
        if (c->len == CW_HTTP_MAX_HEAD) {
            c->keep_alive = false;
            rq->bytes_in = c->len;
            local_reply(c, 431, "request head larger than 32 KiB", true, NULL);
            return;
        }
        start_reading(c);
        return;
    }
    if (err == HPE_PAUSED) {
        c->parsed = (size_t)(llhttp_get_error_pos(&rq->parser) - rq->bytes);
        llhttp_resume(&rq->parser);
        on_request_head(c);
        return;
    }
    c->keep_alive = false;
    char why[160];
    snprintf(why, sizeof(why), "malformed request: %s", llhttp_get_error_reason(&rq->parser));
    int status = parse_error_status(err, &rq->head, c->len);
    rq->reason = status == 431 ? "too many request headers" : "malformed request";
    rq->bytes_in = c->len; /* what the client sent before it was refused */
    local_reply(c, status, status == 431 ? "too many request headers" : why, true, NULL);
}

/* The request body's framing is broken: what was forwarded is cut short (the upstream
 * connection closes, so nothing of the rest can be read as a request of its own), and the
 * client gets 400 when no response has begun. */
static void malformed_body(struct http_conn *c, const char *why)
{
    struct request *rq = c->rq;
    if (rq->resp_started) {
        abort_request(c, "malformed request body");
        return;
    }
    cw_exchange_end(&rq->ex); /* the body is incomplete: the upstream is not pooled */
    c->keep_alive = false;
    char text[200];
    snprintf(text, sizeof(text), "malformed request body: %s", why);
    rq->reason = "malformed request body";
    local_reply(c, 400, text, true, NULL);
}

/* Sends the request body bytes the buffer holds; on_sent asks for more. */
static void forward_body(struct http_conn *c)
{
    struct request *rq = c->rq;
    if (rq->body_done || c->up_writing || !rq->ex.head_sent)
        return;
    if (c->parsed == c->len) {
        c->len = c->parsed = 0;
        start_reading(c);
        return;
    }
    /* Reading goes on meanwhile: new bytes land after <end>, and a full buffer stops it. */
    const char *start = rq->bytes + c->parsed;
    llhttp_errno_t err = llhttp_execute(&rq->parser, start, c->len - c->parsed);
    const char *end = rq->bytes + c->len;
    bool last = false;
    if (err == HPE_PAUSED) {
        end = llhttp_get_error_pos(&rq->parser);
        llhttp_resume(&rq->parser);
        last = true;
    }
    bool chunked = rq->parser.flags & F_CHUNKED;
    if (chunked)
        cw_chunked_tail_add(&rq->tail, start, (size_t)(end - start));
    if ((err != HPE_OK && err != HPE_PAUSED) || (last && chunked && !cw_chunked_tail_ok(&rq->tail))) {
        malformed_body(c, err == HPE_PAUSED || err == HPE_OK
                              ? "chunked body must end with CRLF"
                              : llhttp_get_error_reason(&rq->parser));
        return;
    }
    c->parsed = (size_t)(end - rq->bytes);
    rq->bytes_in += (uint64_t)(end - start);
    rq->body_in += (uint64_t)(end - start);
    uint64_t limit = c->w->cfg->max_request_body;
    if (limit && rq->body_in > limit) { /* a chunked body that outgrew the limit */
        if (rq->resp_started) {
            abort_request(c, "request body too large");
            return;
        }
        cw_exchange_end(&rq->ex);
        c->keep_alive = false;
        local_reply(c, 413, "request body too large", true, NULL);
        return;
    }
    rq->body_done = last;
    c->up_writing = true;
    cw_exchange_send_body(&rq->ex, start, (size_t)(end - start), last);
}

static void process(struct http_conn *c)
{
    if (c->closing || c->out.writing)
        return;
    if (c->state == HTTP_READING_HEAD)
        parse_head(c);
    else if (c->state == HTTP_FORWARDING && !c->rq->body_done)
        forward_body(c);
}

/* ---- the response ---- */

static void after_response_write(struct http_conn *c, bool done)
{
    if (c->closing)
        return;
    if (done)
        next_request(c);
    else
        cw_exchange_consumed(&c->rq->ex);
}

static void on_response_written(struct http_conn *c, int status)
{
    if (status < 0) {
        abort_request(c, "client write failed");
        return;
    }
    after_response_write(c, c->response_done);
}

/* A queued write to the client is out: the reply's or the response's. */
static void on_client_written(void *data, int status)
{
    struct http_conn *c = data;
    if (c->state == HTTP_REPLYING)
        on_reply_written(c, status);
    else
        on_response_written(c, status);
}

/* Writes response bytes [p, p + n) (with a response head that waits) to the client; <done>
 * marks the end of the response. */
static void write_response(struct http_conn *c, const char *p, size_t n, bool done)
{
    c->last_activity = cw_worker_now(c->w);
    c->rq->bytes_out += n;
    /* The response that ends a connection takes its FIN along: next_request closes the
     * connection (or shuts it down) right after. */
    switch (cw_http_writer_body(&c->out, p, n, done && !c->keep_alive)) {
    case CW_HTTP_WRITE_DONE:
        after_response_write(c, done);
        return;
    case CW_HTTP_WRITE_FAILED:
        abort_request(c, "client write failed");
        return;
    case CW_HTTP_WRITE_QUEUED:
        /* The client is slower than the upstream: stop reading the upstream until this is
         * out. */
        cw_exchange_pause(&c->rq->ex);
        c->response_done = done;
        return;
    }
}

/* An interim response (100 Continue) goes out at once. */
static void write_interim(struct http_conn *c)
{
    struct cw_out head = {0};
    cw_exchange_client_head(&c->rq->ex, &head, false);
    c->rq->bytes_out += head.len;
    enum cw_http_write rc = cw_http_writer_interim(&c->out, &head);
    cw_out_free(&head);
    if (rc == CW_HTTP_WRITE_FAILED)
        abort_request(c, "client write failed");
}

/* ---- what the exchange reports ---- */

static void on_ex_sent(void *data)
{
    struct http_conn *c = data;
    c->up_writing = false;
    forward_body(c);
}

static void on_closed(struct cw_transport *t);

/* The upstream answered 101 to a request that asked to switch protocols: the connection
 * becomes a tunnel, with the 101 head (and what the upstream sent after it) its first bytes to
 * the client. The access log's line for the request is written when the tunnel ends. */
static void switch_protocols(struct http_conn *c)
{
    struct request *rq = c->rq;
    size_t rest = sizeof(rq->bytes);
    char *to_client = cw_xmalloc(rest + CW_HTTP_MAX_HEAD);
    struct cw_out head = {0};
    cw_exchange_client_head(&rq->ex, &head, false);
    memcpy(to_client, head.p, head.len);
    struct cw_transport_handoff up, client;
    int rc = cw_exchange_upgrade(&rq->ex, &up, to_client + head.len, rest, &rest);
    if (rc == 0 && (rc = cw_transport_hand_off(&c->tr, &client, on_closed)) != 0)
        cw_transport_handoff_drop(&up);
    if (rc != 0) {
        free(to_client);
        cw_out_free(&head);
        abort_request(c, "protocol switch failed");
        return;
    }
    char client_text[CW_CLIENT_TEXT];
    cw_client_text(client_text, c->client_ip, c->client_port);
    struct cw_upgrade u = {
        .gen = c->gen,
        .listener = c->listener,
        .route = rq->route,
        .attempts = &rq->ex.attempts,
        .client = client,
        .upstream = up,
        .client_text = client_text,
        .to_client = to_client,
        .to_client_len = head.len + rest,
        .to_upstream = rq->bytes + c->parsed,
        .to_upstream_len = c->len - c->parsed,
        .log = {rq->log_text, rq->start_ms, rq->bytes_in, rq->bytes_out + head.len},
    };
    rq->log_text = NULL; /* the tunnel's now */
    cw_tcp_proxy_upgrade(c->w, &u);
    free(to_client);
    cw_out_free(&head);
    /* What is left of the connection goes without a line in the log: the tunnel writes it. */
    c->closing = true;
    cw_exchange_end(&rq->ex);
    cw_out_free(&rq->head_out);
    cw_http_writer_reset(&c->out);
    cw_timer_stop(&c->w->io, &c->timer);
}

static void on_ex_head(void *data, int status)
{
    struct http_conn *c = data;
    struct request *rq = c->rq;
    if (status == 101 && cw_http_wants_upgrade(&rq->parser)) {
        switch_protocols(c);
        return;
    }
    if (status == 101) { /* a switch the client did not ask for cannot be passed on */
        cw_exchange_end(&rq->ex);
        c->keep_alive = c->keep_alive && rq->body_done;
        local_reply(c, 502, "upstream switched protocols unasked", true, NULL);
        return;
    }
    if (status < 200) {
        write_interim(c);
        return;
    }
    rq->status = status;
    rq->resp_started = true;
    rq->reason = NULL;
    set_deadline(c, DEADLINE_IDLE);
    if (cw_exchange_needs_eof(&rq->ex) || !rq->body_done)
        c->keep_alive = false; /* framing ends with a close, or the request was cut short */
    /* Kept until the first body bytes (or the end) so that both go out in one write. */
    struct cw_out *head = cw_http_writer_head(&c->out);
    cw_exchange_client_head(&rq->ex, head, !c->keep_alive);
    rq->bytes_out += head->len;
}

static void on_ex_body(void *data, const char *p, size_t n, bool done)
{
    write_response(data, p, n, done);
}

static void on_ex_failed(void *data, int status, const char *why)
{
    struct http_conn *c = data;
    c->up_writing = false;
    c->rq->reason = why;
    c->keep_alive = c->keep_alive && c->rq->body_done;
    local_reply(c, status, why, true, NULL);
}

static void on_ex_broken(void *data, const char *why)
{
    abort_request(data, why);
}

static const struct cw_exchange_events exchange_events = {
    .on_sent = on_ex_sent,
    .on_head = on_ex_head,
    .on_body = on_ex_body,
    .on_failed = on_ex_failed,
    .on_broken = on_ex_broken,
};

static void forward(struct http_conn *c, const struct cw_http_decision *d, struct cw_out *head)
{
    struct request *rq = c->rq;
    /* The client stays readable (no epoll change per request): pipelined bytes wait in the
     * buffer, and a full buffer stops reading (CW_ENOBUFS). */
    c->state = HTTP_FORWARDING;
    set_deadline(c, DEADLINE_IDLE);
    rq->forwarding = true;
    c->up_writing = rq->has_body; /* the body waits until on_sent says the head is out */
    struct cw_exchange_request xr = {
        .ups = c->gen->upstreams,
        .cluster = d->cluster,
        .cursor = &c->w->cursors[d->cluster->index],
        .head = head->p,
        .head_len = head->len,
        .has_body = rq->has_body,
        .head_only = rq->head_only,
        .idempotent = rq->idempotent,
    };
    cw_exchange_start(&rq->ex, &c->w->exchange_env, &xr, &exchange_events, c);
}

/* ---- accepting ---- */

static void client_address(struct http_conn *c, const struct sockaddr_storage *peer)
{
    cw_sockaddr_ip(peer, c->client_ip, sizeof(c->client_ip));
    c->client_port = cw_sockaddr_port(peer);
}

void cw_http_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer)
{
    struct cw_worker *w = wl->worker;
    struct http_conn *c = cw_xcalloc(1, sizeof(*c));
    if (cw_session_adopt(wl, &c->tr, fd, c) != 0) {
        free(c);
        return;
    }
    c->w = w;
    c->gen = cw_generation_ref(wl->worker->gen);
    c->listener = wl->listener;
    c->accepted_on = wl;
    c->link.force_close = force_close;
    c->link.drain = drain;
    c->link.reclaim = reclaim;
    c->timer.data = c;
    cw_http_writer_init(&c->out, &c->tr, on_client_written, c);
    cw_worker_track(w, &c->link);
    client_address(c, peer);
    /* A TLS handshake that never ends is bounded like a request head that never ends. */
    set_deadline(c, wl->listener->tls ? DEADLINE_HANDSHAKE : DEADLINE_IDLE);
    start_reading(c);
}
