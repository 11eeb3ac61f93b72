/*
 * /metrics in the Prometheus text exposition format (version 0.0.4): every family once with
 * its HELP and TYPE, base units (seconds, bytes), counters ending in _total, label values
 * escaped. Worker counters are summed over the threads' slots (util/stats.h) at scrape time;
 * the request series of the workers are merged by label set first.
 */
#include <stdlib.h>
#include <string.h>

#include "admin/admin_int.h"
#include "dns/resolver.h"
#include "util/request_stats.h"
#include "util/xalloc.h"

/* ---- writing ---- */

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped (the format's only escapes). */
static void label_value(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(out, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

/* {k="v",...} from <kv> (key, value, ..., NULL); nothing for no labels. */
static void labels(FILE *out, const char *const *kv)
{
    if (!kv || !kv[0])
        return;
    fputc('{', out);
    for (unsigned i = 0; kv[i]; i += 2) {
        fprintf(out, "%s%s=", i ? "," : "", kv[i]);
        label_value(out, kv[i + 1]);
    }
    fputc('}', out);
}

static void sample(FILE *out, const char *name, const char *const *kv, uint64_t value)
{
    fputs(name, out);
    labels(out, kv);
    fprintf(out, " %llu\n", (unsigned long long)value);
}

/* The _bucket, _sum and _count samples of histogram <name> with labels <kv>. */
static void histogram(FILE *out, const char *name, const char *const *kv,
                      const struct cw_histogram_sum *h)
{
    const char *with_le[24];
    unsigned n = 0;
    for (; kv && kv[n] && n < 20; n += 2) {
        with_le[n] = kv[n];
        with_le[n + 1] = kv[n + 1];
    }
    with_le[n] = "le";
    with_le[n + 2] = NULL;
    char le[32];
    with_le[n + 1] = le;
    for (unsigned b = 0; b < CW_HISTOGRAM_BUCKETS; b++) {
        snprintf(le, sizeof(le), "%g", cw_histogram_le_ms[b] / 1000.0);
        fprintf(out, "%s_bucket", name);
        labels(out, with_le);
        /* Read while the workers count: never more in a bucket than in all. */
        fprintf(out, " %llu\n",
                (unsigned long long)(h->buckets[b] < h->count ? h->buckets[b] : h->count));
    }
    snprintf(le, sizeof(le), "+Inf");
    fprintf(out, "%s_bucket", name);
    labels(out, with_le);
    fprintf(out, " %llu\n%s_sum", (unsigned long long)h->count, name);
    labels(out, kv);
    fprintf(out, " %.3f\n%s_count", h->sum_ms / 1000.0, name);
    labels(out, kv);
    fprintf(out, " %llu\n", (unsigned long long)h->count);
}

/* ---- requests, by label set merged over the workers ---- */

struct merged {
    const struct cw_request_series *labels;
    uint64_t count, bytes_in, bytes_out, retries;
    struct cw_histogram_sum duration;
};

static int compare_series(const void *a, const void *b)
{
    const struct cw_request_series *x = *(const struct cw_request_series *const *)a;
    const struct cw_request_series *y = *(const struct cw_request_series *const *)b;
    if (x->tcp != y->tcp)
        return x->tcp - y->tcp;
    if (x->listener != y->listener)
        return x->listener - y->listener;
    int c = strcmp(x->route, y->route);
    if (!c)
        c = strcmp(x->service, y->service);
    return c ? c : x->status_class - y->status_class;
}

/* Same listener, route and service (and protocol): the status class may differ. */
static bool same_target(const struct cw_request_series *x, const struct cw_request_series *y)
{
    return x->tcp == y->tcp && x->listener == y->listener && !strcmp(x->route, y->route) &&
           !strcmp(x->service, y->service);
}

/* Every worker's series, merged by label set and sorted; *n_out of them. */
static struct merged *merge_requests(size_t *n_out)
{
    size_t total = 0;
    for (unsigned i = 0; i < cw_stats_slots(); i++)
        if (cw_stats_slot(i)->requests)
            total += cw_request_table_count(cw_stats_slot(i)->requests);
    const struct cw_request_series **all = cw_xcalloc(total ? total : 1, sizeof(*all));
    struct merged *m = cw_xcalloc(total ? total : 1, sizeof(*m));
    size_t n = 0;
    for (unsigned i = 0; i < cw_stats_slots(); i++) {
        const struct cw_request_table *t = cw_stats_slot(i)->requests;
        uint32_t count = t ? cw_request_table_count(t) : 0;
        for (uint32_t j = 0; j < count && n < total; j++)
            all[n++] = cw_request_table_at(t, j);
    }
    qsort(all, n, sizeof(*all), compare_series);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!k || compare_series(&m[k - 1].labels, &all[i]) != 0)
            m[k++].labels = all[i];
        struct merged *x = &m[k - 1];
        x->count += cw_stat_get(&all[i]->count);
        x->bytes_in += cw_stat_get(&all[i]->bytes_in);
        x->bytes_out += cw_stat_get(&all[i]->bytes_out);
        x->retries += cw_stat_get(&all[i]->retries);
        cw_histogram_sum_add(&x->duration, &all[i]->duration);
    }
    free(all);
    *n_out = k;
    return m;
}

static void request_labels(const struct cw_request_series *s, char *listener, const char **kv)
{
    snprintf(listener, 8, "%u", s->listener);
    kv[0] = "listener", kv[1] = listener;
    kv[2] = "route", kv[3] = s->route;
    kv[4] = "service", kv[5] = s->service;
    kv[6] = NULL;
}

static void http_requests(FILE *out, const struct merged *m, size_t n)
{
    family(out, "causeway_http_requests_total", "counter",
           "HTTP requests answered, by listener port, route, service and status class.");
    for (size_t i = 0; i < n; i++) {
        if (m[i].labels->tcp)
            continue;
        char listener[8], class[8];
        const char *kv[10];
        request_labels(m[i].labels, listener, kv);
        snprintf(class, sizeof(class), "%uxx", m[i].labels->status_class);
        kv[6] = "code_class", kv[7] = m[i].labels->status_class ? class : "none", kv[8] = NULL;
        sample(out, "causeway_http_requests_total", kv, m[i].count);
    }
    family(out, "causeway_http_request_duration_seconds", "histogram",
           "HTTP requests from the first byte of the request to the last of the response "
           "(millisecond resolution).");
    for (size_t i = 0; i < n;) {
        struct cw_histogram_sum h = {0};
        size_t j = i;
        for (; j < n && same_target(m[i].labels, m[j].labels); j++)
            for (unsigned b = 0; b < CW_HISTOGRAM_BUCKETS; b++)
                h.buckets[b] += m[j].duration.buckets[b];
        for (size_t k = i; k < j; k++)
            h.count += m[k].duration.count, h.sum_ms += m[k].duration.sum_ms;
        if (!m[i].labels->tcp) {
            char listener[8];
            const char *kv[8];
            request_labels(m[i].labels, listener, kv);
            histogram(out, "causeway_http_request_duration_seconds", kv, &h);
        }
        i = j;
    }
}

/* A counter family over the requests' targets (summed over status classes). */
static void per_target(FILE *out, const struct merged *m, size_t n, const char *name,
                       const char *help, size_t field)
{
    family(out, name, "counter", help);
    for (size_t i = 0; i < n;) {
        uint64_t sum = 0;
        size_t j = i;
        for (; j < n && same_target(m[i].labels, m[j].labels); j++)
            sum += *(const uint64_t *)((const char *)&m[j] + field);
        char listener[8];
        const char *kv[10];
        request_labels(m[i].labels, listener, kv);
        kv[6] = "protocol", kv[7] = m[i].labels->tcp ? "tcp" : "http", kv[8] = NULL;
        sample(out, name, kv, sum);
        i = j;
    }
}

static void requests(FILE *out)
{
    size_t n;
    struct merged *m = merge_requests(&n);
    http_requests(out, m, n);
    family(out, "causeway_tcp_connections_total", "counter",
           "TCP connections proxied (TCP listeners and SNI pass-through), by listener, route and "
           "service.");
    for (size_t i = 0; i < n; i++)
        if (m[i].labels->tcp) {
            char listener[8];
            const char *kv[8];
            request_labels(m[i].labels, listener, kv);
            sample(out, "causeway_tcp_connections_total", kv, m[i].count);
        }
    per_target(out, m, n, "causeway_received_bytes_total",
               "Bytes received from clients (request heads and bodies, tunnel bytes).",
               offsetof(struct merged, bytes_in));
    per_target(out, m, n, "causeway_sent_bytes_total",
               "Bytes sent to clients (response heads and bodies, tunnel bytes).",
               offsetof(struct merged, bytes_out));
    per_target(out, m, n, "causeway_upstream_retries_total",
               "Attempts on another endpoint after a failed one.", offsetof(struct merged, retries));
    free(m);
}

/* ---- connections and TLS, summed over the threads ---- */

static uint64_t sum_of(size_t field)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < cw_stats_slots(); i++)
        sum += cw_stat_get((const _Atomic uint64_t *)((const char *)cw_stats_slot(i) + field));
    return sum;
}

