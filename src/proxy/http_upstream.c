/*
 * Upstream HTTP/1.1 connections and the per-worker pool. A pool belongs to one worker and one
 * host, so taking and returning a connection touches no shared state. Idle pooled connections
 * keep reading so that an upstream closing them is noticed; one the upstream closed anyway
 * (a race) fails before any response byte and the request is retried once on a fresh one.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy/http_int.h"
#include "http/response_head.h"
#include "util/xalloc.h"

#define POOL_IDLE_LIMIT 64

struct up_conn {
    struct cw_sock sock;
    struct cw_sock_write write_req;
    llhttp_t parser;
    struct cw_http_head head;
    /* A plain head (response_head.h) is parsed by the fast path and its body counted here;
     * any other response goes through llhttp, which is started only then. */
    struct cw_response_framing plain;
    uint64_t body_left; /* of a plain response */
    char *buf;
    size_t len, parsed;
    struct http_conn *owner; /* NULL while idle in the pool */
    struct cw_worker *w;
    const struct cw_generation *gen; /* cluster and host_index are indices into its hosts */
    const struct cw_host *host;
    uint32_t cluster, host_index;
    struct up_conn *next, *prev; /* pool list */
    uint64_t idle_since;
    bool reused, closing, head_done, in_pool;
    bool is_plain;       /* this response took the fast path */
    bool parser_started; /* llhttp has seen bytes of this response */
    bool paused;         /* bytes were handed to the client and wait to be written */
    bool reading;        /* the socket is registered for reading */
};

struct host_pool {
    struct up_conn head; /* list head */
    uint32_t idle;
};

/* Per worker: pools[cluster][host] of the worker's generation, allocated on first use. */
static struct host_pool *pool_of(struct cw_worker *w, uint32_t cluster, uint32_t host)
{
    if (!w->pools[cluster]) {
        uint32_t n = w->gen->upstreams->clusters[cluster].n_hosts;
        w->pools[cluster] = cw_xcalloc(n + 1, sizeof(struct host_pool));
        for (uint32_t i = 0; i < n; i++) {
            struct host_pool *p = &((struct host_pool *)w->pools[cluster])[i];
            p->head.next = p->head.prev = &p->head;
        }
    }
    return &((struct host_pool *)w->pools[cluster])[host];
}

static void unlink_pool(struct up_conn *u)
{
    if (!u->in_pool)
        return;
    u->prev->next = u->next;
    u->next->prev = u->prev;
    pool_of(u->w, u->cluster, u->host_index)->idle--;
    u->in_pool = false;
}

static void on_closed(struct cw_sock *s)
{
    struct up_conn *u = s->data;
    free(u->buf);
    free(u);
}

static void close_up(struct up_conn *u)
{
    if (u->closing)
        return;
    u->closing = true;
    unlink_pool(u);
    cw_sock_close(&u->sock, on_closed);
}

int cw_upstream_status(const struct up_conn *up)
{
    return up->is_plain ? up->plain.status : up->parser.status_code;
}

void cw_upstream_client_head(const struct up_conn *up, struct cw_out *o, bool close)
{
    cw_http_write_response_head(o, cw_upstream_status(up), &up->head, close);
}

bool cw_upstream_reused(const struct up_conn *up)
{
    return up->reused;
}

bool cw_upstream_keep_alive(const struct up_conn *up)
{
    bool keep = up->is_plain ? up->plain.keep_alive : llhttp_should_keep_alive(&up->parser);
    return keep && up->parsed == up->len;
}

bool cw_upstream_needs_eof(const struct up_conn *up)
{
    return !up->is_plain && llhttp_message_needs_eof(&up->parser);
}

/* ---- reading the response ---- */

static void on_alloc(struct cw_sock *s, struct cw_buf *buf)
{
    struct up_conn *u = s->data;
    buf->base = u->buf + u->len;
    buf->len = CW_HTTP_BUFFER - u->len;
}

