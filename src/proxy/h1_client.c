/*
 * Upstream HTTP/1.1 connections and the per-worker pools (h1_client.h). A plain response head
 * (response_head.h) is parsed by the fast path and its body counted here; any other response
 * goes through llhttp, which is started only then.
 */
#include "proxy/h1_client.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "event/transport.h"
#include "http/chunked.h"
#include "event/tls.h"
#include "http/response_head.h"
#include "proxy/upstream_connect.h"
#include "util/xalloc.h"

#define POOL_IDLE_LIMIT 64
#define SWEEP_EVERY_MS  1000

/* What a response in hand needs; lives in a work block while the connection has one. */
struct work {
    llhttp_t parser;
    struct cw_http_head head;
    struct cw_response_framing plain;
    struct cw_chunked_tail tail; /* of a chunked response body */
    char bytes[CW_HTTP_MAX_HEAD];
};
_Static_assert(sizeof(struct work) <= CW_BLOCK_SIZE, "a response's work fits a block");

/* Events that wait for the loop (each bit once). */
enum later {
    LATER_CONNECTED = 1, /* a pooled connection was taken */
    LATER_WRITTEN = 2,   /* a write went out at once */
    LATER_PROCESS = 4,   /* bytes wait to be parsed after cw_h1_consumed */
    LATER_FAILED = 8,    /* the connect could not even start */
};

struct cw_h1_conn {
    struct cw_transport tr;
    struct cw_sock_write write_req;
    struct cw_io_deferred deferred;
    unsigned later; /* enum later */
    const char *failed_why;
    const char *tls_handshake; /* "full" or "resumed" for a TLS connection, else NULL */
    bool failed_local; /* the connect failed for want of the gateway's own resources */
    struct work *work; /* NULL while idle */
    size_t len, parsed;
    uint64_t body_left; /* of a plain response */
    const struct cw_h1_events *ev;
    void *data; /* NULL while idle in the pool */
    struct cw_h1_pools *pools;
    const struct cw_upstreams *ups; /* cluster and host_index are indices into its hosts */
    uint32_t cluster, host_index;
    struct cw_h1_conn *next, *prev; /* pool list */
    uint64_t idle_since;
    bool reused, closing, head_done, in_pool, head_only;
    bool counted; /* connected: counted open in the metrics until closed or handed over */
    bool is_plain;       /* this response took the fast path */
    bool parser_started; /* llhttp has seen bytes of this response */
    bool paused;         /* bytes were handed over and wait to be taken */
    bool reading;        /* the socket is registered for reading */
};

struct host_pool {
    struct cw_h1_conn head; /* list head */
    uint32_t idle;
};

/* ---- pools ---- */

static struct host_pool *pool_of(struct cw_h1_pools *p, uint32_t cluster, uint32_t host)
{
    if (!p->by_cluster[cluster]) {
        uint32_t n = p->ups->clusters[cluster].n_hosts;
        struct host_pool *hp = cw_xcalloc(n + 1, sizeof(*hp));
        for (uint32_t i = 0; i < n; i++)
            hp[i].head.next = hp[i].head.prev = &hp[i].head;
        p->by_cluster[cluster] = hp;
    }
    return &((struct host_pool *)p->by_cluster[cluster])[host];
}

static void unlink_pool(struct cw_h1_conn *u)
{
    if (!u->in_pool)
        return;
    u->prev->next = u->next;
    u->next->prev = u->prev;
    pool_of(u->pools, u->cluster, u->host_index)->idle--;
    u->in_pool = false;
}

static void drop_work(struct cw_h1_conn *u)
{
    cw_block_put(u->pools->blocks, u->work);
    u->work = NULL;
    u->len = u->parsed = 0;
}

static void free_when_run(struct cw_io_deferred *d)
{
    free((char *)d - offsetof(struct cw_h1_conn, deferred));
}

/* The connection's memory goes; if its own deferred event is still queued in this batch, the
 * loop is about to read it, so the memory goes when that event runs instead. */
