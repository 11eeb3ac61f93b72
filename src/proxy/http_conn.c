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

#include "proxy/http_int.h"
#include "proxy/router.h"
#include "util/regex.h"
#include "util/xalloc.h"

static void process(struct http_conn *c);
static void forward_body(struct http_conn *c);
static void start_reading(struct http_conn *c);
static void stop_reading(struct http_conn *c);
static void compact(struct http_conn *c);

/* ---- lifetime ---- */

static void on_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    cw_worker_untrack(c->w, &c->link);
    cw_out_free(&c->ex.head_out);
    cw_out_free(&c->reply);
    cw_out_free(&c->resp_head);
    free(c->ex.log_text);
    free(c->buf);
    free(c);
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
    char route[256], locality[192];
    const struct cw_host *h = ex->up ? cw_upstream_host(ex->up) : NULL;
    if (ex->route)
        snprintf(route, sizeof(route), "%s/%s:%s", ex->route->table->obj.meta.ns,
                 ex->route->table->obj.meta.name, ex->route->name);
    if (h)
        cw_format_locality(locality, sizeof(locality), h->endpoint);
    struct cw_access_record r = {
        .protocol = "http",
        .listener = c->listener->port,
        .method = method,
        .path = path,
        .host = host,
        .route = ex->route ? route : (ex->cluster ? "exposed" : NULL),
        .service = ex->cluster ? ex->cluster->name : NULL,
        .endpoint = h ? h->text : NULL,
        .locality = h ? locality : NULL,
        .priority = h ? (int)h->endpoint->priority : -1,
        .status = ex->status,
        .bytes_in = ex->bytes_in,
        .bytes_out = ex->bytes_out,
        .duration_ms = cw_worker_now(c->w) - ex->start_ms,
        .retries = ex->n_tried > 1 ? ex->n_tried - 1 : 0,
        .reason = ex->reason,
    };
    cw_access_log_add(log, &c->w->log, &r);
}

static void end_exchange(struct http_conn *c, bool upstream_reusable)
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
}

static void close_conn(struct http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->state != HTTP_READING_HEAD)
        end_exchange(c, false);
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->sock, on_closed);
}

static void force_close(struct cw_conn_link *link)
{
    close_conn((struct http_conn *)link);
}

/* ---- timers ---- */

static void on_timer(uv_timer_t *t);

static void set_deadline(struct http_conn *c, enum http_deadline d)
{
    const struct cw_timeouts *to = &c->w->cfg->timeouts;
    uint64_t ms = d == DEADLINE_HEADERS    ? to->request_headers_ms
                  : d == DEADLINE_CONNECT  ? to->connect_ms
                  : d == DEADLINE_RESPONSE ? to->upstream_ms
                                           : to->idle_ms;
    c->deadline = d;
    c->deadline_start = cw_worker_now(c->w);
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* ---- local replies ---- */

static void on_reply_written(uv_write_t *req, int status)
{
    struct http_conn *c = req->data;
    c->writing = false;
    cw_out_free(&c->reply);
    bool close = !c->keep_alive || status < 0;
    end_exchange(c, false);
    if (close || c->closing) {
        close_conn(c);
        return;
    }
    c->state = HTTP_READING_HEAD;
    llhttp_reset(&c->parser);
    set_deadline(c, DEADLINE_IDLE);
    compact(c);
    process(c);
}

/* Answers the current request locally with <status> and a one-line reason. */
static void local_reply(struct http_conn *c, int status, const char *body, bool text,
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
    uv_timer_stop(&c->timer);
    cw_http_write_local_reply(&c->reply, status, body, text, extra, !c->keep_alive);
    ex->bytes_out = c->reply.len;
    if (!c->keep_alive)
        stop_reading(c);
    uv_buf_t b = uv_buf_init(c->reply.p, (unsigned)c->reply.len);
    c->writing = true;
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->sock, &b, 1, on_reply_written) != 0)
        close_conn(c);
}

