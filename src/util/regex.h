/*
 * Regular expressions as Envoy and so Gloo evaluate them: Google's RE2 (regex.cc, the one C++
 * file), its syntax and its linear-time matching. Route matchers need full matches (the pattern
 * must match the whole path or value), rewrites need replace-all.
 * A regex is compiled, and its rewrite set, on the control thread at configuration time; after
 * that it is immutable and any number of threads may match and replace with it at once, with no
 * per-thread state.
 */
#ifndef CW_UTIL_REGEX_H
#define CW_UTIL_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
/* regex.cc implements this API in C++: C linkage, and no exception crosses into C. */
#define CW_REGEX_NOEXCEPT noexcept
extern "C" {
#else
#define CW_REGEX_NOEXCEPT
#endif

struct cw_regex;

/*
 * Compiles <pattern> (RE2 syntax, UTF-8). <full_match> makes cw_regex_match need the whole
 * subject, as Gloo's uri.regex and header regexes do; otherwise a match anywhere counts.
 * Returns a regex the caller frees with cw_regex_free, or NULL for a pattern RE2 refuses with
 * RE2's own message (e.g. "invalid perl operator: (?=") written into <err>, cut to <err_size>.
 */
struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case, char *err,
                                  size_t err_size) CW_REGEX_NOEXCEPT;

/* True when <re> matches <s> (of <len> bytes; no NUL needed). Time linear in <len>. */
bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len) CW_REGEX_NOEXCEPT;

/*
 * Prepares <re> for cw_regex_replace with <substitution> in RE2's rewrite syntax (Envoy's
 * regex_rewrite): \0..\9 name groups, \\ is a backslash, anything else is literal. Done once,
 * at configuration time. Returns 0, or -1 with RE2's reason in <err> (a group the pattern does
 * not have, a backslash before anything but a digit or a backslash).
 */
int cw_regex_set_rewrite(struct cw_regex *re, const char *substitution, char *err,
                         size_t err_size) CW_REGEX_NOEXCEPT;

/*
 * Replaces every non-overlapping match of <re> in <s> (searched for, whatever <full_match>) with
 * the rewrite set by cw_regex_set_rewrite (none: matches are removed). Writes into <out> of
 * *<out_len> bytes, no NUL added, and sets *<out_len> to the length written. Returns 0, or -1
 * when <out> is too small. This is RE2's GlobalReplace, as Envoy's regex_rewrite: each match is
 * found in linear time, but a pattern that matches short while an earlier alternative must look
 * to the end of <s> (a*b|a) rescans for every match (quadratic: ~1 s for a 32 KB path).
 */
int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len, char *out,
                     size_t *out_len) CW_REGEX_NOEXCEPT;

/* Frees <re> (NULL is allowed); no thread may be using it. */
void cw_regex_free(struct cw_regex *re) CW_REGEX_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
