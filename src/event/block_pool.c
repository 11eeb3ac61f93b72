#include "event/block_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

/* How long a peak of blocks in use is remembered (block_pool.h). */
#define PEAK_WINDOW_MS 1000

void *cw_block_get(struct cw_block_pool *p)
{
    p->in_use++;
    if (p->in_use > p->peak)
        p->peak = p->in_use;
    if (p->free) {
        void *b = p->free;
        p->free = *(void **)b;
        p->n_free--;
        return b;
    }
    void *b = mmap(NULL, CW_BLOCK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) {
        perror("causeway: out of memory for a connection's buffer");
        abort();
    }
    return b;
}

void cw_block_put(struct cw_block_pool *p, void *block)
{
    if (!block)
        return;
    p->in_use--;
    /* The peak of the current window and of the last one: what the work in hand needed lately.
     * A coarse clock (a vDSO read, no system call) is enough for a one-second window. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now >= p->window_end) {
        p->peak_before = p->peak;
        p->peak = p->in_use;
        p->window_end = now + PEAK_WINDOW_MS;
    }
    uint32_t keep = p->peak > p->peak_before ? p->peak : p->peak_before;
    if (keep < CW_BLOCK_POOL_KEEP)
        keep = CW_BLOCK_POOL_KEEP;
    if (p->n_free + p->in_use + 1 > keep) {
        munmap(block, CW_BLOCK_SIZE);
        return;
    }
    *(void **)block = p->free;
    p->free = block;
    p->n_free++;
}

void cw_block_pool_free(struct cw_block_pool *p)
{
    while (p->free) {
        void *b = p->free;
        p->free = *(void **)b;
        munmap(b, CW_BLOCK_SIZE);
    }
    p->n_free = 0;
}
