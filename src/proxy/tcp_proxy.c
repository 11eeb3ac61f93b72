/*
 * TCP tunnels: a client connection on a TCP listener is forwarded byte for byte to one endpoint
 * of the route's ExternalService. A failed connect (refused, unreachable, timeout) is retried on
 * another endpoint before the client is dropped: no byte has reached an upstream yet, so this is
 * always safe. An upstream that accepts and then resets or closes before sending its first byte
 * (a database dying under the connection) gets the same treatment once: the client's first bytes
 * (a PostgreSQL startup message, at most TUNNEL_REPLAY_LIMIT) are kept until the upstream speaks
 * and are replayed to another endpoint. Each direction reads into its own buffer and stops
 * reading while that buffer waits to be written (backpressure); EOF on one side becomes a
 * shutdown of the other (half-close).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/transport.h"
#include "event/splice_pipe.h"
#include "proxy/proxy_int.h"
#include "proxy/upstream_connect.h"
#include "upstream/attempts.h"
#include "util/xalloc.h"

/* Each direction starts with a small buffer (a database connection mostly moves small
 * messages); one that fills it completely is moving bulk data and from then on splices through
 * a pipe of TUNNEL_BULK bytes (no copy into causeway; fewer system calls per MiB). Without a
 * pipe (out of descriptors) it copies through a buffer of that size instead. */
#define TUNNEL_BUFFER (32 * 1024)
#define TUNNEL_BULK   (256 * 1024)

/* Splices per readiness event and direction before other connections get their turn. */
#define SPLICES_PER_EVENT 16

/* Client bytes kept for a replay; a client that says more before the upstream speaks is past
 * any handshake, and its bytes are not kept (no replay then). */
#define TUNNEL_REPLAY_LIMIT 4096

struct direction {
    struct cw_transport *from, *to;
    char *buf;
    size_t size;
    struct cw_sock_write write_req;
    bool eof, writing;
    bool grow;    /* the last read filled the buffer: go bulk once it is free */
    bool spliced; /* bulk: the bytes go through <pipe>, not through <buf> */
    struct cw_splice_pipe pipe;
    uint64_t bytes;
};

struct tunnel {
    struct cw_conn_link link; /* first: the worker's list holds &link */
    struct cw_worker *w;
    struct cw_generation *gen; /* the configuration the tunnel started on, referenced */
    const struct cw_snapshot_listener *listener;
    const struct cw_route *route;
    const struct cw_upstream_cluster *uc;
    struct cw_transport down, up;
    struct cw_timer timer; /* connect timeout, then idle timeout */
    struct direction to_up, to_down;
    struct cw_attempts attempts; /* hosts tried, and the current one */
    uint64_t start_ms, last_activity_ms;
    int open_handles;
    bool connected, closing, up_open;
    bool up_counted; /* the upstream connection is counted open in the metrics */
    const char *reason;
    const char *up_tls; /* the upstream's TLS handshake: "full", "resumed"; NULL: plain TCP */
    /* what the client sent before the upstream's first byte, for one replay elsewhere */
    char *replay;
    size_t replay_len;
    bool replay_off; /* too much to keep, or replayed once already */
    /* Connected, but the outcome for outlier detection waits for the upstream's first byte:
     * one that accepts and then dies before speaking failed, not succeeded. */
    bool outcome_pending;
    /* An HTTP connection that switched protocols: logged as its request (http, status 101). */
    struct cw_upgrade_log http;
    bool from_http;
    /* SNI pass-through: the ClientHello already read, sent once connected; the upstream is
     * reached in plain TCP whatever its port says (spec §1.3: no origination on this hop). */
    char *initial;
    size_t initial_len;
    char *sni; /* the server name that chose the route, for the access log */
    char client[CW_CLIENT_TEXT]; /* "ip:port" of the client, for the access log */
    bool plain_upstream;
};

