/*
 * The TLS transport (tls.h): struct cw_transport_ops over an OpenSSL connection whose BIO
 * (sock_bio.h) reads and writes the descriptor of the cw_sock underneath.
 */
#include "event/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/sock_bio.h"
#include "util/intern.h"
#include "util/stats.h"
#include "util/xalloc.h"

/* One TLS record's worth of plaintext: buffers up to this size go out as one record. */
#define RECORD_MAX 16384

/* Reads per readiness callback before other sockets get their turn (as sock.c does). */
#define READS_PER_EVENT 4

struct tls_state {
    SSL *ssl;
    struct cw_write_queue writes;
    const char *failure; /* interned; set once */
    int hs_wants;        /* CW_READABLE or CW_WRITABLE: what the handshake waits for */
    bool client;
    bool handshaking;
    bool reading;
    bool read_ended;        /* EOF or an error was delivered: reading is over */
    bool write_wants_read;  /* the last SSL_write said WANT_READ */
    bool read_wants_write;  /* the last SSL_read said WANT_WRITE */
    bool shutdown_wanted;   /* once the queued writes are out */
    int write_error;        /* sticky: every later write fails with it */
    int pending_end;        /* a server handshake failed while nobody read: said at next read */
};

/* The socket is the transport's first member. */
static struct cw_transport *of(struct cw_sock *s)
{
    return (struct cw_transport *)s;
}

static struct tls_state *st(const struct cw_transport *t)
{
    return t->impl;
}

/* ---- why it failed ---- */

/* The reason of the error OpenSSL queued last, or the verify result, in words. */
static const char *describe(struct tls_state *ts, int ssl_error, int sys_errno)
{
    char text[256];
    long verify = SSL_get_verify_result(ts->ssl);
    unsigned long e = ERR_peek_last_error();
    if (verify != X509_V_OK && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        snprintf(text, sizeof(text), "certificate verify failed: %s",
                 X509_verify_cert_error_string(verify));
    } else if (e != 0) {
        const char *reason = ERR_reason_error_string(e);
        snprintf(text, sizeof(text), "%s", reason ? reason : "handshake failed");
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
        snprintf(text, sizeof(text), "%s", sys_errno ? strerror(sys_errno) : "peer closed");
    } else {
        snprintf(text, sizeof(text), "handshake failed");
    }
    ERR_clear_error();
    char full[300];
    snprintf(full, sizeof(full), "%s TLS: %s", ts->client ? "upstream" : "client", text);
    return cw_intern(full, ts->client ? "upstream TLS: failed" : "client TLS: failed");
}

/* Records the first failure; the error code the owner gets for it. */
static int failed(struct tls_state *ts, int ssl_error)
{
    int sys_errno = errno;
    if (!ts->failure)
        ts->failure = describe(ts, ssl_error, sys_errno);
    else
        ERR_clear_error();
    if (ssl_error == SSL_ERROR_SYSCALL && sys_errno)
        return -sys_errno;
    return CW_ETLS;
}

/* ---- readiness ---- */

static void on_ready(struct cw_sock *s, int events);

/* Asks the socket for the readiness the state needs now. */
static void update_watch(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    int events = 0;
    if (ts->handshaking) {
        events = ts->hs_wants;
    } else {
        if (ts->reading && !ts->read_ended)
            events |= ts->read_wants_write ? CW_WRITABLE : CW_READABLE;
        if (ts->writes.head)
            events |= ts->write_wants_read ? CW_READABLE : CW_WRITABLE;
    }
    cw_sock_watch(&t->sock, events, on_ready);
}

/* An SSL call said WANT_READ or WANT_WRITE: that readiness is used up until the next event.
 * Returns the readiness it waits for, 0 for any other outcome. */
static int blocked_on(struct cw_transport *t, int ssl_error)
{
    int events = ssl_error == SSL_ERROR_WANT_READ    ? CW_READABLE
                 : ssl_error == SSL_ERROR_WANT_WRITE ? CW_WRITABLE
                                                     : 0;
    if (events)
        cw_sock_blocked(&t->sock, events);
    return events;
}

/* ---- handshake ---- */

/* Reading ends with <status>: told now to a reader, else kept for the next read_start. */
static void deliver_read_end(struct cw_transport *t, int status)
{
    struct tls_state *ts = st(t);
    if (!ts->reading) {
        ts->pending_end = status;
        return;
    }
    ts->read_ended = true;
    struct cw_buf none = cw_buf_init(NULL, 0);
    t->read_cb(t, status, &none);
}

/* A finished handshake, counted by side and by whether a session was resumed. */
static void count_handshake(const struct tls_state *ts)
{
    struct cw_thread_stats *s = cw_stats();
    int side = ts->client ? CW_TLS_UPSTREAM_SIDE : CW_TLS_CLIENT_SIDE;
    cw_stat_add(SSL_session_reused(ts->ssl) ? &s->tls_resumed[side] : &s->tls_full[side], 1);
}