static void free_conn(struct cw_h1_conn *u)
{
    if (u->deferred.queued)
        cw_io_defer(u->pools->io, &u->deferred, free_when_run);
    else
        free(u);
}

static void on_closed(struct cw_transport *t)
{
    free_conn(t->data);
}

/* The connection is no longer this client's to count as open. */
static void uncount(struct cw_h1_conn *u)
{
    if (u->counted)
        cw_upstream_closed();
    u->counted = false;
}

static void close_up(struct cw_h1_conn *u)
{
    if (u->closing)
        return;
    u->closing = true;
    u->data = NULL;
    unlink_pool(u);
    drop_work(u);
    uncount(u);
    cw_transport_close(&u->tr, on_closed);
}

/* Closes the pooled connections idle since before <before> (all of them: UINT64_MAX). */
static void close_idle_since(struct cw_h1_pools *p, uint64_t before)
{
    for (uint32_t c = 0; c < p->ups->n; c++) {
        if (!p->by_cluster[c])
            continue;
        for (uint32_t h = 0; h < p->ups->clusters[c].n_hosts; h++) {
            struct host_pool *hp = pool_of(p, c, h);
            struct cw_h1_conn *u = hp->head.prev; /* oldest at the tail */
            while (u != &hp->head) {
                struct cw_h1_conn *prev = u->prev;
                if (u->idle_since < before)
                    close_up(u);
                u = prev;
            }
        }
    }
}

static void on_sweep(struct cw_timer *t)
{
    struct cw_h1_pools *p = t->data;
    uint64_t now = cw_io_now(p->io);
    close_idle_since(p, now > p->idle_ms ? now - p->idle_ms + 1 : 0);
    cw_timer_start(p->io, t, SWEEP_EVERY_MS, on_sweep);
}

void cw_h1_pools_init(struct cw_h1_pools *p, struct cw_io_loop *io, struct cw_block_pool *blocks,
                      const struct cw_upstreams *ups, uint64_t idle_ms)
{
    *p = (struct cw_h1_pools){.io = io, .blocks = blocks, .ups = ups, .idle_ms = idle_ms};
    p->by_cluster = cw_xcalloc(ups->n + 1, sizeof(void *));
    p->sweep.data = p;
    cw_timer_start(io, &p->sweep, SWEEP_EVERY_MS, on_sweep);
}

void cw_h1_pools_drain(struct cw_h1_pools *p)
{
    p->draining = true;
    close_idle_since(p, UINT64_MAX);
    cw_timer_stop(p->io, &p->sweep);
}

void cw_h1_pools_deinit(struct cw_h1_pools *p)
{
    close_idle_since(p, UINT64_MAX);
    cw_timer_stop(p->io, &p->sweep);
    for (uint32_t c = 0; c < p->ups->n; c++)
        free(p->by_cluster[c]);
    free(p->by_cluster);
    p->by_cluster = NULL;
}

/* ---- the current response ---- */

int cw_h1_status(const struct cw_h1_conn *u)
{
    return u->is_plain ? u->work->plain.status : u->work->parser.status_code;
}

void cw_h1_client_head(const struct cw_h1_conn *u, struct cw_out *o, bool close)
{
    cw_http_write_response_head(o, cw_h1_status(u), &u->work->head, close);
}

bool cw_h1_reused(const struct cw_h1_conn *u)
{
    return u->reused;
}

bool cw_h1_sending(const struct cw_h1_conn *u)
{
    return !u->closing && cw_transport_writes_queued(&u->tr);
}

bool cw_h1_keep_alive(const struct cw_h1_conn *u)
{
    if (!u->work)
        return false;
    bool keep = u->is_plain ? u->work->plain.keep_alive : llhttp_should_keep_alive(&u->work->parser);
    return keep && u->parsed == u->len;
}

bool cw_h1_needs_eof(const struct cw_h1_conn *u)
{
    return u->work && !u->is_plain && llhttp_message_needs_eof(&u->work->parser);
}

