/*
 * Bump allocator. Everything a loaded configuration or a translated snapshot owns lives in one
 * arena and is released at once; no object inside is freed alone. Not thread-safe: one owner.
 */
#ifndef CW_UTIL_ARENA_H
#define CW_UTIL_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cw_arena_block;

struct cw_arena {
    struct cw_arena_block *head;
    size_t used_total; /* bytes handed out, for memory reports */
};

/* Initialises an empty arena; the first allocation creates the first block. */
void cw_arena_init(struct cw_arena *a);

/* Frees every block; pointers from this arena become invalid. */
void cw_arena_deinit(struct cw_arena *a);

/* Returns zeroed memory of <size> bytes aligned for any type. Aborts on out-of-memory. */
void *cw_arena_alloc(struct cw_arena *a, size_t size);

/* Copies <len> bytes of <s> and a terminating NUL into the arena. */
char *cw_arena_strndup(struct cw_arena *a, const char *s, size_t len);

/* Copies the NUL-terminated <s>; NULL stays NULL. */
char *cw_arena_strdup(struct cw_arena *a, const char *s);

/* The concatenation of the strings given, up to a NULL: "a", "/", "b", NULL → "a/b". Cheaper
 * than cw_arena_printf for the identities and subjects built for every loaded object. */
char *cw_arena_cat(struct cw_arena *a, const char *first, ...) __attribute__((sentinel));

/* printf into the arena. */
char *cw_arena_printf(struct cw_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define CW_ARENA_NEW(a, type)      ((type *)cw_arena_alloc((a), sizeof(type)))
#define CW_ARENA_ARRAY(a, type, n) ((type *)cw_arena_alloc((a), sizeof(type) * (size_t)(n)))

/* An array that grows inside an arena (old copies stay until the arena goes): for building
 * snapshot lists whose final size is unknown. */
#define CW_GROWABLE(type)                                                                          \
    struct {                                                                                       \
        type *v;                                                                                   \
        uint32_t n;                                                                                \
        uint32_t cap;                                                                              \
    }

#define CW_ARENA_PUSH(a, list, item)                                                               \
    do {                                                                                           \
        if ((list)->n == (list)->cap) {                                                            \
            uint32_t cap_ = (list)->cap ? (list)->cap * 2 : 4;                                     \
            void *v_ = cw_arena_alloc((a), sizeof(*(list)->v) * cap_);                             \
            if ((list)->n)                                                                         \
                memcpy(v_, (list)->v, sizeof(*(list)->v) * (list)->n);                             \
            (list)->v = v_;                                                                        \
            (list)->cap = cap_;                                                                    \
        }                                                                                          \
        (list)->v[(list)->n++] = (item);                                                           \
    } while (0)

#endif