/* Drives the handshake one step. True when it is done and the connection can carry bytes. */
static bool step_handshake(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    ERR_clear_error();
    int rc = SSL_do_handshake(ts->ssl);
    if (rc == 1) {
        ts->handshaking = false;
        count_handshake(ts);
        if (ts->client)
            t->connect_cb(t, 0);
        return !t->sock.closing;
    }
    int e = SSL_get_error(ts->ssl, rc);
    int wants = blocked_on(t, e);
    if (wants) {
        ts->hs_wants = wants;
        update_watch(t);
        return false;
    }
    failed(ts, e);
    cw_stat_add(&cw_stats()->tls_failed[ts->client ? CW_TLS_UPSTREAM_SIDE : CW_TLS_CLIENT_SIDE], 1);
    ts->handshaking = false;
    cw_sock_watch(&t->sock, 0, NULL);
    if (ts->client) {
        ts->read_ended = true;
        t->connect_cb(t, CW_ETLS);
    } else {
        deliver_read_end(t, CW_ETLS);
    }
    return false;
}

/* ---- reading ---- */

/* Nothing left to read until the socket's next event: OpenSSL holds no plaintext and no record
 * bytes, and the BIO's last recv() emptied the socket (read-ahead takes all there is). Not so
 * once the peer's FIN or an error came: no event will repeat it. */
static bool socket_emptied(struct cw_transport *t)
{
    SSL *ssl = st(t)->ssl;
    return SSL_pending(ssl) == 0 && !SSL_has_pending(ssl) &&
           cw_sock_bio_drained(SSL_get_rbio(ssl)) && !t->sock.end_seen;
}

static void read_some(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    if (ts->pending_end && ts->reading) {
        int status = ts->pending_end;
        ts->pending_end = 0;
        deliver_read_end(t, status);
        return;
    }
    for (int count = READS_PER_EVENT; count > 0; count--) {
        if (!ts->reading || ts->read_ended || t->sock.closing)
            return;
        /* The owner's space is asked for only once plaintext is there: an idle connection (or
         * a record still arriving) must not hold a request's work block. */
        char probe;
        size_t got = 0;
        ERR_clear_error();
        struct cw_buf buf = cw_buf_init(NULL, 0);
        bool ready = SSL_pending(ts->ssl) > 0 || SSL_peek_ex(ts->ssl, &probe, 1, &got);
        if (ready) {
            t->alloc_cb(t, &buf);
            if (buf.len == 0) {
                t->read_cb(t, CW_ENOBUFS, &buf);
                return;
            }
            if (SSL_read_ex(ts->ssl, buf.base, buf.len, &got)) {
                ts->read_wants_write = false;
                bool emptied = socket_emptied(t);
                t->read_cb(t, (ssize_t)got, &buf);
                if (!emptied)
                    continue;
                /* As sock.c after a short read: no recv() just to hear EAGAIN. */
                if (!t->sock.closing)
                    cw_sock_blocked(&t->sock, CW_READABLE);
                return;
            }
        }
        int e = SSL_get_error(ts->ssl, 0);
        int wants = blocked_on(t, e);
        if (wants) {
            ts->read_wants_write = wants == CW_WRITABLE;
            return;
        }
        /* The peer's close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a TCP close without it. */
        int status = e == SSL_ERROR_ZERO_RETURN ? CW_EOF : failed(ts, e);
        ts->read_ended = true;
        t->read_cb(t, status, &buf);
        return;
    }
}

/* ---- writing ---- */

/*
 * One SSL_write of the start of <bufs>: several small buffers are gathered into one record.
 * Returns the bytes taken, CW_EAGAIN, or an error. After CW_EAGAIN the next call must offer the
 * same bytes again (OpenSSL holds the record it began), which the callers do: nothing was taken.
 */
static int write_bufs(struct cw_transport *t, const struct cw_buf *bufs, unsigned n)
{
    static _Thread_local char gathered[RECORD_MAX];
    struct tls_state *ts = st(t);
    if (ts->write_error)
        return ts->write_error;
    const char *p = bufs[0].base;
    size_t len = bufs[0].len;
    if (n > 1 && len < RECORD_MAX) {
        len = 0;
        for (unsigned i = 0; i < n && len < RECORD_MAX; i++) {
            size_t take = bufs[i].len < RECORD_MAX - len ? bufs[i].len : RECORD_MAX - len;
            memcpy(gathered + len, bufs[i].base, take);
            len += take;
        }
        p = gathered;
    }
    size_t done = 0;
    ERR_clear_error();
    if (SSL_write_ex(ts->ssl, p, len, &done))
        return (int)done;
    int e = SSL_get_error(ts->ssl, 0);
    int wants = blocked_on(t, e);
    if (wants) {
        ts->write_wants_read = wants == CW_READABLE;
        return CW_EAGAIN;
    }
    ts->write_error = failed(ts, e);
    return ts->write_error;
}

