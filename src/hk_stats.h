/* Counters: allocator state, declared once in include/hakmem_counters.h. The lists generate
 * the structs below and their merge; diag/ only fills the public snapshot and prints.
 *
 * Per-thread counters are plain integers written only by their thread (the hot path does a
 * plain add). A thread's counters are merged into hk_stats_retired when it exits; a snapshot
 * is hk_stats_retired plus every live thread's counters (read racily: each 64-bit word is read
 * whole on the platforms we support, and at exit the program is single-threaded in practice).
 * Process-wide counters are atomics updated on slow paths only. */
#ifndef HK_STATS_H
#define HK_STATS_H

#include "hakmem_counters.h"
#include "hk_internal.h"
#include "hk_size_class.h"

#define HK_DECLARE_U64(name, width, doc) uint64_t name;
#define HK_DECLARE_ATOMIC(name, width, doc) atomic_uint_fast64_t name;

struct hk_class_counters { HAKMEM_CLASS_COUNTERS(HK_DECLARE_U64) };

struct hk_thread_stats {
    struct hk_class_counters cls[HK_NUM_CLASSES];
};

struct hk_process_counters { HAKMEM_PROCESS_COUNTERS(HK_DECLARE_ATOMIC) };

extern struct hk_process_counters hk_pstat;

#define HK_PSTAT_ADD(name, v) \
    ((void)(hk_config_stats && atomic_fetch_add_explicit(&hk_pstat.name, (v), HK_RELAXED)))
#define HK_PSTAT_SUB(name, v) \
    ((void)(hk_config_stats && atomic_fetch_sub_explicit(&hk_pstat.name, (v), HK_RELAXED)))

/* Adds src into dst (thread exit, snapshot). */
HK_RACY_READ static inline void hk_thread_stats_add(struct hk_thread_stats *dst,
                                                    const struct hk_thread_stats *src)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
#define HK_ADD(name, width, doc) dst->cls[c].name += src->cls[c].name;
        HAKMEM_CLASS_COUNTERS(HK_ADD)
#undef HK_ADD
    }
}

/* The merged counters of retired threads (read under the heap list lock). */
extern struct hk_thread_stats hk_stats_retired;

#endif
