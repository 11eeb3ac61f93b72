/*
 * The workers' request series (util/request_stats.h) and the event ring (util/event_log.h):
 * what a scrape and /events show after reloads, overflow and hostile text.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "util/event_log.h"
#include "util/request_stats.h"

static const char route_a, route_b, service; /* stand-ins for a configuration's pointers */

static struct cw_request_series *count(struct cw_request_table *t, const void *route_key,
                                       const char *route, uint8_t status_class)
{
    struct cw_request_key k = {route_key, &service, 8080, false, status_class};
    struct cw_request_series *s = cw_request_table_lookup(t, &k);
    if (!s)
        s = cw_request_table_add(t, &k, route, "data/svc:80");
    cw_stat_add(&s->count, 1);
    return s;
}

static void a_label_set_keeps_its_series_across_reloads(void **state)
{
    (void)state;
    struct cw_request_table *t = cw_request_table_new();
    struct cw_request_series *first = count(t, &route_a, "gw/api:a", 2);
    assert_ptr_equal(count(t, &route_a, "gw/api:a", 2), first);
    assert_ptr_not_equal(count(t, &route_a, "gw/api:a", 5), first); /* another status class */
    /* A reload: the same route now lives elsewhere, and the old address may hold another. */
    cw_request_table_forget_keys(t);
    assert_ptr_equal(count(t, &route_b, "gw/api:a", 2), first);
    struct cw_request_series *other = count(t, &route_a, "gw/api:other", 2);
    assert_ptr_not_equal(other, first);
    assert_string_equal(other->route, "gw/api:other");
    assert_int_equal(cw_stat_get(&first->count), 3);
    assert_int_equal(cw_request_table_count(t), 3);
    cw_request_table_free(t);
}

static void label_sets_beyond_the_cap_count_as_other(void **state)
{
    (void)state;
    struct cw_request_table *t = cw_request_table_new();
    char *keys = calloc(CW_REQUEST_SERIES_MAX + 10, 1);
    for (int i = 0; i < CW_REQUEST_SERIES_MAX + 10; i++) {
        char route[32];
        snprintf(route, sizeof(route), "gw/api:r%d", i);
        count(t, &keys[i], route, 2);
    }
    assert_int_equal(cw_request_table_count(t), CW_REQUEST_SERIES_MAX);
    const struct cw_request_series *last = cw_request_table_at(t, CW_REQUEST_SERIES_MAX - 1);
    assert_string_equal(last->route, "(other)");
    assert_int_equal(cw_stat_get(&last->count), 11);
    free(keys);
    cw_request_table_free(t);
}

static char *events_json(const struct cw_event_log *log)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cw_event_log_write_json(log, out);
    fclose(out);
    return text;
}

static void events_are_newest_first_and_the_oldest_make_way(void **state)
{
    (void)state;
    struct cw_event_log *log = cw_event_log_new();
    for (int i = 0; i < CW_EVENT_LOG_SIZE + 3; i++) {
        char n[16];
        snprintf(n, sizeof(n), "%d", i);
        cw_event_log_add(log, "reload", (const char *[]){"generation", n, NULL});
    }
    char *text = events_json(log);
    char newest[64], oldest[64], gone[64];
    snprintf(newest, sizeof(newest), "\"generation\":\"%d\"", CW_EVENT_LOG_SIZE + 2);
    snprintf(oldest, sizeof(oldest), "\"generation\":\"3\"}");
    snprintf(gone, sizeof(gone), "\"generation\":\"2\"}");
    assert_non_null(strstr(text, newest));
    assert_true(strstr(text, newest) < strstr(text, oldest));
    assert_null(strstr(text, gone));
    free(text);
    cw_event_log_free(log);
}

static void event_text_cannot_break_out_of_its_field(void **state)
{
    (void)state;
    struct cw_event_log *log = cw_event_log_new();
    cw_event_log_add(log, "eject",
                     (const char *[]){"reason", "a\"b\\c\nd\x01 \xff\xc3\xa9", NULL});
    char *text = events_json(log);
    assert_non_null(strstr(text, "\"reason\":\"a\\\"b\\\\c\\u000ad\\u0001 \\u00ff\xc3\xa9\""));
    free(text);
    cw_event_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_label_set_keeps_its_series_across_reloads),
        cmocka_unit_test(label_sets_beyond_the_cap_count_as_other),
        cmocka_unit_test(events_are_newest_first_and_the_oldest_make_way),
        cmocka_unit_test(event_text_cannot_break_out_of_its_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
