/* The shadow census (HAKMEM_SHADOW=1) and the per-block side metadata that leak tracking
 * (HAKMEM_LEAK_CHECK=1) shares with it.
 *
 * Each SuperSlab gets a side table, mapped beside it and never inside the user's blocks: one
 * 16-byte entry per 16-byte granule, used at the granule where a block starts. The entry
 * holds the block's state, the requested size, the allocating thread and the allocation and
 * free stacks. Pages of the table are touched only for blocks that exist, so the overhead is
 * 16 bytes per block (100 % for 16-byte blocks, 1.6 % for 1 KiB blocks).
 *
 * In diagnostic mode every thread keeps its TLS heap pointer on the empty sentinel, so every
 * malloc and free takes the slow path, where each state transition is applied and checked;
 * the hot path carries no test for it. */
#ifndef HK_SHADOW_H
#define HK_SHADOW_H

#include "hk_internal.h"
#include "hk_misuse.h"
#include "hk_superslab.h"

struct hk_emit;

enum hk_block_state {
    HK_BLOCK_UNCARVED = 0,   /* never handed out since the slab was formatted */
    HK_BLOCK_SLAB_FREE,      /* on its slab's freelist */
    HK_BLOCK_FAST_CACHE,     /* parked in its owner thread's fast cache */
    HK_BLOCK_TLS_LIST,       /* parked in its owner thread's TLS list */
    HK_BLOCK_IN_USE,         /* held by the program */
    HK_BLOCK_REMOTE,         /* freed by another thread, waiting on the slab's remote stack */
    HK_BLOCK_QUARANTINED,    /* corrupted (use after free, overflow): never reused */
    HK_BLOCK_STATES
};

#define HK_SHADOW_POISONED 1u   /* flags: freed-pattern written, checked when handed out */

struct hk_shadow {
    uint8_t state;
    uint8_t flags;
    uint16_t thread;        /* serial of the allocating thread (0 = unknown) */
    uint32_t size;          /* requested size */
    uint32_t alloc_stack;   /* leak tracking: stack ids (0 = none) */
    uint32_t free_stack;
};

/* Diagnostic mode: side metadata kept (shadow or leak tracking). Set once at init. */
extern bool hk_diag_on;
/* Shadow checks and census (HAKMEM_SHADOW=1). */
extern bool hk_shadow_on;
/* HAKMEM_SHADOW_POISON, copied here at init for the inline checks. */
extern uint32_t hk_shadow_poison;

/* Bytes after the requested size that shadow mode keeps as an overflow canary. */
#define HK_CANARY 8u
/* Freed blocks are poisoned from byte 16 (the freelist link and the free mark come first)
 * up to this many bytes (or HAKMEM_SHADOW_POISON, if smaller), and checked when handed out
 * again. */
#define HK_POISON_LIMIT 256u

/* Side table of a SuperSlab (allocated on map, freed on unmap). */
int hk_shadow_table_create(struct hk_superslab *ss);
void hk_shadow_table_destroy(struct hk_superslab *ss);
/* A slab was (re)formatted: all its entries become UNCARVED. */
void hk_shadow_slab_reset(struct hk_slab *s);

#define HK_GRANULE_SHIFT 4

/* The side-table entry of the block starting at p (p inside a live SuperSlab); NULL when the
 * SuperSlab has no side table. */
static inline struct hk_shadow *hk_shadow_of(const void *p)
{
    struct hk_superslab *ss = hk_ss_of(p);
    if (!ss->shadow)
        return NULL;
    return &ss->shadow[((uintptr_t)p - (uintptr_t)ss) >> HK_GRANULE_SHIFT];
}

void hk_shadow_unexpected(void *p, unsigned state);

/* Internal transition of a block inside the allocator; a block found in an unexpected state
 * means a corrupt or stale list and is reported. */
static inline void hk_shadow_move(void *p, unsigned from, unsigned to)
{
    struct hk_shadow *e = hk_shadow_of(p);
    if (!e)
        return;
    if (HK_UNLIKELY(e->state != from))
        hk_shadow_unexpected(p, e->state);
    e->state = (uint8_t)to;
}
/* Only the census needs the states between "freed" and "in use"; leak tracking alone keeps
 * just those two (set by hk_shadow_on_alloc / hk_shadow_on_free). */
#define HK_SHADOW_MOVE(p, from, to) \
    do { if (HK_UNLIKELY(hk_shadow_on)) hk_shadow_move((p), (from), (to)); } while (0)

/* ---- hand-out and take-back (hk_checked.c), inline: they run on every malloc and free ---- */

#define HK_POISON_WORD 0xdfdfdfdfdfdfdfdfull    /* freed blocks, from byte 16 */
#define HK_CANARY_WORD 0xcacacacacacacacaull    /* the HK_CANARY bytes after the request */

