/*
 * The responder's sockets (responder.h): one UDP socket, one TCP listener and its connections
 * (two-byte length before each message, RFC 1035 §4.2.2), all on the control thread's loop.
 */
#include "dns/responder.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/zone.h"
#include "util/xalloc.h"

#define MAX_MESSAGE 65535
#define MAX_TCP_CONNECTIONS 64     /* more wait in the kernel's backlog */
#define TCP_IDLE_MS 10000          /* RFC 7766 §6.2.3 suggests seconds, not minutes */
/* Answers being written (or forwarded queries) per TCP connection before it is read no more:
 * a client that sends queries without reading the answers cannot make them pile up. */
#define TCP_MAX_PENDING 64
#define ANSWER_ROOM 1024           /* a question and the (at most 8) addresses fit easily */

struct tcp_conn;

struct cw_dns_responder {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_tcp_t tcp;
    struct cw_dns_responder_config cfg;
    struct cw_dns_zone zone;
    struct tcp_conn *conns; /* open TCP connections, to close them on shutdown */
    unsigned n_conns;
    unsigned handles_open;
    bool closing;
    uint8_t udp_buf[MAX_MESSAGE];
};

struct tcp_conn {
    uv_tcp_t tcp;
    uv_timer_t idle;
    struct cw_dns_responder *r;
    struct tcp_conn *next, **prev;
    uint8_t buf[2 + MAX_MESSAGE];
    size_t have;
    unsigned handles_open; /* tcp and idle */
    unsigned pending;      /* writes and forwarded queries not finished: they use it */
    bool paused;           /* not read while TCP_MAX_PENDING answers are on their way */
    bool closed;
};

/* Where an answer goes: a UDP peer, or a TCP connection. */
struct reply_to {
    struct cw_dns_responder *r;
    struct tcp_conn *conn; /* NULL: UDP to <peer> */
    struct sockaddr_storage peer;
};

/* A query forwarded to the resolvers, waiting for their answer. */
struct forwarded_query {
    struct reply_to to;
    struct cw_dns_query q;
    size_t len;
    uint8_t msg[]; /* the query: its question is echoed in a SERVFAIL */
};

static void free_if_done(struct tcp_conn *c);
static void finished_one(struct tcp_conn *c);
static void on_conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* ---- sending ---- */

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct tcp_conn *c = w->data;
    free(w);
    finished_one(c);
}

static void send_answer(const struct reply_to *to, const uint8_t *msg, size_t len)
{
    if (!to->conn) {
        uv_buf_t b = uv_buf_init((char *)msg, (unsigned)len);
        /* Best effort like any DNS server: a datagram the kernel will not take now is lost and
         * the client asks again. */
        uv_udp_try_send(&to->r->udp, &b, 1, (const struct sockaddr *)&to->peer);
        return;
    }
    if (to->conn->closed)
        return;
    uv_write_t *w = cw_xmalloc(sizeof(*w) + 2 + len);
    uint8_t *frame = (uint8_t *)(w + 1);
    frame[0] = (uint8_t)(len >> 8);
    frame[1] = (uint8_t)len;
    memcpy(frame + 2, msg, len);
    w->data = to->conn;
    to->conn->pending++;
    uv_buf_t b = uv_buf_init((char *)frame, (unsigned)(2 + len));
    if (uv_write(w, (uv_stream_t *)&to->conn->tcp, &b, 1, on_written) != 0) {
        free(w);
        to->conn->pending--;
    }
}

/* ---- answering ---- */

static void on_forward_answer(void *arg, const uint8_t *answer, size_t len)
{
    struct forwarded_query *f = arg;
    uint8_t failure[ANSWER_ROOM];
    if (!answer && !f->to.r->closing) {
        /* No usable answer (every resolver failed or refused): say so at once rather than let
         * the client time out. */
        int n = cw_dns_response_write(&f->q, f->msg, CW_DNS_RCODE_SERVFAIL, NULL, 0, 0, failure,
                                      sizeof(failure));
        answer = n > 0 ? failure : NULL;
        len = n > 0 ? (size_t)n : 0;
    }
    if (answer && !f->to.r->closing)
        send_answer(&f->to, answer, len);
    if (f->to.conn)
        finished_one(f->to.conn);
    free(f);
}

