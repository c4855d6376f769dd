#include "hk_misuse.h"
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_size_class.h"
#include "hk_stats.h"

#include <stdlib.h>
#include <unistd.h>

static const struct {
    const char *id;        /* stable, for dumps and JSON */
    const char *what;      /* for people */
    const char *detail;
} hk_misuse_names[HK_MISUSE_KINDS] = {
    [HK_MISUSE_DOUBLE_FREE] = {"double-free", "double free", NULL},
    [HK_MISUSE_INTERIOR_FREE] = {"interior-free", "invalid free", "interior pointer, not the start of a block"},
    [HK_MISUSE_FOREIGN_FREE] = {"foreign-free", "invalid free", "not allocated by hakmem (foreign pointer)"},
    [HK_MISUSE_UNALLOCATED_FREE] = {"unallocated-free", "invalid free", "hakmem memory that was never handed out"},
    [HK_MISUSE_USE_AFTER_FREE] = {"use-after-free", "use after free", "a freed block was written to"},
    [HK_MISUSE_OVERFLOW] = {"overflow", "buffer overflow", "bytes past the requested size were overwritten"},
    [HK_MISUSE_CORRUPT_FREELIST] = {"corrupt-freelist", "corrupt freelist", "a free list links to an address that is not a free block; the rest of the list is dropped"},
};

const char *hk_misuse_id(enum hk_misuse_kind kind)
{
    return (unsigned)kind < HK_MISUSE_KINDS ? hk_misuse_names[kind].id : "unknown";
}

void hk_misuse_report(enum hk_misuse_kind kind, const void *p, int cls, const char *state)
{
    HK_PSTAT_ADD(invalid_frees, 1);
    if (hk_opt.report_invalid || hk_opt.abort_on_error) {
        struct hk_out o;
        hk_out_init_fd(&o, STDERR_FILENO);
        hk_out_str(&o, "hakmem: error: ");
        hk_out_str(&o, hk_misuse_names[kind].what);
        hk_out_str(&o, " of ");
        hk_out_hex(&o, (uint64_t)(uintptr_t)p);
        if (hk_misuse_names[kind].detail) {
            hk_out_str(&o, ": ");
            hk_out_str(&o, hk_misuse_names[kind].detail);
        }
        hk_out_str(&o, " (");
        if (cls >= 0 && (unsigned)cls < HK_NUM_CLASSES) {
            hk_out_str(&o, "class ");
            hk_out_u64(&o, (uint64_t)cls);
            hk_out_str(&o, ", ");
            hk_out_u64(&o, hk_class_size[cls]);
            hk_out_str(&o, " B, ");
        }
        hk_out_str(&o, "thread ");
        hk_out_u64(&o, (uint64_t)hk_os_tid());
        if (state) {
            hk_out_str(&o, ", state ");
            hk_out_str(&o, state);
        }
        hk_out_str(&o, hk_opt.abort_on_error ? "); aborting\n" : "); ignored\n");
        hk_out_flush(&o);
    }
    if (hk_opt.abort_on_error)
        abort();
}
