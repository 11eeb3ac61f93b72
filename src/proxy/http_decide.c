#include "proxy/http_decide.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/path.h"
#include "proxy/proxy_int.h"
#include "proxy/router.h"
#include "util/regex.h"

static void answer(struct cw_http_decision *d, int status, const char *body, bool text)
{
    d->status = status;
    d->body = body;
    d->text = text;
}

static struct cw_span strip_port(struct cw_span host)
{
    if (host.len && host.p[0] == '[') { /* [::1]:8080 */
        const char *close = memchr(host.p, ']', host.len);
        return close ? (struct cw_span){host.p, (size_t)(close - host.p + 1)} : host;
    }
    const char *colon = memchr(host.p, ':', host.len);
    return colon ? (struct cw_span){host.p, (size_t)(colon - host.p)} : host;
}

static void redirect(struct cw_http_decision *d, const struct cw_route *r, struct cw_span host,
                     struct cw_span path)
{
    const struct cw_redirect *rd = &r->http->redirect;
    int n = snprintf(d->extra, sizeof(d->extra), "Location: http://%.*s%.*s\r\n",
                     (int)(rd->host ? strlen(rd->host) : host.len), rd->host ? rd->host : host.p,
                     (int)(rd->path ? strlen(rd->path) : path.len), rd->path ? rd->path : path.p);
    if (n < 0 || (size_t)n >= sizeof(d->extra)) {
        d->extra[0] = '\0';
        answer(d, 500, "redirect target too long", true);
        return;
    }
    answer(d, (int)rd->code, NULL, false);
}

/* httpsRedirect (§4.2): the same host (its port dropped: https is on its own port) and target
 * over https. The host passed host_problem's character check, the target the path's. */
static void redirect_to_https(struct cw_http_decision *d, struct cw_span host,
                              struct cw_span target)
{
    int n = snprintf(d->extra, sizeof(d->extra), "Location: https://%.*s%.*s\r\n", (int)host.len,
                     host.p, (int)target.len, target.p);
    if (n < 0 || (size_t)n >= sizeof(d->extra)) {
        d->extra[0] = '\0';
        answer(d, 414, "request target too long to redirect", true);
        return;
    }
    answer(d, 301, NULL, false);
}

/* RFC 9112 §6.3: a request whose Transfer-Encoding does not end with chunked has no
 * reliable length; it must get 400 and a close rather than a guess. */
static bool chunked_last(const llhttp_t *p, const struct cw_http_head *h)
{
    if (!(p->flags & F_TRANSFER_ENCODING))
        return true;
    const struct cw_span *te = cw_http_header(h, "transfer-encoding");
    if (!te)
        return true;
    size_t n = te->len;
    while (n && (te->p[n - 1] == ' ' || te->p[n - 1] == '\t'))
        n--;
    return n >= 7 && strncasecmp(te->p + n - 7, "chunked", 7) == 0 &&
           (n == 7 || te->p[n - 8] == ',' || te->p[n - 8] == ' ' || te->p[n - 8] == '\t');
}

/* The path sent upstream: pathRewrite on the matched prefix or exact path, or regexRewrite. */
static struct cw_span rewrite_path(const struct cw_route *r, int matcher, struct cw_span path,
                                   struct cw_span query, char *out, size_t out_size)
{
    const struct cw_forward_to *f = r->forward;
    struct cw_span target = {path.p,
                             path.len + (query.len || path.p[path.len] == '?' ? query.len + 1 : 0)};
    size_t keep = 0; /* bytes of the old path replaced */
    const char *with = NULL;
    if (f && f->path_rewrite && matcher >= 0) {
        const struct cw_http_matcher *m = &r->http->matchers.v[matcher];
        keep = m->uri_kind == CW_URI_PREFIX ? strlen(m->uri) : path.len;
        with = f->path_rewrite;
    }
    if (f && r->rewrite_regex) {
        size_t n = out_size;
        if (cw_regex_replace(r->rewrite_regex, path.p, path.len, out, &n) == 0 &&
            n + 1 + query.len < out_size) {
            if (query.len) {
                out[n++] = '?';
                memcpy(out + n, query.p, query.len);
                n += query.len;
            }
            return (struct cw_span){out, n};
        }
        return target;
    }
    if (!with)
        return target;
    size_t wl = strlen(with), rest = target.len - keep;
    if (wl + rest >= out_size)
        return target;
    memcpy(out, with, wl);
    memcpy(out + wl, target.p + keep, rest);
    return (struct cw_span){out, wl + rest};
}

/* RFC 3986 §3.2.2 and §3.2.3: what a Host value (host and optional port) may hold. A value with
 * a space, a quote or '@' names no host: the upstream and the access log must not see it. */
static bool host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~%!$&'()*+,;=:[]", c) != NULL);
}

/* Why the request's Host header is unusable, or NULL. RFC 9112 §3.2: a request without one,
 * with more than one (the upstream might route by another than causeway did) or with an
 * invalid value gets 400. */
static const char *host_problem(const struct cw_http_head *h, const struct cw_span **host)
{
    *host = NULL;
    for (uint32_t i = 0; i < h->n_headers; i++) {
        if (!cw_span_is_lower(h->headers[i].name, "host", 4))
            continue;
        if (*host)
            return "malformed request: more than one Host header";
        *host = &h->headers[i].value;
    }
    if (!*host)
        return "missing Host header";
    for (size_t i = 0; i < (*host)->len; i++)
        if (!host_char((unsigned char)(*host)->p[i]))
            return "malformed request: invalid Host header";
    return NULL;
}

