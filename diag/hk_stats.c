/* Counter merging and the public snapshot. */
#include "hk_stats.h"
#include "hk_heap.h"
#include "hk_os.h"
#include "hakmem.h"

#include <errno.h>
#include <string.h>

struct hk_process_counters hk_pstat;
struct hk_thread_stats hk_stats_retired;

HK_RACY_READ void hk_thread_stats_add(struct hk_thread_stats *dst,
                                      const struct hk_thread_stats *src)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
#define HK_ADD(name) dst->cls[c].name += src->cls[c].name;
        HK_CLASS_COUNTERS(HK_ADD)
#undef HK_ADD
    }
}


static void hk_tier_add(struct hakmem_tier_stats *t, const struct hakmem_class_stats *c)
{
    t->allocs += c->allocs;
    t->frees += c->frees;
    t->live += c->live;
    t->bytes_requested += c->bytes_requested;
}

void hk_stats_fill(struct hakmem_stats *out, const struct hk_thread_stats *sum)
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
        o->allocs = k->fast_hits + k->slow_allocs;
        o->frees = k->frees;
        o->live = o->allocs - o->frees;   /* exact when the process is quiescent */
        o->fast_hits = k->fast_hits;
        o->refills = k->refills;
        o->refill_blocks = k->refill_blocks;
        o->spills = k->spills;
        o->spill_blocks = k->spill_blocks;
        o->remote_sent = k->remote_sent;
        o->remote_drained = k->remote_drained;
        o->bytes_requested = k->bytes_requested;
        hk_tier_add(c < HK_NUM_TINY ? &out->tiny : &out->mid, o);
    }
#define HK_LOAD(name) atomic_load_explicit(&hk_pstat.name, HK_RELAXED)
    out->tiny.mappings = HK_LOAD(slabs_live) - HK_LOAD(slabs_live_mid);
    out->mid.mappings = HK_LOAD(slabs_live_mid);
    out->large.allocs = HK_LOAD(large_allocs);
    out->large.frees = HK_LOAD(large_frees);
    out->large.live = out->large.allocs - out->large.frees;
    out->large.bytes_requested = HK_LOAD(large_bytes_requested);
    out->large.mappings = HK_LOAD(large_mapped) - HK_LOAD(large_unmapped);
    out->large.cache_hits = HK_LOAD(large_cache_hits);
    out->totals.allocs = out->tiny.allocs + out->mid.allocs + out->large.allocs;
    out->totals.frees = out->tiny.frees + out->mid.frees + out->large.frees;
    out->totals.live = out->totals.allocs - out->totals.frees;
    out->totals.bytes_requested = out->tiny.bytes_requested + out->mid.bytes_requested +
                                  out->large.bytes_requested;
    out->superslabs_mapped = HK_LOAD(superslabs_mapped);
    out->superslabs_unmapped = HK_LOAD(superslabs_unmapped);
    out->superslabs_live = out->superslabs_mapped - out->superslabs_unmapped;
    out->superslabs_cached = HK_LOAD(superslabs_cached);
    out->superslab_bytes = HK_LOAD(superslab_bytes);
    out->large_bytes = HK_LOAD(large_bytes);
    out->bytes_mapped = out->superslab_bytes + out->large_bytes;
    out->oom_events = HK_LOAD(oom_events);
    out->invalid_frees = HK_LOAD(invalid_frees);
    out->threads_seen = HK_LOAD(threads_seen);
    out->threads_exited = HK_LOAD(threads_exited);
#undef HK_LOAD
}

HK_API int hakmem_stats_snapshot(struct hakmem_stats *out, size_t size)
{
    if (!out || size < offsetof(struct hakmem_stats, classes)) {
        errno = EINVAL;
        return -1;
    }
    struct hk_thread_stats sum;
    struct hakmem_stats full;
    hk_heaps_sum(&sum, true);
    hk_stats_fill(&full, &sum);
    memcpy(out, &full, size < sizeof full ? size : sizeof full);
    return 0;
}
