/*
 * TLS on listeners (spec §4.2, ListenerTLS): what a listener entry with `tls` serves. SIMPLE,
 * MUTUAL and OPTIONAL_MUTUAL terminate with a certificate from `files` or `secretName`; entries
 * sharing a port add their certificates, chosen by SNI among the hosts of each entry's
 * allowedRouteTables. PASSTHROUGH routes by SNI without terminating (tcp listeners only).
 * A listener that asks for TLS and cannot have it is not served at all, never in plaintext.
 */
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "snapshot/snapshot_types.h"
#include "tls/secrets.h"
#include "tls/termination.h"
#include "translate/translate_int.h"
#include "util/arena.h"

/* The OpenSSL version for a parameters value; 0 for TLS_AUTO (no bound). */
static int version_of(const char *v, int fallback)
{
    static const struct {
        const char *name;
        int version;
    } versions[] = {{"TLSv1_0", TLS1_VERSION},
                    {"TLSv1_1", TLS1_1_VERSION},
                    {"TLSv1_2", TLS1_2_VERSION},
                    {"TLSv1_3", TLS1_3_VERSION}};
    if (!v)
        return fallback;
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
        if (!strcmp(v, versions[i].name))
            return versions[i].version;
    return 0; /* TLS_AUTO */
}

/* The mode an entry asks for: stated, else SIMPLE with a certificate and PASSTHROUGH without
 * ([DECISION]: Istio's own default is PASSTHROUGH, which cannot use a certificate). */
static const char *mode_of(const struct cw_listener_tls *tls)
{
    if (tls->mode)
        return tls->mode;
    return tls->secret_name || tls->server_cert ? "SIMPLE" : "PASSTHROUGH";
}

/* Key <key> of Secret <name> in the gateway's namespace; false (INVALID said) when required
 * and missing. */
static bool secret_file(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
                        const char *name, enum cw_secret_key key, bool required, const char **out)
{
    char path[4096];
    *out = NULL;
    if (cw_secret_file(t->gw->secrets_dir, t->gw->ns, name, key, path, sizeof(path))) {
        *out = cw_arena_strdup(&t->scratch, path);
        return true;
    }
    if (required)
        tr_invalid(t, &vg->obj, "listeners[%u]: tls.secretName %s: %s not found", index, name,
                   path);
    return !required;
}

/* The files of secretName: certificate and key, and a CA for client certificates in the same
 * Secret or in "<name>-cacert" (Istio's two layouts). */
static bool files_from_secret(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
                              const struct cw_listener_tls *tls, struct cw_tls_serving_spec *spec)
{
    if (!t->gw->secrets_dir) {
        tr_invalid(t, &vg->obj,
                   "listeners[%u]: tls.secretName %s needs --secrets-dir (where Secrets are "
                   "mounted)",
                   index, tls->secret_name);
        return false;
    }
    if (!secret_file(t, vg, index, tls->secret_name, CW_SECRET_CERT, true, &spec->cert_file) ||
        !secret_file(t, vg, index, tls->secret_name, CW_SECRET_KEY, true, &spec->key_file))
        return false;
    if (!spec->mutual)
        return true;
    secret_file(t, vg, index, tls->secret_name, CW_SECRET_CA, false, &spec->ca_file);
    if (!spec->ca_file) {
        const char *ca_secret = cw_arena_printf(&t->scratch, "%s-cacert", tls->secret_name);
        secret_file(t, vg, index, ca_secret, CW_SECRET_CA, false, &spec->ca_file);
    }
    return true;
}

/* The SNI names an entry's certificate serves: its allowedRouteTables hosts, else any. */
static void names_of(struct tr *t, const struct cw_listener *l, struct cw_tls_serving_spec *spec)
{
    static const char *const any[] = {"*"};
    spec->names = any;
    spec->n_names = 1;
    if (!l->allowed_route_tables.n)
        return;
    const char **names = CW_ARENA_ARRAY(&t->scratch, const char *, l->allowed_route_tables.n);
    for (uint32_t i = 0; i < l->allowed_route_tables.n; i++) {
        const char *host = l->allowed_route_tables.v[i].host;
        const char *slash = strchr(host, '/');
        names[i] = slash ? slash + 1 : host;
    }
    spec->names = names;
    spec->n_names = l->allowed_route_tables.n;
}

