/*
 * Worker threads: one event loop each (event/loop.h), its own listening sockets, its own
 * connections. The control thread talks to a worker only by setting stop_requested or next_gen
 * and waking its loop.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/listener.h"
#include "proxy/proxy_int.h"
#include "event/sock.h"
#include "snapshot/snapshot.h"
#include "util/cpu_list.h"
#include "util/request_stats.h"
#include "util/xalloc.h"

void cw_worker_track(struct cw_worker *w, struct cw_conn_link *link)
{
    link->next = w->conns.next;
    link->prev = &w->conns;
    w->conns.next->prev = link;
    w->conns.next = link;
    w->active++;
    cw_stat_add(&cw_stats()->client_opened, 1);
}

/* Nothing is left to serve: the loop ends once its deferred work is done. */
static void finish(struct cw_worker *w)
{
    cw_access_log_flush_if(w);
    cw_h1_pools_drain(&w->h1_pools);
    cw_timer_stop(&w->io, &w->drain_timer);
    cw_io_loop_finish(&w->io);
}

static void resume_accepting(struct cw_worker *w);

void cw_worker_untrack(struct cw_worker *w, struct cw_conn_link *link)
{
    link->prev->next = link->next;
    link->next->prev = link->prev;
    link->next = link->prev = link;
    w->active--;
    cw_stat_add(&cw_stats()->client_closed, 1);
    if (w->accept_full && w->active < w->max_conns && !w->draining)
        resume_accepting(w);
    if (w->draining && w->active == 0)
        finish(w);
}

struct cw_cluster *cw_worker_pick_cluster(struct cw_worker *w, const struct cw_route *r)
{
    if (r->clusters.n == 0)
        return NULL;
    if (r->clusters.n == 1)
        return r->clusters.v[0].cluster;
    /* Weights sum to 100: walk a 0..99 counter over the cumulative weights. */
    uint32_t x = w->weight_counter++ % 100, sum = 0;
    for (uint32_t i = 0; i < r->clusters.n; i++) {
        sum += r->clusters.v[i].weight;
        if (x < sum)
            return r->clusters.v[i].cluster;
    }
    return r->clusters.v[r->clusters.n - 1].cluster;
}

void cw_access_log_flush_if(struct cw_worker *w)
{
    if (w->cfg->access_log && w->log.len)
        cw_access_log_flush(w->cfg->access_log, &w->log);
}

/* Runs after each batch of events, once the close callbacks have logged what finished. */
static void after_batch(struct cw_io_loop *io)
{
    cw_access_log_flush_if(io->data);
}

/* Connections taken per readiness event and listener before other sockets get their turn. */
#define ACCEPTS_PER_EVENT 64
/* Out of descriptors: how long a listener rests before it tries again. The connections wait in
 * the kernel's backlog meanwhile instead of being accepted and dropped. */
#define ACCEPT_PAUSE_MS 100

static void on_listener_event(struct cw_io_watch *watch, uint32_t events);

/* Level-triggered: a listener that stops early (its budget, a pause) is reported again. */
static int watch_listener(struct cw_worker_listener *wl)
{
    return cw_io_add(&wl->worker->io, &wl->watch, EPOLLIN);
}

static void on_accept_pause_over(struct cw_timer *t)
{
    struct cw_worker_listener *wl = t->data;
    if (!wl->worker->draining)
        watch_listener(wl);
}

static void pause_accepting(struct cw_worker_listener *wl, int err)
{
    fprintf(stderr, "causeway: worker %u: cannot accept on port %u: %s; retrying in %d ms\n",
            wl->worker->id, wl->port, cw_strerror(err), ACCEPT_PAUSE_MS);
    cw_io_remove(&wl->worker->io, &wl->watch);
    cw_timer_start(&wl->worker->io, &wl->pause_timer, ACCEPT_PAUSE_MS, on_accept_pause_over);
}

/* Closes the oldest idle keep-alive client connection of the worker (nothing in hand, as nginx
 * does at its connection limit): true when there was one. Its descriptor is free at once. */
static bool reclaim_idle(struct cw_worker *w)
{
    for (struct cw_conn_link *l = w->conns.prev; l != &w->conns; l = l->prev)
        if (l->reclaim && l->reclaim(l))
            return true;
    return false;
}

static bool make_room(void *ctx)
{
    return reclaim_idle(ctx);
}

