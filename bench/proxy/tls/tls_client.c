/*
 * tls_client: the TLS client side of the proxy benchmark's TLS scenarios (OpenSSL 3, TLS 1.3).
 *
 *   tls_client http ADDR PORT CONNS SECONDS CAFILE HOST [close]
 *       HTTP/1.1 GET / over TLS on CONNS connections for SECONDS (one thread, epoll). Keep-alive
 *       by default; with "close" every request carries `Connection: close` and goes on a new
 *       TCP connection with a new TLS session: the client keeps no session cache and never
 *       offers a ticket, so every connection is a full handshake (ECDHE + the server's
 *       certificate signature). Prints a wrk-like report (requests, Requests/sec, latency
 *       percentiles, socket errors, non-2xx) that summarise.py reads as it reads wrk's.
 *       Latency: from the request's write (keep-alive) or from connect() (close: the handshake
 *       included) to the last byte of the response.
 *   tls_client up|down ADDR PORT BYTES CAFILE HOST
 *       tcp_bulk's protocol (see tcp_bulk.c) inside TLS: 'U' streams BYTES and ends its side
 *       with close_notify and a TCP half-close, then reads the backend's 8-byte count; 'D' reads
 *       the BYTES to the end. Prints "<bytes> <seconds> <Gbit/s>" as tcp_bulk does.
 *
 * Why not wrk: Debian's wrk 4.1 negotiates TLS 1.2 only (TLS 1.3 fails to connect) and, with
 * `Connection: close`, resumes its previous session on every new connection (SSL_clear keeps
 * it), so it measures neither TLS 1.3 nor full handshakes.
 * The server certificate is verified against CAFILE with HOST as SNI and expected name.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define RBUF 16384

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SSL_CTX *make_ctx(const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        exit(2);
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static SSL *new_ssl(SSL_CTX *ctx, int fd, const char *host)
{
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    struct in_addr ip;
    if (inet_pton(AF_INET, host, &ip) == 1)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
    else
        SSL_set1_host(ssl, host);
    return ssl;
}

/* ---- http: many connections ---- */

enum { S_CONNECT, S_HANDSHAKE, S_WRITE, S_READ };

struct conn {
    int fd;
    int state;
    SSL *ssl;
    size_t wrote;
    size_t have;
    double t0;
    char buf[RBUF];
};

static SSL_CTX *g_ctx;
static struct sockaddr_in g_sa;
static const char *g_host;
static int g_close;
static char g_req[512];
static size_t g_req_len;
static int g_ep;
static uint64_t n_done, n_non2xx, e_connect, e_read, e_write;
static uint32_t *lat_us;
static size_t lat_n, lat_cap;

static void record(double secs)
{
    if (lat_n == lat_cap) {
        lat_cap = lat_cap ? lat_cap * 2 : 1 << 20;
        lat_us = realloc(lat_us, lat_cap * sizeof(*lat_us));
    }
    lat_us[lat_n++] = (uint32_t)(secs * 1e6);
}

static void watch(struct conn *c, uint32_t ev, int op)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(g_ep, op, c->fd, &e);
}

static void start_conn(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->t0 = now_s();
    c->have = c->wrote = 0;
    c->ssl = NULL;
    if (connect(c->fd, (struct sockaddr *)&g_sa, sizeof(g_sa)) != 0 && errno != EINPROGRESS) {
        e_connect++;
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->state = S_CONNECT;
    watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void end_conn(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl); /* no close_notify: the server closes first (close) or the run ends */
    close(c->fd);
    c->fd = -1;
    c->ssl = NULL;
}

static void fail(struct conn *c, uint64_t *counter)
{
    (*counter)++;
    end_conn(c);
    start_conn(c);
}

/* ssl call result → 1 done, 0 wait (epoll mask set), -1 error */
static int want(struct conn *c, int r)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: watch(c, EPOLLIN, EPOLL_CTL_MOD); return 0;
    case SSL_ERROR_WANT_WRITE: watch(c, EPOLLOUT, EPOLL_CTL_MOD); return 0;
    default: return -1;
    }
}

