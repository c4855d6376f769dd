/* The slow paths of the slab tiers (tiny and mid): refill, spill, remote frees, checks.
 *
 * Levels, top to bottom:  fast cache -> TLS list -> owned slabs (freelist, carve, remote)
 * -> orphaned slabs -> a new slab from a SuperSlab. A block moves up on allocation and down
 * on spill; it never stays in a thread cache longer than it takes the cache to pass its cap,
 * the thread to exit, or hakmem_collect() to run (docs/architecture.md, "lifecycle"). */
#include "hk_heap.h"
#include "hk_misuse.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_shadow.h"
#include "hk_stats.h"

#include <errno.h>

/* Marks a block as freed (second word); cleared when the block is handed out. A random
 * 64-bit value, so a program storing it by chance is practically impossible. */
uint64_t hk_free_key = 0x6b6d656d66726565ull;

#define HK_STAT(h, c, field, v) \
    ((void)(hk_config_stats && ((h)->stats.cls[c].field += (v))))

/* ---- owned slab list of a heap (per class; the head is the active slab) ---- */

static void hk_heap_slab_link(struct hk_heap *h, struct hk_slab *s)
{
    s->next = h->slabs[s->class_idx];
    h->slabs[s->class_idx] = s;
}

/* The list is singly linked (a slab is one cache line): find s's link first. Lists are short
 * (the slabs one thread owns in one class), and this runs once per released slab. */
static void hk_heap_slab_unlink(struct hk_heap *h, struct hk_slab *s)
{
    struct hk_slab **link = &h->slabs[s->class_idx];
    while (*link && *link != s)
        link = &(*link)->next;
    if (*link)
        *link = s->next;
    s->next = NULL;
}

/* Gives a block back to its slab freelist (owner side). An empty slab that is not the
 * active one goes back to its SuperSlab. */
static void hk_slab_put(struct hk_heap *h, struct hk_slab *s, void *p, unsigned from)
{
    HK_SHADOW_MOVE(p, from, HK_BLOCK_SLAB_FREE);
    *(void **)p = s->free;
    s->free = p;
    if (--s->used == 0 && h->slabs[s->class_idx] != s) {
        hk_heap_slab_unlink(h, s);
        hk_slab_release(s);
    }
}

/* Diagnostic mode: a link read from a thread list must be a block parked in that list (a
 * write after free could have replaced it with anything). The side table says so in one
 * lookup: only the entry at a block's start carries a parked state. */
static bool hk_link_ok(const void *q, unsigned state)
{
    if (!q)
        return true;
    if (hk_registry_kind(q) != HK_CHUNK_SUPERSLAB || ((uintptr_t)q & 15))
        return false;
    struct hk_shadow *e = hk_shadow_of(q);
    return e && e->state == state;
}

/* Pops the head of a thread list (fast cache or TLS list). In shadow mode the next link
 * is checked first; a bad one is reported and the rest of the list is dropped (its blocks
 * are lost, never handed out). */
static void *hk_list_pop(void **head, uint32_t *count, unsigned cls, unsigned state)
{
    void *p = *head;
    void *next = *(void **)p;
    if (HK_UNLIKELY(hk_shadow_on) && !hk_link_ok(next, state)) {
        hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, p, (int)cls, "thread-list");
        next = NULL;
        *count = 1;
    }
    *head = next;
    (*count)--;
    return p;
}

static bool hk_slab_has_blocks(struct hk_slab *s)
{
    return s->free || s->carved < s->capacity ||
           atomic_load_explicit(&s->remote, HK_RELAXED);
}

/* Takes up to `want` blocks from slab s onto *list; returns how many. A freelist entry that
 * is not a block of s means the freelist was overwritten (use after free): it is reported
 * and the rest of the freelist is dropped rather than handed out. */
static uint32_t hk_slab_take(struct hk_heap *h, struct hk_slab *s, uint32_t want, void **list)
{
    uint32_t got = 0;
    if (!s->free && s->carved == s->capacity) {
        uint32_t n = hk_slab_drain_remote(s);
        HK_STAT(h, s->class_idx, remote_drained, n);
    }
    while (got < want && s->free) {
        void *p = s->free;
        if (HK_UNLIKELY(!hk_slab_is_block_start(s, p))) {
            hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, p, s->class_idx, "slab-free");
            s->free = NULL;
            break;
        }
        s->free = *(void **)p;
        *(void **)p = *list;
        *list = p;
        HK_SHADOW_MOVE(p, HK_BLOCK_SLAB_FREE, HK_BLOCK_TLS_LIST);
        got++;
    }
    while (got < want && s->carved < s->capacity) {
        void *p = hk_slab_block0(s) + (size_t)s->carved++ * s->block_size;
        HK_SHADOW_MOVE(p, HK_BLOCK_UNCARVED, HK_BLOCK_TLS_LIST);
        *(void **)p = *list;
        *list = p;
        got++;
    }
    s->used += got;
    return got;
}

