/*
 * Helpers shared by the translation tests: load inline YAML, translate it for a gateway, and
 * look up statuses and snapshot parts by the names a user writes ("ExternalService",
 * "data/ledger-a", "data/inventory:80"). Assertions print every status when they fail, so a
 * broken test says what translation decided instead of just "false".
 *
 * Everything here is static inline: each test file is its own program and uses only some of it.
 */
#ifndef CW_TR_SUPPORT_H
#define CW_TR_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "snapshot/snapshot_types.h"
#include "translate/translate.h"

/* YAML document headers, so manifests in tests read like the spec's examples. */
#define DOC       "---\n"
#define NET       "apiVersion: networking.gloo.solo.io/v2\n"
#define ADMIN     "apiVersion: admin.gloo.solo.io/v2\n"
#define RESILIENT "apiVersion: resilience.policy.gloo.solo.io/v2\n"

/* Workspace "ops" of spec §12 set A: namespaces gw (the gateway's) and data. */
#define WS_OPS                                                                                     \
    ADMIN "kind: Workspace\n"                                                                      \
          "metadata: {name: ops, namespace: gloo-mesh}\n"                                          \
          "spec:\n"                                                                                \
          "  workloadClusters:\n"                                                                  \
          "  - name: cluster1\n"                                                                   \
          "    namespaces: [{name: gw}, {name: data}]\n" DOC ADMIN "kind: WorkspaceSettings\n"     \
          "metadata: {name: ops, namespace: gw}\n"                                                 \
          "spec: {}\n"

/* VirtualGateway "edge" of set A: HTTP 8080 for *.example.com, TCP 5432 for orders-db.internal. */
#define VG_EDGE                                                                                    \
    NET "kind: VirtualGateway\n"                                                                   \
        "metadata: {name: edge, namespace: gw}\n"                                                  \
        "spec:\n"                                                                                  \
        "  workloads:\n"                                                                           \
        "  - selector: {labels: {app: c-gateway}}\n"                                               \
        "  listeners:\n"                                                                           \
        "  - port: {number: 8080}\n"                                                               \
        "    http: {}\n"                                                                           \
        "    allowedRouteTables: [{host: '*.example.com'}]\n"                                      \
        "  - port: {number: 5432}\n"                                                               \
        "    tcp: {}\n"                                                                            \
        "    allowedRouteTables: [{host: 'orders-db.internal'}]\n"

/* A plain HTTP VirtualGateway gw/web on 8080 that admits every RouteTable. */
#define VG_WEB                                                                                     \
    NET "kind: VirtualGateway\n"                                                                   \
        "metadata: {name: web, namespace: gw}\n"                                                   \
        "spec:\n"                                                                                  \
        "  listeners:\n"                                                                           \
        "  - port: {number: 8080}\n"                                                               \
        "    http: {}\n"

/* One translation and everything it borrows from. */
struct trt {
    struct cwt_load load;
    struct cw_diags diags; /* notes from cw_translate (implicit workspace, ...) */
    struct cw_translation tr;
    struct cw_gateway_identity gw;
};

/* The gateway of spec §12: namespace gw, labels app=c-gateway, locality us-east-1/us-east-1a. */
static inline struct cw_gateway_identity trt_gateway(void)
{
    static struct cw_label labels[] = {{"app", "c-gateway"}};
    struct cw_gateway_identity gw = {
        .name = "c-gateway",
        .ns = "gw",
        .cluster = NULL,
        .labels = {labels, 1},
        .locality = {.region = "us-east-1", .zone = "us-east-1a", .subzone = ""},
    };
    return gw;
}

/* Loads <yaml> (which must load without errors) and translates it for <gw>. */
static inline void trt_run_gw(struct trt *x, const char *yaml, const struct cw_gateway_identity *gw)
{
    memset(x, 0, sizeof(*x));
    x->gw = *gw;
    cwt_load_yaml(&x->load, "test.yaml", yaml);
    assert_no_errors(&x->load);
    cw_diags_init(&x->diags);
    assert_int_equal(cw_translate(&x->load.cfg, &x->gw, &x->tr, &x->diags), 0);
}

