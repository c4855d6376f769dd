/* Thread heaps: the per-thread front end of the tiny and mid tiers.
 *
 * A malloc of class c pops h->fast[c]; when that is empty it calls a noinline function that
 * pops the head of the active slab's freelist, and when that is empty the slow path, which
 * refills the fast cache from the thread's slabs (carving, draining remote frees, other
 * slabs) and the slabs from SuperSlabs. A free of a block whose slab h owns pushes onto
 * h->fast[c]; when that is full the block goes straight back to its slab's freelist. So a
 * burst of frees or of allocations larger than a fast cache moves each block once, between
 * the program and its slab, as it comes. Blocks of other threads' slabs go to that slab's
 * remote stack.
 *
 * The TLS lists hold blocks only with HAKMEM_TINY_TLS_LIST_SPILL=0 (the reference failure,
 * reproduced on purpose): a full fast cache then moves half of itself to the TLS list, which
 * never gives blocks back; refills take from it first. Otherwise a TLS list is only the way
 * a flush takes the fast cache back to the slabs.
 *
 * hk_tls_heap starts at hk_heap_empty, whose caches are empty and whose caps are 0, so the
 * very first malloc or free of a thread takes the slow path, which creates the heap: the
 * hot path never tests "initialised?". In diagnostic mode it stays there for good, so that
 * every call takes the checked slow path (hk_checked.h). */
#ifndef HK_HEAP_H
#define HK_HEAP_H

#include "hk_block.h"
#include "hk_dlist.h"
#include "hk_internal.h"
#include "hk_size_class.h"
#include "hk_stats.h"
#include "hk_superslab.h"
#include "hk_walk.h"

#include <sys/types.h>

/* Fast cache: a stack of block pointers in the heap's own memory, not a list through the
 * blocks, so that the hot pop follows nothing the program can write (a write after free
 * into a cached block cannot redirect malloc), and the next pop does not wait on the last
 * block's line. The hot path's counters sit beside it in the same cache line (the adds of
 * every malloc and free touch nothing else); hk_heap_add_stats() folds them into the class
 * counters.
 *
 * Invariants: slot[0, count) are blocks of the class, the most recent on top, each pushed
 * with the free mark; count <= cap; cap is 0 on the sentinel heaps, whose slot is NULL. A
 * slot whose block has lost its mark was written after its free (and maybe freed again): it
 * is never handed out; the slow path reports and drops it (hk_cache.c). */
struct hk_fast {
    struct hk_block **slot;
    uint32_t count;
    uint32_t cap;
    uint64_t hits;      /* -> fast_hits */
    uint64_t frees;     /* -> frees (those pushed by the hot path) */
    uint64_t bytes;     /* -> bytes_requested (of the hits) */
} __attribute__((aligned(64)));

/* The top block when it carries the mark; NULL when the cache is empty or the slow path
 * must look closer. */
static inline struct hk_block *hk_fast_pop(struct hk_fast *fc)
{
    uint32_t n = fc->count;
    if (HK_UNLIKELY(n == 0))
        return NULL;
    struct hk_block *b = fc->slot[n - 1];
    if (HK_UNLIKELY(!hk_block_is_free(b)))
        return NULL;
    fc->count = n - 1;
    return b;
}

/* Pushes b, marked free; the caller checked count < cap. */
static inline void hk_fast_push(struct hk_fast *fc, struct hk_block *b)
{
    HK_ASSERT(fc->count < fc->cap);
    hk_block_mark(b);
    fc->slot[fc->count++] = b;
}

/* A block popped from fc goes to the program: the hit is counted beside the cache. */
static inline void *hk_fast_hand_out(struct hk_fast *fc, struct hk_block *b, size_t size)
{
    if (hk_config_stats) {
        fc->hits++;
        fc->bytes += size;
    }
    return hk_block_hand_out(b);
}

