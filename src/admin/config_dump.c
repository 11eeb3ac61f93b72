/*
 * /config_dump: the served snapshot as JSON — listeners with their hosts and routes, clusters
 * with their endpoints — and, under "plan", the same text `causeway validate --plan` prints.
 * /status: the statuses of every object, exactly as `causeway validate -o json`.
 */
#include <stdlib.h>

#include "admin/admin_int.h"
#include "cli/plan_output.h"
#include "cli/status_output.h"
#include "snapshot/snapshot.h"
#include "util/event_log.h"

static void key(FILE *out, const char *name, const char *value)
{
    fprintf(out, "\"%s\":", name);
    if (value)
        cw_json_string(out, value);
    else
        fputs("null", out);
}

static void write_locality(FILE *out, const struct cw_locality *l)
{
    fputc('{', out);
    key(out, "region", l->region);
    fputc(',', out);
    key(out, "zone", l->zone);
    fputc(',', out);
    key(out, "subzone", l->subzone);
    fputc('}', out);
}

static const char *route_kind(enum cw_route_kind k)
{
    return k == CW_ROUTE_FORWARD           ? "forward"
           : k == CW_ROUTE_REDIRECT        ? "redirect"
           : k == CW_ROUTE_DIRECT_RESPONSE ? "direct_response"
                                           : "failed";
}

static void write_route(FILE *out, const struct cw_route *r)
{
    char table[512];
    snprintf(table, sizeof(table), "%s/%s", r->table->obj.meta.ns, r->table->obj.meta.name);
    fputc('{', out);
    key(out, "name", r->name);
    fputc(',', out);
    key(out, "route_table", table);
    fputc(',', out);
    key(out, "kind", route_kind(r->kind));
    if (r->failure) {
        fputc(',', out);
        key(out, "failure", r->failure);
    }
    fputs(",\"destinations\":[", out);
    /* Only a forwarding route has them (a failed one may hold a destination it could not use). */
    for (uint32_t i = 0; r->kind == CW_ROUTE_FORWARD && i < r->clusters.n; i++) {
        fputs(i ? ",{" : "{", out);
        key(out, "service", r->clusters.v[i].cluster->name);
        fprintf(out, ",\"weight\":%u}", r->clusters.v[i].weight);
    }
    fputs("]}", out);
}

static void write_routes(FILE *out, const char *name, const struct cw_route *v, uint32_t n)
{
    fprintf(out, ",\"%s\":[", name);
    for (uint32_t i = 0; i < n; i++) {
        fputs(i ? "," : "", out);
        write_route(out, &v[i]);
    }
    fputs("]", out);
}

static void write_listener(FILE *out, const struct cw_snapshot_listener *l)
{
    fprintf(out, "{\"port\":%u,", l->port);
    key(out, "kind", cw_snapshot_listener_kind(l));
    fputs(",\"virtual_hosts\":[", out);
    for (uint32_t i = 0; i < l->virtual_hosts.n; i++) {
        const struct cw_virtual_host *vh = l->virtual_hosts.v[i];
        fputs(i ? ",{" : "{", out);
        key(out, "domain", vh->domain);
        write_routes(out, "routes", vh->routes.v, vh->routes.n);
        fputs("}", out);
    }
    fputs("]", out);
    write_routes(out, "tcp_routes", l->tcp_routes.v, l->tcp_routes.n);
    write_routes(out, "tls_routes", l->tls_routes.v, l->tls_routes.n);
    fputs(",\"exposed_services\":[", out);
    for (uint32_t i = 0; i < l->exposed.n; i++) {
        fputs(i ? ",{" : "{", out);
        key(out, "host", l->exposed.v[i].host);
        fputc(',', out);
        key(out, "service", l->exposed.v[i].cluster->name);
        fputs("}", out);
    }
    fputs("]}", out);
}

static void write_cluster(FILE *out, const struct cw_cluster *c)
{
    fputc('{', out);
    key(out, "name", c->name);
    fprintf(out, ",\"outlier_detection\":%s,\"failover\":%s,\"tls\":%s,", c->outlier ? "true" : "false",
            c->failover ? "true" : "false", c->tls ? "true" : "false");
    key(out, "unroutable", c->unroutable);
    fputs(",\"endpoints\":[", out);
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        const struct cw_endpoint *e = &c->endpoints.v[i];
        fputs(i ? ",{" : "{", out);
        key(out, "address", e->address);
        fprintf(out, ",\"port\":%u,\"hostname\":%s,\"priority\":%u,\"locality\":", e->port,
                e->is_hostname ? "true" : "false", e->priority);
        write_locality(out, &e->locality);
        fputc(',', out);
        key(out, "source", e->source);
        fputs("}", out);
    }
    fputs("]}", out);
}

/* What `validate --plan` prints for <snap>, as one string. */
static void write_plan(FILE *out, const struct cw_snapshot *snap)
{
    char *text = NULL;
    size_t len = 0;
    FILE *plan = open_memstream(&text, &len);
    if (!plan)
        return;
    cw_print_plan(plan, snap);
    fclose(plan);
    key(out, "plan", text);
    free(text);
}

void cw_admin_config_dump(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    const struct cw_snapshot *snap = src->gen->snapshot;
    FILE *out = r->out;
    fprintf(out, "{\"generation\":%llu,\"locality\":", (unsigned long long)src->generation);
    write_locality(out, &snap->locality);
    fputs(",\"listeners\":[", out);
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        fputs(i ? ",\n" : "\n", out);
        write_listener(out, snap->listeners.v[i]);
    }
    fputs("],\"clusters\":[", out);
    for (uint32_t i = 0; i < snap->clusters.n; i++) {
        fputs(i ? ",\n" : "\n", out);
        write_cluster(out, snap->clusters.v[i]);
    }
    fputs("],\n", out);
    write_plan(out, snap);
    fputs("}\n", out);
}

void cw_admin_status(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    cw_print_statuses(r->out, CW_OUTPUT_JSON, src->cfg, src->tr);
}