static void log_tunnel(struct tunnel *t)
{
    const struct cw_access_log *log = t->w->cfg->access_log;
    if (!log)
        return;
    char route[256];
    snprintf(route, sizeof(route), "%s/%s:%s", t->route ? t->route->table->obj.meta.ns : "-",
             t->route ? t->route->table->obj.meta.name : "-", t->route ? t->route->name : "-");
    const struct cw_host *h = t->connected ? t->attempts.host : NULL;
    struct cw_access_record r = {
        .protocol = "tcp",
        .listener = t->listener->port,
        .route = t->route ? route : NULL,
        .service = t->uc ? t->uc->cluster->name : NULL,
        .endpoint = h ? h->text : NULL,
        .locality = h ? h->locality : NULL,
        .priority = h ? (int)h->priority : -1,
        .bytes_in = t->to_up.bytes,
        .bytes_out = t->to_down.bytes,
        .duration_ms = cw_worker_now(t->w) - t->start_ms,
        .retries = cw_attempts_retries(&t->attempts),
        .sni = t->sni,
        .client = t->client,
        .upstream_connect_us = -1,
        .upstream_response_us = -1,
        .upstream_tls = t->up_tls,
        .reason = t->reason,
    };
    if (t->from_http) {
        const struct cw_upgrade_log *u = &t->http;
        r.protocol = "http";
        r.method = cw_log_text_field(u->text, 0);
        r.path = cw_log_text_field(u->text, 1);
        r.host = cw_log_text_field(u->text, 2);
        r.request_id = cw_log_text_field(u->text, 3);
        r.route = t->route ? route : "exposed";
        r.status = 101;
        r.bytes_in += u->bytes_in;
        r.bytes_out += u->bytes_out;
        r.reason = NULL; /* how a tunnel ends is no failure of the request */
    }
    cw_access_log_add(log, &t->w->log, &r);
}

static void count_tunnel(const struct tunnel *t)
{
    cw_stat_add(&cw_stats()->tunnels_closed, 1);
    cw_request_metrics_count(&(struct cw_request_done){
        .listener = t->listener->port,
        .tcp = !t->from_http,
        .status = t->from_http ? 101 : 0,
        .route = t->route,
        .cluster = t->uc ? t->uc->cluster : NULL,
        .bytes_in = t->to_up.bytes + (t->from_http ? t->http.bytes_in : 0),
        .bytes_out = t->to_down.bytes + (t->from_http ? t->http.bytes_out : 0),
        .duration_ms = cw_worker_now(t->w) - t->start_ms,
        .retries = cw_attempts_retries(&t->attempts),
        .attempts = t->uc ? &t->attempts : NULL,
    });
}

static void report(struct tunnel *t, int status, const char *cause);

/* Drops one open handle; the tunnel is logged and freed with the last. */
static void release(struct tunnel *t)
{
    if (--t->open_handles > 0)
        return;
    if (t->outcome_pending) /* the client left first: the upstream did nothing wrong */
        report(t, 200, NULL);
    count_tunnel(t);
    log_tunnel(t);
    cw_worker_untrack(t->w, &t->link);
    free(t->to_up.buf);
    free(t->to_down.buf);
    if (t->to_up.spliced)
        cw_splice_pipe_close(&t->to_up.pipe);
    if (t->to_down.spliced)
        cw_splice_pipe_close(&t->to_down.pipe);
    free(t->replay);
    free(t->initial);
    free(t->sni);
    free(t->http.text);
    cw_generation_unref(t->gen);
    free(t);
}

static void on_closed(struct cw_transport *tr)
{
    release(tr->data);
}

static void close_tunnel(struct tunnel *t, const char *reason)
{
    if (t->closing)
        return;
    t->closing = true;
    if (reason && !t->reason)
        t->reason = reason;
    cw_timer_stop(&t->w->io, &t->timer);
    cw_transport_close(&t->down, on_closed);
    if (t->up_counted)
        cw_upstream_closed();
    t->up_counted = false;
    if (t->up_open)
        cw_transport_close(&t->up, on_closed);
}

static void force_close(struct cw_conn_link *link)
{
    close_tunnel((struct tunnel *)link, "shutdown");
}

/* ---- streaming ---- */

static void start_reading(struct tunnel *t, struct direction *d);

