/*
 * Access-log lines (proxy/access_log.h) when what the client sent is hostile: no byte of the
 * method, path, Host or reason may end its field or the line, in text or in JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/access_log.h"

/* The line written for <r> in the format <json> says, without its timestamp (NUL-terminated). */
static char *line_of(const struct cw_access_record *r, bool json)
{
    struct cw_access_log log = {.fd = -1, .json = json};
    struct cw_log_buffer b = {0};
    cw_access_log_add(&log, &b, r);
    char *s = calloc(1, b.len + 1);
    memcpy(s, b.data, b.len);
    cw_log_buffer_free(&b);
    /* Text starts with the time; JSON with {"time":"...", : both dropped. */
    char *start = json ? strstr(s, "\",\"") + 2 : strchr(s, ' ') + 1;
    char *out = strdup(start);
    free(s);
    return out;
}

static struct cw_access_record record(const char *path, const char *host)
{
    return (struct cw_access_record){
        .protocol = "http",
        .listener = 8080,
        .method = "GET",
        .path = path,
        .host = host,
        .route = "gw/api:v1",
        .service = "data/api:80",
        .endpoint = "127.0.0.41:80",
        .locality = "us-east-1/us-east-1a",
        .priority = 0,
        .status = 200,
        .retries = 0,
        .reason = NULL,
    };
}

static void text_fields_are_quoted_and_escaped(void **state)
{
    (void)state;
    struct cw_access_record r =
        record("/a\"b\\c", "x\" status=500 route=gw/fake:r service=s \"\x01\x80\xff");
    r.reason = "no \"route\"\n";
    char *got = line_of(&r, false);
    assert_string_equal(got, "http listener=8080 \"GET /a\\\"b\\\\c\" "
                             "host=\"x\\\" status=500 route=gw/fake:r service=s "
                             "\\\"\\x01\\x80\\xff\" status=200 route=gw/api:v1 "
                             "service=data/api:80 endpoint=127.0.0.41:80 "
                             "locality=us-east-1/us-east-1a priority=0 in=0 out=0 duration_ms=0 "
                             "retries=0 client=- request_id=\"-\" upstream_connect_us=0 "
                             "upstream_response_us=0 flags=- reason=\"no \\\"route\\\"\\x0a\"\n");
    free(got);
}

/* Fields that come from the configuration are tokens: a space cannot start another field. */
static void text_tokens_escape_spaces(void **state)
{
    (void)state;
    struct cw_access_record r = record("/", "a.example");
    r.locality = "us east=1";
    char *got = line_of(&r, false);
    assert_non_null(strstr(got, " locality=us\\x20east=1 priority=0 "));
    assert_non_null(strstr(got, "\"GET /\" host=\"a.example\" status=200"));
    free(got);
    r = record(NULL, NULL);
    r.method = "-";
    r.route = r.service = r.endpoint = r.locality = NULL;
    r.priority = -1;
    got = line_of(&r, false);
    assert_string_equal(got, "http listener=8080 \"- -\" host=\"-\" status=200 route=- "
                             "service=- endpoint=- locality=- priority=- in=0 out=0 "
                             "duration_ms=0 retries=0 client=- request_id=\"-\" upstream_connect_us=0 "
                             "upstream_response_us=0 flags=- reason=\"-\"\n");
    free(got);
}

/* JSON strings escape quotes, backslashes and control bytes, and bytes outside ASCII as \u00XX
 * so that the line is valid UTF-8 whatever came. */
static void json_strings_are_escaped(void **state)
{
    (void)state;
    struct cw_access_record r = record("/a\"b\\c", "x\",\"status\":500,\"h\":\"\x01\x7f\xc3");
    char *got = line_of(&r, true);
    assert_non_null(strstr(got, "\"path\":\"/a\\\"b\\\\c\",\"host\":\"x\\\",\\\"status\\\":500,"
                                "\\\"h\\\":\\\"\\u0001\\u007f\\u00c3\",\"status\":200,"));
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_fields_are_quoted_and_escaped),
        cmocka_unit_test(text_tokens_escape_spaces),
        cmocka_unit_test(json_strings_are_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