static void on_timer(uv_timer_t *t)
{
    struct http_conn *c = t->data;
    switch (c->deadline) {
    case DEADLINE_IDLE: {
        /* Traffic in either direction moves the deadline; the timer is re-armed lazily here
         * rather than on every read. */
        uint64_t quiet = cw_worker_now(c->w) - c->last_activity;
        uint64_t idle = c->w->cfg->timeouts.idle_ms;
        if (c->last_activity > c->deadline_start && quiet < idle) {
            c->deadline_start = c->last_activity;
            uv_timer_start(&c->timer, on_timer, idle - quiet, 0);
            break;
        }
        if (c->state == HTTP_FORWARDING && c->ex.resp_started)
            cw_http_abort(c, "idle timeout");
        else
            close_conn(c);
        break;
    }
    case DEADLINE_HEADERS:
        c->keep_alive = false;
        local_reply(c, 408, "request headers not received in time", true, NULL);
        break;
    case DEADLINE_CONNECT:
        cw_http_upstream_failed(c, "connect timeout", true);
        break;
    case DEADLINE_RESPONSE:
        if (c->ex.up) {
            cw_upstream_release(c->ex.up, false);
            c->ex.up = NULL;
        }
        c->keep_alive = c->keep_alive && c->ex.req_done;
        local_reply(c, 504, "upstream timeout", true, NULL);
        break;
    }
}

/* ---- reading requests ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct http_conn *c = h->data;
    buf->base = c->buf + c->len;
    buf->len = CW_HTTP_BUFFER - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct http_conn *c = s->data;
    if (nread == 0)
        return;
    if (nread == UV_ENOBUFS) {
        /* The buffer is full of pipelined bytes: wait until the current exchange ends. */
        stop_reading(c);
        return;
    }
    if (nread < 0) {
        if (c->state == HTTP_FORWARDING && c->ex.req_done && nread == UV_EOF) {
            /* The client finished sending; the response may still come. */
            uv_read_stop(s);
            c->reading = false;
            c->keep_alive = false;
            return;
        }
        close_conn(c);
        return;
    }
    c->len += (size_t)nread;
    c->last_activity = cw_worker_now(c->w);
    if (c->state == HTTP_READING_HEAD && c->deadline == DEADLINE_IDLE)
        set_deadline(c, DEADLINE_HEADERS);
    process(c);
}

static void start_reading(struct http_conn *c)
{
    if (!c->reading && !c->closing && c->len < CW_HTTP_BUFFER) {
        c->reading = true;
        uv_read_start((uv_stream_t *)&c->sock, on_alloc, on_read);
    }
}

static void stop_reading(struct http_conn *c)
{
    if (c->reading) {
        c->reading = false;
        uv_read_stop((uv_stream_t *)&c->sock);
    }
}

/* Moves unparsed bytes to the front so the next head has the whole buffer. */
static void compact(struct http_conn *c)
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

/* The path sent upstream: pathRewrite on the matched prefix or exact path, or regexRewrite. */
static struct cw_span rewrite_path(struct http_conn *c, const struct cw_route *r, int matcher,
                                   struct cw_span path, struct cw_span query, char *out,
                                   size_t out_size)
{
    const struct cw_forward_to *f = r->forward;
    struct cw_span target = {path.p,
                             path.len + (query.len || path.p[path.len] == '?' ? query.len + 1 : 0)};
    size_t keep = 0; /* bytes of the old path replaced */
    const char *with = NULL;
    if (f && f->path_rewrite && matcher >= 0) {
        const struct cw_http_matcher *m = &r->http->matchers.v[matcher];
        keep = m->uri_kind == CW_URI_PREFIX ? strlen(m->uri) : path.len;
        with = f->path_rewrite;
    }
    if (f && r->rewrite_regex) {
        size_t n = out_size;
        if (cw_regex_replace(r->rewrite_regex, path.p, path.len, f->regex_rewrite_substitution, out,
                             &n) == 0 &&
            n + 1 + query.len < out_size) {
            if (query.len) {
                out[n++] = '?';
                memcpy(out + n, query.p, query.len);
                n += query.len;
            }
            return (struct cw_span){out, n};
        }
        return target;
    }
    (void)c;
    if (!with)
        return target;
    size_t wl = strlen(with), rest = target.len - keep;
    if (wl + rest >= out_size)
        return target;
    memcpy(out, with, wl);
    memcpy(out + wl, target.p + keep, rest);
    return (struct cw_span){out, wl + rest};
}

static const char *upstream_host_header(const struct cw_route *r, const struct cw_cluster *cl)
{
    const struct cw_forward_to *f = r ? r->forward : NULL;
    if (f && f->host_rewrite)
        return f->host_rewrite;
    if (f && f->auto_host_rewrite && cl->host)
        return cl->host;
    return NULL;
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
        local_reply(c, 500, "redirect target too long", true, NULL);
        return;
    }
    local_reply(c, (int)rd->code, NULL, false, location);
}