static uint64_t difference(size_t opened, size_t closed)
{
    uint64_t a = sum_of(opened), b = sum_of(closed);
    return a > b ? a - b : 0;
}

static void connections(FILE *out)
{
    family(out, "causeway_downstream_connections_active", "gauge",
           "Client connections open (HTTP connections and TCP tunnels).");
    sample(out, "causeway_downstream_connections_active", NULL,
           difference(offsetof(struct cw_thread_stats, client_opened),
                      offsetof(struct cw_thread_stats, client_closed)));
    family(out, "causeway_upstream_connections_active", "gauge",
           "Connections to endpoints open (in use or pooled).");
    sample(out, "causeway_upstream_connections_active", NULL,
           difference(offsetof(struct cw_thread_stats, upstream_opened),
                      offsetof(struct cw_thread_stats, upstream_closed)));
    family(out, "causeway_tcp_tunnels_active", "gauge",
           "TCP tunnels open (TCP listeners, SNI pass-through, upgraded HTTP connections).");
    sample(out, "causeway_tcp_tunnels_active", NULL,
           difference(offsetof(struct cw_thread_stats, tunnels_opened),
                      offsetof(struct cw_thread_stats, tunnels_closed)));
    family(out, "causeway_tcp_tunnels_total", "counter", "TCP tunnels opened.");
    sample(out, "causeway_tcp_tunnels_total", NULL,
           sum_of(offsetof(struct cw_thread_stats, tunnels_opened)));
}

