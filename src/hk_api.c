/* The public allocation API: the hakmem_* entry points and the POSIX details (errno,
 * alignment rules, overflow checks, realloc semantics). */
#include "hakmem.h"
#include "hk_alloc.h"
#include "hk_checked.h"
#include "hk_init.h"
#include "hk_large.h"
#include "hk_side.h"
#include "hk_os.h"
#include "hk_slow.h"

#include <errno.h>
#include <string.h>

/* ---- public entry points ---- */

HK_API const char *hakmem_version(void) { return HK_VERSION; }

HK_API void *hakmem_malloc(size_t size) { return hk_malloc_inline(size); }

HK_API void hakmem_free(void *p) { hk_free_inline(p); }

/* Usable size of a block we handed out, 0 for anything else. */
static size_t hk_usable(void *p)
{
    unsigned kind = hk_registry_kind(p);
    if (kind == HK_CHUNK_SUPERSLAB) {
        struct hk_superslab *ss = hk_ss_of(p);
        if (ss->magic != HK_SS_MAGIC)
            return 0;
        struct hk_slab *s = hk_slab_of(ss, p);
        if (hk_slab_state(s) == HK_SLAB_UNUSED)
            return 0;
        if (hk_shadow_on) {   /* bytes past the request are the overflow canary */
            void *b = hk_checked_block(s, p);
            return b ? hk_side_requested(b) : 0;
        }
        return hk_slab_is_block_start(s, p) ? s->block_size : 0;
    }
    if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT)
        return hk_shadow_on ? hk_large_requested_size(p, kind) : hk_large_usable_size(p, kind);
    return 0;
}

HK_API void *hakmem_calloc(size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > HK_MID_MAX) {
        hk_ensure_init();
        if (HK_UNLIKELY(hk_diag_on))
            return hk_large_alloc_diag(total, 16, true, hk_hook_stack(1));
        return hk_large_alloc_zeroed(total);
    }
    void *p = hk_malloc_inline(total);
    if (p)
        memset(p, 0, total);
    return p;
}

HK_API void *hakmem_realloc(void *p, size_t size)
{
    if (!p)
        return hk_malloc_inline(size);
    if (size == 0) {            /* glibc: free and return NULL */
        hk_free_inline(p);
        return NULL;
    }
    hk_ensure_init();
    size_t old;
    unsigned kind = hk_registry_kind(p);
    if (kind == HK_CHUNK_SUPERSLAB) {
        void *b;
        struct hk_slab *s = hk_slow_block_checked(p, true, &b);
        if (!s) {
            errno = EINVAL;
            return NULL;
        }
        old = s->block_size;
        if (hk_diag_on)
            old = hk_shadow_on ? hk_side_requested(b) : old;   /* always move: fresh records */
        /* Same block when the new size fits and still uses more than half of it. */
        else if (size <= old && (size > old / 2 || old == 16))
            return p;
    } else if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT) {
        old = hk_large_usable_size(p, kind);
        if (!old) {
            hk_large_free(p, kind);      /* reports what p is; frees nothing */
            errno = EINVAL;
            return NULL;
        }
        if (!hk_diag_on && hk_large_resize_in_place(p, kind, size))
            return p;
    } else {
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, "realloc", NULL);
        errno = EINVAL;
        return NULL;
    }
    void *q = hk_malloc_inline(size);
    if (!q)
        return NULL;                     /* p is untouched, errno is ENOMEM */
    memcpy(q, p, old < size ? old : size);
    hk_free_inline(p);
    return q;
}

HK_API void *hakmem_reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return hakmem_realloc(p, total);
}

/* Aligned allocation. Up to a page, the power-of-two class >= max(size, align) is aligned
 * (slabs start page-aligned, blocks are multiples of their size); beyond, the large tier
 * aligns the mapping. Diagnostic mode chooses for itself (room for the front guard). */
static void *hk_alloc_aligned(size_t align, size_t size)
{
    if (align <= 16)
        return hk_malloc_inline(size);
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_checked_alloc(size, align);
    size_t need = size > align ? size : align;
    if (align <= 4096 && need <= HK_MID_MAX)
        return hk_malloc_inline((size_t)1 << (64 - __builtin_clzll(need - 1)));
    return hk_large_alloc(size, align);
}

HK_API int hakmem_posix_memalign(void **out, size_t align, size_t size)
{
    if (!hk_is_pow2(align) || align % sizeof(void *))
        return EINVAL;
    int saved = errno;
    void *p = hk_alloc_aligned(align, size);
    if (!p) {
        int err = errno;
        errno = saved;
        return err ? err : ENOMEM;
    }
    *out = p;
    errno = saved;
    return 0;
}

HK_API void *hakmem_aligned_alloc(size_t align, size_t size)
{
    if (!hk_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return hk_alloc_aligned(align, size);
}

HK_API void *hakmem_memalign(size_t align, size_t size)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!hk_is_pow2(align))     /* glibc rounds up to the next power of two */
        align = align ? (size_t)1 << (64 - __builtin_clzll(align)) : 1;
    return hk_alloc_aligned(align, size);
}

HK_API void *hakmem_valloc(size_t size) { return hk_alloc_aligned(hk_os_page_size(), size); }

HK_API void *hakmem_pvalloc(size_t size)
{
    size_t page = hk_os_page_size();
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = size ? hk_align_up(size, page) : page;
    return hk_alloc_aligned(page, rounded);
}

HK_API size_t hakmem_malloc_usable_size(void *p) { return p ? hk_usable(p) : 0; }

HK_API void hakmem_collect(int force)
{
    hk_ensure_init();
    struct hk_heap *h = hk_heap_get();
    if (h && h->state == HK_HEAP_LIVE)
        hk_heap_flush(h, true);
    hk_heap_dead_lock();
    hk_heap_flush(&hk_heap_dead, true);
    hk_heap_dead_unlock();
    hk_orphans_collect();
    if (force) {
        hk_superslab_trim();
        hk_large_trim();
    }
}
