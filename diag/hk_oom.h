/* Out-of-memory events: the allocator calls the hook hk_oom_event() (src/hk_hooks.h) when a
 * mapping fails, hk_oom_refused() when a request is refused before mapping. The first
 * records the event and prints one line in the spirit of the legacy "[SS OOM]" line (same
 * keys, so old greps work) plus the process limits, the second one line naming the size and
 * the alignment; neither allocates. The caller returns NULL with errno = ENOMEM. */
#ifndef HK_OOM_H
#define HK_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Process limits and memory use, read without malloc (also used by dumps). */
struct hk_limits {
    uint64_t rlimit_as_cur, rlimit_as_max;   /* UINT64_MAX = unlimited */
    uint64_t vm_size_kb, vm_rss_kb, vm_peak_kb;
    int overcommit_memory;                   /* -1 when unknown */
    long maps, max_map_count;                /* /proc/self/maps lines, vm.max_map_count; -1 */
};
/* The failure of a mapping is put down to vm.max_map_count (reason=map_count) when the
 * process is this close to it: the failing call itself needed one or two more, and other
 * threads may have unmapped a few since. */
#define HK_MAP_COUNT_NEAR 64
bool hk_limits_map_count_reached(const struct hk_limits *lim);
void hk_limits_read(struct hk_limits *out);

#endif
