/*
 * RE2-style regular expressions on PCRE2 (with JIT when available). Route matchers need full
 * matches (the pattern must match the whole path or value), rewrites need replace-all.
 * A compiled regex is immutable once compiled (and its rewrite set) and may be used by several
 * threads at once; each thread keeps one match block for its matches.
 */
#ifndef CW_UTIL_REGEX_H
#define CW_UTIL_REGEX_H

#include <stdbool.h>
#include <stddef.h>

struct cw_regex;

/*
 * Compiles <pattern>. <full_match> anchors it at both ends, as Gloo's uri.regex requires.
 * Returns NULL on a syntax error with "<reason> at offset <n>" written into <err>.
 */
struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case, char *err,
                                  size_t err_size);

/* True when <re> matches <s> (of <len> bytes). */
bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len);

/*
 * Prepares <re> for cw_regex_replace with <substitution> in RE2's syntax: \0..\9 name groups,
 * \\ is a backslash. Done once, at configuration time. Returns 0, or -1 with the reason in
 * <err> (a group the pattern does not have, an escape RE2 does not know).
 */
int cw_regex_set_rewrite(struct cw_regex *re, const char *substitution, char *err, size_t err_size);

/*
 * Replaces every match of <re> in <s> with the rewrite set by cw_regex_set_rewrite. Writes into
 * <out> of *<out_len> bytes and sets *<out_len> to the length written. Returns 0, or -1 when
 * <out> is too small.
 */
int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len, char *out,
                     size_t *out_len);

void cw_regex_free(struct cw_regex *re);

#endif
