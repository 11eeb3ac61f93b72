/*
 * Client HTTP/1.1 connections: read and parse requests (llhttp, strict), route them, answer
 * locally or forward to an upstream, stream bodies both ways with their framing unchanged, keep
 * the connection alive, and answer pipelined requests in order (one exchange at a time).
 * Bodies are never buffered whole: each direction has one buffer, and reading stops while its
 * bytes wait to be written (backpressure).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/http_int.h"
#include "proxy/router.h"
#include "util/regex.h"
#include "util/xalloc.h"

/* ---- lifetime ---- */

/* Frees the connection once its socket is closed. */
static void release(struct http_conn *c)
{
    cw_worker_untrack(c->w, &c->link);
    cw_out_free(&c->ex.head_out);
    cw_out_free(&c->reply);
    cw_out_free(&c->resp_head);
    free(c->ex.log_text);
    free(c->buf);
    cw_generation_unref(c->gen);
    free(c);
}

static void on_sock_closed(struct cw_sock *s)
{
    release(s->data);
}

static void log_exchange(struct http_conn *c)
{
    const struct cw_access_log *log = c->w->cfg->access_log;
    struct exchange *ex = &c->ex;
    if (!log)
        return;
    const char *method = ex->log_text ? ex->log_text : "-";
    const char *path = ex->log_text ? method + strlen(method) + 1 : "-";
    const char *host = ex->log_text ? path + strlen(path) + 1 : "-";
    char route[256];
    const struct cw_host *h = ex->host;
    if (ex->route)
        snprintf(route, sizeof(route), "%s/%s:%s", ex->route->table->obj.meta.ns,
                 ex->route->table->obj.meta.name, ex->route->name);
    struct cw_access_record r = {
        .protocol = "http",
        .listener = c->listener->port,
        .method = method,
        .path = path,
        .host = host,
        .route = ex->route ? route : (ex->cluster ? "exposed" : NULL),
        .service = ex->cluster ? ex->cluster->name : NULL,
        .endpoint = h ? h->text : NULL,
        .locality = h ? h->locality : NULL,
        .priority = h ? (int)h->priority : -1,
        .status = ex->status,
        .bytes_in = ex->bytes_in,
        .bytes_out = ex->bytes_out,
        .duration_ms = cw_worker_now(c->w) - ex->start_ms,
        .retries = ex->n_tried > 1 ? ex->n_tried - 1 : 0,
        .reason = ex->reason,
    };
    cw_access_log_add(log, &c->w->log, &r);
}

void cw_http_end_exchange(struct http_conn *c, bool upstream_reusable)
{
    struct exchange *ex = &c->ex;
    log_exchange(c);
    if (ex->up)
        cw_upstream_release(ex->up, upstream_reusable);
    free(ex->log_text);
    /* The head buffer is kept for the connection's next request: no allocation per request. */
    struct cw_out head_out = ex->head_out;
    memset(ex, 0, sizeof(*ex));
    head_out.len = 0;
    ex->head_out = head_out;
    c->state = HTTP_READING_HEAD; /* no exchange in hand: a close now logs nothing more */
}

void cw_http_close(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->state == HTTP_FORWARDING || c->state == HTTP_REPLYING)
        cw_http_end_exchange(c, false);
    cw_timer_stop(&c->w->io, &c->timer);
    cw_sock_close(&c->sock, on_sock_closed);
}

static void force_close(struct cw_conn_link *link)
{
    cw_http_close((struct http_conn *)link);
}

/* Shutdown: an idle keep-alive connection closes now; one with a request in hand answers it
 * with "Connection: close" (when its head is not sent yet) and closes after. */
static void drain(struct cw_conn_link *link)
{
    struct http_conn *c = (struct http_conn *)link;
    c->keep_alive = false;
    bool idle = c->state == HTTP_READING_HEAD && c->len == 0;
    if ((idle || c->state == HTTP_LINGERING) && !c->writing)
        cw_http_close(c);
}

/* ---- timers ---- */

static void on_timer(struct cw_timer *t);

