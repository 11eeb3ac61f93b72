/*
 * Checks and matchers for the small text formats manifests use: DNS names (with an optional
 * left-most wildcard), glob patterns with '*', Go-style durations.
 */
#ifndef CW_UTIL_TEXT_H
#define CW_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    CW_HOST_ALLOW_WILDCARD = 1 << 0, /* '*' as the start of the first label: *.a.com, *-b.a.com */
    CW_HOST_ALLOW_STAR = 1 << 1,     /* the bare "*" */
};

/*
 * Checks an RFC 1123 DNS name: labels of 1-63 characters [a-zA-Z0-9-] not starting or ending with
 * '-', at most 255 characters, a trailing dot allowed, the last label not all digits. Returns NULL
 * when valid, or a static reason.
 */
const char *cw_hostname_check(const char *host, unsigned flags);

/* True when <host> contains a wildcard ('*'). */
bool cw_hostname_is_wildcard(const char *host);

/*
 * Matches a DNS name against a pattern that may begin with '*' (matching one or more characters,
 * as Istio does for "*.example.com"); case-insensitive; a trailing dot on either side is ignored.
 * The bare "*" matches everything.
 */
bool cw_host_match(const char *pattern, const char *host);

/*
 * True when the set of names <pattern> matches and the set <host> denotes intersect: a
 * route-table host "*.example.com" is allowed by a listener pattern "*.com" and by
 * "a.example.com"'s listener only if it could serve that name.
 */
bool cw_host_patterns_intersect(const char *a, const char *b);

/* Glob match where '*' matches any run of characters (including none); case-sensitive. */
bool cw_glob_match(const char *pattern, const char *s);

/*
 * Parses a Go time.ParseDuration string ("10s", "1.5h", "1m30s", "250ms") into milliseconds.
 * Returns 0, or -1 with <*why> set: malformed, negative, or finer than 1 ms.
 */
int cw_duration_parse(const char *text, uint64_t *ms, const char **why);

/* Formats milliseconds the way a user would write them: "30s", "1m30s", "250ms". */
char *cw_duration_format(uint64_t ms, char *buf, size_t size);

#endif
