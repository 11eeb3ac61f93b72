/*
 * What to do with a parsed request head: answer it locally (which status, which reason) or
 * forward it (which route and cluster), and the head to send upstream. Pure over the snapshot
 * and the head: no sockets, no connection state. Worker threads.
 */
#ifndef CW_PROXY_HTTP_DECIDE_H
#define CW_PROXY_HTTP_DECIDE_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/head.h"
#include "proxy/request_id.h"
#include "snapshot/snapshot_types.h"

struct cw_worker;

struct cw_http_decision {
    /* A local answer when status is set: its status, the reason (a text line when <text>, else
     * the body as configured) and extra header lines ("Location: ...\r\n"). */
    int status;
    const char *body;
    bool text;
    bool close; /* the request's framing cannot be trusted: the connection must close */
    /* Forwarding otherwise: the route (NULL for an exposed service) and the cluster. */
    const struct cw_route *route;
    const struct cw_cluster *cluster;
    char request_id[CW_REQUEST_ID_MAX + 1]; /* the client's X-Request-Id, or a new one */
    char extra[2100]; /* last: only its first byte is cleared for each request */
};

/*
 * Decides for the request parsed by <p> into <head>, arrived on listener <l>. The head sent
 * upstream (rewrites applied, X-Forwarded-* added for <client_ip>) is written into <out> when
 * forwarding. <max_body> is the request body limit (0: none). <w> picks among weighted
 * clusters; <ids> makes the request's id when it came without one.
 */
void cw_http_decide(struct cw_http_decision *d, const llhttp_t *p, const struct cw_http_head *head,
                    const struct cw_snapshot_listener *l, uint64_t max_body,
                    const char *client_ip, struct cw_worker *w, struct cw_request_ids *ids,
                    struct cw_out *out);

/* The request asks to switch protocols (Connection: upgrade and an Upgrade header; not a
 * CONNECT): it is forwarded with both, and a 101 turns the connection into a tunnel. */
bool cw_http_wants_upgrade(const llhttp_t *p);

#endif