void cw_http_set_deadline(struct http_conn *c, enum http_deadline d)
{
    const struct cw_timeouts *to = &c->w->cfg->timeouts;
    uint64_t ms = d == DEADLINE_HEADERS    ? to->request_headers_ms
                  : d == DEADLINE_CONNECT  ? to->connect_ms
                  : d == DEADLINE_RESPONSE ? to->upstream_ms
                  : d == DEADLINE_LINGER   ? LINGER_QUIET_MS
                                           : to->idle_ms;
    uint64_t now = cw_worker_now(c->w);
    c->deadline = d;
    c->deadline_start = now;
    c->deadline_at = now + ms;
    /* The timer only has to fire no later than the deadline. Most transitions move it later, so
     * an armed timer that is due sooner is left alone and on_timer re-arms for what remains:
     * one timer operation per exchange instead of one per state change. */
    if (!cw_timer_armed(&c->timer) || c->timer.due > c->deadline_at)
        cw_timer_start(&c->w->io, &c->timer, ms, on_timer);
}

/* ---- local replies ---- */

static void on_reply_written(struct cw_sock_write *req, int status)
{
    struct http_conn *c = req->data;
    c->writing = false;
    cw_out_free(&c->reply);
    bool body_unread = c->ex.req_has_body && !c->ex.req_done;
    cw_http_end_exchange(c, false);
    if (status < 0 || c->closing) {
        cw_http_close(c);
        return;
    }
    if (!c->keep_alive) {
        cw_http_end_connection(c, body_unread);
        return;
    }
    c->state = HTTP_READING_HEAD;
    llhttp_reset(&c->parser);
    cw_http_set_deadline(c, DEADLINE_IDLE);
    cw_http_compact(c);
    cw_http_process(c);
}

/* Answers the current request locally with <status> and a one-line reason. */
void cw_http_local_reply(struct http_conn *c, int status, const char *body, bool text,
                         const char *extra)
{
    struct exchange *ex = &c->ex;
    if (!ex->start_ms)
        ex->start_ms = cw_worker_now(c->w);
    ex->status = status;
    if (status >= 400 && !ex->reason)
        ex->reason = body;
    /* The rest of a request body is not read: closing is the only safe framing. */
    if (ex->req_has_body && !ex->req_done)
        c->keep_alive = false;
    c->state = HTTP_REPLYING;
    cw_timer_stop(&c->w->io, &c->timer);
    cw_http_write_local_reply(&c->reply, status, body, text, extra, !c->keep_alive);
    ex->bytes_out = c->reply.len;
    if (!c->keep_alive)
        cw_http_stop_reading(c);
    struct cw_buf b = cw_buf_init(c->reply.p, c->reply.len);
    c->writing = true;
    c->write_req.data = c;
    if (cw_sock_write(&c->sock, &c->write_req, &b, 1, on_reply_written) != 0)
        cw_http_close(c);
}

/* The upstream took too long: to answer, or to take the request body. */
static void upstream_timed_out(struct http_conn *c)
{
    cw_http_drop_upstream(c);
    c->keep_alive = c->keep_alive && c->ex.req_done;
    cw_http_report(c, 504, "upstream timeout");
    cw_http_local_reply(c, 504, "upstream timeout", true, NULL);
}

/* A request body made no progress for the idle timeout. The side that held it up is named, and
 * a client that stopped sending is not held against the upstream. */
static void request_body_stalled(struct http_conn *c)
{
    if (c->writing) { /* bytes wait for the upstream to take them */
        upstream_timed_out(c);
        return;
    }
    cw_http_drop_upstream(c);
    c->keep_alive = false;
    cw_http_local_reply(c, 408, "request body not received in time", true, NULL);
}

/* ---- the end of a connection ---- */

static void on_final_shutdown(struct cw_sock *s, int status)
{
    struct http_conn *c = s->data;
    if (status < 0 || c->state != HTTP_LINGERING) {
        cw_http_close(c);
        return;
    }
    /* The FIN is out after the answer; what the client still sends is read and dropped. */
    c->linger_until = cw_worker_now(c->w) + LINGER_MAX_MS;
    cw_http_set_deadline(c, DEADLINE_LINGER);
    cw_http_start_reading(c);
}

