/* Thread heaps: creation, the list of heaps that snapshots sum, thread exit, and the shared
 * heap used by threads that are past their exit destructor.
 *
 * Thread exit is a small state machine (as in jemalloc): LIVE -> the key destructor flushes
 * the caches, orphans the slabs, merges the counters and sets the thread's TLS pointer back
 * to hk_heap_empty with hk_tls_dead set. Any later malloc/free on that thread (destructors
 * of other libraries) goes through hk_heap_dead under a lock: it works, and it never
 * resurrects a cache that nobody would flush. */
#include "hk_heap.h"
#include "hk_lock.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_hooks.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

HK_TLS struct hk_heap *hk_tls_heap = &hk_heap_empty;
/* The thread's own heap. hk_tls_heap points to it too, except in diagnostic mode, where
 * hk_tls_heap stays on the empty sentinel so that every call takes the checked slow path. */
HK_TLS struct hk_heap *hk_tls_own;
static HK_TLS bool hk_tls_dead;

struct hk_heap hk_heap_empty;           /* caps 0, heads NULL: every call takes a slow path */
struct hk_heap hk_heap_dead;            /* caps 0: blocks go straight to and from slabs */
static HK_LOCK_DEFINE(hk_dead_lock, HK_RANK_DEAD_HEAP);

struct hk_class_info hk_class_info[HK_NUM_CLASSES];
static uint32_t hk_fast_slots;          /* all classes' fast caps: hk_heap.slots' length */

/* Counter storage (hk_stats.h). */
struct hk_process_counters hk_pstat;
struct hk_thread_stats hk_stats_retired;

/* All heaps that may hold counters or blocks: live, parked and lost ones. */
static HK_LOCK_DEFINE(hk_heaps_lock, HK_RANK_HEAPS);
static struct hk_dlist hk_heaps_live;
static struct hk_dlist hk_heaps_free;        /* retired heaps ready for reuse */
static uint32_t hk_heap_serial;
static pthread_key_t hk_heap_key;

/* Heap structs come from a small metadata arena (never from the allocator itself). Each of
 * its chunks starts with a struct hk_meta_chunk, on a list that only grows (pushed under
 * hk_heaps_lock, read without it), so the leak check can leave the arena out of its roots:
 * a heap's fast cache keeps the pointers of blocks it has handed out above its count. */
struct hk_meta_chunk {
    struct hk_meta_chunk *next;
    size_t size;
};
static _Atomic(struct hk_meta_chunk *) hk_meta_chunks;
static char *hk_meta_cur, *hk_meta_end;

static void *hk_meta_alloc(size_t size)
{
    size = hk_align_up(size, 64);
    if ((size_t)(hk_meta_end - hk_meta_cur) < size) {
        size_t head = hk_align_up(sizeof(struct hk_meta_chunk), 64);
        size_t chunk = hk_align_up(size * 8 + head, 64 * HK_KiB);
        struct hk_meta_chunk *c = hk_os_map_meta(chunk);
        if (!c)
            return NULL;
        c->size = chunk;
        c->next = atomic_load_explicit(&hk_meta_chunks, HK_RELAXED);
        atomic_store_explicit(&hk_meta_chunks, c, HK_RELEASE);
        hk_meta_cur = (char *)c + head;
        hk_meta_end = (char *)c + chunk;
    }
    void *p = hk_meta_cur;
    hk_meta_cur += size;
    return p;
}

void hk_heap_foreach_meta(void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
    for (struct hk_meta_chunk *c = atomic_load_explicit(&hk_meta_chunks, HK_ACQUIRE); c;
         c = c->next)
        fn(ctx, (uintptr_t)c, (uintptr_t)c + c->size);
}

static void hk_heap_exit_destructor(void *arg);

void hk_heap_global_init(void)
{
    hk_fast_slots = 0;
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        uint32_t size = hk_class_size[c];
        struct hk_class_info *ci = &hk_class_info[c];
        /* Caches hold about 16 KiB (fast) and 64 KiB (TLS list) per class, within limits;
         * blocks above 64 KiB are cached one or two at a time. */
        uint32_t fast = (uint32_t)(16 * HK_KiB / size);
        uint32_t min = size <= HK_MID_SMALL_MAX ? 4 : 1;
        ci->fast_cap = fast < min ? min : fast > 256 ? 256 : fast;
        ci->fast_first = hk_fast_slots;
        hk_fast_slots += ci->fast_cap;
        ci->tls_cap = size <= HK_MID_SMALL_MAX ? ci->fast_cap * 4 : 2;
        ci->batch = ci->fast_cap / 2 ? ci->fast_cap / 2 : 1;
        ci->slab_shift = hk_class_is_tiny(c) ? HK_SLAB_SHIFT_TINY
                         : size <= HK_MID_SMALL_MAX ? HK_SLAB_SHIFT_MID
                                                    : HK_SLAB_SHIFT_BIG;
    }
    hk_heap_dead.state = HK_HEAP_DEAD;
    pthread_key_create(&hk_heap_key, hk_heap_exit_destructor);
}

