/* The registry answers "is this address ours?" before anything is dereferenced.
 *
 * The address space is cut into 2 MiB chunks. Every chunk that hakmem maps is recorded with
 * one byte: the chunk holds a SuperSlab, the header of a large block, or the continuation of
 * a large block. Storage is two levels (1024 top entries x 64 Ki leaf bytes) covering the
 * 47-bit user address space; leaves are mapped on demand and never freed, so a lookup is
 * two loads and never faults. Writers hold hk_registry_lock; readers take no lock. */
#ifndef HK_REGISTRY_H
#define HK_REGISTRY_H

#include "hk_internal.h"

#define HK_CHUNK_SHIFT 21
#define HK_CHUNK_SIZE  ((size_t)1 << HK_CHUNK_SHIFT)
#define HK_ADDR_BITS   47
#define HK_LEAF_BITS   16
#define HK_TOP_BITS    (HK_ADDR_BITS - HK_CHUNK_SHIFT - HK_LEAF_BITS)   /* 10 */

enum hk_chunk_kind {
    HK_CHUNK_NONE = 0,
    HK_CHUNK_SUPERSLAB = 1,
    HK_CHUNK_LARGE = 2,        /* first chunk of a large mapping: its header is at the base */
    HK_CHUNK_LARGE_CONT = 3,   /* later chunks of a large mapping */
};

extern _Atomic(uint8_t *) hk_registry_top[1u << HK_TOP_BITS];

static inline unsigned hk_registry_kind(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (HK_UNLIKELY(a >> HK_ADDR_BITS))
        return HK_CHUNK_NONE;
    uintptr_t idx = a >> HK_CHUNK_SHIFT;
    uint8_t *leaf = atomic_load_explicit(&hk_registry_top[idx >> HK_LEAF_BITS], HK_ACQUIRE);
    if (HK_UNLIKELY(!leaf))
        return HK_CHUNK_NONE;
    return atomic_load_explicit((_Atomic uint8_t *)&leaf[idx & ((1u << HK_LEAF_BITS) - 1)],
                                HK_RELAXED);
}

static inline void *hk_chunk_base(const void *p)
{
    return (void *)((uintptr_t)p & ~(uintptr_t)(HK_CHUNK_SIZE - 1));
}

/* Marks [base, base+size) (chunk-aligned base) with kind; the first chunk gets `first`.
 * Returns -1 when a leaf cannot be mapped. */
int hk_registry_set(void *base, size_t size, unsigned first, unsigned rest);
void hk_registry_clear(void *base, size_t size);



#endif
