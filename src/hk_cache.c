/* The slow paths of the thread caches (tiny and mid classes): refill, spill, remote frees,
 * flush, and the checks of every link they follow.
 *
 * Levels, top to bottom:  fast cache -> (TLS list) -> owned slabs (freelist, carve, remote)
 * -> orphaned slabs -> a new slab from a SuperSlab. A block moves up on allocation and down
 * when the fast cache is full (straight to its slab) or flushed; it never stays in a thread
 * cache longer than it takes the thread to exit or hakmem_collect() to run, and the TLS list
 * holds blocks only with HAKMEM_TINY_TLS_LIST_SPILL=0 (hk_heap.h). Every
 * list operation is hk_block.h's; this file adds the full check of a link the hot path could
 * not vouch for. */
#include "hk_heap.h"
#include "hk_hooks.h"
#include "hk_large.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_side.h"
#include "hk_stats.h"

#include <errno.h>
#include <string.h>

struct hk_keys hk_keys = {0x6b6d656d66726565ull, 0};

#define HK_STAT(h, c, field, v) \
    ((void)(hk_config_stats && ((h)->stats.cls[c].field += (v))))

/* ---- owned slab list of a heap (per class, doubly linked; the head is the active slab) ---- */

static struct hk_slab *hk_heap_active(struct hk_heap *h, unsigned cls)
{
    return HK_SLAB_OF_LINK(hk_dlist_first(&h->slabs[cls]));
}

static void hk_heap_slab_link(struct hk_heap *h, struct hk_slab *s)
{
    hk_dlist_insert(&h->slabs[s->class_idx], &s->link);
}

static void hk_heap_slab_unlink(struct hk_heap *h, struct hk_slab *s)
{
    hk_dlist_remove(&h->slabs[s->class_idx], &s->link);
}

/* ---- links ---- */

/* A link of block b (a free block of class cls) must be a free block's start in a slab of
 * class cls and, in shadow mode, parked in `state`. A link inside b's own chunk needs no
 * registry look-up: the chunk is b's SuperSlab, mapped. */
static bool hk_link_valid(const struct hk_block *b, const struct hk_block *q, unsigned cls,
                          unsigned state)
{
    if (!q)
        return true;
    if ((uintptr_t)q & 15)
        return false;
    bool near = (((uintptr_t)q ^ (uintptr_t)b) >> HK_CHUNK_SHIFT) == 0;
    if (!near && hk_registry_kind(q) != HK_CHUNK_SUPERSLAB)
        return false;
    struct hk_superslab *ss = hk_ss_of(q);
    if (!near && ss->magic != HK_SS_MAGIC)
        return false;
    struct hk_slab *s = hk_slab_of(ss, q);
    if (hk_slab_state(s) == HK_SLAB_UNUSED || s->class_idx != cls ||
        !hk_slab_is_block_start(s, q) || !hk_block_is_free(q))
        return false;
    if (!hk_shadow_on)
        return true;
    struct hk_side *e = hk_side_of(q);
    return e && e->state == state;
}

/* Pops the head of a TLS list: a head without the free mark, or a link that fails
 * hk_link_valid, means the list was overwritten (a write after free, a double free after
 * one); it is reported and the rest of the list is dropped (its blocks are lost, never
 * handed out twice). */
static struct hk_block *hk_list_pop_checked(struct hk_list *l, unsigned cls, unsigned state)
{
    struct hk_block *b = l->head;
    if (!b)
        return NULL;
    if (HK_UNLIKELY(!hk_block_is_free(b) || l->count == 0)) {
        hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, b, (int)cls, "thread-list", NULL);
        l->head = NULL;
        l->count = 0;
        return NULL;
    }
    struct hk_block *next = hk_block_next(b);
    if (HK_UNLIKELY(!hk_link_valid(b, next, cls, state))) {
        hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, next, (int)cls, "thread-list", NULL);
        next = NULL;
        l->count = 1;
    }
    HK_ASSERT(l->count > 0);
    l->head = next;
    l->count--;
    return b;
}

/* A fast cache's slot may be handed out or moved on: it carries the free mark and, in shadow
 * mode, its entry says it is parked in a fast cache. Otherwise the program wrote it after
 * its free (and maybe freed it again, so that it sits in two slots): reported, false. */
