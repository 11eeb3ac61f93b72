/*
 * The transport under every connection (the event layer): read, write, shut down, close, and
 * the events they raise, whatever carries the bytes. Plain TCP is the socket itself (sock.h);
 * TLS (a later layer) brings its own operations and presents the same bytes and events, so the
 * HTTP and tunnel code above never changes with it.
 *
 * Semantics are those of sock.h: reading stops by itself at EOF or an error, callbacks never
 * run inside the call that asked for them, queued writes complete in order (with CW_ECANCELED
 * when the transport closes first), and a transport is freed only after its close callback.
 * One thread: the loop's.
 */
#ifndef CW_EVENT_TRANSPORT_H
#define CW_EVENT_TRANSPORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "event/event_types.h"
#include "event/sock.h"

struct cw_transport;

/* <buf> gets the space for the next read; a zero length delivers CW_ENOBUFS. */
typedef void (*cw_transport_alloc_cb)(struct cw_transport *t, struct cw_buf *buf);
/* <nread> bytes arrived in <buf>, or CW_EOF, CW_ENOBUFS or another negative error. */
typedef void (*cw_transport_read_cb)(struct cw_transport *t, ssize_t nread,
                                     const struct cw_buf *buf);
typedef void (*cw_transport_status_cb)(struct cw_transport *t, int status);
typedef void (*cw_transport_close_cb)(struct cw_transport *t);

/* What a transport other than plain TCP does for each call (NULL ops: plain TCP). */
struct cw_transport_ops {
    int (*read_start)(struct cw_transport *t);
    void (*read_stop)(struct cw_transport *t);
    int (*try_write)(struct cw_transport *t, const struct cw_buf *bufs, unsigned n, bool last);
    int (*write)(struct cw_transport *t, struct cw_sock_write *req, const struct cw_buf *bufs,
                 unsigned n, cw_sock_write_cb cb);
    bool (*writes_queued)(const struct cw_transport *t);
    int (*shutdown)(struct cw_transport *t);
    void (*close)(struct cw_transport *t);
    /* Handing the connection to another owner (cw_transport_hand_off): whether it can go now
     * (0, or a negative error), its state made ready in the new transport, or freed unused. */
    int (*hand_off)(struct cw_transport *t);
    void (*taken)(struct cw_transport *t);
    void (*discard)(void *impl);
};

struct cw_transport {
    struct cw_sock sock; /* first: the TCP socket underneath */
    const struct cw_transport_ops *ops;
    void *impl;  /* the transport's own state (TLS), NULL for plain TCP */
    void *data;  /* the owner's */
    cw_transport_alloc_cb alloc_cb;
    cw_transport_read_cb read_cb;
    cw_transport_status_cb connect_cb, shutdown_cb;
    cw_transport_close_cb close_cb;
    uint64_t connect_ms; /* the owner's: loop time its connect began (connect-time metrics) */
};

/* ---- starting one (plain TCP) ---- */

/* Takes over the connected, non-blocking descriptor <fd> (see cw_sock_adopt). */
int cw_transport_adopt(struct cw_io_loop *loop, struct cw_transport *t, int fd, void *data);

/* Starts connecting to <addr>; <cb> runs with 0 or a negative error (see cw_sock_connect). */
int cw_transport_connect(struct cw_io_loop *loop, struct cw_transport *t,
                         const struct sockaddr *addr, void *data, cw_transport_status_cb cb);

/* ---- using it ---- */

int cw_transport_read_start(struct cw_transport *t, cw_transport_alloc_cb alloc_cb,
                            cw_transport_read_cb read_cb);
void cw_transport_read_stop(struct cw_transport *t);

/* Writes what the transport takes now of <bufs>: the bytes written, CW_EAGAIN, or an error.
 * <last>: these are the last bytes before a shutdown or close (see cw_sock_try_write_last). */
static inline int cw_transport_try_write(struct cw_transport *t, const struct cw_buf *bufs,
                                         unsigned n, bool last)
{
    if (t->ops)
        return t->ops->try_write(t, bufs, n, last);
    return last ? cw_sock_try_write_last(&t->sock, bufs, n) : cw_sock_try_write(&t->sock, bufs, n);
}

/* Queues <bufs> after the writes already queued; <cb> runs when all are written or on an
 * error, never before this returns. */
static inline int cw_transport_write(struct cw_transport *t, struct cw_sock_write *req,
                                     const struct cw_buf *bufs, unsigned n, cw_sock_write_cb cb)
{
    if (t->ops)
        return t->ops->write(t, req, bufs, n, cb);
    return cw_sock_write(&t->sock, req, bufs, n, cb);
}

static inline bool cw_transport_writes_queued(const struct cw_transport *t)
{
    return t->ops ? t->ops->writes_queued(t) : cw_sock_writes_queued(&t->sock);
}

/* Half-closes the sending side once the queued writes are out, then calls <cb>. */
int cw_transport_shutdown(struct cw_transport *t, cw_transport_status_cb cb);

/* Closes now; <cb> runs from the loop, after the cancelled writes' callbacks. */
void cw_transport_close(struct cw_transport *t, cw_transport_close_cb cb);

/*
 * Hands the descriptor to another owner, leaving it open (see cw_sock_detach); <cb> runs from
 * the loop as after a close. Only plain TCP can be handed over as bytes: CW_EINVAL otherwise.
 */
int cw_transport_detach(struct cw_transport *t, cw_transport_close_cb cb);

/* A connection between two owners: its descriptor and, for TLS, the state that goes with it. */
struct cw_transport_handoff {
    int fd;
    const struct cw_transport_ops *ops;
    void *impl;
};

/*
 * Hands the whole connection (TLS included, its session and any bytes it holds) to another
 * owner, who takes it with cw_transport_take; <cb> runs from the loop as after a close. Only
 * with nothing under way (no queued write, a finished handshake): a negative error otherwise,
 * and <t> is as it was.
 */
int cw_transport_hand_off(struct cw_transport *t, struct cw_transport_handoff *h,
                          cw_transport_close_cb cb);

/* The new owner's side: <t> carries the connection of <h> from now on (on failure it is
 * closed and freed, as cw_transport_adopt does with a descriptor). */
int cw_transport_take(struct cw_io_loop *loop, struct cw_transport *t,
                      const struct cw_transport_handoff *h, void *data);

/* Closes and frees a connection handed off that nobody will take. */
void cw_transport_handoff_drop(const struct cw_transport_handoff *h);

/* The descriptor bytes can be spliced to and from (the socket's, for plain TCP), or -1 when the
 * transport must see every byte (TLS). */
static inline int cw_transport_splice_fd(const struct cw_transport *t)
{
    return t->ops ? -1 : t->sock.fd;
}

#endif
