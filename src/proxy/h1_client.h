/*
 * The HTTP/1.1 upstream client: one connection to one upstream host, the response parser, and
 * the worker's pools of idle connections. It knows nothing of the client side: it is driven by
 * the exchange (exchange.h) and reports through the callbacks of struct cw_h1_events, each
 * delivered from the loop, never inside the call that caused it.
 *
 * A connection holds a work block (block_pool.h: the response bytes, parser and head index)
 * only while a response is awaited or read; idle in its pool it holds none, and it keeps
 * reading so that an upstream closing it is noticed at once. A pool belongs to one worker and
 * one host: taking and returning a connection touches no shared state. One thread: the
 * worker's.
 */
#ifndef CW_PROXY_H1_CLIENT_H
#define CW_PROXY_H1_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/block_pool.h"
#include "event/transport.h"
#include "event/loop.h"
#include "http/head.h"
#include "upstream/upstream.h"

struct cw_h1_conn;

enum cw_h1_failure {
    CW_H1_NO_RESPONSE,  /* the upstream failed before any byte of the response */
    CW_H1_MID_RESPONSE, /* ... after some of the response was delivered */
    CW_H1_LOCAL,        /* the gateway could not even connect (out of descriptors or memory) */
};

struct cw_h1_events {
    /* Connected (or a pooled connection was taken): the request may be written. */
    void (*on_connect)(void *data);
    /* Every byte of the last cw_h1_write is out. */
    void (*on_written)(void *data);
    /* A response head arrived (an interim 1xx one may come before the final one); the
     * client's copy is written with cw_h1_client_head during this call. */
    void (*on_head)(void *data, int status);
    /* Body bytes [p, p + n) of the response, <done> at its end (n may be 0). The connection
     * reads nothing more until cw_h1_consumed says the bytes were taken. */
    void (*on_body)(void *data, const char *p, size_t n, bool done);
    /* The connection failed (<why> is for the access log and the answer's body); it is closed
     * and must not be used again. */
    void (*on_error)(void *data, const char *why, enum cw_h1_failure failure);
};

/* A worker's idle connections, per cluster and host of the generation it serves. */
struct cw_h1_pools {
    struct cw_io_loop *io;
    struct cw_block_pool *blocks;
    const struct cw_upstreams *ups; /* of the worker's generation: the pools' shape */
    uint64_t idle_ms;               /* a pooled connection idle longer is closed */
    void **by_cluster;              /* per cluster: an array of host pools, made on first use */
    struct cw_timer sweep;
    bool draining; /* shutdown: nothing more is pooled */
    /* Asked when the gateway runs out of descriptors for a new upstream connection: frees one
     * elsewhere (an idle client connection) and says so. Optional. */
    bool (*make_room)(void *ctx);
    void *make_room_ctx;
    char probe[64]; /* where idle connections read into: any byte makes them unusable */
};

/* Worker thread, for the pools of <ups>; starts the sweep of idle connections. */
void cw_h1_pools_init(struct cw_h1_pools *p, struct cw_io_loop *io, struct cw_block_pool *blocks,
                      const struct cw_upstreams *ups, uint64_t idle_ms);

/* Closes every idle connection and frees the pools (shutdown, or a reload that replaces the
 * hosts: then cw_h1_pools_init again). Connections in use close when released. */
void cw_h1_pools_deinit(struct cw_h1_pools *p);

/* Shutdown began: idle connections close now, and released ones are not pooled. */
void cw_h1_pools_drain(struct cw_h1_pools *p);

/*
 * A connection to host <host_index> of cluster <cluster> (of <gen>, whose addresses it uses)
 * for one request: a pooled one unless <fresh> (or <gen> is no longer the pools' generation),
 * else a new one. Its events go to <ev> with <data>; on_connect or on_error comes next.
 * <head_only>: the request is a HEAD, so the response has no body whatever its head says.
 */
struct cw_h1_conn *cw_h1_acquire(struct cw_h1_pools *p, const struct cw_upstreams *ups,
                                 uint32_t cluster, uint32_t host_index, bool fresh,
                                 bool head_only, const struct cw_h1_events *ev, void *data);

/* Writes [p, p + n) (kept in place until on_written). */
void cw_h1_write(struct cw_h1_conn *u, const char *p, size_t n);

/* The bytes of the last on_body were taken: parsing and reading go on. */
void cw_h1_consumed(struct cw_h1_conn *u);

/* The client is slow: stop reading until cw_h1_consumed. */
void cw_h1_pause(struct cw_h1_conn *u);

/* Finished with <u>: back to its pool when <reusable> and the response ended cleanly, else
 * closed. No callback comes after this. */
void cw_h1_release(struct cw_h1_conn *u, bool reusable);

/*
 * After a 101 Switching Protocols (during on_head): the connection (its descriptor and, over
 * TLS, its TLS state) handed to the caller in <h>, and the bytes that came after the head
 * (copied into <rest>, at most <cap>, their count in *rest_len). <u> is gone. A negative error
 * when the connection cannot be handed over (request bytes still queued, more bytes than
 * <cap>).
 */
int cw_h1_detach(struct cw_h1_conn *u, struct cw_transport_handoff *h, char *rest, size_t cap,
                 size_t *rest_len);

/* The current response: its status; whether the connection may carry another request; whether
 * the body ends only when the upstream closes; whether the connection came from a pool. */
int cw_h1_status(const struct cw_h1_conn *u);
bool cw_h1_keep_alive(const struct cw_h1_conn *u);
bool cw_h1_needs_eof(const struct cw_h1_conn *u);
bool cw_h1_reused(const struct cw_h1_conn *u);

/* How the connection's TLS handshake went: "full", "resumed" (an earlier session of the
 * host), or NULL for plain TCP. */
const char *cw_h1_tls_handshake(const struct cw_h1_conn *u);

/* Bytes of the request wait for the upstream to take them. */
bool cw_h1_sending(const struct cw_h1_conn *u);

/* Writes the client's copy of the current response head into <o> ("Connection: close" when
 * <close>). During on_head only. */
void cw_h1_client_head(const struct cw_h1_conn *u, struct cw_out *o, bool close);

#endif
