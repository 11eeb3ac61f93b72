/*
 * Helpers shared by the unit tests: load YAML text or files into a fresh cw_config and get the
 * diagnostics back as the exact text a user would see (cw_diags_print), plus assertions that
 * print that text when they fail so a broken test explains itself.
 */
#ifndef CW_TEST_SUPPORT_H
#define CW_TEST_SUPPORT_H

#include <setjmp.h> /* cmocka needs these before its header */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/diag.h"

/* One load: the config, its diagnostics, their printed text and the loader's return code. */
struct cwt_load {
    struct cw_config cfg;
    struct cw_diags diags;
    char *text; /* cw_diags_print output; "" when there is nothing to say */
    int rc;
};

/* Loads <yaml> as if it were the file <file> (shown in diagnostics). Free with cwt_load_free. */
void cwt_load_yaml(struct cwt_load *l, const char *file, const char *yaml);

/* Loads a file or directory from disk with cw_config_load_path. */
void cwt_load_path(struct cwt_load *l, const char *path);

void cwt_load_free(struct cwt_load *l);

/* Returns cw_diags_print's output as a malloc'd string. */
char *cwt_diags_text(const struct cw_diags *d);

/* Reads a whole file into a malloc'd NUL-terminated string, or returns NULL. */
char *cwt_read_file(const char *path);

/* True when <text> holds <line> as one complete line (without its newline). */
bool cwt_has_line(const char *text, const char *line);

/* True when <text> contains <needle> anywhere. */
bool cwt_contains(const char *text, const char *needle);

/* Number of lines of <text> that contain <needle>. */
int cwt_count_lines(const char *text, const char *needle);

/* Prints a unified-style line diff of <expected> and <actual> to stderr. */
void cwt_print_diff(const char *label, const char *expected, const char *actual);

/* Creates a fresh directory under /tmp and returns its malloc'd path. */
char *cwt_mkdtemp(void);

/* Writes <text> to <dir>/<rel>, creating parent directories as needed. */
void cwt_write_file(const char *dir, const char *rel, const char *text);

/* Removes <dir> and everything below it. */
void cwt_rm_rf(const char *dir);

/* Asserts that the diagnostics text holds <line> exactly, printing the whole text otherwise. */
#define assert_diag_line(text, line)                                                               \
    do {                                                                                           \
        if (!cwt_has_line((text), (line)))                                                         \
            fail_msg("expected the line\n  %s\nin the diagnostics:\n%s", (line), (text));          \
    } while (0)

/* Asserts that some diagnostic contains <needle>. */
#define assert_diag_contains(text, needle)                                                         \
    do {                                                                                           \
        if (!cwt_contains((text), (needle)))                                                       \
            fail_msg("expected \"%s\" in the diagnostics:\n%s", (needle), (text));                 \
    } while (0)

/* Asserts that no diagnostic contains <needle>. */
#define assert_diag_lacks(text, needle)                                                            \
    do {                                                                                           \
        if (cwt_contains((text), (needle)))                                                        \
            fail_msg("did not expect \"%s\" in the diagnostics:\n%s", (needle), (text));           \
    } while (0)

/* Asserts that loading produced no error (notes and warnings are allowed). */
#define assert_no_errors(l)                                                                        \
    do {                                                                                           \
        if ((l)->diags.errors != 0)                                                                \
            fail_msg("expected no errors, got:\n%s", (l)->text);                                   \
    } while (0)

#endif
