/*
 * What origination (a client certificate) and termination (a server certificate) both do with
 * OpenSSL: load a certificate chain and its private key into a context, and say in words what
 * went wrong, naming the file.
 */
#ifndef CW_TLS_KEY_PAIR_H
#define CW_TLS_KEY_PAIR_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* OpenSSL's last queued reason ("no start line", "key values mismatch"), the queue cleared. */
const char *cw_tls_reason(void);

/*
 * Loads the PEM chain <cert> and key <key> into <ctx> and checks they match. False with the
 * reason in <err>, the files named by <cert_field> and <key_field> ("clientCertificate",
 * "privateKey"), as the manifest calls them.
 */
bool cw_tls_use_key_pair(SSL_CTX *ctx, const char *cert, const char *key, const char *cert_field,
                         const char *key_field, char *err, size_t err_size);

#endif
