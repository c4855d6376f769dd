/* The public allocation API: hakmem_* entry points, their slow paths, initialisation, and
 * the POSIX details (errno, alignment rules, overflow checks, realloc semantics). */
#include "hakmem.h"
#include "hk_alloc.h"
#include "hk_checked.h"
#include "hk_fork.h"
#include "hk_large.h"
#include "hk_misuse.h"
#include "hk_oom.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_report.h"
#include "hk_shadow.h"
#include "hk_leak.h"

#include <errno.h>
#include <string.h>

atomic_int hk_init_state;

/* Phase 1 (options, size-class caches, thread key) calls nothing that allocates. Phase 2
 * (atfork, atexit, signal handlers) may call malloc, which then finds us ready. */
HK_COLD void hk_init_slow(void)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&hk_init_state, &expected, 1)) {
        hk_options_init();
        hk_free_key = hk_os_random64();
        hk_shadow_on = hk_config_full && hk_opt.shadow;
        hk_shadow_poison = hk_opt.shadow_poison;
        hk_diag_on = hk_config_full && (hk_opt.shadow || hk_opt.leak_check);
        hk_heap_global_init();
        atomic_store(&hk_init_state, 2);
        hk_fork_init();
        hk_report_init();
        if (hk_diag_on && hk_opt.leak_check)
            hk_stack_init();
        return;
    }
    while (atomic_load(&hk_init_state) != 2)
        ;   /* another thread is in phase 1, which takes microseconds */
}

static inline void hk_ensure_init(void)
{
    if (HK_UNLIKELY(atomic_load_explicit(&hk_init_state, HK_ACQUIRE) != 2))
        hk_init_slow();
}

__attribute__((constructor(101))) static void hk_constructor(void) { hk_ensure_init(); }

/* Declared in hk_checked.h: the checked paths take blocks here when their own pop fails. */
void *hk_alloc_block(size_t size, unsigned cls, uint16_t *serial)
{
    struct hk_heap *h = hk_heap_get();
    void *p;
    if (HK_LIKELY(h != NULL)) {
        p = hk_heap_alloc_slow(h, cls);
        if (p && hk_config_stats)
            h->stats.cls[cls].bytes_requested += size;
        *serial = (uint16_t)h->serial;
    } else {
        hk_heap_dead_lock();
        p = hk_heap_alloc_slow(&hk_heap_dead, cls);
        if (p && hk_config_stats)
            hk_heap_dead.stats.cls[cls].bytes_requested += size;
        hk_heap_dead_unlock();
        *serial = 0;
    }
    if (HK_UNLIKELY(!p)) {
        hk_oom_event(size, (int)cls, hk_class_is_tiny(cls) ? "tiny" : "mid", HK_SS_SIZE,
                     errno ? errno : ENOMEM);
        errno = ENOMEM;
        return NULL;
    }
    ((void **)p)[1] = NULL;
    return p;
}

HK_NOINLINE void *hk_alloc_slow(size_t size, unsigned cls)
{
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_checked_alloc(size, -1);
    uint16_t serial;
    return hk_alloc_block(size, cls, &serial);
}

HK_NOINLINE void *hk_alloc_large_slow(size_t size)
{
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_checked_alloc(size, -1);
    return hk_large_alloc(size, 16);
}

/* The slab block that starts at p, after every check; NULL after a misuse report. */
static struct hk_slab *hk_block_checked(void *p, bool for_free)
{
    struct hk_superslab *ss = hk_ss_of(p);
    if (HK_UNLIKELY(ss->magic != HK_SS_MAGIC)) {
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, NULL);
        return NULL;
    }
    struct hk_slab *s = hk_slab_of(ss, p);
    if (hk_slab_state(s) == HK_SLAB_UNUSED) {
        hk_misuse_report(HK_MISUSE_UNALLOCATED_FREE, p, -1, "unassigned-slab");
        return NULL;
    }
    int cls = s->class_idx;
    if (!hk_slab_is_block_start(s, p)) {
        hk_misuse_report(HK_MISUSE_INTERIOR_FREE, p, cls, NULL);
        return NULL;
    }
    /* Shadow mode knows the block's state and says more than the free mark can. */
    if (for_free && !hk_shadow_on && ((uint64_t *)p)[1] == hk_free_key) {
        /* With leak tracking, the side table still knows who allocated it. */
        struct hk_misuse_block b = hk_diag_on ? hk_shadow_block_info(p)
                                              : (struct hk_misuse_block){0, 0, 0};
        hk_misuse_report_block(HK_MISUSE_DOUBLE_FREE, p, cls, "freed", &b);
        return NULL;
    }
    return s;
}

HK_NOINLINE void hk_free_slow(void *p)
{
    if (!p)
        return;
    hk_ensure_init();
    unsigned kind = hk_registry_kind(p);
    if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT) {
        hk_large_free(p, kind);
        return;
    }
    if (kind != HK_CHUNK_SUPERSLAB) {
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, NULL);
        return;
    }
    struct hk_slab *s = hk_block_checked(p, true);
    if (!s)
        return;
    if (HK_UNLIKELY(hk_diag_on)) {
        hk_checked_free(s, p);
        return;
    }
    ((uint64_t *)p)[1] = hk_free_key;
    hk_heap_free_block(s, p);
}

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
        if (hk_slab_state(s) == HK_SLAB_UNUSED || !hk_slab_is_block_start(s, p))
            return 0;
        if (hk_shadow_on)   /* bytes past the request are the overflow canary */
            return hk_shadow_requested(p);
        return s->block_size;
    }
    if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT)
        return hk_large_usable_size(p, kind);
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
            return hk_large_alloc_diag(total, 16, true,
                                       hk_opt.leak_check ? hk_stack_capture(1) : 0);
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
        struct hk_slab *s = hk_block_checked(p, true);
        if (!s) {
            errno = EINVAL;
            return NULL;
        }
        old = s->block_size;
        if (hk_diag_on)
            old = hk_shadow_on ? hk_shadow_requested(p) : old;   /* always move: fresh records */
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
        hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, "realloc");
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
 * aligns the mapping. */
static void *hk_alloc_aligned(size_t align, size_t size)
{
    if (align <= 16)
        return hk_malloc_inline(size);
    size_t need = size > align ? size : align;
    if (align <= 4096 && need <= HK_MID_MAX) {
        size_t pow2 = (size_t)1 << (64 - __builtin_clzll(need - 1));
        hk_ensure_init();
        if (HK_UNLIKELY(hk_diag_on))
            return hk_checked_alloc(size, (int)hk_size_class(pow2));
        return hk_malloc_inline(pow2);
    }
    hk_ensure_init();
    if (HK_UNLIKELY(hk_diag_on))
        return hk_large_alloc_diag(size, align, false, hk_opt.leak_check ? hk_stack_capture(1) : 0);
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
