/*
 * Opening a connection to an upstream host, as HTTP exchanges and TCP tunnels both do: TLS when
 * the host's cluster originates it (tls/origin.h: its SNI, verification and the host's last
 * session), plain TCP otherwise. The caller's callback runs once the connection can carry
 * bytes (after the handshake, for TLS).
 */
#ifndef CW_PROXY_UPSTREAM_CONNECT_H
#define CW_PROXY_UPSTREAM_CONNECT_H

#include <stdbool.h>

#include "event/transport.h"
#include "upstream/upstream.h"

/* Starts connecting <t> to host <h> of <uc>; <http>: offer ALPN http/1.1. 0, or a negative
 * error without a callback (as cw_transport_connect). */
int cw_upstream_connect(struct cw_io_loop *io, struct cw_transport *t,
                        const struct cw_upstream_cluster *uc, const struct cw_host *h, bool http,
                        void *data, cw_transport_status_cb cb);

/* The connect of <t> to <h> succeeded: its time is observed and the connection counted open
 * until cw_upstream_closed (the metrics). Worker threads. */
void cw_upstream_connected(struct cw_io_loop *io, const struct cw_transport *t,
                           const struct cw_host *h);
void cw_upstream_closed(void);

/* Why the connect of <t> failed with <status>: the TLS reason ("upstream TLS: certificate
 * verify failed: ...") or the socket's ("connect refused"). */
const char *cw_upstream_connect_failure(const struct cw_transport *t, int status);

/* How the TLS handshake of a connected <t> went: "full", "resumed", or NULL for plain TCP. */
const char *cw_upstream_tls_handshake(const struct cw_transport *t);

#endif
