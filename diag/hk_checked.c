/* The checked paths of diagnostic mode (see hk_checked.h). */
#include "hk_checked.h"
#include "hk_heap.h"
#include "hk_large.h"
#include "hk_leak.h"
#include "hk_options.h"
#include "hk_registry.h"
#include "hk_shadow.h"

/* Shadow mode: a link read from a fast cache must be a block parked there, or NULL (a write
 * after free can replace it with anything); checked in the registry before the side table. */
static inline bool hk_fast_link_ok(const void *p, const void *q)
{
    if (!q)
        return true;
    if ((uintptr_t)q & 15)
        return false;
    /* Inside p's own SuperSlab (the usual case), the registry need not be asked. */
    if ((((uintptr_t)q ^ (uintptr_t)p) >> HK_CHUNK_SHIFT) != 0 &&
        hk_registry_kind(q) != HK_CHUNK_SUPERSLAB)
        return false;
    struct hk_shadow *e = hk_shadow_of(q);
    return e && e->state == HK_BLOCK_FAST_CACHE;
}

/* The head of the calling thread's fast cache of class cls, popped, with its side-table
 * entry; NULL when the ordinary slow path must run instead (no heap yet, empty cache, a
 * suspicious link, which that path reports). */
static inline void *hk_fast_pop(unsigned cls, size_t size, uint16_t *serial,
                                struct hk_shadow **entry)
{
    struct hk_heap *h = hk_tls_own;
    if (HK_UNLIKELY(!h))
        return NULL;
    struct hk_fast *fc = &h->fast[cls];
    void *p = fc->head;
    if (!p)
        return NULL;
    void *next = *(void **)p;
    if (hk_shadow_on && HK_UNLIKELY(!hk_fast_link_ok(p, next)))
        return NULL;
    struct hk_shadow *e = hk_shadow_of(p);
    if (HK_UNLIKELY(!e))
        return NULL;
    fc->head = next;
    fc->count--;
    /* The next block's first lines are read by the next hand-out (link, poison check):
     * start loading them now, while the program works. */
    if (next) {
        __builtin_prefetch(next);
        __builtin_prefetch((char *)next + 64);
    }
    if (hk_config_stats) {
        fc->hits++;
        fc->bytes += size;
    }
    ((void **)p)[1] = NULL;               /* clear the freed mark */
    *serial = (uint16_t)h->serial;
    *entry = e;
    return p;
}

void *hk_checked_alloc(size_t size, int fixed_cls)
{
    uint32_t stack = hk_opt.leak_check ? hk_stack_capture(1) : 0;
    size_t need = hk_shadow_on ? size + HK_CANARY : size;
    if (fixed_cls < 0 && need > HK_MID_MAX)
        return hk_large_alloc_diag(size, 16, false, stack);
    unsigned cls = fixed_cls >= 0 ? (unsigned)fixed_cls : hk_size_class(need);
    uint32_t block_size = hk_class_size[cls];
    for (;;) {
        uint16_t serial;
        struct hk_shadow *e;
        void *p = hk_fast_pop(cls, size, &serial, &e);
        if (!p) {
            p = hk_alloc_block(size, cls, &serial);
            if (!p)
                return NULL;
            e = hk_shadow_of(p);
            if (!e)
                return p;                 /* a SuperSlab without side table: unchecked */
        }
        if (hk_shadow_hand_out(e, p, size, block_size, serial, stack))
            return p;
        /* The block was written after its free: quarantined; take another. */
    }
}

void hk_checked_free(struct hk_slab *s, void *p)
{
    unsigned cls = s->class_idx;
    struct hk_shadow *e = hk_shadow_of(p);
    if (e && !hk_shadow_take_back(e, p, (int)cls, s->block_size))
        return;
    /* Shadow mode with leak tracking: where it was freed, for a later misuse report. */
    if (e && hk_shadow_on && hk_opt.leak_check)
        e->free_stack = hk_stack_capture(1);
    ((uint64_t *)p)[1] = hk_free_key;
    struct hk_heap *h = hk_tls_own;
    if (HK_LIKELY(h != NULL) && atomic_load_explicit(&s->owner, HK_RELAXED) == h) {
        struct hk_fast *fc = &h->fast[cls];
        if (HK_LIKELY(fc->count < fc->cap)) {
            if (hk_shadow_on && e)
                e->state = HK_BLOCK_FAST_CACHE;     /* was IN_USE (hk_shadow_take_back) */
            *(void **)p = fc->head;
            fc->head = p;
            fc->count++;
            if (hk_config_stats)
                fc->frees++;
            return;
        }
    }
    hk_heap_free_block(s, p);
}
