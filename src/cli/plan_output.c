#include "cli/plan_output.h"

#include <string.h>

#include "config/config.h"
#include "snapshot/snapshot.h"
#include "tls/origin.h"
#include "tls/termination.h"
#include "util/text.h"

static void print_locality(FILE *out, const struct cw_locality *l)
{
    if (!l->region[0] && !l->zone[0] && !l->subzone[0]) {
        fputs("(no locality)", out);
        return;
    }
    fputs(l->region, out);
    if (l->zone[0] || l->subzone[0])
        fprintf(out, "/%s", l->zone);
    if (l->subzone[0])
        fprintf(out, "/%s", l->subzone);
}

static const char *uri_kind(enum cw_uri_match k)
{
    return k == CW_URI_EXACT ? "exact" : k == CW_URI_PREFIX ? "prefix" : "regex";
}

static void print_matchers(FILE *out, const struct cw_http_route *h)
{
    if (h->matchers.n == 0) {
        fputs(" (any request)", out);
        return;
    }
    for (uint32_t i = 0; i < h->matchers.n; i++) {
        const struct cw_http_matcher *m = &h->matchers.v[i];
        fputs(i ? " or" : "", out);
        if (m->method)
            fprintf(out, " %s", m->method);
        if (m->uri_kind != CW_URI_ANY)
            fprintf(out, " %s %s%s", uri_kind(m->uri_kind), m->uri,
                    m->ignore_case ? " (ignore case)" : "");
        for (uint32_t j = 0; j < m->headers.n; j++)
            fprintf(out, " header %s%s%s%s", m->headers.v[j].invert ? "!" : "",
                    m->headers.v[j].name, m->headers.v[j].value ? "=" : "",
                    m->headers.v[j].value ? m->headers.v[j].value : "");
        for (uint32_t j = 0; j < m->query.n; j++)
            fprintf(out, " query %s%s%s", m->query.v[j].name, m->query.v[j].value ? "=" : "",
                    m->query.v[j].value ? m->query.v[j].value : "");
        if (m->port)
            fprintf(out, " port %u", m->port);
    }
}

static void print_action(FILE *out, const struct cw_route *r)
{
    switch (r->kind) {
    case CW_ROUTE_FORWARD:
        fputs(" ->", out);
        for (uint32_t i = 0; i < r->clusters.n; i++)
            fprintf(out, "%s %s %u%%", i ? "," : "", r->clusters.v[i].cluster->name,
                    r->clusters.v[i].weight);
        break;
    case CW_ROUTE_REDIRECT:
        fprintf(out, " -> redirect %u", r->http->redirect.code);
        break;
    case CW_ROUTE_DIRECT_RESPONSE:
        fprintf(out, " -> direct response %u", r->http->direct.status);
        break;
    case CW_ROUTE_FAILED:
        fprintf(out, " -> 500 (%s)", r->failure);
        break;
    }
}

static void print_route(FILE *out, const struct cw_route *r, const char *indent)
{
    fprintf(out, "%sroute %s [%s/%s]", indent, r->name, r->table->obj.meta.ns,
            r->table->obj.meta.name);
    for (const struct cw_route *p = r->parent; p; p = p->parent) {
        fputs(" within", out);
        print_matchers(out, p->http);
        fputs(" and", out);
    }
    if (r->http)
        print_matchers(out, r->http);
    for (uint32_t m = 0; r->tls && m < r->tls->matchers.n; m++) {
        const struct cw_tls_matcher *tm = &r->tls->matchers.v[m];
        fputs(m ? " or sni" : " sni", out);
        for (uint32_t h = 0; h < tm->sni_hosts.n; h++)
            fprintf(out, "%s%s", h ? "," : " ", tm->sni_hosts.v[h]);
    }
    print_action(out, r);
    if (r->tls)
        fputs(" (the client's TLS passed through)", out);
    fputc('\n', out);
}

/* The certificates a listener terminates TLS with: names they serve, files, expiry. */
static void print_certificates(FILE *out, const struct cw_tls_termination *tls)
{
    for (uint32_t i = 0; i < tls->n_certs; i++) {
        const struct cw_tls_serving_spec *s = cw_tls_termination_spec(tls, i);
        fputs("  certificate for", out);
        for (uint32_t n = 0; n < s->n_names; n++)
            fprintf(out, "%s%s", n ? "," : " ", s->names[n]);
        fprintf(out, " %s key %s expires %s", s->cert_file, s->key_file,
                cw_tls_termination_expiry(tls, i));
        if (s->mutual)
            fprintf(out, " client certificates %s by %s",
                    s->client_cert_optional ? "verified when given" : "required", s->ca_file);
        fputc('\n', out);
    }
}

static void print_listener(FILE *out, const struct cw_snapshot_listener *l)
{
    fprintf(out, "listener %u %s (VirtualGateway %s/%s)\n", l->port, cw_snapshot_listener_kind(l),
            l->gateway->obj.meta.ns, l->gateway->obj.meta.name);
    if (l->tls)
        print_certificates(out, l->tls);
    for (uint32_t v = 0; v < l->virtual_hosts.n; v++) {
        const struct cw_virtual_host *vh = l->virtual_hosts.v[v];
        fprintf(out, "  host %s\n", vh->domain);
        for (uint32_t r = 0; r < vh->routes.n; r++)
            print_route(out, &vh->routes.v[r], "    ");
    }
    for (uint32_t r = 0; r < l->tcp_routes.n; r++)
        print_route(out, &l->tcp_routes.v[r], "  ");
    for (uint32_t r = 0; r < l->tls_routes.n; r++)
        print_route(out, &l->tls_routes.v[r], "  ");
    for (uint32_t e = 0; e < l->exposed.n; e++)
        fprintf(out, "  exposed %s -> %s\n", l->exposed.v[e].host, l->exposed.v[e].cluster->name);
}

