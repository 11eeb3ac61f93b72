/*
 * Request routing (spec §3.2): listener, then Host against the virtual hosts (exact beats
 * wildcard, the longest wildcard suffix wins, "*" last), then routes in order; first match wins.
 * A Host naming an exposed ExternalService reaches it directly. Pure functions over the
 * immutable snapshot: any worker thread.
 */
#ifndef CW_PROXY_ROUTER_H
#define CW_PROXY_ROUTER_H

#include "http/head.h"
#include "snapshot/snapshot_types.h"

struct cw_route_request {
    const char *method;   /* "GET" */
    struct cw_span path;  /* without the query */
    struct cw_span query; /* after '?', may be empty */
    struct cw_span host;  /* without ":port" */
    const struct cw_http_head *head;
    uint16_t port;
};

/* Splits a request target into path and query. */
void cw_router_split_target(struct cw_span target, struct cw_span *path, struct cw_span *query);

/* The virtual host for <host> on <l>, or NULL. */
const struct cw_virtual_host *cw_router_vhost(const struct cw_snapshot_listener *l,
                                              struct cw_span host);

/*
 * The first route of <vh> matching <req>, or NULL. <*matcher> receives the index of the matcher
 * that matched (-1 when the route has none), which path rewriting needs.
 */
const struct cw_route *cw_router_match(const struct cw_virtual_host *vh,
                                       const struct cw_route_request *req, int *matcher);

/* The exposed ExternalService named by <host> on <l>, or NULL. */
struct cw_cluster *cw_router_exposed(const struct cw_snapshot_listener *l, struct cw_span host);

#endif
