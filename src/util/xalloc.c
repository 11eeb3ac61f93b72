#include "util/xalloc.h"

#include <stdio.h>
#include <string.h>

static void *check(void *p, size_t size)
{
    if (!p && size) {
        fprintf(stderr, "causeway: out of memory allocating %zu bytes\n", size);
        abort();
    }
    return p;
}

void *cw_xmalloc(size_t size)
{
    return check(malloc(size), size);
}

void *cw_xcalloc(size_t n, size_t size)
{
    return check(calloc(n, size), n * size);
}

void *cw_xrealloc(void *p, size_t size)
{
    return check(realloc(p, size), size);
}

char *cw_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cw_xmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *cw_xstrdup_or_null(const char *s)
{
    return s ? cw_xstrdup(s) : NULL;
}

const char *const *cw_xstrdup_all(const char *const *v, size_t n)
{
    char **out = cw_xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = cw_xstrdup(v[i]);
    return (const char *const *)out;
}

void cw_free_all(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)v[i]);
    free((void *)v);
}
