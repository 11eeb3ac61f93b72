/*
 * Connected TCP sockets of the workers (the event layer): registered once, edge-triggered,
 * in the worker's own epoll set (loop.h), and read and written with causeway's own recv(),
 * sendmsg(), accept4(), connect() and shutdown().
 *
 * libuv's streams read with read(2), which goes through the VFS file layer (fdget_pos,
 * rw_verify_area, sock_read_iter) before it reaches TCP; recv() enters the socket code
 * directly. On the benchmark's request path that layer was about a microsecond per request
 * (BENCHMARKS.md). The interface keeps the shape of libuv's streams (alloc and read callbacks,
 * queued write requests with a completion callback, shutdown after queued writes, close with a
 * callback) so that the connection code reads the same, and so does their behaviour: reading
 * stops by itself at EOF or on an error, callbacks never run inside the call that asked for
 * them (except a shutdown with nothing queued), and requests still queued when the socket
 * closes complete with CW_ECANCELED before the close callback runs.
 *
 * Edge-triggered readiness is kept as two flags, readable and writable: set by an event,
 * cleared only when a system call says EAGAIN (or a read comes back short). While a wanted
 * flag stays set, the socket is served again at the end of the batch, so the owners see
 * level-triggered behaviour.
 */
#ifndef CW_EVENT_SOCK_H
#define CW_EVENT_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include "event/event_types.h"

#include "event/loop.h"

#define CW_SOCK_MAX_BUFS 4

struct cw_sock;
struct cw_sock_write;

/* <buf> gets the space for the next read; a zero length delivers CW_ENOBUFS to the read
 * callback. */
typedef void (*cw_sock_alloc_cb)(struct cw_sock *s, struct cw_buf *buf);
/* <nread> bytes arrived in <buf>, or CW_EOF, CW_ENOBUFS or a negative error (event_types.h). */
typedef void (*cw_sock_read_cb)(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf);
typedef void (*cw_sock_write_cb)(struct cw_sock_write *req, int status);
typedef void (*cw_sock_status_cb)(struct cw_sock *s, int status);
typedef void (*cw_sock_close_cb)(struct cw_sock *s);
/* <events> (CW_READABLE, CW_WRITABLE) of those asked with cw_sock_watch are ready. */
typedef void (*cw_sock_ready_cb)(struct cw_sock *s, int events);

/* A queued write: the buffers' bytes must stay in place until the callback. */
struct cw_sock_write {
    void *data;
    struct cw_buf bufs[CW_SOCK_MAX_BUFS];
    unsigned n_bufs;
    cw_sock_write_cb cb;
    struct cw_sock_write *next;
};

/* Queued writes, in order: a plain socket's (sock.c) or a TLS connection's (tls.c). */
struct cw_write_queue {
    struct cw_sock_write *head, *tail;
};

/* Fills <req> with <bufs> (at most CW_SOCK_MAX_BUFS, CW_EINVAL otherwise) and <cb>, and
 * appends it. */
int cw_write_queue_push(struct cw_write_queue *q, struct cw_sock_write *req,
                        const struct cw_buf *bufs, unsigned n, cw_sock_write_cb cb);

/* The first request is written: off the queue, and its callback runs with 0. */
void cw_write_queue_done(struct cw_write_queue *q);

/* Every queued request fails with <status> (the queue is emptied first: a callback may queue
 * anew). */
void cw_write_queue_fail(struct cw_write_queue *q, int status);

struct cw_sock {
    struct cw_io_watch watch; /* first: the loop's events come with &watch */
    struct cw_io_deferred deferred;
    struct cw_io_loop *loop;
    int fd;
    void *data;
    cw_sock_alloc_cb alloc_cb;
    cw_sock_read_cb read_cb;
    struct cw_write_queue writes;
    cw_sock_status_cb connect_cb;  /* while a connect is under way */
    cw_sock_status_cb shutdown_cb; /* a shutdown waits for the queued writes */
    cw_sock_close_cb close_cb;
    int ready_events; /* asked with cw_sock_watch */
    cw_sock_ready_cb ready_cb;
    bool readable, writable; /* what the last events said and no call has contradicted */
    bool end_seen;           /* EOF or an error was reported: read until a call says so */
    bool reading, closing;
};

