/* SuperSlabs and slabs.
 *
 * A SuperSlab is a 2 MiB region aligned to 2 MiB, registered in the registry, carved into
 * slabs of one size: 64 KiB (32 slabs, tiny classes), 256 KiB (8 slabs, mid classes up to
 * 64 KiB) or 1 MiB (2 slabs, mid classes up to 512 KiB). The
 * header at the start of slab 0 holds the metadata of every slab; blocks never hold metadata
 * except a freelist link while they are free.
 *
 *   +--------------------+------------------+------------------+-----
 *   | header | slab 0 ...| slab 1           | slab 2           | ...
 *   +--------------------+------------------+------------------+-----
 */
#ifndef HK_SUPERSLAB_H
#define HK_SUPERSLAB_H

#include "hk_dlist.h"
#include "hk_internal.h"
#include "hk_registry.h"
#include "hk_size_class.h"

#define HK_SS_SIZE        HK_CHUNK_SIZE
#include "hk_walk.h"
_Static_assert(HK_WALK_SS_SIZE == HK_SS_SIZE, "the walk's SuperSlab size");
#define HK_SS_MAGIC       0x484b4d454d53534cull   /* "HKMEMSSL" */
#define HK_SLAB_SHIFT_TINY 16                     /* 64 KiB slabs */
#define HK_SLAB_SHIFT_MID  18                     /* 256 KiB slabs */
#define HK_SLAB_SHIFT_BIG  20                     /* 1 MiB slabs */
#define HK_SS_MAX_SLABS   (HK_SS_SIZE >> HK_SLAB_SHIFT_TINY)

struct hk_heap;
struct hk_block;
struct hk_side;

enum hk_slab_state {
    HK_SLAB_UNUSED = 0,   /* not assigned to a class */
    HK_SLAB_OWNED = 1,    /* assigned, owned by a live heap */
    HK_SLAB_ORPHAN = 2,   /* assigned, its owner exited; waits for adoption */
};

/* One slab's metadata.
 * Invariants:
 * - `free`, `used`, `carved` are touched only by the owner (or, for UNUSED and ORPHAN slabs,
 *   under hk_ss_lock).
 * - the remote stack (hk_slab_remote: in the SuperSlab header, not in this line, so that
 *   remote pushes never touch the line every free of the owner reads) is lock-free: any
 *   thread pushes one block with a CAS; only the owner (or the lock holder for orphans)
 *   takes the whole stack with one exchange. No pops, so no ABA.
 * - used = blocks not on `free` and not uncarved: held by the program, parked in a thread
 *   cache, or waiting on the remote stack. The slab is empty when used == 0 after a drain;
 *   only then may it be released, so a SuperSlab is never unmapped under a pending remote
 *   free.
 * - every block in a heap's fast cache or TLS list belongs to a slab owned by that heap, and
 *   only the owner's thread (or, for orphans, the lock holder) changes `owner`: a heap
 *   never loses a slab it did not give up itself.
 * - an ORPHAN slab is on hk_orphans[class], an OWNED one on its owner's class list (`link`,
 *   hk_dlist.h), an UNUSED one on none. */
struct hk_slab {
    /* Read by every free (the hot path): the first 32 bytes. */
    _Atomic(struct hk_heap *) owner; /* NULL unless OWNED */
    uint64_t div_magic;              /* fast "offset % size == 0" test (Lemire) */
    uint32_t start;                  /* offset of block 0 from the SuperSlab base */
    _Atomic uint32_t carved_end;     /* carved * block_size: the blocks that exist */
    uint16_t class_idx;
    _Atomic uint8_t state;           /* enum hk_slab_state; read by any freeing thread */
    uint8_t index;                   /* position in the SuperSlab */
    uint32_t block_size;
    /* The owner's (or, for orphans, the lock holder's). */
    struct hk_block *free;           /* owner-local freelist (hk_block.h) */
    struct hk_dlink link;            /* owner's per-class list, or the orphan list */
    uint16_t capacity;               /* at most 4096 (64 KiB / 16 B) */
    uint16_t carved;                 /* blocks carved so far (bump) */
    uint16_t used;
    uint16_t pad;
};
_Static_assert(sizeof(struct hk_slab) == 64, "one cache line per slab");

/* A slab that a free claimed (hk_slab_claim) carries its owner with this bit set until the
 * owner allocates from it: the hot path's owner test fails, so its frees go straight back
 * to the slab (hk_cache.c) instead of filling the caches of a thread that only frees. */
#define HK_OWNER_CLAIMED ((uintptr_t)1)

#define HK_SLAB_OF_LINK(l) HK_DLIST_ENTRY((l), struct hk_slab, link)

static inline struct hk_heap *hk_slab_owner(struct hk_slab *s)
{
    uintptr_t o = (uintptr_t)atomic_load_explicit(&s->owner, HK_RELAXED);
    return (struct hk_heap *)(o & ~HK_OWNER_CLAIMED);
}

static inline bool hk_slab_claimed(struct hk_slab *s)
{
    return (uintptr_t)atomic_load_explicit(&s->owner, HK_RELAXED) & HK_OWNER_CLAIMED;
}

static inline unsigned hk_slab_state(const struct hk_slab *s)
{
    return atomic_load_explicit(&s->state, HK_RELAXED);
}

static inline void hk_slab_set_state(struct hk_slab *s, unsigned state)
{
    atomic_store_explicit(&s->state, (uint8_t)state, HK_RELAXED);
}

