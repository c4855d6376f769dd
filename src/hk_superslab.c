/* SuperSlab lifecycle: map, format into slabs, hand slabs to heaps, take them back, keep a
 * small cache of empty SuperSlabs and return the rest to the OS.
 *
 * Everything here runs under hk_ss_lock: it is the slow path below the thread caches (once
 * per slab, i.e. per 64 KiB or 256 KiB of allocations). */
#include "hk_superslab.h"
#include "hk_block.h"
#include "hk_heap.h"
#include "hk_hooks.h"
#include "hk_lock.h"
#include "hk_os.h"
#include "hk_side.h"
#include "hk_stats.h"

#include <errno.h>
#include <string.h>

/* Empty SuperSlabs kept mapped for reuse; beyond this they are unmapped (a remapped
 * SuperSlab pays its page faults again). */
#define HK_SS_CACHE_MAX 4

static HK_LOCK_DEFINE(hk_ss_lock, HK_RANK_SUPERSLAB);
static struct hk_dlist hk_ss_partial[3];   /* by slab size: 64 KiB, 256 KiB, 2 MiB */
static struct hk_dlist hk_ss_cache;        /* empty, formatted for nothing */
static unsigned hk_ss_cache_count;
static struct hk_dlist hk_ss_all;
static struct hk_slab *hk_orphans[HK_NUM_CLASSES];
/* Orphans per class, readable without the lock (a racy peek that saves taking it). */
static atomic_uint hk_orphan_count[HK_NUM_CLASSES];

static unsigned hk_orphans_collect_locked(void);

static unsigned hk_kind_of_shift(unsigned shift)
{
    return shift == HK_SLAB_SHIFT_TINY ? 0 : shift == HK_SLAB_SHIFT_MID ? 1 : 2;
}

static size_t hk_ss_header_size(void)
{
    return hk_align_up(sizeof(struct hk_superslab), 4096);
}

/* Lays out an empty SuperSlab for slabs of 1 << shift bytes. */
static void hk_ss_format(struct hk_superslab *ss, unsigned shift)
{
    ss->slab_shift = (uint8_t)shift;
    ss->nslabs = (uint8_t)(HK_SS_SIZE >> shift);
    ss->free_mask = ss->nslabs == 32 ? 0xffffffffu : (1u << ss->nslabs) - 1;
    ss->slabs_used = 0;
    for (unsigned i = 0; i < ss->nslabs; i++) {
        struct hk_slab *s = &ss->slabs[i];
        memset(s, 0, sizeof *s);
        s->index = (uint8_t)i;
        hk_slab_set_state(s, HK_SLAB_UNUSED);
    }
}

