#include "hk_registry.h"
#include "hk_lock.h"
#include "hk_os.h"

_Atomic(uint8_t *) hk_registry_top[1u << HK_TOP_BITS];
static HK_LOCK_DEFINE(hk_registry_lock, HK_RANK_REGISTRY);

static uint8_t *hk_registry_leaf(uintptr_t idx)
{
    _Atomic(uint8_t *) *slot = &hk_registry_top[idx >> HK_LEAF_BITS];
    uint8_t *leaf = atomic_load_explicit(slot, HK_ACQUIRE);
    if (!leaf) {
        leaf = hk_os_map_meta((size_t)1 << HK_LEAF_BITS);
        if (!leaf)
            return NULL;
        atomic_store_explicit(slot, leaf, HK_RELEASE);
    }
    return leaf;
}

static int hk_registry_write(void *base, size_t size, unsigned first, unsigned rest)
{
    uintptr_t a = (uintptr_t)base;
    size_t n = (size + HK_CHUNK_SIZE - 1) >> HK_CHUNK_SHIFT;
    for (size_t i = 0; i < n; i++) {
        uintptr_t idx = (a >> HK_CHUNK_SHIFT) + i;
        uint8_t *leaf = hk_registry_leaf(idx);
        if (!leaf)
            return -1;
        atomic_store_explicit((_Atomic uint8_t *)&leaf[idx & ((1u << HK_LEAF_BITS) - 1)],
                              (uint8_t)(i == 0 ? first : rest), HK_RELEASE);
    }
    return 0;
}

int hk_registry_set(void *base, size_t size, unsigned first, unsigned rest)
{
    hk_lock(&hk_registry_lock);
    int rc = hk_registry_write(base, size, first, rest);
    if (rc)
        hk_registry_write(base, size, HK_CHUNK_NONE, HK_CHUNK_NONE);
    hk_unlock(&hk_registry_lock);
    return rc;
}

void hk_registry_clear(void *base, size_t size)
{
    hk_lock(&hk_registry_lock);
    hk_registry_write(base, size, HK_CHUNK_NONE, HK_CHUNK_NONE);
    hk_unlock(&hk_registry_lock);
}

