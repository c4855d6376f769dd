/* The large tier: requests above HK_MID_MAX (512 KiB, or with alignment above a page) get their own
 * mapping, aligned to a registry chunk (2 MiB) so that free() can find the header from the
 * registry without touching memory that may not be ours.
 *
 *   raw (what the kernel mapped; = base unless a trim of the alignment slack was refused)
 *   | (slack) | header (128 B) | .. pad to alignment .. | user block .. | (page round) | (slack) |
 *             ^ chunk-aligned base
 *
 * A small cache keeps recently freed mappings for reuse: the number of mappings a process
 * may have is limited (vm.max_map_count) and mmap/munmap are system calls. A mapping whose
 * munmap the kernel refuses is kept, its pages dropped, and is reused before anything new
 * is mapped (docs/architecture.md, "Mapping policy"). */
#include "hk_large.h"
#include "hk_checked.h"
#include "hk_dlist.h"
#include "hk_hooks.h"
#include "hk_lock.h"
#include "hk_os.h"
#include "hk_registry.h"
#include "hk_stats.h"

#include <errno.h>
#include <string.h>
#include <sys/sysinfo.h>

#define HK_LARGE_MAGIC   0x484b4c4152474521ull   /* live block */
#define HK_LARGE_CACHED  0x484b4c4152474543ull   /* in the cache: a free now is a double free */
#define HK_LARGE_HDR     128u   /* room for struct hk_large (checked below) */

/* The cache absorbs churn of large blocks (mmap and munmap are system calls, each mapping
 * costs a VMA, and every page of a new mapping faults again). It holds HK_LARGE_CACHE_BYTES_MAX
 * or a quarter of the live large bytes, whichever is more, so a program with a big live set
 * of large blocks reuses their pages as glibc's heap would. An entry goes back to the OS
 * (checked when a block enters the cache) once it is older than HK_LARGE_CACHE_AGE_NS and
 * HK_LARGE_CACHE_AGE_FREES large frees have entered after it: a burst does not pin memory,
 * and a program that frees one large block now and then (slow work between) still reuses
 * it. How the sizes and the age were chosen, with the measurements: docs/benchmarks.md,
 * "large cache". */
#define HK_LARGE_CACHE_MAX        64
#define HK_LARGE_CACHE_ENTRY_MAX  (32 * HK_MiB)
#define HK_LARGE_CACHE_BYTES_MAX  (64 * HK_MiB)
#define HK_LARGE_CACHE_AGE_NS     (50ull * 1000 * 1000)
#define HK_LARGE_CACHE_AGE_FREES  16u
/* A cached mapping taken for less than half of it lends the live block its tail (the pages
 * past the request, resident) for HK_LARGE_LENT_AGE_NS: freed by then, the block goes back
 * to the cache whole, its pages resident; still live, the tail is given back (madvise) at the
 * next large free, cache hit or heap's periodic reclaim after that, one loan per call (so
 * hk_large_lock is held for one madvise at most; hakmem_collect(1) gives back all), and a
 * long-lived small block does not hold a big one's pages. Lent tails together hold at most
 * HK_LARGE_CACHE_BYTES_MAX (past it a tail is given back at once); a program that stops
 * allocating keeps them until hakmem_collect(1). Such a block's usable size is its request,
 * page-rounded, for the whole of its life. */
#define HK_LARGE_LENT_AGE_NS      (50ull * 1000 * 1000)

/* Header at the base of every large mapping. */
struct hk_large {
    uint64_t magic;
    size_t map_size;                 /* bytes usable from base */
    void *raw;                       /* the whole mapping, unmapped in one piece: */
    size_t raw_size;                 /* [raw, raw + raw_size) contains [base, base + map_size) */
    size_t user_off;                 /* user pointer = base + user_off */
    size_t requested;
    struct hk_dlink link;            /* cache, kept or lent list (most recent first) */
    struct hk_dlink live;            /* diagnostic mode: list of live blocks */
    uint32_t stack;                  /* diagnostic mode: allocation stack id */
    uint32_t diag;                   /* on the live list */
    union {
        struct {                     /* in the cache */
            uint64_t cached_ns;      /* when it entered the cache */
            uint64_t cached_seq;     /* hk_large_cache_seq then */
        };
        struct {                     /* live */
            uint64_t lent_ns;        /* when its tail was lent; 0 when not on the lent list */
            size_t use_end;          /* 0, or the end of what it may use (from the base): set
                                      * before it is handed out, fixed for its life */
        };
    };
};

