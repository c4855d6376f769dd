/* The leak check's groups: the live blocks of one allocation stack and one kind (lost or
 * still reachable) make one record of the reports, with its block count, bytes and size
 * range; the groups are ordered most bytes first. */
#include "hk_internal.h"
#include "hk_leak.h"
#include "hk_leak_int.h"
#include "hk_leak_run.h"
#include "hk_os.h"
#include "hk_sort.h"

#include <stdint.h>

static bool hk_group_before(const struct hk_group *a, const struct hk_group *b)
{
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes;
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

/* One block into its group; map: slot stack * 2 + kind -> group index + 1. */
static void hk_group_add(struct hk_run *r, uint32_t *map, const struct hk_lb *x)
{
    size_t slot = (size_t)x->stack * 2 + (x->reach ? 1 : 0);
    if (!map[slot]) {
        struct hk_group *g = &r->g[r->ng++];
        g->stack = x->stack;
        g->kind = x->reach ? HK_KIND_REACHABLE : HK_KIND_LOST;
        g->smin = g->smax = x->size;
        map[slot] = (uint32_t)r->ng;
    }
    struct hk_group *g = &r->g[map[slot] - 1];
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
        }
        r->order[i] = (uint32_t)i;
    }
    const struct hk_sort sort = {hk_order_less, hk_order_swap, r};
    hk_heapsort(&sort, r->ng);
}

bool hk_leak_group(struct hk_run *r)
{
    uint32_t ns = hk_stack_count();
    size_t slots = ((size_t)ns + 1) * 2, map_len;
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
        if (!x->stack || x->stack > ns) {
            r->untracked_blocks++;
            r->untracked_bytes += x->size;
        } else {
            hk_group_add(r, map, x);
        }
    }
    hk_leak_run_unmap(map, map_len);
    hk_group_totals(r);
    return true;
}
