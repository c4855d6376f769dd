#include "hk_oom.h"
#include "hk_dump_format.h"
#include "hk_log.h"
#include "hk_hooks.h"
#include "hk_dump.h"
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_stats.h"
#include "hk_walk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static uint64_t hk_status_kb(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    if (!p)
        return 0;
    p += strlen(key);
    while (*p == ' ' || *p == '\t' || *p == ':')
        p++;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

void hk_limits_read(struct hk_limits *out)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        out->rlimit_as_cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
        out->rlimit_as_max = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_max;
    } else {
        out->rlimit_as_cur = out->rlimit_as_max = UINT64_MAX;
    }
    char buf[4096];
    if (hk_os_read_file("/proc/self/status", buf, sizeof buf) > 0) {
        out->vm_size_kb = hk_status_kb(buf, "VmSize");
        out->vm_rss_kb = hk_status_kb(buf, "VmRSS");
        out->vm_peak_kb = hk_status_kb(buf, "VmPeak");
    } else {
        out->vm_size_kb = out->vm_rss_kb = out->vm_peak_kb = 0;
    }
    out->maps = hk_os_map_count();
    out->max_map_count = hk_os_max_map_count();
    char oc[16];
    out->overcommit_memory = -1;
    if (hk_os_read_file("/proc/sys/vm/overcommit_memory", oc, sizeof oc) > 0 &&
        oc[0] >= '0' && oc[0] <= '2')
        out->overcommit_memory = oc[0] - '0';
}

bool hk_limits_map_count_reached(const struct hk_limits *lim)
{
    return lim->maps >= 0 && lim->max_map_count > 0 &&
           lim->maps + HK_MAP_COUNT_NEAR >= lim->max_map_count;
}

static void hk_out_limit(struct hk_out *o, uint64_t v)
{
    if (v == UINT64_MAX)
        hk_out_str(o, "inf");
    else
        hk_out_u64(o, v);
}

/* The first OOM of the process writes a dump; later ones at most one per 10 seconds. */
static void hk_oom_dump(size_t size, int cls, const char *tier, size_t map_size, int err)
{
    static atomic_uint_fast64_t last_ns;
    uint64_t now = hk_os_time_ns(), last = atomic_load(&last_ns);
    /* A racer may have read the clock before the winner and compare against a later time:
     * that is within the window too. */
    if (last && (now < last || now - last < 10000000000ull))
        return;
    if (!atomic_compare_exchange_strong(&last_ns, &last, now))
        return;
    struct hk_dump_event ev = {.kind = "oom", .err = err, .size = size, .cls = cls,
                               .tier = tier, .map_size = map_size};
    hk_dump_write("oom", &ev, true);
}

/* HAKMEM_ABORT_ON_ERROR=1: a core at the failure, after its lines and its dump. */
static void hk_oom_abort_if_asked(void)
{
    if (!hk_opt.abort_on_error)
        return;
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: " HK_LOG_PREFIX_OOM_ABORT " (HAKMEM_ABORT_ON_ERROR=1)\n");
    hk_out_flush(&o);
    abort();
}

/* A request no machine like this one could satisfy: one short line, no dump. The first
 * events in full, then one in a thousand, as for failed mappings. */
void hk_oom_refused(size_t size, size_t align)
{
    uint64_t n = atomic_fetch_add(&hk_pstat.oom_events, 1) + 1;
    if (n > 4 && n % 1000) {
        hk_oom_abort_if_asked();
        return;
    }
    size_t limit = hk_walk_large_limit();
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: refused an allocation of ");
    hk_out_u64(&o, size);
    hk_out_str(&o, " bytes aligned to ");
    hk_out_u64(&o, align);
    hk_out_str(&o, size > limit ? " bytes: the size" : " bytes: the alignment");
    hk_out_str(&o, " is more than physical memory and swap (");
    hk_out_u64(&o, limit);
    hk_out_str(&o, " bytes); returning NULL with ENOMEM\n");
    hk_out_flush(&o);
    hk_oom_abort_if_asked();
}

/* The [SS OOM] line and the limits line. */
static void hk_oom_print(size_t size, int cls, const char *tier, size_t map_size, int err,
                         uint64_t n)
{
    struct hk_limits lim;
    hk_limits_read(&lim);
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: [SS OOM] mmap failed: err=");
    hk_out_u64(&o, (uint64_t)err);
    hk_out_str(&o, " ss_size=");
    hk_out_u64(&o, HK_WALK_SS_SIZE);
    hk_out_str(&o, " alloc_size=");
    hk_out_u64(&o, map_size);
    hk_out_str(&o, " alloc=");
    hk_out_u64(&o, atomic_load(&hk_pstat.superslabs_mapped));
    hk_out_str(&o, " freed=");
    hk_out_u64(&o, atomic_load(&hk_pstat.superslabs_unmapped));
    /* Legacy meaning: alloc x ss_size. What is mapped now follows as live_bytes. */
    hk_out_str(&o, " bytes=");
    hk_out_u64(&o, atomic_load(&hk_pstat.superslabs_mapped) * HK_WALK_SS_SIZE);
    hk_out_str(&o, " live_bytes=");
    hk_out_u64(&o, atomic_load(&hk_pstat.superslab_bytes) + atomic_load(&hk_pstat.large_bytes));
    hk_out_str(&o, " size=");
    hk_out_u64(&o, size);
    hk_out_str(&o, " class=");
    hk_out_i64(&o, cls);
    hk_out_str(&o, " tier=");
    hk_out_str(&o, tier);
    hk_out_str(&o, " event=");
    hk_out_u64(&o, n);
    if (err == ENOMEM && hk_limits_map_count_reached(&lim))
        hk_out_str(&o, " reason=map_count");
    if (lim.maps >= 0 && lim.max_map_count > 0) {
        hk_out_str(&o, " maps=");
        hk_out_u64(&o, (uint64_t)lim.maps);
        hk_out_str(&o, " max_map_count=");
        hk_out_u64(&o, (uint64_t)lim.max_map_count);
    }
    hk_out_str(&o, "\nhakmem: RLIMIT_AS(cur=");
    hk_out_limit(&o, lim.rlimit_as_cur);
    hk_out_str(&o, " max=");
    hk_out_limit(&o, lim.rlimit_as_max);
    hk_out_str(&o, ") VmSize=");
    hk_out_u64(&o, lim.vm_size_kb);
    hk_out_str(&o, " kB VmRSS=");
    hk_out_u64(&o, lim.vm_rss_kb);
    hk_out_str(&o, " kB VmPeak=");
    hk_out_u64(&o, lim.vm_peak_kb);
    hk_out_str(&o, " kB overcommit_memory=");
    hk_out_i64(&o, lim.overcommit_memory);
    hk_out_char(&o, '\n');
    hk_out_flush(&o);
}

void hk_oom_event(size_t size, int cls, const char *tier, size_t map_size, int err)
{
    uint64_t n = atomic_fetch_add(&hk_pstat.oom_events, 1) + 1;
    if (hk_opt.dump_dir)
        hk_oom_dump(size, cls, tier, map_size, err);
    /* The first events in full, then one in a thousand: an OOM storm must not flood. */
    if (n <= 4 || n % 1000 == 0)
        hk_oom_print(size, cls, tier, map_size, err, n);
    hk_oom_abort_if_asked();
}
