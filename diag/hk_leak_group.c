/* The leak check's groups: the live blocks of one allocation stack and one kind (lost
 * directly, lost indirectly, still reachable) make one record of the reports, with its block
 * count, bytes and size range; a direct group also counts the indirect blocks its blocks
 * hold. The groups are ordered direct, indirect, reachable, and most bytes first in each. */
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_os.h"
#include "hk_sort.h"

#include <stdint.h>

/* 0 direct, 1 indirect, 2 reachable: the order of the report. */
static int hk_group_rank(const struct hk_group *g)
{
    return g->kind == HK_KIND_REACHABLE ? 2 : g->indirect;
}

static bool hk_group_before(const struct hk_group *a, const struct hk_group *b)
{
    if (hk_group_rank(a) != hk_group_rank(b))
        return hk_group_rank(a) < hk_group_rank(b);
    if (a->bytes + a->held_bytes != b->bytes + b->held_bytes)
        return a->bytes + a->held_bytes > b->bytes + b->held_bytes;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks;
    return a->stack < b->stack;
}

/* The groups' order: most bytes first (hk_sort.h over r->order). */
static bool hk_order_less(void *ctx, size_t i, size_t j)
{
    const struct hk_run *r = ctx;
    return hk_group_before(&r->g[r->order[i]], &r->g[r->order[j]]);
}

static void hk_order_swap(void *ctx, size_t i, size_t j)
{
    struct hk_run *r = ctx;
    uint32_t t = r->order[i];
    r->order[i] = r->order[j];
    r->order[j] = t;
}

enum { HK_SLOT_DIRECT, HK_SLOT_INDIRECT, HK_SLOT_REACHABLE, HK_SLOTS };

/* The group of stack and slot, made when it is first needed; map: stack * HK_SLOTS + slot ->
 * group index + 1. */
static struct hk_group *hk_group_of(struct hk_run *r, uint32_t *map, uint32_t stack, int slot)
{
    uint32_t *m = &map[(size_t)stack * HK_SLOTS + (size_t)slot];
    if (!*m) {
        struct hk_group *g = &r->g[r->ng++];
        g->stack = stack;
        g->kind = slot == HK_SLOT_REACHABLE ? HK_KIND_REACHABLE : HK_KIND_LOST;
        g->indirect = slot == HK_SLOT_INDIRECT;
        g->smin = SIZE_MAX;
        *m = (uint32_t)r->ng;
    }
    return &r->g[*m - 1];
}

static bool hk_tracked(const struct hk_lb *x, uint32_t ns)
{
    return x->stack && x->stack <= ns;
}

/* Block i into its group, and an indirect one into the count its leader's group holds. */
static void hk_group_add(struct hk_run *r, uint32_t *map, size_t i, uint32_t ns)
{
    const struct hk_lb *x = &r->b[i];
    int slot = HK_SLOT_REACHABLE;
    if (x->reach != HK_REACH_ROOT) {
        size_t lead = hk_leak_leader(r, i);
        slot = lead == i ? HK_SLOT_DIRECT : HK_SLOT_INDIRECT;
        if (slot == HK_SLOT_INDIRECT && hk_tracked(&r->b[lead], ns)) {
            struct hk_group *h = hk_group_of(r, map, r->b[lead].stack, HK_SLOT_DIRECT);
            h->held_blocks++;
            h->held_bytes += x->size;
        }
    }
    struct hk_group *g = hk_group_of(r, map, x->stack, slot);
    g->blocks++;
    g->bytes += x->size;
    if (x->size < g->smin)
        g->smin = x->size;
    if (x->size > g->smax)
        g->smax = x->size;
}

/* Every group: suppressed or counted in the totals of its kind; then the order. */
static void hk_group_totals(struct hk_run *r)
{
    for (size_t i = 0; i < r->ng; i++) {
        struct hk_group *g = &r->g[i];
        g->supp = hk_leak_suppressed(r, g);
        if (g->supp) {
            r->supp_stacks++;
            r->supp_blocks += g->blocks;
            r->supp_bytes += g->bytes;
        } else {
            r->stacks[g->kind]++;
            r->blocks[g->kind] += g->blocks;
            r->bytes[g->kind] += g->bytes;
            if (g->indirect) {
                r->indirect_blocks += g->blocks;
                r->indirect_bytes += g->bytes;
            }
        }
        r->order[i] = (uint32_t)i;
    }
    const struct hk_sort sort = {hk_order_less, hk_order_swap, r};
    hk_heapsort(&sort, r->ng);
}

bool hk_leak_group(struct hk_run *r)
{
    uint32_t ns = hk_stack_count();
    size_t slots = ((size_t)ns + 1) * HK_SLOTS, map_len;
    uint32_t *map = hk_leak_run_map(slots * sizeof *map, &map_len);
    size_t maxg = r->nb < slots ? r->nb : slots;
    r->g = hk_leak_run_map((maxg + 1) * sizeof *r->g, &r->g_len);
    r->order = hk_leak_run_map((maxg + 1) * sizeof *r->order, &r->order_len);
    if (!map || !r->g || !r->order) {
        if (map)
            hk_leak_run_unmap(map, map_len);
        return false;
    }
    for (size_t i = 0; i < r->nb; i++) {
        const struct hk_lb *x = &r->b[i];
        if (!hk_tracked(x, ns)) {
            r->untracked_blocks++;
            r->untracked_bytes += x->size;
        } else {
            hk_group_add(r, map, i, ns);
        }
    }
    hk_leak_run_unmap(map, map_len);
    hk_leak_sym_inline(r);
    hk_group_totals(r);
    return true;
}

const char *hk_leak_kind_name(const struct hk_group *g)
{
    return g->kind == HK_KIND_REACHABLE ? "reachable" : g->indirect ? "indirect" : "direct";
}