/* Finds a slab of class cls with blocks: the active one, another owned one (draining remote
 * frees), an orphan, or a new one. NULL when memory is exhausted. */
static struct hk_slab *hk_heap_slab_with_blocks(struct hk_heap *h, unsigned cls)
{
    struct hk_slab *s = h->slabs[cls];
    if (s && hk_slab_has_blocks(s))
        return s;
    if (s) {
        for (struct hk_slab **link = &s->next; *link; link = &(*link)->next) {
            struct hk_slab *t = *link;
            uint32_t n = hk_slab_drain_remote(t);
            HK_STAT(h, cls, remote_drained, n);
            if (hk_slab_has_blocks(t)) {
                *link = t->next;             /* move to the front: the new active slab */
                hk_heap_slab_link(h, t);
                return t;
            }
        }
    }
    for (int tries = 0; tries < 4; tries++) {
        struct hk_slab *t = hk_slab_adopt(cls, h);
        if (!t)
            break;
        uint32_t n = hk_slab_drain_remote(t);
        HK_STAT(h, cls, remote_drained, n);
        hk_heap_slab_link(h, t);
        if (hk_slab_has_blocks(t))
            return t;
    }
    s = hk_slab_acquire(cls, h);
    if (!s) {
        /* Before reporting OOM, take back what orphans hold and try once more. */
        if (hk_orphans_collect())
            s = hk_slab_acquire(cls, h);
        if (!s)
            return NULL;
    }
    hk_heap_slab_link(h, s);
    return s;
}

/* Fills *list with up to `want` blocks of class cls from slabs. */
static uint32_t hk_heap_take(struct hk_heap *h, unsigned cls, uint32_t want, void **list)
{
    uint32_t got = 0;
    while (got < want) {
        struct hk_slab *s = hk_heap_slab_with_blocks(h, cls);
        if (!s)
            break;
        got += hk_slab_take(h, s, want - got, list);
    }
    return got;
}

/* Spills the first n blocks of the TLS list back to their slabs. */
static void hk_tls_spill(struct hk_heap *h, unsigned cls, uint32_t n)
{
    struct hk_list *tl = &h->tls[cls];
    uint32_t done = 0;
    while (done < n && tl->head) {
        void *p = tl->head;
        tl->head = *(void **)p;
        hk_slab_put(h, hk_slab_of(hk_ss_of(p), p), p, HK_BLOCK_TLS_LIST);
        done++;
    }
    tl->count -= done;
    HK_STAT(h, cls, spills, 1);
    HK_STAT(h, cls, spill_blocks, done);
}

/* Moves n blocks from the fast cache to the TLS list, spilling the TLS list when it passes
 * its cap (unless HAKMEM_TINY_TLS_LIST_SPILL=0, the reference's failure mode). */
static void hk_fast_spill(struct hk_heap *h, unsigned cls, uint32_t n)
{
    struct hk_fast *fc = &h->fast[cls];
    struct hk_list *tl = &h->tls[cls];
    for (uint32_t i = 0; i < n && fc->head; i++) {
        void *p = fc->head;
        fc->head = *(void **)p;
        fc->count--;
        HK_SHADOW_MOVE(p, HK_BLOCK_FAST_CACHE, HK_BLOCK_TLS_LIST);
        *(void **)p = tl->head;
        tl->head = p;
        tl->count++;
    }
    if (tl->count > tl->cap && hk_opt.tls_list_spill)
        hk_tls_spill(h, cls, tl->count - tl->cap / 2);
}

