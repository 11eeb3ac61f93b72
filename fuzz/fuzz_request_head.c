/*
 * Request heads: llhttp with the gateway's callbacks (cw_http_head_settings), then the head the
 * gateway forwards (cw_http_write_request_head).
 *
 * Input: one byte that picks how the bytes arrive (piece size, and whether the Host is
 * rewritten), then the client's bytes. Checked, beyond memory safety:
 *  - the head comes out the same whether the bytes arrive whole or in pieces;
 *  - every span points into the client's bytes;
 *  - the forwarded head is one complete head to a strict parser, with the same method, target
 *    and body framing (Content-Length / chunked): what the upstream reads as this request's
 *    body is what the gateway forwards as its body (no smuggling through the rewrite).
 */
#include <stdint.h>

#include "feed.h"
#include "http/head.h"

static void check_same_head(const struct parsed *a, const struct parsed *b)
{
    CHECK(verdict(a->err) == verdict(b->err));
    if (a->err != HPE_PAUSED)
        return;
    CHECK(a->len == b->len);
    CHECK(a->parser.method == b->parser.method);
    CHECK(a->parser.content_length == b->parser.content_length);
    CHECK(a->parser.flags == b->parser.flags);
    CHECK(same_span(a->head.url, b->head.url));
    check_same_headers(&a->head, &b->head);
}

static void check_forwarded(const struct parsed *in, bool rewrite_host)
{
    struct cw_forward_head f = {
        .method = llhttp_method_name((llhttp_method_t)in->parser.method),
        .path = in->head.url,
        .host = rewrite_host ? "inventory.external" : NULL,
        .client_ip = "127.0.0.1",
    };
    struct cw_out o = {0};
    cw_http_write_request_head(&o, &in->head, &f);
    llhttp_t out;
    size_t len;
    struct cw_span url;
    CHECK(reread(&out, HTTP_REQUEST, o.p, o.len, &len, &url) == HPE_PAUSED);
    CHECK(len == o.len);
    CHECK(out.method == in->parser.method);
    CHECK(same_span(url, in->head.url));
    check_same_framing(&out, &in->parser);
    cw_out_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t n = size - 1;
    size_t piece = data[0] >> 1;
    static struct parsed whole, pieces; /* static: a head is 3 KiB */
    parse(HTTP_REQUEST, buf, n, 0, &whole);
    parse(HTTP_REQUEST, buf, n, piece, &pieces);
    check_same_head(&whole, &pieces);
    if (whole.err != HPE_PAUSED)
        return 0;
    CHECK(inside(whole.head.url, buf, n));
    for (uint32_t i = 0; i < whole.head.n_headers; i++) {
        CHECK(inside(whole.head.headers[i].name, buf, n));
        CHECK(inside(whole.head.headers[i].value, buf, n));
    }
    check_forwarded(&whole, data[0] & 1);
    return 0;
}
