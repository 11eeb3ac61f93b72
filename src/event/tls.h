/*
 * The TLS transport (the event layer): the same bytes, calls and events as plain TCP
 * (transport.h), carried by an OpenSSL connection on the socket underneath.
 *
 * OpenSSL reads and writes the descriptor itself (a socket BIO, which kTLS also needs); the
 * socket's readiness flags are driven through cw_sock_watch, and every SSL call that says
 * WANT_READ or WANT_WRITE reports cw_sock_blocked, so edge-triggered events behave as they do
 * for plain sockets. The handshake runs before the owner hears "connected" (client) or reads
 * a byte (server). Writes of several buffers go out as one record when they fit one, so that
 * a head and its first body bytes cost one record and one system call.
 *
 * One thread: the loop's.
 */
#ifndef CW_EVENT_TLS_H
#define CW_EVENT_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "event/transport.h"

/*
 * Connects to <addr> and runs a client handshake with <ssl> (made from the caller's SSL_CTX,
 * its SNI, verification and session already set; the transport owns it from now on, also on
 * failure). <cb> runs once the handshake is done (0), or with a negative error: CW_ETLS for a
 * failed handshake (cw_tls_failure says why) and the socket's errors otherwise.
 */
int cw_tls_connect(struct cw_io_loop *loop, struct cw_transport *t, const struct sockaddr *addr,
                   SSL *ssl, void *data, cw_transport_status_cb cb);

/*
 * Takes over the accepted descriptor <fd> for a server handshake with <ssl> (owned from now
 * on). The handshake runs when the owner starts reading; a failed one ends reading with
 * CW_ETLS.
 */
int cw_tls_adopt(struct cw_io_loop *loop, struct cw_transport *t, int fd, SSL *ssl, void *data);

/* The OpenSSL connection of a TLS transport, NULL for plain TCP. */
SSL *cw_tls_ssl(const struct cw_transport *t);

/* Why the handshake or a later TLS call failed ("certificate verify failed: certificate has
 * expired"), or NULL. The text outlives the transport. */
const char *cw_tls_failure(const struct cw_transport *t);

#endif
