/*
 * The workers' socket layer (event/sock.h) on real loopback TCP connections: connecting (and
 * being refused), accepting with the peer's address, queued writes in order under
 * back-pressure, reading to EOF, CW_ENOBUFS, stopping and resuming reading, reading past one
 * event's budget, shutdown after the queued writes, close cancelling what is still queued, a
 * peer's reset, and cw_sock_bufs_skip.
 *
 * Each test has its own cw_io_loop, runs it only under a guard timer (a test that waits for
 * something that never comes fails instead of hanging), and checks at the end that no armed
 * timer, deferred work or descriptor is left behind.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"
#include "event/sock.h"

/* How long any one wait may take before the test fails. */
#define GUARD_MS 5000
/* How long to watch for callbacks that must not come. */
#define QUIET_MS 100

#define MIB (1024 * 1024)

/* Batches of deferred work allowed after a run should have ended. A socket that keeps serving
 * itself would keep cw_io_loop_run going for ever: its work is dropped instead, and the test
 * fails rather than hangs. */
#define MAX_BATCHES_AFTER_END 10000

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

/* ---- the loop under a guard timer ---- */

struct fx {
    struct cw_io_loop io;
    struct cw_timer guard;
    bool (*until)(void *arg); /* the run ends after the batch in which this holds */
    void *arg;
    bool timed_out;
    int batches_after_end; /* batches run for deferred work after the run should have ended */
    bool spinning;         /* that work kept re-queuing itself and was dropped */
    int fds_at_start;
    int lfd; /* a listening socket on 127.0.0.1:port for the test's connections */
    uint16_t port;
};

static int listen_on(uint16_t *port);

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void after_batch(struct cw_io_loop *l)
{
    struct fx *f = l->data;
    if (f->until && f->until(f->arg)) {
        f->until = NULL;
        cw_timer_stop(l, &f->guard);
        cw_io_loop_finish(l);
    }
    if (l->finishing && l->deferred && ++f->batches_after_end > MAX_BATCHES_AFTER_END) {
        f->spinning = true;
        for (struct cw_io_deferred *d = l->deferred; d; d = d->next)
            d->queued = false;
        l->deferred = l->deferred_tail = NULL;
    }
}

static void on_guard(struct cw_timer *t)
{
    struct fx *f = container_of(t, struct fx, guard);
    f->timed_out = true;
    cw_io_loop_finish(&f->io);
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    f->fds_at_start = count_fds();
    f->lfd = listen_on(&f->port);
    assert_int_equal(cw_io_loop_init(&f->io), 0);
    f->io.data = f;
    f->io.after_batch = after_batch;
}

/* Runs the loops until <until>(<arg>) holds after a batch of events, or <ms> have passed;
 * returns whether it held. */
static bool run_loop(struct fx *f, bool (*until)(void *), void *arg, uint64_t ms)
{
    if (until && until(arg))
        return true;
    f->until = until;
    f->arg = arg;
    f->timed_out = false;
    f->batches_after_end = 0;
    f->io.finishing = false;
    cw_io_update_time(&f->io);
    cw_timer_start(&f->io, &f->guard, ms, on_guard);
    cw_io_loop_run(&f->io);
    cw_timer_stop(&f->io, &f->guard);
    f->until = NULL;
    if (f->spinning)
        fail_msg("deferred work kept re-queuing itself (a socket serving itself without end)");
    return !f->timed_out;
}

#define run_until(f, until, arg, what)                                                             \
    do {                                                                                           \
        if (!run_loop((f), (until), (arg), GUARD_MS))                                              \
            fail_msg("timed out after %d ms waiting for %s", GUARD_MS, (what));                    \
    } while (0)

/* Runs the loops for <ms> whatever happens (to see that nothing more does). */
static void run_for(struct fx *f, uint64_t ms)
{
    run_loop(f, NULL, NULL, ms);
}

/* The sockets must all be closed (their close callbacks run) before this. */
static void fx_finish(struct fx *f)
{
    assert_false(cw_timer_armed(&f->guard));
    assert_null(f->io.deferred);
    cw_io_loop_close(&f->io);
    close(f->lfd);
    assert_int_equal(count_fds(), f->fds_at_start);
}

/* ---- one end of a connection, recording what its callbacks saw ---- */

struct end {
    struct cw_sock s;
    char log[1024];   /* the callbacks in order: "connect:0 w0:0 data EOF close" */
    bool in_call;     /* inside a cw_sock call that must not call back */
    int calls_inside; /* callbacks that ran while in_call was set */

