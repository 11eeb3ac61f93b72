/*
 * The string-keyed hash map (util/strmap.h) behind every name index of translation: duplicate
 * detection relies on put_new keeping the first value, and 10,000-object configs on growth.
 */
#include <stdio.h>
#include <string.h>

#include "support.h"
#include "util/arena.h"
#include "util/strmap.h"

static void empty_map(void **state)
{
    (void)state;
    struct cw_strmap m;
    cw_strmap_init(&m);
    assert_null(cw_strmap_get(&m, "x", 1));
    assert_int_equal(m.count, 0);
    cw_strmap_deinit(&m);
    cw_strmap_deinit(&m); /* deinit leaves an empty, reusable map */
    assert_null(cw_strmap_get(&m, "x", 1));
}

static void put_new_first_wins(void **state)
{
    (void)state;
    struct cw_strmap m;
    cw_strmap_init(&m);
    int first = 1, second = 2;
    assert_ptr_equal(cw_strmap_put_new(&m, "ExternalService/data/db", 23, &first), &first);
    /* The second put returns the earlier value and keeps it: that is how duplicates are found. */
    assert_ptr_equal(cw_strmap_put_new(&m, "ExternalService/data/db", 23, &second), &first);
    assert_ptr_equal(cw_strmap_get(&m, "ExternalService/data/db", 23), &first);
    assert_int_equal(m.count, 1);
    cw_strmap_deinit(&m);
}

static void set_replaces(void **state)
{
    (void)state;
    struct cw_strmap m;
    cw_strmap_init(&m);
    int a = 1, b = 2;
    cw_strmap_set(&m, "k", 1, &a);
    cw_strmap_set(&m, "k", 1, &b);
    assert_ptr_equal(cw_strmap_get(&m, "k", 1), &b);
    assert_int_equal(m.count, 1);
    cw_strmap_deinit(&m);
}

static void keys_are_byte_strings(void **state)
{
    (void)state;
    struct cw_strmap m;
    cw_strmap_init(&m);
    int a = 1, b = 2, c = 3;
    /* The length is part of the key: "ab" and its prefix "a" differ, NUL bytes count. */
    cw_strmap_set(&m, "ab", 2, &a);
    cw_strmap_set(&m, "ab", 1, &b);
    cw_strmap_set(&m, "a\0b", 3, &c);
    assert_ptr_equal(cw_strmap_get(&m, "ab", 2), &a);
    assert_ptr_equal(cw_strmap_get(&m, "a", 1), &b);
    assert_ptr_equal(cw_strmap_get(&m, "a\0b", 3), &c);
    assert_null(cw_strmap_get(&m, "A", 1)); /* case-sensitive */
    assert_null(cw_strmap_get(&m, "", 0));
    assert_int_equal(m.count, 3);
    cw_strmap_deinit(&m);
}

static void grows_past_thousands_of_keys(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct cw_arena arena;
    cw_arena_init(&arena);
    struct cw_strmap m;
    cw_strmap_init(&m);
    char **keys = CW_ARENA_ARRAY(&arena, char *, N);
    for (int i = 0; i < N; i++) {
        keys[i] = cw_arena_printf(&arena, "ExternalEndpoint/ns-%d/ep-%d", i % 97, i);
        assert_ptr_equal(cw_strmap_put_new(&m, keys[i], strlen(keys[i]), &keys[i]), &keys[i]);
    }
    assert_int_equal(m.count, N);
    /* The load factor stays below 0.7 so lookups stay short. */
    assert_true(m.count * 10 <= m.cap * 7);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(cw_strmap_get(&m, keys[i], strlen(keys[i])), &keys[i]);
    char missing[64];
    snprintf(missing, sizeof(missing), "ExternalEndpoint/ns-0/ep-%d", N);
    assert_null(cw_strmap_get(&m, missing, strlen(missing)));
    cw_strmap_deinit(&m);
    cw_arena_deinit(&arena);
}

static void hash_is_fnv1a(void **state)
{
    (void)state;
    /* Published FNV-1a 64-bit test vectors: callers hash composite keys the same way. */
    assert_true(cw_hash_bytes("", 0) == 0xcbf29ce484222325ull);
    assert_true(cw_hash_bytes("a", 1) == 0xaf63dc4c8601ec8cull);
    assert_true(cw_hash_bytes("foobar", 6) == 0x85944171f73967e8ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_map),
        cmocka_unit_test(put_new_first_wins),
        cmocka_unit_test(set_replaces),
        cmocka_unit_test(keys_are_byte_strings),
        cmocka_unit_test(grows_past_thousands_of_keys),
        cmocka_unit_test(hash_is_fnv1a),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
