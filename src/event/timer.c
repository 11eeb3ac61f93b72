#include "event/timer.h"

#include <stdlib.h>

#include "util/xalloc.h"

static void place(struct cw_timer_heap *h, uint32_t i, struct cw_timer *t)
{
    h->v[i] = t;
    t->slot = i + 1;
}

static void sift_up(struct cw_timer_heap *h, uint32_t i)
{
    struct cw_timer *t = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (h->v[parent]->due <= t->due)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(struct cw_timer_heap *h, uint32_t i)
{
    struct cw_timer *t = h->v[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->v[child + 1]->due < h->v[child]->due)
            child++;
        if (t->due <= h->v[child]->due)
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, t);
}

void cw_timer_heap_stop(struct cw_timer_heap *h, struct cw_timer *t)
{
    if (!t->slot)
        return;
    uint32_t i = t->slot - 1;
    t->slot = 0;
    struct cw_timer *last = h->v[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    if (i > 0 && h->v[(i - 1) / 2]->due > last->due)
        sift_up(h, i);
    else
        sift_down(h, i);
}

void cw_timer_heap_start(struct cw_timer_heap *h, struct cw_timer *t, uint64_t due, cw_timer_cb cb)
{
    t->cb = cb;
    t->seq = h->armed++;
    if (t->slot) { /* already armed: move it */
        uint64_t old = t->due;
        t->due = due;
        if (due < old)
            sift_up(h, t->slot - 1);
        else
            sift_down(h, t->slot - 1);
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = cw_xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    t->due = due;
    place(h, h->n++, t);
    sift_up(h, h->n - 1);
}

void cw_timer_heap_run(struct cw_timer_heap *h, uint64_t now)
{
    /* One timer at a time, so that a callback may stop (and its owner free) any other timer.
     * Only timers armed before this call run: one that a callback arms for <now> again waits
     * for the next turn of the loop instead of spinning here. */
    uint64_t limit = h->armed;
    while (h->n && h->v[0]->due <= now && h->v[0]->seq < limit) {
        struct cw_timer *t = h->v[0];
        cw_timer_heap_stop(h, t);
        t->cb(t);
    }
}

void cw_timer_heap_free(struct cw_timer_heap *h)
{
    free(h->v);
    *h = (struct cw_timer_heap){0};
}
