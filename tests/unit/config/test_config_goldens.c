/*
 * Golden diagnostics: each tests/config/invalid/NAME.yaml is loaded on its own and the exact
 * text cw_diags_print writes must equal NAME.expected. The expectations are what a user sees
 * for a broken manifest, so any change to a message, a position or a field path shows up here
 * as a diff to review.
 *
 * Status goldens: each tests/config/status/NAME.yaml is loaded and translated for the gateway of
 * spec §12 (namespace gw, labels app=c-gateway, locality us-east-1/us-east-1a), and the
 * diagnostics followed by the status table `causeway validate` prints must equal NAME.expected.
 * They hold the messages translation gives (a route's 500, a WARNING), which no load reports.
 *
 * CW_UPDATE_GOLDENS=1 rewrites the .expected files from the current output instead of
 * comparing (review the result with `git diff` before committing it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "cli/status_output.h"
#include "translate/translate.h"

#define GOLDEN_DIR "tests/config/invalid"
#define STATUS_DIR "tests/config/status"

static int is_yaml(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

static bool updating(void)
{
    const char *v = getenv("CW_UPDATE_GOLDENS");
    return v && strcmp(v, "1") == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Compares <actual> with <expected_path> (or rewrites it); returns true when they match. */
static bool compare_golden(const char *expected_path, const char *actual)
{
    if (updating()) {
        write_text(expected_path, actual);
        fprintf(stderr, "updated %s\n", expected_path);
        return true;
    }
    char *expected = cwt_read_file(expected_path);
    bool ok = true;
    if (!expected) {
        fprintf(stderr, "%s: missing; run with CW_UPDATE_GOLDENS=1 to create it\n", expected_path);
        ok = false;
    } else if (strcmp(expected, actual) != 0) {
        cwt_print_diff(expected_path, expected, actual);
        ok = false;
    }
    free(expected);
    return ok;
}

/* "<dir>/<name>" and the .expected path next to it. */
static void golden_paths(const char *dir, const char *name, char *yaml, char *expected, size_t size)
{
    snprintf(yaml, size, "%s/%s", dir, name);
    snprintf(expected, size, "%.*s.expected", (int)strlen(yaml) - 5, yaml);
}

/* Checks one golden; returns true when it matches (or was rewritten). */
static bool check_golden(const char *name)
{
    char yaml[512], expected_path[512];
    golden_paths(GOLDEN_DIR, name, yaml, expected_path, sizeof(yaml));

    struct cwt_load l;
    cwt_load_path(&l, yaml);
    bool ok = true;
    /* Every file here is invalid on purpose; one that loads cleanly tests nothing. */
    if (l.diags.errors == 0) {
        fprintf(stderr, "%s: no error reported; an invalid golden must produce one\n", yaml);
        ok = false;
    }
    ok &= compare_golden(expected_path, l.text);
    cwt_load_free(&l);
    return ok;
}

/* The translation part of a status golden: the table `causeway validate` prints. */
static char *status_table(struct cwt_load *l, bool *flagged)
{
    static struct cw_label labels[] = {{"app", "c-gateway"}};
    struct cw_gateway_identity gw = {
        .name = "c-gateway",
        .ns = "gw",
        .labels = {labels, 1},
        .locality = {.region = "us-east-1", .zone = "us-east-1a", .subzone = ""},
    };
    struct cw_diags diags;
    struct cw_translation tr;
    cw_diags_init(&diags);
    cw_translate(&l->cfg, &gw, &tr, &diags);
    *flagged = tr.invalid + tr.warnings > 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fputs(l->text, f);
    cw_print_statuses(f, CW_OUTPUT_TABLE, &l->cfg, &tr);
    fclose(f);
    cw_translation_deinit(&tr);
    cw_diags_deinit(&diags);
    return buf;
}

/* Checks one status golden; returns true when it matches (or was rewritten). */
static bool check_status_golden(const char *name)
{
    char yaml[512], expected_path[512];
    golden_paths(STATUS_DIR, name, yaml, expected_path, sizeof(yaml));
    struct cwt_load l;
    cwt_load_path(&l, yaml);
    bool flagged;
    char *text = status_table(&l, &flagged);
    bool ok = true;
    /* Each file shows a translation message; one where everything is ACCEPTED tests nothing. */
    if (!flagged) {
        fprintf(stderr, "%s: no WARNING or INVALID status; a status golden must produce one\n",
                yaml);
        ok = false;
    }
    ok &= compare_golden(expected_path, text);
    free(text);
    cwt_load_free(&l);
    return ok;
}

/* Runs <check> on every .yaml of <dir>; returns how many there are. */
static int check_dir(const char *dir, bool (*check)(const char *name))
{
    struct dirent **entries;
    int n = scandir(dir, &entries, is_yaml, alphasort);
    if (n < 0)
        fail_msg("cannot read %s (tests run from the repository root)", dir);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (!check(entries[i]->d_name))
            failed++;
        free(entries[i]);
    }
    free(entries);
    if (failed)
        fail_msg("%d of %d goldens in %s differ (diffs above; CW_UPDATE_GOLDENS=1 regenerates)",
                 failed, n, dir);
    return n;
}

static void every_golden_matches(void **state)
{
    (void)state;
    /* At least 15 distinct situations, across all kinds. */
    assert_true(check_dir(GOLDEN_DIR, check_golden) >= 15);
}

static void every_status_golden_matches(void **state)
{
    (void)state;
    assert_true(check_dir(STATUS_DIR, check_status_golden) >= 2);
}

/* Fails when an .expected file of <dir> has no .yaml beside it. */
static void expected_files_have_yaml(const char *dir_path)
{
    /* A renamed or deleted golden must not leave a stale expectation that nothing checks. */
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n <= 9 || strcmp(e->d_name + n - 9, ".expected") != 0)
            continue;
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "%s/%.*s.yaml", dir_path, (int)n - 9, e->d_name);
        FILE *f = fopen(yaml, "rb");
        if (!f) {
            closedir(dir);
            fail_msg("%s/%s has no %s", dir_path, e->d_name, yaml);
        }
        fclose(f);
    }
    closedir(dir);
}

static void every_expected_has_its_yaml(void **state)
{
    (void)state;
    expected_files_have_yaml(GOLDEN_DIR);
    expected_files_have_yaml(STATUS_DIR);
}

static void diff_output_shows_both_sides(void **state)
{
    (void)state;
    /* The diff is the only explanation a failing golden gives, so check it says the right thing. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    FILE *saved = stderr;
    stderr = mem;
    cwt_print_diff("x.expected", "a\nb\nc\n", "a\nB\nc\nd\n");
    stderr = saved;
    fclose(mem);
    assert_string_equal(buf, "--- x.expected (expected)\n"
                             "+++ x.expected (actual)\n"
                             " a\n"
                             "-b\n"
                             "+B\n"
                             " c\n"
                             "+d\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_golden_matches),
        cmocka_unit_test(every_status_golden_matches),
        cmocka_unit_test(every_expected_has_its_yaml),
        cmocka_unit_test(diff_output_shows_both_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