static void tls(FILE *out)
{
    static const char *const sides[2] = {"client", "upstream"};
    family(out, "causeway_tls_handshakes_total", "counter",
           "TLS handshakes completed, with clients (termination) and with endpoints "
           "(origination), full or resumed.");
    for (int s = 0; s < 2; s++) {
        sample(out, "causeway_tls_handshakes_total",
               (const char *[]){"side", sides[s], "session", "full", NULL},
               sum_of(offsetof(struct cw_thread_stats, tls_full) + s * sizeof(uint64_t)));
        sample(out, "causeway_tls_handshakes_total",
               (const char *[]){"side", sides[s], "session", "resumed", NULL},
               sum_of(offsetof(struct cw_thread_stats, tls_resumed) + s * sizeof(uint64_t)));
    }
    family(out, "causeway_tls_handshake_failures_total", "counter", "TLS handshakes that failed.");
    for (int s = 0; s < 2; s++)
        sample(out, "causeway_tls_handshake_failures_total", (const char *[]){"side", sides[s], NULL},
               sum_of(offsetof(struct cw_thread_stats, tls_failed) + s * sizeof(uint64_t)));
}

/* ---- endpoints ---- */

/* Writes the samples of family <name> for endpoint <v>; kv[0..3] hold its service and address
 * labels, and there is room for three more pairs. */
typedef void (*endpoint_fn)(FILE *out, const char *name, const struct cw_endpoint_view *v,
                            const char **kv);

static void endpoint_state(FILE *out, const char *name, const struct cw_endpoint_view *v,
                           const char **kv)
{
    char priority[16];
    snprintf(priority, sizeof(priority), "%u", v->host->priority);
    kv[4] = "locality", kv[5] = v->host->locality, kv[6] = "priority", kv[7] = priority;
    kv[8] = "state", kv[10] = NULL;
    kv[9] = "available";
    sample(out, name, kv, !v->ejected);
    kv[9] = "ejected";
    sample(out, name, kv, v->ejected);
}

static void endpoint_requests(FILE *out, const char *name, const struct cw_endpoint_view *v,
                              const char **kv)
{
    sample(out, name, kv, v->attempts);
}

static void endpoint_in_flight(FILE *out, const char *name, const struct cw_endpoint_view *v,
                               const char **kv)
{
    sample(out, name, kv, v->in_flight);
}

