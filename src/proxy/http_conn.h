/*
 * Client HTTP/1.1 connections (the server side): read and parse requests (llhttp, strict),
 * decide (http_decide.h), answer locally or hand the request to an exchange (exchange.h), write
 * the response back with its framing unchanged, keep the connection alive, and answer
 * pipelined requests in order (one request at a time).
 *
 * Memory follows work: an idle keep-alive connection holds its socket, its timer and a few
 * words. The read buffer, the parser, the head index and the exchange live in one work block
 * (block_pool.h) taken when a request's first bytes arrive and given back when the connection
 * is idle again. Bodies are never buffered whole: reading stops while bytes wait to be
 * written (backpressure).
 */
#ifndef CW_PROXY_HTTP_CONN_H
#define CW_PROXY_HTTP_CONN_H

#include <sys/socket.h>

struct cw_worker_listener;

/* The accept handler of HTTP listeners: <fd> is the accepted connection, now the
 * connection's. Worker thread. */
void cw_http_accept(struct cw_worker_listener *wl, int fd, const struct sockaddr_storage *peer);

#endif