static void on_sock_shutdown(struct cw_sock *s, int status)
{
    struct cw_transport *t = of(s);
    t->shutdown_cb(t, status);
}

/* Sends close_notify (best effort: the socket may be full), then the TCP FIN. */
static void finish_shutdown(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    ts->shutdown_wanted = false;
    if (!ts->write_error && !ts->failure) {
        ERR_clear_error();
        SSL_shutdown(ts->ssl);
        ERR_clear_error();
    }
    if (cw_sock_shutdown(&t->sock, on_sock_shutdown) != 0)
        t->shutdown_cb(t, CW_EINVAL);
}

/* Writes queued requests until the socket is full; completed ones call back. */
static void flush(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    while (ts->writes.head && !t->sock.closing) {
        struct cw_sock_write *req = ts->writes.head;
        int w = write_bufs(t, req->bufs, req->n_bufs);
        if (w == CW_EAGAIN)
            return;
        if (w < 0) {
            cw_write_queue_fail(&ts->writes, w);
            if (ts->shutdown_wanted && !t->sock.closing) {
                ts->shutdown_wanted = false;
                t->shutdown_cb(t, w);
            }
            return;
        }
        ts->write_wants_read = false;
        cw_sock_bufs_skip(req->bufs, &req->n_bufs, (size_t)w);
        if (req->n_bufs)
            continue;
        cw_write_queue_done(&ts->writes);
    }
    if (!ts->writes.head && ts->shutdown_wanted && !t->sock.closing)
        finish_shutdown(t);
}

/* ---- the loop's events ---- */

static void on_ready(struct cw_sock *s, int events)
{
    (void)events; /* every step asks OpenSSL, which says what it waits for */
    struct cw_transport *t = of(s);
    struct tls_state *ts = st(t);
    if (ts->handshaking && !step_handshake(t))
        return;
    if (ts->writes.head)
        flush(t);
    if (!s->closing)
        read_some(t);
    if (!s->closing)
        update_watch(t);
}

/* ---- the operations ---- */

static int tls_read_start(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    if (t->sock.closing)
        return CW_EINVAL;
    ts->reading = true;
    if (ts->pending_end) {
        /* A handshake that failed before anyone read: said from the loop, which serves a
         * socket marked readable at the end of the batch. */
        t->sock.readable = true;
        cw_sock_watch(&t->sock, CW_READABLE, on_ready);
        return 0;
    }
    update_watch(t);
    return 0;
}

static void tls_read_stop(struct cw_transport *t)
{
    st(t)->reading = false;
    if (!t->sock.closing)
        update_watch(t);
}

static int tls_try_write(struct cw_transport *t, const struct cw_buf *bufs, unsigned n,
                         bool last)
{
    (void)last; /* a record is sent whole: there is no FIN to piggyback on it */
    struct tls_state *ts = st(t);
    if (t->sock.closing)
        return CW_EBADF;
    if (ts->handshaking || ts->writes.head)
        return CW_EAGAIN;
    return write_bufs(t, bufs, n);
}

static int tls_write(struct cw_transport *t, struct cw_sock_write *req, const struct cw_buf *bufs,
                     unsigned n, cw_sock_write_cb cb)
{
    struct tls_state *ts = st(t);
    if (t->sock.closing || ts->shutdown_wanted)
        return CW_EBADF;
    int rc = cw_write_queue_push(&ts->writes, req, bufs, n, cb);
    if (rc == 0)
        update_watch(t); /* written from the loop, never inside this call */
    return rc;
}

static bool tls_writes_queued(const struct cw_transport *t)
{
    return st(t)->writes.head != NULL;
}

static int tls_shutdown(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    if (t->sock.closing || ts->shutdown_wanted)
        return CW_EINVAL;
    if (ts->writes.head || ts->handshaking) {
        ts->shutdown_wanted = true;
        return 0;
    }
    finish_shutdown(t);
    return 0;
}

static void on_sock_closed(struct cw_sock *s)
{
    struct cw_transport *t = of(s);
    struct tls_state *ts = st(t);
    cw_write_queue_fail(&ts->writes, CW_ECANCELED);
    if (ts->handshaking && ts->client && t->connect_cb) {
        ts->handshaking = false;
        t->connect_cb(t, CW_ECANCELED);
    }
    if (ts->shutdown_wanted) {
        ts->shutdown_wanted = false;
        t->shutdown_cb(t, CW_ECANCELED);
    }
    SSL_free(ts->ssl);
    free(ts);
    t->impl = NULL;
    t->close_cb(t);
}

