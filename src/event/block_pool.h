/*
 * A worker's pool of work blocks: the memory a connection holds only while bytes are in flight
 * (its read buffer, and for HTTP the parser and head index of the message in hand). Idle
 * connections hold none, as HAProxy's connections hold no buffer between requests.
 *
 * Blocks are CW_BLOCK_SIZE bytes, page-aligned, mapped with mmap: a block given back beyond
 * what the pool keeps is unmapped at once, so the process's memory follows the work in hand.
 * The pool keeps CW_BLOCK_POOL_KEEP blocks, or as many as were in use at once over the last one
 * to two seconds if that is more. A fixed cap alone churned under load: the count in use swings
 * between none and a hundred within a batch of events when 50 busy connections wait on their
 * upstreams, and about one request in two paid an munmap, an mmap and ten page faults (c50 CPU
 * per request doubled). After a burst its peak stays mapped until the pool is next used a
 * window later. One thread: the worker's.
 */
#ifndef CW_EVENT_BLOCK_POOL_H
#define CW_EVENT_BLOCK_POOL_H

#include <stddef.h>
#include <stdint.h>

/* 40 KiB: 32 KiB of message bytes (the largest head accepted) and room for the structures
 * that index them. */
#define CW_BLOCK_SIZE (40 * 1024)

/* Blocks kept for reuse at least; more while recent work needed more. */
#define CW_BLOCK_POOL_KEEP 64

struct cw_block_pool {
    void *free;     /* singly linked through the blocks' first word */
    uint32_t n_free;
    uint32_t in_use; /* blocks handed out and not given back */
    uint32_t peak, peak_before; /* most in use at once, this window and the one before */
    uint64_t window_end;        /* CLOCK_MONOTONIC_COARSE milliseconds */
};

/* A block of CW_BLOCK_SIZE bytes; aborts when the system has no memory left. Its contents are
 * undefined. */
void *cw_block_get(struct cw_block_pool *p);

/* Gives <block> back (NULL: nothing to do). */
void cw_block_put(struct cw_block_pool *p, void *block);

/* Returns every kept block to the system; blocks in use must have been given back. */
void cw_block_pool_free(struct cw_block_pool *p);

#endif
