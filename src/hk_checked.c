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

/* A free that must not proceed, by the state the side table has for the block. */
static HK_COLD bool hk_checked_bad_free(void *p, struct hk_side *e, int cls)
{
    struct hk_misuse_block b = hk_side_info(e);
    switch (e->state) {
    case HK_BLOCK_IN_USE:          /* the canary past the request was overwritten */
        b.free_stack = 0;
        hk_misuse_report(HK_MISUSE_OVERFLOW, p, cls, "in-use", &b);
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

/* Hand-out of block p (already popped, entry e) for a request of `size` bytes: checks the
 * poison, records size, thread and stack, writes the canary. False when the block was
 * written after its free (it is then quarantined and the caller takes another). */
static inline bool hk_checked_hand_out(struct hk_side *e, void *p, size_t size,
                                       uint32_t block_size, uint16_t thread, uint32_t stack)
{
    if (hk_shadow_on && (e->flags & HK_SIDE_POISONED) &&
        HK_UNLIKELY(!hk_poison_intact((char *)p + 16,
                                      hk_poison_len(block_size, hk_shadow_poison)))) {
        hk_checked_use_after_free(p, e);
        return false;
    }
    e->state = HK_BLOCK_IN_USE;
    e->flags = 0;
    e->thread = thread;
    e->size = (uint32_t)size;
    e->alloc_stack = stack;
    e->free_stack = 0;
    if (hk_shadow_on && size < block_size)
        hk_canary_write(p, size, block_size);
    return true;
}

/* Free of block p (entry e): checks its state and canary, and poisons it. False (after a
 * report) when the free must not proceed: double free, parked block, overflow. The state
 * stays IN_USE for the caller's transition; with leak tracking alone it becomes SLAB_FREE
 * ("not in use"). */
static inline bool hk_checked_take_back(struct hk_side *e, void *p, int cls,
                                        uint32_t block_size)
{
    if (!hk_shadow_on) {
        e->state = HK_BLOCK_SLAB_FREE;
        return true;
    }
    if (HK_UNLIKELY(e->state != HK_BLOCK_IN_USE) ||
        (e->size < block_size && HK_UNLIKELY(!hk_canary_intact(p, e->size, block_size))))
        return hk_checked_bad_free(p, e, cls);
    size_t n = hk_poison_len(block_size, hk_shadow_poison);
    if (n) {
        hk_poison_fill((char *)p + 16, n);
        e->flags |= HK_SIDE_POISONED;
    }
    e->free_stack = hk_hook_stack(1);
    return true;
}

/* ---- the fast cache, with the side table ---- */

/* Shadow mode: the head's next link (already known to lie in the head's chunk) must be a
 * block parked in a fast cache, or NULL (a write after free can replace it with anything). */
static inline bool hk_checked_link_ok(const struct hk_block *next)
{
    if (!next || !hk_shadow_on)
        return true;
    struct hk_side *e = hk_side_of(next);
    return e && e->state == HK_BLOCK_FAST_CACHE;
}

/* The head of the calling thread's fast cache of class cls, popped, with its entry; NULL
 * when the ordinary slow path must run instead (no heap yet, empty cache, a suspicious link,
 * which that path reports). */
static inline void *hk_checked_pop(unsigned cls, size_t size, uint16_t *serial,
                                   struct hk_side **entry)
{
    struct hk_heap *h = hk_tls_own;
    if (HK_UNLIKELY(!h))
        return NULL;
    struct hk_fast *fc = &h->fast[cls];
    struct hk_block *b = fc->list.head;
    if (!b || !hk_link_near(b, hk_block_next(b)) || !hk_checked_link_ok(hk_block_next(b)))
        return NULL;
    struct hk_side *e = hk_side_of(b);
    if (HK_UNLIKELY(!e) || !(b = hk_list_pop(&fc->list, fc->near)))
        return NULL;
    /* The next block's first lines are read by the next hand-out (link, poison check):
     * start loading them now, while the program works. */
    if (fc->list.head) {
        __builtin_prefetch(fc->list.head);
        __builtin_prefetch((char *)fc->list.head + 64);
    }
    *serial = (uint16_t)h->serial;
    *entry = e;
    return hk_fast_hand_out(fc, b, size);
}

void *hk_checked_alloc(size_t size, int fixed_cls)
{
    uint32_t stack = hk_hook_stack(1);
    size_t need = size;
    if (hk_shadow_on && __builtin_add_overflow(size, HK_CANARY, &need))
        need = SIZE_MAX;        /* the large tier refuses it */
    if (fixed_cls < 0 && need > HK_MID_MAX)
        return hk_large_alloc_diag(size, 16, false, stack);
    unsigned cls = fixed_cls >= 0 ? (unsigned)fixed_cls : hk_size_class(need);
    uint32_t block_size = hk_class_size[cls];
    for (;;) {
        uint16_t serial;
        struct hk_side *e;
        void *p = hk_checked_pop(cls, size, &serial, &e);
        if (!p) {
            p = hk_heap_alloc_block(size, cls, &serial);
            if (!p)
                return NULL;
            e = hk_side_of(p);
            if (!e)
                return p;                 /* a SuperSlab without side table: unchecked */
        }
        if (hk_checked_hand_out(e, p, size, block_size, serial, stack))
            return p;
        /* The block was written after its free: quarantined; take another. */
    }
}

void hk_checked_free(struct hk_slab *s, void *p)
{
    unsigned cls = s->class_idx;
    struct hk_side *e = hk_side_of(p);
    if (e && !hk_checked_take_back(e, p, (int)cls, s->block_size))
        return;
    struct hk_heap *h = hk_tls_own;
    if (HK_LIKELY(h != NULL) && atomic_load_explicit(&s->owner, HK_RELAXED) == h) {
        struct hk_fast *fc = &h->fast[cls];
        if (HK_LIKELY(fc->list.count < fc->list.cap)) {
            if (hk_shadow_on && e)
                e->state = HK_BLOCK_FAST_CACHE;     /* was IN_USE (hk_checked_take_back) */
            hk_list_push(&fc->list, p);
            if (hk_config_stats)
                fc->frees++;
            return;
        }
    }
    hk_heap_free_block(s, p);
}