static const char *upstream_host_header(const struct cw_route *r, const struct cw_cluster *cl)
{
    const struct cw_forward_to *f = r ? r->forward : NULL;
    if (f && f->host_rewrite)
        return f->host_rewrite;
    if (f && f->auto_host_rewrite && cl->host)
        return cl->host;
    return NULL;
}

/* The request target that <req>'s path and query were split from: path, then '?' and the query
 * when the target had a '?' (the byte after the path says so). */
static struct cw_span whole_target(const struct cw_route_request *req)
{
    bool has_query = req->path.p[req->path.len] == '?';
    return (struct cw_span){req->path.p, req->path.len + (has_query ? req->query.len + 1 : 0)};
}

bool cw_http_wants_upgrade(const llhttp_t *p)
{
    return p->upgrade && p->method != HTTP_CONNECT;
}

/* <req>'s path and query point into the normalised request target, which an exposed service
 * (no route, no rewrite) gets whole. */
static void forward(struct cw_http_decision *d, const llhttp_t *p, const struct cw_route *r,
                    int matcher, const struct cw_route_request *req, const struct cw_cluster *cl,
                    const struct cw_http_head *head, const struct cw_snapshot_listener *l,
                    const char *client_ip, struct cw_out *out)
{
    d->route = r;
    d->cluster = cl;
    if (!cl) {
        answer(d, 503, "no healthy upstream", true);
        return;
    }
    char path_buf[8192];
    struct cw_span target =
        r ? rewrite_path(r, matcher, req->path, req->query, path_buf, sizeof(path_buf))
          : whole_target(req);
    struct cw_forward_head fh = {
        .method = req->method,
        .path = target,
        .host = upstream_host_header(r, cl),
        .client_ip = client_ip,
        .client_tls = l->tls != NULL,
        .request_id = d->request_id,
        .upgrade = cw_http_wants_upgrade(p),
    };
    cw_http_write_request_head(out, head, &fh);
}

void cw_http_decide(struct cw_http_decision *d, const llhttp_t *p, const struct cw_http_head *head,
                    const struct cw_snapshot_listener *l, uint64_t max_body,
                    const char *client_ip, struct cw_worker *w, struct cw_request_ids *ids,
                    struct cw_out *out)
{
    memset(d, 0, offsetof(struct cw_http_decision, request_id));
    d->extra[0] = '\0';
    cw_request_id(head, ids, d->request_id);
    struct cw_route_request req = {.method = llhttp_method_name((llhttp_method_t)p->method),
                                   .head = head,
                                   .port = l->port};
    /* A CONNECT asks for a tunnel to the host it names, which no route here describes; llhttp
     * hands over whatever follows its head as tunnel bytes, so nothing after it can be read as
     * a request either. */
    if (p->method == HTTP_CONNECT) {
        answer(d, 501, "CONNECT is not supported", true);
        d->close = true;
        return;
    }
    const struct cw_span *host;
    const char *why = host_problem(head, &host);
    if (why) {
        answer(d, 400, why, true);
        return;
    }
    /* Routing and the upstream see the path as the origin will resolve it. The head's spans
     * point into the connection's buffer, which stays as it came; the target normalised here
     * lives as long as this call, which writes the forwarded head. */
    char target_buf[CW_HTTP_MAX_HEAD + 1];
    struct cw_span target;
    int rc = cw_path_normalize_target(head->url, target_buf, sizeof(target_buf), &target);
    if (rc != 0) { /* no room cannot happen: the target came in a head of at most that size */
        answer(d, 400,
               rc == CW_PATH_ABOVE_ROOT ? "malformed request: path climbs above /"
                                        : "malformed request: request target too long",
               true);
        return;
    }
    if (l->https_redirect) {
        redirect_to_https(d, strip_port(*host), target);
        return;
    }
    cw_router_split_target(target, &req.path, &req.query);
    if (max_body && (p->flags & F_CONTENT_LENGTH) && p->content_length > max_body) {
        answer(d, 413, "request body too large", true);
        d->close = true; /* the body is not read: only a close keeps framing safe */
        return;
    }
    if (!chunked_last(p, head)) {
        answer(d, 400, "malformed request: Transfer-Encoding must end with chunked", true);
        d->close = true;
        return;
    }
    req.host = strip_port(*host);
    const struct cw_virtual_host *vh = cw_router_vhost(l, req.host);
    if (!vh) {
        const struct cw_cluster *cl = cw_router_exposed(l, req.host);
        if (cl)
            forward(d, p, NULL, -1, &req, cl, head, l, client_ip, out);
        else
            answer(d, 404, "no route: unknown host", true);
        return;
    }
    int matcher = -1;
    const struct cw_route *r = cw_router_match(vh, &req, &matcher);
    d->route = r;
    if (!r) {
        answer(d, 404, "no route matches", true);
        return;
    }
    switch (r->kind) {
    case CW_ROUTE_FAILED:
        answer(d, 500, r->failure, true);
        return;
    case CW_ROUTE_DIRECT_RESPONSE:
        answer(d, (int)r->http->direct.status, r->http->direct.body, false);
        return;
    case CW_ROUTE_REDIRECT:
        redirect(d, r, req.host, req.path);
        return;
    case CW_ROUTE_FORWARD:
        forward(d, p, r, matcher, &req, cw_worker_pick_cluster(w, r), head, l, client_ip, out);
        return;
    }
}
