/*
 * Choosing hosts under outlier detection, end to end on real translated clusters: the gateway
 * at us-east-1/us-east-1a prefers its own zone; failures reported as a worker would report them
 * eject a host on the control loop at once; traffic moves to the next priority; the host
 * returns exactly when its ejection time is up; a second ejection lasts twice as long; the
 * cap holds; a rebuild (reload) keeps an ejection in progress.
 */
#include "up_support.h"

#define THREE_ZONES                                                                                \
    EP("local", "10.0.0.1", "{region: us-east-1, zone: us-east-1a}")                               \
    EP("zone", "10.0.0.2", "{region: us-east-1, zone: us-east-1b}")                                \
    EP("west", "10.0.0.3", "{region: us-west-2, zone: us-west-2a}")

/* Runs the control loop until host <h> is back; returns how long that took (ms). */
static uint64_t wait_return(struct world *w, uint32_t h)
{
    uint64_t start = uv_hrtime();
    while (ejected(w, h) && uv_hrtime() - start < 5000000000ull)
        uv_run(&w->loop, UV_RUN_ONCE);
    assert_false(ejected(w, h));
    return (uv_hrtime() - start) / 1000000;
}

static void local_zone_takes_everything(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP);
    assert_int_equal(w.db->n_priorities, 3);
    uint32_t count[3];
    pick_many(&w, 100, count);
    assert_int_equal(count[host(&w, "10.0.0.1:5432")], 100);
    world_stop(&w);
}

static void consecutive_errors_eject_and_traffic_moves(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP_CONFIG("{consecutiveErrors: 3, baseEjectionTime: 10s}"));
    uint32_t local = host(&w, "10.0.0.1:5432"), zone = host(&w, "10.0.0.2:5432");
    report_failures(&w, local, 2, 503);
    assert_false(ejected(&w, local));               /* 2 of 3 */
    cw_host_report(&w.ups, w.db, local, 200, NULL); /* a success resets the count */
    report_failures(&w, local, 2, 500);
    assert_false(ejected(&w, local));
    report_failures(&w, local, 1, 500);
    assert_true(ejected(&w, local)); /* the third in a row: ejected at once */
    uint32_t count[3];
    pick_many(&w, 100, count);
    assert_int_equal(count[zone], 100); /* same region, other zone: the next priority */
    fflush(w.events_file);
    assert_non_null(strstr(w.events, "event=eject service=data/db:5432 endpoint=10.0.0.1:5432 "
                                     "locality=us-east-1/us-east-1a priority=0 "
                                     "reason=\"3 consecutive errors, last: HTTP 500\" "
                                     "ejection=1 multiplier=1 duration_ms=10000 "
                                     "priority_loads=0/100/0"));
    world_stop(&w);
}

static void gateway_errors_count_only_502_to_504(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP_CONFIG("{consecutiveErrors: 10, consecutiveGatewayErrors: 2}"));
    uint32_t local = host(&w, "10.0.0.1:5432");
    report_failures(&w, local, 1, 502);
    report_failures(&w, local, 1, 500); /* a 5xx that is not a gateway error breaks the run */
    report_failures(&w, local, 1, 504);
    assert_false(ejected(&w, local));
    report_failures(&w, local, 1, 503);
    assert_true(ejected(&w, local));
    fflush(w.events_file);
    assert_non_null(strstr(w.events, "reason=\"2 consecutive gateway errors, last: "));
    world_stop(&w);
}

static void tried_hosts_count_as_unavailable(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP);
    struct cw_pick_cursor cursor = {0};
    uint32_t tried[2] = {host(&w, "10.0.0.1:5432")};
    for (int i = 0; i < 20; i++) /* a retry after a failed connect goes to the next priority */
        assert_int_equal(cw_lb_pick(w.db, &cursor, tried, 1), (int)host(&w, "10.0.0.2:5432"));
    tried[1] = host(&w, "10.0.0.2:5432");
    assert_int_equal(cw_lb_pick(w.db, &cursor, tried, 2), (int)host(&w, "10.0.0.3:5432"));
    world_stop(&w);
}

static void returns_on_time_and_second_ejection_doubles(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP_CONFIG("{consecutiveErrors: 1, baseEjectionTime: 150ms, "
                                           "interval: 10s}"));
    uint32_t local = host(&w, "10.0.0.1:5432");
    report_failures(&w, local, 1, 503);
    assert_true(ejected(&w, local));
    uint64_t first = wait_return(&w, local);
    assert_in_range(first, 140, 250); /* returns when its time is up, not at a sweep */
    uint32_t count[3];
    pick_many(&w, 10, count);
    assert_int_equal(count[local], 10); /* traffic is back */
    report_failures(&w, local, 1, 503); /* fails again within the interval: k = 2 */
    uint64_t second = wait_return(&w, local);
    assert_in_range(second, 290, 420);
    fflush(w.events_file);
    assert_non_null(strstr(w.events, "ejection=2 multiplier=2 duration_ms=300"));
    assert_non_null(strstr(w.events, "event=return service=data/db:5432 endpoint=10.0.0.1:5432"));
    world_stop(&w);
}