static void on_alloc(struct cw_transport *tr, struct cw_buf *buf)
{
    struct tunnel *t = tr->data;
    struct direction *d = tr == &t->down ? &t->to_up : &t->to_down;
    buf->base = d->buf;
    buf->len = d->size;
}

static void on_shutdown(struct cw_transport *tr, int status)
{
    (void)status;
    struct tunnel *t = tr->data;
    /* Both sides said EOF and everything was written: the tunnel is done. */
    if (t->to_up.eof && t->to_down.eof && !t->to_up.writing && !t->to_down.writing)
        close_tunnel(t, NULL);
}

static void half_close(struct tunnel *t, struct direction *d)
{
    if (cw_transport_shutdown(d->to, on_shutdown) != 0)
        close_tunnel(t, NULL);
}

/* ---- bulk directions: splice through a pipe ---- */

static void on_ready(struct cw_sock *s, int events);

/* What a spliced direction waits for: its source readable while its pipe is empty, its
 * destination writable while the pipe holds bytes. */
static void splice_wants(const struct direction *d, int *from, int *to)
{
    if (!d->spliced)
        return;
    if (d->pipe.queued)
        *to |= CW_WRITABLE; /* backpressure: nothing more is read until the pipe drains */
    else if (!d->eof)
        *from |= CW_READABLE;
}

/* Each socket waits for what its spliced directions need. */
static void update_watches(struct tunnel *t)
{
    int down = 0, up = 0;
    splice_wants(&t->to_up, &down, &up);
    splice_wants(&t->to_down, &up, &down);
    cw_sock_watch(&t->down.sock, down, on_ready);
    cw_sock_watch(&t->up.sock, up, on_ready);
}

/* Moves what can move now: drain the pipe first, then refill it from the source. */
static void pump(struct tunnel *t, struct direction *d)
{
    for (int i = 0; i < SPLICES_PER_EVENT && !t->closing; i++) {
        if (d->pipe.queued) {
            ssize_t n = cw_splice_pipe_drain(&d->pipe, cw_transport_splice_fd(d->to));
            if (n == CW_EAGAIN) {
                cw_sock_blocked(&d->to->sock, CW_WRITABLE);
                break;
            }
            if (n < 0) {
                close_tunnel(t, "write failed");
                return;
            }
            continue;
        }
        if (d->eof)
            break;
        ssize_t n = cw_splice_pipe_fill(&d->pipe, cw_transport_splice_fd(d->from));
        if (n == CW_EAGAIN) { /* the pipe is empty here, so the socket is */
            cw_sock_blocked(&d->from->sock, CW_READABLE);
            break;
        }
        if (n == 0) { /* EOF, and the pipe is empty: pass the half-close on */
            d->eof = true;
            d->writing = false;
            half_close(t, d);
            break;
        }
        if (n < 0) {
            close_tunnel(t, d == &t->to_up ? "client reset" : "upstream reset");
            return;
        }
        d->bytes += (uint64_t)n;
        t->last_activity_ms = cw_worker_now(t->w);
    }
    if (t->closing)
        return;
    d->writing = d->pipe.queued > 0; /* for the end of the tunnel: "everything was written" */
    update_watches(t);
}

static void on_ready(struct cw_sock *s, int events)
{
    struct tunnel *t = s->data;
    struct direction *reads_s = s == &t->down.sock ? &t->to_up : &t->to_down;
    struct direction *writes_s = s == &t->down.sock ? &t->to_down : &t->to_up;
    if ((events & CW_READABLE) && reads_s->spliced)
        pump(t, reads_s);
    if ((events & CW_WRITABLE) && writes_s->spliced && !t->closing)
        pump(t, writes_s);
}

/* A direction that filled its buffer goes bulk, once the buffer is free (nothing of it waits
 * to be written). The client's first bytes are copied while they may still be replayed. */
