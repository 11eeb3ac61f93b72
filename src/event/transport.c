/*
 * The transport interface (transport.h) over plain TCP: the socket's own calls, with its
 * callbacks handed on to the transport's owner. Other transports set ops and are reached
 * through them.
 */
#include "event/transport.h"

#include <unistd.h>

/* The socket is the transport's first member. */
static struct cw_transport *of(struct cw_sock *s)
{
    return (struct cw_transport *)s;
}

static void on_alloc(struct cw_sock *s, struct cw_buf *buf)
{
    of(s)->alloc_cb(of(s), buf);
}

static void on_read(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf)
{
    of(s)->read_cb(of(s), nread, buf);
}

static void on_connect(struct cw_sock *s, int status)
{
    of(s)->connect_cb(of(s), status);
}

static void on_shutdown(struct cw_sock *s, int status)
{
    of(s)->shutdown_cb(of(s), status);
}

static void on_close(struct cw_sock *s)
{
    of(s)->close_cb(of(s));
}

int cw_transport_adopt(struct cw_io_loop *loop, struct cw_transport *t, int fd, void *data)
{
    *t = (struct cw_transport){.data = data};
    int rc = cw_sock_adopt(loop, &t->sock, fd);
    t->sock.data = data;
    return rc;
}

int cw_transport_connect(struct cw_io_loop *loop, struct cw_transport *t,
                         const struct sockaddr *addr, void *data, cw_transport_status_cb cb)
{
    *t = (struct cw_transport){.data = data, .connect_cb = cb};
    int rc = cw_sock_connect(loop, &t->sock, addr, on_connect);
    t->sock.data = data;
    return rc;
}

int cw_transport_read_start(struct cw_transport *t, cw_transport_alloc_cb alloc_cb,
                            cw_transport_read_cb read_cb)
{
    t->alloc_cb = alloc_cb;
    t->read_cb = read_cb;
    return t->ops ? t->ops->read_start(t) : cw_sock_read_start(&t->sock, on_alloc, on_read);
}

void cw_transport_read_stop(struct cw_transport *t)
{
    if (t->ops)
        t->ops->read_stop(t);
    else
        cw_sock_read_stop(&t->sock);
}

int cw_transport_shutdown(struct cw_transport *t, cw_transport_status_cb cb)
{
    t->shutdown_cb = cb;
    return t->ops ? t->ops->shutdown(t) : cw_sock_shutdown(&t->sock, on_shutdown);
}

void cw_transport_close(struct cw_transport *t, cw_transport_close_cb cb)
{
    t->close_cb = cb;
    if (t->ops)
        t->ops->close(t);
    else
        cw_sock_close(&t->sock, on_close);
}

int cw_transport_detach(struct cw_transport *t, cw_transport_close_cb cb)
{
    if (t->ops)
        return CW_EINVAL;
    t->close_cb = cb;
    return cw_sock_detach(&t->sock, on_close);
}

int cw_transport_hand_off(struct cw_transport *t, struct cw_transport_handoff *h,
                          cw_transport_close_cb cb)
{
    if (t->ops) {
        int rc = t->ops->hand_off ? t->ops->hand_off(t) : CW_EINVAL;
        if (rc != 0)
            return rc;
    }
    int fd = cw_sock_detach(&t->sock, on_close); /* the old owner hears of it as of a close */
    if (fd < 0)
        return fd;
    *h = (struct cw_transport_handoff){.fd = fd, .ops = t->ops, .impl = t->impl};
    t->close_cb = cb;
    t->ops = NULL; /* what follows on <t> is a plain socket's close */
    t->impl = NULL;
    return 0;
}

int cw_transport_take(struct cw_io_loop *loop, struct cw_transport *t,
                      const struct cw_transport_handoff *h, void *data)
{
    int rc = cw_transport_adopt(loop, t, h->fd, data);
    if (rc != 0) {
        if (h->ops)
            h->ops->discard(h->impl);
        return rc;
    }
    t->ops = h->ops;
    t->impl = h->impl;
    if (t->ops)
        t->ops->taken(t);
    return 0;
}

void cw_transport_handoff_drop(const struct cw_transport_handoff *h)
{
    if (h->ops)
        h->ops->discard(h->impl);
    close(h->fd);
}
