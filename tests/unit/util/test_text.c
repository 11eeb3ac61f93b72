/*
 * DNS names and host matching (util/text.h): what RouteTable and ExternalService hosts accept,
 * and which request Host a pattern serves.
 */
#include <string.h>

#include "support.h"
#include "util/text.h"

#define WILD CW_HOST_ALLOW_WILDCARD
#define STAR CW_HOST_ALLOW_STAR

/* Builds "<n times c>" followed by <suffix> into <buf>. */
static char *repeat(char *buf, char c, size_t n, const char *suffix)
{
    memset(buf, c, n);
    strcpy(buf + n, suffix);
    return buf;
}

/* Asserts that <host> is rejected with a reason that mentions <word>. */
static void assert_rejected(const char *host, unsigned flags, const char *word)
{
    const char *why = cw_hostname_check(host, flags);
    if (!why)
        fail_msg("\"%s\" was accepted", host);
    if (!strstr(why, word))
        fail_msg("\"%s\": reason \"%s\" does not mention \"%s\"", host, why, word);
}

static void valid_names(void **state)
{
    (void)state;
    assert_null(cw_hostname_check("example.com", 0));
    assert_null(cw_hostname_check("db", 0)); /* single label: internal names such as "db" */
    assert_null(cw_hostname_check("database.external", 0));
    assert_null(cw_hostname_check("Mixed-Case.Example.COM", 0));
    assert_null(cw_hostname_check("a1-b2.c3", 0));
    assert_null(cw_hostname_check("123.example.com", 0)); /* digits are fine below the TLD */
    assert_null(cw_hostname_check("example.com.", 0));    /* absolute name */
}

static void invalid_names(void **state)
{
    (void)state;
    assert_rejected("", 0, "empty");
    assert_rejected(".", 0, "empty label");
    assert_rejected("a..com", 0, "empty label");
    assert_rejected(".a.com", 0, "empty label");
    assert_rejected("a.com..", 0, "empty label");
    assert_rejected("-a.com", 0, "'-'");
    assert_rejected("a-.com", 0, "'-'");
    assert_rejected("a.com-", 0, "'-'");
    assert_rejected("bad_host.com", 0, "invalid character");
    assert_rejected("a b.com", 0, "invalid character");
    assert_rejected("db.example.com:5432", 0, "invalid character");
}

static void label_and_total_lengths(void **state)
{
    (void)state;
    char buf[400];
    assert_null(cw_hostname_check(repeat(buf, 'a', 63, ".com"), 0));
    assert_rejected(repeat(buf, 'a', 64, ".com"), 0, "63");
    assert_rejected(repeat(buf, 'a', 64, ""), 0, "63");

    /* Four 63-character labels and three dots: exactly 255 characters, the maximum. */
    char label[64];
    repeat(label, 'b', 63, "");
    snprintf(buf, sizeof(buf), "%s.%s.%s.%s", label, label, label, label);
    assert_int_equal(strlen(buf), 255);
    assert_null(cw_hostname_check(buf, 0));
    /* The trailing dot of an absolute name does not count. */
    strcat(buf, ".");
    assert_null(cw_hostname_check(buf, 0));
    /* Five labels adding up to 255 are fine; one character more is too long. */
    snprintf(buf, sizeof(buf), "x.%s.%s.%s.%s", label, label, label, label + 2);
    assert_int_equal(strlen(buf), 255);
    assert_null(cw_hostname_check(buf, 0));
    snprintf(buf, sizeof(buf), "xy.%s.%s.%s.%s", label, label, label, label + 2);
    assert_int_equal(strlen(buf), 256);
    assert_rejected(buf, 0, "255");
}

static void numeric_top_level_label(void **state)
{
    (void)state;
    /* An all-numeric TLD would make "10.0.0.1" a hostname; RFC 1123 forbids it. */
    assert_rejected("10.0.0.1", 0, "digits");
    assert_rejected("example.123", 0, "digits");
    assert_rejected("example.123.", 0, "digits");
    assert_rejected("8080", 0, "digits");
    assert_rejected("8080.", 0, "digits"); /* a trailing dot does not make it a name */
    assert_null(cw_hostname_check("example.c0m", 0));
    assert_null(cw_hostname_check("example.1a", 0));
}

static void wildcard_forms(void **state)
{
    (void)state;
    assert_null(cw_hostname_check("*.a.com", WILD));
    assert_null(cw_hostname_check("*-bar.a.com", WILD));
    assert_null(cw_hostname_check("*bar.a.com", WILD));
    assert_null(cw_hostname_check("*.com", WILD));
    assert_null(cw_hostname_check("*.a.com.", WILD));

    /* Without the flag a wildcard is an error (ExternalEndpoint addresses, hostRewrite). */
    assert_rejected("*.a.com", 0, "wildcard");
    /* Only at the start of the first label. */
    assert_rejected("a.*.com", WILD, "wildcard");
    assert_rejected("a*.com", WILD, "wildcard");
    assert_rejected("foo.a.*", WILD, "wildcard");
    assert_rejected("**.a.com", WILD, "invalid character");
    assert_rejected("*-.a.com", WILD, "'-'");
}

static void bare_star_needs_its_own_flag(void **state)
{
    (void)state;
    /* RouteTable hosts accept "*" (spec §3.1, A8); ExternalService hosts do not. */
    assert_null(cw_hostname_check("*", WILD | STAR));
    assert_null(cw_hostname_check("*", STAR));
    assert_rejected("*", WILD, "'*'");
    assert_rejected("*", 0, "'*'");
    assert_rejected("*.", WILD, "'*'");
}

