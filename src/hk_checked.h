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

/* malloc of diagnostic mode. fixed_cls >= 0: take a block of that class (aligned requests,
 * whose class was chosen for the alignment); otherwise the class is chosen for size plus the
 * overflow canary. NULL with errno ENOMEM when size cannot be served. */
void *hk_checked_alloc(size_t size, int fixed_cls);
/* free of diagnostic mode, for p already known to start a block of slab s. */
void hk_checked_free(struct hk_slab *s, void *p);

/* Bytes after the requested size that shadow mode keeps as an overflow canary. */
#define HK_CANARY 8u
/* Freed blocks are poisoned from byte 16 (the free block's header comes first) up to this
 * many bytes (or HAKMEM_SHADOW_POISON, if smaller), and checked when handed out again. */
#define HK_POISON_LIMIT 256u
/* HAKMEM_SHADOW_POISON, copied here at init for the inline checks. */
extern uint32_t hk_shadow_poison;

#define HK_POISON_WORD 0xdfdfdfdfdfdfdfdfull    /* freed blocks, from byte 16 */
#define HK_CANARY_WORD 0xcacacacacacacacaull    /* the HK_CANARY bytes after the request */

/* Bytes poisoned after the block's header: up to HAKMEM_SHADOW_POISON (a multiple of 16, at
 * most HK_POISON_LIMIT) into the block. Block sizes are multiples of 16, so the poisoned
 * range is whole 16-byte vectors. */
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

#endif
