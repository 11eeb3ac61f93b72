/*
 * Hash map from byte-string keys to pointers (open addressing, linear probing). Keys are
 * borrowed: the caller keeps them alive (usually in an arena) as long as the map. Used by
 * translation to index tens of thousands of resources by name, address and label.
 * Not thread-safe.
 */
#ifndef CW_UTIL_STRMAP_H
#define CW_UTIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct cw_strmap_slot {
    const char *key;
    size_t len;
    uint64_t hash;
    void *value;
};

struct cw_strmap {
    struct cw_strmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
};

void cw_strmap_init(struct cw_strmap *m);
void cw_strmap_deinit(struct cw_strmap *m);

/* Returns the value stored under <key>, or NULL. */
void *cw_strmap_get(const struct cw_strmap *m, const char *key, size_t len);

/*
 * Stores <value> under <key> unless the key is present. Returns the value now stored: <value>
 * when inserted, the earlier value otherwise (so first-wins logic needs one call).
 */
void *cw_strmap_put_new(struct cw_strmap *m, const char *key, size_t len, void *value);

/* Stores or replaces. */
void cw_strmap_set(struct cw_strmap *m, const char *key, size_t len, void *value);

/* FNV-1a; exposed so callers can hash composite keys the same way. */
uint64_t cw_hash_bytes(const void *p, size_t len);

#endif
