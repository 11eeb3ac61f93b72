/*
 * The plain response head (the http codec): a fast path for the form nearly every upstream
 * answers in, parsed in one pass over a head that arrived whole.
 *
 *   HTTP/1.1 200 OK\r\n
 *   Name: value\r\n            (token names, visible ASCII values, optional spaces)
 *   Content-Length: 64\r\n     (exactly one)
 *   \r\n
 *
 * Anything else — an incomplete head, HTTP/1.0, a 1xx/204/304 status, Transfer-Encoding, a
 * missing or repeated Content-Length, a Connection header other than one "close" or
 * "keep-alive", obs-fold, control or non-ASCII bytes, too many headers — is declined, and the
 * caller hands the same bytes to llhttp, which has the strict checks and the error messages.
 * So this path accepts only heads that llhttp accepts too, with the same meaning
 * (tests/unit/proxy/test_response_head.c checks that against llhttp).
 */
#ifndef CW_HTTP_RESPONSE_HEAD_H
#define CW_HTTP_RESPONSE_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/head.h"

/* How a plain response is framed. */
struct cw_response_framing {
    int status;              /* 200..599, not 204 or 304 */
    uint64_t content_length; /* the body's length */
    bool keep_alive;         /* no "Connection: close" */
};

/* Parses the plain head at the start of [p, p + n) into <h> (spans into the buffer) and <f>.
 * Returns the head's length including the blank line, or 0 when declined (see above); <h> and
 * <f> are then unspecified. */
size_t cw_response_head_parse(const char *p, size_t n, struct cw_http_head *h,
                              struct cw_response_framing *f);

#endif