static bool hk_fast_slot_ok(struct hk_block *b, unsigned cls)
{
    bool ok = hk_block_is_free(b);
    if (ok && hk_shadow_on) {
        struct hk_side *e = hk_side_of(b);
        ok = !e || e->state == HK_BLOCK_FAST_CACHE;
    }
    if (!ok)
        hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, b, (int)cls, "fast-cache", NULL);
    return ok;
}

/* The top block of fc that passes hk_fast_slot_ok, popped; the slots above it that fail
 * are dropped. NULL when none is left. */
static struct hk_block *hk_fast_pop_checked(struct hk_fast *fc, unsigned cls)
{
    while (fc->count) {
        struct hk_block *b = fc->slot[--fc->count];
        if (hk_fast_slot_ok(b, cls))
            return b;
    }
    return NULL;
}

/* ---- slabs ---- */

/* s has just become empty and is not the active one (or is claimed): back to its
 * SuperSlab. */
static HK_NOINLINE void hk_slab_put_last(struct hk_heap *h, struct hk_slab *s)
{
    hk_heap_slab_unlink(h, s);
    hk_slab_release(s);
}

/* Gives a block back to its slab freelist (owner side). An empty slab that is not the
 * active one goes back to its SuperSlab. Inline: it is the whole of a free past a full
 * fast cache. */
static inline void hk_slab_put(struct hk_heap *h, struct hk_slab *s, struct hk_block *b,
                               unsigned from)
{
    HK_ASSERT(s->used > 0);
    hk_side_move(b, from, HK_BLOCK_SLAB_FREE);
    hk_block_push_onto(b, s->free);
    s->free = b;
    if (HK_UNLIKELY(--s->used == 0) &&
        (hk_heap_active(h, s->class_idx) != s || hk_slab_claimed(s)))
        hk_slab_put_last(h, s);
}

static bool hk_slab_has_blocks(struct hk_slab *s)
{
    return s->free || s->carved < s->capacity || hk_slab_remote_pending(s);
}

/* The head of s's freelist is not a free block of s: the freelist was overwritten (use
 * after free). Reported; the rest is dropped. */
static HK_NOINLINE struct hk_block *hk_slab_pop_bad(struct hk_slab *s)
{
    hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, s->free, s->class_idx, "slab-free", NULL);
    s->free = NULL;
    return NULL;
}

/* Pops the slab freelist's head, checked (hk_slab_pop_bad otherwise). Inline: it is the
 * whole of an allocation past an empty fast cache. */
static inline struct hk_block *hk_slab_pop(struct hk_slab *s)
{
    struct hk_block *b = s->free;
    if (HK_UNLIKELY(!hk_slab_is_block_start(s, b) || !hk_block_is_free(b)))
        return hk_slab_pop_bad(s);
    s->free = hk_block_next(b);
    return b;
}

/* Carves the next never-used block of s. Its mark goes on with the push that follows, and
 * the carved extent grows only now, so a free of a block not yet carved is not a block. */
static struct hk_block *hk_slab_carve(struct hk_slab *s, unsigned to)
{
    struct hk_block *b = (struct hk_block *)(hk_slab_block0(s) +
                                             (size_t)s->carved * s->block_size);
    s->carved++;
    atomic_store_explicit(&s->carved_end, (uint32_t)s->carved * s->block_size, HK_RELAXED);
    hk_side_move(b, HK_BLOCK_UNCARVED, to);
    return b;
}

/* Takes up to `want` blocks from slab s into fc (which has room); returns how many. */
static uint32_t hk_slab_take(struct hk_heap *h, struct hk_slab *s, uint32_t want,
                             struct hk_fast *fc)
{
    uint32_t got = 0;
    if (hk_slab_claimed(s))          /* allocated from: an ordinary owned slab from now on */
        atomic_store_explicit(&s->owner, h, HK_RELAXED);
    if (!s->free)                    /* freed blocks before fresh pages: drain, then carve */
        hk_slab_drain_remote(s);
    struct hk_block *b;
    while (got < want && s->free && (b = hk_slab_pop(s))) {
        hk_side_move(b, HK_BLOCK_SLAB_FREE, HK_BLOCK_FAST_CACHE);
        hk_fast_push(fc, b);
        got++;
    }
    while (got < want && s->carved < s->capacity) {
        hk_fast_push(fc, hk_slab_carve(s, HK_BLOCK_FAST_CACHE));
        got++;
    }
    s->used += got;
    HK_ASSERT(s->used <= s->carved && s->carved <= s->capacity);
    return got;
}

