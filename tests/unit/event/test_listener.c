/*
 * Listening sockets (event/listener.h): what a user's --bind gets — the port listens with
 * SO_REUSEPORT for every worker, an address that is not an IP is refused with the reason,
 * connections accepted on it send without Nagle's delay (TCP_NODELAY comes with the accepted
 * socket, so no system call per connection sets it), and an HTTP listener hands a connection
 * over only with its first bytes while a TCP listener hands it over at once.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "support.h"
#include "event/listener.h"
#include "event/sock.h"

static uint16_t port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static int connect_to(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static int nodelay_of(int fd)
{
    int on = -1;
    socklen_t len = sizeof(on);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    return on;
}

/* A listener of the kind asked for, on a port the kernel picks. */
static int any_port_listener(bool http)
{
    char err[128];
    int lfd = cw_listener_socket("127.0.0.1", 0, http, err, sizeof(err));
    assert_true(lfd >= 0);
    return lfd;
}

/* Accepts on the non-blocking <lfd> for up to <ms> milliseconds: the descriptor, or -1. */
static int accept_within(int lfd, int ms)
{
    struct sockaddr_storage peer;
    for (int waited = 0; waited <= ms; waited += 10) {
        int fd = cw_sock_accept_from(lfd, &peer);
        if (fd >= 0)
            return fd;
        assert_int_equal(fd, CW_EAGAIN);
        usleep(10 * 1000);
    }
    return -1;
}

static void accepted_connections_have_nodelay(void **state)
{
    (void)state;
    int lfd = any_port_listener(true);
    int client = connect_to(port_of(lfd));
    assert_int_equal(send(client, "GET", 3, 0), 3);
    int fd = accept_within(lfd, 1000);
    assert_true(fd >= 0);
    assert_int_equal(nodelay_of(fd), 1);
    assert_int_equal(nodelay_of(client), 0); /* the client's own socket is its own business */
    close(fd);
    close(client);
    close(lfd);
}

static void an_http_connection_is_handed_over_with_its_first_bytes(void **state)
{
    (void)state;
    int lfd = any_port_listener(true);
    int client = connect_to(port_of(lfd));
    assert_int_equal(accept_within(lfd, 200), -1); /* connected, but nothing sent yet */
    assert_int_equal(send(client, "GET / HTTP/1.1\r\n", 16, 0), 16);
    int fd = accept_within(lfd, 1000);
    assert_true(fd >= 0);
    char buf[32];
    assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 16); /* no wait for the bytes */
    close(fd);
    close(client);
    close(lfd);
}

static void a_tcp_connection_is_handed_over_at_once(void **state)
{
    (void)state;
    int lfd = any_port_listener(false);
    int client = connect_to(port_of(lfd));
    int fd = accept_within(lfd, 200); /* the server may be the one to speak first */
    assert_true(fd >= 0);
    assert_int_equal(nodelay_of(fd), 1);
    close(fd);
    close(client);
    close(lfd);
}

static void every_worker_gets_a_socket_on_the_same_port(void **state)
{
    (void)state;
    char err[128];
    int a = any_port_listener(true);
    int b = cw_listener_socket("127.0.0.1", port_of(a), true, err, sizeof(err));
    assert_true(b >= 0);
    close(b);
    close(a);
}

static void a_bind_address_that_is_not_an_ip_is_refused(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(cw_listener_socket("localhost", 0, true, err, sizeof(err)), -1);
    assert_string_equal(err, "--bind localhost is not an IP address");
}

static void a_port_held_without_reuseport_is_refused_with_the_reason(void **state)
{
    (void)state;
    int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(bind(other, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(other, 1), 0);
    uint16_t port = port_of(other);
    char err[128], want[128];
    assert_int_equal(cw_listener_socket("127.0.0.1", port, false, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use", port);
    assert_string_equal(err, want);
    close(other);
}

/* Another causeway's listeners share their port with SO_REUSEPORT, which would let a second
 * one bind it too and take half the connections: the check before binding says who is there. */
static void a_port_another_causeway_listens_on_is_not_free(void **state)
{
    (void)state;
    char err[160], want[160];
    int other = any_port_listener(true); /* SO_REUSEPORT, as every causeway listener */
    uint16_t port = port_of(other);
    assert_int_equal(cw_listener_check_free("127.0.0.1", port, err, sizeof(err)), -1);
    snprintf(want, sizeof(want),
             "cannot listen on 127.0.0.1:%u: the port is already in use by another process", port);
    assert_string_equal(err, want);
    close(other);
    assert_int_equal(cw_listener_check_free("127.0.0.1", port, err, sizeof(err)), 0);
    assert_int_equal(cw_listener_check_free("localhost", port, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_connections_have_nodelay),
        cmocka_unit_test(an_http_connection_is_handed_over_with_its_first_bytes),
        cmocka_unit_test(a_tcp_connection_is_handed_over_at_once),
        cmocka_unit_test(every_worker_gets_a_socket_on_the_same_port),
        cmocka_unit_test(a_bind_address_that_is_not_an_ip_is_refused),
        cmocka_unit_test(a_port_held_without_reuseport_is_refused_with_the_reason),
        cmocka_unit_test(a_port_another_causeway_listens_on_is_not_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