_Static_assert(sizeof(struct hk_large) + HK_FRONT_GUARD <= HK_LARGE_HDR,
               "large header overlaps the block or its front guard (shadow mode)");

static HK_LOCK_DEFINE(hk_large_lock, HK_RANK_LARGE);
/* The lists and their sizes under hk_large_lock. */
static struct hk_dlist hk_large_live;       /* diagnostic mode only, by live */
static struct hk_dlist hk_large_cache;      /* by link */
/* Mappings whose munmap was refused: out of the registry, pages dropped, reused first. */
static struct hk_dlist hk_large_kept;       /* by link */
static struct hk_dlist hk_large_lent;       /* live blocks lending a tail, by link */
static size_t hk_large_lent_bytes;
static atomic_uint hk_large_kept_count;    /* peeked without the lock */
static atomic_uint hk_large_cache_count;   /* peeked without the lock */
static size_t hk_large_cache_bytes;
static uint64_t hk_large_cache_seq;        /* blocks that entered the cache, ever */
static atomic_size_t hk_large_live_bytes;  /* mapped bytes of the live large blocks */
static atomic_size_t hk_large_limit; /* requests above this fail without a mapping attempt */

/* A block that was lent a tail may use only what lies before it. */
static inline size_t hk_large_usable(const struct hk_large *l)
{
    return (l->use_end ? l->use_end : l->map_size) - l->user_off;
}

size_t hk_large_live_mapped(void)
{
    return atomic_load_explicit(&hk_large_live_bytes, HK_RELAXED);
}

/* No single block may exceed physical memory plus swap: under overcommit a bigger mapping
 * could succeed and the process would be killed later, on touch. */
size_t hk_large_max_request(void)
{
    size_t limit = atomic_load_explicit(&hk_large_limit, HK_RELAXED);
    if (limit)
        return limit;
    limit = (size_t)1 << 46;
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
        unsigned __int128 total = ((unsigned __int128)si.totalram + si.totalswap) * si.mem_unit;
        if (total && total < limit)
            limit = (size_t)total;
    }
    atomic_store_explicit(&hk_large_limit, limit, HK_RELAXED);   /* racers store the same */
    return limit;
}

#define HK_LARGE_OF(lk) HK_DLIST_ENTRY((lk), struct hk_large, link)

static void hk_cache_remove(struct hk_large *l)
{
    hk_dlist_remove(&hk_large_cache, &l->link);
    hk_large_cache_count--;
    hk_large_cache_bytes -= l->map_size;
}

/* The head of list, unlinked, or NULL: for lists taken whole out of the lock. */
static struct hk_large *hk_large_pop(struct hk_dlist *list)
{
    struct hk_large *l = HK_LARGE_OF(hk_dlist_first(list));
    if (l)
        hk_dlist_remove(list, &l->link);
    return l;
}

/* l's mapping could not be unmapped: it stays ours, out of the registry, on the kept list,
 * with its pages (but the header's) given back. */
static void hk_large_keep(struct hk_large *l)
{
    size_t page = hk_os_page_size();
    if (l->map_size > page)
        (void)hk_os_discard((char *)l + page, l->map_size - page);   /* only RSS at stake */
    hk_lock(&hk_large_lock);
    l->magic = HK_LARGE_CACHED;
    hk_dlist_insert(&hk_large_kept, &l->link);
    hk_large_kept_count++;
    hk_unlock(&hk_large_lock);
    HK_PSTAT_ADD(large_kept, 1);
}

/* One try to unmap l (out of every list, out of the registry); false when refused. */
static bool hk_large_unmap_once(struct hk_large *l)
{
    void *raw = l->raw;
    size_t raw_size = l->raw_size;
    if (hk_os_unmap(raw, raw_size))
        return false;
    HK_PSTAT_ADD(large_unmapped, 1);
    HK_PSTAT_SUB(large_bytes, raw_size);
    return true;
}

