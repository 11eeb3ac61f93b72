/*
 * Allocation that aborts on out-of-memory (as h2o and Redis do): a gateway that cannot allocate
 * a few bytes cannot recover meaningfully, and callers stay free of impossible error paths.
 */
#ifndef CW_UTIL_XALLOC_H
#define CW_UTIL_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *cw_xmalloc(size_t size);
void *cw_xcalloc(size_t n, size_t size);
void *cw_xrealloc(void *p, size_t size);
char *cw_xstrdup(const char *s);

/* cw_xstrdup, and NULL for NULL. */
char *cw_xstrdup_or_null(const char *s);

/* A copy of the <n> strings of <v> (an array of its own, each string copied), and its free. */
const char *const *cw_xstrdup_all(const char *const *v, size_t n);
void cw_free_all(const char *const *v, size_t n);

#endif