static void is_wildcard(void **state)
{
    (void)state;
    assert_true(cw_hostname_is_wildcard("*.a.com"));
    assert_true(cw_hostname_is_wildcard("*"));
    assert_false(cw_hostname_is_wildcard("a.com"));
}

static void host_match_exact(void **state)
{
    (void)state;
    assert_true(cw_host_match("api.example.com", "api.example.com"));
    assert_true(cw_host_match("api.example.com", "API.Example.COM"));
    assert_true(cw_host_match("API.EXAMPLE.COM", "api.example.com"));
    assert_false(cw_host_match("api.example.com", "api.example.co"));
    assert_false(cw_host_match("api.example.com", "xapi.example.com"));
    assert_false(cw_host_match("api.example.com", "example.com"));
    /* A trailing dot on either side is the same name. */
    assert_true(cw_host_match("api.example.com.", "api.example.com"));
    assert_true(cw_host_match("api.example.com", "api.example.com."));
}

static void host_match_wildcard(void **state)
{
    (void)state;
    assert_true(cw_host_match("*.example.com", "a.example.com"));
    assert_true(cw_host_match("*.example.com", "A.EXAMPLE.com"));
    /* '*' covers one or more labels, as Istio matches "*.example.com". */
    assert_true(cw_host_match("*.example.com", "a.b.example.com"));
    /* ... but not zero: the apex is a different name. */
    assert_false(cw_host_match("*.example.com", "example.com"));
    assert_false(cw_host_match("*.example.com", ".example.com"));
    assert_false(cw_host_match("*.example.com", "a.example.org"));
    assert_false(cw_host_match("*.example.com", "aexample.com"));
    /* Partial-label wildcards. */
    assert_true(cw_host_match("*-bar.a.com", "foo-bar.a.com"));
    assert_false(cw_host_match("*-bar.a.com", "foobar.a.com"));
    assert_true(cw_host_match("*bar.a.com", "foobar.a.com"));
    assert_false(cw_host_match("*bar.a.com", "bar.a.com"));
    assert_true(cw_host_match("*.example.com.", "a.example.com"));
    assert_true(cw_host_match("*.example.com", "a.example.com."));
}

static void host_match_star(void **state)
{
    (void)state;
    assert_true(cw_host_match("*", "example.com"));
    assert_true(cw_host_match("*", "x"));
    assert_true(cw_host_match("*", "10.0.0.1"));
}

static void patterns_intersect(void **state)
{
    (void)state;
    /* Two names: equal or not. */
    assert_true(cw_host_patterns_intersect("a.example.com", "A.example.com"));
    assert_false(cw_host_patterns_intersect("a.example.com", "b.example.com"));
    /* A name and a pattern, in either order. */
    assert_true(cw_host_patterns_intersect("*.example.com", "shop.example.com"));
    assert_true(cw_host_patterns_intersect("shop.example.com", "*.example.com"));
    assert_false(cw_host_patterns_intersect("example.com", "*.example.com"));
    /* Two patterns share names when one suffix contains the other. */
    assert_true(cw_host_patterns_intersect("*.com", "*.example.com"));
    assert_true(cw_host_patterns_intersect("*.example.com", "*.com"));
    assert_true(cw_host_patterns_intersect("*.example.com", "*.example.com"));
    assert_false(cw_host_patterns_intersect("*.example.com", "*.example.org"));
    assert_true(cw_host_patterns_intersect("*bar.com", "*.bar.com")); /* x.bar.com is in both */
    /* The bare "*" intersects everything. */
    assert_true(cw_host_patterns_intersect("*", "db.internal"));
    assert_true(cw_host_patterns_intersect("*.example.com", "*"));
    assert_true(cw_host_patterns_intersect("*", "*"));
}

static void glob(void **state)
{
    (void)state;
    assert_true(cw_glob_match("*", ""));
    assert_true(cw_glob_match("*", "anything"));
    assert_true(cw_glob_match("web", "web"));
    assert_false(cw_glob_match("web", "web2"));
    assert_false(cw_glob_match("web", "we"));
    assert_true(cw_glob_match("web-*", "web-prod"));
    assert_true(cw_glob_match("web-*", "web-")); /* '*' may match nothing */
    assert_false(cw_glob_match("web-*", "api-prod"));
    assert_true(cw_glob_match("*-prod", "web-prod"));
    assert_true(cw_glob_match("c*-*-1", "cluster-east-1"));
    assert_false(cw_glob_match("c*-*-1", "cluster-east-2"));
    assert_true(cw_glob_match("a*b*c", "aXbYbZc"));
    assert_true(cw_glob_match("**", "x"));
    assert_false(cw_glob_match("Web", "web")); /* namespaces are case-sensitive */
    assert_false(cw_glob_match("", "x"));
    assert_true(cw_glob_match("", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_names),
        cmocka_unit_test(invalid_names),
        cmocka_unit_test(label_and_total_lengths),
        cmocka_unit_test(numeric_top_level_label),
        cmocka_unit_test(wildcard_forms),
        cmocka_unit_test(bare_star_needs_its_own_flag),
        cmocka_unit_test(is_wildcard),
        cmocka_unit_test(host_match_exact),
        cmocka_unit_test(host_match_wildcard),
        cmocka_unit_test(host_match_star),
        cmocka_unit_test(patterns_intersect),
        cmocka_unit_test(glob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
