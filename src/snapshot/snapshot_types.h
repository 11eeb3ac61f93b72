/*
 * The translated world a gateway serves: listeners, virtual hosts, ordered routes with compiled
 * matchers, and clusters (one per ExternalService port) with endpoints and their priorities.
 * Built once by translation and never modified afterwards; workers only read it.
 */
#ifndef CW_SNAPSHOT_TYPES_H
#define CW_SNAPSHOT_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config_types.h"
#include "util/arena.h"
#include "util/strmap.h"

struct cw_regex; /* compiled RE2 pattern (util/regex.h), owned by the snapshot */

struct cw_endpoint {
    const char *address; /* IP literal, or a hostname to resolve (is_hostname) */
    bool is_hostname;
    uint16_t port;
    struct cw_locality locality;
    uint32_t priority;  /* 0 = preferred; dense 0..n_priorities-1 (§7.2) */
    const char *source; /* "ns/name" of the ExternalEndpoint, or NULL for the service itself */
    const cw_labels_t *labels; /* the ExternalEndpoint's labels (failover priorityLabels) */
    /* Under a distribute mapping (cw_cluster.distribute): the weight of the endpoint's locality
     * (Envoy's load_balancing_weight; shared by the endpoints of that locality), 0 when the
     * mapping sends it nothing. */
    uint32_t locality_weight;
};

struct cw_tls_origin;
struct cw_tls_termination;

struct cw_cluster {
    const char *name; /* "ns/name:port" */
    uint32_t index;   /* position in cw_snapshot.clusters, for per-cluster runtime tables */
    const struct cw_external_service *service;
    const struct cw_es_port *port;
    const char *host; /* the service's single non-wildcard host (autoHostRewrite), or NULL */
    CW_LIST(struct cw_endpoint) endpoints;
    uint32_t n_priorities;
    /* Priorities apply only when outlier detection does (§7.1). */
    const struct cw_outlier_policy *outlier;
    const struct cw_failover_policy *failover;
    bool locality_priorities;
    /* The weighted locality mapping (Istio distribute, §6) of the failover policy that applies
     * from this gateway's locality, or NULL. A policy with weighted mappings never sets
     * priorities, whether one applies here or not. */
    const struct cw_locality_mapping *distribute;
    const char *unroutable; /* why traffic to this cluster gets 503, or NULL */
    struct cw_tls_origin *tls; /* TLS to the endpoints (tls/origin.h), NULL: plaintext */
};

struct cw_weighted_cluster {
    struct cw_cluster *cluster;
    uint32_t weight; /* the weights of one route sum to 100 */
};

struct cw_route_regexes {
    struct cw_regex *uri;
    struct cw_regex **headers; /* per header matcher, NULL when not a regex */
    struct cw_regex **query;
};

enum cw_route_kind {
    CW_ROUTE_FORWARD = 0,
    CW_ROUTE_REDIRECT,
    CW_ROUTE_DIRECT_RESPONSE,
    CW_ROUTE_FAILED, /* misconfigured under ROUTE_REPLACEMENT: 500 with <failure> */
};

struct cw_route {
    const char *name;              /* the route's name, or "http[<index>]" / "tcp[<index>]" */
    const struct cw_route *parent; /* delegating route whose matchers must match too, or NULL */
    const struct cw_route_table *table;
    const struct cw_http_route *http;         /* NULL for TCP routes */
    const struct cw_tcp_route *tcp;           /* NULL for HTTP routes */
    const struct cw_tls_route *tls;           /* SNI pass-through routes only */
    struct cw_route_regexes *matcher_regexes; /* one per http->matchers entry */
    enum cw_route_kind kind;
    CW_LIST(struct cw_weighted_cluster) clusters;
    const struct cw_forward_to *forward;
    struct cw_regex *rewrite_regex;
    const char *failure; /* CW_ROUTE_FAILED: the reason sent in the 500 body */
};

/* The routes served for one domain on one listener; tables sharing the domain are merged in
 * precedence order (oldest table's routes first). */
struct cw_virtual_host {
    const char *domain;                 /* exact name, "*.suffix" wildcard, or "*" */
    const struct cw_route_table *table; /* the first (oldest) table */
    CW_GROWABLE(struct cw_route) routes;
};

struct cw_exposed_service {
    const char *host;
    struct cw_cluster *cluster;
};

struct cw_snapshot_listener {
    uint16_t port;
    bool http;
    struct cw_tls_termination *tls; /* certificates it terminates TLS with, NULL: plain */
    bool passthrough;               /* tls PASSTHROUGH: routed by SNI, never decrypted */
    bool https_redirect;            /* every request gets a 301 to https (§4.2) */
    const struct cw_virtual_gateway *gateway;
    const struct cw_listener *source;
    CW_GROWABLE(struct cw_virtual_host *) virtual_hosts;
    CW_GROWABLE(struct cw_route) tcp_routes;
    CW_GROWABLE(struct cw_route) tls_routes; /* pass-through listeners: chosen by SNI */
    CW_GROWABLE(struct cw_exposed_service) exposed;
    /* Built once when translation ends (cw_snapshot_index), keyed by lowercased name, so that a
     * request's Host is one hash lookup however many names the listener serves. */
    struct cw_strmap exact_hosts;   /* exact virtual host domains → struct cw_virtual_host * */
    struct cw_strmap exposed_hosts; /* exposed service names → struct cw_cluster * (first wins) */
    CW_GROWABLE(struct cw_virtual_host *) wildcard_hosts; /* "*.suffix" and "*", in order */
};

struct cw_snapshot {
    struct cw_locality locality;
    CW_GROWABLE(struct cw_snapshot_listener *) listeners;
    CW_LIST(struct cw_cluster *) clusters;
    CW_GROWABLE(struct cw_regex *) regexes; /* every compiled pattern, freed with the snapshot */
};

#endif
