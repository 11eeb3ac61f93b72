#include "util/diag.h"

#include <stdarg.h>

void cw_diags_init(struct cw_diags *d)
{
    d->items.v = NULL;
    d->items.n = d->items.cap = 0;
    cw_arena_init(&d->arena);
    d->errors = 0;
}

void cw_diags_deinit(struct cw_diags *d)
{
    CW_VEC_FREE(&d->items);
    cw_arena_deinit(&d->arena);
}

const char *cw_severity_name(enum cw_severity sev)
{
    switch (sev) {
    case CW_SEV_NOTE:
        return "note";
    case CW_SEV_WARNING:
        return "warning";
    case CW_SEV_ERROR:
        return "error";
    }
    return "?";
}

void cw_diags_add(struct cw_diags *d, enum cw_severity sev, const char *file, uint32_t line,
                  uint32_t col, const char *subject, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cw_diags_vadd(d, sev, file, line, col, subject, path, fmt, ap);
    va_end(ap);
}

void cw_diags_vadd(struct cw_diags *d, enum cw_severity sev, const char *file, uint32_t line,
                   uint32_t col, const char *subject, const char *path, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    struct cw_diag diag = {
        .severity = sev,
        .file = cw_arena_strdup(&d->arena, file),
        .line = line,
        .col = col,
        .subject = cw_arena_strdup(&d->arena, subject),
        .path = (path && *path) ? cw_arena_strdup(&d->arena, path) : NULL,
        .message = cw_arena_strdup(&d->arena, buf),
    };
    CW_VEC_PUSH(&d->items, diag);
    if (sev == CW_SEV_ERROR)
        d->errors++;
}

void cw_diag_print(const struct cw_diag *diag, FILE *out)
{
    /* Line 0 means the whole file (it could not be read): no position to show. */
    if (diag->file && diag->line)
        fprintf(out, "%s:%u:%u: ", diag->file, diag->line, diag->col);
    else if (diag->file)
        fprintf(out, "%s: ", diag->file);
    fprintf(out, "%s: ", cw_severity_name(diag->severity));
    if (diag->subject)
        fprintf(out, "%s: ", diag->subject);
    if (diag->path)
        fprintf(out, "%s: ", diag->path);
    fprintf(out, "%s\n", diag->message);
}

void cw_diags_print(const struct cw_diags *d, FILE *out)
{
    for (uint32_t i = 0; i < d->items.n; i++)
        cw_diag_print(&d->items.v[i], out);
}
