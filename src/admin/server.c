/*
 * The admin server: HTTP/1.1 on the control thread's loop, one request per connection.
 *
 * It shares its thread with reloads and ejections, so nothing a client does may hold that
 * thread: a request head is at most ADMIN_MAX_HEAD bytes (else 431), a connection lives at
 * most ADMIN_DEADLINE_MS from accept whatever it does (a slow sender or a reader that never
 * reads is closed), at most ADMIN_MAX_CONNS connections are served at once (more are closed at
 * accept), and every answer is made in one go from memory and written without blocking.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin_int.h"
#include "util/netaddr.h"
#include "util/event_log.h"
#include "util/xalloc.h"

#define ADMIN_MAX_HEAD 8192
#define ADMIN_DEADLINE_MS 10000
#define ADMIN_MAX_CONNS 32

struct cw_admin {
    uv_tcp_t listener;
    uv_loop_t *loop;
    const struct cw_admin_source *src;
    struct admin_conn *conns; /* open connections, to close them on stop */
    unsigned n_conns;
    bool stopping;
};

struct admin_conn {
    uv_tcp_t tcp;
    uv_timer_t deadline;
    uv_write_t write;
    uv_shutdown_t shutdown;
    struct cw_admin *admin;
    struct admin_conn *prev, *next;
    char head[ADMIN_MAX_HEAD];
    size_t len;
    char *reply; /* head and body, written once */
    size_t reply_len;
    int open_handles;
    bool answered, closing;
};

/* ---- lifetime ---- */

static void on_conn_handle_closed(uv_handle_t *h)
{
    struct admin_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    free(c->reply);
    free(c);
}

static void close_conn(struct admin_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct cw_admin *a = c->admin;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->n_conns--;
    uv_close((uv_handle_t *)&c->deadline, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
    close_conn(t->data);
}

/* ---- answering ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    close_conn(req->data);
}

static void on_written(uv_write_t *req, int status)
{
    struct admin_conn *c = req->data;
    if (status < 0 || c->closing || uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown))
        close_conn(c);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* Sends <status> with <body> (<len> bytes) and closes; a HEAD request gets the head only. */
static void answer(struct admin_conn *c, int status, const char *type, const char *body,
                   size_t len, bool head_only)
{
    if (c->answered || c->closing)
        return;
    c->answered = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "%sConnection: close\r\n\r\n",
                     status, reason_phrase(status), type, len,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "");
    c->reply_len = (size_t)n + (head_only ? 0 : len);
    c->reply = cw_xmalloc(c->reply_len + 1);
    memcpy(c->reply, head, (size_t)n);
    if (!head_only)
        memcpy(c->reply + n, body, len);
    uv_buf_t buf = uv_buf_init(c->reply, (unsigned)c->reply_len);
    c->write.data = c;
    c->shutdown.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0)
        close_conn(c);
}

static void answer_text(struct admin_conn *c, int status, const char *text, bool head_only)
{
    answer(c, status, "text/plain; charset=utf-8", text, strlen(text), head_only);
}

static void events_handler(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    cw_event_log_write_json(src->events, r->out);
}

static void ready_handler(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    bool ready = src->serving && !src->draining;
    r->status = ready ? 200 : 503;
    r->content_type = "text/plain; charset=utf-8";
    fputs(ready ? "ready\n" : src->draining ? "draining\n" : "starting\n", r->out);
}

static void healthz_handler(const struct cw_admin_source *src, struct cw_admin_reply *r)
{
    (void)src;
    r->content_type = "text/plain; charset=utf-8";
    fputs("ok\n", r->out);
}

static const struct {
    const char *path;
    cw_admin_handler handler;
} routes[] = {
    {"/", cw_admin_page},
    {"/ready", ready_handler},
    {"/healthz", healthz_handler},
    {"/metrics", cw_admin_metrics},
    {"/clusters", cw_admin_clusters},
    {"/config_dump", cw_admin_config_dump},
    {"/status", cw_admin_status},
    {"/events", events_handler},
};

static void serve_path(struct admin_conn *c, const char *path, bool head_only)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(path, routes[i].path) != 0)
            continue;
        char *body = NULL;
        size_t len = 0;
        struct cw_admin_reply r = {.status = 200,
                                   .content_type = "application/json",
                                   .loop = c->admin->loop};
        r.out = open_memstream(&body, &len);
        if (!r.out) {
            answer_text(c, 500, "out of memory\n", head_only);
            return;
        }
        routes[i].handler(c->admin->src, &r);
        fclose(r.out);
        answer(c, r.status, r.content_type, body, len, head_only);
        free(body);
        return;
    }
    answer_text(c, 404, "not found; see / for the admin endpoints\n", head_only);
}

