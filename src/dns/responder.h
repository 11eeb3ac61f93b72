/*
 * The DNS responder (--dns-listen): answers A/AAAA queries over UDP and TCP for the hostnames
 * this gateway serves (zone.h) with the advertised addresses; any other name is REFUSED, or
 * forwarded to the resolvers with --dns-forward. Runs on the control thread's loop; queries
 * are read by message.h, which refuses malformed ones without following anything they say.
 */
#ifndef CW_DNS_RESPONDER_H
#define CW_DNS_RESPONDER_H

#include <stdint.h>
#include <uv.h>

#include "dns/message.h"
#include "dns/resolver.h"
#include "snapshot/snapshot_types.h"

struct cw_dns_responder_config {
    const char *listen; /* "ADDR:PORT" or "[v6]:PORT" */
    const struct cw_dns_address *advertised;
    unsigned n_advertised;
    uint32_t ttl_s;                     /* of every answer */
    struct cw_dns_resolver *forward_to; /* other names go there; NULL: REFUSED */
};

struct cw_dns_responder;

/* Binds UDP and TCP on <cfg->listen> and starts answering for the names of <snap>. Returns 0,
 * or -1 with the reason in <why>. <cfg>'s arrays must outlive the responder. Control thread. */
int cw_dns_responder_start(struct cw_dns_responder **out, uv_loop_t *loop,
                           const struct cw_dns_responder_config *cfg,
                           const struct cw_snapshot *snap, char *why, size_t size);

/* Answers for the names of <snap> from now on (a reload). Control thread. */
void cw_dns_responder_serve(struct cw_dns_responder *r, const struct cw_snapshot *snap);

/* Closes the sockets and open connections; the memory goes once the loop has run the closes. */
void cw_dns_responder_close(struct cw_dns_responder *r);

#endif
