/*
 * Runtime upstream state that outlives a request: one host record per (cluster, address, port)
 * — a hostname endpoint contributes one host per resolved address, each keeping the endpoint's
 * locality and priority — and the choice of a host for a new request or connection.
 *
 * Built by the control thread before workers start; workers only read the host arrays. Per-worker
 * choice state (round-robin cursors) lives in each worker, so choosing never writes shared memory.
 */
#ifndef CW_UPSTREAM_H
#define CW_UPSTREAM_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "snapshot/snapshot_types.h"
#include "util/diag.h"

struct cw_host {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[64]; /* "127.0.0.41:18081" / "[::1]:443", for logs */
    const struct cw_endpoint *endpoint;
};

struct cw_upstream_cluster {
    const struct cw_cluster *cluster;
    struct cw_host *hosts;
    uint32_t n_hosts;
};

struct cw_upstreams {
    struct cw_upstream_cluster *clusters; /* indexed by cw_cluster.index */
    uint32_t n;
};

/*
 * Builds the host records of every cluster in <snap>, resolving hostname endpoints (blocking
 * getaddrinfo; the dns module will replace this with TTL-aware c-ares lookups). An endpoint that
 * does not resolve is reported in <diags> as a warning and contributes no host.
 * Returns 0; free with cw_upstreams_free.
 */
int cw_upstreams_build(struct cw_upstreams *u, const struct cw_snapshot *snap,
                       struct cw_diags *diags);

void cw_upstreams_free(struct cw_upstreams *u);

/* At most this many connection attempts are made for one request or connection. */
#define CW_MAX_ATTEMPTS 4

/*
 * Picks the next host of <uc> by round robin, skipping the <n_tried> hosts in <tried> (indices
 * into uc->hosts). <cursor> is the calling worker's own round-robin position for this cluster.
 * Returns the host index, or -1 when no host is left. Worker threads; no shared writes.
 */
int cw_lb_pick(const struct cw_upstream_cluster *uc, uint32_t *cursor, const uint32_t *tried,
               uint32_t n_tried);

#endif