static struct hk_superslab *hk_ss_map(void)
{
    struct hk_superslab *ss = hk_os_map_aligned(HK_SS_SIZE, HK_SS_SIZE);
    if (!ss)
        return NULL;
    if ((hk_diag_on && hk_side_create(ss)) ||
        hk_registry_set(ss, HK_SS_SIZE, HK_CHUNK_SUPERSLAB, HK_CHUNK_SUPERSLAB)) {
        hk_side_destroy(ss);
        hk_os_unmap(ss, HK_SS_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    ss->magic = HK_SS_MAGIC;
    hk_dlink_init(&ss->link);
    hk_dlink_init(&ss->all_link);
    hk_dlist_insert(&hk_ss_all, &ss->all_link);
    HK_PSTAT_ADD(superslabs_mapped, 1);
    HK_PSTAT_ADD(superslab_bytes, HK_SS_SIZE);
    return ss;
}

static void hk_ss_unmap(struct hk_superslab *ss)
{
    hk_dlist_remove(&hk_ss_all, &ss->all_link);
    ss->magic = 0;
    /* Clear the registry first: from now on a free of a stale pointer is "not ours". */
    hk_registry_clear(ss, HK_SS_SIZE);
    hk_side_destroy(ss);
    hk_os_unmap(ss, HK_SS_SIZE);
    HK_PSTAT_ADD(superslabs_unmapped, 1);
    HK_PSTAT_SUB(superslab_bytes, HK_SS_SIZE);
}

/* A SuperSlab with a free slab of the given kind: partial list, then the cache, then a new
 * mapping. */
static struct hk_superslab *hk_ss_with_free_slab(unsigned shift)
{
    unsigned kind = hk_kind_of_shift(shift);
    struct hk_superslab *ss = HK_DLIST_FIRST(&hk_ss_partial[kind], struct hk_superslab, link);
    if (ss)
        return ss;
    /* Before growing, take back orphans whose blocks have all been freed. */
    if (hk_dlist_empty(&hk_ss_cache) && hk_orphans_collect_locked() &&
        !hk_dlist_empty(&hk_ss_partial[kind]))
        return HK_DLIST_FIRST(&hk_ss_partial[kind], struct hk_superslab, link);
    ss = HK_DLIST_FIRST(&hk_ss_cache, struct hk_superslab, link);
    if (ss) {
        hk_dlist_remove(&hk_ss_cache, &ss->link);
        hk_ss_cache_count--;
        HK_PSTAT_SUB(superslabs_cached, 1);
    } else {
        ss = hk_ss_map();
        if (!ss)
            return NULL;
    }
    hk_ss_format(ss, shift);
    hk_dlist_insert(&hk_ss_partial[kind], &ss->link);
    ss->in_partial = 1;
    return ss;
}

static void hk_slab_format(struct hk_superslab *ss, struct hk_slab *s, unsigned cls,
                           struct hk_heap *h)
{
    size_t slab_bytes = (size_t)1 << ss->slab_shift;
    size_t begin = (size_t)s->index << ss->slab_shift;
    size_t start = s->index == 0 ? hk_ss_header_size() : begin;
    uint32_t size = hk_class_size[cls];
    s->free = NULL;
    atomic_store_explicit(&s->remote, NULL, HK_RELAXED);
    s->next = NULL;
    s->start = (uint32_t)start;
    s->block_size = size;
    s->div_magic = UINT64_MAX / size + 1;
    s->capacity = (uint16_t)((begin + slab_bytes - start) / size);
    s->carved = 0;
    atomic_store_explicit(&s->carved_end, 0, HK_RELAXED);
    s->used = 0;
    s->class_idx = (uint16_t)cls;
    hk_slab_set_state(s, HK_SLAB_OWNED);
    atomic_store_explicit(&s->owner, h, HK_RELEASE);
    if (hk_diag_on)
        hk_side_slab_reset(s);
}

struct hk_slab *hk_slab_acquire(unsigned cls, struct hk_heap *h)
{
    unsigned shift = hk_class_info[cls].slab_shift;
    hk_lock(&hk_ss_lock);
    struct hk_superslab *ss = hk_ss_with_free_slab(shift);
    if (!ss) {
        hk_unlock(&hk_ss_lock);
        return NULL;
    }
    unsigned i = (unsigned)__builtin_ctz(ss->free_mask);
    ss->free_mask &= ~(1u << i);
    ss->slabs_used++;
    if (!ss->free_mask) {
        hk_dlist_remove(&hk_ss_partial[hk_kind_of_shift(shift)], &ss->link);
        ss->in_partial = 0;
    }
    struct hk_slab *s = &ss->slabs[i];
    hk_slab_format(ss, s, cls, h);
    HK_PSTAT_ADD(slabs_live, 1);
    if (!hk_class_is_tiny(cls))
        HK_PSTAT_ADD(slabs_live_mid, 1);
    hk_unlock(&hk_ss_lock);
    return s;
}

/* Under hk_ss_lock. */
static void hk_slab_release_locked(struct hk_slab *s)
{
    HK_ASSERT(s->used == 0 && !atomic_load_explicit(&s->remote, HK_RELAXED));
    struct hk_superslab *ss = hk_ss_of(s);
    unsigned kind = hk_kind_of_shift(ss->slab_shift);
    if (!hk_class_is_tiny(s->class_idx))
        HK_PSTAT_SUB(slabs_live_mid, 1);
    HK_PSTAT_SUB(slabs_live, 1);
    hk_slab_set_state(s, HK_SLAB_UNUSED);
    atomic_store_explicit(&s->owner, NULL, HK_RELAXED);
    s->free = NULL;
    s->used = 0;
    s->carved = 0;
    atomic_store_explicit(&s->carved_end, 0, HK_RELAXED);
    ss->free_mask |= 1u << s->index;
    ss->slabs_used--;
    if (!ss->in_partial) {
        hk_dlist_insert(&hk_ss_partial[kind], &ss->link);
        ss->in_partial = 1;
    }
    if (ss->slabs_used)
        return;
    /* Whole SuperSlab empty: to the cache, or back to the OS. */
    hk_dlist_remove(&hk_ss_partial[kind], &ss->link);
    ss->in_partial = 0;
    if (hk_ss_cache_count < HK_SS_CACHE_MAX) {
        hk_dlist_insert(&hk_ss_cache, &ss->link);
        hk_ss_cache_count++;
        HK_PSTAT_ADD(superslabs_cached, 1);
    } else {
        hk_ss_unmap(ss);
    }
}

void hk_slab_release(struct hk_slab *s)
{
    hk_lock(&hk_ss_lock);
    hk_slab_release_locked(s);
    hk_unlock(&hk_ss_lock);
}

uint32_t hk_slab_drain_remote(struct hk_slab *s)
{
    if (!atomic_load_explicit(&s->remote, HK_RELAXED))
        return 0;
    struct hk_block *first = atomic_exchange_explicit(&s->remote, NULL, HK_ACQUIRE);
    /* First the count: each block must be a free block of s, and its mark is cleared as it
     * is counted, so a stack that loops back (a block written after its free, then freed
     * again) ends at the block seen twice; a bad link is reported and the rest dropped.
     * Then the blocks counted go onto the freelist, so `used` stays exact. */
    uint32_t n = 0;
    for (struct hk_block *b = first; b; b = hk_block_next(b), n++) {
        if (HK_UNLIKELY(!hk_slab_is_block_start(s, b) || !hk_block_is_free(b) ||
                        n == s->used)) {
            hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, b, s->class_idx, "remote-queue", NULL);
            break;
        }
        hk_block_unmark(b);
    }
    struct hk_block *b = first;
    for (uint32_t i = 0; i < n; i++) {
        struct hk_block *next = hk_block_next(b);
        hk_side_move(b, HK_BLOCK_REMOTE, HK_BLOCK_SLAB_FREE);
        hk_block_push_onto(b, s->free);
        s->free = b;
        b = next;
    }
    HK_ASSERT(n <= s->used);
    s->used -= n;
    return n;
}

static void hk_orphan_push(struct hk_slab *s)
{
    unsigned cls = s->class_idx;
    s->next = hk_orphans[cls];
    hk_orphans[cls] = s;
    atomic_fetch_add_explicit(&hk_orphan_count[cls], 1, HK_RELAXED);
}

/* Unlinks the orphan that *link points to (lists are singly linked: callers walk with the
 * address of the previous link). */
static struct hk_slab *hk_orphan_unlink(struct hk_slab **link)
{
    struct hk_slab *s = *link;
    *link = s->next;
    s->next = NULL;
    atomic_fetch_sub_explicit(&hk_orphan_count[s->class_idx], 1, HK_RELAXED);
    return s;
}

void hk_slab_orphan(struct hk_slab *s)
{
    hk_lock(&hk_ss_lock);
    atomic_store_explicit(&s->owner, NULL, HK_RELEASE);
    hk_slab_set_state(s, HK_SLAB_ORPHAN);
    hk_slab_drain_remote(s);
    if (s->used == 0)
        hk_slab_release_locked(s);
    else
        hk_orphan_push(s);
    hk_unlock(&hk_ss_lock);
}

struct hk_slab *hk_slab_adopt(unsigned cls, struct hk_heap *h)
{
    if (!atomic_load_explicit(&hk_orphan_count[cls], HK_RELAXED))
        return NULL;           /* a stale zero only means a new slab instead of an orphan */
    hk_lock(&hk_ss_lock);
    /* Only orphans that have blocks to give: full ones stay until frees reach them. The
     * scan is bounded; collection (hk_orphans_collect) handles the rest. */
    struct hk_slab *s = NULL;
    struct hk_slab **link = &hk_orphans[cls];
    for (int seen = 0; *link && seen < 64; link = &(*link)->next, seen++) {
        struct hk_slab *t = *link;
        if (t->free || t->carved < t->capacity || atomic_load(&t->remote)) {
            s = hk_orphan_unlink(link);
            hk_slab_set_state(s, HK_SLAB_OWNED);
            atomic_store_explicit(&s->owner, h, HK_RELEASE);
            break;
        }
    }
    hk_unlock(&hk_ss_lock);
    return s;
}

/* Under hk_ss_lock. */
static unsigned hk_orphans_collect_locked(void)
{
    unsigned released = 0;
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        struct hk_slab **link = &hk_orphans[c];
        while (*link) {
            struct hk_slab *s = *link;
            hk_slab_drain_remote(s);
            if (s->used == 0) {
                hk_slab_release_locked(hk_orphan_unlink(link));
                released++;
            } else {
                link = &s->next;
            }
        }
    }
    return released;
}

unsigned hk_orphans_collect(void)
{
    hk_lock(&hk_ss_lock);
    unsigned released = hk_orphans_collect_locked();
    hk_unlock(&hk_ss_lock);
    return released;
}

void hk_superslab_trim(void)
{
    hk_lock(&hk_ss_lock);
    while (!hk_dlist_empty(&hk_ss_cache)) {
        struct hk_superslab *ss = HK_DLIST_FIRST(&hk_ss_cache, struct hk_superslab, link);
        hk_dlist_remove(&hk_ss_cache, &ss->link);
        hk_ss_cache_count--;
        HK_PSTAT_SUB(superslabs_cached, 1);
        hk_ss_unmap(ss);
    }
    hk_unlock(&hk_ss_lock);
}

void hk_superslab_foreach(void (*fn)(struct hk_superslab *ss, void *arg), void *arg, bool lock)
{
    if (lock)
        hk_lock(&hk_ss_lock);
    HK_DLIST_FOREACH(ss, &hk_ss_all, struct hk_superslab, all_link)
        fn(ss, arg);
    if (lock)
        hk_unlock(&hk_ss_lock);
}