/* What hk_heap_reclaim gives back: the slabs left empty after their remote stacks are
 * drained, except each class's active one (IDLE), or all of them (ALL); NONE only drains. */
enum hk_reclaim { HK_RECLAIM_NONE, HK_RECLAIM_IDLE, HK_RECLAIM_ALL };

/* Every slab h owns, in every class: remote frees come back to the freelists, so that a
 * class the thread no longer allocates gives its memory back too. */
static void hk_heap_reclaim(struct hk_heap *h, enum hk_reclaim what)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        struct hk_slab *next;
        for (struct hk_slab *s = hk_heap_active(h, c); s; s = next) {
            next = HK_SLAB_OF_LINK(s->link.next);
            hk_slab_drain_remote(s);
            bool active = s == hk_heap_active(h, c);
            if (s->used == 0 && (what == HK_RECLAIM_ALL || (what == HK_RECLAIM_IDLE && !active))) {
                hk_heap_slab_unlink(h, s);
                hk_slab_release(s);
            }
        }
    }
}

/* Every HK_RECLAIM_PERIOD trips below the fast caches (refills, frees past a full one), the
 * heap reclaims what its idle classes hold: a thread that stopped allocating a class would
 * otherwise keep that class's remote frees until it allocates it again. The cache of empty
 * SuperSlabs and the large tails lent to live blocks age then too: a program that runs on
 * gives their pages back even when no SuperSlab or large block comes or goes. */
#define HK_RECLAIM_PERIOD 1024

static HK_NOINLINE void hk_heap_period(struct hk_heap *h)
{
    h->ticks = 0;
    hk_heap_reclaim(h, HK_RECLAIM_IDLE);
    hk_superslab_age();
    hk_large_age();
}

static inline void hk_heap_tick(struct hk_heap *h)
{
    if (HK_UNLIKELY(++h->ticks >= HK_RECLAIM_PERIOD))
        hk_heap_period(h);
}

/* Finds a slab of class cls with blocks: the active one, another owned one (draining remote
 * frees), an orphan, or a new one. NULL when memory is exhausted. */
static struct hk_slab *hk_heap_slab_with_blocks(struct hk_heap *h, unsigned cls)
{
    struct hk_slab *s = hk_heap_active(h, cls);
    if (s && hk_slab_has_blocks(s))
        return s;
    if (s) {
        for (struct hk_slab *t = HK_SLAB_OF_LINK(s->link.next); t;
             t = HK_SLAB_OF_LINK(t->link.next)) {
            hk_slab_drain_remote(t);
            if (hk_slab_has_blocks(t)) {
                hk_heap_slab_unlink(h, t);   /* to the front: the new active slab */
                hk_heap_slab_link(h, t);
                return t;
            }
        }
    }
    for (int tries = 0; tries < 4; tries++) {
        struct hk_slab *t = hk_slab_adopt(cls, h);
        if (!t)
            break;
        hk_slab_drain_remote(t);
        hk_heap_slab_link(h, t);
        if (hk_slab_has_blocks(t))
            return t;
    }
    s = hk_slab_acquire(cls, h, false);
    if (!s) {
        /* Before mapping, give back what this heap's other classes hold empty (remote
         * frees included); before reporting OOM, what orphans hold. */
        hk_heap_reclaim(h, HK_RECLAIM_ALL);
        s = hk_slab_acquire(cls, h, true);
        if (!s && hk_orphans_collect())
            s = hk_slab_acquire(cls, h, true);
        if (!s)
            return NULL;
    }
    hk_heap_slab_link(h, s);
    return s;
}

