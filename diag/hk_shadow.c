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
uint32_t hk_shadow_poison = HK_POISON_LIMIT;

#define HK_SHADOW_TABLE_BYTES ((HK_SS_SIZE >> HK_GRANULE_SHIFT) * sizeof(struct hk_shadow))

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

/* What the entry says of the block, for a misuse report. */
static struct hk_misuse_block hk_block_info(const struct hk_shadow *e)
{
    struct hk_misuse_block b = {0, e->alloc_stack, e->free_stack};
    if (e->thread && e->thread < HK_CENSUS_THREADS)
        b.alloc_tid = hk_threads[e->thread].tid;
    return b;
}

struct hk_misuse_block hk_shadow_block_info(const void *p)
{
    struct hk_shadow *e = hk_shadow_of(p);
    return e ? hk_block_info(e) : (struct hk_misuse_block){0, 0, 0};
}

/* ---- reports ---- */

HK_COLD void hk_shadow_unexpected(void *p, unsigned state)
{
    struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
    hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, p, s->class_idx,
                     hk_state_names[state < HK_BLOCK_STATES ? state : 0]);
}

HK_COLD void hk_shadow_report_use_after_free(void *p, struct hk_shadow *e)
{
    struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
    struct hk_misuse_block b = hk_block_info(e);
    hk_misuse_report_block(HK_MISUSE_USE_AFTER_FREE, p, s->class_idx,
                           hk_state_names[e->state < HK_BLOCK_STATES ? e->state : 0], &b);
    e->state = HK_BLOCK_QUARANTINED;
}

HK_COLD bool hk_shadow_report_bad_free(void *p, struct hk_shadow *e, int cls)
{
    struct hk_misuse_block b = hk_block_info(e);
    switch (e->state) {
    case HK_BLOCK_IN_USE:          /* the canary past the request was overwritten */
        b.free_stack = 0;
        hk_misuse_report_block(HK_MISUSE_OVERFLOW, p, cls, "in-use", &b);
        e->state = HK_BLOCK_QUARANTINED;
        break;
    case HK_BLOCK_FAST_CACHE:
    case HK_BLOCK_TLS_LIST:
    case HK_BLOCK_SLAB_FREE:
    case HK_BLOCK_REMOTE:
        hk_misuse_report_block(HK_MISUSE_DOUBLE_FREE, p, cls, hk_state_names[e->state], &b);
        break;
    case HK_BLOCK_QUARANTINED:
        hk_misuse_report_block(HK_MISUSE_DOUBLE_FREE, p, cls, "quarantined", &b);
        break;
    default:                       /* never handed out: nothing to say of it */
        hk_misuse_report(HK_MISUSE_UNALLOCATED_FREE, p, cls, hk_state_names[e->state]);
        break;
    }
    return false;
}

size_t hk_shadow_requested(const void *p)
{
    struct hk_shadow *e = hk_shadow_of(p);
    return e && e->state == HK_BLOCK_IN_USE ? e->size : 0;
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
