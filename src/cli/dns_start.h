/* Starting resolution and the responder for `run` and `validate` (private to cli/). */
#ifndef CW_CLI_DNS_START_H
#define CW_CLI_DNS_START_H

#include <stdio.h>

#include "cli/dns_options.h"
#include "config/config_types.h"
#include "dns/endpoint_names.h"
#include "dns/resolver.h"
#include "dns/responder.h"
#include "snapshot/snapshot_types.h"

/* How long `run` at start and `validate` wait for the first answers (c-ares gives a silent
 * server 1s + 2s). */
#define CW_DNS_FIRST_ANSWERS_MS 3500
#define CW_DNS_FIRST_ANSWERS_TEXT "3.5s"

/*
 * Creates the resolver the options describe on the default loop (<events>: its event lines),
 * looks up every endpoint name of <snap>, waits for the first answers (bounded), and calls
 * <unresolved> for the names without an address. Returns NULL after printing why the resolver
 * cannot run ("causeway <command>: ..."). Control thread, before the loop runs.
 */
struct cw_dns_resolver *cw_cli_dns_resolve(const struct cw_dns_options *o,
                                           const struct cw_snapshot *snap, FILE *events,
                                           cw_dns_unresolved_fn *unresolved, void *data,
                                           const char *command);

/* Looks up every endpoint name of <snap> now (those already known too: a reload). */
void cw_cli_dns_want(struct cw_dns_resolver *r, const struct cw_snapshot *snap);

/*
 * The responder of --dns-listen for the names of <snap> in <*out> (NULL without the option),
 * forwarding to <resolver> with --dns-forward. Returns 0, or -1 after printing why it cannot
 * listen.
 */
int cw_cli_dns_responder_start(const struct cw_dns_options *o, const struct cw_snapshot *snap,
                               struct cw_dns_resolver *resolver, struct cw_dns_responder **out);

#endif
