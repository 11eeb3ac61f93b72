/*
 * The workers' block pool (event/block_pool.h): blocks given back under load are kept for the
 * next requests instead of being unmapped and mapped again (which cost a page fault per page
 * and doubled c50's CPU per request), and a pool whose recent peak was small keeps only
 * CW_BLOCK_POOL_KEEP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "event/block_pool.h"

#define N 150 /* more than CW_BLOCK_POOL_KEEP in use at once, as with 50 busy connections */

static void blocks_in_use_at_a_peak_are_kept_for_reuse(void **state)
{
    (void)state;
    struct cw_block_pool p = {0};
    void *b[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            b[i] = cw_block_get(&p);
        assert_int_equal(p.in_use, N);
        for (int i = 0; i < N; i++)
            cw_block_put(&p, b[i]);
        assert_int_equal(p.in_use, 0);
        /* Every block stays mapped: the next N requests take them without an mmap. */
        assert_int_equal(p.n_free, N);
    }
    cw_block_pool_free(&p);
    assert_int_equal(p.n_free, 0);
}

static void a_small_peak_keeps_the_fixed_count(void **state)
{
    (void)state;
    struct cw_block_pool p = {0};
    void *b[CW_BLOCK_POOL_KEEP + 8];
    /* One at a time: the peak is 1, so at most CW_BLOCK_POOL_KEEP are kept. */
    for (int i = 0; i < CW_BLOCK_POOL_KEEP + 8; i++)
        cw_block_put(&p, cw_block_get(&p));
    assert_int_equal(p.n_free, 1);
    for (int i = 0; i < CW_BLOCK_POOL_KEEP + 8; i++)
        b[i] = cw_block_get(&p);
    /* The peak is now KEEP + 8: all are kept within the window. */
    for (int i = 0; i < CW_BLOCK_POOL_KEEP + 8; i++)
        cw_block_put(&p, b[i]);
    assert_int_equal(p.n_free, CW_BLOCK_POOL_KEEP + 8);
    cw_block_put(&p, NULL); /* nothing */
    cw_block_pool_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_in_use_at_a_peak_are_kept_for_reuse),
        cmocka_unit_test(a_small_peak_keeps_the_fixed_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