/* HEAD responses, 1xx, 204 and 304 end with their head (RFC 9112 §6.3). */
static bool bodyless(const struct cw_h1_conn *u)
{
    int st = cw_h1_status(u);
    const llhttp_t *p = &u->work->parser;
    bool empty = u->is_plain ? u->work->plain.content_length == 0
                             : (p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED) &&
                                   p->content_length == 0;
    return empty || u->head_only || (st >= 100 && st < 200) || st == 204 || st == 304;
}

/* The next bytes start a new response. */
static void expect_response(struct cw_h1_conn *u)
{
    u->head_done = false;
    u->is_plain = false;
    u->parser_started = false;
}

/* llhttp takes this response from its first byte on. */
static void start_parser(struct cw_h1_conn *u)
{
    memset(&u->work->tail, 0, sizeof(u->work->tail));
    llhttp_init(&u->work->parser, HTTP_RESPONSE, &cw_http_head_settings);
    u->work->parser.data = &u->work->head;
    u->parser_started = true;
}

/* ---- reading the response ---- */

static void on_alloc(struct cw_transport *t, struct cw_buf *buf)
{
    struct cw_h1_conn *u = t->data;
    if (!u->work) { /* idle: a byte or an EOF only says the connection is done */
        *buf = cw_buf_init(u->pools->probe, sizeof(u->pools->probe));
        return;
    }
    *buf = cw_buf_init(u->work->bytes + u->len, sizeof(u->work->bytes) - u->len);
}

static void on_read(struct cw_transport *t, ssize_t nread, const struct cw_buf *buf);
static void run_later(struct cw_h1_conn *u);

/* Registers or unregisters the socket for reading, only on a change. */
static void set_reading(struct cw_h1_conn *u, bool on)
{
    if (u->reading == on || u->closing)
        return;
    u->reading = on;
    if (on)
        cw_transport_read_start(&u->tr, on_alloc, on_read);
    else
        cw_transport_read_stop(&u->tr);
}

/* Fails the connection towards its owner, who hears nothing more from it. */
static void fail(struct cw_h1_conn *u, const char *why, bool responded)
{
    const struct cw_h1_events *ev = u->ev;
    void *data = u->data;
    close_up(u);
    ev->on_error(data, why, responded ? CW_H1_MID_RESPONSE : CW_H1_NO_RESPONSE);
}

/* Hands the owner what the parser found; processing pauses until cw_h1_consumed. */
static void hand_over(struct cw_h1_conn *u, const char *p, size_t n, bool done)
{
    u->paused = true;
    u->ev->on_body(u->data, p, n, done);
}

