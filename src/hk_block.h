/* A free block, and the lists of free blocks.
 *
 * While a slab block is free (in a fast cache, a TLS list, a slab freelist or a remote
 * stack) its first 16 bytes are a struct hk_block: the link to the next free block and the
 * free mark. Nothing else in hakmem reads or writes a block's words; these accessors are the
 * only code that does.
 *
 * Invariants:
 * - every block on any free list carries the mark (hk_free_key), from the moment it is
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
 *   address without knowing the per-process key; a decoded link is checked before it is
 *   followed (hk_list_pop: same chunk and 16-byte aligned on the hot path; the slow path
 *   also asks the registry and the slab, hk_cache.c). */
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

/* Links b to next and marks it free: every list push goes through here. */
static inline void hk_block_push_onto(struct hk_block *b, struct hk_block *next)
{
    b->link = (uintptr_t)next ^ hk_block_code(b);
    b->mark = hk_free_key;
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

/* A decoded link that may be followed without asking the registry: NULL, or a 16-byte
 * aligned address in the same 2 MiB chunk as the block that holds it (mapped, since the
 * block's SuperSlab is). */
static inline bool hk_link_near(const struct hk_block *b, const struct hk_block *next)
{
    uintptr_t n = (uintptr_t)next;
    return n == 0 || (((n ^ (uintptr_t)b) < HK_CHUNK_SIZE) & ((n & 15) == 0));
}

/* A stack of free blocks with a count and a cap: the fast caches and TLS lists. */
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

/* The cheap checks of a pop, folded into one test: the mark matches, the count is not zero,
 * and the link is NULL or 16-byte aligned in the head's own 2 MiB chunk or in `near`, a chunk
 * the caller vouches for (mapped for as long as the list can hold its blocks). */
#define HK_LINK_FAR_MASK (~(uintptr_t)(HK_CHUNK_SIZE - 1) | 15)
static inline uintptr_t hk_umin(uintptr_t a, uintptr_t b)
{
    return a < b ? a : b;
}

static inline bool hk_list_head_ok(const struct hk_list *l, const struct hk_block *b,
                                   const struct hk_block *next, uintptr_t near)
{
    uintptr_t n = (uintptr_t)next;
    uintptr_t away = hk_umin(hk_umin(n, (n ^ (uintptr_t)b) & HK_LINK_FAR_MASK),
                             (n ^ near) & HK_LINK_FAR_MASK);
    return ((b->mark ^ hk_free_key) | away | (l->count == 0)) == 0;
}

/* Pops the head when it passes hk_list_head_ok; NULL when the list is empty or a slower path
 * must look closer (hk_alloc_slow for a link into another chunk, then hk_list_pop_checked). */
static inline struct hk_block *hk_list_pop(struct hk_list *l, uintptr_t near)
{
    struct hk_block *b = l->head;
    if (HK_UNLIKELY(b == NULL))
        return NULL;
    struct hk_block *next = hk_block_next(b);
    if (HK_UNLIKELY(!hk_list_head_ok(l, b, next, near)))
        return NULL;
    l->head = next;
    l->count--;
    return b;
}

#endif
