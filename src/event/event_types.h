/*
 * The event layer's own small types: byte buffers, error codes and readiness bits. Nothing from
 * libuv (or any other library) leaks upward through them.
 *
 * Errors are negative errno values, as the system calls give them, plus CW_EOF for an orderly
 * end of stream; CW_EOF is outside errno's range so no system error can be mistaken for it.
 */
#ifndef CW_EVENT_TYPES_H
#define CW_EVENT_TYPES_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* A run of bytes (the fields of struct iovec). */
struct cw_buf {
    char *base;
    size_t len;
};

static inline struct cw_buf cw_buf_init(char *base, size_t len)
{
    return (struct cw_buf){base, len};
}

#define CW_EOF          (-4095)
#define CW_ETLS         (-4094) /* a TLS handshake or record failed (event/tls.h says why) */
#define CW_EAGAIN       (-EAGAIN)
#define CW_ENOBUFS      (-ENOBUFS)
#define CW_ECANCELED    (-ECANCELED)
#define CW_EBADF        (-EBADF)
#define CW_EINVAL       (-EINVAL)
#define CW_ECONNREFUSED (-ECONNREFUSED)
#define CW_ETIMEDOUT    (-ETIMEDOUT)
#define CW_EMFILE       (-EMFILE)
#define CW_ENFILE       (-ENFILE)
#define CW_ENOMEM       (-ENOMEM)

/* The gateway's own resources ran out (descriptors, memory): never a peer's fault, so never
 * counted against an upstream endpoint. */
static inline bool cw_err_is_local_shortage(int err)
{
    return err == CW_EMFILE || err == CW_ENFILE || err == CW_ENOBUFS || err == CW_ENOMEM;
}

/* The words for such a shortage, for a 503 and the access log. */
static inline const char *cw_local_shortage_text(int err)
{
    return err == CW_EMFILE || err == CW_ENFILE ? "gateway out of file descriptors"
                                                : "gateway out of memory";
}

/* Readiness a socket's owner can wait for (cw_sock_watch). */
#define CW_READABLE 1
#define CW_WRITABLE 2

/* "end of file" for CW_EOF, else strerror's text for the errno. */
const char *cw_strerror(int err);

/* The errno's short name ("ECONNREFUSED"), "EOF", or "E?" when unknown; for logs and tests. */
const char *cw_err_name(int err);

#endif