/*
 * Takes over the connected, non-blocking descriptor <fd> (from cw_sock_accept_from). On failure
 * the descriptor is closed and a negative error (event_types.h) returned; the socket is then unused and
 * needs no close.
 */
int cw_sock_adopt(struct cw_io_loop *loop, struct cw_sock *s, int fd);

/*
 * Accepts one connection on the listening descriptor <listen_fd>: its non-blocking descriptor
 * with the peer's address in <peer>, or a negative error (event_types.h) (CW_EAGAIN: none waiting).
 */
int cw_sock_accept_from(int listen_fd, struct sockaddr_storage *peer);

/*
 * Starts connecting to <addr>; <cb> runs with 0 or a negative error (event_types.h). Returns a negative
 * error (event_types.h), without calling back, when the connect cannot even start; the socket is then
 * unused and needs no close.
 */
int cw_sock_connect(struct cw_io_loop *loop, struct cw_sock *s, const struct sockaddr *addr,
                    cw_sock_status_cb cb);

/* The access log's words for a failed connect's status. */
const char *cw_sock_connect_error(int status);

int cw_sock_read_start(struct cw_sock *s, cw_sock_alloc_cb alloc_cb, cw_sock_read_cb read_cb);
void cw_sock_read_stop(struct cw_sock *s);

/*
 * Writes what the socket takes now of <bufs> (<n> of them), never blocks.
 * Returns the bytes written, CW_EAGAIN when nothing could be written (or queued writes must go
 * first), or a negative error (event_types.h).
 */
int cw_sock_try_write(struct cw_sock *s, const struct cw_buf *bufs, unsigned n);

/*
 * cw_sock_try_write for the last bytes before the sending side closes: when all were written,
 * the caller must call cw_sock_shutdown (or cw_sock_close) before returning to the loop, and the
 * FIN then leaves in the same segment as these bytes. One segment (and the peer's
 * acknowledgement of it) fewer for a connection that closes after its response.
 */
int cw_sock_try_write_last(struct cw_sock *s, const struct cw_buf *bufs, unsigned n);

/* Queues <bufs> (at most CW_SOCK_MAX_BUFS) after the writes already queued; <cb> runs when all
 * are written or on an error, never before this returns. */
int cw_sock_write(struct cw_sock *s, struct cw_sock_write *req, const struct cw_buf *bufs, unsigned n,
                  cw_sock_write_cb cb);

/* Whether writes wait in the queue (cw_sock_write) for the socket to take them. */
static inline bool cw_sock_writes_queued(const struct cw_sock *s)
{
    return s->writes.head != NULL;
}

/* Half-closes the sending side once the queued writes are out, then calls <cb> (at once when
 * nothing is queued). */
int cw_sock_shutdown(struct cw_sock *s, cw_sock_status_cb cb);

/* Drops the first <written> bytes from <b> (an array of <*n> buffers), as after a short write. */
void cw_sock_bufs_skip(struct cw_buf *b, unsigned *n, size_t written);

void cw_sock_nodelay(struct cw_sock *s);

/*
 * For owners that move the bytes with their own system calls (splice): <cb> runs while the
 * socket is ready for <events> (CW_READABLE, CW_WRITABLE; 0 stops), again at the end of each
 * batch until the owner reports with cw_sock_blocked that a call said EAGAIN. This is
 * independent of cw_sock_read_start and of queued writes, which must not be used for the same
 * direction. After an error on the socket, <cb> gets every asked event so that the owner's
 * call meets it.
 */
void cw_sock_watch(struct cw_sock *s, int events, cw_sock_ready_cb cb);

/* The owner's own call on the socket said EAGAIN for <events>: wait for the next event. */
void cw_sock_blocked(struct cw_sock *s, int events);

/*
 * Hands the descriptor over to another owner (who adopts it with cw_sock_adopt), leaving it
 * open: it leaves the loop's set now, and <cb> runs at the end of the batch as after a close.
 * Only with nothing under way (no queued write, connect or shutdown): returns the descriptor, or
 * CW_EBADF when the socket is busy or closing.
 */
int cw_sock_detach(struct cw_sock *s, cw_sock_close_cb cb);

/* Closes the descriptor now; <cb> runs at the end of the batch, after the cancelled requests'
 * callbacks. */
void cw_sock_close(struct cw_sock *s, cw_sock_close_cb cb);

#endif
