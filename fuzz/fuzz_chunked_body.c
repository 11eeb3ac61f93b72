/*
 * Chunked request bodies: where llhttp, driven as the gateway drives it, says a chunked request
 * ends. The gateway forwards the body's bytes as they came (chunk framing included) up to that
 * point, and reads what follows as the client's next request, so that point must not depend on
 * how the bytes arrive.
 *
 * Input: one byte for the piece size, then the body, after a fixed chunked request head.
 * Checked, beyond memory safety: the verdict (complete, incomplete, error) and the end of the
 * message are the same whole and in pieces; a body the gateway accepts as complete ends with
 * CRLF CRLF (http/chunked.h refuses the bare-LF end llhttp allows).
 */
#include <stdint.h>
#include <stdlib.h>

#include "feed.h"
#include "http/chunked.h"

static const char HEAD[] = "POST /orders HTTP/1.1\r\nHost: api.example.com\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n";

/* Parses the head, then the body; returns llhttp's verdict on the body and where it stopped. */
static llhttp_errno_t parse_body(const char *buf, size_t n, size_t piece, size_t *end)
{
    llhttp_t p;
    struct cw_http_head head;
    llhttp_init(&p, HTTP_REQUEST, &cw_http_head_settings);
    p.data = &head;
    *end = 0;
    CHECK(feed(&p, buf, n, end, piece) == HPE_PAUSED && *end == sizeof(HEAD) - 1);
    CHECK(p.flags & F_CHUNKED);
    return feed(&p, buf, n, end, piece);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The head and the body in one buffer, as in the gateway's read buffer. */
    size_t n = sizeof(HEAD) - 1 + size - 1;
    char *buf = malloc(n);
    memcpy(buf, HEAD, sizeof(HEAD) - 1);
    memcpy(buf + sizeof(HEAD) - 1, data + 1, size - 1);
    size_t end_whole, end_pieces;
    llhttp_errno_t whole = parse_body(buf, n, 0, &end_whole);
    llhttp_errno_t pieces = parse_body(buf, n, data[0] ? data[0] : 1, &end_pieces);
    CHECK(verdict(whole) == verdict(pieces));
    if (whole == HPE_PAUSED) {
        CHECK(end_whole == end_pieces);
        /* llhttp also ends a body at "0\r\n\n"; the gateway refuses those (http/chunked.h), so
         * what it accepts as a complete body always ends with CRLF CRLF. */
        struct cw_chunked_tail tail = {0};
        cw_chunked_tail_add(&tail, buf + sizeof(HEAD) - 1, end_whole - (sizeof(HEAD) - 1));
        if (cw_chunked_tail_ok(&tail))
            CHECK(end_whole >= sizeof(HEAD) - 1 + 5 &&
                  memcmp(buf + end_whole - 4, "\r\n\r\n", 4) == 0);
    }
    free(buf);
    return 0;
}