static void go_bulk_if(struct tunnel *t, struct direction *d)
{
    if (!d->grow)
        return;
    d->grow = false;
    bool replay_over = d == &t->to_down || t->replay_off || t->to_down.bytes > 0;
    /* Splicing moves bytes past the transport: only between two that carry them as they are. */
    bool spliceable = cw_transport_splice_fd(d->from) >= 0 && cw_transport_splice_fd(d->to) >= 0;
    if (replay_over && spliceable && cw_splice_pipe_open(&d->pipe, TUNNEL_BULK)) {
        d->spliced = true;
        free(d->buf);
        d->buf = NULL;
        cw_transport_read_stop(d->from);
        update_watches(t);
        return;
    }
    free(d->buf);
    d->buf = cw_xmalloc(TUNNEL_BULK);
    d->size = TUNNEL_BULK;
}

static void on_written(struct cw_sock_write *req, int status)
{
    struct direction *d = req->data;
    struct tunnel *t = d->from->data;
    d->writing = false;
    if (status < 0) {
        close_tunnel(t, "write failed");
        return;
    }
    go_bulk_if(t, d);
    if (!t->closing)
        start_reading(t, d);
}

/* ---- replay when an upstream fails before its first byte ---- */

static void keep_for_replay(struct tunnel *t, const char *bytes, size_t n)
{
    if (t->replay_off)
        return;
    if (t->replay_len + n > TUNNEL_REPLAY_LIMIT) {
        t->replay_off = true;
        free(t->replay);
        t->replay = NULL;
        t->replay_len = 0;
        return;
    }
    t->replay = cw_xrealloc(t->replay, t->replay_len + n);
    memcpy(t->replay + t->replay_len, bytes, n);
    t->replay_len += n;
}

/* Nothing of the client's is on its way to the upstream and the client has not half-closed:
 * another endpoint can be given exactly what this one got. */
static bool can_replay(const struct tunnel *t)
{
    return !t->replay_off && !t->to_up.writing && !t->to_up.eof && !t->closing &&
           t->attempts.n_tried < CW_MAX_ATTEMPTS;
}

static void connect_failed(struct tunnel *t, const char *why);

/* The upstream's first read: bytes are the TCP success; EOF or a reset before any byte is a
 * failure (replayed elsewhere when possible; connect_failed reports it then). */
static void first_upstream_bytes(struct tunnel *t, ssize_t nread)
{
    if (!t->outcome_pending)
        return;
    if (nread > 0) {
        t->outcome_pending = false;
        report(t, 200, NULL);
    } else if (!can_replay(t)) {
        t->outcome_pending = false;
        report(t, CW_LOCAL_FAILURE,
               nread == CW_EOF ? "upstream closed before responding"
                               : "upstream reset before responding");
    }
}

static void replay_elsewhere(struct tunnel *t, const char *why)
{
    t->replay_off = true;       /* once: a client whose first bytes kill upstreams stops here */
    t->outcome_pending = false; /* connect_failed reports the failure */
    cw_transport_read_stop(&t->down);
    cw_transport_read_stop(&t->up);
    t->connected = false;
    free(t->to_up.buf);
    free(t->to_down.buf);
    t->to_up.buf = t->to_down.buf = NULL;
    connect_failed(t, why); /* counts for outlier detection, then the next endpoint */
}

/* Gives a new upstream what the client sent before the last one failed. */
static bool send_replay(struct tunnel *t)
{
    if (!t->replay_len)
        return true;
    struct cw_buf b = cw_buf_init(t->replay, t->replay_len);
    /* A fresh connection's send buffer takes a few KiB at once. */
    return cw_transport_try_write(&t->up, &b, 1, false) == (int)t->replay_len;
}

