/*
 * /clusters: every service port (cluster) with the load share of its priorities, and every
 * endpoint with its locality, priority, state (available, or ejected with the reason, the
 * count and the time left), requests in flight and totals. Read on the control thread, which
 * owns the ejection state; the counters are the threads' (util/stats.h), summed.
 */
#include <string.h>

#include "admin/admin_int.h"
#include "util/event_log.h"

const char *const cw_failure_kind_names[CW_FAILURE_KINDS] = {"connect", "tls", "reset", "timeout",
                                                             "5xx"};
const char *const cw_ejection_reason_names[CW_EJECT_REASONS] = {"consecutive_errors",
                                                                "consecutive_gateway_errors"};

void cw_admin_endpoint_view(const struct cw_host *h, uint64_t now_ms, struct cw_endpoint_view *v)
{
    const struct cw_host_health *hh = h->health;
    *v = (struct cw_endpoint_view){
        .host = h,
        .ejected = atomic_load(&hh->ejected),
        .ejections = hh->ejections,
        .returns = hh->returns,
        .refusals = hh->refusals,
    };
    if (hh->ejections)
        v->ejection_reason = cw_ejection_reason_names[hh->last_reason];
    if (v->ejected && hh->return_at_ms > now_ms)
        v->return_in_ms = hh->return_at_ms - now_ms;
    uint64_t finished = 0;
    for (unsigned i = 0; i < cw_stats_slots(); i++) {
        const struct cw_host_counters *c = &hh->counters[i];
        v->attempts += cw_stat_get(&c->attempts);
        finished += cw_stat_get(&c->finished);
        for (unsigned k = 0; k < CW_FAILURE_KINDS; k++)
            v->failures[k] += cw_stat_get(&c->failures[k]);
    }
    /* Read one thread after another: a request that began and ended meanwhile may be seen
     * ended but not begun. */
    v->in_flight = v->attempts > finished ? v->attempts - finished : 0;
}

void cw_admin_priority_loads(const struct cw_upstream_cluster *uc, uint32_t *load)
{
    uint32_t available[CW_MAX_PRIORITIES], total[CW_MAX_PRIORITIES];
    for (uint32_t p = 0; p < uc->n_priorities; p++) {
        available[p] = atomic_load(&uc->available[p]);
        total[p] = uc->priorities[p].n;
    }
    cw_priority_loads(available, total, uc->n_priorities, load);
}

static void write_endpoint(FILE *out, const struct cw_endpoint_view *v)
{
    const struct cw_host *h = v->host;
    fputs("{\"address\":", out);
    cw_json_string(out, h->text);
    fputs(",\"locality\":", out);
    cw_json_string(out, h->locality);
    fprintf(out, ",\"priority\":%u,\"state\":\"%s\"", h->priority,
            v->ejected ? "ejected" : "available");
    if (v->ejected)
        fprintf(out, ",\"ejection\":{\"reason\":\"%s\",\"returns_in_ms\":%llu}",
                v->ejection_reason, (unsigned long long)v->return_in_ms);
    fprintf(out,
            ",\"ejections\":%u,\"returns\":%u,\"ejections_refused\":%u,\"in_flight\":%llu,"
            "\"requests\":%llu,\"failures\":{",
            v->ejections, v->returns, v->refusals, (unsigned long long)v->in_flight,
            (unsigned long long)v->attempts);
    for (unsigned k = 0; k < CW_FAILURE_KINDS; k++)
        fprintf(out, "%s\"%s\":%llu", k ? "," : "", cw_failure_kind_names[k],
                (unsigned long long)v->failures[k]);
    fputs("}}", out);
}

static void write_priorities(FILE *out, const struct cw_upstream_cluster *uc)
{
    uint32_t load[CW_MAX_PRIORITIES];
    cw_admin_priority_loads(uc, load);
    fputs("\"priorities\":[", out);
    for (uint32_t p = 0; p < uc->n_priorities; p++)
        fprintf(out, "%s{\"priority\":%u,\"endpoints\":%u,\"available\":%u,\"load_percent\":%u}",
                p ? "," : "", p, uc->priorities[p].n, atomic_load(&uc->available[p]), load[p]);
    fputs("]", out);
    if (!uc->n_localities)
        return;
    fputs(",\"localities\":[", out);
    for (uint32_t l = 0; l < uc->n_localities; l++) {
        const struct cw_locality_group *g = &uc->localities[l];
        fprintf(out, "%s{\"locality\":", l ? "," : "");
        cw_json_string(out, g->n ? uc->hosts[g->first].locality : "-");
        fprintf(out, ",\"weight\":%u,\"endpoints\":%u,\"available\":%u}", g->weight, g->n,
                atomic_load(&uc->locality_available[l]));
    }
    fputs("]", out);
}

static void write_cluster(FILE *out, const struct cw_upstream_cluster *uc, uint64_t now)
{
    fputs("{\"name\":", out);
    cw_json_string(out, uc->cluster->name);
    fprintf(out, ",\"outlier_detection\":%s,\"ejected\":%u,", uc->outlier ? "true" : "false",
            uc->n_ejected);
    if (uc->cluster->unroutable) {
        fputs("\"unroutable\":", out);
        cw_json_string(out, uc->cluster->unroutable);
        fputc(',', out);
    }
    write_priorities(out, uc);
    fputs(",\"endpoints\":[", out);
    for (uint32_t i = 0; i < uc->n_hosts; i++) {
        struct cw_endpoint_view v;
        cw_admin_endpoint_view(&uc->hosts[i], now, &v);
        fputs(i ? ",\n   " : "\n   ", out);
        write_endpoint(out, &v);
    }
    fputs("]}", out);
}

void cw_admin_clusters(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    const struct cw_upstreams *u = src->gen->upstreams;
    uint64_t now = uv_now(r->loop);
    fprintf(r->out, "{\"generation\":%llu,\"clusters\":[", (unsigned long long)src->generation);
    for (uint32_t c = 0; c < u->n; c++) {
        fputs(c ? ",\n  " : "\n  ", r->out);
        write_cluster(r->out, &u->clusters[c], now);
    }
    fputs("\n]}\n", r->out);
}