static void forward(struct http_conn *c, const struct cw_route *r, int matcher,
                    const struct cw_route_request *req, struct cw_cluster *cl)
{
    struct exchange *ex = &c->ex;
    ex->cluster = cl;
    ex->uc = &c->w->cfg->upstreams->clusters[cl->index];
    if (cl->unroutable || ex->uc->n_hosts == 0) {
        local_reply(c, 503, "no healthy upstream", true, NULL);
        return;
    }
    char path_buf[8192];
    struct cw_span target =
        r ? rewrite_path(c, r, matcher, req->path, req->query, path_buf, sizeof(path_buf))
          : c->head.url;
    if (!r)
        target = c->head.url;
    struct cw_forward_head fh = {
        .method = req->method,
        .path = target,
        .host = upstream_host_header(r, cl),
        .client_ip = c->client_ip,
    };
    cw_http_write_request_head(&ex->head_out, &c->head, &fh);
    /* The client stays readable (no epoll change per request): pipelined bytes wait in the
     * buffer, and a full buffer stops reading (UV_ENOBUFS). */
    c->state = HTTP_FORWARDING;
    set_deadline(c, DEADLINE_CONNECT);
    if (!cw_upstream_acquire(c))
        local_reply(c, 503, "no healthy upstream", true, NULL);
}

