/*
 * The transport interface (transport.h) over plain TCP: the socket's own calls, with its
 * callbacks handed on to the transport's owner. Other transports set ops and are reached
 * through them.
 */
#include "event/transport.h"

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