/* The oldest kept mapping, off the list, or NULL. */
static struct hk_large *hk_kept_oldest(void)
{
    hk_lock(&hk_large_lock);
    struct hk_large *l = HK_LARGE_OF(hk_dlist_last(&hk_large_kept));
    if (l) {
        hk_dlist_remove(&hk_large_kept, &l->link);
        hk_large_kept_count--;
    }
    hk_unlock(&hk_large_lock);
    if (l)
        HK_PSTAT_SUB(large_kept, 1);
    return l;
}

/* Gives l's whole mapping back to the OS; the registry is cleared first, so a stale free
 * never reads an unmapped header. When the kernel refuses, l is kept. After a success the
 * kept mappings are retried, oldest first, while the kernel accepts. */
static void hk_large_unmap(struct hk_large *l)
{
    l->magic = 0;
    hk_registry_clear(l, l->map_size);
    while (l && hk_large_unmap_once(l))
        l = hk_kept_oldest();
    if (l)
        hk_large_keep(l);
}

/* The smallest kept mapping that holds need bytes, registered again, or NULL. */
static struct hk_large *hk_kept_take(size_t need)
{
    if (!atomic_load_explicit(&hk_large_kept_count, HK_RELAXED))
        return NULL;
    hk_lock(&hk_large_lock);
    struct hk_large *best = NULL;
    HK_DLIST_FOREACH(l, &hk_large_kept, struct hk_large, link)
        if (l->map_size >= need && (!best || l->map_size < best->map_size))
            best = l;
    if (best) {
        hk_dlist_remove(&hk_large_kept, &best->link);
        hk_large_kept_count--;
    }
    hk_unlock(&hk_large_lock);
    if (!best)
        return NULL;
    HK_PSTAT_SUB(large_kept, 1);
    if (hk_registry_set(best, best->map_size, HK_CHUNK_LARGE, HK_CHUNK_LARGE_CONT)) {
        hk_large_keep(best);
        return NULL;
    }
    return best;
}

/* The smallest cached mapping that holds `need` bytes, its pages resident (the cache keeps
 * them so that a reuse does not fault). */
static struct hk_large *hk_cache_take(size_t need)
{
    if (!atomic_load_explicit(&hk_large_cache_count, HK_RELAXED))
        return NULL;
    hk_lock(&hk_large_lock);
    struct hk_large *fit = NULL;
    HK_DLIST_FOREACH(l, &hk_large_cache, struct hk_large, link)
        if (l->map_size >= need && (!fit || l->map_size < fit->map_size))
            fit = l;
    if (fit)
        hk_cache_remove(fit);
    hk_unlock(&hk_large_lock);
    return fit;
}

/* Ends l's loan (under hk_large_lock); its tail given back when `give` (l still live). */
static void hk_lent_end(struct hk_large *l, bool give)
{
    hk_dlist_remove(&hk_large_lent, &l->link);
    hk_large_lent_bytes -= l->map_size - l->use_end;
    if (give)
        (void)hk_os_discard((char *)l + l->use_end, l->map_size - l->use_end);   /* RSS only */
    l->lent_ns = 0;
}

/* Gives back the oldest lent tail (the list's tail) if it is past HK_LARGE_LENT_AGE_NS:
 * one per call, so that the lock is held for one madvise at most (under hk_large_lock; now
 * read under it, so no entry is younger than now). */
static void hk_lent_age(uint64_t now)
{
    struct hk_large *t = HK_LARGE_OF(hk_dlist_last(&hk_large_lent));
    if (t && now - t->lent_ns > HK_LARGE_LENT_AGE_NS)
        hk_lent_end(t, true);
}

void hk_large_age(void)
{
    hk_lock(&hk_large_lock);
    hk_lent_age(hk_os_monotonic_ns());
    hk_unlock(&hk_large_lock);
}

/* l came from the cache for `need` bytes (user_off and the request included, page-rounded)
 * and is not yet handed out: its tail is lent, or given back now when it is more than half
 * of l and cannot be lent (the budget, or diagnostic mode, whose guards stay simple). */
