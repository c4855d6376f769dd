/* Side metadata, checked state transitions, and the census walk. */
#include "hk_shadow.h"
#include "hk_emit.h"
#include "hk_heap.h"
#include "hk_large.h"
#include "hk_leak.h"
#include "hk_misuse.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_superslab.h"

#include <string.h>

bool hk_diag_on;
bool hk_shadow_on;

#define HK_SHADOW_TABLE_BYTES ((HK_SS_SIZE >> HK_GRANULE_SHIFT) * sizeof(struct hk_shadow))

#define HK_POISON_BYTE 0xdf
#define HK_CANARY_BYTE 0xca

static const char *const hk_state_names[HK_BLOCK_STATES] = {
    "uncarved", "slab-free", "fast-cache", "tls-list", "in-use", "remote-queue", "quarantined",
};

int hk_shadow_table_create(struct hk_superslab *ss)
{
    ss->shadow = hk_os_map_meta(HK_SHADOW_TABLE_BYTES);
    return ss->shadow ? 0 : -1;
}

void hk_shadow_table_destroy(struct hk_superslab *ss)
{
    if (ss->shadow)
        hk_os_unmap(ss->shadow, HK_SHADOW_TABLE_BYTES);
    ss->shadow = NULL;
}


void hk_shadow_slab_reset(struct hk_slab *s)
{
    struct hk_superslab *ss = hk_ss_of(s);
    if (!ss->shadow)
        return;
    size_t begin = (size_t)s->index << ss->slab_shift;
    size_t len = (size_t)1 << ss->slab_shift;
    /* Drop the pages rather than writing zeros: most of a slab's entries are never used. */
    char *first = (char *)&ss->shadow[begin >> HK_GRANULE_SHIFT];
    size_t bytes = (len >> HK_GRANULE_SHIFT) * sizeof(struct hk_shadow);
    hk_os_discard(first, bytes);
}

HK_COLD void hk_shadow_unexpected(void *p, unsigned state)
{
    struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
    hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, p, s->class_idx,
                     hk_state_names[state < HK_BLOCK_STATES ? state : 0]);
}

/* Reference patterns, compared with memcmp (vectorised by libc): the checks run on every
 * malloc and free in shadow mode. */
static const unsigned char hk_poison_ref[HK_POISON_LIMIT] = {[0 ... HK_POISON_LIMIT - 1] = HK_POISON_BYTE};
static const unsigned char hk_canary_ref[HK_CANARY] = {[0 ... HK_CANARY - 1] = HK_CANARY_BYTE};

static bool hk_bytes_are(const unsigned char *p, size_t n, unsigned char v)
{
    return memcmp(p, v == HK_POISON_BYTE ? hk_poison_ref : hk_canary_ref, n) == 0;
}

/* Bytes poisoned after the first 16: up to HAKMEM_SHADOW_POISON (default and most 256) into
 * the block. */
static size_t hk_poison_len(uint32_t block_size)
{
    size_t limit = hk_opt.shadow_poison;
    size_t end = block_size < limit ? block_size : limit;
    return end > 16 ? end - 16 : 0;
}

bool hk_shadow_on_alloc(void *p, size_t size, uint32_t block_size, uint16_t thread,
                        uint32_t stack)
{
    struct hk_shadow *e = hk_shadow_of(p);
    if (!e)
        return true;
    if (hk_shadow_on && (e->flags & HK_SHADOW_POISONED) &&
        !hk_bytes_are((unsigned char *)p + 16, hk_poison_len(block_size), HK_POISON_BYTE)) {
        struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
        hk_misuse_report(HK_MISUSE_USE_AFTER_FREE, p, s->class_idx,
                         hk_state_names[e->state < HK_BLOCK_STATES ? e->state : 0]);
        e->state = HK_BLOCK_QUARANTINED;
        return false;
    }
    e->state = HK_BLOCK_IN_USE;
    e->flags = 0;
    e->thread = thread;
    e->size = (uint32_t)size;
    e->alloc_stack = stack;
    e->free_stack = 0;
    if (hk_shadow_on && size < block_size) {
        size_t n = block_size - size < HK_CANARY ? block_size - size : HK_CANARY;
        memset((char *)p + size, HK_CANARY_BYTE, n);
    }
    return true;
}

