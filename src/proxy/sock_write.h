/*
 * Writing to a connected socket without libuv's write(2) (private to proxy/). libuv writes
 * with write(), which goes through the VFS file layer; send()/sendmsg() reach TCP directly and
 * cost about a microsecond less per call in the benchmark profile (BENCHMARKS.md).
 */
#ifndef CW_PROXY_SOCK_WRITE_H
#define CW_PROXY_SOCK_WRITE_H

#include <uv.h>

/*
 * Like uv_try_write: writes what the socket takes now of <bufs> (<n> of them), never blocks.
 * Returns the bytes written, UV_EAGAIN when nothing could be written (or libuv still has
 * queued writes, which must go first), or a negative libuv error.
 */
int cw_sock_try_write(uv_tcp_t *sock, const uv_buf_t *bufs, unsigned n);

#endif