    int connects, connect_status;

    const unsigned char *expect; /* what the peer sends, compared byte by byte */
    size_t expect_len, received;
    size_t mismatch_at; /* the first byte that differs from expect, or SIZE_MAX */
    bool overflow;      /* more bytes than expected */
    int zero_allocs;    /* the next allocs that give no space */
    size_t alloc_len;   /* the space each alloc gives, when not all of scratch */
    bool stop_after_data;
    bool ended; /* EOF or an error came */
    ssize_t end_status;
    size_t received_at_end;
    int calls_after_end; /* alloc or read callbacks after the end: none may come */

    int writes_queued, writes_done;
    bool probe_try_write; /* write callbacks check that cw_sock_try_write says CW_EAGAIN */
    int try_write_wrong;

    int shutdowns, shutdown_status;
    bool closed;
    char scratch[65536];
};

struct wreq {
    struct cw_sock_write req;
    struct end *e;
    int idx;
};

static void end_init(struct end *e)
{
    memset(e, 0, sizeof(*e));
    e->s.fd = -1;
    e->mismatch_at = SIZE_MAX;
}

static void note(struct end *e, const char *word)
{
    size_t len = strlen(e->log);
    snprintf(e->log + len, sizeof(e->log) - len, "%s%s", len ? " " : "", word);
}

static const char *status_name(int status)
{
    return status == 0 ? "0" : cw_err_name(status);
}

static void called(struct end *e)
{
    if (e->in_call)
        e->calls_inside++;
}

static void on_connect(struct cw_sock *s, int status)
{
    struct end *e = container_of(s, struct end, s);
    called(e);
    e->connects++;
    e->connect_status = status;
    char w[64];
    snprintf(w, sizeof(w), "connect:%s", status_name(status));
    note(e, w);
}

static void on_alloc(struct cw_sock *s, struct cw_buf *buf)
{
    struct end *e = container_of(s, struct end, s);
    if (e->ended)
        e->calls_after_end++;
    if (e->zero_allocs > 0) {
        e->zero_allocs--;
        *buf = cw_buf_init(e->scratch, 0);
        return;
    }
    *buf = cw_buf_init(e->scratch, e->alloc_len ? (unsigned)e->alloc_len : sizeof(e->scratch));
}

static void on_read(struct cw_sock *s, ssize_t nread, const struct cw_buf *buf)
{
    struct end *e = container_of(s, struct end, s);
    if (e->ended) {
        e->calls_after_end++;
        return;
    }
    if (nread > 0) {
        const unsigned char *got = (const unsigned char *)buf->base;
        for (ssize_t i = 0; i < nread; i++) {
            size_t at = e->received + (size_t)i;
            if (at >= e->expect_len)
                e->overflow = true;
            else if (got[i] != e->expect[at] && e->mismatch_at == SIZE_MAX)
                e->mismatch_at = at;
        }
        e->received += (size_t)nread;
        size_t len = strlen(e->log);
        if (len < 4 || strcmp(e->log + len - 4, "data") != 0)
            note(e, "data");
        if (e->stop_after_data) {
            e->stop_after_data = false;
            cw_sock_read_stop(s);
            note(e, "stop");
        }
        return;
    }
    if (nread == CW_ENOBUFS) {
        note(e, "ENOBUFS");
        return;
    }
    note(e, nread == 0 ? "0" : cw_err_name((int)nread));
    if (nread < 0) {
        e->ended = true;
        e->end_status = nread;
        e->received_at_end = e->received;
    }
}

static void on_write(struct cw_sock_write *req, int status)
{
    struct wreq *w = container_of(req, struct wreq, req);
    struct end *e = w->e;
    called(e);
    e->writes_done++;
    char word[64];
    snprintf(word, sizeof(word), "w%d:%s", w->idx, status_name(status));
    note(e, word);
    if (e->probe_try_write && e->s.writes.head) {
        struct cw_buf b = cw_buf_init("!", 1);
        if (cw_sock_try_write(&e->s, &b, 1) != CW_EAGAIN)
            e->try_write_wrong++;
    }
}

static void on_shutdown(struct cw_sock *s, int status)
{
    struct end *e = container_of(s, struct end, s);
    called(e);
    e->shutdowns++;
    e->shutdown_status = status;
    char w[64];
    snprintf(w, sizeof(w), "shutdown:%s", status_name(status));
    note(e, w);
}

