/*
 * util/regex.h on Google's RE2, the engine Envoy and so Gloo evaluate uri.regex, header regexes
 * and regexRewrite with (spec §3.2, §3.3). RE2 accepts its own syntax only (no look-around,
 * back-references, possessive or atomic groups) and matches in time linear in the subject: there
 * is no backtracking, so no match limit that a hostile request could hit to make a route stop
 * matching. The only C++ in causeway: everything else sees the C API of regex.h.
 */
#include <re2/re2.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "util/regex.h"

struct cw_regex {
    re2::RE2 re;
    re2::RE2::Anchor anchor; /* ANCHOR_BOTH for full matches, UNANCHORED to search */
    std::string rewrite;     /* cw_regex_set_rewrite's substitution, checked by RE2 */

    cw_regex(const char *pattern, const re2::RE2::Options &options, bool full_match)
        : re(pattern, options), anchor(full_match ? re2::RE2::ANCHOR_BOTH : re2::RE2::UNANCHORED)
    {
    }
};

/* Copies RE2's message into the caller's buffer, cut to fit. */
static void set_error(char *err, size_t err_size, const std::string &msg)
{
    if (err_size)
        snprintf(err, err_size, "%s", msg.c_str());
}

/*
 * The C API below is noexcept (CW_REGEX_NOEXCEPT): an exception cannot cross into C. The only
 * one RE2 and std::string throw is std::bad_alloc, and as with cw_xmalloc running out of memory
 * then ends the process (std::terminate).
 */

struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case, char *err,
                                  size_t err_size) noexcept
{
    /* Envoy's options (RE2::Quiet): UTF-8, leftmost-first, nothing written to stderr, the
     * error kept for the caller instead. */
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(!ignore_case);
    auto *r = new cw_regex(pattern, options, full_match);
    if (!r->re.ok()) {
        set_error(err, err_size, r->re.error());
        delete r;
        return nullptr;
    }
    return r;
}

bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len) noexcept
{
    /* No submatches asked: RE2 answers with its DFA, one pass over <s> (its NFA should the DFA's
     * memory run out, still linear). */
    return re->re.Match(re2::StringPiece(s, len), 0, len, re->anchor, nullptr, 0);
}

int cw_regex_set_rewrite(struct cw_regex *re, const char *substitution, char *err,
                         size_t err_size) noexcept
{
    std::string why;
    if (!re->re.CheckRewriteString(substitution, &why)) {
        set_error(err, err_size, why);
        return -1;
    }
    re->rewrite = substitution;
    return 0;
}

int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len, char *out,
                     size_t *out_len) noexcept
{
    /* GlobalReplace rewrites a std::string in place; one copy per rewritten request is the
     * price of using RE2's own replace-all (the one Envoy's regex_rewrite uses). */
    std::string path(s, len);
    re2::RE2::GlobalReplace(&path, re->re, re->rewrite);
    if (path.size() > *out_len)
        return -1;
    memcpy(out, path.data(), path.size());
    *out_len = path.size();
    return 0;
}

void cw_regex_free(struct cw_regex *re) noexcept
{
    delete re;
}
