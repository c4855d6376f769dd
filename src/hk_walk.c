/* The read-only views diag/ has of the allocator (hk_walk.h). */
#include "hk_walk.h"
#include "hk_heap.h"
#include "hk_large.h"
#include "hk_registry.h"
#include "hk_side.h"

void hk_walk_counters(struct hk_thread_stats *out, bool lock) { hk_heaps_sum(out, lock); }

size_t hk_walk_large_limit(void) { return hk_large_max_request(); }

size_t hk_walk_large_live_bytes(void) { return hk_large_live_mapped(); }

struct hk_walk_ctx {
    hk_walk_block_fn fn;
    void *ctx;
};

/* Side-table entries are written by their blocks' threads without a lock: the walk reads
 * them racily, a snapshot (hk_walk.h). */
HK_RACY_READ static void hk_walk_slab(struct hk_slab *s, const struct hk_walk_ctx *w)
{
    struct hk_heap *owner = hk_slab_owner(s);
    struct hk_walk_block b = {0};
    b.cls = s->class_idx;
    b.owner = owner ? owner->serial : 0;
    char *p = hk_slab_block0(s);
    /* Blocks past the carved extent are uncarved (their entries were cleared when the slab
     * was formatted): reported so without reading entries never written, whose pages the
     * walk would otherwise fault in. */
    uint32_t carved_end = atomic_load_explicit(&s->carved_end, HK_RELAXED);
    for (uint32_t k = 0; k < s->capacity; k++, p += s->block_size) {
        if ((uint64_t)k * s->block_size >= carved_end) {
            struct hk_walk_block u = {.ptr = p, .usable = s->block_size, .cls = b.cls,
                                      .owner = b.owner, .state = HK_BLOCK_UNCARVED};
            w->fn(w->ctx, &u);
            continue;
        }
        const struct hk_side *e = hk_side_of(p);
        /* A block in use is where the program has it: past its front guard (shadow mode). */
        size_t front = e->state == HK_BLOCK_IN_USE ? hk_side_front_of_flags(e->flags) : 0;
        if (front >= s->block_size)
            front = 0;                    /* a racy read of an entry being written */
        b.ptr = p + front;
        b.usable = s->block_size - front;
        b.state = e->state;
        b.size = e->size;
        b.thread = e->thread;
        b.alloc_stack = e->alloc_stack;
        b.free_stack = e->free_stack;
        w->fn(w->ctx, &b);
    }
}

static void hk_walk_superslab(struct hk_superslab *ss, void *arg)
{
    if (!ss->side)
        return;
    for (unsigned i = 0; i < ss->nslabs; i++)
        if (hk_slab_state(&ss->slabs[i]) != HK_SLAB_UNUSED)
            hk_walk_slab(&ss->slabs[i], arg);
}

static void hk_walk_large_block(void *arg, void *p, size_t size, size_t usable, uint32_t stack)
{
    const struct hk_walk_ctx *w = arg;
    struct hk_walk_block b = {0};
    b.ptr = p;
    b.size = size;
    b.usable = usable;
    b.alloc_stack = stack;
    b.cls = -1;
    b.state = HK_BLOCK_IN_USE;
    w->fn(w->ctx, &b);
}

void hk_walk_blocks(hk_walk_block_fn fn, void *ctx, bool large, bool lock)
{
    struct hk_walk_ctx w = {fn, ctx};
    hk_superslab_foreach(hk_walk_superslab, &w, lock);
    if (large)
        hk_large_foreach_live(hk_walk_large_block, &w);
}

const char *const hk_walk_ss_kind_names[HK_WALK_SS_KINDS] = {"64KiB", "256KiB", "1MiB"};

static void hk_walk_ss_summarize(struct hk_superslab *ss, void *arg)
{
    struct hk_walk_ss_kind *t = arg;
    unsigned k = ss->slab_shift == HK_SLAB_SHIFT_TINY  ? 0
                 : ss->slab_shift == HK_SLAB_SHIFT_MID ? 1
                                                       : 2;
    t[k].superslabs++;
    t[k].slabs += ss->nslabs;
    for (unsigned i = 0; i < ss->nslabs; i++) {
        struct hk_slab *s = &ss->slabs[i];
        if (hk_slab_state(s) == HK_SLAB_UNUSED)
            continue;
        t[k].slabs_used++;
        t[k].blocks_used += s->used;
        t[k].capacity += s->capacity;
    }
}

void hk_walk_superslabs(struct hk_walk_ss_kind out[HK_WALK_SS_KINDS], bool lock)
{
    for (unsigned k = 0; k < HK_WALK_SS_KINDS; k++)
        out[k] = (struct hk_walk_ss_kind){0, 0, 0, 0, 0};
    hk_superslab_foreach(hk_walk_ss_summarize, out, lock);
}

/* Runs of consecutive chunks the registry records, lowest first. */
static void hk_walk_registry(hk_walk_range_fn fn, void *ctx)
{
    uintptr_t run = 0, end = 0;
    for (uintptr_t t = 0; t < (1u << HK_TOP_BITS); t++) {
        _Atomic uint8_t *leaf =
            (_Atomic uint8_t *)atomic_load_explicit(&hk_registry_top[t], HK_ACQUIRE);
        for (uintptr_t k = 0; leaf && k < (1u << HK_LEAF_BITS); k++) {
            if (atomic_load_explicit(&leaf[k], HK_RELAXED) == HK_CHUNK_NONE)
                continue;
            uintptr_t a = ((t << HK_LEAF_BITS) | k) << HK_CHUNK_SHIFT;
            if (a != end) {
                if (end)
                    fn(ctx, run, end);
                run = a;
            }
            end = a + HK_CHUNK_SIZE;
        }
    }
    if (end)
        fn(ctx, run, end);
}

struct hk_walk_range_ctx {
    hk_walk_range_fn fn;
    void *ctx;
};

static void hk_walk_side_table(struct hk_superslab *ss, void *arg)
{
    const struct hk_walk_range_ctx *w = arg;
    if (ss->side)
        w->fn(w->ctx, (uintptr_t)ss->side,
              (uintptr_t)ss->side + HK_SIDE_ENTRIES * sizeof(struct hk_side));
}

void hk_walk_side_tables(hk_walk_range_fn fn, void *ctx, bool lock)
{
    struct hk_walk_range_ctx w = {fn, ctx};
    hk_superslab_foreach(hk_walk_side_table, &w, lock);
}

void hk_walk_mappings(hk_walk_range_fn fn, void *ctx, bool lock)
{
    hk_walk_registry(fn, ctx);
    hk_heap_foreach_meta(fn, ctx);
    hk_walk_side_tables(fn, ctx, lock);
}
