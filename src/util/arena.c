#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"

/* Blocks grow with the arena so that a 50,000-object configuration needs few mallocs. */
#define MIN_BLOCK (64u * 1024u)
#define ALIGN     16u

struct cw_arena_block {
    struct cw_arena_block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
};

void cw_arena_init(struct cw_arena *a)
{
    a->head = NULL;
    a->used_total = 0;
}

void cw_arena_deinit(struct cw_arena *a)
{
    struct cw_arena_block *b = a->head;
    while (b) {
        struct cw_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

static struct cw_arena_block *grow(struct cw_arena *a, size_t need)
{
    size_t size = a->head ? a->head->size * 2 : MIN_BLOCK;
    if (size > 16u * 1024u * 1024u)
        size = 16u * 1024u * 1024u;
    if (size < need)
        size = need;
    /* Zeroed once here, and by the kernel for free when it is fresh memory: allocations are
     * carved from it only once, so each needs no memset of its own. */
    struct cw_arena_block *b = cw_xcalloc(1, sizeof(*b) + size);
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    return b;
}

void *cw_arena_alloc(struct cw_arena *a, size_t size)
{
    size_t rounded = (size + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
    if (rounded == 0)
        rounded = ALIGN;
    struct cw_arena_block *b = a->head;
    if (!b || b->size - b->used < rounded)
        b = grow(a, rounded);
    void *p = b->data + b->used;
    b->used += rounded;
    a->used_total += rounded;
    return p;
}

char *cw_arena_strndup(struct cw_arena *a, const char *s, size_t len)
{
    char *p = cw_arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cw_arena_strdup(struct cw_arena *a, const char *s)
{
    return s ? cw_arena_strndup(a, s, strlen(s)) : NULL;
}

char *cw_arena_cat(struct cw_arena *a, const char *first, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        len += strlen(s);
    va_end(ap);
    char *out = cw_arena_alloc(a, len + 1), *w = out;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        size_t n = strlen(s);
        memcpy(w, s, n);
        w += n;
    }
    va_end(ap);
    *w = '\0';
    return out;
}

char *cw_arena_printf(struct cw_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = cw_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
