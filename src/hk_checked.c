/* The checked paths of diagnostic mode (hk_checked.h). */
#include "hk_checked.h"
#include "hk_heap.h"
#include "hk_large.h"
#include "hk_options.h"

uint32_t hk_shadow_poison = HK_POISON_LIMIT;

/* ---- reports (cold) ---- */

static HK_COLD void hk_checked_use_after_free(void *p, struct hk_side *e)
{
    struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
    struct hk_misuse_block b = hk_side_info(e);
    hk_misuse_report(HK_MISUSE_USE_AFTER_FREE, p, s->class_idx, hk_walk_state_name(e->state),
                     &b);
    e->state = HK_BLOCK_QUARANTINED;
}

/* A free of p, the program's pointer to a block (entry e), that must not proceed, by the
 * state the side table has for the block. */
static HK_COLD bool hk_checked_bad_free(void *p, struct hk_side *e, int cls)
{
    struct hk_misuse_block b = hk_side_info(e);
    switch (e->state) {
    case HK_BLOCK_IN_USE:          /* the front guard or the canary was overwritten */
        b.free_stack = 0;
        hk_misuse_report(hk_guard_intact(p) ? HK_MISUSE_OVERFLOW : HK_MISUSE_UNDERFLOW, p, cls,
                         "in-use", &b);
        e->state = HK_BLOCK_QUARANTINED;
        break;
    case HK_BLOCK_FAST_CACHE:
    case HK_BLOCK_TLS_LIST:
    case HK_BLOCK_SLAB_FREE:
    case HK_BLOCK_REMOTE:
    case HK_BLOCK_QUARANTINED:
        hk_misuse_report(HK_MISUSE_DOUBLE_FREE, p, cls, hk_walk_state_name(e->state), &b);
        break;
    default:                       /* never handed out: nothing to say of it */
        hk_misuse_report(HK_MISUSE_UNALLOCATED_FREE, p, cls, hk_walk_state_name(e->state),
                         NULL);
        break;
    }
    return false;
}

/* ---- hand-out and take-back ---- */

/* The poison of block b (entry e) is intact, or was never written. The program's pointer of
 * its last hand-out is reported when it is not. */
static inline bool hk_checked_poison_ok(struct hk_side *e, char *b, uint32_t block_size)
{
    if (!hk_shadow_on || !(e->flags & HK_SIDE_POISONED))
        return true;
    size_t front = hk_side_front(e);
    if (HK_LIKELY(hk_poison_intact(b + front,
                                   hk_poison_len(block_size - front, hk_shadow_poison))))
        return true;
    hk_checked_use_after_free(b + front, e);
    return false;
}

/* Hand-out of block b (already popped, entry e) for a request of `size` bytes at `front`
 * bytes in (hk_checked_class made room): checks the poison, records size, front, thread and
 * stack, writes the front guard and the canary. The program's pointer; NULL when the block
 * was written after its free (it is then quarantined and the caller takes another). */
static inline void *hk_checked_hand_out(struct hk_side *e, char *b, size_t size, size_t front,
                                        uint32_t block_size, uint16_t thread, uint32_t stack)
{
    if (!hk_checked_poison_ok(e, b, block_size))
        return NULL;
    e->state = HK_BLOCK_IN_USE;
    e->flags = hk_side_front_flags(front);
    e->thread = thread;
    e->size = (uint32_t)size;
    e->alloc_stack = stack;
    e->free_stack = 0;
    char *p = b + front;
    if (hk_shadow_on) {
        hk_guard_write(p);
        if (size < block_size - front)
            hk_canary_write(p, size, (uint32_t)(block_size - front));
    }
    return p;
}

/* Free of p, the program's pointer to a block (entry e) `avail` bytes before its end: checks
 * the state, the front guard and the canary, and poisons the block. False (after a report)
 * when the free must not proceed: double free, parked block, underflow, overflow. Shadow
 * mode only; the state stays IN_USE for the caller's transition. */
static inline bool hk_checked_take_back(struct hk_side *e, char *p, int cls, uint32_t avail)
{
    if (HK_UNLIKELY(e->state != HK_BLOCK_IN_USE) || HK_UNLIKELY(!hk_guard_intact(p)) ||
        (e->size < avail && HK_UNLIKELY(!hk_canary_intact(p, e->size, avail))))
        return hk_checked_bad_free(p, e, cls);
    size_t n = hk_poison_len(avail, hk_shadow_poison);
    if (n) {
        hk_poison_fill(p, n);
        e->flags |= HK_SIDE_POISONED;
    }
    e->free_stack = hk_hook_stack(1);
    return true;
}

/* ---- the fast cache, with the side table ---- */

/* The top block of the calling thread's fast cache of class cls, popped, with its entry;
 * NULL when the ordinary slow path must run instead (no heap yet, empty cache, a block
 * without its mark or, in shadow mode, not parked in a fast cache: that path reports it). */