/*
 * Whether the Host header of <headers> (the head after the request line) names this server by
 * address: an IP literal ("127.0.0.1:9901", "[::1]:9901") or localhost, or no Host at all
 * (HTTP/1.0 probes). A name is refused: a web page the operator opens could point its own name
 * at 127.0.0.1 (DNS rebinding) and read /config_dump through the operator's browser, which
 * always sends the page's name as Host.
 */
static bool host_allowed(const char *headers)
{
    const char *h = headers;
    while ((h = strchr(h, '\n')) != NULL) {
        h++;
        if (strncasecmp(h, "host:", 5) != 0)
            continue;
        h += 5;
        h += strspn(h, " \t");
        size_t len = strcspn(h, " \t\r\n");
        char host[300];
        if (len == 0 || len >= sizeof(host))
            return false;
        memcpy(host, h, len);
        host[len] = '\0';
        char *name = host;
        if (host[0] == '[') { /* [v6]:port */
            char *close = strchr(host, ']');
            if (!close || (close[1] != '\0' && close[1] != ':'))
                return false;
            *close = '\0';
            name = host + 1;
        } else {
            char *colon = strchr(host, ':');
            if (colon)
                *colon = '\0';
        }
        return cw_ip_literal(name) || !strcasecmp(name, "localhost");
    }
    return true;
}

/* The request line of a complete head: "GET /path?query HTTP/1.1". */
static void serve(struct admin_conn *c)
{
    char method[8], target[1024], version[16];
    char *line_end = memchr(c->head, '\n', c->len);
    if (!host_allowed(line_end)) {
        answer_text(c, 403, "the admin API answers requests for an IP address or localhost "
                            "only (Host), not for a name\n", false);
        return;
    }
    *line_end = '\0';
    if (sscanf(c->head, "%7s %1023s %15s", method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
        answer_text(c, 400, "malformed request\n", false);
        return;
    }
    bool head_only = !strcmp(method, "HEAD");
    if (strcmp(method, "GET") != 0 && !head_only) {
        answer_text(c, 405, "only GET and HEAD\n", false);
        return;
    }
    target[strcspn(target, "?#")] = '\0';
    serve_path(c, target, head_only);
}

/* ---- reading the request head ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct admin_conn *c = h->data;
    *buf = uv_buf_init(c->head + c->len, (unsigned)(sizeof(c->head) - 1 - c->len));
}

static bool head_complete(const struct admin_conn *c)
{
    return memmem(c->head, c->len, "\r\n\r\n", 4) || memmem(c->head, c->len, "\n\n", 2);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct admin_conn *c = s->data;
    if (nread < 0) {
        close_conn(c);
        return;
    }
    c->len += (size_t)nread;
    c->head[c->len] = '\0';
    if (head_complete(c))
        serve(c);
    else if (c->len >= sizeof(c->head) - 1)
        answer_text(c, 431, "request head too large\n", false);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct cw_admin *a = server->data;
    if (status < 0)
        return;
    struct admin_conn *c = cw_xcalloc(1, sizeof(*c));
    c->admin = a;
    uv_tcp_init(a->loop, &c->tcp);
    uv_timer_init(a->loop, &c->deadline);
    c->tcp.data = c->deadline.data = c;
    c->open_handles = 2;
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || a->n_conns > ADMIN_MAX_CONNS) {
        close_conn(c);
        return;
    }
    uv_timer_start(&c->deadline, on_deadline, ADMIN_DEADLINE_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        close_conn(c);
}

/* ---- the listener ---- */

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data); /* the struct cw_admin */
}

static int parse_addr(const char *text, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof(host))
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    if (host[0] == '[') { /* [::1]:9901 */
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            return -1;
        host[n - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ? 0 : -1;
}

struct cw_admin *cw_admin_start(uv_loop_t *loop, const char *addr, const struct cw_admin_source *src,
                                char *err, size_t err_size)
{
    struct sockaddr_storage ss = {0};
    if (parse_addr(addr, &ss) != 0) {
        snprintf(err, err_size, "--admin %s: give ADDR:PORT with an IP address (127.0.0.1:9901, "
                                "[::1]:9901) or off", addr);
        return NULL;
    }
    struct cw_admin *a = cw_xcalloc(1, sizeof(*a));
    a->loop = loop;
    a->src = src;
    uv_tcp_init(loop, &a->listener);
    a->listener.data = a;
    int rc = uv_tcp_bind(&a->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&a->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(err, err_size, "admin address %s: %s%s", addr, uv_strerror(rc),
                 rc == UV_EADDRINUSE ? " (another process has it; choose another with --admin "
                                       "ADDR:PORT, or --admin off)"
                                     : "");
        uv_close((uv_handle_t *)&a->listener, on_listener_closed);
        return NULL;
    }
    return a;
}

void cw_admin_stop(struct cw_admin *a)
{
    if (!a)
        return;
    while (a->conns)
        close_conn(a->conns);
    uv_close((uv_handle_t *)&a->listener, on_listener_closed);
}
