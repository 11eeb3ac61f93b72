/* The DNS options of `run` and `validate` (private to cli/): resolution and the responder. */
#ifndef CW_CLI_DNS_OPTIONS_H
#define CW_CLI_DNS_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/options.h"
#include "dns/message.h"
#include "dns/resolver.h"

#define CW_DNS_MAX_SERVERS 8
#define CW_DNS_MAX_ADVERTISED 8

struct cw_dns_options {
    const char *servers[CW_DNS_MAX_SERVERS]; /* --dns-server */
    unsigned n_servers;
    const char *hosts_file;                  /* --dns-hosts-file; NULL: none */
    struct cw_dns_settings settings;         /* --dns-min-ttl, --dns-max-ttl, --dns-stale-for */
    const char *listen;                      /* --dns-listen ADDR:PORT, NULL: no responder */
    struct cw_dns_address advertised[CW_DNS_MAX_ADVERTISED]; /* --advertise-address */
    unsigned n_advertised;
    bool forward;                            /* --dns-forward */
    uint32_t answer_ttl_s;                   /* --dns-answer-ttl */
};

/* The defaults: TTLs clamped to 1s…300s, last-known-good for 10 minutes, answers for 5s. */
void cw_dns_options_init(struct cw_dns_options *o);

/*
 * Tries argv[*i] as a DNS option (<responder>: the responder's too, which only `run` has),
 * advancing *i past its value. Reports usage errors on stderr, prefixed with <command>.
 */
enum cw_opt_result cw_dns_option(struct cw_dns_options *o, bool responder, int argc, char **argv,
                                 int *i, const char *command);

/* Checks the options together (a responder needs an address to advertise). Returns 0 or 2. */
int cw_dns_options_check(const struct cw_dns_options *o, const char *command);

void cw_dns_options_help(FILE *out, bool responder);

/* The resolver configuration the options describe, with <events> for its log lines. */
struct cw_dns_resolver_config cw_dns_resolver_config_of(const struct cw_dns_options *o,
                                                        FILE *events);

#endif