/* HEAD responses, 1xx, 204 and 304 end with their head (RFC 9112 §6.3). */
static bool bodyless(const struct up_conn *u)
{
    int st = cw_upstream_status(u);
    bool empty = u->is_plain ? u->plain.content_length == 0
                             : (u->parser.flags & F_CONTENT_LENGTH) &&
                                   !(u->parser.flags & F_CHUNKED) && u->parser.content_length == 0;
    return empty || u->owner->ex.head_only || (st >= 100 && st < 200) || st == 204 || st == 304;
}

/* The next bytes start a new response. */
static void expect_response(struct up_conn *u)
{
    u->head_done = false;
    u->is_plain = false;
    u->parser_started = false;
}

/* llhttp takes this response from its first byte on. */
static void start_parser(struct up_conn *u)
{
    llhttp_init(&u->parser, HTTP_RESPONSE, &cw_http_head_settings);
    u->parser.data = &u->head;
    u->parser_started = true;
}

static void on_read(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf);

/* Registers or unregisters the socket for reading, only on a change (each is an epoll_ctl). */
static void set_reading(struct up_conn *u, bool on)
{
    if (u->reading == on || u->closing)
        return;
    u->reading = on;
    if (on)
        cw_sock_read_start(&u->sock, on_alloc, on_read);
    else
        cw_sock_read_stop(&u->sock);
}

/* Hands the client what the parser found. Processing pauses until the client write is done
 * (cw_upstream_resume), so the bytes handed over stay in place; the socket itself is only
 * unregistered when that write has to wait (cw_upstream_pause). */
static void hand_over(struct up_conn *u, const char *p, size_t n, bool done)
{
    u->paused = true;
    cw_http_response_data(u->owner, p, n, done);
}

static bool on_head(struct up_conn *u)
{
    int st = cw_upstream_status(u);
    cw_http_response_head(u->owner, u);
    if (st >= 100 && st < 200 && st != 101) {
        expect_response(u); /* an interim response: the final one follows */
        return true;
    }
    if (bodyless(u)) {
        hand_over(u, NULL, 0, true);
        return false;
    }
    return true;
}

/* A head that arrived whole in the plain form skips llhttp (response_head.h). */
static bool take_plain_head(struct up_conn *u)
{
    if (u->parser_started)
        return false; /* llhttp has part of this head already */
    size_t n = cw_response_head_parse(u->buf + u->parsed, u->len - u->parsed, &u->head, &u->plain);
    if (n == 0)
        return false;
    u->parsed += n;
    u->is_plain = true;
    u->head_done = true;
    u->body_left = u->plain.content_length;
    return true;
}

/* Hands the client the next bytes of a plain response's body, counted by Content-Length. */
static void hand_over_plain_body(struct up_conn *u)
{
    const char *start = u->buf + u->parsed;
    size_t n = u->len - u->parsed;
    if (n > u->body_left)
        n = (size_t)u->body_left; /* what follows the body is not part of this response */
    u->parsed += n;
    u->body_left -= n;
    hand_over(u, start, n, u->body_left == 0);
}

/* Runs llhttp over the unparsed bytes; false when the response failed (the exchange ended). */
static bool parse_with_llhttp(struct up_conn *u, llhttp_errno_t *err, const char **start)
{
    struct http_conn *c = u->owner;
    if (!u->parser_started)
        start_parser(u);
    *start = u->buf + u->parsed;
    *err = llhttp_execute(&u->parser, *start, u->len - u->parsed);
    const char *end = *err == HPE_OK ? u->buf + u->len : llhttp_get_error_pos(&u->parser);
    if (*err != HPE_OK && *err != HPE_PAUSED) {
        if (!u->head_done)
            cw_http_upstream_failed(c, "invalid response from upstream", false);
        else
            cw_http_abort(c, "invalid response body from upstream");
        return false;
    }
    if (*err == HPE_PAUSED)
        llhttp_resume(&u->parser);
    u->parsed = (size_t)(end - u->buf);
    return true;
}