struct hk_superslab {
    uint64_t magic;                  /* HK_SS_MAGIC while mapped by us */
    struct hk_dlink link;            /* partial list of its kind, or the empty cache */
    struct hk_dlink all_link;        /* every mapped SuperSlab */
    uint32_t free_mask;              /* bit i: slab i unassigned */
    uint8_t slab_shift;
    uint8_t nslabs;
    uint8_t in_partial;
    uint8_t purged;                  /* in the empty cache, its pages dropped */
    uint8_t side_shift;              /* granule of the side table, hk_side_shift_for() */
    uint32_t slabs_used;
    uint64_t cached_ns;              /* when it entered the empty cache (hk_superslab.c) */
    struct hk_side *side;            /* side table (diagnostic mode only), hk_side.h */
    void *raw;                       /* the whole mapping, unmapped in one piece; larger */
    size_t raw_size;                 /* than the SuperSlab when a trim was refused (hk_os.h) */
    struct hk_slab slabs[HK_SS_MAX_SLABS];
    /* The slabs' remote stacks, eight to a line: pushers share lines with each other, never
     * with the lines of the slabs' owners. */
    _Atomic(struct hk_block *) remote[HK_SS_MAX_SLABS] __attribute__((aligned(64)));
};

static inline struct hk_superslab *hk_ss_of(const void *p)
{
    return (struct hk_superslab *)hk_chunk_base(p);
}

/* Slab of an address inside a live SuperSlab. */
static inline struct hk_slab *hk_slab_of(struct hk_superslab *ss, const void *p)
{
    return &ss->slabs[((uintptr_t)p - (uintptr_t)ss) >> ss->slab_shift];
}

static inline _Atomic(struct hk_block *) *hk_slab_remote(struct hk_slab *s)
{
    return &hk_ss_of(s)->remote[s->index];
}

static inline bool hk_slab_remote_pending(struct hk_slab *s)
{
    return atomic_load_explicit(hk_slab_remote(s), HK_RELAXED) != NULL;
}

static inline char *hk_slab_block0(struct hk_slab *s)
{
    return (char *)hk_ss_of(s) + s->start;
}

/* True when p is the first byte of a block of slab s that has been carved (no division on
 * the hot path). A block not yet carved is no block: freeing it is an invalid free. Any
 * thread may ask: a block handed out was carved before, and the carve is visible to every
 * thread that could legitimately free it. */
static inline bool hk_slab_is_block_start(struct hk_slab *s, const void *p)
{
    uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)hk_slab_block0(s));
    if (off >= atomic_load_explicit(&s->carved_end, HK_RELAXED))
        return false;
    return (uint64_t)(off * s->div_magic) <= s->div_magic - 1;
}

static inline uint32_t hk_slab_block_index(struct hk_slab *s, const void *p)
{
    uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)hk_slab_block0(s));
    return (uint32_t)(((unsigned __int128)s->div_magic * off) >> 64);
}

/* Takes an unused slab for class cls, owned by h. NULL with errno ENOMEM when no SuperSlab
 * can be mapped, or (errno untouched) when that would need a new mapping and may_map is
 * false. Takes hk_ss_lock. */
struct hk_slab *hk_slab_acquire(unsigned cls, struct hk_heap *h, bool may_map);
/* Gives an empty slab (used == 0, remote empty) back to its SuperSlab. Takes hk_ss_lock. */
void hk_slab_release(struct hk_slab *s);
/* Pops an orphaned slab of class cls and makes h its owner (remote stack not drained). */
struct hk_slab *hk_slab_adopt(unsigned cls, struct hk_heap *h);
/* A free of h's thread reached s, an orphan: s is drained and becomes h's, claimed (true),
 * or is released when that drain emptied it, or another thread took it first (false).
 * Takes hk_ss_lock. */
bool hk_slab_claim(struct hk_slab *s, struct hk_heap *h);
/* Pushes b onto the remote stack of s (a slab the calling thread does not own). */
void hk_slab_remote_push(struct hk_slab *s, struct hk_block *b);
/* Remote frees drained outside any thread's heap (orphans, the dead heap), per class. */
uint64_t hk_slab_drained_unowned(unsigned cls);
/* Makes s an orphan: drains its remote stack; releases it if empty. Takes hk_ss_lock. */
void hk_slab_orphan(struct hk_slab *s);
/* Drains the remote stack of s into its freelist; returns the number of blocks, counted as
 * remote_drained (into the caller's heap, or the unowned counts). Caller is the owner or
 * holds hk_ss_lock for an orphan. */
uint32_t hk_slab_drain_remote(struct hk_slab *s);
/* Releases orphans whose blocks have all come back; returns how many slabs it released. */
unsigned hk_orphans_collect(void);
/* Checks the ages in the cache of empty SuperSlabs (purges, unmaps). Takes hk_ss_lock. */
void hk_superslab_age(void);
/* Unmaps every cached empty SuperSlab (those the kernel refuses to unmap stay cached). */
void hk_superslab_trim(void);
/* After hk_slab_acquire failed on this thread: the length of the mmap call that failed, or
 * of the SuperSlab when something else failed (for the OOM event); 0 after a success. */
size_t hk_superslab_failed_map(void);

/* Iterate over live SuperSlabs (census, dumps): calls fn for each, under hk_ss_lock unless
 * lock is false (signal handlers: a racy walk rather than a deadlock). */
void hk_superslab_foreach(void (*fn)(struct hk_superslab *ss, void *arg), void *arg, bool lock);


#endif