/* A whole response in c->buf? 1 yes (status in *status), 0 not yet, -1 malformed. */
static int response_done(struct conn *c, int *status)
{
    c->buf[c->have < RBUF ? c->have : RBUF - 1] = 0;
    char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (!end)
        return c->have >= RBUF - 1 ? -1 : 0;
    *status = atoi(c->buf + 9);
    long len = -1;
    for (char *p = strstr(c->buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n"))
        if (!strncasecmp(p + 2, "content-length:", 15))
            len = atol(p + 17);
    if (len < 0)
        return -1;
    size_t need = (size_t)(end + 4 - c->buf) + (size_t)len;
    return c->have >= need ? 1 : 0;
}

static void step(struct conn *c)
{
    for (;;) {
        int r, st;
        switch (c->state) {
        case S_CONNECT: {
            int err = 0;
            socklen_t l = sizeof(err);
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) {
                fail(c, &e_connect);
                return;
            }
            c->ssl = new_ssl(g_ctx, c->fd, g_host);
            c->state = S_HANDSHAKE;
            break;
        }
        case S_HANDSHAKE:
            r = SSL_connect(c->ssl);
            if (r != 1) {
                if (want(c, r) < 0) {
                    ERR_clear_error();
                    fail(c, &e_connect);
                }
                return;
            }
            c->state = S_WRITE;
            c->wrote = 0;
            if (!g_close)
                c->t0 = now_s();
            break;
        case S_WRITE:
            r = SSL_write(c->ssl, g_req + c->wrote, (int)(g_req_len - c->wrote));
            if (r <= 0) {
                if (want(c, r) < 0) {
                    ERR_clear_error();
                    fail(c, &e_write);
                }
                return;
            }
            c->wrote += (size_t)r;
            if (c->wrote == g_req_len) {
                c->state = S_READ;
                c->have = 0;
            }
            break;
        case S_READ:
            r = SSL_read(c->ssl, c->buf + c->have, (int)(RBUF - 1 - c->have));
            if (r <= 0) {
                if (want(c, r) < 0) {
                    ERR_clear_error();
                    fail(c, &e_read);
                }
                return;
            }
            c->have += (size_t)r;
            r = response_done(c, &st);
            if (r < 0) {
                fail(c, &e_read);
                return;
            }
            if (r == 0)
                break;
            n_done++;
            if (st < 200 || st >= 400)
                n_non2xx++;
            record(now_s() - c->t0);
            if (g_close) {
                end_conn(c);
                start_conn(c);
                return;
            }
            c->state = S_WRITE;
            c->wrote = 0;
            c->t0 = now_s();
            break;
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void print_us(double us)
{
    if (us < 1000)
        printf("%.2fus", us);
    else if (us < 1e6)
        printf("%.2fms", us / 1000);
    else
        printf("%.2fs", us / 1e6);
}

static int run_http(int nconn, double seconds, const char *cafile, int close_mode)
{
    g_ctx = make_ctx(cafile);
    g_close = close_mode;
    g_req_len = (size_t)snprintf(g_req, sizeof(g_req),
                                 "GET / HTTP/1.1\r\nHost: %s\r\n%s\r\n", g_host,
                                 close_mode ? "Connection: close\r\n" : "");
    g_ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)nconn, sizeof(*cs));
    double t0 = now_s(), end = t0 + seconds;
    for (int i = 0; i < nconn; i++)
        start_conn(&cs[i]);
    struct epoll_event ev[256];
    while (now_s() < end) {
        int n = epoll_wait(g_ep, ev, 256, 50);
        for (int i = 0; i < n; i++)
            step(ev[i].data.ptr);
        for (int i = 0; i < nconn; i++) /* a failed connect(2) left no fd: try again */
            if (cs[i].fd < 0)
                start_conn(&cs[i]);
    }
    double secs = now_s() - t0;
    printf("Running %.0fs test @ https://%s:%d/ (TLS 1.3, %s)\n  1 threads and %d connections\n",
           seconds, inet_ntoa(g_sa.sin_addr), ntohs(g_sa.sin_port),
           close_mode ? "a new connection and a full handshake per request" : "keep-alive", nconn);
    printf("  Latency Distribution\n");
    if (lat_n) {
        qsort(lat_us, lat_n, sizeof(*lat_us), cmp_u32);
        static const int pct[] = {50, 75, 90, 99};
        for (int i = 0; i < 4; i++) {
            size_t k = (size_t)((double)lat_n * pct[i] / 100.0);
            printf("     %d%%   ", pct[i]);
            print_us(lat_us[k < lat_n ? k : lat_n - 1]);
            printf("\n");
        }
    }
    printf("  %llu requests in %.2fs\n", (unsigned long long)n_done, secs);
    if (e_connect || e_read || e_write)
        printf("  Socket errors: connect %llu, read %llu, write %llu, timeout 0\n",
               (unsigned long long)e_connect, (unsigned long long)e_read,
               (unsigned long long)e_write);
    if (n_non2xx)
        printf("  Non-2xx or 3xx responses: %llu\n", (unsigned long long)n_non2xx);
    printf("Requests/sec: %.2f\n", (double)n_done / secs);
    return n_done ? 0 : 1;
}

/* ---- bulk ---- */

static char buf[CHUNK];

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static int ssl_write_all(SSL *ssl, const void *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        int r = SSL_write(ssl, (const char *)p + done, (int)(n - done));
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int run_bulk(char mode, uint64_t size, const char *cafile)
{
    SSL_CTX *ctx = make_ctx(cafile);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    double t0 = now_s();
    if (fd < 0 || connect(fd, (struct sockaddr *)&g_sa, sizeof(g_sa)) != 0) {
        perror("tls_client connect");
        return 1;
    }
    SSL *ssl = new_ssl(ctx, fd, g_host);
    if (SSL_connect(ssl) != 1) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    unsigned char hdr[9];
    hdr[0] = (unsigned char)(mode == 'u' ? 'U' : 'D');
    put_u64(hdr + 1, size);
    if (ssl_write_all(ssl, hdr, sizeof(hdr)) != 0) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    uint64_t got = 0;
    if (mode == 'u') {
        for (uint64_t left = size; left > 0;) {
            size_t len = left < CHUNK ? (size_t)left : CHUNK;
            if (ssl_write_all(ssl, buf, len) != 0) {
                ERR_print_errors_fp(stderr);
                return 1;
            }
            left -= len;
        }
        SSL_shutdown(ssl); /* close_notify, then the TCP half-close */
        shutdown(fd, SHUT_WR);
        unsigned char reply[8];
        size_t have = 0;
        while (have < 8) {
            int r = SSL_read(ssl, reply + have, (int)(8 - have));
            if (r <= 0)
                break;
            have += (size_t)r;
        }
        if (have == 8)
            for (int i = 0; i < 8; i++)
                got = (got << 8) | reply[i];
    } else {
        for (;;) {
            int r = SSL_read(ssl, buf, CHUNK);
            if (r <= 0)
                break;
            got += (uint64_t)r;
        }
    }
    double secs = now_s() - t0;
    SSL_free(ssl);
    close(fd);
    printf("%llu %.6f %.3f\n", (unsigned long long)got, secs, (double)got * 8 / secs / 1e9);
    if (got != size) {
        fprintf(stderr, "tls_client: %llu of %llu bytes arrived\n", (unsigned long long)got,
                (unsigned long long)size);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    memset(&g_sa, 0, sizeof(g_sa));
    g_sa.sin_family = AF_INET;
    if (argc >= 4) {
        g_sa.sin_port = htons((uint16_t)atoi(argv[3]));
        if (inet_pton(AF_INET, argv[2], &g_sa.sin_addr) != 1)
            argc = 0;
    }
    if ((argc == 8 || argc == 9) && !strcmp(argv[1], "http")) {
        g_host = argv[7];
        return run_http(atoi(argv[4]), atof(argv[5]), argv[6],
                        argc == 9 && !strcmp(argv[8], "close"));
    }
    if (argc == 7 && (!strcmp(argv[1], "up") || !strcmp(argv[1], "down"))) {
        g_host = argv[6];
        return run_bulk(argv[1][0], strtoull(argv[4], NULL, 10), argv[5]);
    }
    fprintf(stderr, "usage: tls_client http ADDR PORT CONNS SECONDS CAFILE HOST [close]\n"
                    "       tls_client up|down ADDR PORT BYTES CAFILE HOST\n");
    return 2;
}
