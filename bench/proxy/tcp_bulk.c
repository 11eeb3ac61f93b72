/*
 * tcp_bulk: the TCP bulk-transfer backend and client of the proxy benchmark.
 *
 *   tcp_bulk serve ADDR PORT            accept connections one after another, forever
 *   tcp_bulk up   ADDR PORT BYTES       send BYTES to the server, wait for its count
 *   tcp_bulk down ADDR PORT BYTES       ask the server for BYTES, read them to EOF
 *
 * Protocol: the client opens with a 9-byte header, 'U' or 'D' and a big-endian 64-bit size.
 * 'U': the client streams the bytes and shuts down its write side; the server reads to EOF and
 * answers with the 8-byte count it received, so the client's clock stops only when every byte
 * has crossed the proxy. 'D': the server streams the bytes and closes; the client reads to EOF.
 * A connection that closes before a full header (a port probe) is dropped quietly.
 *
 * The client prints "<bytes> <seconds> <Gbit/s>" and exits 1 when the count is short.
 * Payload bytes are neither generated nor checked per byte: the point is the proxy's cost of
 * moving them, and the count proves they all arrived.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static char buf[CHUNK];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_addr(const char *host, const char *port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, (const char *)p + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Streams n bytes from the static buffer. */
static int send_bytes(int fd, uint64_t n)
{
    while (n > 0) {
        size_t len = n < CHUNK ? (size_t)n : CHUNK;
        if (write_full(fd, buf, len) != 0)
            return -1;
        n -= len;
    }
    return 0;
}

/* Reads to EOF; returns the byte count. */
static uint64_t drain(int fd)
{
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return total;
        total += (uint64_t)r;
    }
}

static void serve_one(int fd)
{
    unsigned char hdr[9];
    if (read_full(fd, hdr, sizeof(hdr)) != 0)
        return;
    uint64_t size = get_u64(hdr + 1);
    if (hdr[0] == 'U') {
        unsigned char reply[8];
        put_u64(reply, drain(fd));
        (void)write_full(fd, reply, sizeof(reply));
    } else if (hdr[0] == 'D') {
        (void)send_bytes(fd, size);
    }
}

static int serve(const struct sockaddr_in *sa)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(ls, 64) != 0) {
        perror("tcp_bulk serve");
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            perror("accept");
            return 1;
        }
        serve_one(fd);
        close(fd);
    }
}

static int client(char mode, const struct sockaddr_in *sa, uint64_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    double t0 = now_s();
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        perror("tcp_bulk connect");
        return 1;
    }
    unsigned char hdr[9];
    hdr[0] = (unsigned char)(mode == 'u' ? 'U' : 'D');
    put_u64(hdr + 1, size);
    if (write_full(fd, hdr, sizeof(hdr)) != 0) {
        perror("tcp_bulk header");
        return 1;
    }
    uint64_t got;
    if (mode == 'u') {
        if (send_bytes(fd, size) != 0) {
            perror("tcp_bulk send");
            return 1;
        }
        shutdown(fd, SHUT_WR);
        unsigned char reply[8];
        got = read_full(fd, reply, sizeof(reply)) == 0 ? get_u64(reply) : 0;
    } else {
        got = drain(fd);
    }
    double secs = now_s() - t0;
    close(fd);
    printf("%llu %.6f %.3f\n", (unsigned long long)got, secs, (double)got * 8 / secs / 1e9);
    if (got != size) {
        fprintf(stderr, "tcp_bulk: %llu of %llu bytes arrived\n", (unsigned long long)got,
                (unsigned long long)size);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in sa;
    if (argc >= 4 && parse_addr(argv[2], argv[3], &sa) == 0) {
        if (strcmp(argv[1], "serve") == 0)
            return serve(&sa);
        if (argc == 5 && (strcmp(argv[1], "up") == 0 || strcmp(argv[1], "down") == 0))
            return client(argv[1][0], &sa, strtoull(argv[4], NULL, 10));
    }
    fprintf(stderr, "usage: tcp_bulk serve ADDR PORT | tcp_bulk up|down ADDR PORT BYTES\n");
    return 2;
}