static void on_close(struct cw_sock *s)
{
    struct end *e = container_of(s, struct end, s);
    called(e);
    e->closed = true;
    note(e, "close");
}

static void queue_write(struct end *e, struct wreq *w, const struct cw_buf *bufs, unsigned n)
{
    w->e = e;
    w->idx = e->writes_queued++;
    e->in_call = true;
    int rc = cw_sock_write(&e->s, &w->req, bufs, n, on_write);
    e->in_call = false;
    assert_int_equal(rc, 0);
}

/* Queues <len> bytes of <data> as <n_reqs> requests of three uneven buffers each. */
static void queue_payload(struct end *e, struct wreq *w, int n_reqs, const unsigned char *data,
                          size_t len)
{
    size_t part = len / (size_t)n_reqs;
    for (int i = 0; i < n_reqs; i++) {
        char *base = (char *)data + (size_t)i * part;
        size_t this_len = i == n_reqs - 1 ? len - (size_t)i * part : part;
        size_t a = 1000, b = this_len / 3;
        struct cw_buf bufs[3] = {cw_buf_init(base, a), cw_buf_init(base + a, b),
                            cw_buf_init(base + a + b, this_len - a - b)};
        queue_write(e, &w[i], bufs, 3);
    }
}

/* Whether the ends (an array of two, NULL ones skipped) have had their close callbacks. */
static bool closed(void *arg)
{
    struct end **ends = arg;
    for (int i = 0; i < 2; i++)
        if (ends[i] && !ends[i]->closed)
            return false;
    return true;
}

/* Closes the ends (<b> may be NULL) and waits for their close callbacks. */
static void close_ends(struct fx *f, struct end *a, struct end *b)
{
    struct end *ends[2] = {a, b};
    for (int i = 0; i < 2; i++)
        if (ends[i])
            cw_sock_close(&ends[i]->s, on_close);
    run_until(f, closed, ends, "the close callbacks");
}

/* ---- conditions to wait for ---- */

static bool connected(void *arg)
{
    return ((struct end *)arg)->connects > 0;
}

static bool received_all(void *arg)
{
    struct end *e = arg;
    return e->received >= e->expect_len;
}

static bool ended(void *arg)
{
    return ((struct end *)arg)->ended;
}

static bool writes_done(void *arg)
{
    struct end *e = arg;
    return e->writes_done == e->writes_queued;
}

static bool shut_down(void *arg)
{
    return ((struct end *)arg)->shutdowns > 0;
}

/* A write is queued and the socket said it is full: the queue waits for writability. */
static bool writer_blocked(void *arg)
{
    struct end *e = arg;
    return e->s.writes.head != NULL && !e->s.writable;
}

/* ---- plain sockets for the other side ---- */

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    return ntohs(sin.sin_port);
}

/* A non-blocking listening socket on 127.0.0.1 and a port the kernel chose. */
static int listen_on(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = loopback(0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 16), 0);
    *port = local_port(fd);
    return fd;
}

static void wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    do
        n = poll(&p, 1, GUARD_MS);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        fail_msg("descriptor %d not ready within %d ms", fd, GUARD_MS);
}

/* Accepts the connection waiting on <lfd>. */
static int accept_one(int lfd, struct sockaddr_storage *peer)
{
    wait_fd(lfd, POLLIN);
    int fd = cw_sock_accept_from(lfd, peer);
    if (fd < 0)
        fail_msg("cw_sock_accept_from: %s", cw_strerror(fd));
    return fd;
}

/* A blocking client socket connected to <port>. */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = loopback(port);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Reads exactly <len> bytes from the blocking <fd>, or EOF when <len> is 0 (returns the bytes
 * read before EOF). */
static size_t raw_recv(int fd, char *buf, size_t len)
{
    size_t got = 0;
    for (;;) {
        wait_fd(fd, POLLIN);
        char scratch[1];
        ssize_t n = len ? recv(fd, buf + got, len - got, 0) : recv(fd, scratch, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        if (n == 0 || len == 0)
            return got + (size_t)n;
        got += (size_t)n;
        if (got == len)
            return got;
    }
}

/* Closes <fd> with SO_LINGER {1, 0}: the peer gets a reset. */
static void reset_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    close(fd);
}

