#include "event/block_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

void *cw_block_get(struct cw_block_pool *p)
{
    p->in_use++;
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
    if (p->n_free >= CW_BLOCK_POOL_KEEP) {
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