static void tls_close(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    /* A connection that ends without our close_notify has its session thrown away by
     * SSL_free (OpenSSL takes it for a broken one), and that is the session the endpoint's
     * next connection would resume: say goodbye properly, best effort, unless it failed. */
    if (SSL_is_init_finished(ts->ssl) && !ts->failure && !ts->write_error &&
        !(SSL_get_shutdown(ts->ssl) & SSL_SENT_SHUTDOWN)) {
        ERR_clear_error();
        SSL_shutdown(ts->ssl);
        ERR_clear_error();
    }
    cw_sock_close(&t->sock, on_sock_closed);
}

static int tls_hand_off(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    if (ts->handshaking || ts->writes.head || ts->shutdown_wanted || t->sock.closing)
        return CW_EBADF;
    cw_sock_watch(&t->sock, 0, NULL);
    return 0;
}

/* In its new transport, the connection starts as if just made: not reading yet. Plaintext that
 * OpenSSL already holds is served by the first read without waiting for the socket. */
static void tls_taken(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    ts->reading = ts->read_wants_write = ts->write_wants_read = false;
    if (SSL_pending(ts->ssl) > 0 || SSL_has_pending(ts->ssl))
        t->sock.readable = true;
}

static void tls_discard(void *impl)
{
    struct tls_state *ts = impl;
    SSL_free(ts->ssl);
    free(ts);
}

static const struct cw_transport_ops tls_ops = {
    .read_start = tls_read_start,
    .read_stop = tls_read_stop,
    .try_write = tls_try_write,
    .write = tls_write,
    .writes_queued = tls_writes_queued,
    .shutdown = tls_shutdown,
    .close = tls_close,
    .hand_off = tls_hand_off,
    .taken = tls_taken,
    .discard = tls_discard,
};

/* ---- starting one ---- */

/* <ssl> reads and writes <fd> through the BIO that knows when a read emptied the socket, with
 * read-ahead: one recv() takes every record there is, not a header and then its body. */
static bool attach_socket(SSL *ssl, int fd)
{
    BIO *bio = cw_sock_bio_new(fd);
    if (!bio)
        return false;
    SSL_set_bio(ssl, bio, bio);
    SSL_set_read_ahead(ssl, 1);
    return true;
}

static struct tls_state *attach(struct cw_transport *t, SSL *ssl, void *data, bool client)
{
    struct tls_state *ts = cw_xcalloc(1, sizeof(*ts));
    ts->ssl = ssl;
    ts->client = client;
    *t = (struct cw_transport){.ops = &tls_ops, .impl = ts, .data = data};
    return ts;
}

static void detach_failed(struct cw_transport *t)
{
    struct tls_state *ts = st(t);
    SSL_free(ts->ssl);
    free(ts);
    t->impl = NULL;
    t->ops = NULL;
}

static void on_tcp_connected(struct cw_sock *s, int status)
{
    struct cw_transport *t = of(s);
    struct tls_state *ts = st(t);
    if (status < 0) {
        t->connect_cb(t, status);
        return;
    }
    if (!attach_socket(ts->ssl, s->fd)) {
        t->connect_cb(t, failed(ts, SSL_ERROR_SSL));
        return;
    }
    SSL_set_connect_state(ts->ssl);
    ts->handshaking = true;
    step_handshake(t); /* the ClientHello leaves now: this is the loop's callback */
}

int cw_tls_connect(struct cw_io_loop *loop, struct cw_transport *t, const struct sockaddr *addr,
                   SSL *ssl, void *data, cw_transport_status_cb cb)
{
    attach(t, ssl, data, true);
    t->connect_cb = cb;
    int rc = cw_sock_connect(loop, &t->sock, addr, on_tcp_connected);
    if (rc != 0) {
        detach_failed(t);
        return rc;
    }
    t->sock.data = data;
    return 0;
}

int cw_tls_adopt(struct cw_io_loop *loop, struct cw_transport *t, int fd, SSL *ssl, void *data)
{
    struct tls_state *ts = attach(t, ssl, data, false);
    if (!attach_socket(ssl, fd)) {
        close(fd); /* as cw_sock_adopt does on its own failure */
        detach_failed(t);
        return CW_ENOMEM;
    }
    int rc = cw_sock_adopt(loop, &t->sock, fd);
    if (rc != 0) {
        detach_failed(t);
        return rc;
    }
    t->sock.data = data;
    SSL_set_accept_state(ssl);
    ts->handshaking = true;
    ts->hs_wants = CW_READABLE; /* the ClientHello */
    update_watch(t);
    return 0;
}

SSL *cw_tls_ssl(const struct cw_transport *t)
{
    return t->ops == &tls_ops ? st(t)->ssl : NULL;
}

const char *cw_tls_failure(const struct cw_transport *t)
{
    return t->ops == &tls_ops && t->impl ? st(t)->failure : NULL;
}
