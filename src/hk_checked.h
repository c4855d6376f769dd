/* The checked paths of diagnostic mode (HAKMEM_SHADOW=1, HAKMEM_LEAK_CHECK=1).
 *
 * In diagnostic mode every malloc and free leaves the hot path (the TLS heap pointer stays on
 * the empty sentinel, hk_heap.h) and comes here. The common case, a block popped from or
 * pushed onto the calling thread's own fast cache, uses the same list operations as the hot
 * path (hk_block.h) with the side-table checks around them; refills, spills, remote frees
 * and the dead heap go through the ordinary slow paths (hk_cache.c), which apply their own
 * state transitions (hk_side_move). */
#ifndef HK_CHECKED_H
#define HK_CHECKED_H

#include "hk_side.h"

/* malloc of diagnostic mode, aligned to `align` (16, or a power of two above): a slab block
 * of the class that holds the request with, in shadow mode, the front guard and the canary
 * (hk_checked_class), or a large block. NULL with errno ENOMEM when size cannot be served. */
void *hk_checked_alloc(size_t size, size_t align);
/* free of diagnostic mode, for b already known to start a block of slab s. */
void hk_checked_free(struct hk_slab *s, void *b);

/* Leak tracking alone: block b (checked, in use) is freed. Its entry says so, without being
 * read (its front is 0, nothing else is checked): a store to the entry's line, which a write
 * after free cannot undo, as it could the block's own free mark. */
static inline void hk_checked_leak_free(void *b)
{
    struct hk_side *e = hk_side_of(b);
    if (e)
        e->state = HK_BLOCK_SLAB_FREE;
}
/* Shadow mode: the start of the block of slab s whose pointer, as handed out, is p; NULL
 * when p is none (inside a block, or past the carved blocks). */
void *hk_checked_block(struct hk_slab *s, void *p);

/* Shadow mode, every block as the program sees it:
 *
 *   block start | ... | front guard (16 B) | requested bytes | canary (up to 8 B) | ...
 *                      <----- front: 16, or the alignment --->
 *
 * The pointer handed out is the block's start plus the front (hk_side_front), which keeps
 * the alignment; the 16 bytes before it are the front guard, checked at free (an underflow),
 * the bytes after the request the canary (an overflow). Once the block is free its first 16
 * bytes are the free block's header (hk_block.h), and the requested bytes the poison. */
#define HK_FRONT_GUARD 16u
/* Bytes after the requested size that shadow mode keeps as an overflow canary. */
#define HK_CANARY 8u
/* Freed blocks are poisoned from the program's first byte on, this many bytes less the 16 of
 * the header (HAKMEM_SHADOW_POISON, if smaller): for a block handed out 16 bytes in, up to
 * this byte of the block. The poison is checked when the block is handed out again. */
#define HK_POISON_LIMIT 256u
/* HAKMEM_SHADOW_POISON, copied here at init for the inline checks. */
extern uint32_t hk_shadow_poison;

#define HK_POISON_WORD 0xdfdfdfdfdfdfdfdfull    /* freed blocks, the program's bytes */
#define HK_CANARY_WORD 0xcacacacacacacacaull    /* the HK_CANARY bytes after the request */
#define HK_GUARD_WORD 0xfdfdfdfdfdfdfdfdull     /* the HK_FRONT_GUARD bytes before it */

/* Bytes poisoned from the program's pointer, `avail` bytes before the block's end, for a
 * limit of HAKMEM_SHADOW_POISON (a multiple of 16, at most HK_POISON_LIMIT). Block sizes and
 * fronts are multiples of 16, so the range is whole 16-byte vectors. */
static inline size_t hk_poison_len(size_t avail, uint32_t limit)
{
    size_t n = limit > 16 ? limit - 16 : 0;
    return avail < n ? avail : n;
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

static inline void hk_guard_write(void *p)
{
    const hk_vec16 pat = {HK_GUARD_WORD, HK_GUARD_WORD};
    __builtin_memcpy((char *)p - HK_FRONT_GUARD, &pat, HK_FRONT_GUARD);
}

/* The HK_FRONT_GUARD bytes before p are intact. */
static inline bool hk_guard_intact(const void *p)
{
    hk_vec16 v;
    __builtin_memcpy(&v, (const char *)p - HK_FRONT_GUARD, HK_FRONT_GUARD);
    return ((v[0] ^ HK_GUARD_WORD) | (v[1] ^ HK_GUARD_WORD)) == 0;
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

#endif