static void hk_large_lend(struct hk_large *l, size_t need)
{
    size_t tail = l->map_size - need;
    if (l->map_size / 2 <= need)
        return;
    bool lent = false;
    hk_lock(&hk_large_lock);
    uint64_t now = hk_os_monotonic_ns();
    hk_lent_age(now);
    if (!hk_diag_on && hk_large_lent_bytes + tail <= HK_LARGE_CACHE_BYTES_MAX) {
        l->lent_ns = now;
        l->use_end = need;
        hk_dlist_insert(&hk_large_lent, &l->link);
        hk_large_lent_bytes += tail;
        lent = true;
    }
    hk_unlock(&hk_large_lock);
    if (!lent)
        (void)hk_os_discard((char *)l + need, tail);   /* only RSS at stake */
}

/* A new mapping of need bytes for a request of size; NULL after the OOM event. */
static struct hk_large *hk_large_map(size_t size, size_t need, size_t align)
{
    struct hk_os_map m;
    size_t map_align = align > HK_CHUNK_SIZE ? align : HK_CHUNK_SIZE;
    struct hk_large *l = hk_os_map_aligned(need, map_align, &m);
    if (!l && errno == ENOMEM && (atomic_load_explicit(&hk_large_cache_count, HK_RELAXED) ||
                                  atomic_load_explicit(&hk_large_kept_count, HK_RELAXED))) {
        /* What the cache holds may be what is missing (address space, or mappings under
         * vm.max_map_count): give it back and try once more. */
        hk_large_trim();
        l = hk_os_map_aligned(need, map_align, &m);
    }
    if (!l) {
        hk_oom_event(size, -1, "large", m.tried, errno ? errno : ENOMEM);
        return NULL;
    }
    l->map_size = need;
    l->raw = m.raw;
    l->raw_size = m.raw_size;
    HK_PSTAT_ADD(large_mapped, 1);
    HK_PSTAT_ADD(large_bytes, m.raw_size);
    if (hk_registry_set(l, need, HK_CHUNK_LARGE, HK_CHUNK_LARGE_CONT)) {
        l->magic = 0;
        if (!hk_large_unmap_once(l))
            hk_large_keep(l);
        hk_oom_event(size, -1, "large", need, ENOMEM);
        return NULL;
    }
    return l;
}

static void *hk_large_alloc_impl(size_t size, size_t align, bool zero)
{
    if (align < 16)
        align = 16;
    if (size > hk_large_max_request() || align > hk_large_max_request()) {
        hk_oom_refused(size, align);
        errno = ENOMEM;
        return NULL;
    }
    size_t page = hk_os_page_size();
    size_t user_off = hk_align_up(HK_LARGE_HDR, align);
    /* At least one byte past user_off, so the block (even of size 0) lies in the mapping. */
    size_t need = hk_align_up(user_off + (size ? size : 1), page);
    struct hk_large *l = NULL;
    bool cached = align <= HK_CHUNK_SIZE && (l = hk_cache_take(need));
    if (!cached)
        l = hk_kept_take(need);
    if (l) {
        HK_PSTAT_ADD(large_cache_hits, 1);
        if (zero)   /* a fresh mapping is zero already; a reused one is not */
            memset((char *)l + user_off, 0, size);
    } else if (!(l = hk_large_map(size, need, align))) {
        errno = ENOMEM;
        return NULL;
    }
    l->user_off = user_off;
    l->requested = size;
    hk_dlink_init(&l->link);
    l->lent_ns = 0;                            /* the union held the cache's fields */
    l->use_end = 0;
    if (cached)
        hk_large_lend(l, need);
    hk_dlink_init(&l->live);
    l->diag = 0;
    l->stack = 0;
    atomic_thread_fence(memory_order_release);
    l->magic = HK_LARGE_MAGIC;
    atomic_fetch_add_explicit(&hk_large_live_bytes, l->map_size, HK_RELAXED);
    HK_PSTAT_ADD(large_allocs, 1);
    HK_PSTAT_ADD(large_bytes_requested, size);
    return (char *)l + user_off;
}

void *hk_large_alloc(size_t size, size_t align) { return hk_large_alloc_impl(size, align, false); }