/* A head arrived: false when the response ended with it (or the owner is gone). */
static bool on_head(struct cw_h1_conn *u)
{
    int st = cw_h1_status(u);
    /* llhttp takes any three digits; only 100-599 mean anything (RFC 9110 §15), and a client
     * handed "000" or "600" would guess. */
    if (st < 100 || st > 599) {
        fail(u, "invalid response from upstream: status outside 100-599", false);
        return false;
    }
    u->ev->on_head(u->data, st);
    if (!u->data) /* released meanwhile */
        return false;
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
static bool take_plain_head(struct cw_h1_conn *u)
{
    if (u->parser_started)
        return false; /* llhttp has part of this head already */
    struct work *w = u->work;
    size_t n = cw_response_head_parse(w->bytes + u->parsed, u->len - u->parsed, &w->head, &w->plain);
    if (n == 0)
        return false;
    u->parsed += n;
    u->is_plain = true;
    u->head_done = true;
    u->body_left = w->plain.content_length;
    return true;
}

/* Hands the owner the next bytes of a plain response's body, counted by Content-Length. */
static void hand_over_plain_body(struct cw_h1_conn *u)
{
    const char *start = u->work->bytes + u->parsed;
    size_t n = u->len - u->parsed;
    if (n > u->body_left)
        n = (size_t)u->body_left; /* what follows the body is not part of this response */
    u->parsed += n;
    u->body_left -= n;
    hand_over(u, start, n, u->body_left == 0);
}

/* Runs llhttp over the unparsed bytes; false when the response failed. */
static bool parse_with_llhttp(struct cw_h1_conn *u, llhttp_errno_t *err, const char **start)
{
    if (!u->parser_started)
        start_parser(u);
    llhttp_t *p = &u->work->parser;
    *start = u->work->bytes + u->parsed;
    *err = llhttp_execute(p, *start, u->len - u->parsed);
    const char *end = *err == HPE_OK ? u->work->bytes + u->len : llhttp_get_error_pos(p);
    if (*err != HPE_OK && *err != HPE_PAUSED) {
        fail(u, u->head_done ? "invalid response body from upstream" : "invalid response from upstream",
             u->head_done);
        return false;
    }
    if (*err == HPE_PAUSED)
        llhttp_resume(p);
    u->parsed = (size_t)(end - u->work->bytes);
    return true;
}

/* Parses the unparsed bytes and hands the owner what belongs to the response. */
static void process(struct cw_h1_conn *u)
{
    while (u->data && u->parsed < u->len && !u->paused) {
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
                if (u->len == sizeof(u->work->bytes))
                    fail(u, "response head too large", false);
                return;
            }
            u->head_done = true;
            if (!on_head(u))
                return;
            continue;
        }
        size_t n = (size_t)(u->work->bytes + u->parsed - start);
        bool done = err == HPE_PAUSED;
        if (u->work->parser.flags & F_CHUNKED) {
            cw_chunked_tail_add(&u->work->tail, start, n);
            if (done && !cw_chunked_tail_ok(&u->work->tail)) {
                fail(u, "invalid response body from upstream: chunked body must end with CRLF",
                     true);
                return;
            }
        }
        hand_over(u, start, n, done);
        return;
    }
    if (u->data && u->parsed == u->len)
        u->len = u->parsed = 0; /* everything handed on: reuse the buffer from the start */
}

static void on_read(struct cw_transport *t, ssize_t nread, const struct cw_buf *buf)
{
    (void)buf;
    struct cw_h1_conn *u = t->data;
    if (nread == 0)
        return;
    if (!u->data) { /* idle in the pool: bytes or EOF mean it cannot be reused */
        close_up(u);
        return;
    }
    if (nread == CW_ENOBUFS) { /* buffer full while the client catches up */
        set_reading(u, false);
        return;
    }
    /* Events still on their way go first, in order: the owner hears "written" before the
     * response that the upstream sent after reading those bytes. */
    if (u->later & (LATER_CONNECTED | LATER_WRITTEN)) {
        run_later(u);
        if (!u->data)
            return;
    }
    if (nread > 0) {
        u->len += (size_t)nread;
        process(u);
        return;
    }
    if (nread == CW_EOF && u->head_done && cw_h1_needs_eof(u)) {
        llhttp_finish(&u->work->parser);
        hand_over(u, NULL, 0, true);
        return;
    }
    /* A TLS alert after the handshake (TLS 1.3 says "certificate required" only then) is
     * reported as what it is. */
    const char *tls = nread != CW_EOF ? cw_tls_failure(t) : NULL;
    if (!u->head_done)
        fail(u,
             tls                ? tls
             : nread == CW_EOF ? "upstream closed before responding"
                               : "upstream reset before responding",
             false);
    else
        fail(u, tls ? tls : "upstream closed mid-response", true);
}

void cw_h1_pause(struct cw_h1_conn *u)
{
    u->paused = true;
    set_reading(u, false);
}

/* ---- events delivered from the loop ---- */

static void run_later(struct cw_h1_conn *u)
{
    unsigned later = u->later;
    u->later = 0;
    if (later & LATER_FAILED) {
        const struct cw_h1_events *ev = u->ev;
        void *data = u->data; /* NULL: released meanwhile */
        const char *why = u->failed_why;
        bool local = u->failed_local;
        drop_work(u);
        free(u); /* its socket never opened */
        if (data)
            ev->on_error(data, why, local ? CW_H1_LOCAL : CW_H1_NO_RESPONSE);
        return;
    }
    if (u->closing || !u->data)
        return;
    if (later & LATER_CONNECTED)
        u->ev->on_connect(u->data);
    if ((later & LATER_WRITTEN) && u->data)
        u->ev->on_written(u->data);
    if ((later & LATER_PROCESS) && u->data && !u->paused)
        process(u);
}