/* Parses the unparsed bytes and hands the client what belongs to the response. */
static void process(struct up_conn *u)
{
    while (u->owner && u->parsed < u->len && !u->paused) {
        if (!u->head_done && take_plain_head(u)) {
            if (!on_head(u))
                return;
            continue;
        }
        if (u->is_plain) {
            hand_over_plain_body(u);
            return;
        }
        llhttp_errno_t err;
        const char *start;
        if (!parse_with_llhttp(u, &err, &start))
            return;
        if (!u->head_done) {
            if (err != HPE_PAUSED) { /* head incomplete: wait for more */
                if (u->len == CW_HTTP_BUFFER)
                    cw_http_upstream_failed(u->owner, "response head too large", false);
                return;
            }
            u->head_done = true;
            if (!on_head(u))
                return;
            continue;
        }
        hand_over(u, start, (size_t)(u->buf + u->parsed - start), err == HPE_PAUSED);
        return;
    }
    if (u->parsed == u->len)
        u->len = u->parsed = 0; /* everything handed on: reuse the buffer from the start */
}

static void on_read(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf)
{
    (void)buf;
    struct up_conn *u = s->data;
    if (nread == 0)
        return;
    if (nread == CW_ENOBUFS) { /* buffer full while the client catches up */
        set_reading(u, false);
        return;
    }
    if (nread > 0 && u->owner) {
        u->len += (size_t)nread;
        process(u);
        return;
    }
    if (!u->owner) { /* idle in the pool: bytes or EOF mean it cannot be reused */
        close_up(u);
        return;
    }
    struct http_conn *c = u->owner;
    if (nread == CW_EOF && u->head_done && cw_upstream_needs_eof(u)) {
        llhttp_finish(&u->parser);
        hand_over(u, NULL, 0, true);
        return;
    }
    if (!u->head_done)
        cw_http_upstream_failed(c,
                                nread == CW_EOF ? "upstream closed before responding"
                                                : "upstream reset before responding",
                                false);
    else
        cw_http_abort(c, "upstream closed mid-response");
}

void cw_upstream_pause(struct up_conn *u)
{
    u->paused = true;
    set_reading(u, false);
}

void cw_upstream_resume(struct up_conn *u)
{
    u->paused = false;
    if (u->closing)
        return;
    set_reading(u, true);
    process(u);
}

/* ---- writing the request ---- */

static void on_written(struct cw_sock_write *req, int status)
{
    struct up_conn *u = req->data;
    if (u->owner)
        cw_http_upstream_wrote(u->owner, status);
}

bool cw_upstream_write(struct up_conn *u, const char *p, size_t n)
{
    struct cw_buf b = cw_buf_init((char *)p, n);
    int done = cw_sock_try_write(&u->sock, &b, 1);
    if (done == (int)n) {
        cw_http_upstream_wrote(u->owner, 0);
        return true;
    }
    if (done < 0 && done != CW_EAGAIN)
        return false;
    if (done > 0) {
        b.base += done;
        b.len -= (size_t)done;
    }
    u->write_req.data = u;
    return cw_sock_write(&u->sock, &u->write_req, &b, 1, on_written) == 0;
}

/* ---- connecting and pooling ---- */

static void start_exchange(struct up_conn *u, struct http_conn *c)
{
    u->owner = c;
    u->paused = false;
    u->len = u->parsed = 0;
    expect_response(u);
    c->ex.up = u;
    set_reading(u, true);
}

static void on_connected(struct cw_sock *s, int status)
{
    struct up_conn *u = s->data;
    if (u->closing || status == CW_ECANCELED)
        return;
    struct http_conn *c = u->owner;
    if (status < 0) {
        c->ex.up = NULL;
        u->owner = NULL;
        close_up(u);
        cw_http_upstream_failed(c, cw_sock_connect_error(status), true);
        return;
    }
    start_exchange(u, c);
    cw_http_send_request(c);
}

