#include "proxy/sock_write.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

int cw_sock_try_write(uv_tcp_t *sock, const uv_buf_t *bufs, unsigned n)
{
    uv_os_fd_t fd;
    /* Queued libuv writes go first, or bytes would reach the peer out of order. */
    if (uv_stream_get_write_queue_size((uv_stream_t *)sock) > 0 ||
        uv_fileno((uv_handle_t *)sock, &fd) != 0)
        return UV_EAGAIN;
    struct iovec iov[4];
    if (n > 4)
        n = 4;
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = bufs[i].base;
        iov[i].iov_len = bufs[i].len;
    }
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
    ssize_t w;
    do
        w = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w >= 0)
        return (int)w;
    return errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno;
}
