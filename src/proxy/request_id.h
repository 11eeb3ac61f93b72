/*
 * The id a request is known by, in the access log and upstream (X-Request-Id): the client's
 * own when it is a sane token, so that a trace that started before the gateway goes on; a new
 * random one otherwise. A client's id can never forge a log field or a header: anything but
 * 1 to 128 of [A-Za-z0-9._:-] is replaced.
 */
#ifndef CW_PROXY_REQUEST_ID_H
#define CW_PROXY_REQUEST_ID_H

#include <stdbool.h>
#include <stdint.h>

#include "http/head.h"

#define CW_REQUEST_ID_MAX 128

/* A worker's generator of ids (xorshift128+, seeded from the kernel): no system call, no lock
 * per request. */
struct cw_request_ids {
    uint64_t s[2];
};

void cw_request_ids_seed(struct cw_request_ids *ids);

/* The id of the request with head <h> into <out> (CW_REQUEST_ID_MAX + 1 bytes): its
 * X-Request-Id when sane, else a new one in UUID v4 form. True when the client's was kept. */
bool cw_request_id(const struct cw_http_head *h, struct cw_request_ids *ids, char *out);

#endif
