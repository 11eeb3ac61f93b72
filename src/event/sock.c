#include "event/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

/* Reads per readiness event before other sockets get their turn (libuv's streams use 32). */
#define READS_PER_EVENT 32

static void on_event(struct cw_io_watch *w, uint32_t events);
static void serve(struct cw_sock *s);
static void on_deferred(struct cw_io_deferred *d);

/* Serves the socket again at the end of the batch (level-triggered behaviour on top of
 * edge-triggered events, and callbacks that must not run inside the caller). */
static void serve_later(struct cw_sock *s)
{
    cw_io_defer(s->loop, &s->deferred, on_deferred);
}

/* Whether a wanted flag is still set, so that the socket must be served again. */
static bool has_work(const struct cw_sock *s)
{
    if (s->connect_cb)
        return false; /* only an event ends a connect */
    bool r = s->readable && (s->reading || (s->ready_events & CW_READABLE));
    bool w = s->writable && (s->writes.head || (s->ready_events & CW_WRITABLE));
    return r || w;
}

int cw_sock_adopt(struct cw_io_loop *loop, struct cw_sock *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->loop = loop;
    s->watch.fd = fd;
    s->watch.on_event = on_event;
    /* Registered once for everything; nothing is modified later, and close() removes it. */
    int rc = cw_io_add(loop, &s->watch, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    if (rc != 0) {
        close(fd);
        s->fd = -1;
    }
    return rc;
}

int cw_sock_accept_from(int listen_fd, struct sockaddr_storage *peer)
{
    socklen_t len = sizeof(*peer);
    int fd;
    do
        fd = accept4(listen_fd, (struct sockaddr *)peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd >= 0 ? fd : -errno;
}

int cw_sock_connect(struct cw_io_loop *loop, struct cw_sock *s, const struct sockaddr *addr,
                    cw_sock_status_cb cb)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t len =
        addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc;
    do
        rc = connect(fd, addr, len);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = cw_sock_adopt(loop, s, fd);
    if (rc != 0)
        return rc;
    /* Even a connect that completed at once reports through the loop (its EPOLLOUT), as libuv
     * does. */
    s->connect_cb = cb;
    return 0;
}

const char *cw_sock_connect_error(int status)
{
    return status == CW_ECONNREFUSED ? "connect refused" : "connect failed";
}

void cw_sock_nodelay(struct cw_sock *s)
{
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void cw_sock_watch(struct cw_sock *s, int events, cw_sock_ready_cb cb)
{
    s->ready_events = events;
    s->ready_cb = cb;
    if (has_work(s))
        serve_later(s);
}

void cw_sock_blocked(struct cw_sock *s, int events)
{
    if (events & CW_READABLE)
        s->readable = false;
    if (events & CW_WRITABLE)
        s->writable = false;
}

/* ---- reading ---- */

int cw_sock_read_start(struct cw_sock *s, cw_sock_alloc_cb alloc_cb, cw_sock_read_cb read_cb)
{
    if (s->closing)
        return CW_EINVAL;
    s->alloc_cb = alloc_cb;
    s->read_cb = read_cb;
    s->reading = true;
    if (has_work(s)) /* bytes (or EOF) that arrived while reading was stopped */
        serve_later(s);
    return 0;
}

void cw_sock_read_stop(struct cw_sock *s)
{
    s->reading = false;
}

static void read_some(struct cw_sock *s)
{
    for (int count = READS_PER_EVENT; count > 0 && s->reading && !s->closing; count--) {
        struct cw_buf buf = cw_buf_init(NULL, 0);
        s->alloc_cb(s, &buf);
        if (buf.len == 0) {
            s->read_cb(s, CW_ENOBUFS, &buf);
            return;
        }
        ssize_t n;
        do
            n = recv(s->fd, buf.base, buf.len, 0);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            /* A short read emptied the socket: anything later comes with a new event. Not so
             * for an EOF or error that already came: no event will repeat it. */
            if ((size_t)n < buf.len && !s->end_seen)
                s->readable = false;
            s->read_cb(s, n, &buf);
            if (!s->readable)
                return;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            s->readable = false;
            return;
        }
        /* EOF or an error ends reading, as with libuv's streams: the owner is told once. */
        ssize_t err = n == 0 ? CW_EOF : -errno;
        s->reading = false;
        s->read_cb(s, err, &buf);
        return;
    }
}

/* ---- writing ---- */

void cw_sock_bufs_skip(struct cw_buf *b, unsigned *n, size_t written)
{
    unsigned i = 0;
    while (i < *n && written >= b[i].len)
        written -= b[i++].len;
    memmove(b, b + i, sizeof(*b) * (*n - i));
    *n -= i;
    if (*n) {
        b[0].base += written;
        b[0].len -= written;
    }
}

/* What a send(2) or sendmsg(2) returned, as a byte count or a negative errno. */
static int sent_or_error(ssize_t w)
{
    if (w >= 0)
        return (int)w;
    return errno == EAGAIN || errno == EWOULDBLOCK ? CW_EAGAIN : -errno;
}

static int send_bufs(int fd, const struct cw_buf *bufs, unsigned n, int flags)
{
    flags |= MSG_DONTWAIT | MSG_NOSIGNAL;
    ssize_t w;
    if (n == 1) { /* send(2) skips copying in a message header and an iovec array */
        do
            w = send(fd, bufs[0].base, bufs[0].len, flags);
        while (w < 0 && errno == EINTR);
        return sent_or_error(w);
    }
    struct iovec iov[CW_SOCK_MAX_BUFS];
    if (n > CW_SOCK_MAX_BUFS)
        n = CW_SOCK_MAX_BUFS;
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = bufs[i].base;
        iov[i].iov_len = bufs[i].len;
    }
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
    do
        w = sendmsg(fd, &msg, flags);
    while (w < 0 && errno == EINTR);
    return sent_or_error(w);
}

