/*
 * Counting each finished request and TCP connection for the metrics (util/request_stats.h):
 * one series lookup by the pointers the worker holds, then a few single-writer counters. The
 * label values are made only when a label set is first seen after a reload.
 */
#include <stdio.h>

#include "proxy/proxy_int.h"
#include "snapshot/snapshot.h"
#include "util/request_stats.h"

/* Stands for "no route, but the service's own name" (an exposed service's hostname). */
static const char exposed_key;

static struct cw_request_series *series_of(struct cw_request_table *t,
                                           const struct cw_request_done *d)
{
    const struct cw_request_key k = {
        .route = d->route ? (const void *)d->route : d->cluster ? &exposed_key : NULL,
        .service = d->cluster,
        .listener = d->listener,
        .tcp = d->tcp,
        .status_class = d->status >= 100 && d->status < 600 ? (uint8_t)(d->status / 100) : 0,
    };
    struct cw_request_series *s = cw_request_table_lookup(t, &k);
    if (s)
        return s;
    char route[CW_LABEL_MAX];
    if (d->route)
        snprintf(route, sizeof(route), "%s/%s:%s", d->route->table->obj.meta.ns,
                 d->route->table->obj.meta.name, d->route->name);
    return cw_request_table_add(t, &k,
                                d->route     ? route
                                : d->cluster ? "exposed"
                                             : NULL,
                                d->cluster ? d->cluster->name : NULL);
}

void cw_request_metrics_count(const struct cw_request_done *d)
{
    struct cw_thread_stats *st = cw_stats();
    if (d->attempts)
        cw_attempts_finish(d->attempts);
    if (!st->requests)
        return;
    struct cw_request_series *s = series_of(st->requests, d);
    cw_stat_add(&s->count, 1);
    cw_stat_add(&s->bytes_in, d->bytes_in);
    cw_stat_add(&s->bytes_out, d->bytes_out);
    if (d->retries)
        cw_stat_add(&s->retries, d->retries);
    cw_histogram_observe(&s->duration, d->duration_ms);
}
