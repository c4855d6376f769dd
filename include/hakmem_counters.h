/* hakmem's counters, each declared once, as X-macro lists. The lists generate the public
 * snapshot (hakmem.h), the allocator's per-thread and process structs and their merge, the
 * text and JSON report, the dump records and hkdump's reader: a new counter is one line
 * here plus its line in the docs (docs/json-schema.md, docs/dump-format.md).
 *
 * X(name, width, doc): width is the counter's column in the text class table, 0 when it
 * appears in JSON and dumps only; a negative width puts the column beside allocs, before
 * the derived live and fast% columns. */
#ifndef HAKMEM_COUNTERS_H
#define HAKMEM_COUNTERS_H

/* Per size class. Per-thread plain adds, merged at thread exit and summed on snapshot.
 * Derived in the snapshot: allocs = fast_hits + slow_allocs, live = allocs - frees. */
#define HAKMEM_CLASS_COUNTERS(X)                                                  \
    X(frees, -12, "blocks given back by the program")                              \
    X(fast_hits, 0, "allocs served by the fast cache pop")                        \
    X(slow_allocs, 0, "allocs served by the slow path")                           \
    X(refills, 9, "slow-path refills of the fast cache")                          \
    X(refill_blocks, 0, "blocks moved into the fast cache by those refills")      \
    X(spills, 8, "batches spilled from thread caches toward slabs")               \
    X(spill_blocks, 0, "blocks in those batches")                                 \
    X(remote_sent, 12, "frees pushed onto another thread's slab")                 \
    X(remote_drained, 15, "remote frees taken back by the owner")                 \
    X(bytes_requested, 0, "sum of requested sizes")

/* Process-wide, updated on slow paths only (atomics). Gauges are live values. New entries
 * go at the end: the snapshot struct is copied by size, so older callers keep their view. */
#define HAKMEM_PROCESS_COUNTERS(X)                                                \
    X(superslabs_mapped, 0, "SuperSlabs ever mapped")                             \
    X(superslabs_unmapped, 0, "SuperSlabs ever returned to the OS")               \
    X(superslabs_cached, 0, "gauge: empty SuperSlabs kept for reuse")             \
    X(superslab_bytes, 0, "gauge: bytes mapped for live SuperSlabs")              \
    X(slabs_live, 0, "gauge: slabs assigned to a class")                          \
    X(slabs_live_mid, 0, "gauge: of those, slabs of mid classes")                 \
    X(large_allocs, 0, "large blocks handed out")                                 \
    X(large_frees, 0, "large blocks given back")                                  \
    X(large_bytes_requested, 0, "sum of requested large sizes")                   \
    X(large_cache_hits, 0, "large blocks served by a cached or kept mapping")     \
    X(large_mapped, 0, "large mappings ever made")                                \
    X(large_unmapped, 0, "large mappings ever returned")                          \
    X(large_bytes, 0, "gauge: bytes of live large mappings, cached and kept too") \
    X(oom_events, 0, "out-of-memory events")                                      \
    X(invalid_frees, 0, "frees of pointers hakmem did not hand out")              \
    X(threads_seen, 0, "threads that used the allocator")                         \
    X(threads_exited, 0, "of those, threads that exited")                         \
    X(large_kept, 0, "gauge: large mappings kept because munmap was refused")     \
    X(unmap_failures, 0, "munmaps refused (by the kernel or fault injection)")    \
    X(diag_bytes, 0, "gauge: bytes the diagnostics mapped for themselves (side tables, the leak tracker's arena), never in bytes_mapped")

#endif
