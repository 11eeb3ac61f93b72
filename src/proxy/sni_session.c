/*
 * SNI pass-through (spec §3.6): a connection on a listener with tls mode PASSTHROUGH is read
 * until its ClientHello names a server (tls/client_hello.h), within the request-headers deadline
 * and CW_CLIENT_HELLO_MAX bytes; the name chooses a tls route (an exact sniHost beats a wildcard
 * one, then the routes' order), and the connection becomes a TCP tunnel that sends the
 * ClientHello on and never decrypts anything. No server name, no route, a malformed hello, the
 * deadline or the size limit: the connection is closed and logged with the reason.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event/transport.h"
#include "proxy/access_log.h"
#include "proxy/proxy_int.h"
#include "tls/client_hello.h"
#include "util/xalloc.h"

struct sni_session {
    struct cw_conn_link link; /* first: the worker's list holds &link */
    struct cw_worker *w;
    struct cw_generation *gen;
    const struct cw_snapshot_listener *listener;
    struct cw_transport tr;
    struct cw_timer deadline;
    const struct cw_route *route; /* chosen: the tunnel takes over when the socket is handed on */
    const char *reason;           /* why it was closed, for the access log */
    char sni[256];
    char client[CW_CLIENT_TEXT]; /* "ip:port", for the access log */
    bool closing;
    size_t len;
    unsigned char hello[CW_CLIENT_HELLO_MAX + 1024]; /* the largest hello in its records */
};

/* ---- choosing the route ---- */

/* How <pattern> covers <sni>: 2 exactly, 1 as a wildcard ("*.example.com" covers any name
 * ending in ".example.com"; "*" covers all), 0 not at all. */
static int sni_match(const char *pattern, const char *sni)
{
    if (!strcasecmp(pattern, sni))
        return 2;
    if (!strcmp(pattern, "*"))
        return 1;
    if (pattern[0] != '*' || pattern[1] != '.')
        return 0;
    size_t pl = strlen(pattern + 1), sl = strlen(sni);
    return sl > pl && !strcasecmp(sni + sl - pl, pattern + 1) ? 1 : 0;
}

/* The route for <sni> on <l>: the first with an exact sniHost, else the first with a wildcard
 * one. */
static const struct cw_route *route_for(const struct cw_snapshot_listener *l, const char *sni)
{
    const struct cw_route *wildcard = NULL;
    for (uint32_t i = 0; i < l->tls_routes.n; i++) {
        const struct cw_tls_route *tls = l->tls_routes.v[i].tls;
        for (uint32_t m = 0; m < tls->matchers.n; m++) {
            const struct cw_tls_matcher *tm = &tls->matchers.v[m];
            if (tm->port && tm->port != l->port)
                continue;
            for (uint32_t h = 0; h < tm->sni_hosts.n; h++) {
                int score = sni_match(tm->sni_hosts.v[h], sni);
                if (score == 2)
                    return &l->tls_routes.v[i];
                if (score == 1 && !wildcard)
                    wildcard = &l->tls_routes.v[i];
            }
        }
    }
    return wildcard;
}

/* ---- the end of the session ---- */

static void log_refused(struct sni_session *s)
{
    /* Counted as a TCP connection with no route, as the access log shows it. */
    cw_request_metrics_count(&(struct cw_request_done){
        .listener = s->listener->port, .tcp = true, .bytes_in = s->len});
    const struct cw_access_log *log = s->w->cfg->access_log;
    if (!log)
        return;
    struct cw_access_record r = {
        .protocol = "tcp",
        .listener = s->listener->port,
        .sni = s->sni[0] ? s->sni : NULL,
        .client = s->client,
        .upstream_connect_us = -1,
        .upstream_response_us = -1,
        .priority = -1,
        .bytes_in = s->len,
        .duration_ms = 0,
        .reason = s->reason,
    };
    cw_access_log_add(log, &s->w->log, &r);
}

static void on_closed(struct cw_transport *t)
{
    struct sni_session *s = t->data;
    cw_worker_untrack(s->w, &s->link);
    cw_generation_unref(s->gen);
    free(s);
}

static void refuse(struct sni_session *s, const char *reason)
{
    if (s->closing)
        return;
    s->closing = true;
    s->reason = reason;
    cw_timer_stop(&s->w->io, &s->deadline);
    log_refused(s);
    cw_transport_close(&s->tr, on_closed);
}

/* The descriptor left the session: the tunnel has it. */
static void on_handed_over(struct cw_transport *t)
{
    on_closed(t);
}

static void hand_over(struct sni_session *s)
{
    cw_timer_stop(&s->w->io, &s->deadline);
    cw_transport_read_stop(&s->tr);
    int fd = cw_transport_detach(&s->tr, on_handed_over);
    if (fd < 0) {
        refuse(s, "connection lost before the tunnel");
        return;
    }
    s->closing = true;
    struct cw_passthrough p = {
        .client_fd = fd,
        .gen = s->gen,
        .listener = s->listener,
        .route = s->route,
        .sni = s->sni,
        .client = s->client,
        .hello = (const char *)s->hello,
        .hello_len = s->len,
    };
    cw_tcp_proxy_passthrough(s->w, &p);
}

/* ---- reading the ClientHello ---- */

static void on_alloc(struct cw_transport *t, struct cw_buf *buf)
{
    struct sni_session *s = t->data;
    *buf = cw_buf_init((char *)s->hello + s->len, sizeof(s->hello) - s->len);
}

static void on_read(struct cw_transport *t, ssize_t nread, const struct cw_buf *buf)
{
    (void)buf;
    struct sni_session *s = t->data;
    if (nread < 0) {
        refuse(s, nread == CW_EOF ? "client closed before its ClientHello ended"
                                  : "client connection failed before its ClientHello ended");
        return;
    }
    s->len += (size_t)nread;
    const char *why = NULL;
    switch (cw_client_hello_sni(s->hello, s->len, s->sni, sizeof(s->sni), &why)) {
    case CW_HELLO_NEED_MORE:
        if (s->len == sizeof(s->hello))
            refuse(s, "ClientHello too large");
        return;
    case CW_HELLO_NO_SNI:
        refuse(s, "ClientHello without a server name (SNI)");
        return;
    case CW_HELLO_INVALID:
        refuse(s, why);
        return;
    case CW_HELLO_SNI:
        break;
    }
    s->route = route_for(s->listener, s->sni);
    if (!s->route) {
        refuse(s, "no tls route matches the server name");
        return;
    }
    hand_over(s);
}

static void on_deadline(struct cw_timer *timer)
{
    refuse(timer->data, "ClientHello not received in time");
}

static void force_close(struct cw_conn_link *link)
{
    refuse((struct sni_session *)link, "shutdown");
}

void cw_sni_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer)
{
    struct cw_worker *w = wl->worker;
    struct sni_session *s = cw_xmalloc(sizeof(*s));
    memset(s, 0, offsetof(struct sni_session, hello)); /* the hello bytes need no clearing */
    if (cw_transport_adopt(&w->io, &s->tr, fd, s) != 0) {
        free(s);
        return;
    }
    s->w = w;
    cw_peer_text(s->client, peer);
    s->gen = cw_generation_ref(w->gen);
    s->listener = wl->listener;
    s->link.force_close = force_close;
    s->link.drain = force_close; /* nothing in hand worth waiting for */
    s->deadline.data = s;
    cw_worker_track(w, &s->link);
    cw_timer_start(&w->io, &s->deadline, w->cfg->timeouts.request_headers_ms, on_deadline);
    cw_transport_read_start(&s->tr, on_alloc, on_read);
}
