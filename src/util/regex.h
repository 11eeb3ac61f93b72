/*
 * RE2-style regular expressions on PCRE2 (with JIT when available). Route matchers need full
 * matches (the pattern must match the whole path or value), rewrites need replace-all.
 * A compiled regex is immutable and may be used by several threads at once; match data is
 * allocated per call.
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
struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case,
                                  char *err, size_t err_size);

/* True when <re> matches <s> (of <len> bytes). */
bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len);

/*
 * Replaces every match of <re> in <s> with <substitution>, where \1..\9 name groups (RE2
 * style). Writes into <out> of *<out_len> bytes and sets *<out_len> to the length written.
 * Returns 0, or -1 when <out> is too small or the substitution is invalid.
 */
int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len,
                     const char *substitution, char *out, size_t *out_len);

void cw_regex_free(struct cw_regex *re);

#endif
