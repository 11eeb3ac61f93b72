/* UTF-8 validation (util/utf8.h): the valid forms pass, and each kind of invalid sequence is
 * found at its first byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

static size_t prefix(const char *s)
{
    return cw_utf8_valid_prefix(s, strlen(s));
}

static void valid_text_passes(void **state)
{
    (void)state;
    const char *ok[] = {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                        "\xef\xbb\xbf# a BOM", "\xf4\x8f\xbf\xbf" /* U+10FFFF */};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(prefix(ok[i]), strlen(ok[i]));
}

static void invalid_sequences_are_found_at_their_start(void **state)
{
    (void)state;
    assert_int_equal(prefix("%\x88\n"), 1);            /* a lone continuation byte */
    assert_int_equal(prefix("ab\xc0\xaf"), 2);         /* overlong '/' */
    assert_int_equal(prefix("ab\xe0\x80\xaf"), 2);     /* overlong, three bytes */
    assert_int_equal(prefix("ab\xed\xa0\x80"), 2);     /* a surrogate */
    assert_int_equal(prefix("ab\xf4\x90\x80\x80"), 2); /* past U+10FFFF */
    assert_int_equal(prefix("ab\xf5\x80\x80\x80"), 2);
    assert_int_equal(prefix("ab\xc3"), 2);             /* cut short */
    assert_int_equal(prefix("ab\xe2\x82"), 2);
    assert_int_equal(prefix("\xe2\x82\xac\xff"), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_text_passes),
        cmocka_unit_test(invalid_sequences_are_found_at_their_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