static void on_read(struct cw_transport *s, ssize_t nread, const struct cw_buf *buf)
{
    struct tunnel *t = s->data;
    struct direction *d = s == &t->down ? &t->to_up : &t->to_down;
    if (nread == 0)
        return;
    if (d == &t->to_down && d->bytes == 0 && nread != 0)
        first_upstream_bytes(t, nread);
    if (nread < 0 && d == &t->to_down && d->bytes == 0 && can_replay(t)) {
        replay_elsewhere(t, nread == CW_EOF ? "upstream closed before responding"
                                            : "upstream reset before responding");
        return;
    }
    if (nread == CW_EOF) {
        d->eof = true;
        cw_transport_read_stop(s);
        half_close(t, d);
        return;
    }
    if (nread < 0) {
        close_tunnel(t, s == &t->down ? "client reset" : "upstream reset");
        return;
    }
    if (d == &t->to_up && t->to_down.bytes == 0)
        keep_for_replay(t, buf->base, (size_t)nread);
    t->last_activity_ms = cw_worker_now(t->w);
    d->bytes += (uint64_t)nread;
    d->grow = (size_t)nread == d->size && d->size < TUNNEL_BULK;
    struct cw_buf out = cw_buf_init(buf->base, nread);
    int n = cw_transport_try_write(d->to, &out, 1, false);
    if (n == nread) {
        go_bulk_if(t, d);
        return; /* written at once; the buffer is free for the next read */
    }
    if (n < 0 && n != CW_EAGAIN) {
        close_tunnel(t, "write failed");
        return;
    }
    /* The other side is slower: hold this side until the rest is written. */
    if (n > 0) {
        out.base += n;
        out.len -= (size_t)n;
    }
    cw_transport_read_stop(s);
    d->writing = true;
    d->write_req.data = d;
    if (cw_transport_write(d->to, &d->write_req, &out, 1, on_written) != 0)
        close_tunnel(t, "write failed");
}

static void start_reading(struct tunnel *t, struct direction *d)
{
    if (!d->eof && !d->spliced && cw_transport_read_start(d->from, on_alloc, on_read) != 0)
        close_tunnel(t, "read failed");
}

static void on_idle_check(struct cw_timer *timer)
{
    struct tunnel *t = timer->data;
    uint64_t idle = t->w->cfg->timeouts.idle_ms;
    uint64_t quiet = cw_worker_now(t->w) - t->last_activity_ms;
    if (quiet >= idle) {
        close_tunnel(t, "idle timeout");
        return;
    }
    cw_timer_start(&t->w->io, timer, idle - quiet, on_idle_check);
}

static void start_streaming(struct tunnel *t)
{
    t->connected = true;
    t->last_activity_ms = cw_worker_now(t->w);
    uint64_t sent = t->to_up.bytes; /* before a replay: those bytes count once */
    if (!send_replay(t)) {
        close_tunnel(t, "replay failed");
        return;
    }
    t->to_up = (struct direction){.from = &t->down, .to = &t->up, .bytes = sent};
    t->to_down = (struct direction){.from = &t->up, .to = &t->down};
    t->to_up.buf = cw_xmalloc(TUNNEL_BUFFER);
    t->to_down.buf = cw_xmalloc(TUNNEL_BUFFER);
    t->to_up.size = t->to_down.size = TUNNEL_BUFFER;
    cw_timer_start(&t->w->io, &t->timer, t->w->cfg->timeouts.idle_ms, on_idle_check);
    start_reading(t, &t->to_up);
    start_reading(t, &t->to_down);
}

/* ---- connecting, with retries on another endpoint ---- */

static void try_connect(struct tunnel *t);

static void on_failed_upstream_closed(struct cw_transport *tr)
{
    struct tunnel *t = tr->data;
    t->up_open = false;
    if (!t->closing) {
        t->open_handles--; /* try_connect counts the next attempt's handle again */
        try_connect(t);
        return;
    }
    release(t); /* the client went away meanwhile */
}

/*
 * Outlier detection counts connect failures and timeouts and, beyond the spec's TCP rule, an
 * upstream that accepts and then closes or resets before its first byte (peers.md §3 #21: a
 * dying database otherwise never trips it); a connection the upstream answers resets them.
 */
static void report(struct tunnel *t, int status, const char *cause)
{
    cw_attempts_report(&t->attempts, status, cause);
}

static void connect_failed(struct tunnel *t, const char *why)
{
    cw_timer_stop(&t->w->io, &t->timer);
    t->reason = why;
    report(t, CW_LOCAL_FAILURE, why);
    cw_transport_close(&t->up, on_failed_upstream_closed);
}

static void send_initial(struct tunnel *t);