static void endpoint_failures(FILE *out, const char *name, const struct cw_endpoint_view *v,
                              const char **kv)
{
    kv[4] = "reason", kv[6] = NULL;
    for (unsigned k = 0; k < CW_FAILURE_KINDS; k++) {
        kv[5] = cw_failure_kind_names[k];
        sample(out, name, kv, v->failures[k]);
    }
}

static void endpoint_ejections(FILE *out, const char *name, const struct cw_endpoint_view *v,
                               const char **kv)
{
    kv[4] = "reason", kv[6] = NULL;
    for (unsigned r = 0; r < CW_EJECT_REASONS; r++) {
        kv[5] = cw_ejection_reason_names[r];
        sample(out, name, kv, v->host->health->ejected_for[r]);
    }
}

static void endpoint_returns(FILE *out, const char *name, const struct cw_endpoint_view *v,
                             const char **kv)
{
    kv[4] = "reason", kv[5] = "ejection_time_over", kv[6] = NULL;
    sample(out, name, kv, v->returns);
}

static void endpoint_refusals(FILE *out, const char *name, const struct cw_endpoint_view *v,
                              const char **kv)
{
    sample(out, name, kv, v->refusals);
}

static const struct {
    const char *name, *type, *help;
    endpoint_fn write;
} endpoint_families[] = {
    {"causeway_upstream_endpoint_state", "gauge",
     "1 for the state the endpoint is in (available or ejected), 0 for the other.", endpoint_state},
    {"causeway_upstream_requests_total", "counter",
     "Requests and TCP connections sent to the endpoint (every attempt).", endpoint_requests},
    {"causeway_upstream_requests_active", "gauge",
     "Requests and TCP connections at the endpoint not finished yet.", endpoint_in_flight},
    {"causeway_upstream_failures_total", "counter",
     "Failed attempts at the endpoint, by reason: connect (refused, unreachable, connect "
     "timeout), tls (upstream handshake), reset (closed before responding), timeout (no "
     "response in time), 5xx (answered 5xx).",
     endpoint_failures},
    {"causeway_upstream_ejections_total", "counter",
     "Outlier-detection ejections of the endpoint, by the threshold that tripped.",
     endpoint_ejections},
    {"causeway_upstream_returns_total", "counter", "Ejected endpoints returned to service.",
     endpoint_returns},
    {"causeway_upstream_ejections_refused_total", "counter",
     "Ejections maxEjectionPercent refused.", endpoint_refusals},
};

/* Every endpoint family, each over every endpoint of the served configuration. */
static void endpoints(FILE *out, const struct cw_admin_source *src, uint64_t now)
{
    const struct cw_upstreams *u = src->gen->upstreams;
    for (size_t f = 0; f < sizeof(endpoint_families) / sizeof(endpoint_families[0]); f++) {
        family(out, endpoint_families[f].name, endpoint_families[f].type,
               endpoint_families[f].help);
        for (uint32_t c = 0; c < u->n; c++)
            for (uint32_t i = 0; i < u->clusters[c].n_hosts; i++) {
                struct cw_endpoint_view v;
                cw_admin_endpoint_view(&u->clusters[c].hosts[i], now, &v);
                const char *kv[12] = {"service", u->clusters[c].cluster->name, "address",
                                      u->clusters[c].hosts[i].text, NULL};
                endpoint_families[f].write(out, endpoint_families[f].name, &v, kv);
            }
    }
}

/* ---- per service ---- */

static void services(FILE *out, const struct cw_admin_source *src)
{
    const struct cw_upstreams *u = src->gen->upstreams;
    family(out, "causeway_upstream_connect_duration_seconds", "histogram",
           "Time to a usable connection to an endpoint of the service, TLS handshake included "
           "(millisecond resolution).");
    for (uint32_t c = 0; c < u->n; c++) {
        struct cw_histogram_sum h = {0};
        for (uint32_t i = 0; i < u->clusters[c].n_hosts; i++)
            for (unsigned s = 0; s < cw_stats_slots(); s++)
                cw_histogram_sum_add(&h, &u->clusters[c].hosts[i].health->counters[s].connect);
        histogram(out, "causeway_upstream_connect_duration_seconds",
                  (const char *[]){"service", u->clusters[c].cluster->name, NULL}, &h);
    }
    family(out, "causeway_upstream_priority_load_percent", "gauge",
           "The share of the service's traffic each priority gets now (percent).");
    for (uint32_t c = 0; c < u->n; c++) {
        uint32_t load[CW_MAX_PRIORITIES];
        cw_admin_priority_loads(&u->clusters[c], load);
        for (uint32_t p = 0; p < u->clusters[c].n_priorities; p++) {
            char priority[16];
            snprintf(priority, sizeof(priority), "%u", p);
            sample(out, "causeway_upstream_priority_load_percent",
                   (const char *[]){"service", u->clusters[c].cluster->name, "priority", priority,
                                    NULL},
                   load[p]);
        }
    }
}

