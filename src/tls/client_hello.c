#include "tls/client_hello.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define RECORD_HEADER    5
#define RECORD_MAX       (16384 + 2048) /* a TLSCiphertext's largest fragment (RFC 8446 §5.2) */
#define HANDSHAKE        22
#define CLIENT_HELLO     1
#define EXT_SERVER_NAME  0
#define NAME_TYPE_HOST   0
#define SERVER_NAME_MAX  255

/* A bounded reader over a byte range: every take checks what is left. */
struct reader {
    const unsigned char *p;
    size_t left;
};

static bool take(struct reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return false;
    if (out)
        *out = r->p;
    r->p += n;
    r->left -= n;
    return true;
}

static bool take_u8(struct reader *r, size_t *v)
{
    const unsigned char *b;
    if (!take(r, 1, &b))
        return false;
    *v = b[0];
    return true;
}

static bool take_u16(struct reader *r, size_t *v)
{
    const unsigned char *b;
    if (!take(r, 2, &b))
        return false;
    *v = (size_t)b[0] << 8 | b[1];
    return true;
}

/* A vector with a <width>-byte length prefix, as a reader of its own. */
static bool take_vector(struct reader *r, int width, struct reader *out)
{
    size_t len;
    if (!(width == 1 ? take_u8(r, &len) : take_u16(r, &len)))
        return false;
    out->p = r->p;
    out->left = len;
    return take(r, len, NULL);
}

static enum cw_hello_result invalid(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return CW_HELLO_INVALID;
}

/* A host name as DNS allows it in SNI (RFC 6066 §3): letters, digits, '-', '.', lowercased;
 * no trailing dot, no empty label. */
static bool copy_host_name(const unsigned char *p, size_t n, char *out)
{
    if (n == 0 || n > SERVER_NAME_MAX || p[0] == '.' || p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  (c >= 'A' && c <= 'Z');
        if (!ok || (c == '.' && p[i - 1] == '.'))
            return false;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out[n] = '\0';
    return true;
}

/* The server_name extension's host name (RFC 6066 §3). */
static enum cw_hello_result server_name(struct reader ext, char *sni, const char **why)
{
    struct reader list;
    if (!take_vector(&ext, 2, &list) || ext.left)
        return invalid(why, "malformed server_name extension");
    while (list.left) {
        size_t type;
        struct reader name;
        if (!take_u8(&list, &type) || !take_vector(&list, 2, &name))
            return invalid(why, "malformed server_name extension");
        if (type != NAME_TYPE_HOST)
            continue;
        if (!copy_host_name(name.p, name.left, sni))
            return invalid(why, "server name is not a host name");
        return CW_HELLO_SNI;
    }
    return CW_HELLO_NO_SNI;
}

/* The body of a whole ClientHello message (RFC 8446 §4.1.2). */
static enum cw_hello_result parse_client_hello(struct reader r, char *sni, const char **why)
{
    struct reader skip;
    if (!take(&r, 2 + 32, NULL) || !take_vector(&r, 1, &skip) || /* version, random, id */
        !take_vector(&r, 2, &skip) || !take_vector(&r, 1, &skip))  /* ciphers, compression */
        return invalid(why, "malformed ClientHello");
    if (r.left == 0)
        return CW_HELLO_NO_SNI; /* no extensions at all (SSL 3.0 style) */
    struct reader exts;
    if (!take_vector(&r, 2, &exts) || r.left)
        return invalid(why, "malformed ClientHello extensions");
    while (exts.left) {
        size_t type;
        struct reader ext;
        if (!take_u16(&exts, &type) || !take_vector(&exts, 2, &ext))
            return invalid(why, "malformed ClientHello extensions");
        if (type == EXT_SERVER_NAME)
            return server_name(ext, sni, why);
    }
    return CW_HELLO_NO_SNI;
}

enum cw_hello_result cw_client_hello_sni(const unsigned char *p, size_t n, char *sni, size_t size,
                                         const char **why)
{
    if (size <= SERVER_NAME_MAX)
        return invalid(why, "no room for the name");
    /* The handshake message is gathered from the fragments of consecutive records. */
    unsigned char msg[CW_CLIENT_HELLO_MAX];
    size_t have = 0, want = 0; /* want: 4 + the message length, once its header is in */
    struct reader in = {p, n};
    while (!want || have < want) {
        const unsigned char *h, *frag;
        if (!take(&in, RECORD_HEADER, &h))
            return n > CW_CLIENT_HELLO_MAX + RECORD_HEADER * 8 ? invalid(why, "too large")
                                                              : CW_HELLO_NEED_MORE;
        size_t len = (size_t)h[3] << 8 | h[4];
        if (h[0] != HANDSHAKE || h[1] != 3)
            return invalid(why, "not a TLS handshake");
        if (len == 0 || len > RECORD_MAX)
            return invalid(why, "bad TLS record length");
        if (!take(&in, len, &frag))
            return CW_HELLO_NEED_MORE;
        if (have + len > sizeof(msg))
            return invalid(why, "ClientHello too large");
        memcpy(msg + have, frag, len);
        have += len;
        if (!want && have >= 4) {
            if (msg[0] != CLIENT_HELLO)
                return invalid(why, "first handshake message is not a ClientHello");
            want = 4 + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]);
            if (want > sizeof(msg))
                return invalid(why, "ClientHello too large");
        }
    }
    struct reader body = {msg + 4, want - 4};
    return parse_client_hello(body, sni, why);
}
