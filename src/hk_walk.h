/* Read-only views of the allocator, for diag/: the counters, the blocks the side table
 * describes, the large blocks, the SuperSlab table. diag/ reads the allocator through this
 * header only (with hk_hooks.h and hk_stats.h), and sees plain descriptions, never the
 * allocator's structs (docs/architecture.md, "Layers").
 *
 * lock=false: inside signal handlers, a racy walk rather than a deadlock. The callbacks
 * must not allocate. */
#ifndef HK_WALK_H
#define HK_WALK_H

#include "hk_internal.h"
#include "hk_stats.h"

/* Where a block is, as the side table records it (shadow mode keeps every state; leak
 * tracking alone only IN_USE and SLAB_FREE). */
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

/* "uncarved", "slab-free", ...; "?" for a value out of range. */
const char *hk_walk_state_name(unsigned state);

/* Thread heap states, as the census names them. */
enum hk_heap_state {
    HK_HEAP_EMPTY = 0,     /* the shared sentinel; a retired heap */
    HK_HEAP_LIVE = 1,
    HK_HEAP_DEAD = 2,      /* the shared heap of threads past their exit destructor */
    HK_HEAP_PARKED = 3,    /* exited with HAKMEM_TINY_TLS_LIST_SPILL=0: blocks kept parked */
    HK_HEAP_LOST = 4,      /* belonged to a thread that does not exist in this fork child */
};

/* The sum of every thread's class counters (live, exited, the dead heap). */
void hk_walk_counters(struct hk_thread_stats *out, bool lock);

struct hk_walk_block {
    void *ptr;              /* the block as handed to the program (in use; in shadow mode
                               past its front guard), else its start */
    size_t size;            /* requested size (in use) */
    size_t usable;          /* bytes from ptr to the block's end */
    uint32_t alloc_stack;   /* leak tracking: stack ids, 0 = none */
    uint32_t free_stack;
    int cls;                /* size class, -1 for a large block */
    unsigned state;         /* enum hk_block_state */
    uint32_t thread;        /* serial of the allocating thread (in use), 0 = unknown */
    uint32_t owner;         /* serial of the slab's owner thread, 0 = none (orphan) */
};
typedef void (*hk_walk_block_fn)(void *ctx, const struct hk_walk_block *b);

/* Every block of every assigned slab in SuperSlabs with a side table (uncarved blocks
 * included), then, with large=true, every live large block of diagnostic mode. */
void hk_walk_blocks(hk_walk_block_fn fn, void *ctx, bool large, bool lock);

/* The SuperSlab table in summary, per slab size (64 KiB, 256 KiB, 1 MiB). */
struct hk_walk_ss_kind {
    uint64_t superslabs, slabs, slabs_used, blocks_used, capacity;
};
#define HK_WALK_SS_KINDS 3
extern const char *const hk_walk_ss_kind_names[HK_WALK_SS_KINDS];
void hk_walk_superslabs(struct hk_walk_ss_kind out[HK_WALK_SS_KINDS], bool lock);

/* The memory the allocator has mapped for blocks: every run of 2 MiB chunks the registry
 * records (SuperSlabs; large blocks live or cached, each to the end of its last chunk), the
 * heaps' metadata arena, then every SuperSlab's side table. In no order. The leak check skips them when it scans the
 * process's own mappings (its free blocks and cached mappings hold stale pointers). */
typedef void (*hk_walk_range_fn)(void *ctx, uintptr_t lo, uintptr_t hi);
void hk_walk_mappings(hk_walk_range_fn fn, void *ctx, bool lock);
/* Of those, the side tables of the live SuperSlabs (diagnostic mode's memory). */
void hk_walk_side_tables(hk_walk_range_fn fn, void *ctx, bool lock);

/* A SuperSlab's size (every SuperSlab maps this many bytes). */
#define HK_WALK_SS_SIZE ((size_t)2 << 20)

/* The largest request the large tier will try to map (physical memory plus swap). */
size_t hk_walk_large_limit(void);
/* Bytes mapped for the live large blocks (large_bytes less the cached and kept mappings). */
size_t hk_walk_large_live_bytes(void);

#endif