bool hk_shadow_on_free(void *p, int cls, uint32_t block_size)
{
    struct hk_shadow *e = hk_shadow_of(p);
    if (!e)
        return true;
    if (!hk_shadow_on) {           /* leak tracking only: just no longer in use */
        e->state = HK_BLOCK_SLAB_FREE;
        return true;
    }
    switch (e->state) {
    case HK_BLOCK_IN_USE:
        break;
    case HK_BLOCK_FAST_CACHE:
    case HK_BLOCK_TLS_LIST:
    case HK_BLOCK_SLAB_FREE:
    case HK_BLOCK_REMOTE:
        hk_misuse_report(HK_MISUSE_DOUBLE_FREE, p, cls, hk_state_names[e->state]);
        return false;
    case HK_BLOCK_QUARANTINED:
        hk_misuse_report(HK_MISUSE_DOUBLE_FREE, p, cls, "quarantined");
        return false;
    default:
        hk_misuse_report(HK_MISUSE_UNALLOCATED_FREE, p, cls, hk_state_names[e->state]);
        return false;
    }
    size_t size = e->size;
    if (size < block_size) {
        size_t n = block_size - size < HK_CANARY ? block_size - size : HK_CANARY;
        if (!hk_bytes_are((unsigned char *)p + size, n, HK_CANARY_BYTE)) {
            hk_misuse_report(HK_MISUSE_OVERFLOW, p, cls, "in-use");
            e->state = HK_BLOCK_QUARANTINED;
            return false;
        }
    }
    size_t n = hk_poison_len(block_size);
    if (n) {
        memset((char *)p + 16, HK_POISON_BYTE, n);
        e->flags |= HK_SHADOW_POISONED;
    }
    return true;
}

size_t hk_shadow_requested(const void *p)
{
    struct hk_shadow *e = hk_shadow_of(p);
    return e && e->state == HK_BLOCK_IN_USE ? e->size : 0;
}

/* ---- threads ---- */

#define HK_CENSUS_THREADS 1024   /* threads beyond this serial are summed as "other" */

static struct {
    int tid;
    int state;
} hk_threads[HK_CENSUS_THREADS];

void hk_shadow_thread_seen(uint32_t serial, int tid)
{
    if (serial < HK_CENSUS_THREADS) {
        hk_threads[serial].tid = tid;
        hk_threads[serial].state = HK_HEAP_LIVE;
    }
}

void hk_shadow_thread_state(uint32_t serial, int state)
{
    if (serial < HK_CENSUS_THREADS)
        hk_threads[serial].state = state;
}

/* ---- census ---- */

struct hk_census {
    uint64_t cls[HK_NUM_CLASSES][HK_BLOCK_STATES];
    uint64_t thr[HK_CENSUS_THREADS][HK_BLOCK_STATES];
};
static struct hk_census hk_census_buf;   /* static: the census may run in a signal handler */

static unsigned hk_thread_slot(uint32_t serial)
{
    return serial < HK_CENSUS_THREADS ? serial : 0;
}

/* Calls fn for every block of every assigned slab of ss (uncarved ones included), with
 * its side-table entry. */
typedef void (*hk_block_visit_fn)(struct hk_slab *s, char *block, struct hk_shadow *e,
                                  void *arg);

static void hk_shadow_walk(struct hk_superslab *ss, hk_block_visit_fn fn, void *arg)
{
    if (!ss->shadow)
        return;
    for (unsigned i = 0; i < ss->nslabs; i++) {
        struct hk_slab *s = &ss->slabs[i];
        if (hk_slab_state(s) == HK_SLAB_UNUSED)
            continue;
        char *b = hk_slab_block0(s);
        for (uint32_t k = 0; k < s->capacity; k++, b += s->block_size)
            fn(s, b, &ss->shadow[((uintptr_t)b - (uintptr_t)ss) >> HK_GRANULE_SHIFT], arg);
    }
}

static void hk_census_block(struct hk_slab *s, char *block, struct hk_shadow *e, void *arg)
{
    (void)block;
    struct hk_census *c = arg;
    unsigned st = e->state < HK_BLOCK_STATES ? e->state : HK_BLOCK_QUARANTINED;
    c->cls[s->class_idx][st]++;
    /* In use: the thread that allocated it. Parked or queued: the slab's owner. */
    struct hk_heap *owner = atomic_load_explicit(&s->owner, HK_RELAXED);
    unsigned slot = st == HK_BLOCK_IN_USE ? hk_thread_slot(e->thread)
                    : owner                ? hk_thread_slot(owner->serial)
                                           : 0;
    c->thr[slot][st]++;
}

static void hk_census_superslab(struct hk_superslab *ss, void *arg)
{
    hk_shadow_walk(ss, hk_census_block, arg);
}

static const char *hk_thread_state_name(int state)
{
    switch (state) {
    case HK_HEAP_LIVE: return "live";
    case HK_HEAP_PARKED: return "parked";
    case HK_HEAP_LOST: return "lost";
    default: return "exited";
    }
}