void cw_http_end_connection(struct http_conn *c, bool body_unread)
{
    if (c->closing)
        return;
    if (!body_unread && !cw_sock_writes_queued(&c->sock)) {
        /* Nothing left to send or to wait for: close() sends the FIN itself (in the last
         * segment after cw_sock_try_write_last), and a shutdown first would only cost a call. */
        cw_http_close(c);
        return;
    }
    if (body_unread) {
        c->state = HTTP_LINGERING;
        c->len = c->parsed = 0;
    } else {
        cw_http_stop_reading(c);
    }
    if (cw_sock_shutdown(&c->sock, on_final_shutdown) != 0)
        cw_http_close(c);
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

static void on_timer(struct cw_timer *t)
{
    struct http_conn *c = t->data;
    uint64_t now = cw_worker_now(c->w);
    if (now < c->deadline_at) { /* fired for an earlier deadline that has moved on */
        cw_timer_start(&c->w->io, t, c->deadline_at - now, on_timer);
        return;
    }
    switch (c->deadline) {
    case DEADLINE_IDLE: {
        /* Traffic in either direction moves the deadline; the timer is re-armed lazily here
         * rather than on every read. */
        if (moved_by_activity(c, now, c->w->cfg->timeouts.idle_ms, UINT64_MAX))
            break;
        if (c->state == HTTP_FORWARDING && !c->ex.resp_started)
            request_body_stalled(c);
        else if (c->state == HTTP_FORWARDING)
            cw_http_abort(c, "idle timeout");
        else
            cw_http_close(c);
        break;
    }
    case DEADLINE_HEADERS:
        c->keep_alive = false;
        cw_http_local_reply(c, 408, "request headers not received in time", true, NULL);
        break;
    case DEADLINE_CONNECT:
        cw_http_upstream_failed(c, "connect timeout", true);
        break;
    case DEADLINE_RESPONSE:
        upstream_timed_out(c);
        break;
    case DEADLINE_LINGER:
        if (!moved_by_activity(c, now, LINGER_QUIET_MS, c->linger_until))
            cw_http_close(c);
        break;
    }
}

/* ---- reading requests ---- */

static void on_alloc(struct cw_sock *s, struct cw_buf *buf)
{
    struct http_conn *c = s->data;
    buf->base = c->buf + c->len;
    buf->len = CW_HTTP_BUFFER - c->len;
}

static void on_read(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf)
{
    (void)buf;
    struct http_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread == CW_ENOBUFS) {
        /* The buffer is full of pipelined bytes: wait until the current exchange ends. */
        cw_http_stop_reading(c);
        return;
    }
    if (nread > 0 && c->state == HTTP_LINGERING) { /* dropped: the next read reuses the space */
        c->last_activity = cw_worker_now(c->w);
        return;
    }
    if (nread < 0) {
        if (c->state == HTTP_FORWARDING && c->ex.req_done && nread == CW_EOF) {
            /* The client finished sending; the response may still come. */
            cw_sock_read_stop(s);
            c->reading = false;
            c->keep_alive = false;
            return;
        }
        cw_http_close(c);
        return;
    }
    c->len += (size_t)nread;
    c->last_activity = cw_worker_now(c->w);
    if (c->state == HTTP_READING_HEAD && c->deadline == DEADLINE_IDLE)
        cw_http_set_deadline(c, DEADLINE_HEADERS);
    cw_http_process(c);
}

void cw_http_start_reading(struct http_conn *c)
{
    if (!c->reading && !c->closing && c->len < CW_HTTP_BUFFER) {
        c->reading = true;
        cw_sock_read_start(&c->sock, on_alloc, on_read);
    }
}

void cw_http_stop_reading(struct http_conn *c)
{
    if (c->reading) {
        c->reading = false;
        cw_sock_read_stop(&c->sock);
    }
}

/* Moves unparsed bytes to the front so the next head has the whole buffer. */
void cw_http_compact(struct http_conn *c)
{
    if (c->parsed == 0)
        return;
    memmove(c->buf, c->buf + c->parsed, c->len - c->parsed);
    c->len -= c->parsed;
    c->parsed = 0;
}

