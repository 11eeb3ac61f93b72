#include "tls/termination.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tls/key_pair.h"
#include "util/xalloc.h"

struct cw_tls_served_cert {
    SSL_CTX *ctx;
    struct cw_tls_serving_spec spec; /* strings owned */
    char expiry[32];
};

/* ---- the certificate behind an SSL_CTX (its ex_data), for the callbacks ---- */

static int cert_index = -1;

static void make_cert_index(void)
{
    cert_index = SSL_CTX_get_ex_new_index(0, "cw_tls_served_cert", NULL, NULL, NULL);
}

static int index_of_certs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_cert_index);
    return cert_index;
}

static const struct cw_tls_served_cert *cert_of(SSL *ssl)
{
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), index_of_certs());
}

/* ---- choosing the certificate by SNI ---- */

/* How well <name> (a served name) covers <sni>: 3 exact, 2 + a wildcard's suffix length
 * fraction, 1 for "*", 0 not at all. Larger wins; among wildcards the longer suffix. */
static size_t match_score(const char *name, const char *sni)
{
    if (!strcasecmp(name, sni))
        return (size_t)-1;
    if (!strcmp(name, "*"))
        return 1;
    if (name[0] == '*' && name[1] == '.') {
        size_t nl = strlen(name + 1), sl = strlen(sni);
        /* "*.example.com" covers "a.example.com" (one label or more), never "example.com" */
        if (sl > nl && !strcasecmp(sni + sl - nl, name + 1))
            return 2 + nl;
    }
    return 0;
}

static const struct cw_tls_served_cert *choose(const struct cw_tls_termination *t,
                                               const char *sni)
{
    const struct cw_tls_served_cert *best = t->certs[0];
    size_t best_score = 0;
    for (uint32_t i = 0; sni && i < t->n_certs; i++) {
        const struct cw_tls_served_cert *c = t->certs[i];
        for (uint32_t n = 0; n < c->spec.n_names; n++) {
            size_t score = match_score(c->spec.names[n], sni);
            if (score > best_score) {
                best = c;
                best_score = score;
            }
        }
    }
    return best;
}

/* Switches <ssl> to <c>'s certificate and everything that goes with it: SSL_set_SSL_CTX moves
 * the certificate and the trust store, not the verification mode, versions or ciphers. */
static void serve_with(SSL *ssl, const struct cw_tls_served_cert *c)
{
    if (SSL_get_SSL_CTX(ssl) == c->ctx)
        return; /* the connection was made from it: everything is in place already */
    SSL_set_SSL_CTX(ssl, c->ctx);
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(c->ctx), SSL_CTX_get_verify_callback(c->ctx));
    SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(c->ctx));
    SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(c->ctx));
    if (c->spec.cipher_list)
        SSL_set_cipher_list(ssl, c->spec.cipher_list);
    STACK_OF(X509_NAME) *cas = SSL_CTX_get_client_CA_list(c->ctx);
    if (cas)
        SSL_set_client_CA_list(ssl, SSL_dup_CA_list(cas));
}

static int on_server_name(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    const struct cw_tls_termination *t = arg;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    serve_with(ssl, choose(t, sni));
    return SSL_TLSEXT_ERR_OK;
}

/* ---- ALPN: an HTTP listener speaks http/1.1 ---- */

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    static const unsigned char http11[] = "\x08http/1.1";
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, http11, sizeof(http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* none in common: go on without ALPN, as nginx does */
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* ---- verifySubjectAltName: a client certificate must carry one of the names ---- */

/* One SAN of the certificate as text: DNS names, URIs and e-mail addresses as written, IP
 * addresses in their usual notation. */
static bool san_text(const GENERAL_NAME *gn, char *out, size_t size)
{
    int type;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
    if (type == GEN_DNS || type == GEN_URI || type == GEN_EMAIL) {
        int n = ASN1_STRING_length(s);
        if (n <= 0 || (size_t)n >= size)
            return false;
        memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
        out[n] = '\0';
        return strlen(out) == (size_t)n; /* no NUL inside: such a name matches nothing */
    }
    if (type == GEN_IPADD) {
        int n = ASN1_STRING_length(s);
        int family = n == 4 ? AF_INET : n == 16 ? AF_INET6 : 0;
        return family && inet_ntop(family, ASN1_STRING_get0_data(s), out, (socklen_t)size);
    }
    return false;
}

static bool carries_a_wanted_san(X509 *cert, const struct cw_tls_serving_spec *spec)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    bool found = false;
    for (int i = 0; names && !found && i < sk_GENERAL_NAME_num(names); i++) {
        char text[1024];
        if (!san_text(sk_GENERAL_NAME_value(names, i), text, sizeof(text)))
            continue;
        for (uint32_t w = 0; w < spec->n_verify_sans && !found; w++)
            found = !strcmp(text, spec->verify_sans[w]);
    }
    GENERAL_NAMES_free(names);
    return found;
}

