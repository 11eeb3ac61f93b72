/*
 * What a client connection sends (the lowest layer of the HTTP server side): a response head,
 * held back so that it leaves with the first body bytes; body pieces; local replies; interim
 * heads. Each goes out at once when the socket takes it, and is queued otherwise; the end of a
 * queued write comes back through on_written, from the loop. One write at a time (interim heads
 * aside, which are queued behind it). Worker thread.
 */
#ifndef CW_PROXY_HTTP_WRITER_H
#define CW_PROXY_HTTP_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "event/transport.h"
#include "http/head.h"

struct cw_http_writer {
    struct cw_transport *tr;
    void (*on_written)(void *data, int status); /* a queued write is out (0) or failed */
    void *data;
    struct cw_sock_write req;
    struct cw_out out; /* the head waiting for its body, or a local reply */
    char *spare;       /* space lent for the next head or reply (cw_http_writer_lend), or NULL */
    size_t spare_cap;
    bool head_pending;
    bool writing; /* a queued write is not out yet */
};

enum cw_http_write {
    CW_HTTP_WRITE_FAILED = -1,
    CW_HTTP_WRITE_DONE = 0,   /* everything went out now: no callback */
    CW_HTTP_WRITE_QUEUED = 1, /* on_written follows */
};

void cw_http_writer_init(struct cw_http_writer *w, struct cw_transport *tr,
                         void (*on_written)(void *data, int status), void *data);

/* The (emptied) buffer of the next response head, sent with the next cw_http_writer_body. */
struct cw_out *cw_http_writer_head(struct cw_http_writer *w);

/* Sends the pending head (if any) and body bytes [p, p + n) (kept in place until on_written
 * when queued). <last>: the connection ends right after, and its FIN rides along. */
enum cw_http_write cw_http_writer_body(struct cw_http_writer *w, const char *p, size_t n,
                                       bool last);

/* The buffer of a local reply, emptied; cw_http_writer_reply sends what was written into it. */
struct cw_out *cw_http_writer_reply_buffer(struct cw_http_writer *w);

/* Queues the local reply; on_written follows from the loop. */
enum cw_http_write cw_http_writer_reply(struct cw_http_writer *w);

/* Queues a copy of interim head <head> (100 Continue) behind what is queued. */
enum cw_http_write cw_http_writer_interim(struct cw_http_writer *w, const struct cw_out *head);

/* Lends <space> (<cap> bytes, kept by the caller until cw_http_writer_reset) for the next head
 * or reply, so that a short one needs no allocation. */
void cw_http_writer_lend(struct cw_http_writer *w, char *space, size_t cap);

/* Frees the buffers and forgets lent space (the request ended, or the connection). */
void cw_http_writer_reset(struct cw_http_writer *w);

#endif