/* Heap states: enum hk_heap_state (hk_walk.h, where the census reads them). */
struct hk_heap {
    struct hk_fast fast[HK_NUM_CLASSES];
    struct hk_list tls[HK_NUM_CLASSES];
    struct hk_dlist slabs[HK_NUM_CLASSES];   /* owned slabs; the first is the active one */
    struct hk_thread_stats stats;
    struct hk_dlink link;                     /* live list, or the free list */
    pid_t tid;
    uint32_t state;
    uint32_t serial;                          /* thread number, 1 = first thread seen */
    uint32_t ticks;                           /* trips below the fast caches (hk_cache.c) */
    struct hk_block *slots[];                 /* the fast caches' slots, class by class */
};

extern HK_TLS struct hk_heap *hk_tls_heap;
extern struct hk_heap hk_heap_empty;

/* Per-class cache sizes (filled at init). */
struct hk_class_info {
    uint32_t fast_cap;
    uint32_t fast_first;   /* the class's first slot in hk_heap.slots */
    uint32_t tls_cap;
    uint32_t batch;        /* blocks per refill from slabs */
    uint8_t slab_shift;
};
extern struct hk_class_info hk_class_info[HK_NUM_CLASSES];

void hk_heap_global_init(void);
/* Calls fn on each chunk [lo, hi) of the heaps' metadata arena. */
void hk_heap_foreach_meta(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);
/* The calling thread's own heap (also in diagnostic mode, where hk_tls_heap stays on the
 * sentinel); NULL until the thread's first slow path creates it. */
extern HK_TLS struct hk_heap *hk_tls_own;
struct hk_heap *hk_heap_create(void);

/* The calling thread's heap, creating it; NULL when the thread is past its exit destructor
 * (the caller then uses the dead heap under its lock). */
static inline struct hk_heap *hk_heap_get(void)
{
    struct hk_heap *h = hk_tls_own;
    return HK_LIKELY(h != NULL) ? h : hk_heap_create();
}
/* The shared heap of threads past their exit destructor is used under this lock. */
void hk_heap_dead_lock(void);
void hk_heap_dead_unlock(void);
extern struct hk_heap hk_heap_dead;

/* Slow paths (hk_cache.c). */
/* malloc's fast cache was empty: the head of the active slab's freelist, or hk_alloc_slow. */
void *hk_heap_alloc_miss(size_t size, unsigned cls);
/* The same for the checked paths (the calling thread's heap, its block in use in the side
 * table): NULL when the active slab has no block at hand, and hk_heap_alloc_block must run.
 * *serial: the allocating thread's number. */
void *hk_heap_alloc_active(size_t size, unsigned cls, uint16_t *serial);
/* free of a checked block of h's own slab s (h live) into a full fast cache. */
void hk_heap_free_full(struct hk_heap *h, struct hk_slab *s, void *p);
void *hk_heap_alloc_slow(struct hk_heap *h, unsigned cls);
/* A block of class cls from the calling thread's heap, or the dead heap; NULL with errno
 * ENOMEM after an OOM event. *serial: the allocating thread's number (0: the dead heap). */
void *hk_heap_alloc_block(size_t size, unsigned cls, uint16_t *serial);
void hk_heap_free_slow(struct hk_heap *h, struct hk_slab *s, void *p);
/* hk_heap_free_slow into the calling thread's heap, or the dead heap under its lock. */
void hk_heap_free_block(struct hk_slab *s, void *p);
/* Moves every block of h's caches back to slab freelists and drains remote stacks. */
void hk_heap_flush(struct hk_heap *h, bool release_empty);
/* Thread exit, after the flush: slabs still holding blocks become orphans. */
void hk_heap_orphan_slabs(struct hk_heap *h);
/* Thread exit with HAKMEM_TINY_TLS_LIST_SPILL=0: fast caches into the TLS lists, kept. */
void hk_heap_park(struct hk_heap *h);
/* Thread exit: flush, orphan owned slabs, retire counters. */
void hk_heap_retire(struct hk_heap *h);

/* Adds h's counters (class counters and the fast caches' own) into out. */
void hk_heap_add_stats(struct hk_thread_stats *out, const struct hk_heap *h);
/* Sum of counters of all heaps (live, dead, parked) and retired threads. lock=false in a
 * signal handler: read without the locks (racy but never deadlocks). */
void hk_heaps_sum(struct hk_thread_stats *out, bool lock);

/* The fork child, after the locks are re-initialised: the other threads' heaps are lost. */
void hk_heap_fork_child(void);

#endif
