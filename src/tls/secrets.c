#include "tls/secrets.h"

#include <stdio.h>
#include <sys/stat.h>

/* The names a key goes by, in the order looked for: the kubernetes.io/tls Secret type's, then
 * Istio's generic ones. */
static const char *const key_names[][2] = {
    [CW_SECRET_CERT] = {"tls.crt", "cert"},
    [CW_SECRET_KEY] = {"tls.key", "key"},
    [CW_SECRET_CA] = {"ca.crt", "cacert"},
};

static bool regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode); /* follows the ..data symlinks */
}

bool cw_secret_file(const char *dir, const char *ns, const char *name, enum cw_secret_key key,
                    char *out, size_t size)
{
    for (int i = 0; i < 2; i++) {
        snprintf(out, size, "%s/%s/%s/%s", dir, ns, name, key_names[key][i]);
        if (regular_file(out))
            return true;
    }
    snprintf(out, size, "%s/%s/%s/%s", dir, ns, name, key_names[key][0]);
    return false;
}
