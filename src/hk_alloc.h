/* The hot paths, inlined into both the hakmem_* entry points and the standard names.
 *
 * malloc: pop the fast cache of the size class, or call the noinline slow path.
 * free:   the registry says whether p is in a SuperSlab; if its slab belongs to this thread
 *         and the fast cache has room, push; anything else goes to the noinline slow path,
 *         which checks the pointer fully and reports misuse.
 * Counters are plain per-thread adds (compiled out with -Ddiag=none). */
#ifndef HK_ALLOC_H
#define HK_ALLOC_H

#include "hk_heap.h"
#include "hk_registry.h"
#include "hk_superslab.h"

void *hk_alloc_large_slow(size_t size);

static inline void *hk_malloc_inline(size_t size)
{
    if (HK_LIKELY(size <= HK_MID_MAX)) {
        unsigned cls = hk_size_class(size);
        struct hk_heap *h = hk_tls_heap;
        struct hk_fast *fc = &h->fast[cls];
        void *p = fc->head;
        if (HK_LIKELY(p != NULL)) {
            fc->head = *(void **)p;
            fc->count--;
            ((void **)p)[1] = NULL;          /* clear the freed mark */
            if (hk_config_stats) {
                fc->hits++;
                fc->bytes += size;
            }
            return p;
        }
        return hk_alloc_slow(size, cls);
    }
    return hk_alloc_large_slow(size);
}

static inline void hk_free_inline(void *p)
{
    if (HK_LIKELY(hk_registry_kind(p) == HK_CHUNK_SUPERSLAB)) {
        struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
        struct hk_heap *h = hk_tls_heap;
        if (HK_LIKELY(atomic_load_explicit(&s->owner, HK_RELAXED) == h)) {
            unsigned cls = s->class_idx;
            struct hk_fast *fc = &h->fast[cls];
            if (HK_LIKELY(fc->count < fc->cap && hk_slab_is_block_start(s, p) &&
                          ((uint64_t *)p)[1] != hk_free_key)) {
                ((uint64_t *)p)[1] = hk_free_key;
                *(void **)p = fc->head;
                fc->head = p;
                fc->count++;
                if (hk_config_stats)
                    fc->frees++;
                return;
            }
        }
    }
    hk_free_slow(p);
}

#endif