/* A complete request head is parsed: route it. */
static void on_request_head(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    llhttp_t *p = &c->parser;
    ex->start_ms = cw_worker_now(c->w);
    ex->req_has_body = (p->flags & F_CHUNKED) || p->content_length > 0;
    ex->req_done = !ex->req_has_body;
    c->keep_alive = llhttp_should_keep_alive(p);
    const char *method = llhttp_method_name((llhttp_method_t)p->method);
    ex->head_only = p->method == HTTP_HEAD;
    struct cw_route_request req = {.method = method, .head = &c->head, .port = c->listener->port};
    cw_router_split_target(c->head.url, &req.path, &req.query);
    const struct cw_span *host = cw_http_header(&c->head, "host");
    if (c->w->cfg->access_log) /* copied only when someone reads it */
        save_log_text(c, method, c->head.url, host ? *host : (struct cw_span){"", 0});
    if (!host) {
        local_reply(c, 400, "missing Host header", true, NULL);
        return;
    }
    req.host = strip_port(*host);
    const struct cw_virtual_host *vh = cw_router_vhost(c->listener, req.host);
    if (!vh) {
        struct cw_cluster *cl = cw_router_exposed(c->listener, req.host);
        if (cl)
            forward(c, NULL, -1, &req, cl);
        else
            local_reply(c, 404, "no route: unknown host", true, NULL);
        return;
    }
    int matcher = -1;
    const struct cw_route *r = cw_router_match(vh, &req, &matcher);
    ex->route = r;
    if (!r) {
        local_reply(c, 404, "no route matches", true, NULL);
        return;
    }
    switch (r->kind) {
    case CW_ROUTE_FAILED:
        local_reply(c, 500, r->failure, true, NULL);
        return;
    case CW_ROUTE_DIRECT_RESPONSE:
        local_reply(c, (int)r->http->direct.status, r->http->direct.body, false, NULL);
        return;
    case CW_ROUTE_REDIRECT:
        redirect(c, r, req.host, req.path);
        return;
    case CW_ROUTE_FORWARD:
        forward(c, r, matcher, &req, cw_worker_pick_cluster(c->w, r));
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
        start_reading(c);
        return;
    }
    if (c->head.n_headers == 0 && c->parsed > 0 && c->parser.method == 0)
        compact(c);
    llhttp_errno_t err = llhttp_execute(&c->parser, c->buf + c->parsed, c->len - c->parsed);
    if (err == HPE_OK) {
        c->parsed = c->len;
        if (c->len == CW_HTTP_BUFFER) {
            c->keep_alive = false;
            local_reply(c, 431, "request head larger than 32 KiB", true, NULL);
            return;
        }
        start_reading(c);
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
    c->ex.reason = NULL;
    int status = parse_error_status(err, &c->head, c->len);
    c->ex.reason = status == 431 ? "too many request headers" : "malformed request";
    local_reply(c, status, status == 431 ? "too many request headers" : why, true, NULL);
}

static void process(struct http_conn *c)
{
    if (c->closing || c->writing)
        return;
    if (c->state == HTTP_READING_HEAD)
        parse_head(c);
    else if (c->state == HTTP_FORWARDING && !c->ex.req_done)
        forward_body(c);
}

/* ---- forwarding ---- */

/* Sends the request body bytes the buffer holds; the write completion asks for more. */
static void forward_body(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    if (ex->req_done || c->writing || !ex->up)
        return;
    if (c->parsed == c->len) {
        c->len = c->parsed = 0;
        start_reading(c);
        return;
    }
    /* Reading goes on meanwhile: new bytes land after <end>, and a full buffer stops it. */
    const char *start = c->buf + c->parsed;
    llhttp_errno_t err = llhttp_execute(&c->parser, start, c->len - c->parsed);
    const char *end = c->buf + c->len;
    if (err == HPE_PAUSED) {
        end = llhttp_get_error_pos(&c->parser);
        llhttp_resume(&c->parser);
        ex->req_done = true;
    } else if (err != HPE_OK) {
        cw_http_abort(c, "malformed request body");
        return;
    }
    c->parsed = (size_t)(end - c->buf);
    ex->bytes_in += (uint64_t)(end - start);
    c->writing = true;
    if (!cw_upstream_write(ex->up, start, (size_t)(end - start)))
        cw_http_abort(c, "upstream write failed");
}

void cw_http_send_request(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    set_deadline(c, DEADLINE_RESPONSE);
    ex->bytes_in += ex->head_out.len;
    c->writing = true;
    /* head_out stays allocated until the exchange ends, so the write may complete later. */
    if (!cw_upstream_write(ex->up, ex->head_out.p, ex->head_out.len))
        cw_http_upstream_failed(c, "upstream write failed", false);
}

void cw_http_upstream_wrote(struct http_conn *c, int status)
{
    c->writing = false;
    if (status < 0) {
        if (!c->ex.resp_started)
            cw_http_upstream_failed(c, "upstream write failed", false);
        else
            cw_http_abort(c, "upstream write failed");
        return;
    }
    forward_body(c);
}

void cw_http_upstream_failed(struct http_conn *c, const char *why, bool before_sending)
{
    struct exchange *ex = &c->ex;
    bool stale = ex->up && cw_upstream_reused(ex->up) && !ex->stale_retried;
    if (ex->up) {
        cw_upstream_release(ex->up, false);
        ex->up = NULL;
    }
    c->writing = false;
    ex->reason = why;
    /* Retrying is safe when no byte of the request body is gone: a failed connect, or a pooled
     * connection the upstream had closed (retried once, on a fresh connection). */
    bool body_sent = ex->req_has_body && c->parsed > 0 && !before_sending;
    if ((before_sending || (stale && !ex->req_has_body)) && !body_sent) {
        if (stale && !before_sending) {
            ex->stale_retried = true;
            ex->n_tried--; /* the same host may be tried again on a fresh connection */
        }
        set_deadline(c, DEADLINE_CONNECT);
        if (cw_upstream_acquire(c))
            return;
    }
    c->keep_alive = c->keep_alive && ex->req_done;
    local_reply(c, 502, why, true, NULL);
}

void cw_http_abort(struct http_conn *c, const char *why)
{
    c->ex.reason = why;
    if (!c->ex.status)
        c->ex.status = 502;
    close_conn(c);
}

struct head_write {
    uv_write_t req;
    struct cw_out out;
};

static void on_head_written(uv_write_t *req, int status)
{
    (void)status;
    struct head_write *hw = (struct head_write *)req;
    cw_out_free(&hw->out);
    free(hw);
}

void cw_http_response_head(struct http_conn *c, struct up_conn *up)
{
    struct exchange *ex = &c->ex;
    int status = cw_upstream_status(up);
    if (status >= 200) {
        ex->status = status;
        ex->resp_started = true;
        ex->reason = NULL;
        set_deadline(c, DEADLINE_IDLE);
        if (cw_upstream_needs_eof(up) || !ex->req_done)
            c->keep_alive = false; /* framing ends with a close, or the request was cut short */
    }
    if (status >= 200) {
        /* Kept until the first body bytes (or the end) so that both go out in one write. */
        c->resp_head.len = 0;
        cw_upstream_client_head(up, &c->resp_head, !c->keep_alive);
        ex->bytes_out += c->resp_head.len;
        c->head_pending = true;
        return;
    }
    /* An interim response (100 Continue) goes out at once. */
    struct head_write *hw = cw_xcalloc(1, sizeof(*hw));
    cw_upstream_client_head(up, &hw->out, false);
    ex->bytes_out += hw->out.len;
    uv_buf_t b = uv_buf_init(hw->out.p, (unsigned)hw->out.len);
    if (uv_write(&hw->req, (uv_stream_t *)&c->sock, &b, 1, on_head_written) != 0) {
        cw_out_free(&hw->out);
        free(hw);
        cw_http_abort(c, "client write failed");
    }
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    close_conn(req->data);
}

/* Closes after everything queued for the client is written. */
static void close_when_written(struct http_conn *c)
{
    c->shutdown_req.data = c;
    if (c->closing || uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->sock, on_shutdown) != 0)
        close_conn(c);
}

