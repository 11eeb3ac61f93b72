/*
 * State shared by the translation passes (private to translate/). One struct tr lives for one
 * cw_translate call; the passes run in the order of translate.c and each reads what the earlier
 * ones produced.
 */
#ifndef CW_TRANSLATE_INT_H
#define CW_TRANSLATE_INT_H

#include <stdbool.h>

#include "translate/translate.h"
#include "util/strmap.h"
#include "util/vec.h"

struct tr_workspace {
    uint32_t index;
    const char *name;
    const struct cw_workspace *src; /* NULL for the implicit workspace */
    cw_labels_t labels;
    const struct cw_workspace_settings *settings;
    uint32_t n_namespaces;
    uint32_t n_imported; /* workspaces it imports from (linked) */
};

/* Per-object facts the passes share, indexed by cw_object.id. */
struct tr_object {
    struct tr_workspace *ws; /* owning workspace; NULL when none */
    bool usable;             /* decoded, owned, not INVALID: may be referenced */
    /* status being built: three message lists joined at the end, most severe first */
    char *invalid_msg, *warning_msg, *note_msg;
    /* ExternalService: ports.n × hosts_per_port clusters, port-major (NULL if none). A service
     * with several hosts and no endpoints has one cluster per host and port (§1.4 rule 2). */
    struct cw_cluster **clusters;
    uint32_t hosts_per_port;
    uint32_t n_selected_endpoints;
    uint32_t n_policies[2]; /* ExternalService: outlier, failover policies applied */
    uint32_t n_gateways;    /* ExternalService: VirtualGateways serving it */
    uint32_t counter;       /* kind-specific: policies' selected ports, RT allowed VGs, ... */
    uint32_t counter2;      /* VG: route tables bound */
    struct cw_snapshot_listener **listeners; /* VG: per spec listener, NULL if not served here */
    bool selects_gateway;                    /* VG: implemented by this gateway instance */
    const char *ref;                         /* cached "ns/name" (tr_ref) */
};

struct tr {
    struct cw_config *cfg;
    const struct cw_gateway_identity *gw;
    struct cw_translation *out;
    struct cw_arena *arena;  /* = &out->arena: what the snapshot and statuses point to */
    struct cw_arena scratch; /* lookup keys and indexes, freed when translation ends */
    struct cw_diags *diags;
    struct tr_object *objs;
    CW_VEC(struct tr_workspace *) workspaces;
    struct tr_workspace *gateway_ws; /* workspace of the gateway's own namespace, if any */
    bool *links; /* links[a * n + b]: a exports something to b and b imports from a */
    struct cw_strmap es_by_name;   /* "ns/name" → struct cw_external_service */
    struct cw_strmap vg_by_name;   /* "ns/name" → struct cw_virtual_gateway */
    struct cw_strmap served_pairs; /* "es id|vg id" already counted in numSelectedVirtualGateways */
    struct cw_object **sorted[CW_KIND_COUNT]; /* tr_by_precedence cache */
    CW_VEC(struct cw_cluster *) clusters;
    struct cw_strmap tls_contexts; /* origination contexts by mode and files (tls_origination.c) */
};

/* ---- passes, in order ---- */
void tr_workspaces(struct tr *t);        /* workspaces.c */
void tr_visibility_init(struct tr *t);   /* visibility.c */
void tr_external_services(struct tr *t); /* external_services.c */
void tr_endpoints(struct tr *t);         /* endpoints.c */
void tr_policies(struct tr *t);          /* policies.c */
void tr_priorities(struct tr *t);        /* priority.c */
void tr_virtual_gateways(struct tr *t);  /* virtual_gateways.c */
void tr_route_tables(struct tr *t);      /* route_tables.c */

/* ---- TLS origination (tls_origination.c, spec §1.3) ---- */
/* Gives the clusters of <es> (ports.n × <per_port>, port-major) whose port asks for TLS their
 * origination; false when the service is INVALID for it (then no cluster keeps any). */
bool tr_tls_origination(struct tr *t, const struct cw_external_service *es,
                        struct cw_cluster **clusters, uint32_t per_port);
void tr_tls_contexts_free(struct tr *t);
/* Listener entry <index> of <vg> asks for TLS: its certificate joins <sl>'s (or <sl> becomes an
 * SNI pass-through listener); false (said in the status) when the entry cannot be served. */
bool tr_listener_tls(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
                     const struct cw_listener *l, struct cw_snapshot_listener *sl);

/* ---- status building (status.c) ---- */
void tr_invalid(struct tr *t, const struct cw_object *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* INVALID in the status, yet still served: a RouteTable whose bad route is replaced by a 500
 * (ROUTE_REPLACEMENT) keeps serving its other routes. */
void tr_invalid_served(struct tr *t, const struct cw_object *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_warn(struct tr *t, const struct cw_object *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_note(struct tr *t, const struct cw_object *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_finish_statuses(struct tr *t);

static inline struct tr_object *tr_obj(struct tr *t, const struct cw_object *o)
{
    return &t->objs[o->id];
}

/* Counts VirtualGateway <vg> once in <es>'s numSelectedVirtualGateways. */
void tr_count_gateway(struct tr *t, const struct cw_object *es, const struct cw_object *vg);

/*
 * "<n>|<a><sep><b>" in the scratch arena: the composite hash keys of the passes, built with
 * memcpy because tens of thousands are made per translation; gone when translation ends.
 * <b> may be NULL.
 */
const char *tr_key(struct tr *t, uint32_t n, const char *a, char sep, const char *b);

/* "ns/name" of an object, in the translation arena (computed once per object). */
const char *tr_ref(struct tr *t, const struct cw_object *o);

/* Objects of one kind sorted by precedence: older creationTimestamp, then namespace/name. */
struct cw_object **tr_by_precedence(struct tr *t, enum cw_kind kind, uint32_t *n);

/* ---- matching helpers (visibility.c) ---- */
bool tr_labels_match(const cw_labels_t *want, const cw_labels_t *have);
const char *tr_label_value(const cw_labels_t *labels, const char *key);
/* True when <sel> (ObjectSelector) selects <o>, an object owned by workspace <ws>. */
bool tr_selector_matches(struct tr *t, const struct cw_object_selector *sel,
                         const struct cw_object *o);
/* True when <o> (ExternalService or RouteTable) owned elsewhere may be used in workspace <ws>. */
bool tr_visible_in(struct tr *t, const struct cw_object *o, const struct tr_workspace *ws);
/*
 * Splits a listener host filter "[namespace/]dnsName" and checks its namespace part against
 * <obj_ns> ("*" any, "." the VirtualGateway's namespace <vg_ns>); <*dns> receives the name part.
 */
bool tr_host_filter_ns(const char *filter, const char *vg_ns, const char *obj_ns, const char **dns);
bool tr_linked(struct tr *t, const struct tr_workspace *from, const struct tr_workspace *to);

#endif
