#include "util/request_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* The worker's private index from pointer keys to series: open addressing, twice the series
 * so it never fills; a slot of an older epoch is empty. */
#define INDEX_SLOTS (2 * CW_REQUEST_SERIES_MAX)

struct index_slot {
    const void *route, *service;
    uint32_t small; /* listener, tcp, class */
    uint32_t epoch;
    uint32_t series;
};

struct cw_request_table {
    struct cw_request_series *series; /* calloc'd: pages untouched until used */
    _Atomic uint32_t n;
    uint32_t epoch;
    uint32_t used; /* slots of this epoch */
    struct index_slot *index;
};

struct cw_request_table *cw_request_table_new(void)
{
    struct cw_request_table *t = cw_xcalloc(1, sizeof(*t));
    t->series = cw_xcalloc(CW_REQUEST_SERIES_MAX, sizeof(*t->series));
    t->index = cw_xcalloc(INDEX_SLOTS, sizeof(*t->index));
    t->epoch = 1;
    return t;
}

void cw_request_table_free(struct cw_request_table *t)
{
    if (!t)
        return;
    free(t->series);
    free(t->index);
    free(t);
}

void cw_request_table_forget_keys(struct cw_request_table *t)
{
    t->epoch++;
    t->used = 0;
}

static uint32_t small_key(const struct cw_request_key *k)
{
    return (uint32_t)k->listener << 16 | (uint32_t)k->tcp << 8 | k->status_class;
}

static void copy_label(char *dst, const char *src)
{
    snprintf(dst, CW_LABEL_MAX, "%s", src ? src : "");
}

static bool same_labels(const struct cw_request_series *s, const struct cw_request_key *k,
                        const char *route, const char *service)
{
    return s->listener == k->listener && s->tcp == k->tcp && s->status_class == k->status_class &&
           !strncmp(s->route, route ? route : "", CW_LABEL_MAX - 1) &&
           !strncmp(s->service, service ? service : "", CW_LABEL_MAX - 1);
}

/* The series with these label values (one made before a reload, say), or a new one. */
static uint32_t series_for(struct cw_request_table *t, const struct cw_request_key *k,
                           const char *route, const char *service)
{
    uint32_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++)
        if (same_labels(&t->series[i], k, route, service))
            return i;
    if (n == CW_REQUEST_SERIES_MAX)
        return n - 1;
    struct cw_request_series *s = &t->series[n];
    bool last = n == CW_REQUEST_SERIES_MAX - 1; /* it counts everything beyond */
    s->listener = last ? 0 : k->listener;
    s->tcp = last ? false : k->tcp;
    s->status_class = last ? 0 : k->status_class;
    copy_label(s->route, last ? "(other)" : route);
    copy_label(s->service, last ? "(other)" : service);
    atomic_store_explicit(&t->n, n + 1, memory_order_release);
    return n;
}

static uint32_t slot_of(const struct cw_request_key *k)
{
    uintptr_t h = ((uintptr_t)k->route >> 4) * 0x9E3779B97F4A7C15ull ^
                  ((uintptr_t)k->service >> 4) * 0xC2B2AE3D27D4EB4Full ^
                  small_key(k) * 0x165667B1u;
    return (uint32_t)(h >> 17) % INDEX_SLOTS;
}

static bool same_key(const struct index_slot *slot, const struct cw_request_key *k)
{
    return slot->route == k->route && slot->service == k->service && slot->small == small_key(k);
}

struct cw_request_series *cw_request_table_lookup(struct cw_request_table *t,
                                                  const struct cw_request_key *k)
{
    for (uint32_t i = slot_of(k);; i = (i + 1) % INDEX_SLOTS) {
        const struct index_slot *slot = &t->index[i];
        if (slot->epoch != t->epoch)
            return NULL;
        if (same_key(slot, k))
            return &t->series[slot->series];
    }
}

struct cw_request_series *cw_request_table_add(struct cw_request_table *t,
                                               const struct cw_request_key *k, const char *route,
                                               const char *service)
{
    if (t->used >= INDEX_SLOTS / 2) /* keeps probes short; the series stay */
        cw_request_table_forget_keys(t);
    uint32_t i = slot_of(k);
    while (t->index[i].epoch == t->epoch && !same_key(&t->index[i], k))
        i = (i + 1) % INDEX_SLOTS;
    t->index[i] = (struct index_slot){k->route, k->service, small_key(k), t->epoch,
                                      series_for(t, k, route, service)};
    t->used++;
    return &t->series[t->index[i].series];
}

uint32_t cw_request_table_count(const struct cw_request_table *t)
{
    return atomic_load_explicit((_Atomic uint32_t *)&t->n, memory_order_acquire);
}

const struct cw_request_series *cw_request_table_at(const struct cw_request_table *t, uint32_t i)
{
    return &t->series[i];
}
