#include "event/loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Events taken per epoll_wait. */
#define EVENTS_PER_WAIT 256

/* Busy polling (wait_events): the budget new loops take, and the moving average's scale. */
static uint32_t busy_poll_us = CW_IO_BUSY_POLL_ON_US;
#define SPIN_SCORE_ONE 256

void cw_io_set_busy_poll(uint32_t us)
{
    busy_poll_us = us;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void on_wake_event(struct cw_io_watch *w, uint32_t events)
{
    (void)events;
    struct cw_io_loop *l = (struct cw_io_loop *)((char *)w - offsetof(struct cw_io_loop, wake));
    uint64_t n;
    while (read(w->fd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
    if (l->on_wake)
        l->on_wake(l);
}

void cw_io_update_time(struct cw_io_loop *l)
{
    l->now = mono_ns() / 1000000;
}

int cw_io_loop_init(struct cw_io_loop *l)
{
    *l = (struct cw_io_loop){
        .epfd = epoll_create1(EPOLL_CLOEXEC), .wake.fd = -1, .spin_us = busy_poll_us};
    cw_io_update_time(l);
    if (l->epfd < 0)
        return -errno;
    l->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    l->wake.on_event = on_wake_event;
    if (l->wake.fd < 0 || cw_io_add(l, &l->wake, EPOLLIN) != 0) {
        int err = -errno;
        cw_io_loop_close(l);
        return err;
    }
    return 0;
}

void cw_io_loop_close(struct cw_io_loop *l)
{
    if (l->wake.fd >= 0)
        close(l->wake.fd);
    if (l->epfd >= 0)
        close(l->epfd);
    l->wake.fd = l->epfd = -1;
    cw_timer_heap_free(&l->timers);
}

int cw_io_add(struct cw_io_loop *l, struct cw_io_watch *w, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.ptr = w};
    return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &e) == 0 ? 0 : -errno;
}

void cw_io_remove(struct cw_io_loop *l, struct cw_io_watch *w)
{
    struct epoll_event e = {0};
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, &e);
}

void cw_io_defer(struct cw_io_loop *l, struct cw_io_deferred *d, cw_io_deferred_cb cb)
{
    d->cb = cb;
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    if (l->deferred_tail)
        l->deferred_tail->next = d;
    else
        l->deferred = d;
    l->deferred_tail = d;
}

void cw_io_wake(struct cw_io_loop *l)
{
    uint64_t one = 1;
    while (write(l->wake.fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void cw_io_loop_finish(struct cw_io_loop *l)
{
    l->finishing = true;
}

/* Runs what was deferred until now; what that work defers waits for the next batch, so a
 * socket that keeps re-queuing itself cannot starve the others. */
static void run_deferred(struct cw_io_loop *l)
{
    struct cw_io_deferred *d = l->deferred;
    l->deferred = l->deferred_tail = NULL;
    while (d) {
        struct cw_io_deferred *next = d->next;
        d->queued = false;
        d->cb(d);
        d = next;
    }
}

/* How long epoll_wait may block: not at all with work queued, else until the next timer. */
static int wait_timeout(struct cw_io_loop *l)
{
    if (l->deferred)
        return 0;
    const struct cw_timer *first = cw_timer_heap_first(&l->timers);
    if (!first)
        return -1;
    if (first->due <= l->now)
        return 0;
    uint64_t ms = first->due - l->now;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/*
 * Busy polling. A loop asleep in epoll_wait has to be woken by the next packet for it: on
 * loopback the core that sends it (the client's, the backend's) pays a cross-CPU wake-up (an
 * IPI, a VM exit in a guest) and this core pays the switch back in. Under load the gaps between
 * events are short, so a wait first polls (epoll_wait with a zero timeout) for up to spin_us and
 * sleeps only if nothing came. It polls only while that pays: spin_score is a moving average
 * (1/8 per wait) of how often a wait ended with events within spin_us, whether a poll caught
 * them or a sleep was that short, and below one half the loop sleeps at once. An idle
 * gateway's waits end on timers, milliseconds apart, so it stops polling after a few waits;
 * six waits that end within the budget start it again.
 *
 * epoll's own busy polling (EPIOCSPARAMS, Linux 6.9) polls a network device's NAPI context;
 * loopback sockets have none, so it would not poll anything here.
 */
static int wait_events(struct cw_io_loop *l, struct epoll_event *ev, int timeout)
{
    if (timeout == 0 || l->spin_us == 0)
        return epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, timeout);
    uint64_t start = mono_ns(), budget = (uint64_t)l->spin_us * 1000;
    int n = 0;
    if (l->spin_score >= SPIN_SCORE_ONE / 2) {
        do
            n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, 0);
        while (n == 0 && mono_ns() - start < budget);
    }
    if (n == 0)
        n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, timeout);
    bool hit = n > 0 && mono_ns() - start <= budget;
    l->spin_score = l->spin_score - l->spin_score / 8 + (hit ? SPIN_SCORE_ONE / 8 : 0);
    return n;
}

void cw_io_loop_run(struct cw_io_loop *l)
{
    struct epoll_event ev[EVENTS_PER_WAIT];
    while (!l->finishing || l->deferred) {
        int n = wait_events(l, ev, wait_timeout(l));
        if (n < 0 && errno != EINTR) {
            perror("causeway: epoll_wait");
            abort();
        }
        cw_io_update_time(l);
        for (int i = 0; i < n; i++) {
            struct cw_io_watch *w = ev[i].data.ptr;
            w->on_event(w, ev[i].events);
        }
        run_deferred(l);
        cw_timer_heap_run(&l->timers, l->now);
        if (l->after_batch)
            l->after_batch(l);
    }
}