void *hk_large_alloc_zeroed(size_t size) { return hk_large_alloc_impl(size, 16, true); }

/* The header of the large mapping that contains p, via the registry; NULL if none. */
static struct hk_large *hk_large_header(const void *p, unsigned kind)
{
    char *c = hk_chunk_base(p);
    for (size_t steps = 0; kind == HK_CHUNK_LARGE_CONT; steps++) {
        if (steps > ((size_t)1 << 26))
            return NULL;
        c -= HK_CHUNK_SIZE;
        kind = hk_registry_kind(c);
    }
    return kind == HK_CHUNK_LARGE ? (struct hk_large *)c : NULL;
}

/* The live block starting at p, or NULL after reporting what p is. */
static struct hk_large *hk_large_checked(const void *p, unsigned kind, bool report)
{
    struct hk_large *l = hk_large_header(p, kind);
    if (!l) {
        if (report)
            hk_misuse_report(HK_MISUSE_FOREIGN_FREE, p, -1, NULL, NULL);
        return NULL;
    }
    if ((const char *)l + l->user_off == (const char *)p && l->magic == HK_LARGE_MAGIC)
        return l;
    if (report) {
        if (l->magic == HK_LARGE_CACHED)
            hk_misuse_report(HK_MISUSE_DOUBLE_FREE, p, -1, "large-cached", NULL);
        else
            hk_misuse_report(HK_MISUSE_INTERIOR_FREE, p, -1, "large-in-use", NULL);
    }
    return NULL;
}

#define HK_LARGE_CANARY_BYTE 0xca

/* Diagnostic mode: a large block with its stack, on the live list; in shadow mode with the
 * front guard in the 16 bytes before it (the header's room, at least HK_LARGE_HDR before
 * the block) and a canary after the requested bytes when the mapping has room. */
void *hk_large_alloc_diag(size_t size, size_t align, bool zero, uint32_t stack)
{
    char *p = hk_large_alloc_impl(size, align, zero);
    if (!p)
        return NULL;
    struct hk_large *l = (struct hk_large *)hk_chunk_base(p);
    while (hk_registry_kind(l) != HK_CHUNK_LARGE)
        l = (struct hk_large *)((char *)l - HK_CHUNK_SIZE);
    l->stack = stack;
    if (hk_shadow_on)
        hk_guard_write(p);
    if (hk_shadow_on && hk_large_usable(l) - size >= HK_CANARY)
        memset(p + size, HK_LARGE_CANARY_BYTE, HK_CANARY);
    hk_lock(&hk_large_lock);
    l->diag = 1;
    hk_dlist_insert(&hk_large_live, &l->live);
    hk_unlock(&hk_large_lock);
    return p;
}

/* Diagnostic mode, at free: leave the live list; false when the front guard or the canary
 * was overwritten (the block is then kept, never reused). */
static bool hk_large_diag_free(struct hk_large *l, void *p)
{
    if (!l->diag)
        return true;
    if (hk_shadow_on && !hk_guard_intact(p)) {
        hk_misuse_report(HK_MISUSE_UNDERFLOW, p, -1, "large-in-use", NULL);
        return false;
    }
    if (hk_shadow_on && hk_large_usable(l) - l->requested >= HK_CANARY) {
        const unsigned char *c = (const unsigned char *)p + l->requested;
        for (unsigned i = 0; i < HK_CANARY; i++)
            if (c[i] != HK_LARGE_CANARY_BYTE) {
                hk_misuse_report(HK_MISUSE_OVERFLOW, p, -1, "large-in-use", NULL);
                return false;
            }
    }
    hk_lock(&hk_large_lock);
    hk_dlist_remove(&hk_large_live, &l->live);
    l->diag = 0;
    hk_unlock(&hk_large_lock);
    return true;
}

void hk_large_foreach_live(void (*fn)(void *ctx, void *p, size_t size, size_t usable,
                                      uint32_t stack), void *ctx)
{
    hk_lock(&hk_large_lock);
    HK_DLIST_FOREACH(l, &hk_large_live, struct hk_large, live)
        fn(ctx, (char *)l + l->user_off, l->requested, hk_large_usable(l), l->stack);
    hk_unlock(&hk_large_lock);
}

