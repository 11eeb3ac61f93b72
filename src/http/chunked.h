/*
 * Chunked framing checks the parser leaves out. llhttp (even in strict mode) ends a chunked
 * message at "0\r\n\n": a bare LF where the blank line after the last chunk (or the trailers)
 * must be CRLF. causeway forwards bodies with their framing as they came, so such a body would
 * reach the next hop, which may see the message end elsewhere (a request smuggled behind it).
 * The last four bytes of a chunked body must be CRLF CRLF; this keeps them as the body passes
 * in pieces. No sockets: the codec.
 *
 * Chunk extensions ("5;name=value", RFC 9112 §7.1.1) go on unchanged with the rest of the
 * framing rather than stripped: a body is forwarded as it came, never re-chunked, and an
 * extension is meant for whoever reads the chunks (a recipient ignores the ones it does not
 * know). llhttp checks their syntax: a name, optionally "=" and a token or a quoted string. The
 * llhttp of Debian 12 (8.1) refuses two extensions on one chunk ("5;a=1;b=2") and whitespace
 * around ';', which RFC 9112 allows: such a body gets 400, which is safe, never a guess.
 */
#ifndef CW_HTTP_CHUNKED_H
#define CW_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct cw_chunked_tail {
    char last[4]; /* the body's last four bytes so far, oldest first */
};

/* Notes the next bytes [p, p + n) of a chunked body. */
static inline void cw_chunked_tail_add(struct cw_chunked_tail *t, const char *p, size_t n)
{
    if (n >= 4) {
        memcpy(t->last, p + n - 4, 4);
        return;
    }
    memmove(t->last, t->last + n, 4 - n);
    memcpy(t->last + 4 - n, p, n);
}

/* Whether a body that the parser says is complete ends as RFC 9112 §7.1 requires. */
static inline bool cw_chunked_tail_ok(const struct cw_chunked_tail *t)
{
    return memcmp(t->last, "\r\n\r\n", 4) == 0;
}

#endif