/* Fills fc (with room for them) with up to `want` blocks of class cls from slabs. */
static uint32_t hk_heap_take(struct hk_heap *h, unsigned cls, uint32_t want, struct hk_fast *fc)
{
    uint32_t got = 0;
    while (got < want) {
        struct hk_slab *s = hk_heap_slab_with_blocks(h, cls);
        if (!s)
            break;
        got += hk_slab_take(h, s, want - got, fc);
    }
    return got;
}

/* ---- spills ---- */

/* Spills the first n blocks of the TLS list back to their slabs. */
static void hk_tls_spill(struct hk_heap *h, unsigned cls, uint32_t n)
{
    struct hk_list *tl = &h->tls[cls];
    uint32_t done = 0;
    struct hk_block *b;
    while (done < n && (b = hk_list_pop_checked(tl, cls, HK_BLOCK_TLS_LIST))) {
        hk_slab_put(h, hk_slab_of(hk_ss_of(b), b), b, HK_BLOCK_TLS_LIST);
        done++;
    }
    HK_STAT(h, cls, spills, 1);
    HK_STAT(h, cls, spill_blocks, done);
}

/* Moves the n oldest blocks of the fast cache (the bottom slots; the recent ones stay, warm)
 * to the TLS list, spilling the TLS list when it passes its cap (unless
 * HAKMEM_TINY_TLS_LIST_SPILL=0, the reference's failure mode). */
static void hk_fast_spill(struct hk_heap *h, unsigned cls, uint32_t n)
{
    struct hk_fast *fc = &h->fast[cls];
    struct hk_list *tl = &h->tls[cls];
    if (n > fc->count)
        n = fc->count;
    for (uint32_t i = 0; i < n; i++) {
        struct hk_block *b = fc->slot[i];
        if (!hk_fast_slot_ok(b, cls))
            continue;
        hk_side_move(b, HK_BLOCK_FAST_CACHE, HK_BLOCK_TLS_LIST);
        hk_list_push(tl, b);
    }
    fc->count -= n;
    memmove(fc->slot, fc->slot + n, fc->count * sizeof fc->slot[0]);
    if (tl->count > tl->cap && hk_opt.tls_list_spill)
        hk_tls_spill(h, cls, tl->count - tl->cap / 2);
}

/* ---- allocation ---- */

/* Moves up to `batch` blocks into the fast cache: from the TLS list, or, when that is empty,
 * straight from the slabs (a block moved once, not twice); false when there are none. A TLS
 * list found corrupt is dropped by the pop, and the slabs refill the cache instead. */
static bool hk_fast_refill(struct hk_heap *h, unsigned cls)
{
    struct hk_fast *fc = &h->fast[cls];
    struct hk_list *tl = &h->tls[cls];
    uint32_t batch = hk_class_info[cls].batch;
    uint32_t moved = 0;
    for (int tries = 0; tries < 2 && !moved; tries++) {
        if (!tl->head) {
            uint32_t room = fc->cap - fc->count;
            moved = hk_heap_take(h, cls, batch < room ? batch : room, fc);
            if (!moved)
                return false;
            break;
        }
        struct hk_block *b;
        while (moved < batch && fc->count < fc->cap &&
               (b = hk_list_pop_checked(tl, cls, HK_BLOCK_TLS_LIST))) {
            hk_side_move(b, HK_BLOCK_TLS_LIST, HK_BLOCK_FAST_CACHE);
            hk_fast_push(fc, b);
            moved++;
        }
    }
    HK_STAT(h, cls, refills, 1);
    HK_STAT(h, cls, refill_blocks, moved);
    return moved > 0;
}

/* The fast cache was empty: the active slab's freelist hands out its head itself. One block
 * a call, as the program asks for it, so each block's cold line is read when the program is
 * about to write it anyway, instead of a batch of them in a row with nothing to overlap. A
 * thread without a heap, a diagnostic mode (hk_tls_heap is the empty sentinel: no slabs), an
 * empty or claimed active slab go on to the full slow path. */
/* The head of the freelist of h's active slab of class cls, handed out for a request of
 * `size` bytes; NULL when that slab has none at hand (a refill must run). The burst path:
 * one block moves, once. */