void hk_large_free(void *p, unsigned kind)
{
    struct hk_large *l = hk_large_checked(p, kind, true);
    if (!l)
        return;
    if (HK_UNLIKELY(hk_diag_on) && !hk_large_diag_free(l, p))
        return;
    HK_PSTAT_ADD(large_frees, 1);
    size_t live = atomic_fetch_sub_explicit(&hk_large_live_bytes, l->map_size, HK_RELAXED) -
                  l->map_size;
    if (l->map_size > HK_LARGE_CACHE_ENTRY_MAX) {   /* never lent: it came from no cache */
        hk_large_unmap(l);
        return;
    }
    struct hk_dlist evict = { NULL };
    hk_lock(&hk_large_lock);
    uint64_t now = hk_os_monotonic_ns();       /* under the lock: entries are never younger */
    if (l->lent_ns)
        hk_lent_end(l, false);                 /* back whole, its pages resident */
    hk_lent_age(now);
    l->cached_ns = now;                        /* the union's cache half from here */
    l->magic = HK_LARGE_CACHED;
    hk_dlist_insert(&hk_large_cache, &l->link);
    l->cached_seq = ++hk_large_cache_seq;
    hk_large_cache_count++;
    hk_large_cache_bytes += l->map_size;
    size_t cap = live / 4 > HK_LARGE_CACHE_BYTES_MAX ? live / 4 : HK_LARGE_CACHE_BYTES_MAX;
    /* Evict the oldest entries beyond the limits or past their age (unmapped outside the
     * lock below). The list is most recent first, so the oldest is at the tail. */
    struct hk_large *t = HK_LARGE_OF(hk_dlist_last(&hk_large_cache));
    while (t && (hk_large_cache_count > HK_LARGE_CACHE_MAX || hk_large_cache_bytes > cap ||
                 (now - t->cached_ns > HK_LARGE_CACHE_AGE_NS &&
                  hk_large_cache_seq - t->cached_seq >= HK_LARGE_CACHE_AGE_FREES))) {
        struct hk_large *prev = HK_LARGE_OF(t->link.prev);
        hk_cache_remove(t);
        hk_dlist_insert(&evict, &t->link);
        t = prev;
    }
    hk_unlock(&hk_large_lock);
    for (struct hk_large *e; (e = hk_large_pop(&evict));)
        hk_large_unmap(e);
}

size_t hk_large_usable_size(const void *p, unsigned kind)
{
    struct hk_large *l = hk_large_checked(p, kind, false);
    return l ? hk_large_usable(l) : 0;
}

size_t hk_large_requested_size(const void *p, unsigned kind)
{
    struct hk_large *l = hk_large_checked(p, kind, false);
    return l ? l->requested : 0;
}

/* Grows or shrinks in place when the mapping allows it and keeps at least half in use. */
bool hk_large_resize_in_place(void *p, unsigned kind, size_t size)
{
    struct hk_large *l = hk_large_checked(p, kind, false);
    if (!l)
        return false;
    size_t usable = hk_large_usable(l);
    if (size > usable || size < usable / 2)
        return false;
    l->requested = size;
    return true;
}

/* Everything cached or kept goes back to the OS (what the kernel refuses stays kept), and
 * every lent tail. */
void hk_large_trim(void)
{
    hk_lock(&hk_large_lock);
    for (struct hk_large *l; (l = HK_LARGE_OF(hk_dlist_first(&hk_large_lent)));)
        hk_lent_end(l, true);
    struct hk_dlist all = hk_large_cache, kept = hk_large_kept;
    hk_dlist_init(&hk_large_cache);
    hk_dlist_init(&hk_large_kept);
    hk_large_cache_count = 0;
    hk_large_cache_bytes = 0;
    unsigned nkept = hk_large_kept_count;
    hk_large_kept_count = 0;
    hk_unlock(&hk_large_lock);
    HK_PSTAT_SUB(large_kept, nkept);
    for (struct hk_large *l; (l = hk_large_pop(&all));)
        hk_large_unmap(l);
    for (struct hk_large *l; (l = hk_large_pop(&kept));)
        if (!hk_large_unmap_once(l))
            hk_large_keep(l);
}