static void on_deferred(struct cw_io_deferred *d)
{
    run_later((struct cw_h1_conn *)((char *)d - offsetof(struct cw_h1_conn, deferred)));
}

static void deliver_later(struct cw_h1_conn *u, enum later what)
{
    u->later |= what;
    cw_io_defer(u->pools->io, &u->deferred, on_deferred);
}

void cw_h1_consumed(struct cw_h1_conn *u)
{
    u->paused = false;
    if (u->closing)
        return;
    if (u->parsed == u->len)
        u->len = u->parsed = 0; /* everything was taken: the buffer starts over */
    else
        deliver_later(u, LATER_PROCESS);
    set_reading(u, true);
}

/* ---- writing the request ---- */

static void on_written(struct cw_sock_write *req, int status)
{
    struct cw_h1_conn *u = req->data;
    if (!u->data || u->closing)
        return;
    if (status < 0)
        fail(u, "upstream write failed", u->head_done);
    else
        u->ev->on_written(u->data);
}

void cw_h1_write(struct cw_h1_conn *u, const char *p, size_t n)
{
    struct cw_buf b = cw_buf_init((char *)p, n);
    int done = cw_transport_try_write(&u->tr, &b, 1, false);
    if (done == (int)n) {
        deliver_later(u, LATER_WRITTEN);
        return;
    }
    if (done < 0 && done != CW_EAGAIN) {
        fail(u, "upstream write failed", u->head_done);
        return;
    }
    if (done > 0) {
        b.base += done;
        b.len -= (size_t)done;
    }
    u->write_req.data = u;
    if (cw_transport_write(&u->tr, &u->write_req, &b, 1, on_written) != 0)
        fail(u, "upstream write failed", u->head_done);
}

/* ---- connecting and pooling ---- */

/* The connection serves a new request: a response will come. */
static void start_exchange(struct cw_h1_conn *u, bool head_only, const struct cw_h1_events *ev,
                           void *data)
{
    u->ev = ev;
    u->data = data;
    u->head_only = head_only;
    u->paused = false;
    u->work = cw_block_get(u->pools->blocks);
    u->len = u->parsed = 0;
    expect_response(u);
}

static void on_connected(struct cw_transport *t, int status)
{
    struct cw_h1_conn *u = t->data;
    if (u->closing || status == CW_ECANCELED)
        return;
    if (status < 0) {
        fail(u, cw_upstream_connect_failure(t, status), false);
        return;
    }
    u->tls_handshake = cw_upstream_tls_handshake(t);
    cw_upstream_connected(u->pools->io, t, &u->ups->clusters[u->cluster].hosts[u->host_index]);
    u->counted = true;
    set_reading(u, true);
    u->ev->on_connect(u->data);
}

static struct cw_h1_conn *take_idle(struct cw_h1_pools *p, uint32_t cluster, uint32_t host)
{
    struct host_pool *hp = pool_of(p, cluster, host);
    uint64_t now = cw_io_now(p->io);
    while (hp->head.next != &hp->head) {
        struct cw_h1_conn *u = hp->head.next; /* most recently returned first: warmest */
        unlink_pool(u);
        if (now - u->idle_since < p->idle_ms)
            return u;
        close_up(u);
    }
    return NULL;
}

/* Out of descriptors: an idle pooled connection goes first (the oldest of any host), then the
 * owner's make_room. True when a descriptor was freed. */
static bool make_room(struct cw_h1_pools *p)
{
    for (uint32_t c = 0; c < p->ups->n; c++) {
        if (!p->by_cluster[c])
            continue;
        for (uint32_t h = 0; h < p->ups->clusters[c].n_hosts; h++) {
            struct host_pool *hp = pool_of(p, c, h);
            if (hp->head.prev != &hp->head) {
                close_up(hp->head.prev);
                return true;
            }
        }
    }
    return p->make_room && p->make_room(p->make_room_ctx);
}