static void on_connected(struct cw_transport *tr, int status)
{
    struct tunnel *t = tr->data;
    if (t->closing || status == CW_ECANCELED)
        return; /* the close already under way handles the upstream handle */
    if (status < 0) {
        connect_failed(t, cw_upstream_connect_failure(tr, status));
        return;
    }
    cw_timer_stop(&t->w->io, &t->timer);
    t->reason = NULL;
    t->up_tls = cw_upstream_tls_handshake(tr);
    cw_upstream_connected(&t->w->io, tr, t->attempts.host);
    t->up_counted = true;
    t->outcome_pending = true; /* a success once the upstream speaks (or the client leaves) */
    start_streaming(t);
    send_initial(t);
}

static void inject(struct tunnel *t, struct direction *d, const char *p, size_t n);

/* The bytes read before the tunnel existed (a ClientHello) go first. */
static void send_initial(struct tunnel *t)
{
    char *bytes = t->initial;
    size_t n = t->initial_len;
    t->initial = NULL;
    t->initial_len = 0;
    if (bytes && !t->closing)
        inject(t, &t->to_up, bytes, n);
    free(bytes);
}

static void on_connect_timeout(struct cw_timer *timer)
{
    connect_failed(timer->data, "connect timeout");
}

static void try_connect(struct tunnel *t)
{
    for (;;) {
        const struct cw_host *h = cw_attempts_next(&t->attempts);
        if (!h) {
            close_tunnel(t, t->attempts.n_tried ? t->reason : "no healthy upstream");
            return;
        }
        int rc = t->plain_upstream ? cw_transport_connect(&t->w->io, &t->up,
                                                          (const struct sockaddr *)&h->addr, t,
                                                          on_connected)
                                   : cw_upstream_connect(&t->w->io, &t->up, t->uc, h, false, t,
                                                         on_connected);
        t->up.connect_ms = cw_worker_now(t->w);
        if (rc == 0)
            break;
        if (cw_err_is_local_shortage(rc)) { /* the gateway's own want: no endpoint is blamed */
            close_tunnel(t, cw_local_shortage_text(rc));
            return;
        }
        /* Refused before it started (no socket to close): the next endpoint at once. */
        t->reason = cw_sock_connect_error(rc);
        report(t, CW_LOCAL_FAILURE, t->reason);
    }
    t->up_open = true;
    t->open_handles++;
    cw_sock_nodelay(&t->up.sock);
    cw_timer_start(&t->w->io, &t->timer, t->w->cfg->timeouts.connect_ms, on_connect_timeout);
}

/* The route serving this listener: its first TCP route, or a single exposed service. */
static const struct cw_cluster *choose_cluster(struct tunnel *t)
{
    const struct cw_snapshot_listener *l = t->listener;
    if (l->tcp_routes.n) {
        t->route = &l->tcp_routes.v[0];
        if (t->route->kind == CW_ROUTE_FAILED) {
            t->reason = t->route->failure;
            return NULL;
        }
        return cw_worker_pick_cluster(t->w, t->route);
    }
    if (l->exposed.n)
        return l->exposed.v[0].cluster;
    t->reason = "no route";
    return NULL;
}

/* A tunnel whose client side <t->down> is open: tracked by the worker from now on. */
static void init_tunnel(struct tunnel *t, struct cw_worker *w, struct cw_generation *gen,
                        const struct cw_snapshot_listener *l)
{
    t->w = w;
    t->gen = cw_generation_ref(gen);
    t->listener = l;
    t->start_ms = cw_worker_now(w);
    t->link.force_close = force_close;
    t->timer.data = t;
    t->open_handles = 1;
    cw_worker_track(w, &t->link);
    cw_stat_add(&cw_stats()->tunnels_opened, 1);
}

/* Connects the tunnel to an endpoint of <c>, the cluster its route chose (NULL: none). */
static void start_tunnel(struct tunnel *t, const struct cw_cluster *c)
{
    struct cw_worker *w = t->w;
    if (!c) {
        close_tunnel(t, NULL);
        return;
    }
    t->uc = &t->gen->upstreams->clusters[c->index];
    cw_attempts_init(&t->attempts, t->gen->upstreams, t->uc, &w->cursors[c->index]);
    if (c->unroutable || t->uc->unresolved) {
        close_tunnel(t, c->unroutable ? c->unroutable : CW_NAME_NOT_RESOLVED);
        return;
    }
    try_connect(t);
}

