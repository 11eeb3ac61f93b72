/*
 * Diagnostics: every problem found in the user's manifests, with its position, the resource it
 * belongs to and the field path, so a user can go straight to the line. Collected, never fatal:
 * loading continues and reports all problems.
 */
#ifndef CW_UTIL_DIAG_H
#define CW_UTIL_DIAG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "util/arena.h"
#include "util/vec.h"

enum cw_severity {
    CW_SEV_NOTE = 0,
    CW_SEV_WARNING,
    CW_SEV_ERROR,
};

struct cw_diag {
    enum cw_severity severity;
    const char *file; /* NULL when the problem has no source (command line) */
    uint32_t line, col;
    const char *subject; /* "Kind ns/name", or NULL */
    const char *path;    /* "spec.ports[0].number", or NULL */
    const char *message;
};

struct cw_diags {
    CW_VEC(struct cw_diag) items;
    struct cw_arena arena; /* owns the strings of every diagnostic */
    uint32_t errors;
};

void cw_diags_init(struct cw_diags *d);
void cw_diags_deinit(struct cw_diags *d);

/* Records one diagnostic; every string argument is copied. */
void cw_diags_add(struct cw_diags *d, enum cw_severity sev, const char *file, uint32_t line,
                  uint32_t col, const char *subject, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* cw_diags_add with the arguments in <ap>, for reporting functions of their own. */
void cw_diags_vadd(struct cw_diags *d, enum cw_severity sev, const char *file, uint32_t line,
                   uint32_t col, const char *subject, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 8, 0)));

/* Writes "file:line:col: error: Kind ns/name: path: message" and a newline to <out>. */
void cw_diag_print(const struct cw_diag *diag, FILE *out);

/* Prints every diagnostic in the order recorded. */
void cw_diags_print(const struct cw_diags *d, FILE *out);

const char *cw_severity_name(enum cw_severity sev);

#endif
