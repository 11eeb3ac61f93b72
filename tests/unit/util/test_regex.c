/*
 * Regexes are RE2 (spec §3.2, §3.3), as Envoy and so Gloo evaluate them: what RE2 refuses
 * (look-around, back-references, possessive and atomic groups) is refused with RE2's own words,
 * a match costs time linear in the subject (no backtracking, so no match limit to hit and no
 * route that silently stops matching), route matchers need the whole path or value, and
 * regexRewrite replaces every match with RE2's \0..\9 rewrite syntax.
 */
#include <malloc.h>
#include <pthread.h>
#include <time.h>

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

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A subject that makes a backtracking engine try every way of splitting a run of 'a's. */
#define HOSTILE_LEN 50000
static char *hostile_subject(char last)
{
    char *s = malloc(HOSTILE_LEN + 1);
    memset(s, 'a', HOSTILE_LEN);
    s[HOSTILE_LEN - 1] = last;
    s[HOSTILE_LEN] = '\0';
    return s;
}

/* Generous: RE2 takes about 0.1 ms per hostile subject, PCRE2 took 9-22 ms and then gave up. */
#define HOSTILE_BUDGET_MS 50.0

/* Fails when more than the budget has passed since <t0> (now_ms), and says how long <what> took. */
static void assert_within_budget(const char *what, double t0)
{
    double ms = now_ms() - t0;
    print_message("%s on %d bytes: %.3f ms\n", what, HOSTILE_LEN, ms);
    if (ms > HOSTILE_BUDGET_MS)
        fail_msg("%s took %.1f ms (budget %.0f ms)", what, ms, HOSTILE_BUDGET_MS);
}

static void pcre_only_constructs_are_refused_with_re2s_words(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *error;
    } cases[] = {
        {"/a(?=b)", "invalid perl operator: (?="},      /* look-ahead */
        {"/a(?!b)", "invalid perl operator: (?!"},      /* negative look-ahead */
        {"(?<=/a)b", "invalid perl operator: (?<"},     /* look-behind */
        {"(?<!/a)b", "invalid perl operator: (?<"},     /* negative look-behind */
        {"/(a)\\1", "invalid escape sequence: \\1"},    /* back-reference */
        {"/a++", "bad repetition operator: ++"},        /* possessive */
        {"/a*+", "bad repetition operator: *+"},        /* possessive */
        {"(?>/a)", "invalid perl operator: (?>"},       /* atomic group */
        {"/api/(v1", "missing ): /api/(v1"},            /* plain syntax errors too */
        {"a{1001}", "invalid repetition size: {1001}"}, /* RE2's repetition bound */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct cw_regex *re = cw_regex_compile(cases[i].pattern, true, false, err, sizeof(err));
        if (re)
            fail_msg("%s was accepted; RE2 refuses it", cases[i].pattern);
        assert_string_equal(err, cases[i].error);
    }
}

static void error_text_is_cut_to_the_buffer(void **state)
{
    (void)state;
    char err[8];
    assert_null(cw_regex_compile("/a(?=b)", true, false, err, sizeof(err)));
    assert_string_equal(err, "invalid");
}

/* (a+)+$ is the textbook catastrophic pattern: exponential for a backtracker, linear for RE2.
 * Ten hostile requests and ten benign ones against one route, as a gateway would see them. */
static void nested_quantifier_is_linear_and_right(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("(a+)+$", true);
    char *no = hostile_subject('!'), *yes = hostile_subject('a');
    int right = 0;
    double t0 = now_ms();
    for (int i = 0; i < 10; i++)
        right += !cw_regex_match(re, no, HOSTILE_LEN) + cw_regex_match(re, yes, HOSTILE_LEN);
    assert_within_budget("20 matches of (a+)+$", t0);
    assert_int_equal(right, 20);
    free(no);
    free(yes);
    cw_regex_free(re);
}

/* A deny route whose other alternative would backtrack must still match: under a match limit it
 * silently did not, and the request it was meant to stop went on to the next route. */
static void deny_route_with_costly_alternative_still_matches(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("(a+)+b|a*c", true);
    char *s = hostile_subject('c');
    double t0 = now_ms();
    bool matched = cw_regex_match(re, s, HOSTILE_LEN);
    assert_within_budget("(a+)+b|a*c", t0);
    assert_true(matched);
    free(s);
    cw_regex_free(re);
}

static void full_match_anchors_both_ends(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("/api/v[0-9]+", true);
    assert_true(cw_regex_match(re, "/api/v2", 7));
    assert_true(cw_regex_match(re, "/api/v10", 8));
    assert_false(cw_regex_match(re, "/api/v2/x", 9)); /* matches only a prefix of the path */
    assert_false(cw_regex_match(re, "x/api/v2", 8));  /* matches only a suffix */
    assert_false(cw_regex_match(re, "/api/v", 6));
    cw_regex_free(re);
    /* Leftmost-first alternation must not stop at the shorter branch when the whole is asked. */
    re = must_compile("/a|/ab", true);
    assert_true(cw_regex_match(re, "/ab", 3));
    cw_regex_free(re);
    /* The subject's length counts, not a NUL: a path is a span inside the request head. */
    re = must_compile("/x", true);
    assert_false(cw_regex_match(re, "/xy", 3));
    assert_true(cw_regex_match(re, "/xy", 2));
    cw_regex_free(re);
}

