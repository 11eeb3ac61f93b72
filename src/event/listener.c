/*
 * Listening sockets. Each worker gets its own socket per port with SO_REUSEPORT, so the kernel
 * spreads new connections over the workers without a shared accept lock. The worker watches it
 * in its own epoll set and accepts with accept4 (worker.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/listener.h"

/* <bind_addr>:<port> as a socket address; 0, or -1 with the reason in <err>. */
static int socket_address(const char *bind_addr, uint16_t port, struct sockaddr_storage *ss,
                          socklen_t *len, char *err, size_t err_size)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    snprintf(err, err_size, "--bind %s is not an IP address", bind_addr);
    return -1;
}

int cw_listener_check_free(const char *bind_addr, uint16_t port, char *err, size_t err_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (socket_address(bind_addr, port, &ss, &len, err, err_size) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return -1;
    }
    /* SO_REUSEADDR lets connections of an earlier run in TIME_WAIT pass; SO_REUSEPORT is left
     * out on purpose: without it, any socket bound to the port (another causeway's listeners
     * included, which would otherwise quietly share it) makes bind fail. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, (struct sockaddr *)&ss, len);
    int bind_errno = errno;
    close(fd);
    if (rc == 0)
        return 0;
    if (bind_errno == EADDRINUSE)
        snprintf(err, err_size, "cannot listen on %s:%u: the port is already in use by another "
                                "process",
                 bind_addr, port);
    else
        snprintf(err, err_size, "cannot listen on %s:%u: %s", bind_addr, port, strerror(bind_errno));
    return -1;
}

int cw_listener_socket(const char *bind_addr, uint16_t port, bool http, char *err, size_t err_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (socket_address(bind_addr, port, &ss, &len, err, err_size) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Accepted sockets inherit TCP_NODELAY from the listening socket: one call here instead of
     * one per connection. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* An HTTP client speaks first: the kernel hands over its connection with the request's
     * first bytes, so accepting and reading take one wake-up instead of two. A client that
     * stays silent is handed over after about a second. Not for TCP listeners: there the
     * server may speak first (MySQL, SMTP), and its client would wait. */
    if (http)
        setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, err_size, "cannot listen on %s:%u: %s", bind_addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