/* Loads and translates <yaml> for the gateway of spec §12. */
static inline void trt_run(struct trt *x, const char *yaml)
{
    struct cw_gateway_identity gw = trt_gateway();
    trt_run_gw(x, yaml, &gw);
}

static inline void trt_free(struct trt *x)
{
    cw_translation_deinit(&x->tr);
    cw_diags_deinit(&x->diags);
    cwt_load_free(&x->load);
}

/* The object of kind <kind> ("ExternalService") named <ref> ("ns/name"), or NULL. */
static inline const struct cw_object *trt_find(const struct trt *x, const char *kind,
                                               const char *ref)
{
    for (uint32_t i = 0; i < x->load.cfg.objects.n; i++) {
        const struct cw_object *o = x->load.cfg.objects.v[i];
        char buf[512];
        snprintf(buf, sizeof(buf), "%s/%s", o->meta.ns, o->meta.name);
        if (!strcmp(cw_kind_name(o->kind), kind) && !strcmp(buf, ref))
            return o;
    }
    return NULL;
}

/* Every status, one line each: "Kind ns/name APPROVAL [ws] message". Caller frees. */
static inline char *trt_dump(const struct trt *x)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (uint32_t i = 0; i < x->load.cfg.objects.n; i++) {
        const struct cw_object *o = x->load.cfg.objects.v[i];
        const struct cw_status *st = &x->tr.statuses[o->id];
        fprintf(f, "  %s %s/%s %s [%s] %s\n", cw_kind_name(o->kind), o->meta.ns, o->meta.name,
                cw_approval_name(st->approval), st->workspace ? st->workspace : "-",
                st->message ? st->message : "");
    }
    fclose(f);
    return buf;
}

/* The status of an object that must exist. */
static inline const struct cw_status *trt_status(const struct trt *x, const char *kind,
                                                 const char *ref)
{
    const struct cw_object *o = trt_find(x, kind, ref);
    if (!o)
        fail_msg("no %s %s was loaded", kind, ref);
    return &x->tr.statuses[o->id];
}

/*
 * NULL when <kind> <ref> has <approval> and its message contains <needle> (starts with it when
 * <prefix>; NULL needle ⇒ message not checked); otherwise a malloc'd explanation.
 */
static inline char *trt_check(const struct trt *x, const char *kind, const char *ref,
                              enum cw_approval approval, const char *needle, bool prefix)
{
    const struct cw_object *o = trt_find(x, kind, ref);
    char *dump = trt_dump(x), *why = NULL;
    if (!o) {
        if (asprintf(&why, "no %s %s was loaded; statuses:\n%s", kind, ref, dump) < 0)
            why = NULL;
        free(dump);
        return why ? why : strdup("asprintf failed");
    }
    const struct cw_status *st = &x->tr.statuses[o->id];
    const char *msg = st->message ? st->message : "";
    bool ok = st->approval == approval;
    if (ok && needle)
        ok = prefix ? !strncmp(msg, needle, strlen(needle)) : strstr(msg, needle) != NULL;
    if (!ok &&
        asprintf(&why,
                 "%s %s: expected %s with message %s \"%s\"\n"
                 "                     got %s with message \"%s\"\nstatuses:\n%s",
                 kind, ref, cw_approval_name(approval), prefix ? "starting with" : "containing",
                 needle ? needle : "(any)", cw_approval_name(st->approval), msg, dump) < 0)
        why = strdup("asprintf failed");
    free(dump);
    return why;
}

/* Asserts approval and that the message contains <needle> (NULL: any message). */
#define assert_status(x, kind, ref, approval, needle)                                              \
    do {                                                                                           \
        char *why_ = trt_check((x), (kind), (ref), (approval), (needle), false);                   \
        if (why_)                                                                                  \
            fail_msg("%s", why_);                                                                  \
    } while (0)

