/* The noinline slow paths that the hot paths (hk_alloc.h) call: the first call of a thread
 * or of the process, diagnostic mode, the large tier, and the full check of a pointer given
 * back. */
#include "hk_alloc.h"
#include "hk_checked.h"
#include "hk_init.h"
#include "hk_large.h"
#include "hk_side.h"
#include "hk_slow.h"

/* Everything below the fast cache: initialisation, diagnostic mode, refills, and a top
 * block the hot pop would not take (hk_heap_alloc_slow reports it). */
HK_NOINLINE void *hk_alloc_slow(size_t size, unsigned cls)
{
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_checked_alloc(size, 16);
    uint16_t serial;
    return hk_heap_alloc_block(size, cls, &serial);
}

HK_NOINLINE void *hk_alloc_large_slow(size_t size)
{
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_checked_alloc(size, 16);
    return hk_large_alloc(size, 16);
}

/* A block given back that is not in use. Shadow mode knows its state (the checked free
 * reports it in detail); otherwise the free mark says it is on a free list. */
static bool hk_slow_block_free(void *p)
{
    if (hk_shadow_on) {
        struct hk_side *e = hk_side_of(p);
        return e && e->state != HK_BLOCK_IN_USE;
    }
    return hk_block_is_free(p);
}

/* The block that p was handed out as, in slab s; NULL when p is none. */
static void *hk_slow_block_of(struct hk_slab *s, void *p)
{
    if (hk_shadow_on)
        return hk_checked_block(s, p);
    return hk_slab_is_block_start(s, p) ? p : NULL;
}

struct hk_slab *hk_slow_block_checked(void *p, bool giving_back, void **block)
{
    struct hk_superslab *ss = hk_ss_of(p);
    if (HK_UNLIKELY(ss->magic != HK_SS_MAGIC)) {
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, NULL, NULL);
        return NULL;
    }
    struct hk_slab *s = hk_slab_of(ss, p);
    if (hk_slab_state(s) == HK_SLAB_UNUSED) {
        hk_misuse_report(HK_MISUSE_UNALLOCATED_FREE, p, -1, "unassigned-slab", NULL);
        return NULL;
    }
    int cls = s->class_idx;
    void *b = hk_slow_block_of(s, p);
    if (!b) {
        bool carved = (uintptr_t)p - (uintptr_t)hk_slab_block0(s) <
                      (uintptr_t)s->capacity * s->block_size;
        hk_misuse_report(carved ? HK_MISUSE_INTERIOR_FREE : HK_MISUSE_UNALLOCATED_FREE, p, cls,
                         carved ? NULL : "uncarved", NULL);
        return NULL;
    }
    if (giving_back && hk_slow_block_free(b)) {
        if (hk_shadow_on)
            hk_checked_free(s, b);      /* reports the state the side table has */
        else {
            struct hk_misuse_block info = hk_diag_on ? hk_side_info_at(b)
                                                     : (struct hk_misuse_block){0, 0, 0};
            hk_misuse_report(HK_MISUSE_DOUBLE_FREE, p, cls, "freed", &info);
        }
        return NULL;
    }
    *block = b;
    return s;
}

HK_NOINLINE void hk_free_slow(void *p)
{
    if (!p)
        return;
    /* Leak tracking alone keeps only the state of a free (hk_checked_free): the free of a
     * block of the thread's own slabs is the hot path's, into the heap that diagnostic mode
     * keeps apart from hk_tls_heap. */
    struct hk_slab *own;
    if (HK_UNLIKELY(hk_diag_on) && !hk_shadow_on && hk_tls_own &&
        (own = hk_own_block(p, hk_tls_own))) {
        hk_checked_leak_free(p);
        hk_free_own(hk_tls_own, own, p);
        return;
    }
    hk_ensure_init();
    unsigned kind = hk_registry_kind(p);
    if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT) {
        hk_large_free(p, kind);
        return;
    }
    if (kind != HK_CHUNK_SUPERSLAB) {
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, NULL, NULL);
        return;
    }
    void *b;
    struct hk_slab *s = hk_slow_block_checked(p, true, &b);
    if (!s)
        return;
    if (HK_UNLIKELY(hk_diag_on)) {
        hk_checked_free(s, b);
        return;
    }
    hk_heap_free_block(s, b);
}
