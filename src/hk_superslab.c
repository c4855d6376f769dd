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

/* Empty SuperSlabs kept for reuse, youngest first (a remapped SuperSlab pays its page faults
 * again, and its mmap, munmap and registry updates). The youngest HK_SS_WARM_MAX keep their
 * pages for HK_SS_PURGE_NS, so a program that frees and allocates in waves reuses them
 * without a fault; an older one gives its pages back with one madvise (purged: the mapping
 * and its registry entry stay, so a reuse costs the faults but no system call); after
 * HK_SS_UNMAP_NS, or beyond HK_SS_CACHE_MAX, it is unmapped. The pages kept are what these
 * bounds trade against faults (docs/benchmarks.md, "SuperSlab churn"). Ages are checked
 * whenever a SuperSlab enters or leaves the cache and on each heap's periodic reclaim
 * (hk_superslab_age), so only a program that stops allocating keeps what the last check
 * left (hakmem_collect(1) returns it all). One whose munmap the kernel refuses stays in the
 * cache, purged, and is used like any other before anything is mapped. */
#define HK_SS_CACHE_MAX 64
#define HK_SS_WARM_MAX 32
#define HK_SS_PURGE_NS (100ull * 1000 * 1000)
#define HK_SS_UNMAP_NS (1000ull * 1000 * 1000)

static HK_LOCK_DEFINE(hk_ss_lock, HK_RANK_SUPERSLAB);
static struct hk_dlist hk_ss_partial[3];   /* by slab size: 64 KiB, 256 KiB, 1 MiB */
static struct hk_dlist hk_ss_cache;        /* empty, formatted for nothing; youngest first */
static unsigned hk_ss_cache_count;
static struct hk_dlist hk_ss_all;
static struct hk_dlist hk_orphans[HK_NUM_CLASSES];
/* Orphans per class, readable without the lock (a racy peek that saves taking it). */
static atomic_uint hk_orphan_count[HK_NUM_CLASSES];
/* Remote frees drained by a thread without a heap of its own (hk_slab_drain_remote). */
static atomic_uint_fast64_t hk_drained_unowned[HK_NUM_CLASSES];

static unsigned hk_orphans_collect_locked(void);

/* The last hk_ss_map of this thread: 0, or the size of the mapping that failed. */
static HK_TLS size_t hk_ss_failed;

size_t hk_superslab_failed_map(void) { return hk_ss_failed; }

static unsigned hk_kind_of_shift(unsigned shift)
{
    return shift == HK_SLAB_SHIFT_TINY ? 0 : shift == HK_SLAB_SHIFT_MID ? 1 : 2;
}

static size_t hk_ss_header_size(void)
{
    return hk_align_up(sizeof(struct hk_superslab), 4096);
}

#define HK_SS_OF(l) HK_DLIST_ENTRY((l), struct hk_superslab, link)

static void hk_ss_list_push(struct hk_dlist *list, struct hk_superslab *ss)
{
    hk_dlist_insert(list, &ss->link);
}

static void hk_ss_list_remove(struct hk_dlist *list, struct hk_superslab *ss)
{
    hk_dlist_remove(list, &ss->link);
}