/* Asserts approval and that the message starts with <prefix> (spec §9 stable prefixes). */
#define assert_status_prefix(x, kind, ref, approval, prefix)                                       \
    do {                                                                                           \
        char *why_ = trt_check((x), (kind), (ref), (approval), (prefix), true);                    \
        if (why_)                                                                                  \
            fail_msg("%s", why_);                                                                  \
    } while (0)

#define assert_accepted(x, kind, ref) assert_status((x), (kind), (ref), CW_APPROVAL_ACCEPTED, NULL)

/* Asserts that the message of <kind> <ref> does not contain <needle>. */
#define assert_status_lacks(x, kind, ref, needle)                                                  \
    do {                                                                                           \
        const struct cw_status *st_ = trt_status((x), (kind), (ref));                              \
        if (st_->message && strstr(st_->message, (needle)))                                        \
            fail_msg("%s %s: did not expect \"%s\" in \"%s\"", (kind), (ref), (needle),            \
                     st_->message);                                                                \
    } while (0)

/* Asserts that every loaded object is ACCEPTED. */
#define assert_all_accepted(x)                                                                     \
    do {                                                                                           \
        if ((x)->tr.invalid || (x)->tr.warnings) {                                                 \
            char *dump_ = trt_dump(x);                                                             \
            fail_msg("expected every object ACCEPTED:\n%s", dump_);                                \
        }                                                                                          \
    } while (0)

/* A status counter by name ("numSelectedExternalEndpoints"); -1 when absent. */
static inline int64_t trt_counter(const struct trt *x, const char *kind, const char *ref,
                                  const char *name)
{
    const struct cw_status *st = trt_status(x, kind, ref);
    for (uint32_t i = 0; i < st->n_counters; i++)
        if (!strcmp(st->counters[i].name, name))
            return (int64_t)st->counters[i].value;
    return -1;
}

/* ---- snapshot lookups ---- */

/* The cluster named "ns/name:port", or NULL when the snapshot has none. */
static inline const struct cw_cluster *trt_cluster(const struct trt *x, const char *name)
{
    const struct cw_snapshot *s = x->tr.snapshot;
    for (uint32_t i = 0; i < s->clusters.n; i++)
        if (!strcmp(s->clusters.v[i]->name, name))
            return s->clusters.v[i];
    return NULL;
}

/* Like trt_cluster, but the cluster must exist. */
static inline const struct cw_cluster *trt_need_cluster(const struct trt *x, const char *name)
{
    const struct cw_cluster *c = trt_cluster(x, name);
    if (!c) {
        char *dump = trt_dump(x);
        fail_msg("no cluster %s in the snapshot; statuses:\n%s", name, dump);
    }
    return c;
}

/* The endpoint of <c> with <address>, or NULL. */
static inline const struct cw_endpoint *trt_endpoint(const struct cw_cluster *c,
                                                     const char *address)
{
    for (uint32_t i = 0; i < c->endpoints.n; i++)
        if (!strcmp(c->endpoints.v[i].address, address))
            return &c->endpoints.v[i];
    return NULL;
}

/* Like trt_endpoint, but the endpoint must exist. */
static inline const struct cw_endpoint *trt_need_endpoint(const struct cw_cluster *c,
                                                          const char *address)
{
    const struct cw_endpoint *e = trt_endpoint(c, address);
    if (!e)
        fail_msg("cluster %s has no endpoint %s (%u endpoints)", c->name, address, c->endpoints.n);
    return e;
}

/* The snapshot listener on <port>, or NULL. */
static inline const struct cw_snapshot_listener *trt_listener(const struct trt *x, uint16_t port)
{
    const struct cw_snapshot *s = x->tr.snapshot;
    for (uint32_t i = 0; i < s->listeners.n; i++)
        if (s->listeners.v[i]->port == port)
            return s->listeners.v[i];
    return NULL;
}

