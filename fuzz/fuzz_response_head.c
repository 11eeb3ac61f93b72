/*
 * Response heads: the fast path (cw_response_head_parse) and llhttp with the gateway's
 * callbacks, then the head the gateway sends the client (cw_http_write_response_head).
 *
 * Input: one byte that picks how the bytes arrive for llhttp (piece size, and whether the
 * gateway adds "Connection: close"), then the upstream's bytes. Checked, beyond memory safety:
 *  - a head the fast path accepts, llhttp accepts alike: length, status, Content-Length,
 *    keep-alive, reason and every header (the gateway uses one or the other by the head's form);
 *  - llhttp's head is the same whether the bytes arrive whole or in pieces;
 *  - the head sent to the client is one complete head to a strict parser, with the same status
 *    and body framing, so the client finds the body where the upstream put it.
 */
#include <stdint.h>

#include "feed.h"
#include "http/response_head.h"

static void check_fast_path(const char *buf, size_t n, const struct parsed *slow)
{
    static struct cw_http_head head;
    struct cw_response_framing f;
    size_t len = cw_response_head_parse(buf, n, &head, &f);
    if (len == 0)
        return;
    CHECK(slow->err == HPE_PAUSED && slow->len == len);
    CHECK(slow->parser.status_code == f.status);
    CHECK(slow->parser.content_length == f.content_length);
    CHECK(llhttp_should_keep_alive(&slow->parser) == f.keep_alive);
    CHECK(same_span(head.reason, slow->head.reason));
    check_same_headers(&head, &slow->head);
}

static void check_sent(const struct parsed *in, bool close)
{
    struct cw_out o = {0};
    cw_http_write_response_head(&o, in->parser.status_code, &in->head, close);
    llhttp_t out;
    size_t len;
    struct cw_span unused;
    CHECK(reread(&out, HTTP_RESPONSE, o.p, o.len, &len, &unused) == HPE_PAUSED);
    CHECK(len == o.len);
    CHECK(out.status_code == in->parser.status_code);
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
    static struct parsed whole, pieces;
    parse(HTTP_RESPONSE, buf, n, 0, &whole);
    parse(HTTP_RESPONSE, buf, n, data[0] >> 1, &pieces);
    CHECK(verdict(whole.err) == verdict(pieces.err));
    check_fast_path(buf, n, &whole);
    if (whole.err != HPE_PAUSED)
        return 0;
    CHECK(whole.len == pieces.len);
    CHECK(same_span(whole.head.reason, pieces.head.reason));
    check_same_headers(&whole.head, &pieces.head);
    for (uint32_t i = 0; i < whole.head.n_headers; i++)
        CHECK(inside(whole.head.headers[i].name, buf, n) &&
              inside(whole.head.headers[i].value, buf, n));
    check_sent(&whole, data[0] & 1);
    return 0;
}
