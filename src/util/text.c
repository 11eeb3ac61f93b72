#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool label_char(char c)
{
    return isalnum((unsigned char)c) || c == '-';
}

/* Checks one label [start, end); <first> allows the wildcard forms when <flags> say so. */
static const char *check_label(const char *s, size_t n, bool first, unsigned flags)
{
    if (n == 0)
        return "empty label";
    if (n > 63)
        return "label longer than 63 characters";
    size_t i = 0;
    if (first && s[0] == '*') {
        if (!(flags & CW_HOST_ALLOW_WILDCARD))
            return "wildcard not allowed here";
        /* "*" alone or "*" followed by a label tail such as "*-bar" or "*bar". */
        i = 1;
        if (n == 1)
            return NULL;
        if (s[n - 1] == '-')
            return "label must not end with '-'";
        for (; i < n; i++)
            if (!label_char(s[i]))
                return "invalid character (allowed: letters, digits, '-', '.')";
        return NULL;
    }
    if (s[0] == '-' || s[n - 1] == '-')
        return "label must not start or end with '-'";
    for (; i < n; i++) {
        if (s[i] == '*')
            return "wildcard only allowed at the start of the first label";
        if (!label_char(s[i]))
            return "invalid character (allowed: letters, digits, '-', '.')";
    }
    return NULL;
}

const char *cw_hostname_check(const char *host, unsigned flags)
{
    size_t n = strlen(host);
    if (n == 0)
        return "empty hostname";
    /* A trailing dot marks an absolute name. */
    if (host[n - 1] == '.' && n > 1)
        n--;
    if (n == 1 && host[0] == '*') /* "*" and "*." alike */
        return (flags & CW_HOST_ALLOW_STAR) ? NULL : "bare '*' is not a valid hostname";
    if (n > 255)
        return "hostname longer than 255 characters";
    const char *start = host;
    const char *end = host + n;
    const char *last = host;
    bool first = true;
    while (start <= end) {
        const char *dot = memchr(start, '.', (size_t)(end - start));
        const char *stop = dot ? dot : end;
        const char *why = check_label(start, (size_t)(stop - start), first, flags);
        if (why)
            return why;
        first = false;
        last = start;
        if (!dot)
            break;
        start = dot + 1;
    }
    bool numeric = true;
    for (const char *c = last; c < end; c++)
        if (!isdigit((unsigned char)*c))
            numeric = false;
    if (numeric)
        return last != host ? "top-level label must not be all digits"
                            : "hostname must not be all digits";
    return NULL;
}

bool cw_hostname_is_wildcard(const char *host)
{
    return strchr(host, '*') != NULL;
}

static size_t len_without_dot(const char *s)
{
    size_t n = strlen(s);
    return (n > 1 && s[n - 1] == '.') ? n - 1 : n;
}

static bool ends_with_ci(const char *s, size_t sn, const char *suffix, size_t xn)
{
    return sn >= xn && strncasecmp(s + sn - xn, suffix, xn) == 0;
}

bool cw_host_match(const char *pattern, const char *host)
{
    size_t pn = len_without_dot(pattern), hn = len_without_dot(host);
    if (pn == 1 && pattern[0] == '*')
        return true;
    if (pattern[0] == '*')
        return hn > pn - 1 && ends_with_ci(host, hn, pattern + 1, pn - 1);
    return pn == hn && strncasecmp(pattern, host, pn) == 0;
}

bool cw_host_patterns_intersect(const char *a, const char *b)
{
    bool aw = a[0] == '*', bw = b[0] == '*';
    if (!bw)
        return cw_host_match(a, b);
    if (!aw && bw)
        return cw_host_match(b, a);
    /* Both wildcards: they share names when one suffix ends with the other. */
    size_t an = len_without_dot(a) - 1, bn = len_without_dot(b) - 1;
    return an >= bn ? ends_with_ci(a + 1, an, b + 1, bn) : ends_with_ci(b + 1, bn, a + 1, an);
}

