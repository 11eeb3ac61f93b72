#include "proxy/http_writer.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Body bytes up to this size are copied behind the response head, so that both leave in one
 * buffer: the copy costs less than sendmsg's header and iovec handling. */
#define SMALL_BODY_COPY 4096

void cw_http_writer_init(struct cw_http_writer *w, struct cw_transport *tr,
                         void (*on_written)(void *data, int status), void *data)
{
    *w = (struct cw_http_writer){.tr = tr, .on_written = on_written, .data = data};
}

void cw_http_writer_lend(struct cw_http_writer *w, char *space, size_t cap)
{
    w->spare = space;
    w->spare_cap = cap;
}

/* The out buffer, emptied: on lent space when there is some and nothing was allocated. */
static struct cw_out *empty_out(struct cw_http_writer *w)
{
    if (!w->out.p && w->spare)
        cw_out_borrow(&w->out, w->spare, w->spare_cap);
    w->out.len = 0;
    return &w->out;
}

struct cw_out *cw_http_writer_head(struct cw_http_writer *w)
{
    w->head_pending = true;
    return empty_out(w);
}

struct cw_out *cw_http_writer_reply_buffer(struct cw_http_writer *w)
{
    w->head_pending = false;
    return empty_out(w);
}

static void on_queued_written(struct cw_sock_write *req, int status)
{
    struct cw_http_writer *w = req->data;
    w->writing = false;
    w->on_written(w->data, status);
}

static enum cw_http_write queue(struct cw_http_writer *w, const struct cw_buf *b, unsigned nb)
{
    w->writing = true;
    w->req.data = w;
    if (cw_transport_write(w->tr, &w->req, b, nb, on_queued_written) != 0) {
        w->writing = false;
        return CW_HTTP_WRITE_FAILED;
    }
    return CW_HTTP_WRITE_QUEUED;
}

enum cw_http_write cw_http_writer_body(struct cw_http_writer *w, const char *p, size_t n,
                                       bool last)
{
    struct cw_buf b[2];
    unsigned nb = 0;
    if (w->head_pending && n && n <= SMALL_BODY_COPY) { /* one buffer: one send(2), no iovecs */
        cw_out_put(&w->out, p, n);
        n = 0;
    }
    if (w->head_pending) {
        b[nb++] = cw_buf_init(w->out.p, w->out.len);
        w->head_pending = false;
    }
    if (n)
        b[nb++] = cw_buf_init((char *)p, n);
    size_t total = (nb > 0 ? b[0].len : 0) + (nb > 1 ? b[1].len : 0);
    if (total == 0)
        return CW_HTTP_WRITE_DONE;
    int sent = cw_transport_try_write(w->tr, b, nb, last);
    if (sent == (int)total)
        return CW_HTTP_WRITE_DONE;
    if (sent < 0 && sent != CW_EAGAIN)
        return CW_HTTP_WRITE_FAILED;
    cw_sock_bufs_skip(b, &nb, sent > 0 ? (size_t)sent : 0);
    return queue(w, b, nb);
}

enum cw_http_write cw_http_writer_reply(struct cw_http_writer *w)
{
    struct cw_buf b = cw_buf_init(w->out.p, w->out.len);
    return queue(w, &b, 1);
}

struct interim_write {
    struct cw_sock_write req;
    struct cw_out out;
};

static void on_interim_written(struct cw_sock_write *req, int status)
{
    (void)status;
    struct interim_write *iw = (struct interim_write *)req;
    cw_out_free(&iw->out);
    free(iw);
}

enum cw_http_write cw_http_writer_interim(struct cw_http_writer *w, const struct cw_out *head)
{
    struct interim_write *iw = cw_xcalloc(1, sizeof(*iw));
    cw_out_put(&iw->out, head->p, head->len);
    struct cw_buf b = cw_buf_init(iw->out.p, iw->out.len);
    if (cw_transport_write(w->tr, &iw->req, &b, 1, on_interim_written) != 0) {
        cw_out_free(&iw->out);
        free(iw);
        return CW_HTTP_WRITE_FAILED;
    }
    return CW_HTTP_WRITE_QUEUED;
}

void cw_http_writer_reset(struct cw_http_writer *w)
{
    cw_out_free(&w->out);
    w->head_pending = false;
    w->spare = NULL;
    w->spare_cap = 0;
}
