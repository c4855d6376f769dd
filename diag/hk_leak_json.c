/* The leak check in the stats report: the "leak_summary" object (text and JSON, through
 * the one emitter) and, in JSON, the "leaks" array with each record's frames; the frames
 * of a misuse report's stack in JSON. */
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_lock.h"
#include "hk_options.h"

/* The source of a frame: with an inline chain, the line of the call in the frame's own
 * function (the chain's last entry). */
static struct hk_line hk_frame_source(const struct hk_frame_info *fi)
{
    const char *chain = fi->inlined, *func;
    struct hk_line src = fi->src;
    for (uint32_t k = 0; k < fi->ninlined; k++)
        hk_leak_inline_next(&chain, &func, &src);
    return src;
}

static void hk_json_source(struct hk_out *o, const struct hk_line *src)
{
    hk_out_char(o, '"');                   /* "" without debug information */
    if (src->file)
        hk_leak_out_source(o, src, true);
    hk_out_char(o, '"');
}

/* "inlined": per frame, the functions inlined at its pc, innermost first, each
 * {"function","source"}; [] for a frame without. */
static void hk_json_inlined(struct hk_out *o, const struct hk_frame_info *fi)
{
    hk_out_char(o, '[');
    const char *chain = fi->inlined, *func;
    struct hk_line src;
    for (uint32_t k = 0; k + 1 < fi->ninlined; k++) {
        hk_leak_inline_next(&chain, &func, &src);
        hk_out_str(o, k ? ",{\"function\":" : "{\"function\":");
        hk_out_json_str(o, func);
        hk_out_str(o, ",\"source\":");
        hk_json_source(o, &src);
        hk_out_char(o, '}');
    }
    hk_out_char(o, ']');
}

/* JSON: "frames":["f", ...] and its parallel arrays as members of the current row (the
 * emitter has no string arrays: hk_emit_json_key and the values written here). */
static void hk_emit_frames(struct hk_emit *e, uint32_t stack)
{
    const uint32_t *fids;
    int n = hk_stack_frame_ids(stack, &fids);
    for (int part = 0; part < 6; part++) {
        static const char *const keys[] = {"frames",  "modules", "offsets",
                                           "pcs",     "sources", "inlined"};
        hk_emit_json_key(e, keys[part]);
        hk_out_char(e->out, '[');
        for (int i = 0; i < n; i++) {
            struct hk_frame_info fi;
            hk_leak_frame_info(fids[i], part == 4, &fi);
            if (i)
                hk_out_char(e->out, ',');
            if (part == 0)
                hk_out_json_str(e->out, fi.func ? fi.func : "?");
            else if (part == 1)
                hk_out_json_str(e->out, fi.module ? fi.module : "?");
            else if (part == 4) {
                struct hk_line src = hk_frame_source(&fi);
                hk_json_source(e->out, &src);
            } else if (part == 5)
                hk_json_inlined(e->out, &fi);
            else
                hk_out_u64(e->out, part == 2 ? fi.offset : fi.pc);
        }
        hk_out_char(e->out, ']');
    }
}

void hk_leak_emit_frames(struct hk_emit *e, const char *key, uint32_t stack)
{
    const uint32_t *fids;
    int n = hk_stack_frame_ids(stack, &fids);
    if (!n || e->format != HK_EMIT_JSON)
        return;
    /* As in hk_leak_print_stack; never in a signal handler (dladdr may take the loader's
     * lock): e->lock is off there. */
    bool named = e->lock && hk_trylock(&hk_leak_lock);
    hk_emit_json_key(e, key);
    hk_out_char(e->out, '[');
    for (int i = 0; i < n; i++) {
        struct hk_frame_info fi = {.pc = hk_stack_frame_pc(fids[i])};
        if (named)
            hk_leak_frame_info(fids[i], false, &fi);
        if (i)
            hk_out_char(e->out, ',');
        if (fi.func) {
            hk_out_json_str(e->out, fi.func);
        } else {                           /* "0x..." */
            hk_out_char(e->out, '"');
            hk_out_hex(e->out, fi.pc);
            hk_out_char(e->out, '"');
        }
    }
    hk_out_char(e->out, ']');
    if (named)
        hk_unlock(&hk_leak_lock);
}

