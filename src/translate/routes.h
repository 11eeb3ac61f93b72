/* Route compilation shared by route_tables.c (private to translate/). */
#ifndef CW_TRANSLATE_ROUTES_H
#define CW_TRANSLATE_ROUTES_H

#include <stdarg.h>

#include "translate/translate_int.h"

/* The compiled routes of one root RouteTable, delegated children inlined. */
struct rt_ctx {
    struct tr *t;
    const struct cw_route_table *table; /* the table whose routes are being compiled */
    CW_GROWABLE(struct cw_route) http;
    CW_GROWABLE(struct cw_route) tcp;
    CW_GROWABLE(struct cw_route) tls; /* SNI pass-through */
    bool failed; /* some route could not be served */
    /* TCP listeners the table's routes were attached to: a port merged from two gateways the
     * table names gets its routes once (HTTP: once per virtual host) */
    CW_GROWABLE(const struct cw_snapshot_listener *) attached;
};

/* Appends the HTTP routes of <rt> (children of <parent> when delegated) to c->http. */
void tr_compile_http_routes(struct rt_ctx *c, const struct cw_route_table *rt,
                            const struct cw_route *parent, uint32_t depth);

/* Appends the TCP routes of <rt> to c->tcp. */
void tr_compile_tcp_routes(struct rt_ctx *c, const struct cw_route_table *rt);

#endif
