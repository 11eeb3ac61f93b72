/*
 * Listening sockets (proxy/listener.h): what a user's --bind gets — the port listens with
 * SO_REUSEPORT for every worker, an address that is not an IP is refused with the reason, and
 * connections accepted on it send without Nagle's delay (TCP_NODELAY comes with the accepted
 * socket, so no system call per connection sets it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"
#include "proxy/listener.h"
#include "proxy/sock.h"

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

static void accepted_connections_have_nodelay(void **state)
{
    (void)state;
    char err[128];
    int lfd = cw_listener_socket("127.0.0.1", 0, err, sizeof(err));
    assert_true(lfd >= 0);
    int client = connect_to(port_of(lfd));
    struct sockaddr_storage peer;
    int fd = cw_sock_accept_from(lfd, &peer);
    assert_true(fd >= 0);
    assert_int_equal(nodelay_of(fd), 1);
    assert_int_equal(nodelay_of(client), 0); /* the client's own socket is its own business */
    close(fd);
    close(client);
    close(lfd);
}

static void every_worker_gets_a_socket_on_the_same_port(void **state)
{
    (void)state;
    char err[128];
    int a = cw_listener_socket("127.0.0.1", 0, err, sizeof(err));
    assert_true(a >= 0);
    int b = cw_listener_socket("127.0.0.1", port_of(a), err, sizeof(err));
    assert_true(b >= 0);
    close(b);
    close(a);
}

static void a_bind_address_that_is_not_an_ip_is_refused(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(cw_listener_socket("localhost", 0, err, sizeof(err)), -1);
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
    assert_int_equal(cw_listener_socket("127.0.0.1", port, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use", port);
    assert_string_equal(err, want);
    close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_connections_have_nodelay),
        cmocka_unit_test(every_worker_gets_a_socket_on_the_same_port),
        cmocka_unit_test(a_bind_address_that_is_not_an_ip_is_refused),
        cmocka_unit_test(a_port_held_without_reuseport_is_refused_with_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