static inline const struct cw_snapshot_listener *trt_need_listener(const struct trt *x,
                                                                   uint16_t port)
{
    const struct cw_snapshot_listener *l = trt_listener(x, port);
    if (!l) {
        char *dump = trt_dump(x);
        fail_msg("no listener on port %u; statuses:\n%s", port, dump);
    }
    return l;
}

/* The virtual host for <domain> on listener <port>, or NULL (also when there is no listener). */
static inline const struct cw_virtual_host *trt_vhost(const struct trt *x, uint16_t port,
                                                      const char *domain)
{
    const struct cw_snapshot_listener *l = trt_listener(x, port);
    for (uint32_t i = 0; l && i < l->virtual_hosts.n; i++)
        if (!strcmp(l->virtual_hosts.v[i]->domain, domain))
            return l->virtual_hosts.v[i];
    return NULL;
}

static inline const struct cw_virtual_host *trt_need_vhost(const struct trt *x, uint16_t port,
                                                           const char *domain)
{
    const struct cw_virtual_host *vh = trt_vhost(x, port, domain);
    if (!vh) {
        char *dump = trt_dump(x);
        fail_msg("no virtual host %s on listener %u; statuses:\n%s", domain, port, dump);
    }
    return vh;
}

/* The route named <name> of <vh>, or NULL. */
static inline const struct cw_route *trt_route(const struct cw_virtual_host *vh, const char *name)
{
    for (uint32_t i = 0; i < vh->routes.n; i++)
        if (!strcmp(vh->routes.v[i].name, name))
            return &vh->routes.v[i];
    return NULL;
}

static inline const struct cw_route *trt_need_route(const struct cw_virtual_host *vh,
                                                    const char *name)
{
    const struct cw_route *r = trt_route(vh, name);
    if (!r)
        fail_msg("virtual host %s has no route %s (%u routes)", vh->domain, name, vh->routes.n);
    return r;
}

/* The exposed ExternalService for <host> on listener <port>, or NULL. */
static inline const struct cw_exposed_service *trt_exposed(const struct trt *x, uint16_t port,
                                                           const char *host)
{
    const struct cw_snapshot_listener *l = trt_listener(x, port);
    for (uint32_t i = 0; l && i < l->exposed.n; i++)
        if (!strcmp(l->exposed.v[i].host, host))
            return &l->exposed.v[i];
    return NULL;
}

/* Asserts that route <r> forwards to the clusters named in <names> with <weights>, in order. */
static inline void trt_assert_forward(const struct cw_route *r, uint32_t n,
                                      const char *const *names, const uint32_t *weights)
{
    if (r->kind != CW_ROUTE_FORWARD)
        fail_msg("route %s: expected FORWARD, got kind %d (failure: %s)", r->name, (int)r->kind,
                 r->failure ? r->failure : "-");
    if (r->clusters.n != n)
        fail_msg("route %s: expected %u destinations, got %u", r->name, n, r->clusters.n);
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(r->clusters.v[i].cluster->name, names[i]))
            fail_msg("route %s destination %u: expected %s, got %s", r->name, i, names[i],
                     r->clusters.v[i].cluster->name);
        if (r->clusters.v[i].weight != weights[i])
            fail_msg("route %s destination %u (%s): expected weight %u, got %u", r->name, i,
                     names[i], weights[i], r->clusters.v[i].weight);
    }
}

/* Asserts that route <r> was replaced by a 500 whose text contains <needle>. */
static inline void trt_assert_failed(const struct cw_route *r, const char *needle)
{
    if (r->kind != CW_ROUTE_FAILED)
        fail_msg("route %s: expected CW_ROUTE_FAILED, got kind %d", r->name, (int)r->kind);
    if (!r->failure || !strstr(r->failure, needle))
        fail_msg("route %s: expected failure containing \"%s\", got \"%s\"", r->name, needle,
                 r->failure ? r->failure : "(null)");
}

#endif
