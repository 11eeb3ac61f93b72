/*
 * TLS origination (spec §1.3 and its [DECISION] "TLS at causeway"): what causeway needs to speak
 * TLS to the endpoints of one ExternalService port — an OpenSSL client context with the trust
 * store, the client certificate and the verification settings, built on the control thread
 * when a configuration is translated, then shared read-only by every worker — and the client
 * connection made from it for one endpoint.
 *
 * Verification is on unless insecureSkipVerify: the chain against caCertificates (else the
 * system trust store), and the name against subjectAltNames, else the SNI, else the endpoint's
 * DNS name, else the endpoint's IP address (an IP SAN). Sessions are resumed per endpoint
 * (session_slot.h).
 */
#ifndef CW_TLS_ORIGIN_H
#define CW_TLS_ORIGIN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config_types.h"

struct cw_tls_session_slot;

/* What the manifests ask for one port, the file paths already resolved (Secrets included). */
struct cw_tls_origin_spec {
    enum cw_tls_mode mode;       /* SIMPLE or MUTUAL */
    const char *sni;             /* sent and checked; NULL: the endpoint's DNS name */
    const char *const *sans;     /* subjectAltNames: accepted names instead of the SNI */
    uint32_t n_sans;
    const char *ca_file;         /* NULL: the system trust store */
    const char *cert_file, *key_file; /* MUTUAL */
    bool skip_verify;
};

struct cw_tls_origin {
    SSL_CTX *ctx;
    struct cw_tls_origin_spec spec; /* strings owned by the origin */
};

/*
 * The client context for <spec> (only its mode, files and skip_verify matter: contexts with the
 * same ones can be shared). NULL with the reason in <err> (naming the file that could not be
 * read or used) when it cannot be built.
 */
SSL_CTX *cw_tls_client_context(const struct cw_tls_origin_spec *spec, char *err,
                               size_t err_size);

/* The origination of one cluster: <spec> copied, a reference to <ctx> taken. */
struct cw_tls_origin *cw_tls_origin_new(const struct cw_tls_origin_spec *spec, SSL_CTX *ctx);
void cw_tls_origin_free(struct cw_tls_origin *o);

/*
 * A client connection to one endpoint: SNI, the name or address to verify, the ALPN offer
 * (<alpn_http11>: "http/1.1", for HTTP routes) and the endpoint's last session, if any, to
 * resume; new sessions go back to <slot>. <dns_name> is the endpoint's name (NULL for an IP
 * endpoint), <addr> its address. NULL when OpenSSL is out of memory.
 */
SSL *cw_tls_origin_connection(const struct cw_tls_origin *o, const char *dns_name,
                              const struct sockaddr *addr, bool alpn_http11,
                              struct cw_tls_session_slot *slot);

/* The name the server certificate is checked against for an endpoint (for --plan and logs):
 * "subjectAltNames", the SNI, the DNS name, "its IP address", or "not verified". */
const char *cw_tls_origin_checks(const struct cw_tls_origin *o, const char *dns_name);

#endif