static int on_verify(int ok, X509_STORE_CTX *store)
{
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const struct cw_tls_served_cert *c = ssl ? cert_of(ssl) : NULL;
    if (!c || !c->spec.n_verify_sans)
        return ok;
    if (carries_a_wanted_san(X509_STORE_CTX_get_current_cert(store), &c->spec))
        return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_SUBJECT_ISSUER_MISMATCH);
    return 0;
}

/* ---- building one certificate's context ---- */

static bool load_client_ca(SSL_CTX *ctx, const struct cw_tls_serving_spec *spec, char *err,
                           size_t err_size)
{
    if (!spec->mutual)
        return true;
    if (!SSL_CTX_load_verify_locations(ctx, spec->ca_file, NULL)) {
        snprintf(err, err_size, "client CA %s cannot be used: %s", spec->ca_file, cw_tls_reason());
        return false;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(spec->ca_file);
    if (names)
        SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER | (spec->client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    SSL_CTX_set_verify(ctx, mode, on_verify);
    return true;
}

static bool set_protocols(SSL_CTX *ctx, const struct cw_tls_serving_spec *spec, char *err,
                          size_t err_size)
{
    SSL_CTX_set_min_proto_version(ctx, spec->min_version);
    SSL_CTX_set_max_proto_version(ctx, spec->max_version);
    if (spec->cipher_list && !SSL_CTX_set_cipher_list(ctx, spec->cipher_list)) {
        snprintf(err, err_size, "cipherSuites %s: no cipher OpenSSL knows", spec->cipher_list);
        ERR_clear_error();
        return false;
    }
    return true;
}

/* "2027-01-06T20:00:00Z": when the certificate in use stops being valid. */
static void format_expiry(SSL_CTX *ctx, char *out, size_t size)
{
    struct tm tm;
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    if (!cert || !ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm)) {
        snprintf(out, size, "unknown");
        return;
    }
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static SSL_CTX *new_context(const struct cw_tls_termination *t,
                            const struct cw_tls_serving_spec *spec, char *err, size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, err_size, "TLS context: %s", cw_tls_reason());
        return NULL;
    }
    /* as for origination (origin.c): partial writes, no record buffers while idle */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    static const unsigned char sid_ctx[] = "causeway";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, (void *)t);
    if (spec->alpn_http11)
        SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    if (!cw_tls_use_key_pair(ctx, spec->cert_file, spec->key_file, "certificate", "private key",
                             err, err_size) || !load_client_ca(ctx, spec, err, err_size) ||
        !set_protocols(ctx, spec, err, err_size)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* ---- the termination ---- */

static void free_cert(struct cw_tls_served_cert *c)
{
    SSL_CTX_free(c->ctx);
    free((char *)c->spec.cert_file);
    free((char *)c->spec.key_file);
    free((char *)c->spec.ca_file);
    free((char *)c->spec.cipher_list);
    cw_free_all(c->spec.verify_sans, c->spec.n_verify_sans);
    cw_free_all(c->spec.names, c->spec.n_names);
    free(c);
}

bool cw_tls_termination_add(struct cw_tls_termination *t, const struct cw_tls_serving_spec *spec,
                            char *err, size_t err_size)
{
    SSL_CTX *ctx = new_context(t, spec, err, err_size);
    if (!ctx)
        return false;
    struct cw_tls_served_cert *c = cw_xcalloc(1, sizeof(*c));
    c->ctx = ctx;
    c->spec = *spec;
    c->spec.cert_file = cw_xstrdup_or_null(spec->cert_file);
    c->spec.key_file = cw_xstrdup_or_null(spec->key_file);
    c->spec.ca_file = cw_xstrdup_or_null(spec->ca_file);
    c->spec.cipher_list = cw_xstrdup_or_null(spec->cipher_list);
    c->spec.verify_sans = cw_xstrdup_all(spec->verify_sans, spec->n_verify_sans);
    c->spec.names = cw_xstrdup_all(spec->names, spec->n_names);
    format_expiry(ctx, c->expiry, sizeof(c->expiry));
    SSL_CTX_set_ex_data(ctx, index_of_certs(), c);
    t->certs = cw_xrealloc(t->certs, (t->n_certs + 1) * sizeof(*t->certs));
    t->certs[t->n_certs++] = c;
    return true;
}

void cw_tls_termination_free(struct cw_tls_termination *t)
{
    for (uint32_t i = 0; i < t->n_certs; i++)
        free_cert(t->certs[i]);
    free(t->certs);
    t->certs = NULL;
    t->n_certs = 0;
}

SSL *cw_tls_termination_connection(const struct cw_tls_termination *t)
{
    SSL *ssl = SSL_new(t->certs[0]->ctx);
    ERR_clear_error();
    return ssl; /* a ClientHello without SNI keeps the first certificate */
}

const struct cw_tls_serving_spec *cw_tls_termination_spec(const struct cw_tls_termination *t,
                                                          uint32_t i)
{
    return &t->certs[i]->spec;
}

const char *cw_tls_termination_expiry(const struct cw_tls_termination *t, uint32_t i)
{
    return t->certs[i]->expiry;
}
