/*
 * The BIO under a TLS transport: an OpenSSL BIO over a non-blocking socket descriptor that
 * remembers whether its last read emptied the socket.
 *
 * Why not OpenSSL's socket BIO: a plain socket knows a short read emptied it (sock.c), so it
 * waits for the next edge instead of asking recv() again only to hear EAGAIN. Behind a socket
 * BIO the TLS transport could not know that, and paid that extra recv() on every request of a
 * keep-alive connection. With read-ahead on (one recv() takes every record that is there), a
 * short read here means the same as in sock.c.
 */
#ifndef CW_EVENT_SOCK_BIO_H
#define CW_EVENT_SOCK_BIO_H

#include <openssl/bio.h>
#include <stdbool.h>

/* A BIO reading and writing <fd> (not closed by the BIO), or NULL when out of memory. */
BIO *cw_sock_bio_new(int fd);

/* True when the last read of <bio> returned less than it asked for, or EAGAIN: the socket was
 * empty then, and anything that comes later comes with a new readiness event. */
bool cw_sock_bio_drained(BIO *bio);

#endif