static inline void *hk_heap_pop_active(struct hk_heap *h, unsigned cls, size_t size)
{
    struct hk_slab *s = hk_heap_active(h, cls);
    struct hk_block *b;
    if (!s || !s->free || hk_slab_claimed(s) || !(b = hk_slab_pop(s)))
        return NULL;
    s->used++;
    HK_STAT(h, cls, slow_allocs, 1);
    HK_STAT(h, cls, bytes_requested, size);
    return hk_block_hand_out(b);
}

HK_NOINLINE void *hk_heap_alloc_miss(size_t size, unsigned cls)
{
    void *p = hk_heap_pop_active(hk_tls_heap, cls, size);
    return p ? p : hk_alloc_slow(size, cls);
}

void *hk_heap_alloc_active(size_t size, unsigned cls, uint16_t *serial)
{
    struct hk_heap *h = hk_tls_own;
    void *p = h ? hk_heap_pop_active(h, cls, size) : NULL;
    if (p) {
        hk_side_move(p, HK_BLOCK_SLAB_FREE, HK_BLOCK_IN_USE);
        *serial = (uint16_t)h->serial;
    }
    return p;
}

void *hk_heap_alloc_slow(struct hk_heap *h, unsigned cls)
{
    struct hk_fast *fc = &h->fast[cls];
    struct hk_block *b;
    if (h->state == HK_HEAP_DEAD) {
        /* No caches on the dead heap: one block straight from a slab. */
        struct hk_fast one = {.slot = &b, .cap = 1};
        if (!hk_heap_take(h, cls, 1, &one))
            return NULL;
        HK_STAT(h, cls, slow_allocs, 1);
        return hk_block_hand_out(b);
    }
    /* A top block the hot path would not pop (its mark gone), or, in diagnostic mode, every
     * malloc: this pop is the fast path's, checked. */
    if ((b = hk_fast_pop_checked(fc, cls))) {
        if (hk_config_stats)
            fc->hits++;
        return hk_block_hand_out(b);
    }
    hk_heap_tick(h);
    for (int tries = 0; tries < 2; tries++) {   /* a refill may meet a corrupt list once */
        if (!hk_fast_refill(h, cls))
            return NULL;
        if ((b = hk_fast_pop_checked(fc, cls))) {
            HK_STAT(h, cls, slow_allocs, 1);
            return hk_block_hand_out(b);
        }
    }
    return NULL;
}