static void forward(const struct reply_to *to, const struct cw_dns_query *q, const uint8_t *msg,
                    size_t len)
{
    struct forwarded_query *f = cw_xmalloc(sizeof(*f) + len);
    f->to = *to;
    f->q = *q;
    f->len = len;
    memcpy(f->msg, msg, len);
    if (to->conn)
        to->conn->pending++;
    cw_dns_resolver_forward(to->r->cfg.forward_to, msg, len, on_forward_answer, f);
}

/* Answers one query from <to>: ours with the advertised addresses, malformed ones with their
 * error, others REFUSED or forwarded. */
static void answer(const struct reply_to *to, const uint8_t *msg, size_t len)
{
    struct cw_dns_responder *r = to->r;
    struct cw_dns_query q;
    int rcode = cw_dns_query_parse(msg, len, &q);
    if (rcode < 0)
        return;
    if (rcode == CW_DNS_RCODE_NOERROR && q.qclass == CW_DNS_CLASS_IN &&
        !cw_dns_zone_owns(&r->zone, q.name)) {
        if (r->cfg.forward_to) {
            forward(to, &q, msg, len);
            return;
        }
        rcode = CW_DNS_RCODE_REFUSED;
    } else if (rcode == CW_DNS_RCODE_NOERROR && q.qclass != CW_DNS_CLASS_IN) {
        rcode = CW_DNS_RCODE_REFUSED;
    }
    uint8_t out[ANSWER_ROOM];
    int n = cw_dns_response_write(&q, msg, rcode, r->cfg.advertised, r->cfg.n_advertised,
                                  r->cfg.ttl_s, out, sizeof(out));
    if (n > 0)
        send_answer(to, out, (size_t)n);
}

/* ---- UDP ---- */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct cw_dns_responder *r = h->data;
    *buf = uv_buf_init((char *)r->udp_buf, sizeof(r->udp_buf));
}

static void on_datagram(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *peer,
                        unsigned flags)
{
    (void)flags;
    if (n <= 0 || !peer)
        return;
    struct reply_to to = {.r = u->data};
    memcpy(&to.peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                       : sizeof(struct sockaddr_in));
    answer(&to, (const uint8_t *)buf->base, (size_t)n);
}

/* ---- TCP ---- */

static void free_if_done(struct tcp_conn *c)
{
    if (c->closed && c->handles_open == 0 && c->pending == 0)
        free(c);
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    c->handles_open--;
    free_if_done(c);
}

static void close_conn(struct tcp_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    *c->prev = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->r->n_conns--;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_conn_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
    close_conn(t->data);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct tcp_conn *c = h->data;
    *buf = uv_buf_init((char *)c->buf + c->have, (unsigned)(sizeof(c->buf) - c->have));
}

/* Answers the complete messages in the buffer while fewer than TCP_MAX_PENDING answers are on
 * their way (then stops reading until half of them are out); keeps the rest for later. Returns
 * how many it answered. */
static unsigned answer_frames(struct tcp_conn *c)
{
    size_t at = 0;
    unsigned answered = 0;
    while (c->have - at >= 2 && c->pending < TCP_MAX_PENDING && !c->closed) {
        size_t len = (size_t)c->buf[at] << 8 | c->buf[at + 1];
        if (c->have - at - 2 < len)
            break;
        struct reply_to to = {.r = c->r, .conn = c};
        answer(&to, c->buf + at + 2, len);
        at += 2 + len;
        answered++;
    }
    memmove(c->buf, c->buf + at, c->have - at);
    c->have -= at;
    if (c->pending >= TCP_MAX_PENDING && !c->paused && !c->closed) {
        c->paused = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    return answered;
}

/* An answer went out (or a forwarded query ended): a paused connection reads again once half
 * of its answers are out. */
static void finished_one(struct tcp_conn *c)
{
    c->pending--;
    if (c->paused && !c->closed && c->pending <= TCP_MAX_PENDING / 2) {
        c->paused = false;
        if (answer_frames(c) > 0)
            uv_timer_again(&c->idle);
        if (!c->paused)
            uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, on_conn_read);
    }
    free_if_done(c);
}