static inline void *hk_checked_pop(unsigned cls, size_t size, uint16_t *serial,
                                   struct hk_side **entry)
{
    struct hk_heap *h = hk_tls_own;
    if (HK_UNLIKELY(!h))
        return NULL;
    struct hk_fast *fc = &h->fast[cls];
    if (!fc->count)
        return NULL;
    struct hk_side *e = hk_side_of(fc->slot[fc->count - 1]);
    if (HK_UNLIKELY(!e) || (hk_shadow_on && e->state != HK_BLOCK_FAST_CACHE))
        return NULL;
    struct hk_block *b = hk_fast_pop(fc);
    if (!b)
        return NULL;
    /* The next block's first lines are read by the next hand-out (poison check): start
     * loading them now, while the program works. */
    if (fc->count) {
        __builtin_prefetch(fc->slot[fc->count - 1]);
        __builtin_prefetch((char *)fc->slot[fc->count - 1] + 64);
    }
    *serial = (uint16_t)h->serial;
    *entry = e;
    return hk_fast_hand_out(fc, b, size);
}

/* The class of a request of `size` bytes aligned to `align`, `front` bytes into its block,
 * with the canary in shadow mode; -1 for the large tier (also when the sum overflows: the
 * large tier refuses the request). Blocks of a power-of-two class up to a page are aligned
 * to their size (slabs start page-aligned), so an aligned request takes the power of two
 * that holds it all, and its pointer, `front` = align bytes in, keeps the alignment. */
static int hk_checked_class(size_t size, size_t align, size_t front)
{
    size_t need;
    if (__builtin_add_overflow(size, front, &need) ||
        (hk_shadow_on && __builtin_add_overflow(need, (size_t)HK_CANARY, &need)))
        return -1;
    if (align <= 16)
        return need <= HK_MID_MAX ? (int)hk_size_class(need) : -1;
    if (need < align)
        need = align;
    if (align > 4096 || need > HK_MID_MAX)
        return -1;
    return (int)hk_size_class((size_t)1 << (64 - __builtin_clzll(need - 1)));
}

void *hk_checked_alloc(size_t size, size_t align)
{
    uint32_t stack = hk_hook_stack(1);
    size_t front = !hk_shadow_on ? 0 : align > HK_FRONT_GUARD ? align : HK_FRONT_GUARD;
    int c = hk_checked_class(size, align, front);
    if (c < 0)
        return hk_large_alloc_diag(size, align, false, stack);
    unsigned cls = (unsigned)c;
    uint32_t block_size = hk_class_size[cls];
    for (;;) {
        uint16_t serial;
        struct hk_side *e;
        void *b = hk_checked_pop(cls, size, &serial, &e);
        if (!b && (b = hk_heap_alloc_active(size, cls, &serial)))
            e = hk_side_of(b);
        if (!b) {
            b = hk_heap_alloc_block(size, cls, &serial);
            if (!b)
                return NULL;
            e = hk_side_of(b);
            if (!e)
                return b;                 /* a SuperSlab without side table: unchecked */
        }
        void *p = hk_checked_hand_out(e, b, size, front, block_size, serial, stack);
        if (p)
            return p;
        /* The block was written after its free: quarantined; take another. */
    }
}

void *hk_checked_block(struct hk_slab *s, void *p)
{
    char *b0 = hk_slab_block0(s);
    uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)b0);
    if (off >= atomic_load_explicit(&s->carved_end, HK_RELAXED))
        return NULL;
    char *b = b0 + (size_t)hk_slab_block_index(s, p) * s->block_size;
    struct hk_side *e = hk_side_of(b);
    if (!e)
        return b == p ? b : NULL;
    return (uintptr_t)p - (uintptr_t)b == hk_side_front(e) ? b : NULL;
}

void hk_checked_free(struct hk_slab *s, void *b)
{
    unsigned cls = s->class_idx;
    struct hk_side *e = NULL;
    if (!hk_shadow_on)
        hk_checked_leak_free(b);
    else if ((e = hk_side_of(b))) {
        size_t front = hk_side_front(e);
        HK_ASSERT(front < s->block_size);
        if (!hk_checked_take_back(e, (char *)b + front, (int)cls,
                                  (uint32_t)(s->block_size - front)))
            return;
    }
    struct hk_heap *h = hk_tls_own;
    if (HK_LIKELY(h != NULL) && atomic_load_explicit(&s->owner, HK_RELAXED) == h) {
        struct hk_fast *fc = &h->fast[cls];
        if (HK_LIKELY(fc->count < fc->cap)) {
            if (e)
                e->state = HK_BLOCK_FAST_CACHE;     /* was IN_USE (hk_checked_take_back) */
            hk_fast_push(fc, b);
            if (hk_config_stats)
                fc->frees++;
            return;
        }
    }
    hk_heap_free_block(s, b);
}