static void save_log_text(struct http_conn *c, const char *method, struct cw_span path,
                          struct cw_span host)
{
    size_t ml = strlen(method);
    char *p = cw_xmalloc(ml + path.len + host.len + 3);
    memcpy(p, method, ml + 1);
    memcpy(p + ml + 1, path.p, path.len);
    p[ml + 1 + path.len] = '\0';
    memcpy(p + ml + 2 + path.len, host.p, host.len);
    p[ml + 2 + path.len + host.len] = '\0';
    c->ex.log_text = p;
}

static struct cw_span strip_port(struct cw_span host)
{
    if (host.len && host.p[0] == '[') { /* [::1]:8080 */
        const char *close = memchr(host.p, ']', host.len);
        return close ? (struct cw_span){host.p, (size_t)(close - host.p + 1)} : host;
    }
    const char *colon = memchr(host.p, ':', host.len);
    return colon ? (struct cw_span){host.p, (size_t)(colon - host.p)} : host;
}

static void redirect(struct http_conn *c, const struct cw_route *r, struct cw_span host,
                     struct cw_span path)
{
    const struct cw_redirect *rd = &r->http->redirect;
    char location[2048];
    int n = snprintf(location, sizeof(location), "Location: http://%.*s%.*s\r\n",
                     (int)(rd->host ? strlen(rd->host) : host.len), rd->host ? rd->host : host.p,
                     (int)(rd->path ? strlen(rd->path) : path.len), rd->path ? rd->path : path.p);
    if (n < 0 || (size_t)n >= sizeof(location)) {
        cw_http_local_reply(c, 500, "redirect target too long", true, NULL);
        return;
    }
    cw_http_local_reply(c, (int)rd->code, NULL, false, location);
}

/* RFC 9112 §6.3: a request whose Transfer-Encoding does not end with chunked has no
 * reliable length; it must get 400 and a close rather than a guess. */
static bool chunked_last(const llhttp_t *p, const struct cw_http_head *h)
{
    if (!(p->flags & F_TRANSFER_ENCODING))
        return true;
    const struct cw_span *te = cw_http_header(h, "transfer-encoding");
    if (!te)
        return true;
    size_t n = te->len;
    while (n && (te->p[n - 1] == ' ' || te->p[n - 1] == '\t'))
        n--;
    return n >= 7 && strncasecmp(te->p + n - 7, "chunked", 7) == 0 &&
           (n == 7 || te->p[n - 8] == ',' || te->p[n - 8] == ' ' || te->p[n - 8] == '\t');
}

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

static void on_request_head(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    use_newest_generation(c);
    llhttp_t *p = &c->parser;
    ex->start_ms = cw_worker_now(c->w);
    ex->bytes_in = c->parsed; /* the head; body bytes are added as they are forwarded */
    ex->req_has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
    ex->req_done = !ex->req_has_body;
    c->keep_alive = llhttp_should_keep_alive(p);
    const char *method = llhttp_method_name((llhttp_method_t)p->method);
    ex->head_only = p->method == HTTP_HEAD;
    ex->idempotent = is_idempotent(p->method);
    struct cw_route_request req = {.method = method, .head = &c->head, .port = c->listener->port};
    cw_router_split_target(c->head.url, &req.path, &req.query);
    const struct cw_span *host = cw_http_header(&c->head, "host");
    if (c->w->cfg->access_log) /* copied only when someone reads it */
        save_log_text(c, method, c->head.url, host ? *host : (struct cw_span){"", 0});
    if (!host) {
        cw_http_local_reply(c, 400, "missing Host header", true, NULL);
        return;
    }
    uint64_t limit = c->w->cfg->max_request_body;
    if (limit && (p->flags & F_CONTENT_LENGTH) && p->content_length > limit) {
        c->keep_alive = false; /* the body is not read: only a close keeps framing safe */
        cw_http_local_reply(c, 413, "request body too large", true, NULL);
        return;
    }
    if (!chunked_last(p, &c->head)) {
        c->keep_alive = false;
        cw_http_local_reply(c, 400, "malformed request: Transfer-Encoding must end with chunked",
                            true, NULL);
        return;
    }
    req.host = strip_port(*host);
    const struct cw_virtual_host *vh = cw_router_vhost(c->listener, req.host);
    if (!vh) {
        struct cw_cluster *cl = cw_router_exposed(c->listener, req.host);
        if (cl)
            cw_http_forward(c, NULL, -1, &req, cl);
        else
            cw_http_local_reply(c, 404, "no route: unknown host", true, NULL);
        return;
    }
    int matcher = -1;
    const struct cw_route *r = cw_router_match(vh, &req, &matcher);
    ex->route = r;
    if (!r) {
        cw_http_local_reply(c, 404, "no route matches", true, NULL);
        return;
    }
    switch (r->kind) {
    case CW_ROUTE_FAILED:
        cw_http_local_reply(c, 500, r->failure, true, NULL);
        return;
    case CW_ROUTE_DIRECT_RESPONSE:
        cw_http_local_reply(c, (int)r->http->direct.status, r->http->direct.body, false, NULL);
        return;
    case CW_ROUTE_REDIRECT:
        redirect(c, r, req.host, req.path);
        return;
    case CW_ROUTE_FORWARD:
        cw_http_forward(c, r, matcher, &req, cw_worker_pick_cluster(c->w, r));
        return;
    }
}

