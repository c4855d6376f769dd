/* The hot paths, inlined into both the hakmem_* entry points and the standard names.
 *
 * malloc: pop the fast cache of the size class (hk_fast_pop: the top block carries the
 *         free mark), or call the noinline miss path (the active slab's freelist, then the
 *         slow path).
 * free:   the registry says whether p is in a SuperSlab; if its slab belongs to this thread
 *         and p starts a carved block without the free mark, push onto the fast cache, or,
 *         when it is full, call the noinline function that puts p back on its slab;
 *         anything else goes to the noinline slow path, which checks the pointer fully and
 *         reports misuse.
 * Counters are plain per-thread adds (compiled out with -Ddiag=none). */
#ifndef HK_ALLOC_H
#define HK_ALLOC_H

#include "hk_block.h"
#include "hk_heap.h"
#include "hk_registry.h"
#include "hk_superslab.h"

static inline void *hk_malloc_inline(size_t size)
{
    if (HK_LIKELY(size <= HK_MID_MAX)) {
        unsigned cls = hk_size_class(size);
        struct hk_fast *fc = &hk_tls_heap->fast[cls];
        struct hk_block *b = hk_fast_pop(fc);
        if (HK_LIKELY(b != NULL))
            return hk_fast_hand_out(fc, b, size);
        return hk_heap_alloc_miss(size, cls);
    }
    return hk_alloc_large_slow(size);
}

/* The slab of p when p is a block in use of a slab of h, the calling thread's heap; NULL
 * when it is not (the slow path must look at it). */
static inline struct hk_slab *hk_own_block(void *p, struct hk_heap *h)
{
    if (HK_LIKELY(hk_registry_kind(p) == HK_CHUNK_SUPERSLAB)) {
        struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
        if (HK_LIKELY(atomic_load_explicit(&s->owner, HK_RELAXED) == h &&
                      hk_slab_is_block_start(s, p) && !hk_block_is_free(p)))
            return s;
    }
    return NULL;
}

/* The free of such a block: onto the fast cache, or back to its slab when that is full. */
static inline void hk_free_own(struct hk_heap *h, struct hk_slab *s, void *p)
{
    struct hk_fast *fc = &h->fast[s->class_idx];
    if (HK_LIKELY(fc->count < fc->cap)) {
        hk_fast_push(fc, p);
        if (hk_config_stats)
            fc->frees++;
        return;
    }
    hk_heap_free_full(h, s, p);
}

static inline void hk_free_inline(void *p)
{
    struct hk_heap *h = hk_tls_heap;
    struct hk_slab *s = hk_own_block(p, h);
    if (HK_LIKELY(s != NULL)) {
        hk_free_own(h, s, p);
        return;
    }
    hk_free_slow(p);
}

#endif