/* Lays out an empty SuperSlab for slabs of 1 << shift bytes. */
static void hk_ss_format(struct hk_superslab *ss, unsigned shift)
{
    ss->slab_shift = (uint8_t)shift;
    ss->side_shift = (uint8_t)hk_side_shift_for(shift);
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

static void hk_ss_all_push(struct hk_superslab *ss)
{
    hk_dlist_insert(&hk_ss_all, &ss->all_link);
}

static void hk_ss_all_remove(struct hk_superslab *ss)
{
    hk_dlist_remove(&hk_ss_all, &ss->all_link);
}

static struct hk_superslab *hk_ss_map(void)
{
    struct hk_os_map m;
    struct hk_superslab *ss = hk_os_map_aligned(HK_SS_SIZE, HK_SS_SIZE, &m);
    hk_ss_failed = ss ? 0 : m.tried;
    if (!ss)
        return NULL;
    ss->raw = m.raw;
    ss->raw_size = m.raw_size;
    if ((hk_diag_on && hk_side_create(ss)) ||
        hk_registry_set(ss, HK_SS_SIZE, HK_CHUNK_SUPERSLAB, HK_CHUNK_SUPERSLAB)) {
        /* Metadata could not be mapped. Should the kernel refuse this munmap too, the range
         * is lost (counted in unmap_failures): nothing could describe it. */
        hk_side_destroy(ss);
        (void)hk_os_unmap(m.raw, m.raw_size);
        hk_ss_failed = HK_SS_SIZE;
        errno = ENOMEM;
        return NULL;
    }
    ss->magic = HK_SS_MAGIC;
    hk_ss_all_push(ss);
    HK_PSTAT_ADD(superslabs_mapped, 1);
    HK_PSTAT_ADD(superslab_bytes, m.raw_size);
    return ss;
}

/* Drops the pages of a cached SuperSlab, all but its header's. */
static void hk_ss_purge(struct hk_superslab *ss)
{
    size_t hdr = hk_ss_header_size();
    (void)hk_os_discard((char *)ss + hdr, HK_SS_SIZE - hdr);   /* only RSS at stake */
    ss->purged = 1;
}

/* Returns ss to the OS; false (ss as before, registered, purged) when the kernel refuses.
 * The registry is cleared first: from then on a free of a stale pointer is "not ours". What
 * the unmap takes away is read before it. */
static bool hk_ss_unmap(struct hk_superslab *ss)
{
    struct hk_side *side = ss->side;
    void *raw = ss->raw;
    size_t raw_size = ss->raw_size;
    hk_registry_clear(ss, HK_SS_SIZE);
    hk_ss_all_remove(ss);
    ss->magic = 0;
    if (hk_os_unmap(raw, raw_size)) {
        ss->magic = HK_SS_MAGIC;
        hk_ss_all_push(ss);
        /* The leaves it used exist, so this cannot fail. */
        (void)hk_registry_set(ss, HK_SS_SIZE, HK_CHUNK_SUPERSLAB, HK_CHUNK_SUPERSLAB);
        hk_ss_purge(ss);
        return false;
    }
    hk_side_free(side);
    HK_PSTAT_ADD(superslabs_unmapped, 1);
    HK_PSTAT_SUB(superslab_bytes, raw_size);
    return true;
}

/* Into the empty cache, at its head: the cache is ordered by age, youngest first. */
static void hk_ss_cache_push(struct hk_superslab *ss, uint64_t now)
{
    ss->cached_ns = now;
    hk_ss_list_push(&hk_ss_cache, ss);
    hk_ss_cache_count++;
    HK_PSTAT_ADD(superslabs_cached, 1);
}

static void hk_ss_cache_remove(struct hk_superslab *ss)
{
    hk_ss_list_remove(&hk_ss_cache, ss);
    hk_ss_cache_count--;
    HK_PSTAT_SUB(superslabs_cached, 1);
}

/* SuperSlabs whose munmap was refused go back into the cache, purged, as young ones: they
 * are used before anything is mapped, and tried again when they age out. */
static void hk_ss_cache_keep(struct hk_dlist *refused, uint64_t now)
{
    struct hk_superslab *ss;
    while ((ss = HK_SS_OF(hk_dlist_first(refused)))) {
        hk_ss_list_remove(refused, ss);
        hk_ss_cache_push(ss, now);
    }
}

/* The cache's ages, checked from its oldest end: SuperSlabs leave for the OS while there are
 * too many or they are too old, then those past the purge age or the warm count give their
 * pages back. */
static void hk_ss_cache_age(uint64_t now)
{
    struct hk_dlist refused = {NULL};
    struct hk_superslab *ss = HK_SS_OF(hk_dlist_last(&hk_ss_cache));
    while (ss && (hk_ss_cache_count > HK_SS_CACHE_MAX || now - ss->cached_ns > HK_SS_UNMAP_NS)) {
        struct hk_superslab *younger = HK_SS_OF(ss->link.prev);
        hk_ss_cache_remove(ss);
        if (!hk_ss_unmap(ss))
            hk_ss_list_push(&refused, ss);
        ss = younger;
    }
    for (unsigned ahead = hk_ss_cache_count - 1;   /* younger ones than ss */
         ss && (ahead >= HK_SS_WARM_MAX || now - ss->cached_ns > HK_SS_PURGE_NS);
         ss = HK_SS_OF(ss->link.prev), ahead--)
        if (!ss->purged)
            hk_ss_purge(ss);
    hk_ss_cache_keep(&refused, now);
}

/* An empty SuperSlab enters the cache with its pages. */
static void hk_ss_cache_put(struct hk_superslab *ss)
{
    uint64_t now = hk_os_monotonic_ns();
    ss->purged = 0;
    hk_ss_cache_push(ss, now);
    hk_ss_cache_age(now);
}

/* The youngest cached SuperSlab, out of the cache: unless the kernel refused to unmap it
 * (those come back purged, as young ones), the likeliest to have its pages. */
static struct hk_superslab *hk_ss_cache_take(void)
{
    struct hk_superslab *ss = HK_SS_OF(hk_dlist_first(&hk_ss_cache));
    if (ss) {
        hk_ss_cache_remove(ss);
        hk_ss_cache_age(hk_os_monotonic_ns());
    }
    return ss;
}

/* A SuperSlab with a free slab of the given kind: partial list, then the cache, then a new
 * mapping. */
static struct hk_superslab *hk_ss_with_free_slab(unsigned shift, bool may_map)
{
    unsigned kind = hk_kind_of_shift(shift);
    struct hk_superslab *ss = HK_SS_OF(hk_dlist_first(&hk_ss_partial[kind]));
    if (ss)
        return ss;
    /* Before growing, take back orphans whose blocks have all been freed. */
    if (hk_dlist_empty(&hk_ss_cache) && hk_orphans_collect_locked() &&
        !hk_dlist_empty(&hk_ss_partial[kind]))
        return HK_SS_OF(hk_dlist_first(&hk_ss_partial[kind]));
    ss = hk_ss_cache_take();
    if (!ss) {
        if (!may_map)
            return NULL;
        ss = hk_ss_map();
        if (!ss)
            return NULL;
    }
    hk_ss_format(ss, shift);
    hk_ss_list_push(&hk_ss_partial[kind], ss);
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
    atomic_store_explicit(hk_slab_remote(s), NULL, HK_RELAXED);
    hk_dlink_init(&s->link);
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

struct hk_slab *hk_slab_acquire(unsigned cls, struct hk_heap *h, bool may_map)
{
    unsigned shift = hk_class_info[cls].slab_shift;
    hk_lock(&hk_ss_lock);
    struct hk_superslab *ss = hk_ss_with_free_slab(shift, may_map);
    if (!ss) {
        hk_unlock(&hk_ss_lock);
        return NULL;
    }
    unsigned i = (unsigned)__builtin_ctz(ss->free_mask);
    ss->free_mask &= ~(1u << i);
    ss->slabs_used++;
    if (!ss->free_mask) {
        hk_ss_list_remove(&hk_ss_partial[hk_kind_of_shift(shift)], ss);
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
    HK_ASSERT(s->used == 0 && !hk_slab_remote_pending(s));
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
        hk_ss_list_push(&hk_ss_partial[kind], ss);
        ss->in_partial = 1;
    }
    if (ss->slabs_used)
        return;
    /* Whole SuperSlab empty: to the cache, or back to the OS. */
    hk_ss_list_remove(&hk_ss_partial[kind], ss);
    ss->in_partial = 0;
    hk_ss_cache_put(ss);
}

void hk_slab_release(struct hk_slab *s)
{
    hk_lock(&hk_ss_lock);
    hk_slab_release_locked(s);
    hk_unlock(&hk_ss_lock);
}

/* Every drain is counted once, where it happens: into the calling thread's own heap (its
 * counters are written by that thread alone), or the unowned counts. */
static void hk_slab_count_drained(unsigned cls, uint32_t n)
{
    if (!hk_config_stats || !n)
        return;
    struct hk_heap *h = hk_tls_own;
    if (h)
        h->stats.cls[cls].remote_drained += n;
    else
        atomic_fetch_add_explicit(&hk_drained_unowned[cls], n, HK_RELAXED);
}

uint64_t hk_slab_drained_unowned(unsigned cls)
{
    return atomic_load_explicit(&hk_drained_unowned[cls], HK_RELAXED);
}

/* The remote stack from `first` is already a list of free blocks linked as a freelist is
 * (hk_slab_remote_push links with hk_block_push_onto): when every block is a free block of
 * s and the list ends within s->used blocks, it can join the freelist whole. Returns its
 * last block and *n its length, reading the blocks only; NULL for anything else (a bad
 * link, a loop: a list that ends holds no block twice), which the careful drain handles. */
static struct hk_block *hk_slab_remote_tail(struct hk_slab *s, struct hk_block *first,
                                            uint32_t *n)
{
    uint32_t k = 0;
    struct hk_block *last = NULL;
    for (struct hk_block *b = first; b; b = hk_block_next(b)) {
        if (k == s->used || !hk_slab_is_block_start(s, b) || !hk_block_is_free(b))
            return NULL;
        k++;
        last = b;
    }
    *n = k;
    return last;
}

/* The drain that checks every block on the way and writes each twice. First the count:
 * each block must be a free block of s, and its mark is cleared as it is counted, so a
 * stack that loops back (a block written after its free, then freed again) ends at the
 * block seen twice; a bad link is reported and the rest dropped. Then the blocks counted go
 * onto the freelist, so `used` stays exact. In shadow mode every block also moves in the
 * census. */
static uint32_t hk_slab_drain_careful(struct hk_slab *s, struct hk_block *first)
{
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
    return n;
}

/* One read of each block in the common case: the stack joins the freelist whole, its
 * last block relinked to the old head. */
uint32_t hk_slab_drain_remote(struct hk_slab *s)
{
    if (!hk_slab_remote_pending(s))
        return 0;
    struct hk_block *first = atomic_exchange_explicit(hk_slab_remote(s), NULL, HK_ACQUIRE);
    uint32_t n = 0;
    struct hk_block *last = hk_shadow_on ? NULL : hk_slab_remote_tail(s, first, &n);
    if (last) {
        hk_block_push_onto(last, s->free);
        s->free = first;
    } else {
        n = hk_slab_drain_careful(s, first);
    }
    HK_ASSERT(n <= s->used);
    s->used -= n;
    hk_slab_count_drained(s->class_idx, n);
    return n;
}

void hk_slab_remote_push(struct hk_slab *s, struct hk_block *b)
{
    _Atomic(struct hk_block *) *top = hk_slab_remote(s);
    struct hk_block *old = atomic_load_explicit(top, HK_RELAXED);
    do {
        hk_block_push_onto(b, old);
    } while (!atomic_compare_exchange_weak_explicit(top, &old, b, HK_RELEASE, HK_RELAXED));
}

static void hk_orphan_push(struct hk_slab *s)
{
    hk_dlist_insert(&hk_orphans[s->class_idx], &s->link);
    atomic_fetch_add_explicit(&hk_orphan_count[s->class_idx], 1, HK_RELAXED);
}

static struct hk_slab *hk_orphan_unlink(struct hk_slab *s)
{
    hk_dlist_remove(&hk_orphans[s->class_idx], &s->link);
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

static void hk_slab_own(struct hk_slab *s, struct hk_heap *h)
{
    hk_slab_set_state(s, HK_SLAB_OWNED);
    atomic_store_explicit(&s->owner, h, HK_RELEASE);
}

struct hk_slab *hk_slab_adopt(unsigned cls, struct hk_heap *h)
{
    if (!atomic_load_explicit(&hk_orphan_count[cls], HK_RELAXED))
        return NULL;           /* a stale zero only means a new slab instead of an orphan */
    hk_lock(&hk_ss_lock);
    /* Only orphans that have blocks to give: full ones stay until frees reach them (and
     * claim them). The scan is bounded; collection (hk_orphans_collect) handles the rest. */
    struct hk_slab *s = NULL;
    struct hk_slab *t = HK_SLAB_OF_LINK(hk_dlist_first(&hk_orphans[cls]));
    for (int seen = 0; t && seen < 64; t = HK_SLAB_OF_LINK(t->link.next), seen++) {
        if (t->free || t->carved < t->capacity || hk_slab_remote_pending(t)) {
            s = hk_orphan_unlink(t);
            hk_slab_own(s, h);
            break;
        }
    }
    hk_unlock(&hk_ss_lock);
    return s;
}

bool hk_slab_claim(struct hk_slab *s, struct hk_heap *h)
{
    hk_lock(&hk_ss_lock);
    bool owned = false;
    if (hk_slab_state(s) == HK_SLAB_ORPHAN) {
        hk_orphan_unlink(s);
        hk_slab_drain_remote(s);
        if (s->used == 0) {
            hk_slab_release_locked(s);
        } else {
            hk_slab_own(s, (struct hk_heap *)((uintptr_t)h | HK_OWNER_CLAIMED));
            owned = true;
        }
    }
    hk_unlock(&hk_ss_lock);
    return owned;
}

/* Under hk_ss_lock. */
static unsigned hk_orphans_collect_locked(void)
{
    unsigned released = 0;
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        struct hk_slab *s = HK_SLAB_OF_LINK(hk_dlist_first(&hk_orphans[c]));
        while (s) {
            struct hk_slab *next = HK_SLAB_OF_LINK(s->link.next);
            hk_slab_drain_remote(s);
            if (s->used == 0) {
                hk_slab_release_locked(hk_orphan_unlink(s));
                released++;
            }
            s = next;
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

void hk_superslab_age(void)
{
    hk_lock(&hk_ss_lock);
    hk_ss_cache_age(hk_os_monotonic_ns());
    hk_unlock(&hk_ss_lock);
}

void hk_superslab_trim(void)
{
    hk_lock(&hk_ss_lock);
    struct hk_dlist refused = {NULL};
    struct hk_superslab *ss;
    while ((ss = HK_SS_OF(hk_dlist_first(&hk_ss_cache)))) {
        hk_ss_cache_remove(ss);
        if (!hk_ss_unmap(ss))
            hk_ss_list_push(&refused, ss);
    }
    hk_ss_cache_keep(&refused, hk_os_monotonic_ns());
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