static const char *cipher_list(struct tr *t, const struct cw_listener_tls *tls)
{
    if (!tls->cipher_suites.n)
        return NULL;
    size_t len = 1;
    for (uint32_t i = 0; i < tls->cipher_suites.n; i++)
        len += strlen(tls->cipher_suites.v[i]) + 1;
    char *out = cw_arena_alloc(&t->scratch, len);
    out[0] = '\0';
    for (uint32_t i = 0; i < tls->cipher_suites.n; i++) {
        if (i)
            strcat(out, ":");
        strcat(out, tls->cipher_suites.v[i]);
    }
    return out;
}

/* How entry <index> serves its certificate; false (INVALID said) when it cannot. */
static bool serving_spec(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
                         const struct cw_listener *l, const char *mode,
                         struct cw_tls_serving_spec *spec)
{
    const struct cw_listener_tls *tls = &l->tls;
    *spec = (struct cw_tls_serving_spec){
        .mutual = strcmp(mode, "SIMPLE") != 0,
        .client_cert_optional = !strcmp(mode, "OPTIONAL_MUTUAL"),
        .min_version = version_of(tls->min_version, TLS1_2_VERSION),
        .max_version = version_of(tls->max_version, 0),
        .cipher_list = cipher_list(t, tls),
        .verify_sans = tls->verify_subject_alt_names.v,
        .n_verify_sans = tls->verify_subject_alt_names.n,
        .alpn_http11 = l->http,
    };
    names_of(t, l, spec);
    if (tls->secret_name) {
        if (!files_from_secret(t, vg, index, tls, spec))
            return false;
    } else {
        spec->cert_file = tls->server_cert;
        spec->key_file = tls->private_key;
        spec->ca_file = tls->ca_certs;
    }
    if (!spec->cert_file || !spec->key_file) {
        tr_invalid(t, &vg->obj,
                   "listeners[%u]: tls %s needs a certificate: files.serverCert and "
                   "files.privateKey, or secretName",
                   index, mode);
        return false;
    }
    if (spec->mutual && !spec->ca_file) {
        tr_invalid(t, &vg->obj,
                   "listeners[%u]: tls %s needs the CA of client certificates: files.caCerts, "
                   "or ca.crt in the Secret",
                   index, mode);
        return false;
    }
    if (!spec->mutual && spec->n_verify_sans)
        tr_warn(t, &vg->obj, "listeners[%u]: tls.verifySubjectAltName needs MUTUAL; ignored",
                index);
    return true;
}

bool tr_listener_tls(struct tr *t, const struct cw_virtual_gateway *vg, uint32_t index,
                     const struct cw_listener *l, struct cw_snapshot_listener *sl)
{
    const char *mode = mode_of(&l->tls);
    if (!strcmp(mode, "ISTIO_MUTUAL")) {
        tr_invalid(t, &vg->obj,
                   "listeners[%u]: ISTIO_MUTUAL requires the Istio mesh; use MUTUAL with files "
                   "or secretName",
                   index);
        return false;
    }
    if (!strcmp(mode, "AUTO_PASSTHROUGH")) {
        tr_warn(t, &vg->obj,
                "listeners[%u]: AUTO_PASSTHROUGH is for mesh east-west gateways; listener not "
                "served",
                index);
        return false;
    }
    if (!strcmp(mode, "PASSTHROUGH")) {
        if (l->http) {
            tr_invalid(t, &vg->obj, "listeners[%u]: tls PASSTHROUGH needs a tcp listener", index);
            return false;
        }
        sl->passthrough = true;
        return true;
    }
    struct cw_tls_serving_spec spec;
    if (!serving_spec(t, vg, index, l, mode, &spec))
        return false;
    if (!sl->tls)
        sl->tls = CW_ARENA_NEW(t->arena, struct cw_tls_termination);
    char err[600];
    if (!cw_tls_termination_add(sl->tls, &spec, err, sizeof(err))) {
        tr_invalid(t, &vg->obj, "listeners[%u]: tls: %s", index, err);
        return false;
    }
    return true;
}
