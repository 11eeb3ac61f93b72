/*
 * Forwarding one request upstream and its response back (split from http_conn.c, which owns
 * the client connection): the request head with rewrites, request and response bodies streamed
 * with their framing, retries before any byte is sent, and the end of the exchange.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http_int.h"
#include "proxy/router.h"
#include "util/regex.h"
#include "util/xalloc.h"

/* The path sent upstream: pathRewrite on the matched prefix or exact path, or regexRewrite. */
static struct cw_span rewrite_path(const struct cw_route *r, int matcher, struct cw_span path,
                                   struct cw_span query, char *out, size_t out_size)
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
        if (cw_regex_replace(r->rewrite_regex, path.p, path.len, out, &n) == 0 &&
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

void cw_http_forward(struct http_conn *c, const struct cw_route *r, int matcher,
                     const struct cw_route_request *req, struct cw_cluster *cl)
{
    struct exchange *ex = &c->ex;
    ex->cluster = cl;
    ex->uc = &c->gen->upstreams->clusters[cl->index];
    if (cl->unroutable || ex->uc->n_hosts == 0) {
        cw_http_local_reply(c, 503, "no healthy upstream", true, NULL);
        return;
    }
    char path_buf[8192];
    struct cw_span target =
        r ? rewrite_path(r, matcher, req->path, req->query, path_buf, sizeof(path_buf))
          : c->head.url;
    struct cw_forward_head fh = {
        .method = req->method,
        .path = target,
        .host = upstream_host_header(r, cl),
        .client_ip = c->client_ip,
    };
    cw_http_write_request_head(&ex->head_out, &c->head, &fh);
    /* The client stays readable (no epoll change per request): pipelined bytes wait in the
     * buffer, and a full buffer stops reading (CW_ENOBUFS). */
    c->state = HTTP_FORWARDING;
    cw_http_set_deadline(c, DEADLINE_CONNECT);
    if (!cw_upstream_acquire(c))
        cw_http_local_reply(c, 503, "no healthy upstream", true, NULL);
}

/* A complete request head is parsed: route it. */
/* ---- forwarding ---- */

/* Sends the request body bytes the buffer holds; the write completion asks for more. */
void cw_http_forward_body(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    /* Body bytes that arrive while the upstream connect is under way wait in the buffer. */
    if (ex->req_done || c->writing || !ex->head_sent)
        return;
    if (c->parsed == c->len) {
        c->len = c->parsed = 0;
        cw_http_start_reading(c);
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
    ex->body_in += (uint64_t)(end - start);
    uint64_t limit = c->w->cfg->max_request_body;
    if (limit && ex->body_in > limit) { /* a chunked body that outgrew the limit */
        if (ex->resp_started) {
            cw_http_abort(c, "request body too large");
            return;
        }
        cw_http_drop_upstream(c);
        c->keep_alive = false;
        cw_http_local_reply(c, 413, "request body too large", true, NULL);
        return;
    }
    c->writing = true;
    if (!cw_upstream_write(ex->up, start, (size_t)(end - start)))
        cw_http_abort(c, "upstream write failed");
}

void cw_http_send_request(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    /* The upstream's time to answer counts from the end of the request: while a body is on
     * its way, only a stall (no progress for the idle timeout) ends the exchange. */
    cw_http_set_deadline(c, ex->req_done ? DEADLINE_RESPONSE : DEADLINE_IDLE);
    ex->head_sent = true;
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
    if (!c->ex.req_done) {
        cw_http_forward_body(c);
        return;
    }
    if (c->ex.req_has_body && !c->ex.resp_started) /* the body's last byte is out */
        cw_http_set_deadline(c, DEADLINE_RESPONSE);
}

void cw_http_report(struct http_conn *c, int status, const char *cause)
{
    struct exchange *ex = &c->ex;
    if (ex->host)
        cw_host_report(c->gen->upstreams, ex->uc, (uint32_t)(ex->host - ex->uc->hosts), status,
                       cause);
}

void cw_http_upstream_failed(struct http_conn *c, const char *why, bool before_sending)
{
    struct exchange *ex = &c->ex;
    bool stale = ex->up && cw_upstream_reused(ex->up) && !ex->stale_retried;
    cw_http_drop_upstream(c);
    c->writing = false;
    ex->head_sent = false;
    ex->reason = why;
    /* A pooled connection the upstream closed while idle says nothing about the host. */
    if (!stale)
        cw_http_report(c, CW_LOCAL_FAILURE, why);
    /* Retrying is safe when no byte of the request body is gone: a failed connect, or a pooled
     * connection the upstream had closed (retried once, on a fresh connection); and a bodiless
     * idempotent request that got no response may go to another host — once, so that a request
     * that kills its upstream cannot take several hosts down with it. */
    bool body_sent = ex->req_has_body && c->parsed > 0 && !before_sending;
    bool resend = !ex->req_has_body && !ex->resp_started && !before_sending &&
                  (stale || (ex->idempotent && !ex->reset_retried));
    if ((before_sending || resend) && !body_sent) {
        if (stale && !before_sending) {
            ex->stale_retried = true;
            ex->n_tried--; /* the same host may be tried again on a fresh connection */
        } else if (!before_sending) {
            ex->reset_retried = true;
        }
        cw_http_set_deadline(c, DEADLINE_CONNECT);
        if (cw_upstream_acquire(c))
            return;
    }
    c->keep_alive = c->keep_alive && ex->req_done;
    cw_http_local_reply(c, 502, why, true, NULL);
}

void cw_http_drop_upstream(struct http_conn *c)
{
    cw_upstream_release(c->ex.up, false); /* nothing to do without one */
    c->ex.up = NULL;
}

void cw_http_abort(struct http_conn *c, const char *why)
{
    c->ex.reason = why;
    if (!c->ex.status)
        c->ex.status = 502;
    cw_http_close(c);
}

struct head_write {
    struct cw_sock_write req;
    struct cw_out out;
};

static void on_head_written(struct cw_sock_write *req, int status)
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
        cw_http_report(c, status, NULL);
        ex->status = status;
        ex->resp_started = true;
        ex->reason = NULL;
        cw_http_set_deadline(c, DEADLINE_IDLE);
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
    struct cw_buf b = cw_buf_init(hw->out.p, hw->out.len);
    if (cw_sock_write(&c->sock, &hw->req, &b, 1, on_head_written) != 0) {
        cw_out_free(&hw->out);
        free(hw);
        cw_http_abort(c, "client write failed");
    }
}

static void finish_exchange(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    bool reusable = ex->up && cw_upstream_keep_alive(ex->up) && ex->req_done;
    bool body_unread = ex->req_has_body && !ex->req_done; /* the upstream answered early */
    cw_http_end_exchange(c, reusable);
    if (!c->keep_alive) {
        cw_http_end_connection(c, body_unread);
        return;
    }
    c->state = HTTP_READING_HEAD;
    llhttp_reset(&c->parser);
    cw_http_set_deadline(c, DEADLINE_IDLE);
    cw_http_compact(c);
    cw_http_process(c); /* a pipelined request may be waiting in the buffer */
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

static void on_response_written(struct cw_sock_write *req, int status)
{
    struct http_conn *c = req->data;
    c->writing = false;
    if (status < 0) {
        cw_http_abort(c, "client write failed");
        return;
    }
    after_response_write(c, c->response_done);
}

/* Body bytes up to this size are copied behind the response head, so that both leave in one
 * buffer: the copy costs less than sendmsg's header and iovec handling. */
#define SMALL_BODY_COPY 4096

void cw_http_response_data(struct http_conn *c, const char *p, size_t n, bool done)
{
    c->last_activity = cw_worker_now(c->w);
    c->ex.bytes_out += n;
    struct cw_buf b[2];
    unsigned nb = 0;
    if (c->head_pending && n && n <= SMALL_BODY_COPY) { /* one buffer: one send(2), no iovecs */
        cw_out_put(&c->resp_head, p, n);
        n = 0;
    }
    if (c->head_pending) {
        b[nb++] = cw_buf_init(c->resp_head.p, c->resp_head.len);
        c->head_pending = false;
    }
    if (n)
        b[nb++] = cw_buf_init((char *)p, n);
    size_t total = (nb > 0 ? b[0].len : 0) + (nb > 1 ? b[1].len : 0);
    if (total == 0) {
        after_response_write(c, done);
        return;
    }
    /* The response that ends a connection takes its FIN along: finish_exchange closes the
     * connection (or shuts it down) right after. */
    bool last = done && !c->keep_alive;
    int w = last ? cw_sock_try_write_last(&c->sock, b, nb) : cw_sock_try_write(&c->sock, b, nb);
    if (w == (int)total) {
        after_response_write(c, done);
        return;
    }
    if (w < 0 && w != CW_EAGAIN) {
        cw_http_abort(c, "client write failed");
        return;
    }
    cw_sock_bufs_skip(b, &nb, w > 0 ? (size_t)w : 0);
    /* The client is slower than the upstream: stop reading the upstream until this is out. */
    if (c->ex.up)
        cw_upstream_pause(c->ex.up);
    c->response_done = done;
    c->write_req.data = c;
    if (cw_sock_write(&c->sock, &c->write_req, b, nb, on_response_written) != 0)
        cw_http_abort(c, "client write failed");
}
