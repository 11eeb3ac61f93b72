/*
 * Access log: one line per HTTP request or TCP connection, text or JSON. Each worker formats
 * into its own buffer and writes whole lines with one write(2) per loop iteration, so workers
 * never contend and lines never interleave (O_APPEND).
 */
#ifndef CW_ACCESS_LOG_H
#define CW_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "http/head.h"

struct cw_access_log {
    int fd;
    bool json;
};

struct cw_log_buffer {
    char *data;
    size_t len, cap;
};

/* One record; absent strings are NULL and print as "-". */
struct cw_access_record {
    const char *protocol; /* "http" or "tcp" */
    uint16_t listener;
    const char *method;
    const char *path;
    const char *host;
    const char *route;    /* "ns/table:route" */
    const char *service;  /* cluster name */
    const char *endpoint; /* "ip:port" */
    const char *locality; /* "region/zone/subZone" of the endpoint */
    int priority;         /* the endpoint's priority, -1 when no endpoint served */
    int status;           /* HTTP status; 0 for TCP */
    uint64_t bytes_in, bytes_out;
    uint64_t duration_ms;
    uint32_t retries;
    const char *client;       /* "ip:port" of the client's connection */
    const char *request_id;   /* the X-Request-Id sent upstream (HTTP) */
    int64_t upstream_connect_us;  /* the last attempt's connect, 0 pooled, -1 none */
    int64_t upstream_response_us; /* request head out to response head in, -1 none */
    const char *sni;          /* the TLS server name a pass-through connection asked for */
    const char *upstream_tls; /* "full" or "resumed": the upstream TLS handshake; NULL: plain */
    const char *reason; /* why a local reply or a close happened, or NULL */
};

/* "ip:port" ("[v6]:port") of a client, for the log: CW_CLIENT_TEXT bytes at most. */
#define CW_CLIENT_TEXT 56
void cw_client_text(char *out, const char *ip, uint16_t port);

/* The address of <peer> as text into <out> ("unknown" for another family). */
void cw_sockaddr_ip(const struct sockaddr_storage *peer, char *out, size_t size);

/* The port of <peer> (IPv4 or IPv6), 0 for another family. */
uint16_t cw_sockaddr_port(const struct sockaddr_storage *peer);

/* What a request's log line needs of its head, copied while the head is there: <n> fields,
 * each NUL-terminated, in one allocation (the caller frees it). */
char *cw_log_text_new(const struct cw_span *fields, unsigned n);

/* Field <i> of such a text, or "-" when <text> is NULL. */
const char *cw_log_text_field(const char *text, unsigned i);

/* Opens <path> ("-" = stdout) for appending. Returns 0 or -errno. */
int cw_access_log_open(struct cw_access_log *log, const char *path, bool json);
void cw_access_log_close(struct cw_access_log *log);

/* Opens <path> again (logrotate moved it away) and writes there from now on; the workers may be
 * writing meanwhile. Control thread. Returns 0 or -errno (the old file is kept). */
int cw_access_log_reopen(struct cw_access_log *log, const char *path);

/* Formats <r> into <buf> (the worker's). */
void cw_access_log_add(const struct cw_access_log *log, struct cw_log_buffer *buf,
                       const struct cw_access_record *r);

/* Writes out what <buf> holds. */
void cw_access_log_flush(const struct cw_access_log *log, struct cw_log_buffer *buf);

void cw_log_buffer_free(struct cw_log_buffer *buf);

#endif