/* At --max-connections with nothing idle to reclaim: new connections wait in the kernel's
 * backlog. Accepting resumes when a connection of this worker ends (cw_worker_untrack), or
 * tries again after a pause, by when a busy connection may have gone idle. */
static void stop_accepting_full(struct cw_worker *w)
{
    w->accept_full = true;
    for (uint32_t i = 0; i < w->n_listeners; i++) {
        struct cw_worker_listener *wl = &w->listeners[i];
        if (cw_timer_armed(&wl->pause_timer))
            continue;
        cw_io_remove(&w->io, &wl->watch);
        cw_timer_start(&w->io, &wl->pause_timer, ACCEPT_PAUSE_MS, on_accept_pause_over);
    }
}

static void resume_accepting(struct cw_worker *w)
{
    w->accept_full = false;
    for (uint32_t i = 0; i < w->n_listeners; i++) {
        struct cw_worker_listener *wl = &w->listeners[i];
        if (cw_timer_armed(&wl->pause_timer)) {
            cw_timer_stop(&w->io, &wl->pause_timer);
            watch_listener(wl);
        }
    }
}

/* Room for one more connection: under the cap, or an idle one made way. An idle connection is
 * closed only for a connection known to be waiting (<waiting>: the listener's event said so
 * and none was taken since); after that the level-triggered listener reports again. */
static bool room_for_one(struct cw_worker *w, bool waiting)
{
    return !w->max_conns || w->active < w->max_conns || (waiting && reclaim_idle(w));
}

static void on_listener_event(struct cw_io_watch *watch, uint32_t events)
{
    (void)events;
    struct cw_worker_listener *wl = (struct cw_worker_listener *)watch;
    struct cw_worker *w = wl->worker;
    for (int i = 0; i < ACCEPTS_PER_EVENT && !w->draining; i++) {
        if (!room_for_one(w, i == 0)) {
            if (i == 0)
                stop_accepting_full(w);
            return;
        }
        struct sockaddr_storage peer;
        int fd = cw_sock_accept_from(wl->watch.fd, &peer);
        if (fd == CW_EAGAIN)
            return;
        if (cw_err_is_local_shortage(fd)) {
            /* Out of descriptors: idle keep-alive connections make way for new ones; with none
             * left, accepting rests a moment (no busy loop on a listener that stays ready). */
            if (reclaim_idle(w))
                continue;
            pause_accepting(wl, fd);
            return;
        }
        if (fd < 0)
            continue; /* the client gave up before it was accepted (ECONNABORTED and the like) */
        wl->accept(wl, fd, &peer);
    }
}

static void stop_listening(struct cw_worker *w)
{
    for (uint32_t i = 0; i < w->n_listeners; i++) {
        struct cw_worker_listener *wl = &w->listeners[i];
        cw_timer_stop(&w->io, &wl->pause_timer);
        close(wl->watch.fd); /* also leaves the epoll set */
        wl->watch.fd = -1;
    }
}

static void on_drain_timeout(struct cw_timer *t)
{
    struct cw_worker *w = t->data;
    /* In-flight work had its time: close what is left. Closing completes later (close
     * callbacks unlink), so walk the list with the next pointer saved. */
    for (struct cw_conn_link *l = w->conns.next, *next; l != &w->conns; l = next) {
        next = l->next;
        l->force_close(l);
    }
    finish(w);
}

static void on_stop(struct cw_worker *w)
{
    w->draining = true;
    cw_h1_pools_drain(&w->h1_pools); /* idle pooled connections are not in-flight work */
    stop_listening(w);
    for (struct cw_conn_link *l = w->conns.next, *next; l != &w->conns; l = next) {
        next = l->next;
        if (l->drain)
            l->drain(l);
    }
    if (w->active == 0) {
        finish(w);
        return;
    }
    cw_timer_start(&w->io, &w->drain_timer, w->cfg->timeouts.drain_ms, on_drain_timeout);
}

/* --worker-cpus: one CPU of the list per worker, in turn. */
static void pin_worker(const struct cw_worker *w)
{
    const struct cw_cpu_list *cpus = w->cfg->worker_cpus;
    if (!cpus || !cpus->n)
        return;
    const unsigned *cpu = &cpus->cpu[w->id % cpus->n];
    int err = cw_cpu_pin_self(cpus, cpu);
    if (err)
        fprintf(stderr, "causeway: worker %u: cannot run on CPU %u only: %s\n", w->id, *cpu,
                strerror(err));
}

