/*
 * Growable array of any element type, for building lists whose final size is unknown
 * (resources while loading, diagnostics). Heap-backed; free with CW_VEC_FREE.
 */
#ifndef CW_UTIL_VEC_H
#define CW_UTIL_VEC_H

#include <stdint.h>

#include "util/xalloc.h"

#define CW_VEC(type)                                                                               \
    struct {                                                                                       \
        type *v;                                                                                   \
        uint32_t n;                                                                                \
        uint32_t cap;                                                                              \
    }

#define CW_VEC_PUSH(vec, item)                                                                     \
    do {                                                                                           \
        if ((vec)->n == (vec)->cap) {                                                              \
            (vec)->cap = (vec)->cap ? (vec)->cap * 2 : 8;                                          \
            (vec)->v = cw_xrealloc((vec)->v, sizeof(*(vec)->v) * (vec)->cap);                      \
        }                                                                                          \
        (vec)->v[(vec)->n++] = (item);                                                             \
    } while (0)

#define CW_VEC_FREE(vec)                                                                           \
    do {                                                                                           \
        free((vec)->v);                                                                            \
        (vec)->v = NULL;                                                                           \
        (vec)->n = (vec)->cap = 0;                                                                 \
    } while (0)

#endif
