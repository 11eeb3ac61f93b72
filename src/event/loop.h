/*
 * A worker's event loop (the event layer): its own epoll set for the sockets and its own
 * timers (timer.h).
 *
 * Sockets are registered once, edge-triggered, for reading and writing, and never modified:
 * no epoll_ctl when a connection stops or resumes reading or starts waiting to write, and
 * one per connection in all (libuv's uv_poll_t costs five: a probe ADD and DEL, an ioctl, a
 * DEL and an ADD on start, and each change of interest is a DEL and an ADD). This is how nginx
 * and HAProxy run their loops.
 *
 * The timers (connection deadlines, the pool sweep, the drain and accept-pause timers) are a
 * heap inside the loop: epoll_wait sleeps until the first is due, and checking them costs no
 * system call. The loop's clock is read once per turn. Other threads wake the loop through an
 * eventfd.
 *
 * Work that must not run inside the caller (a read after reading resumes on a socket that is
 * already known to be readable, a write completion, a close callback) is deferred to the end of
 * the current batch of events, as libuv defers its callbacks.
 *
 * Under load the loop polls briefly before it sleeps (busy polling, as HAProxy's
 * `busy-polling`): see spin_wait in loop.c for why and when.
 */
#ifndef CW_EVENT_LOOP_H
#define CW_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "event/timer.h"

struct cw_io_watch;
typedef void (*cw_io_event_cb)(struct cw_io_watch *w, uint32_t epoll_events);

/* A descriptor in the loop's epoll set. */
struct cw_io_watch {
    int fd;
    cw_io_event_cb on_event;
};

struct cw_io_deferred;
typedef void (*cw_io_deferred_cb)(struct cw_io_deferred *d);

/* Work queued for the end of the batch; a node is queued at most once at a time. */
struct cw_io_deferred {
    struct cw_io_deferred *next;
    cw_io_deferred_cb cb;
    bool queued;
};

struct cw_io_loop {
    int epfd;
    uint64_t now; /* monotonic milliseconds, read once per turn */
    struct cw_timer_heap timers;
    struct cw_io_deferred *deferred, *deferred_tail;
    struct cw_io_watch wake;
    void (*on_wake)(struct cw_io_loop *l);     /* another thread called cw_io_wake */
    void (*after_batch)(struct cw_io_loop *l); /* e.g. writing buffered log lines */
    void *data;
    bool finishing; /* the run ends once nothing is left to do */
    /* Busy polling: how long (µs) the loop may poll before it sleeps, 0 for never (set by
     * cw_io_loop_init from cw_io_set_busy_poll), and how often recent waits ended within that
     * time (0..256, a moving average): the loop polls only while that is at least half. */
    uint32_t spin_us;
    uint32_t spin_score;
};

/* The busy-polling budget of the loops initialised from now on, in µs (0: never poll, sleep at
 * once). Set once, before the workers start (`causeway run --busy-poll`). The default, 20 µs,
 * measured on the 2026-12-07 host in a quiet run: c50 raw req/s +4.5 % and p99 0.58× against
 * polling off, for +1.9 % CPU per request (50 µs cost 4.5 %); an idle worker stops polling
 * after a few waits (BENCHMARKS.md). */
#define CW_IO_BUSY_POLL_ON_US 20
void cw_io_set_busy_poll(uint32_t us);

/* The loop of one worker thread. Returns 0 or a negative errno. */
int cw_io_loop_init(struct cw_io_loop *l);
void cw_io_loop_close(struct cw_io_loop *l);

/* Adds <w> (its fd and on_event set) with the epoll <events> (EPOLLIN, EPOLLET, ...). */
int cw_io_add(struct cw_io_loop *l, struct cw_io_watch *w, uint32_t events);
void cw_io_remove(struct cw_io_loop *l, struct cw_io_watch *w);

/* Runs <cb> at the end of the current batch (or of the next one, when called from deferred
 * work), never before this returns. Queuing a queued node again does nothing. */
void cw_io_defer(struct cw_io_loop *l, struct cw_io_deferred *d, cw_io_deferred_cb cb);

/* Wakes the loop from any thread; on_wake runs on the loop's thread (several wake-ups may
 * come as one). */
void cw_io_wake(struct cw_io_loop *l);

/* The loop's clock: monotonic milliseconds as of the start of this turn. */
static inline uint64_t cw_io_now(const struct cw_io_loop *l)
{
    return l->now;
}

/* Reads the clock again (for work that ran long within one turn). */
void cw_io_update_time(struct cw_io_loop *l);

/* Arms <t> to run <cb> <ms> milliseconds from the loop's now; an armed timer is moved. */
static inline void cw_timer_start(struct cw_io_loop *l, struct cw_timer *t, uint64_t ms,
                                  cw_timer_cb cb)
{
    cw_timer_heap_start(&l->timers, t, l->now + ms, cb);
}

static inline void cw_timer_stop(struct cw_io_loop *l, struct cw_timer *t)
{
    cw_timer_heap_stop(&l->timers, t);
}

/* Runs until cw_io_loop_finish was called and no deferred work is left. Armed timers do not
 * keep a finished loop running. */
void cw_io_loop_run(struct cw_io_loop *l);
void cw_io_loop_finish(struct cw_io_loop *l);

#endif
