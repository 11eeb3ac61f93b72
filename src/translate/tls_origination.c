/*
 * TLS origination per ExternalService port (spec §1.3 and its [DECISION] "TLS at causeway"): a
 * port that asks for TLS gets a client context on each of its clusters, or the service is
 * INVALID with the reason. It is never served in plaintext.
 */
#include <stdio.h>

#include <openssl/ssl.h>

#include "snapshot/snapshot_types.h"
#include "tls/origin.h"
#include "tls/secrets.h"
#include "translate/translate_int.h"
#include "util/arena.h"
#include "util/text.h"

/* TLS when clientsideTls is set with a mode other than DISABLE, or the protocol is HTTPS/TLS. */
static bool asks_for_tls(const struct cw_es_port *p)
{
    if (p->tls.present && p->tls.mode != CW_TLS_MODE_DISABLE)
        return true;
    return p->protocol == CW_PROTO_HTTPS || p->protocol == CW_PROTO_TLS;
}

static bool has_wildcard_host(const struct cw_external_service *es)
{
    for (uint32_t i = 0; i < es->hosts.n; i++)
        if (cw_hostname_is_wildcard(es->hosts.v[i]))
            return true;
    return false;
}

/* The one non-wildcard host of <es>: the default SNI. NULL when there are none or several. */
static const char *single_host(const struct cw_external_service *es)
{
    const char *found = NULL;
    for (uint32_t i = 0; i < es->hosts.n; i++) {
        if (cw_hostname_is_wildcard(es->hosts.v[i]))
            continue;
        if (found)
            return NULL;
        found = es->hosts.v[i];
    }
    return found;
}

/* A file of Secret <name> in <es>'s namespace, into the arena; false (INVALID said) when a
 * required one is missing. */
static bool secret_path(struct tr *t, const struct cw_external_service *es,
                        const struct cw_es_port *p, enum cw_secret_key key, bool required,
                        const char **out)
{
    char path[4096];
    if (cw_secret_file(t->gw->secrets_dir, es->obj.meta.ns, p->tls.credential_name, key, path,
                       sizeof(path))) {
        *out = cw_arena_strdup(t->arena, path);
        return true;
    }
    *out = NULL;
    if (required)
        tr_invalid(t, &es->obj, "port %u: clientsideTls.credentialName %s: %s not found",
                   p->number, p->tls.credential_name, path);
    return !required;
}

/* The certificate files of credentialName's Secret. */
static bool files_from_secret(struct tr *t, const struct cw_external_service *es,
                              const struct cw_es_port *p, struct cw_tls_origin_spec *spec)
{
    if (p->tls.ca_certificates || p->tls.client_certificate || p->tls.private_key) {
        tr_invalid(t, &es->obj,
                   "port %u: clientsideTls.credentialName excludes caCertificates, "
                   "clientCertificate and privateKey",
                   p->number);
        return false;
    }
    if (!t->gw->secrets_dir) {
        tr_invalid(t, &es->obj,
                   "port %u: clientsideTls.credentialName %s needs --secrets-dir (where Secrets "
                   "are mounted)",
                   p->number, p->tls.credential_name);
        return false;
    }
    bool mutual = spec->mode == CW_TLS_MODE_MUTUAL;
    return secret_path(t, es, p, CW_SECRET_CA, false, &spec->ca_file) &&
           secret_path(t, es, p, CW_SECRET_CERT, mutual, &spec->cert_file) &&
           secret_path(t, es, p, CW_SECRET_KEY, mutual, &spec->key_file);
}

/* The mode: SIMPLE unless stated; false (INVALID said) for one a gateway cannot serve. */
static bool choose_mode(struct tr *t, const struct cw_external_service *es,
                        const struct cw_es_port *p, enum cw_tls_mode *mode)
{
    switch (p->tls.mode) {
    case CW_TLS_MODE_ISTIO_MUTUAL:
        tr_invalid(t, &es->obj,
                   "port %u: ISTIO_MUTUAL requires the Istio mesh; use MUTUAL with files or "
                   "credentialName",
                   p->number);
        return false;
    case CW_TLS_MODE_DISABLE:
        tr_warn(t, &es->obj,
                "port %u: clientsideTls mode DISABLE is overridden: protocol %s asks for TLS",
                p->number, p->protocol == CW_PROTO_HTTPS ? "HTTPS" : "TLS");
        *mode = CW_TLS_MODE_SIMPLE;
        return true;
    case CW_TLS_MODE_MUTUAL:
        *mode = CW_TLS_MODE_MUTUAL;
        return true;
    default:
        *mode = CW_TLS_MODE_SIMPLE;
        return true;
    }
}

