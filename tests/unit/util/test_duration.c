/*
 * Go time.ParseDuration syntax for policy fields (util/text.h): what OutlierDetectionPolicy
 * interval and baseEjectionTime accept, and how causeway prints durations back.
 */
#include <string.h>

#include "support.h"
#include "util/text.h"

/* Parses <text>, asserting success, and returns the milliseconds. */
static uint64_t parse_ok(const char *text)
{
    uint64_t ms = 0;
    const char *why = NULL;
    if (cw_duration_parse(text, &ms, &why) != 0)
        fail_msg("\"%s\" rejected: %s", text, why);
    return ms;
}

/* Asserts that <text> is rejected with a reason mentioning <word>; the output is untouched. */
static void assert_bad(const char *text, const char *word)
{
    uint64_t ms = 12345;
    const char *why = NULL;
    if (cw_duration_parse(text, &ms, &why) == 0)
        fail_msg("\"%s\" accepted as %llu ms", text, (unsigned long long)ms);
    assert_non_null(why);
    if (!strstr(why, word))
        fail_msg("\"%s\": reason \"%s\" does not mention \"%s\"", text, why, word);
    assert_int_equal(ms, 12345);
}

static void single_units(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("10s"), 10000);
    assert_int_equal(parse_ok("250ms"), 250);
    assert_int_equal(parse_ok("1m"), 60000);
    assert_int_equal(parse_ok("2h"), 7200000);
    assert_int_equal(parse_ok("1000us"), 1);
    assert_int_equal(parse_ok("1000\xc2\xb5s"), 1); /* micro sign, as Go accepts */
    assert_int_equal(parse_ok("1000000ns"), 1);
    assert_int_equal(parse_ok("+5s"), 5000);
}

static void fractions(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1.5h"), 5400000);
    assert_int_equal(parse_ok("1.5s"), 1500);
    assert_int_equal(parse_ok("0.5s"), 500);
    assert_int_equal(parse_ok(".5s"), 500);
    assert_int_equal(parse_ok("0.001s"), 1);
    assert_int_equal(parse_ok("2.25m"), 135000);
}

static void concatenated_units(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1m30s"), 90000);
    assert_int_equal(parse_ok("1s500ms"), 1500);
    assert_int_equal(parse_ok("1h1m1s1ms"), 3661001);
    assert_int_equal(parse_ok("30s1m"), 90000); /* Go does not insist on an order */
}

static void rejected(void **state)
{
    (void)state;
    assert_bad("", "empty");
    assert_bad("30", "unit"); /* a bare number is the classic mistake */
    assert_bad("5x", "unit");
    assert_bad("5 s", "unit");
    assert_bad("s", "malformed");
    assert_bad(".s", "malformed");
    assert_bad("1s-", "unit");
    assert_bad("-1s", "negative");
    assert_bad("0", "at least 1ms");
    assert_bad("0s", "at least 1ms");
    assert_bad("1ns", "at least 1ms");
    assert_bad("999us", "at least 1ms");
    assert_bad("1.5ms", "whole number of milliseconds");
    assert_bad("1001us", "whole number of milliseconds");
    assert_bad("99999999999999999999h", "too large");
}

static void format(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(cw_duration_format(30000, buf, sizeof(buf)), "30s");
    assert_string_equal(cw_duration_format(90000, buf, sizeof(buf)), "1m30s");
    assert_string_equal(cw_duration_format(250, buf, sizeof(buf)), "250ms");
    assert_string_equal(cw_duration_format(1500, buf, sizeof(buf)), "1s500ms");
    assert_string_equal(cw_duration_format(3600000, buf, sizeof(buf)), "1h");
    assert_string_equal(cw_duration_format(5400000, buf, sizeof(buf)), "1h30m");
    assert_string_equal(cw_duration_format(86400000 + 1, buf, sizeof(buf)), "24h1ms");
    assert_string_equal(cw_duration_format(0, buf, sizeof(buf)), "0ms");
}

static void format_truncates_safely(void **state)
{
    (void)state;
    char buf[4];
    /* "1h1m1s1ms" does not fit: the result is cut, NUL-terminated, never overflowing. */
    cw_duration_format(3661001, buf, sizeof(buf));
    assert_true(strlen(buf) < sizeof(buf));
}

static void format_then_parse_round_trips(void **state)
{
    (void)state;
    /* What causeway prints in statuses and the admin API must read back as the same value. */
    static const uint64_t samples[] = {1,       999,     1000,    1001,     59999,  60000, 61001,
                                       3599999, 3600000, 3600001, 86400000, 300000, 10000, 30000};
    char buf[64];
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
        assert_int_equal(parse_ok(cw_duration_format(samples[i], buf, sizeof(buf))), samples[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_units),
        cmocka_unit_test(fractions),
        cmocka_unit_test(concatenated_units),
        cmocka_unit_test(rejected),
        cmocka_unit_test(format),
        cmocka_unit_test(format_truncates_safely),
        cmocka_unit_test(format_then_parse_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
