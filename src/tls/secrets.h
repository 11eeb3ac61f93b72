/*
 * Kubernetes Secrets as a pod mounts them (spec §1.3 [DECISION]): --secrets-dir DIR holds
 * DIR/<namespace>/<name>/ with one file per key of the Secret. A key may go by two names
 * (tls.crt or cert, tls.key or key, ca.crt or cacert), and the first that exists is used.
 */
#ifndef CW_TLS_SECRETS_H
#define CW_TLS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

enum cw_secret_key { CW_SECRET_CERT, CW_SECRET_KEY, CW_SECRET_CA };

/*
 * The path of key <key> of Secret <ns>/<name> under <dir>, written to <out>. True when the file
 * exists; false otherwise, with <out> naming the first path looked for (for the message).
 */
bool cw_secret_file(const char *dir, const char *ns, const char *name, enum cw_secret_key key,
                    char *out, size_t size);

#endif