/* What port <p> asks for, its files found; false when the service is INVALID for it. */
static bool spec_of(struct tr *t, const struct cw_external_service *es, const struct cw_es_port *p,
                    struct cw_tls_origin_spec *spec)
{
    *spec = (struct cw_tls_origin_spec){.skip_verify = p->tls.insecure_skip_verify};
    if (!choose_mode(t, es, p, &spec->mode))
        return false;
    spec->sni = p->tls.sni ? p->tls.sni : single_host(es);
    spec->sans = es->subject_alt_names.v;
    spec->n_sans = es->subject_alt_names.n;
    if (has_wildcard_host(es)) { /* §1.3's caveats, warned in endpoints.c: defaults only */
        spec->mode = CW_TLS_MODE_SIMPLE;
        return true;
    }
    if (p->tls.credential_name)
        return files_from_secret(t, es, p, spec);
    spec->ca_file = p->tls.ca_certificates;
    spec->cert_file = p->tls.client_certificate;
    spec->key_file = p->tls.private_key;
    if (spec->mode == CW_TLS_MODE_MUTUAL && (!spec->cert_file || !spec->key_file)) {
        tr_invalid(t, &es->obj,
                   "port %u: clientsideTls MUTUAL requires clientCertificate and privateKey "
                   "(or credentialName)",
                   p->number);
        return false;
    }
    return true;
}

/* Frees the contexts given to <clusters> so far (the service turned out INVALID). */
static void drop_contexts(struct cw_cluster **clusters, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        cw_tls_origin_free(clusters[i]->tls);
        clusters[i]->tls = NULL;
    }
}

/*
 * The client context for <spec>: one per distinct mode, files and verification in a
 * translation (ten thousand services with default TLS share one), kept in t->tls_contexts until
 * the translation ends. NULL (INVALID said) when it cannot be built.
 */
static SSL_CTX *context_for(struct tr *t, const struct cw_external_service *es,
                            const struct cw_es_port *p, const struct cw_tls_origin_spec *spec)
{
    char key[8192];
    int n = snprintf(key, sizeof(key), "%d|%d|%s|%s|%s", (int)spec->mode, spec->skip_verify,
                     spec->ca_file ? spec->ca_file : "", spec->cert_file ? spec->cert_file : "",
                     spec->key_file ? spec->key_file : "");
    if (n < 0 || (size_t)n >= sizeof(key)) {
        tr_invalid(t, &es->obj, "port %u: clientsideTls file paths too long", p->number);
        return NULL;
    }
    SSL_CTX *ctx = cw_strmap_get(&t->tls_contexts, key, (size_t)n);
    if (ctx)
        return ctx;
    char err[512];
    ctx = cw_tls_client_context(spec, err, sizeof(err));
    if (!ctx) {
        tr_invalid(t, &es->obj, "port %u: %s", p->number, err);
        return NULL;
    }
    cw_strmap_put_new(&t->tls_contexts, cw_arena_strndup(&t->scratch, key, (size_t)n), (size_t)n,
                      ctx);
    return ctx;
}

bool tr_tls_origination(struct tr *t, const struct cw_external_service *es,
                        struct cw_cluster **clusters, uint32_t per_port)
{
    for (uint32_t i = 0; i < es->ports.n; i++) {
        const struct cw_es_port *p = &es->ports.v[i];
        if (!asks_for_tls(p))
            continue;
        struct cw_tls_origin_spec spec;
        if (!spec_of(t, es, p, &spec)) {
            drop_contexts(clusters, i * per_port);
            return false;
        }
        if (spec.skip_verify)
            tr_warn(t, &es->obj,
                    "port %u: clientsideTls.insecureSkipVerify: the server's certificate is not "
                    "verified",
                    p->number);
        SSL_CTX *ctx = context_for(t, es, p, &spec);
        if (!ctx) {
            drop_contexts(clusters, i * per_port);
            return false;
        }
        for (uint32_t h = 0; h < per_port; h++)
            clusters[i * per_port + h]->tls = cw_tls_origin_new(&spec, ctx);
    }
    return true;
}

/* Drops the translation's references to the contexts (clusters keep theirs). */
void tr_tls_contexts_free(struct tr *t)
{
    for (size_t i = 0; i < t->tls_contexts.cap; i++)
        if (t->tls_contexts.slots[i].key)
            SSL_CTX_free(t->tls_contexts.slots[i].value);
    cw_strmap_deinit(&t->tls_contexts);
}