/* Keeps the socket's send buffer small, so that large writes must wait for the peer. */
static void small_sndbuf(struct end *e)
{
    int size = 64 * 1024;
    assert_int_equal(setsockopt(e->s.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
}

/* <c> connected with cw_sock_connect to the test's listener, <p> the accepted end. */
static void connect_pair(struct fx *f, struct end *c, struct end *p)
{
    end_init(c);
    end_init(p);
    struct sockaddr_in sin = loopback(f->port);
    assert_int_equal(cw_sock_connect(&f->io, &c->s, (struct sockaddr *)&sin, on_connect), 0);
    run_until(f, connected, c, "the connect callback");
    assert_int_equal(c->connect_status, 0);
    struct sockaddr_storage peer;
    assert_int_equal(cw_sock_adopt(&f->io, &p->s, accept_one(f->lfd, &peer)), 0);
}

/* <p> the accepted end of a plain blocking client, returned. */
static int raw_pair(struct fx *f, struct end *p)
{
    end_init(p);
    int peer = raw_connect(f->port);
    struct sockaddr_storage addr;
    assert_int_equal(cw_sock_adopt(&f->io, &p->s, accept_one(f->lfd, &addr)), 0);
    return peer;
}

/* Non-repeating bytes, so that lost, doubled or reordered bytes show. */
static unsigned char *make_payload(size_t len)
{
    unsigned char *p = malloc(len);
    assert_non_null(p);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 24);
    }
    return p;
}

static void assert_all_bytes(const struct end *e)
{
    if (e->mismatch_at != SIZE_MAX)
        fail_msg("byte %zu of %zu differs from what was sent", e->mismatch_at, e->expect_len);
    assert_false(e->overflow);
    assert_int_equal(e->received, e->expect_len);
}

/* ---- tests ---- */