static void *run_worker(void *arg)
{
    struct cw_worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "cw-worker-%u", w->id);
    pthread_setname_np(pthread_self(), name); /* what top -H and perf show */
    pin_worker(w);
    cw_stats_bind_thread(w->id + 1); /* slot 0 is the control thread's */
    cw_io_update_time(&w->io); /* the loop was made on the control thread a while ago */
    cw_h1_pools_init(&w->h1_pools, &w->io, &w->blocks, w->gen->upstreams, w->cfg->timeouts.idle_ms);
    w->h1_pools.make_room = make_room;
    w->h1_pools.make_room_ctx = w;
    for (uint32_t i = 0; i < w->n_listeners; i++) {
        struct cw_worker_listener *wl = &w->listeners[i];
        wl->pause_timer.data = wl;
        wl->watch.on_event = on_listener_event;
        int rc = watch_listener(wl);
        if (rc != 0)
            pause_accepting(wl, rc);
    }
    cw_io_loop_run(&w->io);
    cw_access_log_flush_if(w);
    atomic_store(&w->finished, true);
    return NULL;
}

/* Per-cluster state of the worker's generation: choice cursors. */
static void alloc_cluster_state(struct cw_worker *w)
{
    uint32_t n = w->gen->snapshot->clusters.n;
    w->cursors = cw_xcalloc(n + 1, sizeof(*w->cursors));
    /* Workers start at different places so their first requests do not all hit one host. */
    for (uint32_t c = 0; c < n; c++)
        w->cursors[c] = (struct cw_pick_cursor){.round_robin = w->id, .spread = w->id * 50};
}

static void free_cluster_state(struct cw_worker *w)
{
    free(w->cursors);
}

static void on_reload(struct cw_worker *w);

/* The control thread asked for something: a stop, a new configuration, or both. */
static void on_wake(struct cw_io_loop *io)
{
    struct cw_worker *w = io->data;
    if (atomic_load(&w->next_gen))
        on_reload(w);
    if (atomic_load(&w->stop_requested) && !w->draining)
        on_stop(w);
}

/* A reloaded configuration: new connections and requests use it from now on. */
static void on_reload(struct cw_worker *w)
{
    struct cw_generation *next = atomic_exchange(&w->next_gen, NULL);
    if (!next)
        return;
    cw_h1_pools_deinit(&w->h1_pools); /* pooled connections belong to the old hosts */
    free_cluster_state(w);
    struct cw_generation *old = w->gen;
    w->gen = next;
    /* The old configuration's memory may be reused for new routes once it goes. */
    if (cw_stats()->requests)
        cw_request_table_forget_keys(cw_stats()->requests);
    alloc_cluster_state(w);
    cw_h1_pools_init(&w->h1_pools, &w->io, &w->blocks, next->upstreams, w->cfg->timeouts.idle_ms);
    w->h1_pools.make_room = make_room;
    w->h1_pools.make_room_ctx = w;
    if (w->draining)
        cw_h1_pools_drain(&w->h1_pools);
    for (uint32_t i = 0; i < w->n_listeners; i++)
        w->listeners[i].listener = cw_snapshot_listener_on(next->snapshot, w->listeners[i].port);
    cw_generation_unref(old);
}

void cw_proxy_publish(struct cw_proxy *p, struct cw_generation *g)
{
    for (unsigned i = 0; i < p->n_workers; i++) {
        struct cw_worker *w = &p->workers[i];
        struct cw_generation *unused = atomic_exchange(&w->next_gen, cw_generation_ref(g));
        if (unused) /* two reloads before the worker woke up */
            cw_generation_unref(unused);
        cw_io_wake(&w->io);
    }
}