/* Sends and keeps the writable flag true to what the socket said: after a short write the
 * socket is full, and the kernel reports when it has room again. */
static int send_tracked(struct cw_sock *s, const struct cw_buf *bufs, unsigned n, int flags)
{
    int w = send_bufs(s->fd, bufs, n, flags);
    if (w == CW_EAGAIN)
        s->writable = false;
    else if (w >= 0) {
        size_t total = 0;
        for (unsigned i = 0; i < n && i < CW_SOCK_MAX_BUFS; i++)
            total += bufs[i].len;
        if ((size_t)w < total)
            s->writable = false;
    }
    return w;
}

static int try_write(struct cw_sock *s, const struct cw_buf *bufs, unsigned n, int flags)
{
    if (s->closing)
        return CW_EBADF;
    /* Queued writes go first, or bytes would reach the peer out of order. */
    if (s->writes.head || s->connect_cb)
        return CW_EAGAIN;
    return send_tracked(s, bufs, n, flags);
}

int cw_sock_try_write(struct cw_sock *s, const struct cw_buf *bufs, unsigned n)
{
    return try_write(s, bufs, n, 0);
}

int cw_sock_try_write_last(struct cw_sock *s, const struct cw_buf *bufs, unsigned n)
{
    /* MSG_MORE holds a short segment back; the shutdown or close that follows sets FIN on it
     * and sends it. After a partial write the rest is queued and sent without MSG_MORE, which
     * pushes the held bytes along. */
    return try_write(s, bufs, n, MSG_MORE);
}

int cw_write_queue_push(struct cw_write_queue *q, struct cw_sock_write *req,
                        const struct cw_buf *bufs, unsigned n, cw_sock_write_cb cb)
{
    if (n == 0 || n > CW_SOCK_MAX_BUFS)
        return CW_EINVAL;
    memcpy(req->bufs, bufs, n * sizeof(*bufs));
    req->n_bufs = n;
    req->cb = cb;
    req->next = NULL;
    if (q->tail)
        q->tail->next = req;
    else
        q->head = req;
    q->tail = req;
    return 0;
}

void cw_write_queue_done(struct cw_write_queue *q)
{
    struct cw_sock_write *req = q->head;
    q->head = req->next;
    if (!q->head)
        q->tail = NULL;
    req->cb(req, 0);
}

void cw_write_queue_fail(struct cw_write_queue *q, int status)
{
    struct cw_sock_write *req = q->head;
    q->head = q->tail = NULL;
    while (req) {
        struct cw_sock_write *next = req->next;
        req->cb(req, status);
        req = next;
    }
}

int cw_sock_write(struct cw_sock *s, struct cw_sock_write *req, const struct cw_buf *bufs, unsigned n,
                  cw_sock_write_cb cb)
{
    if (s->closing || s->shutdown_cb)
        return CW_EBADF;
    int rc = cw_write_queue_push(&s->writes, req, bufs, n, cb);
    /* Written from the loop (now, at the end of the batch, when the socket is known to be
     * writable; else at its next event), so the callback never runs inside this call. */
    if (rc == 0 && has_work(s))
        serve_later(s);
    return rc;
}

