/*
 * A worker's request counters by label set — listener, route, service, status class, HTTP or
 * TCP — for the Prometheus scrape. The worker finds a label set's series by the pointers it
 * already holds (route and cluster of its configuration), never by comparing strings on the
 * hot path; the series carries copies of its label values, so it outlives the configuration.
 *
 * Series are appended, never moved or removed, and published with a release store of their
 * count: the scrape (another thread) reads [0, count) with an acquire load and relaxed loads of
 * the counters (util/stats.h). Past CW_REQUEST_SERIES_MAX - 1 label sets, requests (HTTP and
 * TCP alike) are counted in one last series labelled "(other)", with no listener, status class
 * or protocol of its own.
 */
#ifndef CW_UTIL_REQUEST_STATS_H
#define CW_UTIL_REQUEST_STATS_H

#include <stdbool.h>

#include "util/stats.h"

#define CW_REQUEST_SERIES_MAX 4096
#define CW_LABEL_MAX 128

struct cw_request_series {
    uint16_t listener;
    bool tcp;
    uint8_t status_class; /* 1..5 for 1xx..5xx; 0 for a TCP connection or no response */
    char route[CW_LABEL_MAX], service[CW_LABEL_MAX]; /* "" when absent */
    _Atomic uint64_t count, bytes_in, bytes_out, retries;
    struct cw_histogram duration;
};

struct cw_request_table;

struct cw_request_table *cw_request_table_new(void);
void cw_request_table_free(struct cw_request_table *t);

/* The key of a label set: the pointers of the worker's configuration that decide the route
 * and service labels, and the small labels as they are. */
struct cw_request_key {
    const void *route, *service;
    uint16_t listener;
    bool tcp;
    uint8_t status_class;
};

/* The series of <k>, or NULL when <k> was not seen since the keys were last forgotten: then
 * the caller makes the label values and calls cw_request_table_add. The table's worker only. */
struct cw_request_series *cw_request_table_lookup(struct cw_request_table *t,
                                                  const struct cw_request_key *k);

/* The series with the label values of <k>, <route> and <service> (NULL: absent), found among
 * those counted before (a reload keeps them) or new; <k> finds it from now on. */
struct cw_request_series *cw_request_table_add(struct cw_request_table *t,
                                               const struct cw_request_key *k, const char *route,
                                               const char *service);

/*
 * Forgets the pointer keys (not the series): call when the worker moves to a new
 * configuration, before any of its pointers is looked up, since the old configuration's
 * memory may be reused for different routes. The table's worker only.
 */
void cw_request_table_forget_keys(struct cw_request_table *t);

/* The published series: any thread. */
uint32_t cw_request_table_count(const struct cw_request_table *t);
const struct cw_request_series *cw_request_table_at(const struct cw_request_table *t, uint32_t i);

#endif
