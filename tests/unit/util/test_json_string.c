/*
 * cw_json_string (util/event_log.h), which writes manifest text into /events, /clusters and
 * /config_dump: valid UTF-8 passes as it is, anything else is escaped, so the JSON stays valid
 * whatever a hostile manifest holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "util/event_log.h"

static char *json_of(const char *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cw_json_string(out, s);
    fclose(out);
    return text;
}

static void expect(const char *in, const char *want)
{
    char *got = json_of(in);
    assert_string_equal(got, want);
    free(got);
}

static void valid_utf8_passes_and_the_rest_is_escaped(void **state)
{
    (void)state;
    expect("plain \"quoted\" \\ tab\t", "\"plain \\\"quoted\\\" \\\\ tab\\u0009\"");
    expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    expect("\xc0\xaf", "\"\\u00c0\\u00af\"");                   /* overlong "/" */
    expect("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");        /* overlong, 3 bytes */
    expect("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");        /* a surrogate */
    expect("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* past U+10FFFF */
    expect("\xf5\x80\x80", "\"\\u00f5\\u0080\\u0080\"");        /* no such lead byte */
    expect("end \xe2\x82", "\"end \\u00e2\\u0082\"");           /* cut at the end */
    expect("\x7f", "\"\\u007f\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_utf8_passes_and_the_rest_is_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
