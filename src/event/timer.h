/*
 * Timers of a worker's event loop (the event layer): a binary min-heap of deadlines in loop
 * milliseconds, inside the loop itself, so a worker has one event system and no second library
 * for its timers.
 *
 * A timer is a small struct embedded in its owner. Starting an armed timer moves it; stopping
 * is immediate and needs no close callback, so an owner may free itself right after
 * cw_timer_stop. A callback runs from the loop, never inside the call that armed the timer.
 * One thread: the loop's own.
 */
#ifndef CW_EVENT_TIMER_H
#define CW_EVENT_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cw_timer;
typedef void (*cw_timer_cb)(struct cw_timer *t);

struct cw_timer {
    uint64_t due;  /* loop milliseconds */
    uint32_t slot; /* position in the heap + 1; 0 while not armed */
    cw_timer_cb cb;
    void *data;   /* the owner's */
    uint64_t seq; /* when it was armed, in armings of its heap */
};

struct cw_timer_heap {
    struct cw_timer **v;
    uint32_t n, cap;
    uint64_t armed; /* armings so far */
};

static inline bool cw_timer_armed(const struct cw_timer *t)
{
    return t->slot != 0;
}

/* Arms <t> to call <cb> at <due> (loop milliseconds), replacing any earlier arming. */
void cw_timer_heap_start(struct cw_timer_heap *h, struct cw_timer *t, uint64_t due, cw_timer_cb cb);
void cw_timer_heap_stop(struct cw_timer_heap *h, struct cw_timer *t);

/* The earliest armed timer, or NULL. */
static inline struct cw_timer *cw_timer_heap_first(const struct cw_timer_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

/* Runs the callbacks of the timers due at <now>; timers armed by them wait for the next call,
 * so a timer that re-arms itself at once cannot spin the loop. */
void cw_timer_heap_run(struct cw_timer_heap *h, uint64_t now);

void cw_timer_heap_free(struct cw_timer_heap *h);

#endif