static void on_conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct tcp_conn *c = s->data;
    if (n < 0) {
        close_conn(c);
        return;
    }
    c->have += (size_t)n;
    /* Only an answered query keeps the connection: a client trickling a message a byte at a
     * time is closed TCP_IDLE_MS after its last complete one, not kept for ever. */
    if (answer_frames(c) > 0)
        uv_timer_again(&c->idle);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct cw_dns_responder *r = server->data;
    if (status < 0)
        return;
    struct tcp_conn *c = cw_xcalloc(1, sizeof(*c));
    c->r = r;
    uv_tcp_init(r->loop, &c->tcp);
    uv_timer_init(r->loop, &c->idle);
    c->tcp.data = c->idle.data = c;
    c->handles_open = 2;
    c->next = r->conns;
    c->prev = &r->conns;
    if (r->conns)
        r->conns->prev = &c->next;
    r->conns = c;
    r->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || r->n_conns > MAX_TCP_CONNECTIONS) {
        close_conn(c);
        return;
    }
    uv_timer_start(&c->idle, on_idle, TCP_IDLE_MS, TCP_IDLE_MS);
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, on_conn_read);
}

/* ---- lifecycle ---- */

static int parse_listen(const char *text, struct sockaddr_storage *out)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof(host))
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)out);
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out);
}

static void on_closed(uv_handle_t *h)
{
    struct cw_dns_responder *r = h->data;
    if (--r->handles_open == 0) {
        cw_dns_zone_free(&r->zone);
        free(r);
    }
}

static int bind_sockets(struct cw_dns_responder *r, const struct sockaddr *addr)
{
    int rc = uv_udp_bind(&r->udp, addr, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&r->udp, udp_alloc, on_datagram);
    if (rc == 0)
        rc = uv_tcp_bind(&r->tcp, addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&r->tcp, 128, on_connection);
    return rc;
}

int cw_dns_responder_start(struct cw_dns_responder **out, uv_loop_t *loop,
                           const struct cw_dns_responder_config *cfg,
                           const struct cw_snapshot *snap, char *why, size_t size)
{
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    if (parse_listen(cfg->listen, &addr) != 0) {
        snprintf(why, size, "--dns-listen takes ADDR:PORT or [IPv6]:PORT, got %s", cfg->listen);
        return -1;
    }
    struct cw_dns_responder *r = cw_xcalloc(1, sizeof(*r));
    r->loop = loop;
    r->cfg = *cfg;
    cw_dns_zone_build(&r->zone, snap);
    uv_udp_init(loop, &r->udp);
    uv_tcp_init(loop, &r->tcp);
    r->udp.data = r->tcp.data = r;
    r->handles_open = 2;
    int rc = bind_sockets(r, (const struct sockaddr *)&addr);
    if (rc != 0) {
        snprintf(why, size, "--dns-listen %s: %s", cfg->listen, uv_strerror(rc));
        cw_dns_responder_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

void cw_dns_responder_serve(struct cw_dns_responder *r, const struct cw_snapshot *snap)
{
    cw_dns_zone_free(&r->zone);
    cw_dns_zone_build(&r->zone, snap);
}

void cw_dns_responder_close(struct cw_dns_responder *r)
{
    r->closing = true;
    while (r->conns)
        close_conn(r->conns);
    uv_close((uv_handle_t *)&r->udp, on_closed);
    uv_close((uv_handle_t *)&r->tcp, on_closed);
}