static void connect_calls_back_later_and_accept_gives_the_peer(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end c, p;
    end_init(&c);
    end_init(&p);

    struct sockaddr_in sin = loopback(f.port);
    c.in_call = true;
    int rc = cw_sock_connect(&f.io, &c.s, (struct sockaddr *)&sin, on_connect);
    c.in_call = false;
    assert_int_equal(rc, 0);
    assert_int_equal(c.connects, 0);
    run_until(&f, connected, &c, "the connect callback");
    assert_string_equal(c.log, "connect:0");
    assert_int_equal(c.calls_inside, 0);

    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    int fd = accept_one(f.lfd, &peer);
    assert_true(fd >= 0);
    assert_int_equal(peer.ss_family, AF_INET);
    const struct sockaddr_in *pin = (const struct sockaddr_in *)&peer;
    assert_int_equal(ntohl(pin->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(ntohs(pin->sin_port), local_port(c.s.fd));
    assert_int_equal(cw_sock_accept_from(f.lfd, &peer), CW_EAGAIN); /* none waiting */
    assert_int_equal(cw_sock_adopt(&f.io, &p.s, fd), 0);
    assert_int_equal(p.s.fd, fd);

    /* Both ways over the adopted socket. */
    p.expect = (const unsigned char *)"ping";
    p.expect_len = 4;
    c.expect = (const unsigned char *)"pong";
    c.expect_len = 4;
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    assert_int_equal(cw_sock_read_start(&c.s, on_alloc, on_read), 0);
    struct cw_buf ping = cw_buf_init("ping", 4), pong = cw_buf_init("pong", 4);
    assert_int_equal(cw_sock_try_write(&c.s, &ping, 1), 4);
    run_until(&f, received_all, &p, "ping");
    assert_int_equal(cw_sock_try_write(&p.s, &pong, 1), 4);
    run_until(&f, received_all, &c, "pong");
    assert_all_bytes(&p);
    assert_all_bytes(&c);

    close_ends(&f, &c, &p);
    fx_finish(&f);
}

/* A write queued and reading started before the connect completes are served once it does:
 * the event that ends the connect is the only one, so nothing else would wake them. */
static void reads_and_writes_asked_during_a_connect_are_served(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end c;
    end_init(&c);
    c.expect = (const unsigned char *)"banner";
    c.expect_len = 6;
    struct sockaddr_in sin = loopback(f.port);
    assert_int_equal(cw_sock_connect(&f.io, &c.s, (struct sockaddr *)&sin, on_connect), 0);
    struct wreq w;
    struct cw_buf early = cw_buf_init("early", 5);
    queue_write(&c, &w, &early, 1);
    assert_int_equal(cw_sock_read_start(&c.s, on_alloc, on_read), 0);
    assert_int_equal(c.calls_inside, 0);

    /* The server accepts and speaks at once, before the client's loop has run. */
    struct sockaddr_storage peer;
    wait_fd(f.lfd, POLLIN);
    int fd = cw_sock_accept_from(f.lfd, &peer);
    assert_true(fd >= 0);
    assert_int_equal(send(fd, "banner", 6, 0), 6);
    if (!run_loop(&f, writes_done, &c, GUARD_MS))
        fail_msg("the write queued during the connect never completed: %s", c.log);
    run_until(&f, received_all, &c, "the banner");
    /* Both after the connect's callback, in either order. */
    assert_true(strcmp(c.log, "connect:0 w0:0 data") == 0 ||
                strcmp(c.log, "connect:0 data w0:0") == 0);
    char got[5];
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    assert_int_equal(raw_recv(fd, got, 5), 5);
    assert_memory_equal(got, "early", 5);
    assert_all_bytes(&c);

    close(fd);
    close_ends(&f, &c, NULL);
    fx_finish(&f);
}

static void connect_to_a_closed_port_is_refused(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    /* Bound but not listening: the port is ours (no one else can take it) and a SYN to it is
     * answered with a reset, as for a closed port. */
    int bound = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(bound >= 0);
    struct sockaddr_in sin = loopback(0);
    assert_int_equal(bind(bound, (struct sockaddr *)&sin, sizeof(sin)), 0);
    sin = loopback(local_port(bound));

    struct end c;
    end_init(&c);
    c.in_call = true;
    int rc = cw_sock_connect(&f.io, &c.s, (struct sockaddr *)&sin, on_connect);
    c.in_call = false;
    if (rc == 0) {
        assert_int_equal(c.connects, 0);
        run_until(&f, connected, &c, "the connect callback");
        assert_int_equal(c.connects, 1);
        assert_int_equal(c.connect_status, CW_ECONNREFUSED);
        assert_string_equal(c.log, "connect:ECONNREFUSED");
        assert_string_equal(cw_sock_connect_error(c.connect_status), "connect refused");
        close_ends(&f, &c, NULL);
    } else {
        /* Refused at once: no callback, and the socket needs no close. */
        assert_int_equal(rc, CW_ECONNREFUSED);
        assert_string_equal(cw_sock_connect_error(rc), "connect refused");
        run_for(&f, QUIET_MS);
        assert_int_equal(c.connects, 0);
    }
    assert_int_equal(c.calls_inside, 0);
    assert_string_equal(cw_sock_connect_error(CW_ETIMEDOUT), "connect failed");
    close(bound);
    fx_finish(&f);
}

static void queued_writes_arrive_in_order_and_complete_in_order(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end c, p;
    connect_pair(&f, &c, &p);
    small_sndbuf(&c);

    size_t total = 8 * MIB;
    unsigned char *data = make_payload(total);
    p.expect = data;
    p.expect_len = total;
    /* A small first request that the socket could take at once: its callback still waits for
     * the loop. Then four large ones. */
    struct wreq w[5];
    struct cw_buf head = cw_buf_init((char *)data, 100);
    queue_write(&c, &w[0], &head, 1);
    queue_payload(&c, w + 1, 4, data + 100, total - 100);
    assert_int_equal(c.calls_inside, 0);
    assert_int_equal(c.writes_done, 0);
    struct cw_buf extra = cw_buf_init("!", 1);
    assert_int_equal(cw_sock_try_write(&c.s, &extra, 1), CW_EAGAIN);

    /* The peer does not read yet: the queue must stop at a full socket and wait. */
    c.probe_try_write = true;
    run_until(&f, writer_blocked, &c, "the writer to fill the socket");
    assert_true(c.writes_done < 5);
    assert_int_equal(cw_sock_try_write(&c.s, &extra, 1), CW_EAGAIN);

    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_until(&f, received_all, &p, "all the bytes");
    run_until(&f, writes_done, &c, "the write callbacks");
    assert_string_equal(c.log, "connect:0 w0:0 w1:0 w2:0 w3:0 w4:0");
    assert_int_equal(c.try_write_wrong, 0);
    assert_int_equal(c.calls_inside, 0);
    assert_all_bytes(&p);
    assert_string_equal(p.log, "data");

    close_ends(&f, &c, &p);
    free(data);
    fx_finish(&f);
}

static void reading_ends_at_eof_and_stays_stopped(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);
    p.expect = (const unsigned char *)"hello, world";
    p.expect_len = 12;
    assert_int_equal(send(peer, "hello, world", 12, 0), 12);
    assert_int_equal(shutdown(peer, SHUT_WR), 0);

    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_until(&f, ended, &p, "EOF");
    assert_string_equal(p.log, "data EOF");
    assert_int_equal(p.end_status, CW_EOF);
    assert_int_equal(p.received_at_end, 12);
    assert_all_bytes(&p);
    assert_false(p.s.reading);

    /* More events on the socket must not reach the read callback: its own write (writable
     * again), then the peer's reset (an error and hang-up). */
    struct wreq w;
    struct cw_buf bye = cw_buf_init("bye", 3);
    queue_write(&p, &w, &bye, 1);
    assert_int_equal(p.writes_done, 0);
    run_until(&f, writes_done, &p, "the write callback");
    assert_int_equal(p.calls_inside, 0);
    char got[3];
    assert_int_equal(raw_recv(peer, got, 3), 3);
    assert_memory_equal(got, "bye", 3);
    reset_close(peer);
    run_for(&f, QUIET_MS);
    assert_int_equal(p.calls_after_end, 0);
    assert_string_equal(p.log, "data EOF w0:0");
    assert_false(p.s.reading);

    close_ends(&f, &p, NULL);
    fx_finish(&f);
}

static void zero_length_alloc_gives_enobufs(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);
    p.expect = (const unsigned char *)"hello";
    p.expect_len = 5;
    p.zero_allocs = 1;
    assert_int_equal(send(peer, "hello", 5, 0), 5);

    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_until(&f, received_all, &p, "the bytes after CW_ENOBUFS");
    /* Nothing was lost: the bytes come once the alloc callback gives space. */
    assert_string_equal(p.log, "ENOBUFS data");
    assert_all_bytes(&p);
    assert_true(p.s.reading);

    close(peer);
    close_ends(&f, &p, NULL);
    fx_finish(&f);
}

