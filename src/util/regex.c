#define PCRE2_CODE_UNIT_WIDTH 8
#include "util/regex.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct cw_regex {
    pcre2_code *code;
    char *replacement; /* the rewrite in PCRE2's syntax (cw_regex_set_rewrite), or NULL */
    size_t replacement_len;
};

struct cw_regex *cw_regex_compile(const char *pattern, bool full_match, bool ignore_case, char *err,
                                  size_t err_size)
{
    uint32_t options = PCRE2_UTF;
    if (full_match)
        options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    if (ignore_case)
        options |= PCRE2_CASELESS;
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, err_size, "%s at offset %zu", (const char *)msg, (size_t)offset);
        return NULL;
    }
    /* JIT is an optimisation only; the interpreter gives the same answers without it. */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    struct cw_regex *r = cw_xcalloc(1, sizeof(*r));
    r->code = re;
    return r;
}

/* One match block per thread, reused: a yes/no match needs only the whole-match slot, and a
 * request should not cost an allocation. Kept for the thread's life: a thread-specific key
 * frees it when the thread ends (a _Thread_local pointer alone would leak it). */
static _Thread_local pcre2_match_data *thread_match_data;
static pthread_key_t match_data_key;
static pthread_once_t match_data_once = PTHREAD_ONCE_INIT;

static void free_match_data(void *md)
{
    pcre2_match_data_free(md);
}

static void create_match_data_key(void)
{
    pthread_key_create(&match_data_key, free_match_data);
}

bool cw_regex_match(const struct cw_regex *re, const char *s, size_t len)
{
    if (!thread_match_data) {
        thread_match_data = pcre2_match_data_create(1, NULL);
        pthread_once(&match_data_once, create_match_data_key);
        pthread_setspecific(match_data_key, thread_match_data);
    }
    return pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, thread_match_data, NULL) >= 0;
}

int cw_regex_set_rewrite(struct cw_regex *re, const char *substitution, char *err, size_t err_size)
{
    uint32_t groups = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    /* RE2's \1 becomes PCRE2's ${1}, RE2's \\ a backslash; a literal $ is doubled. At most
     * 4 bytes per input byte ("\1" → "${1}"). */
    size_t n = 0, cap = 4 * strlen(substitution) + 1;
    char *rep = cw_xmalloc(cap);
    for (const char *c = substitution; *c; c++) {
        if (*c == '$') {
            rep[n++] = '$';
            rep[n++] = '$';
        } else if (*c != '\\') {
            rep[n++] = *c;
        } else if (c[1] == '\\') {
            rep[n++] = *++c;
        } else if (c[1] >= '0' && c[1] <= '9' && (uint32_t)(c[1] - '0') <= groups) {
            n += (size_t)snprintf(rep + n, cap - n, "${%c}", c[1]);
            c++;
        } else {
            snprintf(err, err_size,
                     c[1] >= '0' && c[1] <= '9'
                         ? "substitution refers to group \\%c, the pattern has %u group(s)"
                         : "substitution has an invalid escape \\%c (only \\0-\\9 and \\\\)",
                     c[1] ? c[1] : ' ', groups);
            free(rep);
            return -1;
        }
    }
    free(re->replacement);
    re->replacement = rep;
    re->replacement_len = n;
    return 0;
}

int cw_regex_replace(const struct cw_regex *re, const char *s, size_t len, char *out,
                     size_t *out_len)
{
    PCRE2_SIZE olen = *out_len;
    int rc = pcre2_substitute(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                              (PCRE2_SPTR)re->replacement, re->replacement_len, (PCRE2_UCHAR *)out,
                              &olen);
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
    free(re->replacement);
    free(re);
}
