/* The leak check's text report (stderr, or the fd of hakmem_leak_check's caller): the
 * totals, one record per group with its symbolized stack, the suppressions that hit, what
 * was not checked; and the stacks that misuse reports print. */
#include "hk_log.h"
#include "hk_dump_format.h"
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_line.h"
#include "hk_leak_run.h"
#include "hk_lock.h"
#include "hk_options.h"
#include "hk_os.h"

#include <unistd.h>

void hk_leak_out_source(struct hk_out *o, const struct hk_line *src, bool json)
{
    void (*put)(struct hk_out *, const char *) = json ? hk_out_json_str_body : hk_out_str;
    if (src->dir && src->dir[0]) {
        put(o, src->dir);
        hk_out_char(o, '/');
    }
    put(o, src->file);
    hk_out_char(o, ':');
    hk_out_u64(o, src->line);
}


static void hk_out_thousands(struct hk_out *o, uint64_t v)
{
    char tmp[32];
    int n = 0;
    do {
        if (n % 4 == 3)
            tmp[n++] = ',';
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        hk_out_char(o, tmp[--n]);
}

static void hk_out_bytes(struct hk_out *o, uint64_t v)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (v < 1024) {
        hk_out_u64(o, v);
        hk_out_str(o, " B");
        return;
    }
    int u = 0;
    uint64_t scale = 1024;
    while (u < 3 && v >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    hk_out_fixed(o, v, scale, 1);
    hk_out_char(o, ' ');
    hk_out_str(o, units[u]);
}

static void hk_out_plural(struct hk_out *o, uint64_t n, const char *one, const char *many)
{
    hk_out_thousands(o, n);
    hk_out_char(o, ' ');
    hk_out_str(o, n == 1 ? one : many);
}

#define HK_REPORT_MAX_RECORDS 1000

/* One numbered line: pc, function, module+offset, source; `inlined` marks code inlined
 * into the next line's function at the same pc. */
static void hk_print_frame(struct hk_out *o, unsigned n, const struct hk_frame_info *fi,
                           const char *func, const struct hk_line *src, bool inlined)
{
    hk_out_str(o, "hakmem:     #");
    hk_out_u64(o, n);
    hk_out_char(o, ' ');
    hk_out_hex(o, fi->pc);
    hk_out_char(o, ' ');
    hk_out_str(o, func ? func : "?");
    if (fi->module) {
        hk_out_str(o, " (");
        hk_out_str(o, fi->module);
        hk_out_char(o, '+');
        hk_out_hex(o, fi->offset);
        hk_out_char(o, ')');
    }
    if (src->file) {
        hk_out_char(o, ' ');
        hk_leak_out_source(o, src, false);
    }
    if (inlined)
        hk_out_str(o, " (inlined)");
    hk_out_char(o, '\n');
}

/* A frame with an inline chain is a line per function of it, as eu-addr2line -i and
 * llvm-symbolizer give them, with the helper's sources. */
static void hk_print_frames(struct hk_out *o, uint32_t stack)
{
    const uint32_t *fids;
    int n = hk_stack_frame_ids(stack, &fids);
    unsigned line = 0;
    for (int i = 0; i < n; i++) {
        struct hk_frame_info fi;
        hk_leak_frame_info(fids[i], true, &fi);
        const char *chain = fi.inlined, *func;
        struct hk_line src;
        for (uint32_t k = 0; k < fi.ninlined; k++) {
            hk_leak_inline_next(&chain, &func, &src);
            bool inl = k + 1 < fi.ninlined;   /* the last: the frame's own function */
            hk_print_frame(o, line++, &fi, inl || !fi.func ? func : fi.func, &src, inl);
        }
        if (!fi.ninlined)
            hk_print_frame(o, line++, &fi, fi.func, &fi.src, false);
    }
}

void hk_leak_print_stack(struct hk_out *o, uint32_t stack)
{
    if (!stack)
        return;
    /* The symbol tables are the leak check's; a report racing with a check prints the
     * addresses only rather than wait (it may run with allocator locks held). */
    if (hk_trylock(&hk_leak_lock)) {
        hk_print_frames(o, stack);
        hk_unlock(&hk_leak_lock);
        return;
    }
    uintptr_t frames[HK_STACK_MAX_DEPTH];
    int n = hk_stack_frames(stack, frames);
    for (int i = 0; i < n; i++) {
        hk_out_str(o, "hakmem:     #");
        hk_out_u64(o, (uint64_t)i);
        hk_out_char(o, ' ');
        hk_out_hex(o, frames[i]);
        hk_out_char(o, '\n');
    }
}

/* The first line: lost, still reachable and suppressed, in all. */
static void hk_report_totals(struct hk_out *o, const struct hk_run *r, bool final)
{
    static const char *const what[] = {" lost", " still reachable"};
    hk_out_str(o, final ? "hakmem: leak report: " : "hakmem: leak report (on demand): ");
    for (int k = 0; k < 2; k++) {
        hk_out_plural(o, r->stacks[k], "stack", "stacks");
        hk_out_str(o, ", ");
        hk_out_plural(o, r->blocks[k], "block", "blocks");
        hk_out_str(o, ", ");
        hk_out_bytes(o, r->bytes[k]);
        hk_out_str(o, what[k]);
        if (k == HK_KIND_LOST && r->indirect_blocks) {
            hk_out_str(o, " (");
            hk_out_plural(o, r->indirect_blocks, "block", "blocks");
            hk_out_str(o, ", ");
            hk_out_bytes(o, r->indirect_bytes);
            hk_out_str(o, " of it indirectly)");
        }
        hk_out_str(o, "; ");
    }
    hk_out_plural(o, r->supp_stacks, "stack", "stacks");
    hk_out_str(o, " suppressed (");
    hk_out_plural(o, r->supp_blocks, "block", "blocks");
    hk_out_str(o, ")\n");
}

/* Record number n: one group and the stack that allocated its blocks. */
static void hk_report_group(struct hk_out *o, const struct hk_group *g, unsigned n)
{
    hk_out_str(o, "hakmem: leak ");
    hk_out_u64(o, n);
    hk_out_str(o, ": ");
    hk_out_u64(o, g->blocks);
    hk_out_str(o, g->blocks == 1 ? " block, " : " blocks, ");
    hk_out_u64(o, g->bytes);
    hk_out_str(o, g->kind == HK_KIND_REACHABLE ? " bytes still reachable (sizes "
                  : g->indirect                ? " bytes lost indirectly (sizes "
                                               : " bytes lost directly (sizes ");
    hk_out_u64(o, g->smin);
    if (g->smax != g->smin) {
        hk_out_str(o, "..");
        hk_out_u64(o, g->smax);
    }
    hk_out_char(o, ')');
    if (g->held_blocks) {
        hk_out_str(o, ", holding ");
        hk_out_u64(o, g->held_blocks);
        hk_out_str(o, g->held_blocks == 1 ? " block, " : " blocks, ");
        hk_out_u64(o, g->held_bytes);
        hk_out_str(o, " bytes lost indirectly");
    }
    hk_out_str(o, ", allocated at:\n");
    hk_print_frames(o, g->stack);
}

/* The records of the kinds selected, most bytes first, at most HK_REPORT_MAX_RECORDS. */
static void hk_report_groups(struct hk_out *o, const struct hk_run *r)
{
    unsigned shown = 0, hidden = 0;
    for (size_t k = 0; k < r->ng; k++) {
        const struct hk_group *g = &r->g[r->order[k]];
        if (g->supp || !hk_leak_kind_selected(g->kind))
            continue;
        if (shown == HK_REPORT_MAX_RECORDS)
            hidden++;
        else
            hk_report_group(o, g, ++shown);
    }
    if (hidden) {
        hk_out_str(o, "hakmem: ... and ");
        hk_out_u64(o, hidden);
        hk_out_str(o, " smaller records not shown\n");
    }
    if (!hk_leak_kind_selected(HK_KIND_REACHABLE) && r->blocks[1]) {
        hk_out_str(o, "hakmem: still reachable blocks are not listed "
                      "(HAKMEM_LEAK_REPORT=reachable or all lists them)\n");
    }
}

/* What each suppression that hit took, and why the file was refused, if it was. */
static void hk_report_supp(struct hk_out *o, const struct hk_run *r)
{
    for (size_t s = 0; s < r->nsupp; s++) {
        const struct hk_supp *sp = &r->supp[s];
        if (!sp->hits_stacks)
            continue;
        hk_out_str(o, "hakmem: suppressed ");
        hk_out_plural(o, sp->hits_blocks, "block", "blocks");
        hk_out_str(o, " in ");
        hk_out_plural(o, sp->hits_stacks, "stack", "stacks");
        hk_out_str(o, " by leak:");
        hk_out_str(o, sp->pat);
        hk_out_str(o, sp->builtin ? " (built-in)\n" : "\n");
    }
    if (!r->supp_why)
        return;
    hk_out_str(o, "hakmem: cannot read HAKMEM_LEAK_SUPPRESSIONS=");
    hk_out_str(o, hk_opt.leak_suppressions);
    hk_out_str(o, ": ");
    if (r->supp_line) {
        hk_out_str(o, "line ");
        hk_out_u64(o, r->supp_line);
        hk_out_str(o, ": ");
    }
    hk_out_str(o, r->supp_why);
    hk_out_str(o, "; nothing suppressed from it\n");
}

/* The tracker's own memory (apart from the program's) and what the check took. */
static void hk_report_tracker(struct hk_out *o, const struct hk_run *r)
{
    uint32_t stacks = hk_stack_count();
    uint64_t bytes = hk_leak_arena_used();
    hk_out_str(o, "hakmem: " HK_LOG_PREFIX_LEAK_TRACKER);
    hk_out_plural(o, stacks, "stack", "stacks");
    hk_out_str(o, ", ");
    hk_out_plural(o, hk_stack_frame_count(), "distinct frame", "distinct frames");
    hk_out_str(o, " in ");
    hk_out_bytes(o, bytes);
    hk_out_str(o, " of its own");
    if (stacks) {
        hk_out_str(o, " (");
        hk_out_u64(o, bytes / stacks);
        hk_out_str(o, " B a stack)");
    }
    hk_out_str(o, "; the check scanned ");
    hk_out_bytes(o, r->roots_bytes);
    hk_out_str(o, " of roots (");
    hk_out_bytes(o, r->maps_bytes);
    hk_out_str(o, " in the program's own mappings), mapped at most ");
    hk_out_bytes(o, hk_leak_run_peak());
    hk_out_str(o, " and took ");
    hk_out_fixed(o, hk_os_monotonic_ns() - r->start_ns, 1000000000u, 2);
    hk_out_str(o, " s\n");
}

void hk_leak_print_report(const struct hk_run *r, int fd, bool final)
{
    struct hk_out o;
    hk_out_init_fd(&o, fd);
    hk_report_totals(&o, r, final);
    hk_report_groups(&o, r);
    hk_report_supp(&o, r);
    if (r->untracked_blocks) {
        hk_out_str(&o, "hakmem: not checked: ");
        hk_out_plural(&o, r->untracked_blocks, "block", "blocks");
        hk_out_str(&o, ", ");
        hk_out_bytes(&o, r->untracked_bytes);
        hk_out_str(&o, " without a stack (allocated before tracking started or by the "
                       "unwinder)\n");
    }
    if (r->huge_maps) {
        hk_out_str(&o, "hakmem: not checked: ");
        hk_out_plural(&o, r->huge_maps, "mapping", "mappings");
        hk_out_str(&o, ", ");
        hk_out_bytes(&o, r->huge_maps_bytes);
        hk_out_str(&o, " of address space, each too large to scan as roots (over ");
        hk_out_bytes(&o, HK_LEAK_MAPS_SCAN_MAX);
        hk_out_str(&o, ")\n");
    }
    hk_report_tracker(&o, r);
    hk_out_flush(&o);
}

void hk_leak_print_exiting(uint64_t n)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: exiting with status ");
    hk_out_u64(&o, (uint64_t)hk_opt.leak_exitcode);
    hk_out_str(&o, " (HAKMEM_LEAK_EXITCODE): ");
    hk_out_plural(&o, n, "leaked block", "leaked blocks");
    hk_out_char(&o, '\n');
    hk_out_flush(&o);
}

void hk_leak_print_keeping(uint64_t n, int status)
{
    struct hk_out o;
    hk_out_init_fd(&o, hk_log_fd());
    hk_out_str(&o, "hakmem: ");
    hk_out_plural(&o, n, "leaked block", "leaked blocks");
    hk_out_str(&o, "; keeping the program's own exit status ");
    hk_out_u64(&o, (uint64_t)status);
    hk_out_str(&o, " (HAKMEM_LEAK_EXITCODE applies to a clean exit only)\n");
    hk_out_flush(&o);
}
