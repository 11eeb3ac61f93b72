/*
 * The bump allocator (util/arena.h) that owns a loaded configuration: every allocation is
 * zeroed, aligned for any type and survives until the arena is released.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "support.h"
#include "util/arena.h"

static void allocations_are_aligned_and_zeroed(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    for (size_t size = 0; size < 300; size++) {
        unsigned char *p = cw_arena_alloc(&a, size);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
        for (size_t i = 0; i < size; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xab, size); /* must not disturb any other allocation */
    }
    cw_arena_deinit(&a);
}

static void allocations_do_not_overlap(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    enum { N = 20000 };
    uint32_t **ptrs = cw_arena_alloc(&a, sizeof(*ptrs) * N);
    for (uint32_t i = 0; i < N; i++) {
        ptrs[i] = cw_arena_alloc(&a, sizeof(uint32_t) * (1 + i % 7));
        for (uint32_t j = 0; j < 1 + i % 7; j++)
            ptrs[i][j] = i;
    }
    /* Crossing many blocks keeps every earlier allocation intact. */
    for (uint32_t i = 0; i < N; i++)
        for (uint32_t j = 0; j < 1 + i % 7; j++)
            assert_int_equal(ptrs[i][j], i);
    assert_true(a.used_total >= (size_t)N * sizeof(uint32_t));
    cw_arena_deinit(&a);
    assert_int_equal(a.used_total, 0);
    assert_null(a.head);
}

static void large_allocations(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    char *small = cw_arena_strdup(&a, "before");
    /* Larger than any block: still served, zeroed, and the next allocation still works. */
    size_t big = 20u * 1024u * 1024u;
    unsigned char *p = cw_arena_alloc(&a, big);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[big - 1], 0);
    p[big - 1] = 1;
    char *after = cw_arena_strdup(&a, "after");
    assert_string_equal(small, "before");
    assert_string_equal(after, "after");
    cw_arena_deinit(&a);
}

static void string_copies(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    const char *src = "database.external:5432";
    char *host = cw_arena_strndup(&a, src, 17);
    assert_string_equal(host, "database.external");
    char *copy = cw_arena_strdup(&a, src);
    assert_string_equal(copy, src);
    assert_ptr_not_equal(copy, src);
    assert_null(cw_arena_strdup(&a, NULL));
    assert_string_equal(cw_arena_strndup(&a, "", 0), "");
    cw_arena_deinit(&a);
}

static void printf_into_arena(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    assert_string_equal(cw_arena_printf(&a, "%s %s/%s", "ExternalService", "data", "db"),
                        "ExternalService data/db");
    assert_string_equal(cw_arena_printf(&a, "%s", ""), "");
    /* Longer than the first block: the length is measured, not guessed. */
    char *long_text = cw_arena_printf(&a, "%0100000d", 7);
    assert_int_equal(strlen(long_text), 100000);
    assert_int_equal(long_text[99999], '7');
    assert_int_equal(long_text[0], '0');
    cw_arena_deinit(&a);
}

static void typed_helpers(void **state)
{
    (void)state;
    struct cw_arena a;
    cw_arena_init(&a);
    struct pair {
        double d;
        long long l;
    } *p = CW_ARENA_NEW(&a, struct pair);
    assert_true(p->d == 0.0 && p->l == 0);
    int *v = CW_ARENA_ARRAY(&a, int, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], 0);
    cw_arena_deinit(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_zeroed),
        cmocka_unit_test(allocations_do_not_overlap),
        cmocka_unit_test(large_allocations),
        cmocka_unit_test(string_copies),
        cmocka_unit_test(printf_into_arena),
        cmocka_unit_test(typed_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
