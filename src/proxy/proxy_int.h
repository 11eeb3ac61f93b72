/* Worker internals shared by the files of src/proxy/ (private). */
#ifndef CW_PROXY_INT_H
#define CW_PROXY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "event/block_pool.h"
#include "proxy/request_id.h"
#include "event/transport.h"
#include "event/loop.h"
#include "proxy/access_log.h"
#include "proxy/exchange.h"
#include "proxy/h1_client.h"
#include "proxy/proxy.h"
#include "upstream/attempts.h"

/* Every live connection is on its worker's list so that shutdown can close what remains. */
struct cw_conn_link {
    struct cw_conn_link *prev, *next;
    void (*force_close)(struct cw_conn_link *link);
    /* Shutdown began: close now if idle, else finish the work in hand and close. */
    void (*drain)(struct cw_conn_link *link);
    /* Descriptors or the connection cap ran out: close now if idle with nothing in hand (a
     * keep-alive connection between requests) and say so; NULL when never idle that way. */
    bool (*reclaim)(struct cw_conn_link *link);
};

struct cw_worker_listener;
struct sockaddr_storage;

/* An accept handler: <fd> is the accepted connection, now the handler's. */
typedef void (*cw_accept_fn)(struct cw_worker_listener *wl, int fd,
                             const struct sockaddr_storage *peer);

struct cw_worker_listener {
    struct cw_io_watch watch;                    /* watch.fd: the listening socket */
    struct cw_timer pause_timer;                 /* out of descriptors: accepting waits a moment */
    const struct cw_snapshot_listener *listener; /* of the worker's generation */
    uint16_t port; /* the socket's port: a reload finds the listener again by it */
    cw_accept_fn accept; /* the session its connections start (HTTP or TCP tunnel) */
    struct cw_worker *worker;
};

struct cw_worker {
    unsigned id;
    struct cw_proxy *proxy;
    const struct cw_proxy_config *cfg;
    struct cw_io_loop io; /* its sockets and timers */
    pthread_t thread;
    atomic_bool stop_requested;               /* set by the control thread, which then wakes <io> */
    atomic_bool finished;                     /* its loop ended: the thread can be joined */
    struct cw_generation *gen;                /* served to new connections and requests */
    _Atomic(struct cw_generation *) next_gen; /* published by the control thread */
    struct cw_timer drain_timer;
    struct cw_worker_listener *listeners;
    uint32_t n_listeners;
    struct cw_pick_cursor *cursors; /* per cluster: this worker's choice state */
    uint32_t weight_counter;        /* spreads requests over weighted destinations */
    struct cw_request_ids request_ids; /* makes the ids of requests that come without one */
    struct cw_block_pool blocks;    /* the work blocks of requests and responses in hand */
    struct cw_h1_pools h1_pools;    /* idle upstream HTTP connections */
    struct cw_exchange_env exchange_env;
    char drop[512]; /* where bytes that are read only to be dropped go */
    struct cw_conn_link conns; /* list head */
    uint32_t active;
    uint32_t max_conns;  /* this worker's share of --max-connections; 0: no cap */
    bool accept_full;    /* at the cap: listeners unwatched until a connection ends */
    bool draining;
    struct cw_log_buffer log;
};

struct cw_proxy {
    const struct cw_proxy_config *cfg;
    struct cw_worker *workers;
    unsigned n_workers;
};

void cw_worker_track(struct cw_worker *w, struct cw_conn_link *link);

/* Removes a finished connection; the worker stops once draining and nothing is left. */
void cw_worker_untrack(struct cw_worker *w, struct cw_conn_link *link);

/* Chooses among the weighted clusters of a route; NULL when the route has none. */
struct cw_cluster *cw_worker_pick_cluster(struct cw_worker *w, const struct cw_route *r);

/* Writes the worker's buffered access-log lines, if any. */
void cw_access_log_flush_if(struct cw_worker *w);

/* What an HTTP request that switched protocols hands to its tunnel for the access log. */
struct cw_upgrade_log {
    char *text; /* "METHOD\0path\0host\0", owned by the tunnel (NULL without an access log) */
    uint64_t start_ms, bytes_in, bytes_out; /* the request's, before the switch */
};

/* An HTTP connection whose upstream answered 101 Switching Protocols: both descriptors, and
 * the bytes each side sent past the heads, become a tunnel (the TCP tunnel's code path). */
struct cw_upgrade {
    struct cw_generation *gen;
    const struct cw_snapshot_listener *listener;
    const struct cw_route *route;
    const struct cw_attempts *attempts; /* the host that answered, and the tries before */
    struct cw_transport_handoff client, upstream; /* the connections, TLS state and all */
    const char *client_text; /* "ip:port" of the client, for the access log */
    const char *to_client; /* the 101 head and what the upstream sent after it */
    size_t to_client_len;
    const char *to_upstream; /* what the client sent after its request head */
    size_t to_upstream_len;
    struct cw_upgrade_log log;
};

/* Starts the tunnel of <u> (its descriptors and the log text are the tunnel's from now on). */
void cw_tcp_proxy_upgrade(struct cw_worker *w, const struct cw_upgrade *u);

/* A pass-through connection whose ClientHello named a route (sni_session.c): the client's
 * descriptor and the bytes read from it so far. */
struct cw_passthrough {
    int client_fd;
    struct cw_generation *gen; /* the configuration the route is of (the tunnel takes a ref) */
    const struct cw_snapshot_listener *listener;
    const struct cw_route *route;
    const char *sni;
    const char *client; /* "ip:port", for the access log */
    const char *hello;
    size_t hello_len;
};

/* Starts the tunnel of <p>: the ClientHello first, then bytes both ways, never decrypted. */
void cw_tcp_proxy_passthrough(struct cw_worker *w, const struct cw_passthrough *p);

/* "ip:port" of <peer> into <out> (CW_CLIENT_TEXT bytes; tcp_proxy.c). */
void cw_peer_text(char *out, const struct sockaddr_storage *peer);

/* The accept handler of SNI pass-through listeners (sni_session.c). */
void cw_sni_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer);

/* The accept handler of TCP listeners: <fd> is the accepted connection, now the tunnel's. */
void cw_tcp_proxy_accept(struct cw_worker_listener *wl, int fd,
                         const struct sockaddr_storage *peer);

/* The accept handler for the connections of listener <l> (sessions.c). */
cw_accept_fn cw_session_accept_for(const struct cw_snapshot_listener *l);

/* Takes over the accepted descriptor <fd> as the client side of a session on <wl>: a TLS
 * server handshake when the listener terminates TLS, plain TCP otherwise (as
 * cw_transport_adopt: on failure <fd> is closed). */
int cw_session_adopt(struct cw_worker_listener *wl, struct cw_transport *t, int fd, void *data);

/* A finished HTTP request or TCP connection, as the metrics count it. */
struct cw_request_done {
    uint16_t listener;
    bool tcp;
    int status; /* HTTP status; 0 for TCP */
    const struct cw_route *route;     /* NULL: none */
    const struct cw_cluster *cluster; /* NULL: none */
    uint64_t bytes_in, bytes_out, duration_ms;
    uint32_t retries;
    const struct cw_attempts *attempts; /* its hosts stop counting it in flight; NULL: none */
};

/* Counts <d> in the calling worker's series (request_metrics.c). */
void cw_request_metrics_count(const struct cw_request_done *d);

/* Monotonic milliseconds of the worker's loop. */
static inline uint64_t cw_worker_now(struct cw_worker *w)
{
    return cw_io_now(&w->io);
}

#endif
