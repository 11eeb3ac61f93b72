/*
 * Request path normalisation (http/path.h): the path that routing sees and the upstream gets is
 * the one the origin would resolve, so "/v1/../admin" cannot pass a route meant for "/v1/".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/path.h"

/* Normalises the target <in> and checks the result (path and query) is <want>. */
static void check(const char *in, const char *want)
{
    char out[256];
    struct cw_span t;
    int rc = cw_path_normalize_target((struct cw_span){in, strlen(in)}, out, sizeof(out), &t);
    if (rc != 0)
        fail_msg("%s: error %d, want %s", in, rc, want);
    if (t.len != strlen(want) || memcmp(t.p, want, t.len) != 0)
        fail_msg("%s: got %.*s, want %s", in, (int)t.len, t.p, want);
    assert_int_equal(out[t.len], '\0'); /* the router reads one byte past the path */
}

static void check_refused(const char *in)
{
    char out[256];
    struct cw_span t;
    int rc = cw_path_normalize_target((struct cw_span){in, strlen(in)}, out, sizeof(out), &t);
    if (rc != CW_PATH_ABOVE_ROOT)
        fail_msg("%s: got %d, want CW_PATH_ABOVE_ROOT", in, rc);
}

static void normal_paths_are_unchanged(void **state)
{
    (void)state;
    check("/", "/");
    check("/v1/items", "/v1/items");
    check("/v1/items/", "/v1/items/");
    check("/a/...", "/a/...");
    check("/a/.b/c./..d/e..", "/a/.b/c./..d/e..");
}

/* RFC 3986 §5.2.4 and the §5.4 examples that apply to an absolute path, as the merge with the
 * base "/b/c/d;p" would give them (§5.4.2's climbs above the root are refused instead, below). */
static void rfc3986_dot_segments_are_removed(void **state)
{
    (void)state;
    check("/a/b/c/./../../g", "/a/g");
    check("/b/c/./g", "/b/c/g");     /* ./g */
    check("/b/c/g/", "/b/c/g/");     /* g/ */
    check("/b/c/.", "/b/c/");        /* . */
    check("/b/c/./", "/b/c/");       /* ./ */
    check("/b/c/..", "/b/");         /* .. */
    check("/b/c/../", "/b/");        /* ../ */
    check("/b/c/../g", "/b/g");      /* ../g */
    check("/b/c/../..", "/");        /* ../.. */
    check("/b/c/../../", "/");       /* ../../ */
    check("/b/c/../../g", "/g");     /* ../../g */
    check("/./g", "/g");             /* /./g */
    check("/b/c/g.", "/b/c/g.");     /* g. */
    check("/b/c/.g", "/b/c/.g");     /* .g */
    check("/b/c/g..", "/b/c/g..");   /* g.. */
    check("/b/c/..g", "/b/c/..g");   /* ..g */
    check("/b/c/./../g", "/b/g");    /* ./../g */
    check("/b/c/./g/.", "/b/c/g/");  /* ./g/. */
    check("/b/c/g/./h", "/b/c/g/h"); /* g/./h */
    check("/b/c/g/../h", "/b/c/h");  /* g/../h */
    check("/b/c/g;x=1/./y", "/b/c/g;x=1/y");
    check("/b/c/g;x=1/../y", "/b/c/y");
    check("/v1/../admin", "/admin");
}

static void trailing_dot_segments_name_the_directory(void **state)
{
    (void)state;
    check("/a/b/..", "/a/");
    check("/a/..", "/");
    check("/a/.", "/a/");
    check("/.", "/");
    check("/./", "/");
}

static void encoded_dots_are_dots(void **state)
{
    (void)state;
    check("/v1/%2e%2e/admin", "/admin");
    check("/v1/%2E%2E/admin", "/admin");
    check("/v1/%2e%2E/admin", "/admin");
    check("/v1/.%2e/admin", "/admin");
    check("/v1/%2E./admin", "/admin");
    check("/v1/%2e/admin", "/v1/admin");
    check("/v1/%2e%2e%2e/x", "/v1/.../x"); /* three dots are a name */
}

static void unreserved_escapes_are_decoded_and_no_others(void **state)
{
    (void)state;
    check("/%7Euser/%41%62%2d%5F%30", "/~user/Ab-_0");
    check("/%7euser", "/~user");
    /* Reserved and other characters keep their escapes, as they came. */
    check("/a%2Fb/%2f/%3F%20%25%41", "/a%2Fb/%2f/%3F%20%25A");
    check("/a%2F..%2Fb", "/a%2F..%2Fb"); /* one segment: %2F is not a '/' */
    check("/a/..%2Fb/c", "/a/..%2Fb/c"); /* nor is "..%2Fb" a dot segment */
    check("/a/%2e%2e%2fb", "/a/..%2fb");
    /* Malformed escapes are left to the origin. */
    check("/a%zz/%4/b%", "/a%zz/%4/b%");
    check("/a/%", "/a/%");
}

static void the_query_is_untouched(void **state)
{
    (void)state;
    check("/a/../b?x=/../y&p=%2e%2e&q=%7E", "/b?x=/../y&p=%2e%2e&q=%7E");
    check("/a/%2e?", "/a/?");
    check("/?..", "/?..");
    check("/v1/items?", "/v1/items?");
}

/* Merging adjacent slashes is off (Istio's default): an empty segment is a segment. */
static void double_slashes_are_kept(void **state)
{
    (void)state;
    check("//", "//");
    check("//a//b/", "//a//b/");
    check("/a//../b", "/a/b"); /* ".." removes the empty segment, as RFC 3986 does */
    check("//..", "/");
}

static void a_path_climbing_above_the_root_is_refused(void **state)
{
    (void)state;
    check_refused("/..");
    check_refused("/../");
    check_refused("/../admin");
    check_refused("/a/../..");
    check_refused("/b/c/../../../g"); /* RFC 3986 §5.4.2 "../../../g" */
    check_refused("/./../g");
    check_refused("/%2e%2e");
    check_refused("/.%2E/x?y");
}

static void other_target_forms_are_copied(void **state)
{
    (void)state;
    check("*", "*");
    check("http://h/a/../b?q", "http://h/a/../b?q");
    check("example.com:443", "example.com:443");
    check("", "");
}

static void a_small_buffer_is_refused(void **state)
{
    (void)state;
    char out[8];
    struct cw_span t;
    const char *in = "/a/b/c/d";
    assert_int_equal(cw_path_normalize_target((struct cw_span){in, 8}, out, 8, &t),
                     CW_PATH_NO_ROOM);
    assert_int_equal(cw_path_normalize_target((struct cw_span){in, 7}, out, 8, &t), 0);
    size_t n;
    assert_int_equal(cw_path_normalize((struct cw_span){in, 8}, out, 7, &n), CW_PATH_NO_ROOM);
    assert_int_equal(cw_path_normalize((struct cw_span){in, 8}, out, 8, &n), 0);
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normal_paths_are_unchanged),
        cmocka_unit_test(rfc3986_dot_segments_are_removed),
        cmocka_unit_test(trailing_dot_segments_name_the_directory),
        cmocka_unit_test(encoded_dots_are_dots),
        cmocka_unit_test(unreserved_escapes_are_decoded_and_no_others),
        cmocka_unit_test(the_query_is_untouched),
        cmocka_unit_test(double_slashes_are_kept),
        cmocka_unit_test(a_path_climbing_above_the_root_is_refused),
        cmocka_unit_test(other_target_forms_are_copied),
        cmocka_unit_test(a_small_buffer_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
