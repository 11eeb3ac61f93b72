/*
 * The exchange and the HTTP/1.1 upstream client (proxy/exchange.h, proxy/h1_client.h) on real
 * loopback sockets, with no client connection: the test plays both the client side (the
 * exchange's callbacks) and the upstreams (two listening sockets, 127.0.0.1 and 127.0.0.2 on one
 * port, answered by hand). A response split at every byte, a reset before the head (retried on
 * the other host when the request may be repeated, a 502 when it has a body), and a pooled
 * connection the upstream had closed (retried on a fresh connection to the same host).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/exchange.h"
#include "translate/tr_support.h"

#define GUARD_MS 5000

/* ---- the world: a loop, pools, one cluster of two hosts ---- */

struct fx {
    struct cw_io_loop io;
    struct cw_block_pool blocks;
    struct cw_h1_pools pools;
    struct cw_timeouts timeouts;
    struct cw_exchange_env env;
    struct trt x;
    struct cw_upstreams ups;
    const struct cw_cluster *cluster;
    struct cw_pick_cursor cursor;
    int lfd[2]; /* 127.0.0.1:port and 127.0.0.2:port */
    uint16_t port;
    struct cw_timer guard;
    bool (*until)(struct fx *f);
    bool timed_out;
};

/* What the exchange told the test. */
struct rec {
    struct cw_exchange ex;
    char log[512];
    char body[4096];
    size_t body_len;
    int head_status, failed_status, dones, sends;
    const char *why;
};

static struct fx F;
static struct rec R;

static void note(const char *word)
{
    size_t n = strlen(R.log);
    snprintf(R.log + n, sizeof(R.log) - n, "%s%s", n ? " " : "", word);
}

static void on_sent(void *data)
{
    (void)data;
    R.sends++;
}

static void on_head(void *data, int status)
{
    (void)data;
    R.head_status = status;
    char w[32];
    snprintf(w, sizeof(w), "head:%d", status);
    note(w);
}

static void on_body(void *data, const char *p, size_t n, bool done)
{
    (void)data;
    assert_true(R.body_len + n <= sizeof(R.body));
    memcpy(R.body + R.body_len, p, n);
    R.body_len += n;
    if (done) {
        R.dones++;
        note("done");
    }
    cw_exchange_consumed(&R.ex);
}

static void on_failed(void *data, int status, const char *why)
{
    (void)data;
    R.failed_status = status;
    R.why = why;
    note("failed");
}

static void on_broken(void *data, const char *why)
{
    (void)data;
    R.why = why;
    note("broken");
}

static const struct cw_exchange_events events = {on_sent, on_head, on_body, on_failed, on_broken};

