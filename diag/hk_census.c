/* The census and its thread table (hk_census.h). */
#include "hk_census.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_hooks.h"
#include "hk_size_class.h"
#include "hk_walk.h"

#include <string.h>

/* ---- threads ---- */

#define HK_CENSUS_THREADS 1024   /* threads beyond this serial are summed as "other" */

static struct {
    int tid;
    int state;
} hk_threads[HK_CENSUS_THREADS];

void hk_census_thread(uint32_t serial, int tid, int state)
{
    if (serial < HK_CENSUS_THREADS) {
        hk_threads[serial].tid = tid;
        hk_threads[serial].state = state;
    }
}

int hk_census_tid(uint32_t serial)
{
    return serial && serial < HK_CENSUS_THREADS ? hk_threads[serial].tid : 0;
}

static unsigned hk_thread_slot(uint32_t serial)
{
    return serial < HK_CENSUS_THREADS ? serial : 0;
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

/* ---- the count ---- */

struct hk_census {
    uint64_t cls[HK_NUM_CLASSES][HK_BLOCK_STATES];
    uint64_t thr[HK_CENSUS_THREADS][HK_BLOCK_STATES];
};
static struct hk_census hk_census_buf;   /* static: the census may run in a signal handler */

static void hk_census_block(void *arg, const struct hk_walk_block *b)
{
    struct hk_census *c = arg;
    unsigned st = b->state < HK_BLOCK_STATES ? b->state : HK_BLOCK_QUARANTINED;
    c->cls[b->cls][st]++;
    /* In use: the thread that allocated it. Parked or queued: the slab's owner. */
    unsigned slot = hk_thread_slot(st == HK_BLOCK_IN_USE ? b->thread : b->owner);
    c->thr[slot][st]++;
}

/* The walk's states in the order of HK_DUMP_CENSUS_STATES, with their key names. */
static const unsigned hk_census_order[HK_CENSUS_NSTATES] = {
    HK_BLOCK_IN_USE, HK_BLOCK_FAST_CACHE, HK_BLOCK_TLS_LIST, HK_BLOCK_SLAB_FREE,
    HK_BLOCK_REMOTE, HK_BLOCK_UNCARVED, HK_BLOCK_QUARANTINED};
#define HK_CENSUS_NAME(k) #k,
static const char *const hk_census_names[HK_CENSUS_NSTATES] = {
    HK_DUMP_CENSUS_STATES(HK_CENSUS_NAME)};
#undef HK_CENSUS_NAME
_Static_assert(HK_CENSUS_NSTATES == HK_BLOCK_STATES, "a census state without its key");

static void hk_census_emit_class(struct hk_emit *e, unsigned k, const uint64_t *n)
{
    hk_emit_obj_begin(e, NULL, "census");
    hk_emit_u64(e, "class", k);
    hk_emit_u64(e, "size", hk_class_size[k]);
    for (unsigned i = 0; i < HK_CENSUS_NSTATES; i++)
        hk_emit_u64(e, hk_census_names[i], n[hk_census_order[i]]);
    hk_emit_obj_end(e);
}

static void hk_census_total_block(void *arg, const struct hk_walk_block *b)
{
    uint64_t *n = arg;
    n[b->state < HK_BLOCK_STATES ? b->state : HK_BLOCK_QUARANTINED]++;
}

void hk_census_totals(uint64_t *out, bool lock)
{
    uint64_t n[HK_BLOCK_STATES] = {0};
    hk_walk_blocks(hk_census_total_block, n, false, lock);
    for (unsigned i = 0; i < HK_CENSUS_NSTATES; i++)
        out[i] = n[hk_census_order[i]];
}

static void hk_census_emit_thread(struct hk_emit *e, unsigned t, const uint64_t *n)
{
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

void hk_census_emit(struct hk_emit *e, bool lock)
{
    struct hk_census *c = &hk_census_buf;
    memset(c, 0, sizeof *c);
    hk_walk_blocks(hk_census_block, c, false, lock);
    hk_emit_group_begin(e, "census");
    hk_emit_array_begin(e, "classes");
    for (unsigned k = 0; k < HK_NUM_CLASSES; k++) {
        uint64_t total = 0;
        for (unsigned st = 0; st < HK_BLOCK_STATES; st++)
            total += c->cls[k][st];
        if (total)
            hk_census_emit_class(e, k, c->cls[k]);
    }
    hk_emit_array_end(e);
    hk_emit_array_begin(e, "threads");
    for (unsigned t = 0; t < HK_CENSUS_THREADS; t++) {
        const uint64_t *n = c->thr[t];
        if (n[HK_BLOCK_IN_USE] | n[HK_BLOCK_FAST_CACHE] | n[HK_BLOCK_TLS_LIST] |
            n[HK_BLOCK_REMOTE])
            hk_census_emit_thread(e, t, n);
    }
    hk_emit_array_end(e);
    hk_emit_group_end(e);
}
