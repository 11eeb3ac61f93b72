/*
 * The admin API (`--admin ADDR:PORT`): a small HTTP/1.1 server on the control thread's libuv
 * loop that shows the gateway's state — readiness, Prometheus metrics, endpoints and their
 * health, the served configuration, recent events — and never touches a worker: it reads
 * what the control thread owns and the per-thread counters (util/stats.h).
 *
 * Endpoints: / (HTML), /ready, /healthz, /metrics, /clusters, /config_dump, /status, /events.
 * GET and HEAD only; one request per connection (Connection: close).
 */
#ifndef CW_ADMIN_H
#define CW_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "proxy/proxy.h"
#include "translate/translate.h"

enum cw_reload_trigger { CW_RELOAD_SIGNAL, CW_RELOAD_FILES, CW_RELOAD_TRIGGERS };

/* What the admin API shows, kept up to date by `causeway run` on the control thread. */
struct cw_dns_resolver;

struct cw_admin_source {
    struct cw_generation *gen;       /* being served */
    const struct cw_config *cfg;     /* the manifests <gen> was made from */
    const struct cw_translation *tr; /* and their statuses */
    bool serving;                    /* the first configuration serves: ready */
    bool draining;                   /* shutting down: not ready */
    uint64_t generation;             /* 1 for the first configuration, +1 per reload applied */
    uint64_t reloads[CW_RELOAD_TRIGGERS];        /* applied */
    uint64_t reload_failures[CW_RELOAD_TRIGGERS]; /* rejected */
    struct cw_event_log *events;
    const struct cw_dns_resolver *resolver; /* endpoint names; NULL: none */
};

struct cw_admin;

/*
 * Listens on <addr> ("127.0.0.1:9901", "[::1]:9901") on <loop>. NULL with the reason in
 * <err> when the address is malformed or cannot be bound (in use, not local). <src> must
 * outlive the server. Control thread.
 */
struct cw_admin *cw_admin_start(uv_loop_t *loop, const char *addr, const struct cw_admin_source *src,
                                char *err, size_t err_size);

/* Closes the listener and every admin connection; the loop must run once more to finish. */
void cw_admin_stop(struct cw_admin *a);

#endif