static void unanchored_pattern_is_searched_for(void **state)
{
    (void)state;
    /* regexRewrite patterns are not full matches: they are found anywhere in the path. */
    struct cw_regex *re = must_compile("v[0-9]+", false);
    assert_true(cw_regex_match(re, "/api/v2/x", 9));
    assert_false(cw_regex_match(re, "/api/x", 6));
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
    assert_string_equal(rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1"),
                        "/v1/instance/foo"); /* Envoy's own regex_rewrite example */
    assert_string_equal(rewrite("/z", "/y", "/a/b"), "/a/b"); /* no match: unchanged */
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

static void rewrite_that_does_not_fit_is_refused(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("x", false);
    char err[256], out[4];
    assert_int_equal(cw_regex_set_rewrite(re, "yyyy", err, sizeof(err)), 0);
    size_t n = sizeof(out);
    assert_int_equal(cw_regex_replace(re, "/x", 2, out, &n), -1);
    n = sizeof(out);
    assert_int_equal(cw_regex_replace(re, "x", 1, out, &n), 0); /* exactly fits */
    assert_int_equal(n, 4);
    assert_memory_equal(out, "yyyy", 4);
    cw_regex_free(re);
}

/* Replacing on the hostile subject: a backtracker gave up (-1) and the path went upstream
 * unrewritten; RE2 answers, and quickly. */
static void rewrite_of_hostile_path_is_linear_and_right(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("(a+)+$", false);
    char err[256];
    assert_int_equal(cw_regex_set_rewrite(re, "<\\1>", err, sizeof(err)), 0);
    char *s = hostile_subject('!');
    size_t n = HOSTILE_LEN + 16;
    char *out = malloc(n);
    double t0 = now_ms();
    int rc = cw_regex_replace(re, s, HOSTILE_LEN, out, &n);
    assert_within_budget("replace with (a+)+$", t0);
    assert_int_equal(rc, 0);
    assert_int_equal(n, HOSTILE_LEN); /* no match: the path is unchanged */
    assert_memory_equal(out, s, HOSTILE_LEN);
    free(out);
    free(s);
    cw_regex_free(re);
}

/* RE2's own check of a rewrite string, and its own words. */
static void bad_substitutions_are_refused(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("^/(a)(b)$", false);
    char err[256];
    assert_int_equal(cw_regex_set_rewrite(re, "/\\3", err, sizeof(err)), -1);
    assert_string_equal(err, "Rewrite schema requests 3 matches, but the regexp only has 2 "
                             "parenthesized subexpressions.");
    assert_int_equal(cw_regex_set_rewrite(re, "/\\q", err, sizeof(err)), -1);
    assert_string_equal(err, "Rewrite schema error: '\\' must be followed by a digit or '\\'.");
    assert_int_equal(cw_regex_set_rewrite(re, "/\\", err, sizeof(err)), -1);
    assert_string_equal(err, "Rewrite schema error: '\\' not allowed at end.");
    assert_int_equal(cw_regex_set_rewrite(re, "/\\2\\1", err, sizeof(err)), 0);
    char out[64];
    size_t n = sizeof(out);
    assert_int_equal(cw_regex_replace(re, "/ab", 3, out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "/ba", 3);
    cw_regex_free(re);
}

static void *match_many(void *re)
{
    uintptr_t right = 0;
    for (int i = 0; i < 2000; i++)
        right += cw_regex_match(re, "/v1/items", 9) && !cw_regex_match(re, "/v2/items", 9);
    return (void *)right;
}

/* One compiled regex is matched by every worker thread at once, with no per-thread state. */
static void threads_share_a_regex(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("/v1/.*", true);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, match_many, re), 0);
    for (int i = 0; i < 8; i++) {
        void *right;
        assert_int_equal(pthread_join(t[i], &right), 0);
        assert_int_equal((uintptr_t)right, 2000);
    }
    cw_regex_free(re);
}

static void *match_once(void *re)
{
    return (void *)(uintptr_t)cw_regex_match(re, "/v1/items", 9);
}

/* A thread that ends (at shutdown) leaves nothing behind. Counted through malloc's own
 * statistics here; under ASan those read 0 and LeakSanitizer checks the exit instead. */
static void a_thread_that_ends_leaves_nothing_behind(void **state)
{
    (void)state;
    struct cw_regex *re = must_compile("/v1/.*", true);
    assert_true(match_once(re)); /* RE2 builds its automaton's states on first use */
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 200; i++) {
        pthread_t t;
        void *matched;
        assert_int_equal(pthread_create(&t, NULL, match_once, re), 0);
        assert_int_equal(pthread_join(t, &matched), 0);
        assert_true(matched);
    }
    size_t after = mallinfo2().uordblks;
    if (after > before + 4096) /* anything kept per thread, 200 times, would show */
        fail_msg("200 threads left %zu bytes allocated", after - before);
    cw_regex_free(re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcre_only_constructs_are_refused_with_re2s_words),
        cmocka_unit_test(error_text_is_cut_to_the_buffer),
        cmocka_unit_test(nested_quantifier_is_linear_and_right),
        cmocka_unit_test(deny_route_with_costly_alternative_still_matches),
        cmocka_unit_test(full_match_anchors_both_ends),
        cmocka_unit_test(unanchored_pattern_is_searched_for),
        cmocka_unit_test(rewrite_groups_backslash_and_dollar),
        cmocka_unit_test(long_substitution_is_kept_whole),
        cmocka_unit_test(rewrite_that_does_not_fit_is_refused),
        cmocka_unit_test(rewrite_of_hostile_path_is_linear_and_right),
        cmocka_unit_test(bad_substitutions_are_refused),
        cmocka_unit_test(threads_share_a_regex),
        cmocka_unit_test(a_thread_that_ends_leaves_nothing_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