bool cw_glob_match(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

struct unit {
    const char *name;
    uint64_t ns;
};

static const struct unit units[] = {
    {"ns", 1ull},
    {"us", 1000ull},
    {"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ull}, /* U+03BC greek mu */
    {"ms", 1000000ull},
    {"s", 1000000000ull},
    {"m", 60000000000ull},
    {"h", 3600000000000ull},
};

static const struct unit *match_unit(const char **p)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] && !(s[n] >= '0' && s[n] <= '9') && s[n] != '.')
        n++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].name) == n && memcmp(units[i].name, s, n) == 0) {
            *p = s + n;
            return &units[i];
        }
    }
    return NULL;
}

/*
 * Parses "12.5" of "12.5ms" into integer and fraction; returns -1 when no digit is present,
 * -2 when the integer part overflows.
 */
static int parse_number(const char **p, uint64_t *whole, uint64_t *frac, uint64_t *scale)
{
    const char *s = *p;
    bool digits = false;
    *whole = 0;
    *frac = 0;
    *scale = 1;
    for (; *s >= '0' && *s <= '9'; s++, digits = true) {
        if (*whole > UINT64_MAX / 100)
            return -2;
        *whole = *whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits = true) {
            if (*scale < 1000000000000000000ull) { /* extra digits below 1 ns are dropped */
                *frac = *frac * 10 + (uint64_t)(*s - '0');
                *scale *= 10;
            }
        }
    }
    *p = s;
    return digits ? 0 : -1;
}

int cw_duration_parse(const char *text, uint64_t *ms, const char **why)
{
    const char *s = text;
    if (*s == '-') {
        *why = "duration must not be negative";
        return -1;
    }
    if (*s == '+')
        s++;
    if (strcmp(s, "0") == 0) {
        *why = "duration must be at least 1ms";
        return -1;
    }
    if (!*s) {
        *why = "empty duration";
        return -1;
    }
    uint64_t total = 0;
    while (*s) {
        uint64_t whole, frac, scale;
        int rc = parse_number(&s, &whole, &frac, &scale);
        if (rc != 0) {
            *why = rc == -2 ? "duration too large"
                            : "malformed duration (expected e.g. 10s, 1.5m, 1m30s, 250ms)";
            return -1;
        }
        const struct unit *u = match_unit(&s);
        if (!u) {
            *why = "missing or unknown unit (use ns, us, ms, s, m or h)";
            return -1;
        }
        if (whole > UINT64_MAX / u->ns) {
            *why = "duration too large";
            return -1;
        }
        uint64_t add = whole * u->ns + (uint64_t)((long double)frac * u->ns / scale);
        if (total > UINT64_MAX - add) {
            *why = "duration too large";
            return -1;
        }
        total += add;
    }
    if (total < 1000000ull) {
        *why = "duration must be at least 1ms";
        return -1;
    }
    if (total % 1000000ull != 0) {
        *why = "duration must be a whole number of milliseconds";
        return -1;
    }
    *ms = total / 1000000ull;
    return 0;
}

char *cw_duration_format(uint64_t ms, char *buf, size_t size)
{
    uint64_t h = ms / 3600000, m = (ms / 60000) % 60, s = (ms / 1000) % 60, rest = ms % 1000;
    size_t off = 0;
    buf[0] = '\0';
    if (h)
        off += (size_t)snprintf(buf + off, size - off, "%lluh", (unsigned long long)h);
    if (m && off < size)
        off += (size_t)snprintf(buf + off, size - off, "%llum", (unsigned long long)m);
    if (s && off < size)
        off += (size_t)snprintf(buf + off, size - off, "%llus", (unsigned long long)s);
    if ((rest || ms == 0) && off < size)
        snprintf(buf + off, size - off, "%llums", (unsigned long long)rest);
    return buf;
}