static void no_healthy_host_is_no_pick(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP_CONFIG("{consecutiveErrors: 1}"));
    for (uint32_t h = 0; h < 3; h++)
        report_failures(&w, h, 1, 503);
    struct cw_pick_cursor cursor = {0};
    assert_int_equal(cw_lb_pick(w.db, &cursor, NULL, 0), -1); /* panic off: 503 */
    world_stop(&w);
}

#define FOUR_LOCAL                                                                                 \
    EP("a", "10.0.0.1", "{region: us-east-1, zone: us-east-1a}")                                   \
    EP("b", "10.0.0.2", "{region: us-east-1, zone: us-east-1a}")                                   \
    EP("c", "10.0.0.3", "{region: us-east-1, zone: us-east-1a}")                                   \
    EP("d", "10.0.0.4", "{region: us-east-1, zone: us-east-1a}")

static void max_ejection_percent_caps_the_cluster(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, FOUR_LOCAL ODP_CONFIG("{consecutiveErrors: 1, maxEjectionPercent: 50}"));
    for (uint32_t h = 0; h < 4; h++)
        report_failures(&w, h, 1, 503);
    uint32_t out = 0;
    for (uint32_t h = 0; h < 4; h++)
        out += ejected(&w, h);
    assert_int_equal(out, 2);
    fflush(w.events_file);
    assert_non_null(strstr(w.events, "event=eject-refused"));
    assert_non_null(
        strstr(w.events, "refused=\"maxEjectionPercent 50: 2 of 4 endpoints already ejected\""));
    /* Two of four available: 140·2/4 = 70 % health, all of it in the only priority. */
    uint32_t count[4];
    pick_many(&w, 40, count);
    for (uint32_t h = 0; h < 4; h++)
        assert_int_equal(count[h], ejected(&w, h) ? 0 : 20);
    world_stop(&w);
}

/* Hosts whose ejection the control thread has not decided yet are avoided while another host
 * can serve, but they still serve when every host is pending: the cap may refuse those
 * ejections, and "no healthy upstream" would be wrong meanwhile. */
static void pending_hosts_serve_when_nothing_else_can(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, FOUR_LOCAL ODP_CONFIG("{consecutiveErrors: 1, maxEjectionPercent: 50}"));
    /* Reported as a worker does, the control loop not run: all four are pending but one. */
    for (uint32_t h = 0; h < 3; h++)
        cw_host_report(&w.ups, w.db, h, 503, NULL);
    uint32_t count[4];
    pick_many(&w, 8, count);
    assert_int_equal(count[3], 8);
    cw_host_report(&w.ups, w.db, 3, 503, NULL);
    pick_many(&w, 8, count);
    assert_int_equal(count[0] + count[1] + count[2] + count[3], 8);
    uv_run(&w.loop, UV_RUN_NOWAIT); /* the control thread decides: two ejected, two refused */
    pick_many(&w, 8, count);
    for (uint32_t h = 0; h < 4; h++)
        assert_int_equal(count[h], ejected(&w, h) ? 0 : 4);
    world_stop(&w);
}

static void without_outlier_detection_nothing_is_ejected(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES);
    assert_int_equal(w.db->n_priorities, 1); /* §7.1: no priorities without OD */
    report_failures(&w, 0, 20, 503);
    assert_false(ejected(&w, 0));
    uint32_t count[3];
    pick_many(&w, 99, count);
    for (uint32_t h = 0; h < 3; h++)
        assert_int_equal(count[h], 33);
    world_stop(&w);
}

static void rebuild_keeps_an_ejection(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, THREE_ZONES ODP_CONFIG("{consecutiveErrors: 1, baseEjectionTime: 200ms}"));
    uint32_t local = host(&w, "10.0.0.1:5432");
    report_failures(&w, local, 1, 503);
    struct cw_upstreams next;
    struct cw_diags d;
    cw_diags_init(&d);
    cw_upstreams_build(&next, w.x.tr.snapshot, &w.ups, NULL, &d);
    cw_diags_deinit(&d);
    cw_ejection_adopt(&w.ups, &next);
    uint32_t db_index = w.db->index; /* w.db points into the build freed next */
    cw_upstreams_free(&w.ups);
    w.ups = next;
    w.db = &w.ups.clusters[db_index];
    assert_true(ejected(&w, local));
    assert_int_equal(atomic_load(&w.db->available[0]), 0);
    uint64_t back = wait_return(&w, local); /* the return time carried over */
    assert_in_range(back, 100, 300);
    assert_int_equal(atomic_load(&w.db->available[0]), 1);
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_zone_takes_everything),
        cmocka_unit_test(consecutive_errors_eject_and_traffic_moves),
        cmocka_unit_test(gateway_errors_count_only_502_to_504),
        cmocka_unit_test(tried_hosts_count_as_unavailable),
        cmocka_unit_test(returns_on_time_and_second_ejection_doubles),
        cmocka_unit_test(no_healthy_host_is_no_pick),
        cmocka_unit_test(max_ejection_percent_caps_the_cluster),
        cmocka_unit_test(pending_hosts_serve_when_nothing_else_can),
        cmocka_unit_test(without_outlier_detection_nothing_is_ejected),
        cmocka_unit_test(rebuild_keeps_an_ejection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
