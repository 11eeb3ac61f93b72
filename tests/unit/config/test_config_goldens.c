/*
 * Golden diagnostics: each tests/config/invalid/NAME.yaml is loaded on its own and the exact
 * text cw_diags_print writes must equal NAME.expected. The expectations are what a user sees
 * for a broken manifest, so any change to a message, a position or a field path shows up here
 * as a diff to review.
 *
 * CW_UPDATE_GOLDENS=1 rewrites the .expected files from the current output instead of
 * comparing (review the result with `git diff` before committing it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define GOLDEN_DIR "tests/config/invalid"

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

/* Checks one golden; returns true when it matches (or was rewritten). */
static bool check_golden(const char *name)
{
    char yaml[512], expected_path[512];
    snprintf(yaml, sizeof(yaml), "%s/%s", GOLDEN_DIR, name);
    snprintf(expected_path, sizeof(expected_path), "%.*s.expected", (int)strlen(yaml) - 5, yaml);

    struct cwt_load l;
    cwt_load_path(&l, yaml);
    bool ok = true;
    /* Every file here is invalid on purpose; one that loads cleanly tests nothing. */
    if (l.diags.errors == 0) {
        fprintf(stderr, "%s: no error reported; an invalid golden must produce one\n", yaml);
        ok = false;
    }
    if (updating()) {
        write_text(expected_path, l.text);
        fprintf(stderr, "updated %s\n", expected_path);
    } else {
        char *expected = cwt_read_file(expected_path);
        if (!expected) {
            fprintf(stderr, "%s: missing; run with CW_UPDATE_GOLDENS=1 to create it\n",
                    expected_path);
            ok = false;
        } else if (strcmp(expected, l.text) != 0) {
            cwt_print_diff(expected_path, expected, l.text);
            ok = false;
        }
        free(expected);
    }
    cwt_load_free(&l);
    return ok;
}

static void every_golden_matches(void **state)
{
    (void)state;
    struct dirent **entries;
    int n = scandir(GOLDEN_DIR, &entries, is_yaml, alphasort);
    if (n < 0)
        fail_msg("cannot read %s (tests run from the repository root)", GOLDEN_DIR);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (!check_golden(entries[i]->d_name))
            failed++;
        free(entries[i]);
    }
    free(entries);
    /* At least 15 distinct situations, across all kinds. */
    assert_true(n >= 15);
    if (failed)
        fail_msg("%d of %d goldens differ (diffs above; CW_UPDATE_GOLDENS=1 regenerates)", failed,
                 n);
}

static void every_expected_has_its_yaml(void **state)
{
    (void)state;
    /* A renamed or deleted golden must not leave a stale expectation that nothing checks. */
    DIR *dir = opendir(GOLDEN_DIR);
    assert_non_null(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n <= 9 || strcmp(e->d_name + n - 9, ".expected") != 0)
            continue;
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "%s/%.*s.yaml", GOLDEN_DIR, (int)n - 9, e->d_name);
        FILE *f = fopen(yaml, "rb");
        if (!f) {
            closedir(dir);
            fail_msg("%s/%s has no %s", GOLDEN_DIR, e->d_name, yaml);
        }
        fclose(f);
    }
    closedir(dir);
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
        cmocka_unit_test(every_expected_has_its_yaml),
        cmocka_unit_test(diff_output_shows_both_sides),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