/* ---- endpoint names (DNS) ---- */

static void dns(FILE *out, const struct cw_dns_resolver *r)
{
    static const char *const states[] = {
        [CW_DNS_PENDING] = "pending", [CW_DNS_RESOLVED] = "resolved",
        [CW_DNS_STALE] = "stale", [CW_DNS_FAILED] = "failed"};
    struct cw_dns_stats st;
    cw_dns_resolver_stats(r, &st);
    family(out, "causeway_dns_names", "gauge",
           "Endpoint names the configuration needs, by state: resolved, stale (serving the "
           "last-known-good addresses while lookups fail), failed (no address), pending.");
    for (int i = CW_DNS_PENDING; i <= CW_DNS_FAILED; i++)
        sample(out, "causeway_dns_names", (const char *[]){"state", states[i], NULL},
               st.names[i]);
    family(out, "causeway_dns_lookups_total", "counter",
           "Lookups of endpoint names, by where the answer came from (dns or the hosts file).");
    sample(out, "causeway_dns_lookups_total", (const char *[]){"source", "dns", NULL},
           st.lookups_dns);
    sample(out, "causeway_dns_lookups_total", (const char *[]){"source", "hosts_file", NULL},
           st.lookups_hosts_file);
    family(out, "causeway_dns_lookup_failures_total", "counter",
           "DNS lookups that failed, by reason.");
    for (int k = 0; k < CW_DNS_FAIL_KINDS; k++)
        sample(out, "causeway_dns_lookup_failures_total",
               (const char *[]){"reason", cw_dns_failure_kind_name(k), NULL}, st.failures[k]);
    family(out, "causeway_dns_address_changes_total", "counter",
           "Lookups that changed a name's address set (each is an event=dns-change line).");
    sample(out, "causeway_dns_address_changes_total", NULL, st.address_changes);
    family(out, "causeway_dns_lookups_in_flight", "gauge",
           "Lookups running now (at most 128), and waiting for a slot.");
    sample(out, "causeway_dns_lookups_in_flight", (const char *[]){"phase", "running", NULL},
           st.in_flight);
    sample(out, "causeway_dns_lookups_in_flight", (const char *[]){"phase", "queued", NULL},
           st.queued);
}

/* ---- configuration ---- */

static void configuration(FILE *out, const struct cw_admin_source *src)
{
    static const char *const triggers[CW_RELOAD_TRIGGERS] = {"signal", "files"};
    family(out, "causeway_config_generation", "gauge",
           "The configuration served: 1 for the first, one more per reload applied.");
    sample(out, "causeway_config_generation", NULL, src->generation);
    family(out, "causeway_reloads_total", "counter",
           "Reloads applied, by trigger (SIGHUP, or a watched file that changed).");
    for (int t = 0; t < CW_RELOAD_TRIGGERS; t++)
        sample(out, "causeway_reloads_total", (const char *[]){"trigger", triggers[t], NULL},
               src->reloads[t]);
    family(out, "causeway_reload_failures_total", "counter",
           "Reloads rejected (the previous configuration kept serving), by trigger.");
    for (int t = 0; t < CW_RELOAD_TRIGGERS; t++)
        sample(out, "causeway_reload_failures_total",
               (const char *[]){"trigger", triggers[t], NULL}, src->reload_failures[t]);
    family(out, "causeway_ready", "gauge", "1 when /ready answers 200, 0 when it answers 503.");
    sample(out, "causeway_ready", NULL, src->serving && !src->draining);
}

void cw_admin_metrics(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    configuration(r->out, src);
    requests(r->out);
    connections(r->out);
    tls(r->out);
    endpoints(r->out, src, uv_now(r->loop));
    services(r->out, src);
    if (src->resolver)
        dns(r->out, src->resolver);
}
