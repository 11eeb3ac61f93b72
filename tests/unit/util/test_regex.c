/*
 * Regexes on PCRE2 with RE2's rewrite syntax (regexRewrite): full matches for route matchers,
 * replace-all with \1..\9 groups, \\ for a backslash, $ literal; a substitution naming a group
 * the pattern lacks, or an escape RE2 does not know, is refused when the route is compiled.
 */
#include <malloc.h>
#include <pthread.h>

#include "support.h"
#include "util/regex.h"

static struct cw_regex *must_compile(const char *pattern, bool full)
{
    char err[256];
    struct cw_regex *re = cw_regex_compile(pattern, full, false, err, sizeof(err));
    if (!re)
        fail_msg("%s: %s", pattern, err);
    return re;
}

/* <s> rewritten by <pattern> → <substitution>, as a static string. */
static const char *rewrite(const char *pattern, const char *substitution, const char *s)
{
    static char out[4096];
    struct cw_regex *re = must_compile(pattern, false);
    char err[256];
    if (cw_regex_set_rewrite(re, substitution, err, sizeof(err)) != 0)
        fail_msg("%s: %s", substitution, err);
    size_t n = sizeof(out) - 1;
    assert_int_equal(cw_regex_replace(re, s, strlen(s), out, &n), 0);
    out[n] = '\0';
    cw_regex_free(re);
    return out;
}

static void full_match_anchors_both_ends(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("/api/v[0-9]+", true);
    assert_true(cw_regex_match(re, "/api/v2", 7));
    assert_false(cw_regex_match(re, "/api/v2/x", 9));
    assert_false(cw_regex_match(re, "x/api/v2", 8));
    for (int i = 0; i < 1000; i++) /* the per-thread match block is reused */
        assert_true(cw_regex_match(re, "/api/v10", 8));
    cw_regex_free(re);
}

static void rewrite_groups_backslash_and_dollar(void **state)
{
    (void)state;
    assert_string_equal(rewrite("^/v([0-9]+)/(.*)$", "/api/\\2?version=\\1", "/v3/items"),
                        "/api/items?version=3");
    assert_string_equal(rewrite("o", "0", "/foo/boo"), "/f00/b00"); /* every match */
    assert_string_equal(rewrite("(b)", "\\\\1", "/b/"), "/\\1/");   /* \\ is a backslash */
    assert_string_equal(rewrite("x", "$1", "/x/"), "/$1/");         /* $ is literal */
    assert_string_equal(rewrite("^/(.*)$", "/\\0", "/a"), "//a");   /* \0 is the whole match */
}

static void long_substitution_is_kept_whole(void **state)
{
    (void)state;
    char sub[1201];
    memset(sub, 'z', 1200);
    sub[1200] = '\0';
    const char *out = rewrite("^/x$", sub, "/x");
    assert_int_equal(strlen(out), 1200);
}

static void bad_substitutions_are_refused(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("^/(a)(b)$", false);
    char err[256];
    assert_int_equal(cw_regex_set_rewrite(re, "/\\3", err, sizeof(err)), -1);
    assert_string_equal(err, "substitution refers to group \\3, the pattern has 2 group(s)");
    assert_int_equal(cw_regex_set_rewrite(re, "/\\q", err, sizeof(err)), -1);
    assert_string_equal(err, "substitution has an invalid escape \\q (only \\0-\\9 and \\\\)");
    assert_int_equal(cw_regex_set_rewrite(re, "/\\2\\1", err, sizeof(err)), 0);
    char out[64];
    size_t n = sizeof(out);
    assert_int_equal(cw_regex_replace(re, "/ab", 3, out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "/ba", 3);
    cw_regex_free(re);
}

static void *match_once(void *re)
{
    return (void *)(uintptr_t)cw_regex_match(re, "/v1/items", 9);
}

/* Every worker thread keeps a match block; a thread that ends (at shutdown) must not leave it
 * behind. Counted through malloc's own statistics here; under ASan those read 0 and
 * LeakSanitizer reports the block at exit instead (make test-sanitize). */
static void a_thread_that_ends_frees_its_match_block(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("/v1/.*", true);
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 200; i++) {
        pthread_t t;
        void *matched;
        assert_int_equal(pthread_create(&t, NULL, match_once, re), 0);
        assert_int_equal(pthread_join(t, &matched), 0);
        assert_true(matched);
    }
    size_t after = mallinfo2().uordblks;
    if (after > before + 4096) /* a match block is > 100 bytes: 200 of them would be 20 KB */
        fail_msg("200 threads left %zu bytes allocated", after - before);
    cw_regex_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_match_anchors_both_ends),
        cmocka_unit_test(rewrite_groups_backslash_and_dollar),
        cmocka_unit_test(long_substitution_is_kept_whole),
        cmocka_unit_test(bad_substitutions_are_refused),
        cmocka_unit_test(a_thread_that_ends_frees_its_match_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
