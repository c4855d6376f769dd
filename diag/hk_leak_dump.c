/* The leak check's dump records (docs/dump-format.md): "module" lines, the module map with
 * unloaded modules too, and one "stack" line per unsuppressed group, with raw return
 * addresses: hkdump symbolizes them offline. */
#include "hk_dump.h"
#include "hk_emit.h"
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_options.h"

/* The path is always quoted (hk_out_quote), as hkdump reads it. */
static void hk_dump_module(struct hk_out *o, uint32_t id, const struct hk_leak_module *m)
{
    hk_out_str(o, "module");
    hk_dump_rec_u64(o, "id", id);
    hk_dump_rec_hex(o, "base", m->base);
    hk_dump_rec_hex(o, "end", m->hi);
    hk_dump_rec_u64(o, "loaded", m->loaded);
    hk_out_str(o, " path=");
    hk_out_quote(o, m->path);
    hk_out_char(o, '\n');
}

static void hk_dump_stack(struct hk_out *o, const struct hk_group *g)
{
    uintptr_t frames[HK_STACK_MAX_DEPTH];
    int n = hk_stack_frames(g->stack, frames);
    hk_out_str(o, "stack");
    hk_dump_rec_u64(o, "id", g->stack);
    hk_dump_rec_u64(o, "blocks", g->blocks);
    hk_dump_rec_u64(o, "bytes", g->bytes);
    hk_dump_rec_str(o, "kind", hk_leak_kind_name(g));
    if (g->held_blocks) {
        hk_dump_rec_u64(o, "held_blocks", g->held_blocks);
        hk_dump_rec_u64(o, "held_bytes", g->held_bytes);
    }
    hk_out_str(o, " frames=");
    for (int i = 0; i < n; i++) {
        if (i)
            hk_out_char(o, ',');
        hk_out_hex(o, frames[i]);
    }
    hk_out_char(o, '\n');
}

static void hk_dump_analysis(struct hk_run *r, void *arg)
{
    struct hk_out *o = arg;
    if (!r)
        return;
    uint32_t nm = hk_stack_module_count();
    for (uint32_t i = 0; i < nm; i++)
        hk_dump_module(o, i, hk_stack_module(i));
    for (size_t k = 0; k < r->ng; k++)
        if (!r->g[r->order[k]].supp)
            hk_dump_stack(o, &r->g[r->order[k]]);
}

void hk_leak_dump(struct hk_out *o)
{
    if (hk_opt.leak_check && hk_stack_ready())
        hk_leak_with_analysis(hk_dump_analysis, o);
}