/* Bytes poisoned after the first 16 (the freelist link and the free mark): up to
 * HAKMEM_SHADOW_POISON (a multiple of 16, at most HK_POISON_LIMIT) into the block. Block
 * sizes are multiples of 16, so the poisoned range is whole 16-byte vectors. */
static inline size_t hk_poison_len(uint32_t block_size, uint32_t limit)
{
    uint32_t end = block_size < limit ? block_size : limit;
    return end > 16 ? end - 16 : 0;
}

typedef uint64_t hk_vec16 __attribute__((vector_size(16), may_alias));

static inline void hk_poison_fill(void *from, size_t n)
{
    const hk_vec16 pat = {HK_POISON_WORD, HK_POISON_WORD};
    hk_vec16 *v = from;
    for (size_t i = 0; i < n / 16; i++)
        v[i] = pat;
}

static inline bool hk_poison_intact(const void *from, size_t n)
{
    const hk_vec16 pat = {HK_POISON_WORD, HK_POISON_WORD};
    const hk_vec16 *v = from;
    hk_vec16 diff = {0, 0};
    for (size_t i = 0; i < n / 16; i++)
        diff |= v[i] ^ pat;
    return (diff[0] | diff[1]) == 0;
}

/* The canary's bytes: HK_CANARY, or fewer when the request nearly fills the block. */
static inline size_t hk_canary_len(size_t size, uint32_t block_size)
{
    return block_size - size < HK_CANARY ? block_size - size : HK_CANARY;
}

static inline void hk_canary_write(void *p, size_t size, uint32_t block_size)
{
    size_t n = hk_canary_len(size, block_size);
    uint64_t w = HK_CANARY_WORD;
    if (HK_LIKELY(n == HK_CANARY))
        __builtin_memcpy((char *)p + size, &w, HK_CANARY);
    else
        __builtin_memcpy((char *)p + size, &w, n);
}

static inline bool hk_canary_intact(const void *p, size_t size, uint32_t block_size)
{
    size_t n = hk_canary_len(size, block_size);
    uint64_t w = 0;
    if (HK_LIKELY(n == HK_CANARY)) {
        __builtin_memcpy(&w, (const char *)p + size, HK_CANARY);
        return w == HK_CANARY_WORD;
    }
    __builtin_memcpy(&w, (const char *)p + size, n);
    return w == (HK_CANARY_WORD >> (8 * (HK_CANARY - n)));
}

/* Reports (cold). */
void hk_shadow_report_use_after_free(void *p, struct hk_shadow *e);
bool hk_shadow_report_bad_free(void *p, struct hk_shadow *e, int cls);

/* Hand-out of block p (already popped, side-table entry e) for a request of `size` bytes:
 * checks the poison, records size, thread and stack, writes the canary. Returns false when
 * the block was written after its free (it is then quarantined and the caller takes
 * another). */
static inline bool hk_shadow_hand_out(struct hk_shadow *e, void *p, size_t size,
                                      uint32_t block_size, uint16_t thread, uint32_t stack)
{
    if (hk_shadow_on && (e->flags & HK_SHADOW_POISONED) &&
        HK_UNLIKELY(!hk_poison_intact((char *)p + 16,
                                      hk_poison_len(block_size, hk_shadow_poison)))) {
        hk_shadow_report_use_after_free(p, e);
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

/* Free of block p (entry e): checks its state and canary, and poisons it. Returns false
 * (after a report) when the free must not proceed: double free, parked block, overflow (the
 * block is then quarantined). The state stays IN_USE for the caller's transition; with leak
 * tracking alone it becomes SLAB_FREE ("not in use"). */
static inline bool hk_shadow_take_back(struct hk_shadow *e, void *p, int cls,
                                       uint32_t block_size)
{
    if (!hk_shadow_on) {
        e->state = HK_BLOCK_SLAB_FREE;
        return true;
    }
    if (HK_UNLIKELY(e->state != HK_BLOCK_IN_USE) ||
        (e->size < block_size && HK_UNLIKELY(!hk_canary_intact(p, e->size, block_size))))
        return hk_shadow_report_bad_free(p, e, cls);
    size_t n = hk_poison_len(block_size, hk_shadow_poison);
    if (n) {
        hk_poison_fill((char *)p + 16, n);
        e->flags |= HK_SHADOW_POISONED;
    }
    return true;
}

/* What the side table says of block p (allocating thread, stacks), for a misuse report;
 * zeros without a side table. */
struct hk_misuse_block hk_shadow_block_info(const void *p);
/* The requested size recorded for a live block (shadow mode). */
size_t hk_shadow_requested(const void *p);

/* Threads by serial number, for the census. */
void hk_shadow_thread_seen(uint32_t serial, int tid);
void hk_shadow_thread_state(uint32_t serial, int state);

/* Census: counts per state, per class and per thread, computed by a walk of the side tables.
 * Emitted with the stats report and into dumps. */
void hk_census_emit(struct hk_emit *e, bool lock);

#endif
