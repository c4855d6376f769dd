/* A free block, and the lists of free blocks.
 *
 * While a slab block is free (in a fast cache, a TLS list, a slab freelist or a remote
 * stack) its first 16 bytes are a struct hk_block: the link to the next free block (unused
 * in a fast cache, which holds its blocks by pointer, hk_heap.h) and the free mark. Nothing
 * else in hakmem reads or writes a block's words; these accessors are the only code that
 * does.
 *
 * Invariants:
 * - every block on any free list or in a fast cache carries the mark (hk_free_key), from the moment it is
 *   carved or freed until it is handed out; hand-out clears it. A free of a block that
 *   carries the mark is a double free (or a free of a block never handed out), and a pop
 *   that finds a block without it means the list was corrupted: it is reported, never
 *   followed. So no block is handed out twice without a free between, even when the
 *   program's own write after free (over the mark, then a second free) made a list loop
 *   or two lists share blocks: the second hand-out finds the mark gone.
 * - a list never yields more blocks than its count, and every walk is bounded by a count,
 *   so a loop cannot make a walk endless.
 * - links are stored encoded ("safe-linking"): link = next ^ (block address >> 12) ^
 *   hk_link_key. A write after free or an overflow into a free neighbour cannot plant an
 *   address without knowing the per-process key, and a decoded link is checked (registry,
 *   slab, block start, mark: hk_cache.c) before it is followed. The hot path follows no
 *   link at all: the fast caches are arrays of pointers in the heap (hk_heap.h). */
#ifndef HK_BLOCK_H
#define HK_BLOCK_H

#include "hk_internal.h"
#include "hk_registry.h"

struct hk_block {
    uintptr_t link;     /* next free block, encoded */
    uint64_t mark;      /* hk_free_key while free; 0 once handed out */
};

/* Random per process, set at initialisation before any block exists (hk_init.c). Every
 * malloc and free reads them: they have a cache line of their own, so that no write to a
 * neighbour (a lock, a counter) makes the line bounce between threads. */
struct hk_keys {
    uint64_t free_key;      /* the free mark */
    uintptr_t link_key;     /* the link encoding */
} __attribute__((aligned(64)));
extern struct hk_keys hk_keys;
#define hk_free_key (hk_keys.free_key)
#define hk_link_key (hk_keys.link_key)

static inline uintptr_t hk_block_code(const struct hk_block *b)
{
    return ((uintptr_t)b >> 12) ^ hk_link_key;
}

static inline struct hk_block *hk_block_next(const struct hk_block *b)
{
    return (struct hk_block *)(b->link ^ hk_block_code(b));
}

/* Marks b free without linking it (a fast cache holds its blocks by pointer). */
static inline void hk_block_mark(struct hk_block *b)
{
    b->mark = hk_free_key;
}

/* Links b to next and marks it free: every list push goes through here. */
static inline void hk_block_push_onto(struct hk_block *b, struct hk_block *next)
{
    b->link = (uintptr_t)next ^ hk_block_code(b);
    hk_block_mark(b);
}

static inline bool hk_block_is_free(const struct hk_block *b)
{
    return b->mark == hk_free_key;
}

/* The block is taken off a free list without being linked anywhere yet (a drain counting
 * what it takes): a second visit of it finds no mark. */
static inline void hk_block_unmark(struct hk_block *b)
{
    b->mark = 0;
}

/* The block leaves the free lists for the program. */
static inline void *hk_block_hand_out(struct hk_block *b)
{
    b->mark = 0;
    return b;
}

/* A stack of free blocks linked through the blocks, with a count and a cap: the TLS lists.
 * Pops are the slow path's (hk_cache.c), which checks every link before following it. */
struct hk_list {
    struct hk_block *head;
    uint32_t count;
    uint32_t cap;
};

static inline void hk_list_push(struct hk_list *l, void *p)
{
    struct hk_block *b = p;
    hk_block_push_onto(b, l->head);
    l->head = b;
    l->count++;
}

#endif