static struct up_conn *take_idle(struct cw_worker *w, uint32_t cluster, uint32_t host)
{
    struct host_pool *p = pool_of(w, cluster, host);
    uint64_t now = cw_worker_now(w);
    while (p->head.next != &p->head) {
        struct up_conn *u = p->head.next; /* most recently returned first: warmest */
        unlink_pool(u);
        if (now - u->idle_since < w->cfg->timeouts.idle_ms)
            return u;
        close_up(u);
    }
    return NULL;
}

bool cw_upstream_acquire(struct http_conn *c)
{
    struct exchange *ex = &c->ex;
    struct cw_worker *w = c->w;
    int h = ex->n_tried < CW_MAX_ATTEMPTS
                ? cw_lb_pick(ex->uc, &w->cursors[ex->cluster->index], ex->tried, ex->n_tried)
                : -1;
    if (h < 0)
        return false;
    ex->tried[ex->n_tried++] = (uint32_t)h;
    ex->host = &ex->uc->hosts[h];
    bool pooled = !ex->stale_retried && c->gen == w->gen; /* pools hold the worker's hosts */
    struct up_conn *u = pooled ? take_idle(w, ex->cluster->index, (uint32_t)h) : NULL;
    if (u) {
        u->reused = true;
        start_exchange(u, c);
        cw_http_send_request(c);
        return true;
    }
    u = cw_xcalloc(1, sizeof(*u));
    u->w = w;
    u->gen = c->gen;
    u->buf = cw_xmalloc(CW_HTTP_BUFFER);
    u->cluster = ex->cluster->index;
    u->host_index = (uint32_t)h;
    u->host = &ex->uc->hosts[h];
    u->owner = c;
    ex->up = u;
    int rc =
        cw_sock_connect(&w->io, &u->sock, (const struct sockaddr *)&u->host->addr, on_connected);
    if (rc != 0) { /* never started: nothing to close */
        ex->up = NULL;
        free(u->buf);
        free(u);
        cw_http_upstream_failed(c, cw_sock_connect_error(rc), true);
        return true;
    }
    u->sock.data = u;
    cw_sock_nodelay(&u->sock);
    return true;
}

void cw_upstream_release(struct up_conn *u, bool reusable)
{
    if (!u)
        return;
    u->owner = NULL;
    bool poolable = reusable && !u->closing && u->gen == u->w->gen;
    struct host_pool *p = poolable ? pool_of(u->w, u->cluster, u->host_index) : NULL;
    if (!p || p->idle >= POOL_IDLE_LIMIT || u->w->draining) {
        close_up(u);
        return;
    }
    u->idle_since = cw_worker_now(u->w);
    u->reused = false;
    u->next = p->head.next;
    u->prev = &p->head;
    p->head.next->prev = u;
    p->head.next = u;
    p->idle++;
    u->in_pool = true;
    /* Keep reading: an upstream that closes the idle connection is noticed at once. */
    u->paused = false;
    set_reading(u, true);
}

/* Closes the pooled connections idle since before <before> (all of them: UINT64_MAX). */
static void close_idle_since(struct cw_worker *w, uint64_t before)
{
    const struct cw_upstreams *ups = w->gen->upstreams;
    for (uint32_t c = 0; c < ups->n; c++) {
        if (!w->pools[c])
            continue;
        for (uint32_t h = 0; h < ups->clusters[c].n_hosts; h++) {
            struct host_pool *p = pool_of(w, c, h);
            struct up_conn *u = p->head.prev; /* oldest at the tail */
            while (u != &p->head) {
                struct up_conn *prev = u->prev;
                if (u->idle_since < before)
                    close_up(u);
                u = prev;
            }
        }
    }
}

void cw_upstream_sweep(struct cw_worker *w)
{
    uint64_t now = cw_worker_now(w), idle = w->cfg->timeouts.idle_ms;
    close_idle_since(w, now > idle ? now - idle + 1 : 0);
}

void cw_upstream_close_idle(struct cw_worker *w)
{
    close_idle_since(w, UINT64_MAX);
}
