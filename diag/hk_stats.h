/* Counters. Each field is declared once in the lists below; the lists generate the structs,
 * the merge, the snapshot and the emitters, so a new counter is one line.
 *
 * Per-thread counters are plain integers written only by their thread (the hot path does a
 * plain add). A thread's counters are merged into hk_stats_retired when it exits; a snapshot
 * is hk_stats_retired plus every live thread's counters (read racily: each 64-bit word is read
 * whole on the platforms we support, and at exit the program is single-threaded in practice).
 * Process-wide counters are atomics updated on slow paths only. */
#ifndef HK_STATS_H
#define HK_STATS_H

#include "hk_internal.h"
#include "hk_size_class.h"

/* X(name): per thread, per size class. allocs = fast_hits + slow_allocs. */
#define HK_CLASS_COUNTERS(X) \
    X(fast_hits)             \
    X(slow_allocs)           \
    X(frees)                 \
    X(refills)               \
    X(refill_blocks)         \
    X(spills)                \
    X(spill_blocks)          \
    X(remote_sent)           \
    X(remote_drained)        \
    X(bytes_requested)

/* X(name): process-wide atomics (the large tier's counters are here: its operations
 * are system calls or a locked cache, so an atomic add costs nothing in comparison). Gauges (live values) are kept as up/down pairs or as
 * gauges where noted. */
#define HK_PROCESS_COUNTERS(X) \
    X(superslabs_mapped)       \
    X(superslabs_unmapped)     \
    X(superslabs_cached)   /* gauge */ \
    X(superslab_bytes)     /* gauge */ \
    X(slabs_live)          /* gauge */ \
    X(slabs_live_mid)      /* gauge */ \
    X(large_allocs)            \
    X(large_frees)             \
    X(large_bytes_requested)   \
    X(large_cache_hits)        \
    X(large_mapped)            \
    X(large_unmapped)          \
    X(large_bytes)         /* gauge */ \
    X(oom_events)              \
    X(invalid_frees)           \
    X(threads_seen)            \
    X(threads_exited)

#define HK_DECLARE_U64(name) uint64_t name;
#define HK_DECLARE_ATOMIC(name) atomic_uint_fast64_t name;

struct hk_class_counters { HK_CLASS_COUNTERS(HK_DECLARE_U64) };

struct hk_thread_stats {
    struct hk_class_counters cls[HK_NUM_CLASSES];
};

struct hk_process_counters { HK_PROCESS_COUNTERS(HK_DECLARE_ATOMIC) };

extern struct hk_process_counters hk_pstat;

#define HK_PSTAT_ADD(name, v) \
    ((void)(hk_config_stats && atomic_fetch_add_explicit(&hk_pstat.name, (v), HK_RELAXED)))
#define HK_PSTAT_SUB(name, v) \
    ((void)(hk_config_stats && atomic_fetch_sub_explicit(&hk_pstat.name, (v), HK_RELAXED)))

/* Adds src into dst (thread exit, snapshot). */
void hk_thread_stats_add(struct hk_thread_stats *dst, const struct hk_thread_stats *src);
/* The merged counters of retired threads (read under the heap list lock). */
extern struct hk_thread_stats hk_stats_retired;



struct hakmem_stats;
/* Fills the public snapshot struct from summed per-thread counters and the process ones. */
void hk_stats_fill(struct hakmem_stats *out, const struct hk_thread_stats *sum);
#endif
