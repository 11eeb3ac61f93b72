/*
 * A socket BIO that knows when a read emptied the socket (sock_bio.h).
 */
#include "event/sock_bio.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

struct sock_bio {
    int fd;
    bool drained;
};

static int bio_write(BIO *b, const char *in, int len)
{
    struct sock_bio *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = send(s->fd, in, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)n; /* an error keeps errno for the transport's reason */
}

static int bio_read(BIO *b, char *out, int len)
{
    struct sock_bio *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do
        n = recv(s->fd, out, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    s->drained = (n > 0 && n < len) || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* nothing is buffered here */
    case BIO_CTRL_DUP:
        return 1;
    default: /* kTLS, EOF and pending queries: not a feature of this BIO */
        return 0;
    }
}

static int bio_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

static BIO_METHOD *the_method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void make_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "causeway socket");
    if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_destroy(m, bio_destroy))
        the_method = m;
    else
        BIO_meth_free(m);
}

/* Made once, by whichever worker opens the first TLS connection. */
static BIO_METHOD *method(void)
{
    pthread_once(&method_once, make_method);
    return the_method;
}

BIO *cw_sock_bio_new(int fd)
{
    BIO_METHOD *m = method();
    struct sock_bio *s = m ? calloc(1, sizeof(*s)) : NULL;
    BIO *b = s ? BIO_new(m) : NULL;
    if (!b) {
        free(s);
        return NULL;
    }
    s->fd = fd;
    BIO_set_data(b, s);
    BIO_set_init(b, 1);
    return b;
}

bool cw_sock_bio_drained(BIO *bio)
{
    const struct sock_bio *s = bio ? BIO_get_data(bio) : NULL;
    return s && s->drained;
}
