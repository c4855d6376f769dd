/* The side table: per-block metadata of diagnostic mode (HAKMEM_SHADOW=1 and
 * HAKMEM_LEAK_CHECK=1), kept beside each SuperSlab, never inside the user's blocks.
 *
 * One 16-byte entry per granule of the SuperSlab, used at the granule where a block starts.
 * A granule is the smallest block of the SuperSlab's kind (hk_side_shift_for): 16 bytes
 * where the slabs hold tiny blocks, 1 KiB and 64 KiB for the two mid kinds, so that the
 * entries of neighbouring blocks share lines and pages (a table page serves 256 blocks of
 * 16 bytes or 64 blocks of 4 KiB). Pages of the table are touched only for blocks that
 * exist: 16 bytes per block (100 % for 16-byte blocks, 1.6 % for 1 KiB blocks). The table is
 * allocator state: the checked paths (hk_checked.c) and the slow paths apply each block's
 * transitions here; diag/ reads it through hk_walk.h. */
#ifndef HK_SIDE_H
#define HK_SIDE_H

#include "hk_hooks.h"
#include "hk_superslab.h"
#include "hk_walk.h"

#define HK_SIDE_POISONED 1u   /* flags: freed-pattern written, checked when handed out */
#define HK_SIDE_FRONT_SHIFT 4 /* flags bits 4-7: the front guard, hk_side_front() */

/* Invariant (shadow mode): the program's pointer to a block is the block's start plus
 * hk_side_front() bytes, at least HK_FRONT_GUARD (hk_checked.h). The front is set at each
 * hand-out and kept until the next one, so a second free of the same pointer still finds
 * its block. Leak tracking alone hands out the block's start (front 0). */
struct hk_side {
    uint8_t state;          /* enum hk_block_state */
    uint8_t flags;          /* HK_SIDE_POISONED, the front guard's size */
    uint16_t thread;        /* serial of the allocating thread (0 = unknown) */
    uint32_t size;          /* requested size: slab blocks are at most HK_MID_MAX */
    uint32_t alloc_stack;   /* leak tracking: stack ids (0 = none) */
    uint32_t free_stack;
};
_Static_assert(sizeof(struct hk_side) == 16, "one 16-byte entry per granule");
_Static_assert(HK_MID_MAX <= UINT32_MAX, "a slab block's size fits the entry whole");

/* Invariant: 1 << side_shift is at most the smallest block of the SuperSlab's slabs, so no
 * two blocks share a granule. The table is sized for the smallest granule (tiny): a
 * SuperSlab formatted again for another kind keeps its table. */
#define HK_GRANULE_SHIFT_MIN 4
static inline unsigned hk_side_shift_for(unsigned slab_shift)
{
    return slab_shift == HK_SLAB_SHIFT_TINY  ? HK_GRANULE_SHIFT_MIN
           : slab_shift == HK_SLAB_SHIFT_MID ? 10
                                             : 16;
}
_Static_assert((1u << HK_GRANULE_SHIFT_MIN) <= 16 && (1u << 10) <= HK_TINY_MAX + 1 &&
                   (1u << 16) <= HK_MID_SMALL_MAX + 1,
               "a granule is at most the smallest block of its kind: the tiny classes start at "
               "16 B, the mid ones above HK_TINY_MAX, the 1 MiB slabs' above HK_MID_SMALL_MAX");
#define HK_SIDE_ENTRIES (HK_SS_SIZE >> HK_GRANULE_SHIFT_MIN)

/* Side table of a SuperSlab (mapped with it in diagnostic mode, unmapped with it). */
int hk_side_create(struct hk_superslab *ss);
void hk_side_destroy(struct hk_superslab *ss);
/* The same for a table already detached from its SuperSlab (read before unmapping it). */
void hk_side_free(struct hk_side *t);
/* A slab was (re)formatted: all its entries become UNCARVED. */
void hk_side_slab_reset(struct hk_slab *s);

/* The entry of the block starting at p (p inside a live SuperSlab); NULL when the
 * SuperSlab has no side table. */
static inline struct hk_side *hk_side_of(const void *p)
{
    struct hk_superslab *ss = hk_ss_of(p);
    if (!ss->side)
        return NULL;
    return &ss->side[((uintptr_t)p - (uintptr_t)ss) >> ss->side_shift];
}

/* Bytes from the block's start to the pointer handed out: 0, or 16 to 4096 (a power of two,
 * the alignment of an aligned request), stored as log2 - 3. */
static inline size_t hk_side_front_of_flags(uint8_t flags)
{
    unsigned k = flags >> HK_SIDE_FRONT_SHIFT;
    return k ? (size_t)8 << k : 0;
}

static inline size_t hk_side_front(const struct hk_side *e)
{
    return hk_side_front_of_flags(e->flags);
}

static inline uint8_t hk_side_front_flags(size_t front)
{
    return front ? (uint8_t)((__builtin_ctzll(front) - 3) << HK_SIDE_FRONT_SHIFT) : 0;
}
_Static_assert(((12 - 3) << HK_SIDE_FRONT_SHIFT) <= 0xff, "a 4096-byte front fits the flags");

/* What the entry says of a block, for a misuse report. */
struct hk_misuse_block hk_side_info(const struct hk_side *e);
/* The same for the block at p; zeros without a side table. */
struct hk_misuse_block hk_side_info_at(const void *p);
/* The requested size recorded for a live block (shadow mode); 0 when not in use. */
size_t hk_side_requested(const void *p);

void hk_side_unexpected(void *p, unsigned state);

/* A transition inside the allocator (shadow mode): a block found in an unexpected state
 * means a corrupt or stale list and is reported. Leak tracking alone keeps only "in use"
 * and "free", set by the checked paths. */
static inline void hk_side_move(void *p, unsigned from, unsigned to)
{
    if (HK_LIKELY(!hk_shadow_on))
        return;
    struct hk_side *e = hk_side_of(p);
    if (!e)
        return;
    if (HK_UNLIKELY(e->state != from))
        hk_side_unexpected(p, e->state);
    e->state = (uint8_t)to;
}

#endif
