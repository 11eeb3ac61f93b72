/*
 * Reading the server name (SNI) of a TLS ClientHello without terminating TLS, for pass-through
 * routes (spec §3.6). The bytes are the client's first ones, as they arrived: the ClientHello
 * may be split over several TLS records and over any number of reads. Hostile input is the
 * norm here: every length is checked against what arrived and against the limits below.
 */
#ifndef CW_TLS_CLIENT_HELLO_H
#define CW_TLS_CLIENT_HELLO_H

#include <stddef.h>

/* A ClientHello larger than this is refused (browsers send under 2 KiB; with post-quantum key
 * shares under 4 KiB). */
#define CW_CLIENT_HELLO_MAX 16384

enum cw_hello_result {
    CW_HELLO_NEED_MORE, /* a prefix of a ClientHello: read more */
    CW_HELLO_SNI,       /* found: the name is in <sni> (lowercased) */
    CW_HELLO_NO_SNI,    /* a whole ClientHello without a server name */
    CW_HELLO_INVALID,   /* not TLS, not a ClientHello, malformed, a bad name, or too large */
};

/* Looks at the <n> bytes at <p>; <sni> gets the name (at most 255 characters + NUL, <size>
 * must be at least 256). <why> (may be NULL) gets the reason for CW_HELLO_INVALID. */
enum cw_hello_result cw_client_hello_sni(const unsigned char *p, size_t n, char *sni, size_t size,
                                         const char **why);

#endif
