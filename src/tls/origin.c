#include "tls/origin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/key_pair.h"
#include "tls/session_slot.h"
#include "util/xalloc.h"

static bool load_trust(SSL_CTX *ctx, const struct cw_tls_origin_spec *spec, char *err,
                       size_t err_size)
{
    if (spec->skip_verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return true;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (!spec->ca_file) {
        if (SSL_CTX_set_default_verify_paths(ctx))
            return true;
        snprintf(err, err_size, "the system trust store cannot be read: %s", cw_tls_reason());
        return false;
    }
    if (SSL_CTX_load_verify_locations(ctx, spec->ca_file, NULL))
        return true;
    snprintf(err, err_size, "caCertificates %s cannot be used: %s", spec->ca_file, cw_tls_reason());
    return false;
}

static bool load_client_identity(SSL_CTX *ctx, const struct cw_tls_origin_spec *spec, char *err,
                                 size_t err_size)
{
    if (spec->mode != CW_TLS_MODE_MUTUAL)
        return true;
    return cw_tls_use_key_pair(ctx, spec->cert_file, spec->key_file, "clientCertificate",
                               "privateKey", err, err_size);
}

SSL_CTX *cw_tls_client_context(const struct cw_tls_origin_spec *spec, char *err,
                               size_t err_size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, err_size, "TLS context: %s", cw_tls_reason());
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Partial writes: a record that went out is reported at once (tls.c counts on it). Released
     * buffers: an idle pooled connection keeps no 34 KiB of record buffers. A peer that closes
     * without close_notify ends the stream as an EOF does; responses are framed, and the
     * framing says whether the end came too early. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, cw_tls_session_slot_on_new);
    if (!load_trust(ctx, spec, err, err_size) || !load_client_identity(ctx, spec, err, err_size)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

struct cw_tls_origin *cw_tls_origin_new(const struct cw_tls_origin_spec *spec, SSL_CTX *ctx)
{
    struct cw_tls_origin *o = cw_xcalloc(1, sizeof(*o));
    SSL_CTX_up_ref(ctx);
    o->ctx = ctx;
    o->spec = *spec;
    o->spec.sni = cw_xstrdup_or_null(spec->sni);
    o->spec.ca_file = cw_xstrdup_or_null(spec->ca_file);
    o->spec.cert_file = cw_xstrdup_or_null(spec->cert_file);
    o->spec.key_file = cw_xstrdup_or_null(spec->key_file);
    o->spec.sans = cw_xstrdup_all(spec->sans, spec->n_sans);
    return o;
}

void cw_tls_origin_free(struct cw_tls_origin *o)
{
    if (!o)
        return;
    SSL_CTX_free(o->ctx);
    free((char *)o->spec.sni);
    free((char *)o->spec.ca_file);
    free((char *)o->spec.cert_file);
    free((char *)o->spec.key_file);
    cw_free_all(o->spec.sans, o->spec.n_sans);
    free(o);
}

/* Whether <s> is an IP literal (checked as an IP SAN, not a DNS name). */
static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* One accepted name: a DNS name, or an IP literal (only one address can be set). */
static void accept_name(X509_VERIFY_PARAM *param, const char *name, bool *first)
{
    if (is_ip_literal(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name);
        return;
    }
    if (*first)
        X509_VERIFY_PARAM_set1_host(param, name, 0);
    else
        X509_VERIFY_PARAM_add1_host(param, name, 0);
    *first = false;
}

static void set_address_check(X509_VERIFY_PARAM *param, const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        X509_VERIFY_PARAM_set1_ip(param, (const unsigned char *)&a->sin_addr, 4);
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        X509_VERIFY_PARAM_set1_ip(param, (const unsigned char *)&a->sin6_addr, 16);
    }
}

static void set_name_checks(SSL *ssl, const struct cw_tls_origin_spec *spec, const char *dns_name,
                            const struct sockaddr *addr)
{
    if (spec->skip_verify)
        return;
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    /* "www.example.com" only: a wildcard in a certificate covers one label, never a suffix. */
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    bool first = true;
    if (spec->n_sans) {
        for (uint32_t i = 0; i < spec->n_sans; i++)
            accept_name(param, spec->sans[i], &first);
    } else if (spec->sni) {
        accept_name(param, spec->sni, &first);
    } else if (dns_name) {
        accept_name(param, dns_name, &first);
    } else {
        set_address_check(param, addr);
    }
}

SSL *cw_tls_origin_connection(const struct cw_tls_origin *o, const char *dns_name,
                              const struct sockaddr *addr, bool alpn_http11,
                              struct cw_tls_session_slot *slot)
{
    SSL *ssl = SSL_new(o->ctx);
    if (!ssl)
        return NULL;
    const char *sni = o->spec.sni ? o->spec.sni : dns_name;
    if (sni && !is_ip_literal(sni)) /* RFC 6066: no IP literal in server_name */
        SSL_set_tlsext_host_name(ssl, sni);
    set_name_checks(ssl, &o->spec, dns_name, addr);
    if (alpn_http11) {
        static const unsigned char http11[] = "\x08http/1.1";
        SSL_set_alpn_protos(ssl, http11, sizeof(http11) - 1);
    }
    if (slot) {
        cw_tls_session_slot_attach(ssl, slot);
        SSL_SESSION *s = cw_tls_session_slot_get(slot);
        if (s) {
            SSL_set_session(ssl, s);
            SSL_SESSION_free(s);
        }
    }
    ERR_clear_error();
    return ssl;
}

const char *cw_tls_origin_checks(const struct cw_tls_origin *o, const char *dns_name)
{
    if (o->spec.skip_verify)
        return "not verified";
    if (o->spec.n_sans)
        return "subjectAltNames";
    if (o->spec.sni)
        return o->spec.sni;
    return dns_name ? dns_name : "its IP address";
}