static void reading_resumes_with_bytes_that_came_while_stopped(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);
    p.expect = (const unsigned char *)"helloworld";
    p.stop_after_data = true;
    assert_int_equal(send(peer, "hello", 5, 0), 5);
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    p.expect_len = 5;
    run_until(&f, received_all, &p, "the first bytes");
    assert_false(p.s.reading);

    /* These arrive (and their event passes) while reading is stopped. */
    assert_int_equal(send(peer, "world", 5, 0), 5);
    run_for(&f, QUIET_MS);
    assert_int_equal(p.received, 5);
    assert_string_equal(p.log, "data stop");

    p.expect_len = 10;
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_until(&f, received_all, &p, "the bytes that came while stopped");
    assert_string_equal(p.log, "data stop data");
    assert_all_bytes(&p);

    close(peer);
    close_ends(&f, &p, NULL);
    fx_finish(&f);
}

static void reading_goes_on_without_new_events(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);
    /* Far more than one readiness event's worth of reads (16 bytes at a time), all sent before
     * reading starts and nothing after: the rest must come without a new event. */
    size_t total = 64 * 1024;
    unsigned char *data = make_payload(total);
    p.expect = data;
    p.expect_len = total;
    p.alloc_len = 16;
    assert_int_equal(send(peer, data, total, 0), (ssize_t)total);
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_until(&f, received_all, &p, "all the bytes");
    assert_all_bytes(&p);
    assert_string_equal(p.log, "data");

    close(peer);
    close_ends(&f, &p, NULL);
    free(data);
    fx_finish(&f);
}

static void shutdown_waits_for_queued_writes(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end c, p;
    connect_pair(&f, &c, &p);
    small_sndbuf(&c);

    size_t total = 4 * MIB;
    unsigned char *data = make_payload(total);
    p.expect = data;
    p.expect_len = total;
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    struct wreq w[2];
    queue_payload(&c, w, 2, data, total);
    c.in_call = true;
    int rc = cw_sock_shutdown(&c.s, on_shutdown);
    c.in_call = false;
    assert_int_equal(rc, 0);
    assert_int_equal(c.shutdowns, 0);

    run_until(&f, ended, &p, "EOF at the peer");
    run_until(&f, shut_down, &c, "the shutdown callback");
    assert_string_equal(c.log, "connect:0 w0:0 w1:0 shutdown:0");
    assert_int_equal(c.calls_inside, 0);
    assert_string_equal(p.log, "data EOF");
    assert_int_equal(p.received_at_end, total);
    assert_all_bytes(&p);

    close_ends(&f, &c, &p);
    free(data);
    fx_finish(&f);
}