static const char *const hk_leak_cols[] = {"blocks", "bytes", "stack"};
static const int hk_leak_widths[] = {10, 12, 8};

/* The "leak_summary" object: the run's totals and the tracker's own size. */
static void hk_emit_summary(struct hk_emit *e, const struct hk_run *r)
{
    hk_emit_obj_begin(e, "leak_summary", "leaks");
    hk_emit_u64(e, "lost_stacks", r->stacks[0]);
    hk_emit_u64(e, "lost_blocks", r->blocks[0]);
    hk_emit_u64(e, "lost_bytes", r->bytes[0]);
    hk_emit_json_u64(e, "indirect_blocks", r->indirect_blocks);
    hk_emit_json_u64(e, "indirect_bytes", r->indirect_bytes);
    hk_emit_u64(e, "reachable_stacks", r->stacks[1]);
    hk_emit_u64(e, "reachable_blocks", r->blocks[1]);
    hk_emit_u64(e, "reachable_bytes", r->bytes[1]);
    hk_emit_u64(e, "suppressed_stacks", r->supp_stacks);
    hk_emit_u64(e, "suppressed_blocks", r->supp_blocks);
    hk_emit_u64(e, "untracked_blocks", r->untracked_blocks);
    hk_emit_json_u64(e, "stacks_recorded", hk_stack_count());
    hk_emit_json_u64(e, "frames_recorded", hk_stack_frame_count());
    hk_emit_json_u64(e, "tracker_bytes", hk_leak_arena_used());
    hk_emit_json_u64(e, "roots_mapped_bytes", r->maps_bytes);
    hk_emit_json_u64(e, "unscanned_mappings", r->huge_maps);
    hk_emit_json_u64(e, "unscanned_mapping_bytes", r->huge_maps_bytes);
    hk_emit_obj_end(e);
}

/* JSON only: every unsuppressed record of both kinds, most bytes first ("kind" tells them
 * apart); the text report lists them (hk_leak_check_run). */
static void hk_emit_records(struct hk_emit *e, const struct hk_run *r)
{
    hk_emit_table_begin(e, "leaks", hk_leak_cols, hk_leak_widths, 3);
    for (size_t k = 0; k < r->ng; k++) {
        const struct hk_group *g = &r->g[r->order[k]];
        if (g->supp)
            continue;
        hk_emit_row_begin(e);
        hk_emit_cell_u64(e, "blocks", 10, g->blocks);
        hk_emit_cell_u64(e, "bytes", 12, g->bytes);
        hk_emit_cell_u64(e, "stack", 8, g->stack);
        hk_emit_str(e, "kind", hk_leak_kind_name(g));
        hk_emit_json_u64(e, "held_blocks", g->held_blocks);
        hk_emit_json_u64(e, "held_bytes", g->held_bytes);
        hk_emit_json_u64(e, "size_min", g->smin);
        hk_emit_json_u64(e, "size_max", g->smax);
        hk_emit_frames(e, g->stack);
        hk_emit_row_end(e);
    }
    hk_emit_table_end(e);
}

void hk_leak_emit_run(struct hk_emit *e, const struct hk_run *r)
{
    hk_emit_summary(e, r);
    hk_emit_records(e, r);
}

static void hk_emit_analysis(struct hk_run *r, void *arg)
{
    struct hk_emit *e = arg;
    if (!r)
        return;
    hk_emit_summary(e, r);
    if (e->format == HK_EMIT_JSON)
        hk_emit_records(e, r);
}

void hk_leak_emit(struct hk_emit *e)
{
    if (hk_opt.leak_check && hk_stack_ready())
        hk_leak_with_analysis(hk_emit_analysis, e);
}
