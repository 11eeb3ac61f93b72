/*
 * The admin page at /: the endpoints of every service, grouped by priority and locality, with
 * their state, in plain HTML made on the server and refreshed by the browser every few seconds
 * (no script, so it reads the same in any browser, curl or a terminal browser).
 */
#include <string.h>

#include "admin/admin_int.h"

#define REFRESH_SECONDS 2

static void html(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

static const char style[] =
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.3em 0 1.2em;min-width:46em}"
    "caption{text-align:left;font-weight:600;padding:.2em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "th{background:#f3f3f3}td.n{text-align:right}"
    ".available{color:#075e07;font-weight:600}.ejected{color:#a40000;font-weight:600}"
    "h2{margin:1em 0 .2em;font-size:1.1em}.muted{color:#777}";

static void head(FILE *out, const struct cw_admin_source *src)
{
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"refresh\" content=\"%d\">"
            "<title>causeway endpoints</title><style>%s</style></head><body>\n"
            "<h1>causeway endpoints</h1>\n<p class=\"muted\">configuration %llu, %s; refreshes "
            "every %d s. JSON: <a href=\"/clusters\">/clusters</a>, <a href=\"/events\">/events</a>, "
            "<a href=\"/config_dump\">/config_dump</a>, <a href=\"/status\">/status</a>, "
            "<a href=\"/metrics\">/metrics</a>.</p>\n",
            REFRESH_SECONDS, style, (unsigned long long)src->generation,
            src->draining ? "draining" : "serving", REFRESH_SECONDS);
}

static void endpoint_row(FILE *out, const struct cw_endpoint_view *v)
{
    fputs("<tr><td>", out);
    html(out, v->host->text);
    fprintf(out, "</td><td class=\"%s\">%s", v->ejected ? "ejected" : "available",
            v->ejected ? "ejected" : "available");
    if (v->ejected)
        fprintf(out, " (%s, returns in %.1f s)", v->ejection_reason, v->return_in_ms / 1000.0);
    fprintf(out,
            "</td><td class=\"n\">%u</td><td class=\"n\">%llu</td><td class=\"n\">%llu</td>"
            "<td class=\"n\">%llu</td></tr>\n",
            v->ejections, (unsigned long long)v->in_flight, (unsigned long long)v->attempts,
            (unsigned long long)(v->failures[CW_FAILURE_CONNECT] + v->failures[CW_FAILURE_TLS] +
                                 v->failures[CW_FAILURE_RESET] + v->failures[CW_FAILURE_TIMEOUT] +
                                 v->failures[CW_FAILURE_5XX]));
}

/* True when a host of [first, i) has the locality of host i (its group was shown). */
static bool shown_before(const struct cw_upstream_cluster *uc, uint32_t first, uint32_t i)
{
    for (uint32_t j = first; j < i; j++)
        if (!strcmp(uc->hosts[j].locality, uc->hosts[i].locality))
            return true;
    return false;
}

/* The hosts of priority range <pr> under one row per locality, in order of first appearance. */
static void priority_rows(FILE *out, const struct cw_upstream_cluster *uc,
                          const struct cw_priority_range *pr, uint64_t now)
{
    uint32_t end = pr->first + pr->n;
    for (uint32_t i = pr->first; i < end; i++) {
        if (shown_before(uc, pr->first, i))
            continue;
        fputs("<tr><th colspan=\"6\">locality ", out);
        html(out, uc->hosts[i].locality);
        fputs("</th></tr>\n", out);
        for (uint32_t j = i; j < end; j++) {
            if (strcmp(uc->hosts[j].locality, uc->hosts[i].locality) != 0)
                continue;
            struct cw_endpoint_view v;
            cw_admin_endpoint_view(&uc->hosts[j], now, &v);
            endpoint_row(out, &v);
        }
    }
}

/* One table per priority, with the load share it gets now. */
static void cluster_section(FILE *out, const struct cw_upstream_cluster *uc, uint64_t now)
{
    uint32_t load[CW_MAX_PRIORITIES];
    cw_admin_priority_loads(uc, load);
    fputs("<h2>", out);
    html(out, uc->cluster->name);
    fprintf(out, "</h2>\n<p class=\"muted\">%s%u endpoint(s), %u ejected</p>\n",
            uc->outlier ? "outlier detection on; " : "", uc->n_hosts, uc->n_ejected);
    for (uint32_t p = 0; p < uc->n_priorities; p++) {
        fprintf(out,
                "<table><caption>priority %u: %u%% of the traffic</caption>\n"
                "<tr><th>endpoint</th><th>state</th><th>ejections</th><th>in flight</th>"
                "<th>requests</th><th>failures</th></tr>\n",
                p, load[p]);
        priority_rows(out, uc, &uc->priorities[p], now);
        fputs("</table>\n", out);
    }
}

void cw_admin_page(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    r->content_type = "text/html; charset=utf-8";
    head(r->out, src);
    const struct cw_upstreams *u = src->gen->upstreams;
    uint64_t now = uv_now(r->loop);
    for (uint32_t c = 0; c < u->n; c++)
        cluster_section(r->out, &u->clusters[c], now);
    if (u->n == 0)
        fputs("<p>No service is served.</p>\n", r->out);
    fputs("</body></html>\n", r->out);
}