static void shutdown_with_nothing_queued_calls_back_at_once(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);

    p.in_call = true;
    int rc = cw_sock_shutdown(&p.s, on_shutdown);
    p.in_call = false;
    assert_int_equal(rc, 0);
    assert_int_equal(p.shutdowns, 1);
    assert_int_equal(p.calls_inside, 1);
    assert_string_equal(p.log, "shutdown:0");
    assert_int_equal(raw_recv(peer, NULL, 0), 0); /* EOF */

    /* Half-closed: the other direction still works. */
    p.expect = (const unsigned char *)"still open";
    p.expect_len = 10;
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    assert_int_equal(send(peer, "still open", 10, 0), 10);
    run_until(&f, received_all, &p, "the peer's bytes");
    assert_all_bytes(&p);

    close(peer);
    close_ends(&f, &p, NULL);
    fx_finish(&f);
}

/* The kernel's struct tcp_info up to tcpi_segs_in (linux/tcp.h): glibc's copy in
 * <netinet/tcp.h> ends at tcpi_total_retrans, and the two headers cannot be included together. */
struct tcp_info_segs {
    struct tcp_info glibc;
    uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
    uint32_t segs_out, segs_in;
};

static uint32_t segments_received(int fd)
{
    struct tcp_info_segs ti;
    memset(&ti, 0, sizeof(ti));
    socklen_t len = sizeof(ti);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    assert_true(len >= offsetof(struct tcp_info_segs, segs_in) + sizeof(ti.segs_in));
    return ti.segs_in;
}

/* Sends "answer" from a new accepted end with <try_write>, then shuts it down (or closes it,
 * <by_close>); returns how many segments the client received up to EOF (the SYN-ACK
 * included). */