/* What TLS to the endpoints is (spec §1.3): mode, SNI, what the certificate is checked against,
 * and the files, so that a reader sees what a handshake will send and expect. */
static void print_origination(FILE *out, const struct cw_tls_origin *o)
{
    const struct cw_tls_origin_spec *s = &o->spec;
    fprintf(out, "  tls %s sni %s", s->mode == CW_TLS_MODE_MUTUAL ? "MUTUAL" : "SIMPLE",
            s->sni ? s->sni : "(the endpoint's DNS name; none for an IP)");
    if (s->skip_verify) {
        fputs(" verify off (insecureSkipVerify)", out);
    } else if (s->n_sans) {
        fputs(" verify subjectAltNames", out);
        for (uint32_t i = 0; i < s->n_sans; i++)
            fprintf(out, "%s%s", i ? "," : " ", s->sans[i]);
    } else {
        fprintf(out, " verify %s", s->sni ? s->sni : "(the endpoint's DNS name, or its IP)");
    }
    if (!s->skip_verify)
        fprintf(out, " ca %s", s->ca_file ? s->ca_file : "(system trust store)");
    if (s->mode == CW_TLS_MODE_MUTUAL)
        fprintf(out, " clientCertificate %s privateKey %s", s->cert_file, s->key_file);
    fputc('\n', out);
}

/* The share of the traffic that the locality of endpoint <e> gets under the cluster's
 * distribute mapping, in percent of the weights of the localities that have endpoints. */
static uint32_t locality_share(const struct cw_cluster *c, const struct cw_endpoint *e)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        const struct cw_endpoint *x = &c->endpoints.v[i];
        bool first_of_locality = true;
        for (uint32_t j = 0; j < i && first_of_locality; j++)
            first_of_locality = !cw_locality_equal(&c->endpoints.v[j].locality, &x->locality);
        total += first_of_locality ? x->locality_weight : 0;
    }
    return total ? (uint32_t)((e->locality_weight * 200 + total) / (2 * total)) : 0;
}

/* "distribute from <from>: <to> <weight>%, ..." (spec §6), or why nothing is distributed. */
static void print_distribution(FILE *out, const struct cw_cluster *c, const struct cw_locality *g)
{
    const struct cw_locality_mapping *m = c->distribute;
    if (!m) {
        fputs("  distribute: no mapping from ", out);
        print_locality(out, g);
        fputs("; every endpoint shares one priority\n", out);
        return;
    }
    fputs("  distribute from ", out);
    print_locality(out, &m->from);
    for (uint32_t i = 0; i < m->to.n; i++) {
        fputs(i ? ", " : ": ", out);
        print_locality(out, &m->to.v[i].locality);
        fprintf(out, " %u%%%s", m->to.v[i].weight, m->to.v[i].has_weight ? "" : " (derived)");
    }
    fputc('\n', out);
}

static void print_cluster(FILE *out, const struct cw_cluster *c, const struct cw_locality *g)
{
    bool distributes = cw_failover_distributes(c->failover);
    char buf[32];
    fprintf(out, "cluster %s", c->name);
    if (c->outlier) {
        const struct cw_outlier_config *o = &c->outlier->config;
        fprintf(out,
                " outlier %s/%s (consecutiveErrors %u, baseEjectionTime %s, "
                "maxEjectionPercent %u)",
                c->outlier->obj.meta.ns, c->outlier->obj.meta.name, o->consecutive_errors,
                cw_duration_format(o->base_ejection_ms, buf, sizeof(buf)), o->max_ejection_percent);
    }
    if (c->failover)
        fprintf(out, " failover %s/%s%s", c->failover->obj.meta.ns, c->failover->obj.meta.name,
                distributes  ? " (distribute)"
                : c->outlier ? ""
                             : " (inactive: no outlier detection)");
    fputs(c->locality_priorities ? "" : " priorities off", out);
    if (c->unroutable)
        fprintf(out, " unroutable: %s", c->unroutable);
    fputc('\n', out);
    if (c->tls)
        print_origination(out, c->tls);
    if (distributes)
        print_distribution(out, c, g);
    for (uint32_t i = 0; i < c->endpoints.n; i++) {
        const struct cw_endpoint *e = &c->endpoints.v[i];
        fprintf(out, "  P%u %s:%u ", e->priority, e->address, e->port);
        print_locality(out, &e->locality);
        if (e->source)
            fprintf(out, " (ExternalEndpoint %s)", e->source);
        if (e->is_hostname)
            fputs(" dns", out);
        if (c->distribute && e->locality_weight)
            fprintf(out, " locality share %u%%", locality_share(c, e));
        else if (c->distribute)
            fputs(" no traffic (locality not in the mapping)", out);
        fputc('\n', out);
    }
}

void cw_print_plan(FILE *out, const struct cw_snapshot *snap)
{
    fputs("gateway locality ", out);
    print_locality(out, &snap->locality);
    fputc('\n', out);
    for (uint32_t i = 0; i < snap->listeners.n; i++)
        print_listener(out, snap->listeners.v[i]);
    for (uint32_t i = 0; i < snap->clusters.n; i++)
        print_cluster(out, snap->clusters.v[i], &snap->locality);
}