static void finish_exchange(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    bool reusable = ex->up && cw_upstream_keep_alive(ex->up) && ex->req_done;
    end_exchange(c, reusable);
    if (!c->keep_alive) {
        stop_reading(c);
        close_when_written(c);
        return;
    }
    c->state = HTTP_READING_HEAD;
    llhttp_reset(&c->parser);
    set_deadline(c, DEADLINE_IDLE);
    compact(c);
    process(c); /* a pipelined request may be waiting in the buffer */
}

static void after_response_write(struct http_conn *c, bool done)
{
    if (c->closing)
        return;
    if (done)
        finish_exchange(c);
    else
        cw_upstream_resume(c->ex.up);
}

static void on_response_written(uv_write_t *req, int status)
{
    struct http_conn *c = req->data;
    c->writing = false;
    if (status < 0) {
        cw_http_abort(c, "client write failed");
        return;
    }
    after_response_write(c, c->response_done);
}

/* Drops the first <w> written bytes from <b> (an array of <*n> buffers). */
static void skip_written(uv_buf_t *b, unsigned *n, size_t w)
{
    unsigned i = 0;
    while (i < *n && w >= b[i].len)
        w -= b[i++].len;
    memmove(b, b + i, sizeof(*b) * (*n - i));
    *n -= i;
    if (*n) {
        b[0].base += w;
        b[0].len -= (unsigned)w;
    }
}

void cw_http_response_data(struct http_conn *c, const char *p, size_t n, bool done)
{
    c->last_activity = cw_worker_now(c->w);
    c->ex.bytes_out += n;
    c->ex.resp_done = done;
    uv_buf_t b[2];
    unsigned nb = 0;
    if (c->head_pending) {
        b[nb++] = uv_buf_init(c->resp_head.p, (unsigned)c->resp_head.len);
        c->head_pending = false;
    }
    if (n)
        b[nb++] = uv_buf_init((char *)p, (unsigned)n);
    size_t total = (nb > 0 ? b[0].len : 0) + (nb > 1 ? b[1].len : 0);
    if (total == 0) {
        after_response_write(c, done);
        return;
    }
    int w = uv_try_write((uv_stream_t *)&c->sock, b, nb);
    if (w == (int)total) {
        after_response_write(c, done);
        return;
    }
    if (w < 0 && w != UV_EAGAIN) {
        cw_http_abort(c, "client write failed");
        return;
    }
    skip_written(b, &nb, w > 0 ? (size_t)w : 0);
    /* The client is slower than the upstream: stop reading the upstream until this is out. */
    if (c->ex.up)
        cw_upstream_pause(c->ex.up);
    c->response_done = done;
    c->write_req.data = c;
    if (uv_write(&c->write_req, (uv_stream_t *)&c->sock, b, nb, on_response_written) != 0)
        cw_http_abort(c, "client write failed");
}

/* ---- accepting ---- */

static void client_address(struct http_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    strcpy(c->client_ip, "unknown");
    if (uv_tcp_getpeername(&c->sock, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->client_ip,
                  sizeof(c->client_ip));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->client_ip,
                  sizeof(c->client_ip));
}

void cw_http_accept(struct cw_worker_listener *wl)
{
    struct cw_worker *w = wl->worker;
    struct http_conn *c = cw_xcalloc(1, sizeof(*c));
    c->w = w;
    c->listener = wl->listener;
    c->link.force_close = force_close;
    c->buf = cw_xmalloc(CW_HTTP_BUFFER);
    uv_tcp_init(&w->loop, &c->sock);
    uv_timer_init(&w->loop, &c->timer);
    c->sock.data = c->timer.data = c;
    c->open_handles = 2;
    cw_worker_track(w, &c->link);
    if (uv_accept((uv_stream_t *)&wl->handle, (uv_stream_t *)&c->sock) != 0) {
        close_conn(c);
        return;
    }
    uv_tcp_nodelay(&c->sock, 1);
    client_address(c);
    llhttp_init(&c->parser, HTTP_REQUEST, &cw_http_head_settings);
    c->parser.data = &c->head;
    set_deadline(c, DEADLINE_IDLE);
    start_reading(c);
}
