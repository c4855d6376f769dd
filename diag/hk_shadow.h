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

/* Hand-out of block p (already popped by the allocator) for a request of `size` bytes:
 * checks the poison, records size/thread/stack, writes the canary. Returns false when the
 * block was corrupted (it is then quarantined and the caller must take another). */
bool hk_shadow_on_alloc(void *p, size_t size, uint32_t block_size, uint16_t thread,
                        uint32_t stack);
/* Free of block p: checks its state and canary. Returns false (after a report) when the free
 * must not proceed (double free, parked block, overflow: the block is quarantined). */
bool hk_shadow_on_free(void *p, int cls, uint32_t block_size);
/* The requested size recorded for a live block (shadow mode). */
size_t hk_shadow_requested(const void *p);

/* Threads by serial number, for the census. */
void hk_shadow_thread_seen(uint32_t serial, int tid);
void hk_shadow_thread_state(uint32_t serial, int state);

/* Census: counts per state, per class and per thread, computed by a walk of the side tables.
 * Emitted with the stats report and into dumps. */
void hk_census_emit(struct hk_emit *e, bool lock);

#endif
