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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    l->now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cw_io_loop_init(struct cw_io_loop *l)
{
    *l = (struct cw_io_loop){.epfd = epoll_create1(EPOLL_CLOEXEC), .wake.fd = -1};
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

void cw_io_loop_run(struct cw_io_loop *l)
{
    struct epoll_event ev[EVENTS_PER_WAIT];
    while (!l->finishing || l->deferred) {
        int n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, wait_timeout(l));
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