HK_NOINLINE struct hk_heap *hk_heap_create(void)
{
    struct hk_heap *h;
    if (hk_tls_dead)
        return NULL;
    hk_lock(&hk_heaps_lock);
    h = HK_DLIST_FIRST(&hk_heaps_free, struct hk_heap, link);
    if (h)
        hk_dlist_remove(&hk_heaps_free, &h->link);
    else
        h = hk_meta_alloc(sizeof *h + hk_fast_slots * sizeof h->slots[0]);
    if (!h) {
        hk_unlock(&hk_heaps_lock);
        return NULL;
    }
    memset(h, 0, sizeof *h);
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        h->fast[c].slot = h->slots + hk_class_info[c].fast_first;
        h->fast[c].cap = hk_class_info[c].fast_cap;
        h->tls[c].cap = hk_class_info[c].tls_cap;
    }
    h->tid = hk_os_tid();
    h->state = HK_HEAP_LIVE;
    h->serial = ++hk_heap_serial;
    hk_dlist_insert(&hk_heaps_live, &h->link);
    hk_unlock(&hk_heaps_lock);
    HK_PSTAT_ADD(threads_seen, 1);
    hk_hook_thread(h->serial, h->tid, HK_HEAP_LIVE);
    hk_tls_own = h;
    if (!hk_diag_on)
        hk_tls_heap = h;
    /* Below PTHREAD_KEY_2NDLEVEL_SIZE keys glibc stores this without allocating. */
    pthread_setspecific(hk_heap_key, h);
    return h;
}

void hk_heap_dead_lock(void) { hk_lock(&hk_dead_lock); }
void hk_heap_dead_unlock(void) { hk_unlock(&hk_dead_lock); }

static void hk_heap_exit_destructor(void *arg)
{
    struct hk_heap *h = arg;
    if (!h || h != hk_tls_own)
        return;
    /* From here on this thread uses the dead heap. */
    hk_tls_heap = &hk_heap_empty;
    hk_tls_own = NULL;
    hk_tls_dead = true;
    hk_heap_retire(h);
}

void hk_heap_retire(struct hk_heap *h)
{
    bool parked = !hk_opt.tls_list_spill;
    if (parked) {
        hk_heap_park(h);
    } else {
        hk_heap_flush(h, true);
        hk_heap_orphan_slabs(h);
    }
    hk_lock(&hk_heaps_lock);
    HK_PSTAT_ADD(threads_exited, 1);
    if (parked) {
        /* HAKMEM_TINY_TLS_LIST_SPILL=0: the blocks stay parked in this heap, and the heap
         * stays listed so that its counters and parked blocks remain visible. */
        h->state = HK_HEAP_PARKED;
        hk_hook_thread(h->serial, h->tid, HK_HEAP_PARKED);
    } else {
        hk_hook_thread(h->serial, h->tid, HK_HEAP_EMPTY);
        hk_heap_add_stats(&hk_stats_retired, h);
        hk_dlist_remove(&hk_heaps_live, &h->link);
        h->state = HK_HEAP_EMPTY;
        hk_dlist_insert(&hk_heaps_free, &h->link);
    }
    hk_unlock(&hk_heaps_lock);
}

HK_RACY_READ void hk_heap_add_stats(struct hk_thread_stats *out, const struct hk_heap *h)
{
    hk_thread_stats_add(out, &h->stats);
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        out->cls[c].fast_hits += h->fast[c].hits;
        out->cls[c].frees += h->fast[c].frees;
        out->cls[c].bytes_requested += h->fast[c].bytes;
    }
}

void hk_heaps_sum(struct hk_thread_stats *out, bool lock)
{
    if (lock)
        hk_lock(&hk_heaps_lock);
    *out = hk_stats_retired;
    HK_DLIST_FOREACH(h, &hk_heaps_live, struct hk_heap, link)
        hk_heap_add_stats(out, h);
    if (lock) {
        hk_unlock(&hk_heaps_lock);
        hk_lock(&hk_dead_lock);
    }
    hk_heap_add_stats(out, &hk_heap_dead);
    if (lock)
        hk_unlock(&hk_dead_lock);
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++)
        out->cls[c].remote_drained += hk_slab_drained_unowned(c);
}

/* The child has one thread. The heaps of the parent's other threads may have been in the
 * middle of an update: never use or flush them; they keep their slabs (as if those threads
 * still held their blocks) and their counters stay in the sums. */
void hk_heap_fork_child(void)
{
    struct hk_heap *self = hk_tls_own;
    HK_DLIST_FOREACH(h, &hk_heaps_live, struct hk_heap, link)
        if (h != self && h->state == HK_HEAP_LIVE)
            h->state = HK_HEAP_LOST;
    if (self)
        self->tid = hk_os_tid();
}
