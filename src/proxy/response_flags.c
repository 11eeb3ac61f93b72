#include "proxy/response_flags.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Reasons by how they begin: the first entry that prefixes the reason decides. The reasons
 * are causeway's own words (local replies, connect and TLS failures, tunnel ends), so the table
 * is the one place that names them all. */
static const struct {
    const char *prefix;
    const char *flag;
} by_reason[] = {
    {"no route", "NR"},
    {"no tls route", "NR"},
    {"ClientHello without a server name", "NR"},
    {"no healthy upstream", "UH"},
    {"endpoint name not resolved", "UH"},
    {"no selected ExternalEndpoint", "UH"},
    {"targetPort name without endpoints", "UH"},
    {"wildcard host without endpoints", "UH"},
    {"CIDR address has no concrete endpoints", "UH"},
    {"connect ", "UF"},
    {"upstream TLS:", "UF"},
    {"upstream timeout", "UT"},
    {"upstream switched protocols unasked", "UPE"},
    {"invalid response", "UPE"},
    {"upstream ", "UC"},
    {"gateway out of", "UO"},
    {"malformed request", "DPE"},
    {"request head larger", "DPE"},
    {"CONNECT is not supported", "DPE"},
    {"not a TLS handshake", "DPE"},
    {"ClientHello", "DPE"},
    {"request headers not received in time", "DT"},
    {"request body not received in time", "DT"},
    {"ClientHello not received in time", "DT"},
    {"client ", "DC"},
    {"connection reset", "DC"},
    {"idle timeout", "SI"},
};

static const char *flag_of(const char *reason)
{
    /* "ClientHello not received in time" must be DT, not DPE: timeouts are looked up first. */
    if (strstr(reason, "not received in time"))
        return "DT";
    for (size_t i = 0; i < sizeof(by_reason) / sizeof(by_reason[0]); i++)
        if (!strncmp(reason, by_reason[i].prefix, strlen(by_reason[i].prefix)))
            return by_reason[i].flag;
    return NULL;
}

void cw_response_flags(const char *reason, uint32_t retries, char *out, size_t size)
{
    const char *flag = reason ? flag_of(reason) : NULL;
    bool upstream = flag && flag[0] == 'U';
    if (!flag)
        snprintf(out, size, "-");
    else if (upstream && retries > 0)
        snprintf(out, size, "%s,URX", flag);
    else
        snprintf(out, size, "%s", flag);
}
