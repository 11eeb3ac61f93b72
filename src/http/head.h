/*
 * HTTP/1.1 message heads (the http codec, no sockets): llhttp callbacks that record the request line or
 * status line and the headers as views into the connection's read buffer, and the functions
 * that write the head causeway sends on (hop-by-hop headers removed, X-Forwarded-* added).
 */
#ifndef CW_HTTP_HEAD_H
#define CW_HTTP_HEAD_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CW_HTTP_MAX_HEADERS 100

/* The largest request or response head accepted, and the read buffer of a message in hand. */
#define CW_HTTP_MAX_HEAD (32 * 1024)

struct cw_span {
    const char *p;
    size_t len;
};

struct cw_header {
    struct cw_span name, value;
};

struct cw_http_head {
    struct cw_span url;    /* request target */
    struct cw_span reason; /* response reason phrase */
    struct cw_header headers[CW_HTTP_MAX_HEADERS];
    uint32_t n_headers;
    bool too_many_headers;
    bool in_name; /* a header name is being received (it may arrive in several pieces) */
};

/* llhttp settings for requests and responses; their data pointer must be a cw_http_head. The
 * callbacks pause the parser when the head is complete and when the message is complete. */
extern const llhttp_settings_t cw_http_head_settings;

/* The value of header <name> (case-insensitive), or NULL. */
const struct cw_span *cw_http_header(const struct cw_http_head *h, const char *name);

/* Case-insensitive comparison of a span with a NUL-terminated string. */
bool cw_span_eq(struct cw_span s, const char *text);

/* Case-insensitive comparison of a span with <lower>, <n> bytes of lowercase letters, digits and
 * '-' (a known header name). Inline, with no library call: header names are compared with
 * several of these on every message. Exact for any span without control bytes. */
static inline bool cw_span_is_lower(struct cw_span s, const char *lower, size_t n)
{
    if (s.len != n)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)((s.p[i] | 0x20) ^ lower[i]);
    return diff == 0;
}

/* A growable output buffer for heads. */
struct cw_out {
    char *p;
    size_t len, cap;
    bool borrowed; /* <p> is the owner's space (cw_out_borrow), not malloc's: never freed */
};

/* Starts <o> empty on <space> (<cap> bytes) that its owner keeps; growing past it moves the
 * bytes to malloc'd memory. Spares the allocations of a short head per message. */
static inline void cw_out_borrow(struct cw_out *o, char *space, size_t cap)
{
    *o = (struct cw_out){.p = space, .cap = cap, .borrowed = true};
}

void cw_out_grow(struct cw_out *o, size_t n);

/* Inline: most pieces are short constants, which the compiler then copies without a call. */
static inline void cw_out_put(struct cw_out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap)
        cw_out_grow(o, n);
    if (n) /* memcpy from NULL is undefined even for no bytes */
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* A string literal, its length counted by the compiler. */
#define cw_out_lit(o, literal) cw_out_put((o), (literal), sizeof(literal) - 1)

void cw_out_str(struct cw_out *o, const char *s);
void cw_out_free(struct cw_out *o);

/* What a forwarded request head needs besides the parsed head. */
struct cw_forward_head {
    const char *method;
    struct cw_span path; /* possibly rewritten request target */
    const char *host;    /* Host to send (rewritten), or NULL to keep the client's */
    const char *client_ip;
    bool client_tls; /* the client's connection is TLS: X-Forwarded-Proto says https */
    const char *request_id; /* sent as X-Request-Id in place of the client's, or NULL */
    bool upgrade; /* the client asks to switch protocols: Upgrade goes on, with Connection */
};

/* Writes the request head sent upstream into <o>. */
void cw_http_write_request_head(struct cw_out *o, const struct cw_http_head *h,
                                const struct cw_forward_head *f);

/* Writes the response head sent to the client (status <status>): hop-by-hop headers removed,
 * and "Connection: close" when <close> is set; a 101 keeps its Upgrade header and says
 * "Connection: upgrade". */
void cw_http_write_response_head(struct cw_out *o, int status, const struct cw_http_head *h,
                                 bool close);

/* A complete local reply: status line, text/plain body "<reason>\n", Content-Length and
 * Connection (keep-alive unless <close>). <extra> is added verbatim (e.g. "Location: ...\r\n"). */
void cw_http_write_local_reply(struct cw_out *o, int status, const char *body, bool body_is_text,
                               const char *extra, bool close);

/* "Not Found" for 404, ... */
const char *cw_http_status_text(int status);

#endif