static int parse_error_status(llhttp_errno_t err, const struct cw_http_head *h, size_t len)
{
    if (err == HPE_USER && h->too_many_headers)
        return 431;
    if (len >= CW_HTTP_BUFFER)
        return 431;
    return 400;
}

/* Parses what the buffer holds while a request head is awaited. */
static void parse_head(struct http_conn *c)
{
    if (c->parsed == c->len) {
        c->len = c->parsed = 0;
        cw_http_start_reading(c);
        return;
    }
    if (c->head.n_headers == 0 && c->parsed > 0 && c->parser.method == 0)
        cw_http_compact(c);
    llhttp_errno_t err = llhttp_execute(&c->parser, c->buf + c->parsed, c->len - c->parsed);
    if (err == HPE_OK) {
        c->parsed = c->len;
        if (c->len == CW_HTTP_BUFFER) {
            c->keep_alive = false;
            c->ex.bytes_in = c->len;
            cw_http_local_reply(c, 431, "request head larger than 32 KiB", true, NULL);
            return;
        }
        cw_http_start_reading(c);
        return;
    }
    if (err == HPE_PAUSED) {
        c->parsed = (size_t)(llhttp_get_error_pos(&c->parser) - c->buf);
        llhttp_resume(&c->parser);
        on_request_head(c);
        return;
    }
    c->keep_alive = false;
    char why[160];
    snprintf(why, sizeof(why), "malformed request: %s", llhttp_get_error_reason(&c->parser));
    int status = parse_error_status(err, &c->head, c->len);
    c->ex.reason = status == 431 ? "too many request headers" : "malformed request";
    c->ex.bytes_in = c->len; /* what the client sent before it was refused */
    cw_http_local_reply(c, status, status == 431 ? "too many request headers" : why, true, NULL);
}

void cw_http_process(struct http_conn *c)
{
    if (c->closing || c->writing)
        return;
    if (c->state == HTTP_READING_HEAD)
        parse_head(c);
    else if (c->state == HTTP_FORWARDING && !c->ex.req_done)
        cw_http_forward_body(c);
}

/* ---- accepting ---- */

static void client_address(struct http_conn *c, const struct sockaddr_storage *peer)
{
    strcpy(c->client_ip, "unknown");
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->client_ip,
                  sizeof(c->client_ip));
    else if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->client_ip,
                  sizeof(c->client_ip));
}

void cw_http_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer)
{
    struct cw_worker *w = wl->worker;
    struct http_conn *c = cw_xcalloc(1, sizeof(*c));
    if (cw_sock_adopt(&w->io, &c->sock, fd) != 0) {
        free(c);
        return;
    }
    c->w = w;
    c->gen = cw_generation_ref(wl->worker->gen);
    c->listener = wl->listener;
    c->accepted_on = wl;
    c->link.force_close = force_close;
    c->link.drain = drain;
    c->buf = cw_xmalloc(CW_HTTP_BUFFER);
    c->sock.data = c->timer.data = c;
    cw_worker_track(w, &c->link);
    client_address(c, peer);
    llhttp_init(&c->parser, HTTP_REQUEST, &cw_http_head_settings);
    c->parser.data = &c->head;
    cw_http_set_deadline(c, DEADLINE_IDLE);
    cw_http_start_reading(c);
}
