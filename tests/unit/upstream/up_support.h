/*
 * Helpers shared by the host-choice tests: translate data/db (port 5432, endpoints labelled
 * app=db) with the endpoints and policies a test gives, build its hosts as `causeway run` does,
 * start the ejection machinery on a private loop, pick and report as a worker would.
 * Everything here is static: each test file is its own program and uses only some of it.
 */
#ifndef CW_UP_SUPPORT_H
#define CW_UP_SUPPORT_H

#include <uv.h>

#include "translate/db_support.h"
#include "upstream/outlier.h"

struct world {
    struct trt x;
    struct cw_upstreams ups;
    struct cw_upstream_cluster *db;
    uv_loop_t loop;
    char *events;
    size_t events_len;
    FILE *events_file;
};

static inline void world_start(struct world *w, const char *endpoints_and_policies)
{
    db_run(&w->x, endpoints_and_policies, NULL);
    struct cw_diags d;
    cw_diags_init(&d);
    cw_upstreams_build(&w->ups, w->x.tr.snapshot, NULL, NULL, &d);
    cw_diags_deinit(&d);
    w->db = NULL;
    for (uint32_t i = 0; i < w->ups.n; i++)
        if (!strcmp(w->ups.clusters[i].cluster->name, "data/db:5432"))
            w->db = &w->ups.clusters[i];
    assert_non_null(w->db);
    uv_loop_init(&w->loop);
    w->events_file = open_memstream(&w->events, &w->events_len);
    cw_ejection_start(&w->ups, &w->loop, w->events_file, NULL);
}

static inline void world_stop(struct world *w)
{
    cw_ejection_stop(&w->ups);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    fclose(w->events_file);
    free(w->events);
    cw_upstreams_free(&w->ups);
    trt_free(&w->x);
}

/* The index of the host at <text> ("10.0.0.1:5432"). */
static inline uint32_t host(const struct world *w, const char *text)
{
    for (uint32_t i = 0; i < w->db->n_hosts; i++)
        if (!strcmp(w->db->hosts[i].text, text))
            return i;
    fail_msg("no host %s", text);
    return 0;
}

/* Picks <n> times and counts where each pick went (by host index). */
static inline void pick_many(struct world *w, uint32_t n, uint32_t *count)
{
    struct cw_pick_cursor cursor = {0};
    memset(count, 0, sizeof(uint32_t) * w->db->n_hosts);
    for (uint32_t i = 0; i < n; i++) {
        int h = cw_lb_pick(w->db, &cursor, NULL, 0);
        assert_true(h >= 0);
        count[h]++;
    }
}

/* Reports <n> failures on <h> as a worker would, then lets the control loop act. */
static inline void report_failures(struct world *w, uint32_t h, uint32_t n, int status)
{
    for (uint32_t i = 0; i < n; i++)
        cw_host_report(&w->ups, w->db, h, status, status == 503 ? "connect refused" : NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
}

static inline bool ejected(const struct world *w, uint32_t h)
{
    return atomic_load(&w->db->hosts[h].health->ejected);
}

#endif
