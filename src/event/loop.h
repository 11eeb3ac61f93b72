/*
 * A worker's event loop (the event layer): its own epoll set for the sockets, libuv for the
 * timers.
 *
 * Sockets are registered once, edge-triggered, for reading and writing, and never modified:
 * no epoll_ctl when a connection stops or resumes reading or starts waiting to write, and
 * one per connection in all (libuv's uv_poll_t costs five: a probe ADD and DEL, an ioctl, a
 * DEL and an ADD on start, and each change of interest is a DEL and an ADD). This is how nginx
 * and HAProxy run their loops.
 *
 * The libuv loop still owns the timers (connection deadlines, the pool sweep, the drain and
 * accept-pause timers): it is run without blocking only when a timer is due or a handle is
 * closing, so it costs no system call on a busy loop. Other threads wake the loop through an
 * eventfd.
 *
 * Work that must not run inside the caller (a read after reading resumes on a socket that is
 * already known to be readable, a write completion, a close callback) is deferred to the end of
 * the current batch of events, as libuv defers its callbacks.
 */
#ifndef CW_EVENT_LOOP_H
#define CW_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

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
    uv_loop_t *uv;
    struct cw_io_deferred *deferred, *deferred_tail;
    struct cw_io_watch wake;
    void (*on_wake)(struct cw_io_loop *l);     /* another thread called cw_io_wake */
    void (*after_batch)(struct cw_io_loop *l); /* e.g. writing buffered log lines */
    void *data;
    bool finishing; /* the run ends once nothing is left to do */
};

/* The loop of one worker thread, with <uv> for its timers. */
int cw_io_loop_init(struct cw_io_loop *l, uv_loop_t *uv);
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

/* Runs until cw_io_loop_finish was called and no deferred work or libuv handle is left. */
void cw_io_loop_run(struct cw_io_loop *l);
void cw_io_loop_finish(struct cw_io_loop *l);

#endif