/* "ip:port" of <peer> into <out> (CW_CLIENT_TEXT bytes). */
void cw_peer_text(char *out, const struct sockaddr_storage *peer)
{
    char ip[INET6_ADDRSTRLEN];
    cw_sockaddr_ip(peer, ip, sizeof(ip));
    cw_client_text(out, ip, cw_sockaddr_port(peer));
}

void cw_tcp_proxy_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer)
{
    struct tunnel *t = cw_xcalloc(1, sizeof(*t));
    if (cw_session_adopt(wl, &t->down, fd, t) != 0) {
        free(t);
        return;
    }
    cw_peer_text(t->client, peer);
    init_tunnel(t, wl->worker, wl->worker->gen, wl->listener);
    start_tunnel(t, choose_cluster(t));
}

void cw_tcp_proxy_passthrough(struct cw_worker *w, const struct cw_passthrough *p)
{
    struct tunnel *t = cw_xcalloc(1, sizeof(*t));
    if (cw_transport_adopt(&w->io, &t->down, p->client_fd, t) != 0) {
        free(t);
        return;
    }
    init_tunnel(t, w, p->gen, p->listener);
    t->route = p->route;
    t->plain_upstream = true;
    t->sni = cw_xstrdup(p->sni);
    snprintf(t->client, sizeof(t->client), "%s", p->client);
    t->initial = cw_xmalloc(p->hello_len);
    memcpy(t->initial, p->hello, p->hello_len);
    t->initial_len = p->hello_len;
    bool failed = p->route->kind == CW_ROUTE_FAILED;
    if (failed)
        t->reason = p->route->failure;
    start_tunnel(t, failed ? NULL : cw_worker_pick_cluster(w, p->route));
}

/* ---- HTTP connections that switched protocols ---- */

/* Hands <d> bytes that arrived before the tunnel existed, as if it had just read them. */
static void inject(struct tunnel *t, struct direction *d, const char *p, size_t n)
{
    if (n == 0 || t->closing)
        return;
    if (n > d->size) {
        free(d->buf);
        d->buf = cw_xmalloc(n);
        d->size = n;
    }
    memcpy(d->buf, p, n);
    struct cw_buf b = cw_buf_init(d->buf, n);
    on_read(d->from, (ssize_t)n, &b);
}

void cw_tcp_proxy_upgrade(struct cw_worker *w, const struct cw_upgrade *u)
{
    struct tunnel *t = cw_xcalloc(1, sizeof(*t));
    if (cw_transport_take(&w->io, &t->down, &u->client, t) != 0) {
        cw_transport_handoff_drop(&u->upstream);
        free(u->log.text);
        free(t);
        return;
    }
    t->w = w;
    t->gen = cw_generation_ref(u->gen);
    t->listener = u->listener;
    t->route = u->route;
    t->uc = u->attempts->uc;
    t->attempts = *u->attempts;
    t->start_ms = u->log.start_ms;
    t->http = u->log;
    t->from_http = true;
    snprintf(t->client, sizeof(t->client), "%s", u->client_text);
    t->link.force_close = force_close;
    t->timer.data = t;
    t->open_handles = 1;
    t->replay_off = true; /* the upstream already answered: nothing is replayed */
    cw_worker_track(w, &t->link);
    cw_stat_add(&cw_stats()->tunnels_opened, 1);
    if (cw_transport_take(&w->io, &t->up, &u->upstream, t) != 0) {
        close_tunnel(t, "upstream lost in the switch");
        return;
    }
    t->up_open = true;
    t->open_handles++;
    t->up_counted = true;
    cw_stat_add(&cw_stats()->upstream_opened, 1);
    start_streaming(t);
    inject(t, &t->to_down, u->to_client, u->to_client_len);
    inject(t, &t->to_up, u->to_upstream, u->to_upstream_len);
}