void *hk_heap_alloc_block(size_t size, unsigned cls, uint16_t *serial)
{
    struct hk_heap *h = hk_heap_get();
    void *p;
    if (HK_LIKELY(h != NULL)) {
        p = hk_heap_alloc_slow(h, cls);
        if (p)
            HK_STAT(h, cls, bytes_requested, size);
        *serial = (uint16_t)h->serial;
    } else {
        hk_heap_dead_lock();
        p = hk_heap_alloc_slow(&hk_heap_dead, cls);
        if (p)
            HK_STAT(&hk_heap_dead, cls, bytes_requested, size);
        hk_heap_dead_unlock();
        *serial = 0;
    }
    if (HK_UNLIKELY(!p)) {
        int err = errno ? errno : ENOMEM;
        size_t tried = hk_superslab_failed_map();
        hk_oom_event(size, (int)cls, hk_class_is_tiny(cls) ? "tiny" : "mid",
                     tried ? tried : HK_SS_SIZE, err);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

/* ---- frees ---- */

/* A free of h's thread reached s, an orphan: s becomes h's, claimed, behind the active slab
 * (so that it goes back to its SuperSlab as soon as it is empty). False when another thread
 * took s first, or the claim's drain emptied it. */
static bool hk_heap_claim(struct hk_heap *h, struct hk_slab *s)
{
    if (!hk_slab_claim(s, h))
        return false;
    struct hk_slab *head = hk_heap_active(h, s->class_idx);
    if (head)
        hk_dlist_insert_after(&head->link, &s->link);
    else
        hk_heap_slab_link(h, s);
    return true;
}

/* p goes onto the remote stack of s, whose owner is another heap or none. */
static void hk_heap_free_remote(struct hk_heap *h, struct hk_slab *s, void *p)
{
    /* Nothing of s is read after the push: from then on its owner may drain p, empty the
     * slab and give it (and its SuperSlab) back. So a push that races the owner's exit (the
     * owner drained before it) leaves p on the orphan's stack until the next free into the
     * orphan claims it, or a collection (before a mapping, before an OOM, hakmem_collect)
     * drains it: one block's slab, for a while, never lost. */
    HK_STAT(h, s->class_idx, remote_sent, 1);
    hk_side_move(p, HK_BLOCK_IN_USE, HK_BLOCK_REMOTE);
    hk_slab_remote_push(s, p);
}

/* A free into h's full fast cache with HAKMEM_TINY_TLS_LIST_SPILL=0: the older half of the
 * cache goes to the TLS list, which keeps it (the reference failure), and p takes its place. */
static HK_NOINLINE void hk_heap_free_to_list(struct hk_heap *h, unsigned cls, void *p)
{
    struct hk_fast *fc = &h->fast[cls];
    hk_fast_spill(h, cls, fc->cap / 2 ? fc->cap / 2 : 1);
    hk_side_move(p, HK_BLOCK_IN_USE, HK_BLOCK_FAST_CACHE);
    hk_fast_push(fc, p);
}

/* A free into h's full fast cache. The freed block is the warm one (the program just had
 * it) and the cached ones are cold: so p goes straight onto its slab's freelist, and no
 * cached block moves. */
static inline void hk_heap_free_past_cache(struct hk_heap *h, struct hk_slab *s, unsigned cls,
                                           void *p)
{
    hk_heap_tick(h);
    if (HK_UNLIKELY(!hk_opt.tls_list_spill)) {
        hk_heap_free_to_list(h, cls, p);
        return;
    }
    hk_slab_put(h, s, p, HK_BLOCK_IN_USE);
    HK_STAT(h, cls, spill_blocks, 1);
}

HK_NOINLINE void hk_heap_free_full(struct hk_heap *h, struct hk_slab *s, void *p)
{
    unsigned cls = s->class_idx;
    HK_STAT(h, cls, frees, 1);
    hk_heap_free_past_cache(h, s, cls, p);
}

/* h: the caller's heap (live or the dead heap under its lock). The block passed checks. A
 * free into an orphan claims it: the slab has no owner who would drain a remote stack, and
 * the freeing thread's caches reuse its blocks from now on. */
void hk_heap_free_slow(struct hk_heap *h, struct hk_slab *s, void *p)
{
    unsigned cls = s->class_idx;
    HK_STAT(h, cls, frees, 1);
    if (hk_slab_owner(s) != h &&
        !(hk_slab_state(s) == HK_SLAB_ORPHAN && hk_heap_claim(h, s))) {
        hk_heap_free_remote(h, s, p);
        return;
    }
    if (h->state == HK_HEAP_DEAD || hk_slab_claimed(s)) {
        hk_slab_put(h, s, p, HK_BLOCK_IN_USE);
        return;
    }
    struct hk_fast *fc = &h->fast[cls];
    if (fc->count >= fc->cap) {
        hk_heap_free_past_cache(h, s, cls, p);
        return;
    }
    hk_side_move(p, HK_BLOCK_IN_USE, HK_BLOCK_FAST_CACHE);
    hk_fast_push(fc, p);
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

/* ---- flush, park, orphan ---- */

void hk_heap_flush(struct hk_heap *h, bool release_empty)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        hk_fast_spill(h, c, h->fast[c].count);
        if (h->tls[c].count)
            hk_tls_spill(h, c, h->tls[c].count);
        /* Blocks beyond the count mean a list that loops or shares blocks (a write after
         * free, then a second free): what is left is reported and dropped. */
        hk_list_pop_checked(&h->tls[c], c, HK_BLOCK_TLS_LIST);
        HK_ASSERT(!h->fast[c].count);
        HK_ASSERT(!h->tls[c].head && !h->tls[c].count);
    }
    hk_heap_reclaim(h, release_empty ? HK_RECLAIM_ALL : HK_RECLAIM_NONE);
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
        while ((s = hk_heap_active(h, c))) {
            hk_heap_slab_unlink(h, s);
            hk_slab_orphan(s);
        }
    }
}