static int listen_on(const char *addr, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port)};
    inet_pton(AF_INET, addr, &a.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

#define EP(name, address)                                                                          \
    DOC NET "kind: ExternalEndpoint\n"                                                             \
            "metadata: {name: " name ", namespace: data, labels: {app: api}}\n"                    \
            "spec: {address: '" address "', ports: [{name: http, number: %u}], "                   \
            "locality: {region: us-east-1, zone: us-east-1a}}\n"

static void after_batch(struct cw_io_loop *l)
{
    if (F.until && F.until(&F)) {
        F.until = NULL;
        cw_io_loop_finish(l);
    }
}

static void on_guard(struct cw_timer *t)
{
    (void)t;
    F.timed_out = true;
    cw_io_loop_finish(&F.io);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    F.lfd[0] = listen_on("127.0.0.1", &F.port);
    F.lfd[1] = listen_on("127.0.0.2", &F.port);
    char yaml[4096];
    snprintf(yaml, sizeof(yaml),
             "%s" DOC NET "kind: ExternalService\n"
             "metadata: {name: api, namespace: data}\n"
             "spec: {hosts: [api.internal], ports: [{name: http, number: %u, protocol: HTTP}], "
             "selector: {app: api}}\n" EP("one", "127.0.0.1") EP("two", "127.0.0.2"),
             WS_OPS, F.port, F.port, F.port);
    trt_run(&F.x, yaml);
    struct cw_diags d;
    cw_diags_init(&d);
    assert_int_equal(cw_upstreams_build(&F.ups, F.x.tr.snapshot, NULL, NULL, &d), 0);
    cw_diags_deinit(&d);
    char name[64];
    snprintf(name, sizeof(name), "data/api:%u", F.port);
    F.cluster = trt_need_cluster(&F.x, name);
    assert_int_equal(cw_io_loop_init(&F.io), 0);
    F.io.after_batch = after_batch;
    F.timeouts = (struct cw_timeouts){.connect_ms = 1000, .upstream_ms = 2000, .idle_ms = 5000};
    cw_h1_pools_init(&F.pools, &F.io, &F.blocks, &F.ups, F.timeouts.idle_ms);
    F.env = (struct cw_exchange_env){.io = &F.io, .pools = &F.pools, .timeouts = &F.timeouts};
    return 0;
}

/* Runs the loop until the deferred closes are done. */
static void settle(void);

static int teardown(void **state)
{
    (void)state;
    cw_h1_pools_deinit(&F.pools);
    settle();
    assert_int_equal(F.blocks.in_use, 0);
    cw_block_pool_free(&F.blocks);
    cw_io_loop_close(&F.io);
    close(F.lfd[0]);
    close(F.lfd[1]);
    cw_upstreams_free(&F.ups);
    trt_free(&F.x);
    return 0;
}

/* Runs the loop until <until> holds after a batch, failing after GUARD_MS. */
static void run_until(bool (*until)(struct fx *f), const char *what)
{
    if (until && until(&F))
        return;
    F.until = until;
    F.timed_out = false;
    F.io.finishing = false;
    cw_io_update_time(&F.io);
    cw_timer_start(&F.io, &F.guard, GUARD_MS, on_guard);
    cw_io_loop_run(&F.io);
    cw_timer_stop(&F.io, &F.guard);
    F.until = NULL;
    if (F.timed_out)
        fail_msg("timed out waiting for %s (events: %s)", what, R.log);
}

static bool never(struct fx *f)
{
    (void)f;
    return false;
}

/* Runs the loop for <ms> whatever happens. */
static void run_for(uint64_t ms)
{
    F.until = never;
    F.io.finishing = false;
    cw_io_update_time(&F.io);
    cw_timer_start(&F.io, &F.guard, ms, on_guard);
    cw_io_loop_run(&F.io);
    cw_timer_stop(&F.io, &F.guard);
    F.until = NULL;
}

static void settle(void)
{
    run_for(20);
}

/* ---- the upstreams' side ---- */

static bool connection_waiting(struct fx *f)
{
    struct pollfd p[2] = {{f->lfd[0], POLLIN, 0}, {f->lfd[1], POLLIN, 0}};
    return poll(p, 2, 0) > 0;
}

/* The connection waiting on either listener (which one in *which); the loop runs meanwhile. */
static int accept_up(int *which)
{
    run_until(connection_waiting, "a connection upstream");
    struct pollfd p[2] = {{F.lfd[0], POLLIN, 0}, {F.lfd[1], POLLIN, 0}};
    assert_true(poll(p, 2, 0) > 0);
    int i = (p[0].revents & POLLIN) ? 0 : 1;
    if (which)
        *which = i;
    int fd = accept(F.lfd[i], NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

static int up_fd; /* the connection run_until waits on */

static bool up_readable(struct fx *f)
{
    (void)f;
    struct pollfd p = {up_fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

/* Reads one request head on <fd> (the loop runs while the exchange writes it). */
static void read_request(int fd)
{
    char buf[4096];
    size_t n = 0;
    while (!memmem(buf, n, "\r\n\r\n", 4)) {
        up_fd = fd;
        run_until(up_readable, "the request upstream");
        ssize_t got = recv(fd, buf + n, sizeof(buf) - n, MSG_DONTWAIT);
        assert_true(got > 0);
        n += (size_t)got;
    }
}

static void send_all(int fd, const char *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* ---- exchanges ---- */

static const char GET_HEAD[] = "GET / HTTP/1.1\r\nHost: api.internal\r\n\r\n";
static const char POST_HEAD[] = "POST / HTTP/1.1\r\nHost: api.internal\r\nContent-Length: 4\r\n\r\n";

static void start(const char *head, bool has_body)
{
    memset(&R, 0, sizeof(R));
    struct cw_exchange_request rq = {
        .ups = &F.ups,
        .cluster = F.cluster,
        .cursor = &F.cursor,
        .head = head,
        .head_len = strlen(head),
        .has_body = has_body,
        .idempotent = !has_body,
    };
    cw_exchange_start(&R.ex, &F.env, &rq, &events, NULL);
}

static bool ended(struct fx *f)
{
    (void)f;
    return R.dones > 0 || R.failed_status || R.why;
}

static void a_response_split_at_every_byte_arrives_whole(void **state)
{
    (void)state;
    /* Bodies are handed on with their framing, chunks and all. */
    static const char *const responses[] = {
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\nhello world",
        "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\n"
        "Content-Length: 11\r\n\r\nhello world",
    };
    static const char *const bodies[] = {
        "hello world",
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
        "hello world",
    };
    for (size_t r = 0; r < sizeof(responses) / sizeof(responses[0]); r++) {
        size_t len = strlen(responses[r]);
        for (size_t k = 1; k < len; k++) {
            start(GET_HEAD, false);
            int fd = accept_up(NULL);
            read_request(fd);
            send_all(fd, responses[r], k);
            run_for(2);
            send_all(fd, responses[r] + k, len - k);
            run_until(ended, "the end of the response");
            assert_int_equal(R.head_status, 200);
            assert_int_equal(R.dones, 1);
            assert_int_equal(R.body_len, strlen(bodies[r]));
            assert_memory_equal(R.body, bodies[r], R.body_len);
            assert_int_equal(cw_exchange_retries(&R.ex), 0);
            cw_exchange_end(&R.ex);
            close(fd);
        }
    }
    settle();
}

static void a_reset_before_the_head_is_retried_on_the_other_host(void **state)
{
    (void)state;
    start(GET_HEAD, false);
    int first, second;
    int fd = accept_up(&first);
    read_request(fd);
    reset(fd);
    int fd2 = accept_up(&second);
    assert_int_not_equal(first, second);
    read_request(fd2);
    const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    send_all(fd2, ok, sizeof(ok) - 1);
    run_until(ended, "the response from the second host");
    assert_string_equal(R.log, "head:200 done");
    assert_int_equal(cw_exchange_retries(&R.ex), 1);
    assert_ptr_equal(cw_exchange_host(&R.ex), &F.ups.clusters[F.cluster->index].hosts[second]);
    cw_exchange_end(&R.ex);
    close(fd2);
    settle();
}

static bool sent_once(struct fx *f)
{
    (void)f;
    return R.sends > 0 || R.failed_status;
}

static void a_request_with_a_body_is_not_sent_twice(void **state)
{
    (void)state;
    start(POST_HEAD, true);
    int fd = accept_up(NULL);
    read_request(fd);
    run_until(sent_once, "the head written");
    cw_exchange_send_body(&R.ex, "data", 4, true);
    run_for(5);
    reset(fd);
    run_until(ended, "the failure");
    assert_string_equal(R.log, "failed");
    assert_int_equal(R.failed_status, 502);
    assert_string_equal(R.why, "upstream reset before responding");
    struct pollfd p[2] = {{F.lfd[0], POLLIN, 0}, {F.lfd[1], POLLIN, 0}};
    assert_int_equal(poll(p, 2, 50), 0); /* no second connection */
    cw_exchange_end(&R.ex);
    settle();
}

static void a_stale_pooled_connection_is_retried_fresh_on_the_same_host(void **state)
{
    (void)state;
    const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    start(GET_HEAD, false);
    int first;
    int fd = accept_up(&first);
    read_request(fd);
    send_all(fd, ok, sizeof(ok) - 1);
    run_until(ended, "the first response");
    const struct cw_host *host = cw_exchange_host(&R.ex);
    cw_exchange_end(&R.ex); /* pooled */
    /* The upstream closes the idle connection; the next request takes it before the loop has
     * seen the FIN, as happens when both cross on the wire. */
    close(fd);
    usleep(10000);
    F.cursor.round_robin = (uint32_t)(host - F.ups.clusters[F.cluster->index].hosts); /* again */
    start(GET_HEAD, false);
    int again;
    int fd2 = accept_up(&again);
    assert_int_equal(again, first);
    read_request(fd2);
    send_all(fd2, ok, sizeof(ok) - 1);
    run_until(ended, "the response on a fresh connection");
    assert_string_equal(R.log, "head:200 done");
    assert_ptr_equal(cw_exchange_host(&R.ex), host);
    assert_int_equal(cw_exchange_retries(&R.ex), 0); /* the same host, not a retry elsewhere */
    cw_exchange_end(&R.ex);
    close(fd2);
    settle();
}

static void an_upstream_that_never_answers_gets_504(void **state)
{
    (void)state;
    F.timeouts.upstream_ms = 100;
    start(GET_HEAD, false);
    int fd = accept_up(NULL);
    read_request(fd);
    run_until(ended, "the upstream timeout");
    assert_string_equal(R.log, "failed");
    assert_int_equal(R.failed_status, 504);
    assert_string_equal(R.why, "upstream timeout");
    cw_exchange_end(&R.ex);
    close(fd);
    F.timeouts.upstream_ms = 2000;
    settle();
}

/* llhttp ends a chunked body at "0\r\n\n"; the client must not get such an end. */
static void a_chunked_response_that_ends_with_a_bare_lf_is_broken(void **state)
{
    (void)state;
    start(GET_HEAD, false);
    int fd = accept_up(NULL);
    read_request(fd);
    const char bad[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n";
    send_all(fd, bad, sizeof(bad) - 1);
    run_until(ended, "the broken response");
    assert_string_equal(R.log, "head:200 broken");
    assert_int_equal(R.dones, 0);
    assert_null(memmem(R.body, R.body_len, "0\r\n\n", 4));
    cw_exchange_end(&R.ex);
    close(fd);
    settle();
}

/* A status outside 100-599 is no answer: retried elsewhere (the request may be repeated), then
 * a 502; nothing of it reaches the client. */
static void a_status_outside_100_to_599_is_a_502(void **state)
{
    (void)state;
    start(GET_HEAD, false);
    int fd = accept_up(NULL);
    read_request(fd);
    const char zero[] = "HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n";
    send_all(fd, zero, sizeof(zero) - 1);
    int fd2 = accept_up(NULL);
    read_request(fd2);
    const char big[] = "HTTP/1.1 600 Big\r\nContent-Length: 0\r\n\r\n";
    send_all(fd2, big, sizeof(big) - 1);
    run_until(ended, "the 502");
    assert_string_equal(R.log, "failed");
    assert_int_equal(R.failed_status, 502);
    assert_string_equal(R.why, "invalid response from upstream: status outside 100-599");
    cw_exchange_end(&R.ex);
    close(fd);
    close(fd2);
    settle();
}

/* The gateway's own shortage of descriptors is a 503 of its own, tried on no other host (each
 * would meet the same shortage) and never reported against the endpoint. */
static void out_of_descriptors_is_the_gateways_503(void **state)
{
    (void)state;
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    int probe = dup(0); /* the lowest free descriptor: all below it are taken */
    close(probe);
    struct rlimit tight = {(rlim_t)probe, old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    start(GET_HEAD, false);
    setrlimit(RLIMIT_NOFILE, &old);
    run_until(ended, "the 503");
    assert_string_equal(R.log, "failed");
    assert_int_equal(R.failed_status, 503);
    assert_string_equal(R.why, "gateway out of file descriptors");
    assert_int_equal(cw_exchange_retries(&R.ex), 0);
    struct pollfd p[2] = {{F.lfd[0], POLLIN, 0}, {F.lfd[1], POLLIN, 0}};
    assert_int_equal(poll(p, 2, 0), 0); /* no connection reached an upstream */
    cw_exchange_end(&R.ex);
    settle();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_response_split_at_every_byte_arrives_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_reset_before_the_head_is_retried_on_the_other_host,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_request_with_a_body_is_not_sent_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stale_pooled_connection_is_retried_fresh_on_the_same_host,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_upstream_that_never_answers_gets_504, setup, teardown),
        cmocka_unit_test_setup_teardown(a_chunked_response_that_ends_with_a_bare_lf_is_broken,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_status_outside_100_to_599_is_a_502, setup, teardown),
        cmocka_unit_test_setup_teardown(out_of_descriptors_is_the_gateways_503, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
