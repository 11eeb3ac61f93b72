#include "http/head.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* Spans arriving in several callbacks are adjacent in the read buffer, so they are extended. */
static void extend(struct cw_span *s, const char *at, size_t len)
{
    if (!s->p)
        s->p = at;
    s->len = (size_t)(at + len - s->p);
}

static int on_message_begin(llhttp_t *p)
{
    /* Only what a new head reads is reset: clearing all 100 header slots costs more than the
     * rest of the parse. */
    struct cw_http_head *h = p->data;
    h->url = (struct cw_span){NULL, 0};
    h->reason = (struct cw_span){NULL, 0};
    h->n_headers = 0;
    h->too_many_headers = false;
    h->in_name = false;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    extend(&((struct cw_http_head *)p->data)->url, at, len);
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    extend(&((struct cw_http_head *)p->data)->reason, at, len);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct cw_http_head *h = p->data;
    if (!h->in_name) { /* the previous field is complete: this one starts a new header */
        if (h->n_headers == CW_HTTP_MAX_HEADERS) {
            h->too_many_headers = true;
            return HPE_USER;
        }
        struct cw_header *hd = &h->headers[h->n_headers++];
        hd->name = (struct cw_span){NULL, 0};
        hd->value = (struct cw_span){"", 0};
        h->in_name = true;
    }
    extend(&h->headers[h->n_headers - 1].name, at, len);
    return 0;
}

/* A line ": value" has an empty name, which llhttp (even strict) accepts. RFC 9110 §5.1 names
 * are tokens of one character or more, and the next hop might read the line as the
 * continuation of another or as a header named by what the value holds: refuse it (400). The
 * check is here rather than when the name completes because llhttp keeps the reason a data
 * callback gives, and replaces a completion callback's with its own. */
static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct cw_http_head *h = p->data;
    if (h->headers[h->n_headers - 1].name.len == 0) {
        llhttp_set_error_reason(p, "empty header name");
        return HPE_USER;
    }
    struct cw_span *v = &h->headers[h->n_headers - 1].value;
    if (v->len == 0)
        v->p = NULL; /* replace the "" placeholder */
    extend(v, at, len);
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    struct cw_http_head *h = p->data;
    /* llhttp announces every name, an empty one too (with no bytes); a name completed without
     * one would leave its value to be written over the previous header's. */
    if (!h->in_name)
        return -1; /* HPE_CB_HEADER_FIELD_COMPLETE */
    h->in_name = false;
    return 0;
}

/* A value folded over several lines (obs-fold) is refused: 400 for a request, 502 for a
 * response. RFC 9112 §5.2 lets a proxy refuse or unfold it, and forwarding it as it came would
 * hand the next hop a line that it may read as a header of its own. */
static int on_header_value_complete(llhttp_t *p)
{
    struct cw_http_head *h = p->data;
    struct cw_span v = h->headers[h->n_headers - 1].value;
    if (v.len && memchr(v.p, '\n', v.len)) {
        llhttp_set_error_reason(p, "header value folded over several lines (obs-fold)");
        return HPE_USER;
    }
    return 0;
}

static int pause_here(llhttp_t *p)
{
    (void)p;
    return HPE_PAUSED;
}

/* llhttp reads a request line without a version ("GET /x") as HTTP/0.9 and then headers after
 * it. HTTP/0.9 has no headers, and forwarded as HTTP/1.1 it would reach the upstream as another
 * request than the one refused or routed here: refuse it (400). */
static int on_headers_complete(llhttp_t *p)
{
    if (p->type == HTTP_REQUEST && p->http_major == 0)
        return -1; /* HPE_CB_HEADERS_COMPLETE */
    return HPE_PAUSED;
}

const llhttp_settings_t cw_http_head_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = pause_here,
};

static bool span_is(struct cw_span s, const char *text, size_t len)
{
    return s.len == len && strncasecmp(s.p, text, len) == 0;
}

bool cw_span_eq(struct cw_span s, const char *text)
{
    return span_is(s, text, strlen(text));
}

const struct cw_span *cw_http_header(const struct cw_http_head *h, const char *name)
{
    size_t len = strlen(name);
    for (uint32_t i = 0; i < h->n_headers; i++)
        if (span_is(h->headers[i].name, name, len))
            return &h->headers[i].value;
    return NULL;
}

void cw_out_grow(struct cw_out *o, size_t n)
{
    o->cap = (o->len + n) * 2 + 256;
    if (o->borrowed) { /* out of the owner's space: on to malloc's */
        char *p = cw_xmalloc(o->cap);
        memcpy(p, o->p, o->len);
        o->p = p;
        o->borrowed = false;
        return;
    }
    o->p = cw_xrealloc(o->p, o->cap);
}