static int init_worker(struct cw_proxy *p, struct cw_worker *w, unsigned id)
{
    w->gen = cw_generation_ref(p->cfg->generation);
    const struct cw_snapshot *snap = w->gen->snapshot;
    w->id = id;
    cw_request_ids_seed(&w->request_ids);
    w->proxy = p;
    w->cfg = p->cfg;
    w->conns.next = w->conns.prev = &w->conns;
    w->drain_timer.data = w;
    /* The cap is shared out: each worker takes its part of the connections. */
    uint64_t cap = p->cfg->max_connections;
    w->max_conns = cap ? (uint32_t)((cap + p->cfg->workers - 1) / p->cfg->workers) : 0;
    w->exchange_env = (struct cw_exchange_env){
        .io = &w->io, .pools = &w->h1_pools, .timeouts = &w->cfg->timeouts};
    alloc_cluster_state(w);
    struct cw_thread_stats *st = cw_stats_slot(id + 1);
    if (!st->requests && id + 1 < cw_stats_slots()) /* kept for a later scrape: never freed */
        st->requests = cw_request_table_new();
    if (cw_io_loop_init(&w->io) != 0) {
        perror("causeway: worker event loop");
        return -1;
    }
    w->io.data = w;
    w->io.on_wake = on_wake;
    w->io.after_batch = after_batch;
    w->n_listeners = snap->listeners.n;
    w->listeners = cw_xcalloc(w->n_listeners + 1, sizeof(*w->listeners));
    for (uint32_t i = 0; i < w->n_listeners; i++)
        w->listeners[i].watch.fd = -1; /* none open yet: a failure below closes only what is */
    for (uint32_t i = 0; i < w->n_listeners; i++) {
        char err[256];
        w->listeners[i].listener = snap->listeners.v[i];
        w->listeners[i].port = snap->listeners.v[i]->port;
        w->listeners[i].worker = w;
        w->listeners[i].accept = cw_session_accept_for(snap->listeners.v[i]);
        w->listeners[i].watch.fd = cw_listener_socket(p->cfg->bind, snap->listeners.v[i]->port,
                                                      snap->listeners.v[i]->http, err, sizeof(err));
        if (w->listeners[i].watch.fd < 0) {
            fprintf(stderr, "causeway: %s\n", err);
            return -1;
        }
    }
    return 0;
}

static void free_worker(struct cw_worker *w)
{
    if (w->h1_pools.by_cluster)
        cw_h1_pools_deinit(&w->h1_pools);
    cw_block_pool_free(&w->blocks);
    cw_io_loop_close(&w->io);
    free_cluster_state(w);
    struct cw_generation *next = atomic_exchange(&w->next_gen, NULL);
    if (next)
        cw_generation_unref(next);
    cw_generation_unref(w->gen);
    free(w->listeners);
    cw_log_buffer_free(&w->log);
}

/* Every listener's port must be free before the workers bind it (listener.h). */
static int check_ports_free(const struct cw_proxy_config *cfg)
{
    const struct cw_snapshot *snap = cfg->generation->snapshot;
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        char err[256];
        if (cw_listener_check_free(cfg->bind, snap->listeners.v[i]->port, err, sizeof(err)) != 0) {
            fprintf(stderr, "causeway: %s\n", err);
            return -1;
        }
    }
    return 0;
}

struct cw_proxy *cw_proxy_start(const struct cw_proxy_config *cfg)
{
    if (check_ports_free(cfg) != 0)
        return NULL;
    struct cw_proxy *p = cw_xcalloc(1, sizeof(*p));
    p->cfg = cfg;
    p->n_workers = cfg->workers;
    p->workers = cw_xcalloc(p->n_workers, sizeof(*p->workers));
    for (unsigned i = 0; i < p->n_workers; i++) {
        if (init_worker(p, &p->workers[i], i) != 0) {
            for (unsigned j = 0; j <= i; j++) {
                for (uint32_t l = 0; l < p->workers[j].n_listeners; l++)
                    if (p->workers[j].listeners[l].watch.fd >= 0)
                        close(p->workers[j].listeners[l].watch.fd);
                free_worker(&p->workers[j]);
            }
            free(p->workers);
            free(p);
            return NULL;
        }
    }
    for (unsigned i = 0; i < p->n_workers; i++)
        if (pthread_create(&p->workers[i].thread, NULL, run_worker, &p->workers[i]) != 0) {
            perror("causeway: worker thread");
            abort();
        }
    return p;
}

void cw_proxy_begin_stop(struct cw_proxy *p)
{
    for (unsigned i = 0; i < p->n_workers; i++) {
        if (atomic_exchange(&p->workers[i].stop_requested, true))
            continue;
        cw_io_wake(&p->workers[i].io);
    }
}

bool cw_proxy_stopped(struct cw_proxy *p)
{
    for (unsigned i = 0; i < p->n_workers; i++)
        if (!atomic_load(&p->workers[i].finished))
            return false;
    return true;
}

void cw_proxy_stop(struct cw_proxy *p)
{
    cw_proxy_begin_stop(p);
    for (unsigned i = 0; i < p->n_workers; i++) {
        pthread_join(p->workers[i].thread, NULL);
        free_worker(&p->workers[i]);
    }
    free(p->workers);
    free(p);
}