static void finish_shutdown(struct cw_sock *s, int status)
{
    cw_sock_status_cb cb = s->shutdown_cb;
    s->shutdown_cb = NULL;
    if (status == 0 && shutdown(s->fd, SHUT_WR) != 0)
        status = -errno;
    cb(s, status);
}

/* Writes queued requests until the socket is full; completed ones call back. */
static void flush(struct cw_sock *s)
{
    while (s->writes.head && !s->closing) {
        struct cw_sock_write *req = s->writes.head;
        int w = send_tracked(s, req->bufs, req->n_bufs, 0);
        if (w == CW_EAGAIN)
            return;
        if (w < 0) {
            cw_write_queue_fail(&s->writes, w);
            if (s->shutdown_cb && !s->closing)
                finish_shutdown(s, w);
            return;
        }
        cw_sock_bufs_skip(req->bufs, &req->n_bufs, (size_t)w);
        if (req->n_bufs)
            return; /* the socket took only part of it: wait until it is writable again */
        cw_write_queue_done(&s->writes);
    }
    if (!s->writes.head && s->shutdown_cb && !s->closing)
        finish_shutdown(s, 0);
}

int cw_sock_shutdown(struct cw_sock *s, cw_sock_status_cb cb)
{
    if (s->closing || s->shutdown_cb || s->connect_cb)
        return CW_EINVAL;
    s->shutdown_cb = cb;
    if (!s->writes.head)
        finish_shutdown(s, 0);
    return 0;
}

/* ---- events ---- */

static void finish_connect(struct cw_sock *s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    cw_sock_status_cb cb = s->connect_cb;
    s->connect_cb = NULL;
    cb(s, -err);
}

/* Does what the flags allow and the owner wants, as one readiness callback would. */
static void serve(struct cw_sock *s)
{
    if (s->closing)
        return;
    if (s->connect_cb) {
        if (!s->writable && !s->readable)
            return;
        finish_connect(s);
        /* Reads and writes asked for during the connect are served now: the event that
         * ended it will not come again. */
        if (s->closing)
            return;
    }
    int ready = (s->readable ? CW_READABLE : 0) | (s->writable ? CW_WRITABLE : 0);
    if (ready & s->ready_events)
        s->ready_cb(s, ready & s->ready_events);
    if (s->readable && s->reading && !s->closing)
        read_some(s);
    if (s->writable && s->writes.head && !s->closing)
        flush(s);
    if (!s->closing && has_work(s))
        serve_later(s); /* a read budget ran out, or the owner left work: the next batch */
}

static void on_event(struct cw_io_watch *w, uint32_t events)
{
    struct cw_sock *s = (struct cw_sock *)w;
    /* An error or hang-up makes both sides "ready": the next call meets it and says so. */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        s->readable = true;
    if (events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        s->end_seen = true;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        s->writable = true;
    serve(s);
}

/* ---- closing ---- */

static void finish_close(struct cw_sock *s)
{
    /* What was still asked of the socket completes first, as libuv's streams do. */
    if (s->connect_cb) {
        cw_sock_status_cb cb = s->connect_cb;
        s->connect_cb = NULL;
        cb(s, CW_ECANCELED);
    }
    cw_write_queue_fail(&s->writes, CW_ECANCELED);
    if (s->shutdown_cb) {
        cw_sock_status_cb cb = s->shutdown_cb;
        s->shutdown_cb = NULL;
        cb(s, CW_ECANCELED);
    }
    s->close_cb(s);
}

static void on_deferred(struct cw_io_deferred *d)
{
    struct cw_sock *s = (struct cw_sock *)((char *)d - offsetof(struct cw_sock, deferred));
    if (s->closing)
        finish_close(s);
    else
        serve(s);
}

int cw_sock_detach(struct cw_sock *s, cw_sock_close_cb cb)
{
    if (s->closing || s->writes.head || s->connect_cb || s->shutdown_cb)
        return CW_EBADF;
    int fd = s->fd;
    cw_io_remove(s->loop, &s->watch);
    s->closing = true;
    s->reading = false;
    s->close_cb = cb;
    s->fd = -1;
    serve_later(s);
    return fd;
}

void cw_sock_close(struct cw_sock *s, cw_sock_close_cb cb)
{
    if (s->closing)
        return;
    s->closing = true;
    s->reading = false;
    s->close_cb = cb;
    /* close() takes the descriptor out of the epoll set; events of this batch that still name
     * the socket find it closing, and it is freed only after the batch. */
    close(s->fd);
    s->fd = -1;
    serve_later(s);
}
