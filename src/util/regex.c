#define PCRE2_CODE_UNIT_WIDTH 8
#include "util/regex.h"

#include <pcre2.h>
#include <stdio.h>

#include "util/xalloc.h"

struct cw_regex {
    pcre2_code *code;
};

struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case,
                                  char *err, size_t err_size)
{
    uint32_t options = PCRE2_UTF;
    if (full_match)
        options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    if (ignore_case)
        options |= PCRE2_CASELESS;
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code,
                                   &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, err_size, "%s at offset %zu", (const char *)msg, (size_t)offset);
        return NULL;
    }
    /* JIT is an optimisation only; the interpreter gives the same answers without it. */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    struct cw_regex *r = cw_xmalloc(sizeof(*r));
    r->code = re;
    return r;
}

bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len,
                     const char *substitution, char *out, size_t *out_len)
{
    /* RE2's \1 becomes PCRE2's ${1}; a literal $ must be doubled. */
    char rep[1024];
    size_t n = 0;
    for (const char *c = substitution; *c && n + 5 < sizeof(rep); c++) {
        if (c[0] == '\\' && c[1] >= '0' && c[1] <= '9') {
            n += (size_t)snprintf(rep + n, sizeof(rep) - n, "${%c}", c[1]);
            c++;
        } else if (*c == '$') {
            rep[n++] = '$';
            rep[n++] = '$';
        } else {
            rep[n++] = *c;
        }
    }
    PCRE2_SIZE olen = *out_len;
    int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                              (PCRE2_SPTR)rep, n, (PCRE2_UCHAR *)out, &olen);
    if (rc < 0)
        return -1;
    *out_len = olen;
    return 0;
}

void cw_regex_free(struct cw_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}