void hk_census_emit(struct hk_emit *e, bool lock)
{
    struct hk_census *c = &hk_census_buf;
    memset(c, 0, sizeof *c);
    hk_superslab_foreach(hk_census_superslab, c, lock);
    hk_emit_group_begin(e, "census");
    hk_emit_array_begin(e, "classes");
    for (unsigned k = 0; k < HK_NUM_CLASSES; k++) {
        const uint64_t *n = c->cls[k];
        uint64_t total = 0;
        for (unsigned st = 0; st < HK_BLOCK_STATES; st++)
            total += n[st];
        if (!total)
            continue;
        hk_emit_obj_begin(e, NULL, "census");
        hk_emit_u64(e, "class", k);
        hk_emit_u64(e, "size", hk_class_size[k]);
        hk_emit_u64(e, "in_use", n[HK_BLOCK_IN_USE]);
        hk_emit_u64(e, "fast_cache", n[HK_BLOCK_FAST_CACHE]);
        hk_emit_u64(e, "tls_list", n[HK_BLOCK_TLS_LIST]);
        hk_emit_u64(e, "slab_free", n[HK_BLOCK_SLAB_FREE]);
        hk_emit_u64(e, "remote_queue", n[HK_BLOCK_REMOTE]);
        hk_emit_u64(e, "uncarved", n[HK_BLOCK_UNCARVED]);
        hk_emit_u64(e, "quarantined", n[HK_BLOCK_QUARANTINED]);
        hk_emit_obj_end(e);
    }
    hk_emit_array_end(e);
    hk_emit_array_begin(e, "threads");
    for (unsigned t = 0; t < HK_CENSUS_THREADS; t++) {
        const uint64_t *n = c->thr[t];
        if (!(n[HK_BLOCK_IN_USE] | n[HK_BLOCK_FAST_CACHE] | n[HK_BLOCK_TLS_LIST] |
              n[HK_BLOCK_REMOTE]))
            continue;
        hk_emit_obj_begin(e, NULL, e->format == HK_EMIT_RECORDS ? "census_thread" : "census");
        hk_emit_u64(e, "thread", t);
        hk_emit_u64(e, "tid", t ? (uint64_t)hk_threads[t].tid : 0);
        hk_emit_str(e, "state", t ? hk_thread_state_name(hk_threads[t].state) : "orphan/other");
        hk_emit_u64(e, "in_use", n[HK_BLOCK_IN_USE]);
        hk_emit_u64(e, "fast_cache", n[HK_BLOCK_FAST_CACHE]);
        hk_emit_u64(e, "tls_list", n[HK_BLOCK_TLS_LIST]);
        hk_emit_u64(e, "remote_queue", n[HK_BLOCK_REMOTE]);
        hk_emit_obj_end(e);
    }
    hk_emit_array_end(e);
    hk_emit_group_end(e);
}

/* ---- live blocks, for the leak check (hk_leak.h) ---- */

struct hk_live_walk {
    hk_live_visit_fn fn;
    void *ctx;
};

static void hk_live_block(struct hk_slab *s, char *block, struct hk_shadow *e, void *arg)
{
    struct hk_live_walk *w = arg;
    if (e->state != HK_BLOCK_IN_USE)
        return;
    struct hk_live_block lb = {block, e->size, s->block_size, e->alloc_stack};
    w->fn(w->ctx, &lb);
}

static void hk_live_superslab(struct hk_superslab *ss, void *arg)
{
    hk_shadow_walk(ss, hk_live_block, arg);
}

static void hk_live_large(void *ctx, void *p, size_t size, size_t usable, uint32_t stack)
{
    struct hk_live_walk *w = ctx;
    struct hk_live_block lb = {p, size, usable, stack};
    w->fn(w->ctx, &lb);
}

void hk_live_blocks_foreach(hk_live_visit_fn fn, void *ctx)
{
    struct hk_live_walk w = {fn, ctx};
    hk_superslab_foreach(hk_live_superslab, &w, true);
    hk_large_foreach_live(hk_live_large, &w);
}

bool hk_live_block_find(uintptr_t addr, struct hk_live_block *out)
{
    unsigned kind = hk_registry_kind((void *)addr);
    if (kind == HK_CHUNK_LARGE || kind == HK_CHUNK_LARGE_CONT)
        return hk_large_find((void *)addr, kind, &out->ptr, &out->size, &out->usable,
                             &out->stack);
    if (kind != HK_CHUNK_SUPERSLAB)
        return false;
    struct hk_superslab *ss = hk_ss_of((void *)addr);
    if (ss->magic != HK_SS_MAGIC || !ss->shadow)
        return false;
    struct hk_slab *s = hk_slab_of(ss, (void *)addr);
    if (hk_slab_state(s) == HK_SLAB_UNUSED)
        return false;
    char *block0 = hk_slab_block0(s);
    if ((char *)addr < block0)
        return false;
    uint32_t k = hk_slab_block_index(s, (void *)addr);
    if (k >= s->carved)
        return false;
    char *b = block0 + (size_t)k * s->block_size;
    struct hk_shadow *e = &ss->shadow[((uintptr_t)b - (uintptr_t)ss) >> HK_GRANULE_SHIFT];
    if (e->state != HK_BLOCK_IN_USE)
        return false;
    *out = (struct hk_live_block){b, e->size, s->block_size, e->alloc_stack};
    return true;
}