struct cw_h1_conn *cw_h1_acquire(struct cw_h1_pools *p, const struct cw_upstreams *ups,
                                 uint32_t cluster, uint32_t host_index, bool fresh,
                                 bool head_only, const struct cw_h1_events *ev, void *data)
{
    bool pooled = !fresh && ups == p->ups && !p->draining; /* pools hold the worker's hosts */
    struct cw_h1_conn *u = pooled ? take_idle(p, cluster, host_index) : NULL;
    if (u) {
        u->reused = true;
        start_exchange(u, head_only, ev, data);
        set_reading(u, true);
        deliver_later(u, LATER_CONNECTED);
        return u;
    }
    u = cw_xcalloc(1, sizeof(*u));
    u->pools = p;
    u->ups = ups;
    u->cluster = cluster;
    u->host_index = host_index;
    start_exchange(u, head_only, ev, data);
    const struct cw_upstream_cluster *uc = &ups->clusters[cluster];
    const struct cw_host *h = &uc->hosts[host_index];
    int rc = cw_upstream_connect(p->io, &u->tr, uc, h, true, u, on_connected);
    if (cw_err_is_local_shortage(rc) && make_room(p))
        rc = cw_upstream_connect(p->io, &u->tr, uc, h, true, u, on_connected);
    if (rc != 0) { /* never started: reported from the loop */
        u->failed_local = cw_err_is_local_shortage(rc);
        u->failed_why = u->failed_local ? cw_local_shortage_text(rc) : cw_sock_connect_error(rc);
        deliver_later(u, LATER_FAILED);
        return u;
    }
    return u;
}

static void on_detached(struct cw_transport *t)
{
    free_conn(t->data);
}

int cw_h1_detach(struct cw_h1_conn *u, struct cw_transport_handoff *h, char *rest, size_t cap,
                 size_t *rest_len)
{
    size_t n = u->len - u->parsed;
    if (u->closing || !u->work || n > cap)
        return CW_EBADF;
    int rc = cw_transport_hand_off(&u->tr, h, on_detached);
    if (rc < 0)
        return rc;
    memcpy(rest, u->work->bytes + u->parsed, n);
    *rest_len = n;
    u->closing = true; /* nothing more happens on <u>; its memory goes with the detach */
    uncount(u); /* the tunnel counts it from now on */
    u->data = NULL;
    drop_work(u);
    return 0;
}

void cw_h1_release(struct cw_h1_conn *u, bool reusable)
{
    if (!u)
        return;
    if (u->later & LATER_FAILED) { /* the failure is still on its way: it frees <u> */
        u->data = NULL;
        return;
    }
    struct cw_h1_pools *p = u->pools;
    /* A write completion may still be on its way to the owner (it is delivered from the loop,
     * and the response can overtake it): what counts is that no byte waits in the socket. */
    bool poolable = reusable && !u->closing && u->ups == p->ups && !p->draining &&
                    cw_h1_keep_alive(u) && !cw_transport_writes_queued(&u->tr);
    struct host_pool *hp = poolable ? pool_of(p, u->cluster, u->host_index) : NULL;
    if (!hp || hp->idle >= POOL_IDLE_LIMIT) {
        close_up(u);
        return;
    }
    u->data = NULL;
    u->later = 0;
    drop_work(u);
    u->idle_since = cw_io_now(p->io);
    u->reused = false;
    u->next = hp->head.next;
    u->prev = &hp->head;
    hp->head.next->prev = u;
    hp->head.next = u;
    hp->idle++;
    u->in_pool = true;
    /* Keep reading: an upstream that closes the idle connection is noticed at once. */
    u->paused = false;
    set_reading(u, true);
}

const char *cw_h1_tls_handshake(const struct cw_h1_conn *u)
{
    return u->tls_handshake;
}