void cw_out_str(struct cw_out *o, const char *s)
{
    cw_out_put(o, s, strlen(s));
}

void cw_out_free(struct cw_out *o)
{
    if (!o->borrowed)
        free(o->p);
    *o = (struct cw_out){0};
}

static void put_span(struct cw_out *o, struct cw_span s)
{
    cw_out_put(o, s.p, s.len);
}

/* A header name with its length known at compile time: every header of every message is
 * compared with several of these, so the length test comes first and no strlen runs. */
struct known_name {
    const char *text;
    size_t len;
};
#define KNOWN(s)                                                                                   \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }

static bool is_name(struct cw_span s, const struct known_name *n)
{
    return cw_span_is_lower(s, n->text, n->len);
}

/* Hop-by-hop headers (RFC 9110 §7.6.1). Transfer-Encoding and Content-Length stay: bodies are
 * forwarded with their framing. */
static const struct known_name hop_names[] = {
    KNOWN("connection"), KNOWN("keep-alive"), KNOWN("proxy-connection"),
    KNOWN("te"),         KNOWN("trailer"),    KNOWN("upgrade"),
};
static const struct known_name name_connection = KNOWN("connection");
static const struct known_name name_host = KNOWN("host");
static const struct known_name name_upgrade = KNOWN("upgrade");
static const struct known_name name_xff = KNOWN("x-forwarded-for");
static const struct known_name name_xfp = KNOWN("x-forwarded-proto");
static const struct known_name name_request_id = KNOWN("x-request-id");

/* The names a Connection header lists ("Connection: close, x-secret"): those headers are
 * hop-by-hop too. Split once per head, not once per header. */
#define MAX_LISTED 16
struct connection_list {
    struct cw_span names[MAX_LISTED];
    unsigned n;
    const struct cw_span *unsplit; /* more names than fit: the value, searched per header */
};

/* The next comma- or space-separated name of [*p, end), advancing *p; empty at the end. */
static struct cw_span next_listed(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == ',' || **p == '\t'))
        (*p)++;
    const char *start = *p;
    while (*p < end && **p != ',' && **p != ' ' && **p != '\t')
        (*p)++;
    return (struct cw_span){start, (size_t)(*p - start)};
}

static void split_connection(const struct cw_http_head *h, struct connection_list *l)
{
    l->n = 0;
    l->unsplit = NULL;
    const struct cw_span *conn = NULL;
    for (uint32_t i = 0; i < h->n_headers && !conn; i++)
        if (is_name(h->headers[i].name, &name_connection))
            conn = &h->headers[i].value;
    if (!conn)
        return;
    const char *p = conn->p, *end = conn->p + conn->len;
    for (struct cw_span t = next_listed(&p, end); t.len; t = next_listed(&p, end)) {
        if (l->n == MAX_LISTED) {
            l->unsplit = conn;
            return;
        }
        l->names[l->n++] = t;
    }
}

static bool listed(const struct connection_list *l, struct cw_span name)
{
    if (l->unsplit) {
        const char *p = l->unsplit->p, *end = p + l->unsplit->len;
        for (struct cw_span t = next_listed(&p, end); t.len; t = next_listed(&p, end))
            if (span_is(name, t.p, t.len))
                return true;
        return false;
    }
    for (unsigned i = 0; i < l->n; i++)
        if (span_is(name, l->names[i].p, l->names[i].len))
            return true;
    return false;
}

/* Headers that a Connection list can never remove: the message's framing and its Host. A
 * request with "Connection: content-length" would otherwise reach the upstream with a body and
 * no length, and the body would be read there as a second request of the client's choosing
 * (smuggling); a response likewise would reach the client unframed. HAProxy and nginx hold
 * these too. */
static const struct known_name protected_names[] = {
    KNOWN("content-length"),
    KNOWN("transfer-encoding"),
    KNOWN("host"),
};

static bool is_protected(struct cw_span name)
{
    for (size_t i = 0; i < sizeof(protected_names) / sizeof(protected_names[0]); i++)
        if (is_name(name, &protected_names[i]))
            return true;
    return false;
}

static bool hop_by_hop(const struct connection_list *l, struct cw_span name)
{
    switch (name.len) { /* most names have none of these lengths: no comparison at all */
    case 2:
    case 7:
    case 10:
    case 16:
        for (size_t i = 0; i < sizeof(hop_names) / sizeof(hop_names[0]); i++)
            if (is_name(name, &hop_names[i]))
                return true;
    }
    return (l->n || l->unsplit) && listed(l, name) && !is_protected(name);
}

/* Header lines are copied as they arrived, and adjacent kept lines in one piece. The spans
 * point into the buffer the head was parsed from, where every header line ends in CRLF (both
 * parsers accept nothing else), so a line ends at the first LF after its value. */
