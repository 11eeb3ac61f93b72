/*
 * TLS termination on a listener (spec §4.2, ListenerTLS): the certificates a port serves, each
 * for the host names of the VirtualGateway listener entry that configured it, chosen by the
 * client's SNI (exact name, then the longest wildcard, then an entry for any name, then the
 * first). Built on the control thread when a configuration is translated, then shared
 * read-only by the workers; a reload builds new ones, so a rotated certificate is served to new
 * handshakes while open connections keep theirs.
 */
#ifndef CW_TLS_TERMINATION_H
#define CW_TLS_TERMINATION_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One certificate and how it is served. */
struct cw_tls_serving_spec {
    bool mutual;               /* a client certificate is asked for */
    bool client_cert_optional; /* OPTIONAL_MUTUAL: asked for, verified when given */
    const char *cert_file, *key_file;
    const char *ca_file;          /* client certificates are verified against it (MUTUAL) */
    int min_version, max_version; /* TLS1_2_VERSION ..., 0: no bound */
    const char *cipher_list;      /* OpenSSL cipher list (TLS 1.2 and below), NULL: default */
    const char *const *verify_sans; /* a client certificate must carry one of these SANs */
    uint32_t n_verify_sans;
    const char *const *names; /* SNI names served: "api.example.com", "*.example.com", "*" */
    uint32_t n_names;
    bool alpn_http11; /* an HTTP listener: ALPN answers http/1.1 */
};

struct cw_tls_served_cert; /* one certificate (termination.c) */

struct cw_tls_termination {
    struct cw_tls_served_cert **certs;
    uint32_t n_certs;
};

/* Adds the certificate of <spec> to <t>; false with the reason in <err> (naming the file that
 * could not be read or used). */
bool cw_tls_termination_add(struct cw_tls_termination *t, const struct cw_tls_serving_spec *spec,
                            char *err, size_t err_size);
void cw_tls_termination_free(struct cw_tls_termination *t);

/* A server connection for one accepted client, or NULL (out of memory). */
SSL *cw_tls_termination_connection(const struct cw_tls_termination *t);

/* For --plan: how certificate <i> is served (its files and names), and its expiry
 * ("2027-01-06T20:00:00Z"). */
const struct cw_tls_serving_spec *cw_tls_termination_spec(const struct cw_tls_termination *t,
                                                          uint32_t i);
const char *cw_tls_termination_expiry(const struct cw_tls_termination *t, uint32_t i);

#endif
