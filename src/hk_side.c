/* The side table's storage and what it says of a block (hk_side.h). */
#include "hk_side.h"
#include "hk_os.h"
#include "hk_stats.h"

#include <string.h>

#define HK_SIDE_TABLE_BYTES (HK_SIDE_ENTRIES * sizeof(struct hk_side))

static const char *const hk_state_names[HK_BLOCK_STATES] = {
    "uncarved", "slab-free", "fast-cache", "tls-list", "in-use", "remote-queue", "quarantined",
};

const char *hk_walk_state_name(unsigned state)
{
    return state < HK_BLOCK_STATES ? hk_state_names[state] : "?";
}

/* Side tables whose munmap the kernel refused, their pages dropped (so they read as zeros,
 * like a fresh mapping), linked through their first word: the next create takes one. Under
 * hk_ss_lock, as every create and free. */
static struct hk_side *hk_side_spare;

int hk_side_create(struct hk_superslab *ss)
{
    struct hk_side *t = hk_side_spare;
    if (t) {
        memcpy(&hk_side_spare, t, sizeof(void *));
        memset(t, 0, sizeof(void *));
    } else if ((t = hk_os_map_meta(HK_SIDE_TABLE_BYTES))) {
        HK_PSTAT_ADD(diag_bytes, HK_SIDE_TABLE_BYTES);
    }
    ss->side = t;
    return t ? 0 : -1;
}

void hk_side_free(struct hk_side *t)
{
    if (!t)
        return;
    if (!hk_os_unmap_meta(t, HK_SIDE_TABLE_BYTES)) {
        HK_PSTAT_SUB(diag_bytes, HK_SIDE_TABLE_BYTES);
        return;
    }
    /* Refused (the pages are dropped already): kept for the next create. */
    memcpy(t, &hk_side_spare, sizeof(void *));
    hk_side_spare = t;
}

void hk_side_destroy(struct hk_superslab *ss)
{
    hk_side_free(ss->side);
    ss->side = NULL;
}

void hk_side_slab_reset(struct hk_slab *s)
{
    struct hk_superslab *ss = hk_ss_of(s);
    if (!ss->side)
        return;
    size_t begin = (size_t)s->index << ss->slab_shift;
    size_t len = (size_t)1 << ss->slab_shift;
    /* Drop the pages rather than writing zeros: most of a slab's entries are never used. A
     * range of less than whole pages (the entries of a 1 MiB slab) shares its page with other
     * slabs' entries and is written instead: madvise would drop the whole page. */
    char *first = (char *)&ss->side[begin >> ss->side_shift];
    size_t bytes = (len >> ss->side_shift) * sizeof(struct hk_side);
    size_t page = hk_os_page_size();
    if ((((uintptr_t)first | bytes) & (page - 1)) || hk_os_discard(first, bytes))
        memset(first, 0, bytes);   /* the entries must read as zeros either way */
}

struct hk_misuse_block hk_side_info(const struct hk_side *e)
{
    return (struct hk_misuse_block){e->thread, e->alloc_stack, e->free_stack};
}

struct hk_misuse_block hk_side_info_at(const void *p)
{
    struct hk_side *e = hk_side_of(p);
    return e ? hk_side_info(e) : (struct hk_misuse_block){0, 0, 0};
}

size_t hk_side_requested(const void *p)
{
    struct hk_side *e = hk_side_of(p);
    return e && e->state == HK_BLOCK_IN_USE ? e->size : 0;
}

HK_COLD void hk_side_unexpected(void *p, unsigned state)
{
    struct hk_slab *s = hk_slab_of(hk_ss_of(p), p);
    hk_misuse_report(HK_MISUSE_CORRUPT_FREELIST, p, s->class_idx, hk_walk_state_name(state),
                     NULL);
}
