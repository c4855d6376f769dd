/* The public snapshot (struct hakmem_stats) of the allocator's counters: the sum of every
 * thread's class counters and the process counters, with the derived values. Every report,
 * dump and hakmem_stats_snapshot() read the counters through it. */
#ifndef HK_SNAPSHOT_H
#define HK_SNAPSHOT_H

#include <stdbool.h>

struct hakmem_stats;

/* lock=false inside signal handlers: the heaps are summed without their locks. */
void hk_snapshot_take(struct hakmem_stats *out, bool lock);

#endif
