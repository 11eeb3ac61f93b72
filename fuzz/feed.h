/*
 * Shared by the HTTP fuzz targets: llhttp driven the way the gateway drives it, over bytes that
 * arrive in pieces. The gateway's read buffer keeps every byte of a head in one place, so the
 * pieces here are consecutive ranges of one buffer, and the head's spans point into it.
 */
#ifndef CW_FUZZ_FEED_H
#define CW_FUZZ_FEED_H

#include "check.h"
#include "http/head.h"

/* Runs <p> over [buf + *pos, buf + n) in pieces of at most <piece> bytes (0: one piece), as
 * reads would deliver them, until llhttp pauses or fails or the bytes run out. Advances *pos to
 * where it stopped (the pause position) and returns llhttp's verdict; a pause is resumed. */
static inline llhttp_errno_t feed(llhttp_t *p, const char *buf, size_t n, size_t *pos, size_t piece)
{
    llhttp_errno_t err = HPE_OK;
    while (*pos < n) {
        size_t len = piece && n - *pos > piece ? piece : n - *pos;
        err = llhttp_execute(p, buf + *pos, len);
        if (err == HPE_OK) {
            *pos += len;
            continue;
        }
        if (err == HPE_PAUSED) {
            *pos = (size_t)(llhttp_get_error_pos(p) - buf);
            llhttp_resume(p);
        }
        return err;
    }
    return err;
}

/* What the gateway does with llhttp's answer: wait for more (HPE_OK), go on (a pause), or refuse
 * (any error; which error only picks between 400 and 431, and may depend on where the bytes were
 * cut, e.g. a header past the limit is counted before or after its name is found invalid). */
enum verdict { MORE, DONE, REFUSED };

static inline enum verdict verdict(llhttp_errno_t err)
{
    return err == HPE_OK ? MORE : err == HPE_PAUSED ? DONE : REFUSED;
}

/* Reading back what the gateway wrote: llhttp's verdict and the request target, without the
 * gateway's own header limit (the next hop has its own, and the gateway adds headers). */
static inline int reread_url(llhttp_t *p, const char *at, size_t len)
{
    struct cw_span *url = p->data;
    if (!url->p)
        url->p = at;
    url->len = (size_t)(at + len - url->p);
    return 0;
}

static inline int reread_pause(llhttp_t *p)
{
    (void)p;
    return HPE_PAUSED;
}

static const llhttp_settings_t reread_settings = {
    .on_url = reread_url,
    .on_headers_complete = reread_pause,
};

/* Parses the head in [buf, buf + n) with reread_settings; <url> gets the request target. */
static inline llhttp_errno_t reread(llhttp_t *p, llhttp_type_t type, const char *buf, size_t n,
                                    size_t *len, struct cw_span *url)
{
    *url = (struct cw_span){NULL, 0};
    llhttp_init(p, type, &reread_settings);
    p->data = url;
    *len = 0;
    return feed(p, buf, n, len, 0);
}

static inline bool same_span(struct cw_span a, struct cw_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* A head as the gateway parses it, and llhttp's answer. */
struct parsed {
    llhttp_errno_t err;
    size_t len; /* where llhttp stopped: the head's length when it is complete */
    llhttp_t parser;
    struct cw_http_head head;
};

static inline void parse(llhttp_type_t type, const char *buf, size_t n, size_t piece,
                         struct parsed *r)
{
    llhttp_init(&r->parser, type, &cw_http_head_settings);
    r->parser.data = &r->head;
    r->len = 0;
    r->err = feed(&r->parser, buf, n, &r->len, piece);
}

static inline void check_same_headers(const struct cw_http_head *a, const struct cw_http_head *b)
{
    CHECK(a->n_headers == b->n_headers);
    for (uint32_t i = 0; i < a->n_headers; i++) {
        CHECK(same_span(a->headers[i].name, b->headers[i].name));
        CHECK(same_span(a->headers[i].value, b->headers[i].value));
    }
}

/* llhttp finds the same body framing in the head the gateway wrote as in the one it received:
 * the next hop reads the body where the gateway forwards it. */
static inline void check_same_framing(const llhttp_t *out, const llhttp_t *in)
{
    const uint16_t framing = F_CHUNKED | F_CONTENT_LENGTH | F_TRANSFER_ENCODING;
    CHECK(out->content_length == in->content_length);
    CHECK((out->flags & framing) == (in->flags & framing));
}

/* Both spans lie inside [buf, buf + n) (or are empty). */
static inline bool inside(struct cw_span s, const char *buf, size_t n)
{
    return s.len == 0 || (s.p >= buf && s.p + s.len <= buf + n);
}

#endif
