/*
 * Parsing the DNS options of `run` and `validate` (dns_options.h).
 */
#include "cli/dns_options.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

void cw_dns_options_init(struct cw_dns_options *o)
{
    memset(o, 0, sizeof(*o));
    o->settings = (struct cw_dns_settings){
        .min_ttl_ms = 1000, .max_ttl_ms = 300000, .stale_for_ms = 600000};
    o->answer_ttl_s = 5;
    o->hosts_file = "/etc/hosts";
}

static bool parse_advertised(const char *v, struct cw_dns_address *a)
{
    if (inet_pton(AF_INET, v, a->bytes) == 1) {
        a->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, v, a->bytes) == 1) {
        a->family = AF_INET6;
        return true;
    }
    return false;
}

static const struct {
    const char *name;
    size_t offset;
} durations[] = {
    {"--dns-min-ttl", offsetof(struct cw_dns_settings, min_ttl_ms)},
    {"--dns-max-ttl", offsetof(struct cw_dns_settings, max_ttl_ms)},
    {"--dns-stale-for", offsetof(struct cw_dns_settings, stale_for_ms)},
};

/* Options with a value that both commands take. */
static int resolution_option(struct cw_dns_options *o, const char *arg, const char *v,
                             const char *command)
{
    for (size_t d = 0; d < sizeof(durations) / sizeof(durations[0]); d++) {
        if (strcmp(arg, durations[d].name) != 0)
            continue;
        const char *why;
        uint64_t *field = (uint64_t *)((char *)&o->settings + durations[d].offset);
        if (cw_duration_parse(v, field, &why) != 0) {
            fprintf(stderr, "causeway %s: %s: invalid duration \"%s\": %s\n", command, arg, v,
                    why);
            return -1;
        }
        return 1;
    }
    if (!strcmp(arg, "--dns-hosts-file")) {
        o->hosts_file = strcmp(v, "none") ? v : NULL;
        return 1;
    }
    if (strcmp(arg, "--dns-server") != 0)
        return 0;
    if (o->n_servers == CW_DNS_MAX_SERVERS) {
        fprintf(stderr, "causeway %s: at most %d --dns-server\n", command, CW_DNS_MAX_SERVERS);
        return -1;
    }
    o->servers[o->n_servers++] = v;
    return 1;
}

/* Options with a value of the responder (`run` only). */
static int responder_option(struct cw_dns_options *o, const char *arg, const char *v,
                            const char *command)
{
    if (!strcmp(arg, "--dns-listen")) {
        o->listen = v;
        return 1;
    }
    if (!strcmp(arg, "--advertise-address")) {
        if (o->n_advertised == CW_DNS_MAX_ADVERTISED || !parse_advertised(v, &o->advertised[o->n_advertised])) {
            fprintf(stderr, "causeway %s: --advertise-address takes an IPv4 or IPv6 address "
                            "(at most %d), got %s\n", command, CW_DNS_MAX_ADVERTISED, v);
            return -1;
        }
        o->n_advertised++;
        return 1;
    }
    if (!strcmp(arg, "--dns-answer-ttl")) {
        const char *why;
        uint64_t ms;
        if (cw_duration_parse(v, &ms, &why) != 0 || ms / 1000 > 86400) {
            fprintf(stderr, "causeway %s: --dns-answer-ttl: invalid duration \"%s\"\n", command, v);
            return -1;
        }
        o->answer_ttl_s = (uint32_t)(ms / 1000);
        return 1;
    }
    return 0;
}

enum cw_opt_result cw_dns_option(struct cw_dns_options *o, bool responder, int argc, char **argv,
                                 int *i, const char *command)
{
    const char *arg = argv[*i];
    if (responder && !strcmp(arg, "--dns-forward")) {
        o->forward = true;
        return CW_OPT_TAKEN;
    }
    if (strncmp(arg, "--dns-", 6) != 0 && strcmp(arg, "--advertise-address") != 0)
        return CW_OPT_UNKNOWN;
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    int rc = v ? resolution_option(o, arg, v, command) : 0;
    if (rc == 0 && v && responder)
        rc = responder_option(o, arg, v, command);
    if (rc < 0)
        return CW_OPT_ERROR;
    if (rc == 0)
        return CW_OPT_UNKNOWN;
    (*i)++;
    return CW_OPT_TAKEN;
}

int cw_dns_options_check(const struct cw_dns_options *o, const char *command)
{
    if (o->settings.min_ttl_ms == 0 || o->settings.min_ttl_ms > o->settings.max_ttl_ms) {
        fprintf(stderr, "causeway %s: --dns-min-ttl must be at least 1ms and at most "
                        "--dns-max-ttl\n", command);
        return 2;
    }
    if (o->listen && o->n_advertised == 0) {
        fprintf(stderr, "causeway %s: --dns-listen needs at least one --advertise-address (the "
                        "address clients should reach this gateway at)\n", command);
        return 2;
    }
    if (o->forward && !o->listen) {
        fprintf(stderr, "causeway %s: --dns-forward needs --dns-listen\n", command);
        return 2;
    }
    return 0;
}

void cw_dns_options_help(FILE *out, bool responder)
{
    fputs("      --dns-server ADDR[:PORT]\n"
          "                           resolver for endpoint names (repeatable; default: the\n"
          "                           nameservers of /etc/resolv.conf)\n"
          "      --dns-hosts-file PATH\n"
          "                           names it lists are not asked of DNS (default /etc/hosts;\n"
          "                           none: DNS only); read again when it changes\n"
          "      --dns-min-ttl D      re-resolve a name no sooner than D (default 1s)\n"
          "      --dns-max-ttl D      ... and no later than D (default 300s), whatever its TTL\n"
          "      --dns-stale-for D    a name whose lookups fail keeps its last addresses for D\n"
          "                           (default 10m)\n",
          out);
    if (!responder)
        return;
    fputs("      --dns-listen ADDR:PORT\n"
          "                           answer A/AAAA queries (UDP and TCP) for the hostnames this\n"
          "                           gateway serves with the --advertise-address(es)\n"
          "      --advertise-address IP\n"
          "                           the address clients reach this gateway at (repeatable)\n"
          "      --dns-forward        forward queries for other names to the resolvers\n"
          "                           (default: REFUSED)\n"
          "      --dns-answer-ttl D   TTL of the responder's answers (default 5s)\n",
          out);
}

struct cw_dns_resolver_config cw_dns_resolver_config_of(const struct cw_dns_options *o,
                                                        FILE *events)
{
    return (struct cw_dns_resolver_config){.servers = o->servers,
                                           .n_servers = o->n_servers,
                                           .hosts_file = o->hosts_file,
                                           .settings = o->settings,
                                           .events = events};
}