static uint32_t segments_for_answer_and_fin(
    struct fx *f, int (*try_write)(struct cw_sock *, const struct cw_buf *, unsigned), bool by_close)
{
    struct end p;
    int peer = raw_pair(f, &p);
    int one = 1; /* as on the gateway's own accepted sockets */
    assert_int_equal(setsockopt(p.s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    struct cw_buf b = cw_buf_init("answer", 6);
    assert_int_equal(try_write(&p.s, &b, 1), 6);
    if (by_close)
        cw_sock_close(&p.s, on_close);
    else
        assert_int_equal(cw_sock_shutdown(&p.s, on_shutdown), 0);
    char got[6];
    assert_int_equal(raw_recv(peer, got, 6), 6);
    assert_memory_equal(got, "answer", 6);
    assert_int_equal(raw_recv(peer, NULL, 0), 0); /* EOF */
    uint32_t segs = segments_received(peer);
    close(peer);
    close_ends(f, &p, NULL); /* after a close, only waits for its callback */
    return segs;
}

static void the_last_write_takes_the_fin_along(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    /* SYN-ACK, the answer and the FIN; then the answer and the FIN in one segment. */
    assert_int_equal(segments_for_answer_and_fin(&f, cw_sock_try_write, false), 3);
    assert_int_equal(segments_for_answer_and_fin(&f, cw_sock_try_write_last, false), 2);
    assert_int_equal(segments_for_answer_and_fin(&f, cw_sock_try_write_last, true), 2);
    fx_finish(&f);
}

static void close_cancels_queued_writes_before_its_callback(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end c, p;
    connect_pair(&f, &c, &p);
    small_sndbuf(&c);

    size_t total = 8 * MIB;
    unsigned char *data = make_payload(total);
    struct wreq w[4];
    queue_payload(&c, w, 4, data, total);
    assert_int_equal(cw_sock_shutdown(&c.s, on_shutdown), 0);
    run_until(&f, writer_blocked, &c, "the writer to fill the socket");
    int done = c.writes_done;
    assert_true(done < 4);
    assert_int_equal(c.shutdowns, 0);

    c.in_call = true;
    cw_sock_close(&c.s, on_close);
    c.in_call = false;
    assert_int_equal(c.calls_inside, 0);
    assert_int_equal(c.writes_done, done);
    assert_false(c.closed);
    struct end *only_c[2] = {&c, NULL};
    run_until(&f, closed, only_c, "the close callback");

    char expected[256] = "connect:0";
    for (int i = 0; i < 4; i++) {
        size_t len = strlen(expected);
        snprintf(expected + len, sizeof(expected) - len, " w%d:%s", i,
                 i < done ? "0" : "ECANCELED");
    }
    strcat(expected, " shutdown:ECANCELED close");
    assert_string_equal(c.log, expected);

    close_ends(&f, &p, NULL);
    free(data);
    fx_finish(&f);
}

static void peer_reset_ends_reading_with_an_error(void **state)
{
    (void)state;
    struct fx f;
    fx_init(&f);
    struct end p;
    int peer = raw_pair(&f, &p);
    assert_int_equal(cw_sock_read_start(&p.s, on_alloc, on_read), 0);
    run_for(&f, 10); /* reading, with nothing to read */
    assert_string_equal(p.log, "");

    reset_close(peer);
    run_until(&f, ended, &p, "the reset");
    assert_true(p.end_status < 0);
    assert_int_equal(p.end_status, -ECONNRESET);
    assert_string_equal(p.log, "ECONNRESET");
    assert_false(p.s.reading);
    run_for(&f, QUIET_MS);
    assert_int_equal(p.calls_after_end, 0);
    assert_string_equal(p.log, "ECONNRESET");

    close_ends(&f, &p, NULL);
    fx_finish(&f);
}

static void bufs_skip_drops_written_bytes(void **state)
{
    (void)state;
    static char a[10], b[20], c[30];
    static const struct {
        unsigned n;  /* buffers: the first n of a, b, c */
        size_t skip; /* bytes written */
        unsigned want_n;
        char *want_base; /* the first remaining buffer */
        size_t want_len;
    } cases[] = {
        {1, 0, 1, a, 10},    {1, 4, 1, a + 4, 6},   {1, 10, 0, NULL, 0},   {2, 0, 2, a, 10},
        {2, 3, 2, a + 3, 7}, {2, 10, 1, b, 20},     {2, 15, 1, b + 5, 15}, {2, 30, 0, NULL, 0},
        {3, 0, 3, a, 10},    {3, 9, 3, a + 9, 1},   {3, 10, 2, b, 20},     {3, 29, 2, b + 19, 1},
        {3, 30, 1, c, 30},   {3, 35, 1, c + 5, 25}, {3, 60, 0, NULL, 0},
    };
    char *bases[3] = {a, b, c};
    size_t lens[3] = {10, 20, 30};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cw_buf bufs[3];
        for (unsigned k = 0; k < 3; k++)
            bufs[k] = cw_buf_init(bases[k], (unsigned)lens[k]);
        unsigned n = cases[i].n;
        cw_sock_bufs_skip(bufs, &n, cases[i].skip);
        if (n != cases[i].want_n)
            fail_msg("case %zu (%u buffers, skip %zu): %u buffers left, want %u", i, cases[i].n,
                     cases[i].skip, n, cases[i].want_n);
        if (n == 0)
            continue;
        if (bufs[0].base != cases[i].want_base || bufs[0].len != cases[i].want_len)
            fail_msg("case %zu (%u buffers, skip %zu): first buffer at offset %td len %zu", i,
                     cases[i].n, cases[i].skip, bufs[0].base - cases[i].want_base,
                     (size_t)bufs[0].len);
        /* The buffers after the first are the untouched later ones, in order. */
        unsigned first = cases[i].n - n;
        for (unsigned k = 1; k < n; k++) {
            assert_ptr_equal(bufs[k].base, bases[first + k]);
            assert_int_equal(bufs[k].len, lens[first + k]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_calls_back_later_and_accept_gives_the_peer),
        cmocka_unit_test(reads_and_writes_asked_during_a_connect_are_served),
        cmocka_unit_test(connect_to_a_closed_port_is_refused),
        cmocka_unit_test(queued_writes_arrive_in_order_and_complete_in_order),
        cmocka_unit_test(reading_ends_at_eof_and_stays_stopped),
        cmocka_unit_test(zero_length_alloc_gives_enobufs),
        cmocka_unit_test(reading_resumes_with_bytes_that_came_while_stopped),
        cmocka_unit_test(reading_goes_on_without_new_events),
        cmocka_unit_test(shutdown_waits_for_queued_writes),
        cmocka_unit_test(shutdown_with_nothing_queued_calls_back_at_once),
        cmocka_unit_test(the_last_write_takes_the_fin_along),
        cmocka_unit_test(close_cancels_queued_writes_before_its_callback),
        cmocka_unit_test(peer_reset_ends_reading_with_an_error),
        cmocka_unit_test(bufs_skip_drops_written_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
