/* Misuse reports (the hook of hk_hooks.h) and their records for dumps and JSON. */
#include "hk_misuse.h"
#include "hk_dump_format.h"
#include "hk_log.h"
#include "hk_census.h"
#include "hk_emit.h"
#include "hk_hooks.h"
#include "hk_leak.h"
#include "hk_options.h"
#include "hk_os.h"
#include "hk_size_class.h"
#include "hk_stats.h"

#include <stdlib.h>
#include <unistd.h>

#define HK_MISUSE_TEXT(id, what, detail) {id, what, detail},
static const struct {
    const char *id;        /* stable, for dumps and JSON */
    const char *what;      /* for people */
    const char *detail;
} hk_misuse_names[] = {HK_MISUSE_TEXTS(HK_MISUSE_TEXT)};
#undef HK_MISUSE_TEXT
_Static_assert(sizeof hk_misuse_names / sizeof hk_misuse_names[0] == HK_MISUSE_KINDS,
               "HK_MISUSE_TEXTS lists every enum hk_misuse_kind");

const char *hk_misuse_id(enum hk_misuse_kind kind)
{
    return (unsigned)kind < HK_MISUSE_KINDS ? hk_misuse_names[kind].id : "unknown";
}

/* The latest reports, for dumps: a ring written without locks (a report racing with another
 * may overwrite a slot; dumps are evidence, not a ledger). */
#define HK_MISUSE_RING 32
static struct {
    uint8_t kind;
    int8_t cls_valid;
    uint16_t cls;
    int tid;
    uintptr_t addr;
    const char *state;
    struct hk_misuse_block block;
    int alloc_tid;              /* of block.alloc_thread, 0 when unknown */
    uint32_t report_stack;      /* the call that found it (leak tracking) */
} hk_misuse_ring[HK_MISUSE_RING];
static atomic_uint hk_misuse_count;

void hk_misuse_emit(struct hk_emit *e)
{
    unsigned n = atomic_load(&hk_misuse_count);
    unsigned first = n > HK_MISUSE_RING ? n - HK_MISUSE_RING : 0;
    hk_emit_array_begin(e, "misuse");
    for (unsigned i = first; i < n; i++) {
        const typeof(hk_misuse_ring[0]) *r = &hk_misuse_ring[i % HK_MISUSE_RING];
        hk_emit_obj_begin(e, NULL, "misuse");
        hk_emit_str(e, "kind", hk_misuse_id(r->kind));
        hk_emit_hex(e, "addr", r->addr);
        if (r->cls_valid)
            hk_emit_u64(e, "class", r->cls);
        hk_emit_u64(e, "thread", (uint64_t)r->tid);
        hk_emit_str(e, "state", r->state ? r->state : "unknown");
        if (r->alloc_tid)
            hk_emit_u64(e, "alloc_thread", (uint64_t)r->alloc_tid);
        if (e->format == HK_EMIT_JSON) {
            hk_leak_emit_frames(e, "alloc_frames", r->block.alloc_stack);
            hk_leak_emit_frames(e, "free_frames", r->block.free_stack);
            hk_leak_emit_frames(e, "report_frames", r->report_stack);
        }
        hk_emit_obj_end(e);
    }
    hk_emit_array_end(e);
}

/* The lines under a report: who allocated the block, and the stacks leak tracking has. */
static void hk_misuse_context(struct hk_out *o, enum hk_misuse_kind kind,
                              const struct hk_misuse_block *b, int alloc_tid,
                              uint32_t report_stack)
{
    if (b && alloc_tid) {
        hk_out_str(o, "hakmem:   allocated by thread ");
        hk_out_u64(o, (uint64_t)alloc_tid);
        hk_out_str(o, b->alloc_stack ? " at:\n" : "\n");
        hk_leak_print_stack(o, b->alloc_stack);
    }
    if (b && b->free_stack) {
        hk_out_str(o, "hakmem:   freed at:\n");
        hk_leak_print_stack(o, b->free_stack);
    }
    if (report_stack) {
        hk_out_str(o, kind == HK_MISUSE_DOUBLE_FREE ? "hakmem:   freed again at:\n"
                                                    : "hakmem:   found at:\n");
        hk_leak_print_stack(o, report_stack);
    }
}

void hk_misuse_report(enum hk_misuse_kind kind, const void *p, int cls, const char *state,
                      const struct hk_misuse_block *b)
{
    /* With leak tracking on, the stack of the call that found the misuse. */
    uint32_t report_stack = hk_hook_stack(1);
    int alloc_tid = b ? hk_census_tid(b->alloc_thread) : 0;
    HK_PSTAT_ADD(invalid_frees, 1);
    unsigned slot = atomic_fetch_add(&hk_misuse_count, 1) % HK_MISUSE_RING;
    hk_misuse_ring[slot].kind = (uint8_t)kind;
    hk_misuse_ring[slot].cls_valid = cls >= 0 && (unsigned)cls < HK_NUM_CLASSES;
    hk_misuse_ring[slot].cls = (uint16_t)(cls < 0 ? 0 : cls);
    hk_misuse_ring[slot].tid = hk_os_tid();
    hk_misuse_ring[slot].addr = (uintptr_t)p;
    hk_misuse_ring[slot].state = state;
    hk_misuse_ring[slot].block = b ? *b : (struct hk_misuse_block){0, 0, 0};
    hk_misuse_ring[slot].alloc_tid = alloc_tid;
    hk_misuse_ring[slot].report_stack = report_stack;
    if (hk_opt.report_invalid || hk_opt.abort_on_error) {
        struct hk_out o;
        hk_out_init_fd(&o, hk_log_fd());
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
        hk_misuse_context(&o, kind, b, alloc_tid, report_stack);
        hk_out_flush(&o);
    }
    if (hk_opt.abort_on_error)
        abort();
}
