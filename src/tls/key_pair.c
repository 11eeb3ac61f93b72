#include "tls/key_pair.h"

#include <openssl/err.h>
#include <stdio.h>

const char *cw_tls_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown error";
}

bool cw_tls_use_key_pair(SSL_CTX *ctx, const char *cert, const char *key, const char *cert_field,
                         const char *key_field, char *err, size_t err_size)
{
    if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
        snprintf(err, err_size, "%s %s cannot be used: %s", cert_field, cert, cw_tls_reason());
        return false;
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
        snprintf(err, err_size, "%s %s cannot be used: %s", key_field, key, cw_tls_reason());
        return false;
    }
    if (!SSL_CTX_check_private_key(ctx)) {
        snprintf(err, err_size, "%s %s does not match %s %s", key_field, key, cert_field, cert);
        ERR_clear_error();
        return false;
    }
    return true;
}
