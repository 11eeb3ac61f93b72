/*
 * Diagnostics (util/diag.h): the one-line format users and CI read,
 * "file:line:col: severity: Kind ns/name: field.path: message", and its counters.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "util/diag.h"

static void full_line(void **state)
{
    (void)state;
    struct cw_diags d;
    cw_diags_init(&d);
    cw_diags_add(&d, CW_SEV_ERROR, "es.yaml", 12, 7, "ExternalService data/db",
                 "spec.ports[0].number", "must be between %d and %d, got %s", 1, 65535, "70000");
    char *text = cwt_diags_text(&d);
    assert_string_equal(text, "es.yaml:12:7: error: ExternalService data/db: "
                              "spec.ports[0].number: must be between 1 and 65535, got 70000\n");
    free(text);
    cw_diags_deinit(&d);
}

static void optional_parts_are_left_out(void **state)
{
    (void)state;
    struct cw_diags d;
    cw_diags_init(&d);
    cw_diags_add(&d, CW_SEV_NOTE, "a.yaml", 3, 1, NULL, NULL, "skipping Namespace data");
    cw_diags_add(&d, CW_SEV_WARNING, NULL, 0, 0, NULL, NULL, "no --locality given");
    cw_diags_add(&d, CW_SEV_ERROR, "a.yaml", 1, 1, "RouteTable gw/rt", "", "empty path omitted");
    /* A problem with a whole file (line 0) has no position to show. */
    cw_diags_add(&d, CW_SEV_ERROR, "missing/", 0, 0, NULL, NULL, "cannot read");
    char *text = cwt_diags_text(&d);
    assert_string_equal(text, "a.yaml:3:1: note: skipping Namespace data\n"
                              "warning: no --locality given\n"
                              "a.yaml:1:1: error: RouteTable gw/rt: empty path omitted\n"
                              "missing/: error: cannot read\n");
    free(text);
    cw_diags_deinit(&d);
}

static void counts_errors_only(void **state)
{
    (void)state;
    struct cw_diags d;
    cw_diags_init(&d);
    cw_diags_add(&d, CW_SEV_NOTE, NULL, 0, 0, NULL, NULL, "n");
    cw_diags_add(&d, CW_SEV_WARNING, NULL, 0, 0, NULL, NULL, "w");
    cw_diags_add(&d, CW_SEV_ERROR, NULL, 0, 0, NULL, NULL, "e1");
    cw_diags_add(&d, CW_SEV_ERROR, NULL, 0, 0, NULL, NULL, "e2");
    assert_int_equal(d.items.n, 4);
    assert_int_equal(d.errors, 2);
    assert_string_equal(cw_severity_name(CW_SEV_WARNING), "warning");
    cw_diags_deinit(&d);
}

static void strings_are_copied(void **state)
{
    (void)state;
    struct cw_diags d;
    cw_diags_init(&d);
    char file[] = "x.yaml", subject[] = "Workspace gloo-mesh/ops", path[] = "spec";
    cw_diags_add(&d, CW_SEV_ERROR, file, 1, 2, subject, path, "%s", "m");
    /* The caller may reuse its buffers (the loader's path buffer is rewritten constantly). */
    memset(file, 'z', sizeof(file) - 1);
    memset(subject, 'z', sizeof(subject) - 1);
    memset(path, 'z', sizeof(path) - 1);
    char *text = cwt_diags_text(&d);
    assert_string_equal(text, "x.yaml:1:2: error: Workspace gloo-mesh/ops: spec: m\n");
    free(text);
    cw_diags_deinit(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_line),
        cmocka_unit_test(optional_parts_are_left_out),
        cmocka_unit_test(counts_errors_only),
        cmocka_unit_test(strings_are_copied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