void *hk_heap_alloc_slow(struct hk_heap *h, unsigned cls)
{
    struct hk_fast *fc = &h->fast[cls];
    struct hk_list *tl = &h->tls[cls];
    void *p;
    if (h->state == HK_HEAP_DEAD) {
        /* No caches on the dead heap: one block straight from a slab. */
        p = NULL;
        if (!hk_heap_take(h, cls, 1, &p))
            return NULL;
        HK_SHADOW_MOVE(p, HK_BLOCK_TLS_LIST, HK_BLOCK_FAST_CACHE);
        HK_STAT(h, cls, slow_allocs, 1);
        return p;
    }
    if (fc->head) {
        /* Diagnostic mode sends every malloc here: this pop is the fast path's. */
        p = hk_list_pop(&fc->head, &fc->count, cls, HK_BLOCK_FAST_CACHE);
        if (hk_config_stats)
            fc->hits++;
        return p;
    }
    uint32_t batch = hk_class_info[cls].batch;
    if (!tl->head) {
        uint32_t got = hk_heap_take(h, cls, batch, &tl->head);
        tl->count += got;
        if (!got)
            return NULL;
    }
    uint32_t moved = 0;
    while (moved < batch && tl->head && fc->count < fc->cap) {
        void *b = hk_list_pop(&tl->head, &tl->count, cls, HK_BLOCK_TLS_LIST);
        HK_SHADOW_MOVE(b, HK_BLOCK_TLS_LIST, HK_BLOCK_FAST_CACHE);
        *(void **)b = fc->head;
        fc->head = b;
        fc->count++;
        moved++;
    }
    HK_STAT(h, cls, refills, 1);
    HK_STAT(h, cls, refill_blocks, moved);
    p = hk_list_pop(&fc->head, &fc->count, cls, HK_BLOCK_FAST_CACHE);
    HK_STAT(h, cls, slow_allocs, 1);
    return p;
}

static void hk_remote_push(struct hk_slab *s, void *p)
{
    void *old = atomic_load_explicit(&s->remote, HK_RELAXED);
    do {
        *(void **)p = old;
    } while (!atomic_compare_exchange_weak_explicit(&s->remote, &old, p, HK_RELEASE,
                                                    HK_RELAXED));
}

/* h: the caller's heap (live or the dead heap under its lock). The block passed checks. */
void hk_heap_free_slow(struct hk_heap *h, struct hk_slab *s, void *p)
{
    unsigned cls = s->class_idx;
    HK_STAT(h, cls, frees, 1);
    if (atomic_load_explicit(&s->owner, HK_RELAXED) != h) {
        HK_SHADOW_MOVE(p, HK_BLOCK_IN_USE, HK_BLOCK_REMOTE);
        hk_remote_push(s, p);
        HK_STAT(h, cls, remote_sent, 1);
        return;
    }
    if (h->state == HK_HEAP_DEAD) {
        hk_slab_put(h, s, p, HK_BLOCK_IN_USE);
        return;
    }
    struct hk_fast *fc = &h->fast[cls];
    if (fc->count >= fc->cap)
        hk_fast_spill(h, cls, fc->cap / 2 ? fc->cap / 2 : 1);
    HK_SHADOW_MOVE(p, HK_BLOCK_IN_USE, HK_BLOCK_FAST_CACHE);
    *(void **)p = fc->head;
    fc->head = p;
    fc->count++;
}

void hk_heap_free_block(struct hk_slab *s, void *p)
{
    struct hk_heap *h = hk_heap_get();
    if (HK_LIKELY(h != NULL)) {
        hk_heap_free_slow(h, s, p);
        return;
    }
    hk_heap_dead_lock();
    hk_heap_free_slow(&hk_heap_dead, s, p);
    hk_heap_dead_unlock();
}

void hk_heap_flush(struct hk_heap *h, bool release_empty)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        hk_fast_spill(h, c, h->fast[c].count);
        if (h->tls[c].count)
            hk_tls_spill(h, c, h->tls[c].count);
        struct hk_slab **link = &h->slabs[c];
        while (*link) {
            struct hk_slab *s = *link;
            uint32_t n = hk_slab_drain_remote(s);
            HK_STAT(h, c, remote_drained, n);
            if (release_empty && s->used == 0) {
                *link = s->next;
                s->next = NULL;
                hk_slab_release(s);
            } else {
                link = &s->next;
            }
        }
    }
}

/* Thread exit with HAKMEM_TINY_TLS_LIST_SPILL=0: the fast caches go to the TLS lists, which
 * keep them: the blocks stay parked for good, as in the reference failure. */
void hk_heap_park(struct hk_heap *h)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++)
        hk_fast_spill(h, c, h->fast[c].count);
}

/* Thread exit, after hk_heap_flush: every slab still holding blocks becomes an orphan. */
void hk_heap_orphan_slabs(struct hk_heap *h)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        struct hk_slab *s;
        while ((s = h->slabs[c])) {
            hk_heap_slab_unlink(h, s);
            hk_slab_orphan(s);
        }
    }
}
