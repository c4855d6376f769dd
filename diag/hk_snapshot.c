/* The public snapshot of the counters (hk_snapshot.h). */
#include "hk_snapshot.h"
#include "hk_stats.h"
#include "hk_walk.h"
#include "hk_os.h"
#include "hakmem.h"

#include <errno.h>
#include <string.h>

/* allocs - frees: exact when the process is quiescent. While threads run, a free read after
 * its allocation was missed can make frees the larger: none live then, not 2^64 - 1. */
static uint64_t hk_snapshot_live(uint64_t allocs, uint64_t frees)
{
    return allocs > frees ? allocs - frees : 0;
}

static void hk_tier_add(struct hakmem_tier_stats *t, const struct hakmem_class_stats *c)
{
    t->allocs += c->allocs;
    t->frees += c->frees;
    t->live += c->live;
    t->bytes_requested += c->bytes_requested;
}

static void hk_snapshot_fill(struct hakmem_stats *out, const struct hk_thread_stats *sum)
{
    memset(out, 0, sizeof *out);
    out->version = HAKMEM_STATS_VERSION;
    out->nclasses = HK_NUM_CLASSES;
    out->ntiny = HK_NUM_TINY;
    out->pid = (uint32_t)hk_os_pid();
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        const struct hk_class_counters *k = &sum->cls[c];
        struct hakmem_class_stats *o = &out->classes[c];
        o->class_id = c;
        o->size = hk_class_size[c];
#define HK_COPY(name, width, doc) o->name = k->name;
        HAKMEM_CLASS_COUNTERS(HK_COPY)
#undef HK_COPY
        o->allocs = k->fast_hits + k->slow_allocs;
        o->live = hk_snapshot_live(o->allocs, o->frees);
        hk_tier_add(c < HK_NUM_TINY ? &out->tiny : &out->mid, o);
    }
#define HK_LOAD(name) atomic_load_explicit(&hk_pstat.name, HK_RELAXED)
    out->tiny.mappings = HK_LOAD(slabs_live) - HK_LOAD(slabs_live_mid);
    out->mid.mappings = HK_LOAD(slabs_live_mid);
    out->large.allocs = HK_LOAD(large_allocs);
    out->large.frees = HK_LOAD(large_frees);
    out->large.live = hk_snapshot_live(out->large.allocs, out->large.frees);
    out->large.bytes_requested = HK_LOAD(large_bytes_requested);
    out->large.mappings = HK_LOAD(large_mapped) - HK_LOAD(large_unmapped);
    out->large.cache_hits = HK_LOAD(large_cache_hits);
    out->totals.allocs = out->tiny.allocs + out->mid.allocs + out->large.allocs;
    out->totals.frees = out->tiny.frees + out->mid.frees + out->large.frees;
    out->totals.live = hk_snapshot_live(out->totals.allocs, out->totals.frees);
    out->totals.bytes_requested = out->tiny.bytes_requested + out->mid.bytes_requested +
                                  out->large.bytes_requested;
#define HK_COPY(name, width, doc) out->name = HK_LOAD(name);
    HAKMEM_PROCESS_COUNTERS(HK_COPY)
#undef HK_COPY
    out->superslabs_live = out->superslabs_mapped - out->superslabs_unmapped;
    out->bytes_mapped = out->superslab_bytes + out->large_bytes;
#undef HK_LOAD
}

void hk_snapshot_take(struct hakmem_stats *out, bool lock)
{
    struct hk_thread_stats sum;
    hk_walk_counters(&sum, lock);
    hk_snapshot_fill(out, &sum);
}

HK_API int hakmem_stats_snapshot(struct hakmem_stats *out, size_t size)
{
    if (!out || size < offsetof(struct hakmem_stats, classes)) {
        errno = EINVAL;
        return -1;
    }
    struct hakmem_stats full;
    hk_snapshot_take(&full, true);
    memcpy(out, &full, size < sizeof full ? size : sizeof full);
    return 0;
}