struct line_run {
    const char *start, *end;
};

static const char *line_end_of(const struct cw_header *hd)
{
    const char *p = hd->value.len ? hd->value.p + hd->value.len : hd->name.p + hd->name.len;
    while (*p != '\n')
        p++;
    return p + 1;
}

static void run_flush(struct cw_out *o, struct line_run *r)
{
    if (r->start)
        cw_out_put(o, r->start, (size_t)(r->end - r->start));
    r->start = r->end = NULL;
}

static void run_add(struct cw_out *o, struct line_run *r, const struct cw_header *hd)
{
    if (r->end != hd->name.p) {
        run_flush(o, r);
        r->start = hd->name.p;
    }
    r->end = line_end_of(hd);
}

void cw_http_write_request_head(struct cw_out *o, const struct cw_http_head *h,
                                const struct cw_forward_head *f)
{
    cw_out_str(o, f->method);
    cw_out_lit(o, " ");
    put_span(o, f->path);
    cw_out_lit(o, " HTTP/1.1\r\n");
    const struct cw_span *xff = NULL;
    struct connection_list conn;
    split_connection(h, &conn);
    struct line_run run = {NULL, NULL};
    for (uint32_t i = 0; i < h->n_headers; i++) {
        const struct cw_header *hd = &h->headers[i];
        bool kept_upgrade = f->upgrade && is_name(hd->name, &name_upgrade);
        if ((hop_by_hop(&conn, hd->name) && !kept_upgrade) || is_name(hd->name, &name_xfp))
            continue;
        if (f->request_id && is_name(hd->name, &name_request_id))
            continue; /* the id the gateway decided on goes instead (below) */
        if (is_name(hd->name, &name_xff)) {
            xff = &hd->value;
            continue;
        }
        if (f->host && is_name(hd->name, &name_host))
            continue;
        run_add(o, &run, hd);
    }
    run_flush(o, &run);
    if (f->upgrade) /* the one hop-by-hop request a proxy passes on, named anew */
        cw_out_lit(o, "Connection: upgrade\r\n");
    if (f->host) {
        cw_out_lit(o, "Host: ");
        cw_out_str(o, f->host);
        cw_out_lit(o, "\r\n");
    }
    if (f->request_id) {
        cw_out_lit(o, "X-Request-Id: ");
        cw_out_str(o, f->request_id);
        cw_out_lit(o, "\r\n");
    }
    cw_out_lit(o, "X-Forwarded-For: ");
    if (xff) {
        put_span(o, *xff);
        cw_out_lit(o, ", ");
    }
    cw_out_str(o, f->client_ip);
    if (f->client_tls)
        cw_out_lit(o, "\r\nX-Forwarded-Proto: https\r\n\r\n");
    else
        cw_out_lit(o, "\r\nX-Forwarded-Proto: http\r\n\r\n");
}

void cw_http_write_response_head(struct cw_out *o, int st, const struct cw_http_head *h, bool close)
{
    char line[16] = "HTTP/1.1 000 ";
    line[9] = (char)('0' + st / 100 % 10);
    line[10] = (char)('0' + st / 10 % 10);
    line[11] = (char)('0' + st % 10);
    cw_out_put(o, line, 13);
    put_span(o, h->reason);
    cw_out_lit(o, "\r\n");
    /* A 101 switches the connection to the protocol its Upgrade header names: both go on. */
    bool upgrade = st == 101;
    struct connection_list conn;
    split_connection(h, &conn);
    struct line_run run = {NULL, NULL};
    for (uint32_t i = 0; i < h->n_headers; i++)
        if (!hop_by_hop(&conn, h->headers[i].name) ||
            (upgrade && is_name(h->headers[i].name, &name_upgrade)))
            run_add(o, &run, &h->headers[i]);
    run_flush(o, &run);
    if (upgrade)
        cw_out_lit(o, "Connection: upgrade\r\n");
    else if (close)
        cw_out_lit(o, "Connection: close\r\n");
    cw_out_lit(o, "\r\n");
}

const char *cw_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Unknown";
    }
}

void cw_http_write_local_reply(struct cw_out *o, int status, const char *body, bool body_is_text,
                               const char *extra, bool close)
{
    char head[256];
    size_t blen = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Server: causeway\r\n%s",
                     status, cw_http_status_text(status), blen + (body_is_text && body ? 1 : 0),
                     close ? "Connection: close\r\n" : "");
    cw_out_put(o, head, (size_t)n);
    if (extra)
        cw_out_str(o, extra);
    cw_out_lit(o, "\r\n");
    if (body) {
        cw_out_put(o, body, blen);
        if (body_is_text)
            cw_out_lit(o, "\n");
    }
}
