/*
 * Response flags (proxy/response_flags.h) for each kind of reason, URX only after retries of an
 * upstream failure; request ids (proxy/request_id.h): a sane client id kept, anything else
 * replaced by a UUID v4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/request_id.h"
#include "proxy/response_flags.h"

static const char *flags(const char *reason, unsigned retries)
{
    static char out[16];
    cw_response_flags(reason, retries, out, sizeof(out));
    return out;
}

static void each_reason_has_its_flag(void **state)
{
    (void)state;
    assert_string_equal(flags(NULL, 0), "-");
    assert_string_equal(flags("no route: unknown host", 0), "NR");
    assert_string_equal(flags("no tls route matches the server name", 0), "NR");
    assert_string_equal(flags("ClientHello without a server name (SNI)", 0), "NR");
    assert_string_equal(flags("no healthy upstream", 0), "UH");
    assert_string_equal(flags("connect refused", 0), "UF");
    assert_string_equal(flags("connect timeout", 2), "UF,URX");
    assert_string_equal(flags("upstream TLS: certificate verify failed: x", 0), "UF");
    assert_string_equal(flags("upstream timeout", 0), "UT");
    assert_string_equal(flags("upstream reset before responding", 1), "UC,URX");
    assert_string_equal(flags("invalid response from upstream", 0), "UPE");
    assert_string_equal(flags("gateway out of file descriptors", 0), "UO");
    assert_string_equal(flags("malformed request: invalid Host header", 3), "DPE");
    assert_string_equal(flags("ClientHello too large", 0), "DPE");
    assert_string_equal(flags("ClientHello not received in time", 0), "DT");
    assert_string_equal(flags("request headers not received in time", 0), "DT");
    assert_string_equal(flags("client closed before its ClientHello ended", 0), "DC");
    assert_string_equal(flags("idle timeout", 0), "SI");
    assert_string_equal(flags("request body too large", 0), "-");
}

static void ids_are_kept_when_sane_and_made_otherwise(void **state)
{
    (void)state;
    struct cw_http_head h = {0};
    struct cw_request_ids ids;
    cw_request_ids_seed(&ids);
    char id[CW_REQUEST_ID_MAX + 1], other[CW_REQUEST_ID_MAX + 1];
    h.headers[0] = (struct cw_header){{"X-Request-ID", 12}, {"abc-1.2:3_4", 11}};
    h.n_headers = 1;
    assert_true(cw_request_id(&h, &ids, id));
    assert_string_equal(id, "abc-1.2:3_4");
    h.headers[0].value = (struct cw_span){"a\"b", 3};
    assert_false(cw_request_id(&h, &ids, id));
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4'); /* version */
    assert_true(strchr("89ab", id[19]) != NULL); /* variant */
    assert_false(cw_request_id(&h, &ids, other));
    assert_string_not_equal(id, other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_reason_has_its_flag),
        cmocka_unit_test(ids_are_kept_when_sane_and_made_otherwise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
