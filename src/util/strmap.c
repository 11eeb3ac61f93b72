#include "util/strmap.h"

#include <string.h>

#include "util/xalloc.h"

uint64_t cw_hash_bytes(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64-bit offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void cw_strmap_init(struct cw_strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void cw_strmap_deinit(struct cw_strmap *m)
{
    free(m->slots);
    cw_strmap_init(m);
}

static struct cw_strmap_slot *find(const struct cw_strmap *m, const char *key, size_t len,
                                   uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct cw_strmap_slot *s = &m->slots[i];
        if (!s->key)
            return s;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s;
    }
}

static void grow(struct cw_strmap *m)
{
    struct cw_strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->slots = cw_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < old.cap; i++) {
        struct cw_strmap_slot *s = &old.slots[i];
        if (s->key)
            *find(m, s->key, s->len, s->hash) = *s;
    }
    free(old.slots);
}

void *cw_strmap_get(const struct cw_strmap *m, const char *key, size_t len)
{
    if (!m->cap)
        return NULL;
    struct cw_strmap_slot *s = find(m, key, len, cw_hash_bytes(key, len));
    return s->key ? s->value : NULL;
}

static struct cw_strmap_slot *slot_for_insert(struct cw_strmap *m, const char *key, size_t len)
{
    /* Keep the load factor under 0.7 so probes stay short. */
    if ((m->count + 1) * 10 > m->cap * 7)
        grow(m);
    uint64_t h = cw_hash_bytes(key, len);
    struct cw_strmap_slot *s = find(m, key, len, h);
    if (!s->key) {
        s->key = key;
        s->len = len;
        s->hash = h;
        s->value = NULL;
        m->count++;
    }
    return s;
}

void *cw_strmap_put_new(struct cw_strmap *m, const char *key, size_t len, void *value)
{
    struct cw_strmap_slot *s = slot_for_insert(m, key, len);
    if (!s->value)
        s->value = value;
    return s->value;
}

void cw_strmap_set(struct cw_strmap *m, const char *key, size_t len, void *value)
{
    slot_for_insert(m, key, len)->value = value;
}
