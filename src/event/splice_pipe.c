#include "event/splice_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "event/event_types.h"

bool cw_splice_pipe_open(struct cw_splice_pipe *p, size_t size)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return false;
    p->rd = fds[0];
    p->wr = fds[1];
    p->queued = 0;
    /* A larger pipe means fewer, larger splices per MiB; an unprivileged user over
     * pipe-user-pages-soft gets the default size, which still works. */
    int got = fcntl(p->wr, F_SETPIPE_SZ, (int)size);
    if (got < 0)
        got = fcntl(p->wr, F_GETPIPE_SZ);
    p->size = got > 0 ? (size_t)got : 65536;
    return true;
}

void cw_splice_pipe_close(struct cw_splice_pipe *p)
{
    if (p->rd >= 0)
        close(p->rd);
    if (p->wr >= 0)
        close(p->wr);
    p->rd = p->wr = -1;
    p->queued = 0;
}

static ssize_t move(int from, int to, size_t len)
{
    ssize_t n;
    do
        n = splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return n;
    return errno == EAGAIN || errno == EWOULDBLOCK ? CW_EAGAIN : -errno;
}

ssize_t cw_splice_pipe_fill(struct cw_splice_pipe *p, int from_fd)
{
    if (p->queued >= p->size)
        return CW_EAGAIN;
    ssize_t n = move(from_fd, p->wr, p->size - p->queued);
    if (n > 0)
        p->queued += (size_t)n;
    return n;
}

ssize_t cw_splice_pipe_drain(struct cw_splice_pipe *p, int to_fd)
{
    ssize_t n = move(p->rd, to_fd, p->queued);
    if (n > 0)
        p->queued -= (size_t)n;
    return n;
}
