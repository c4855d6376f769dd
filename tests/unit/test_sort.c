/* The sorts of diag/hk_sort.h: the radix sort by key against an independent oracle (an
 * insertion sort, stable) on arrays whose keys differ in their low bytes only, their high
 * bytes only, in all of them, not at all, and on 0, 1 and 2 elements; and the heapsort by
 * index on the same arrays. */
#include "hk_sort.h"
#include "../common/hk_test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct elem {
    uint32_t pad;        /* the key is not the first field */
    uint32_t order;      /* the position before the sort: stability */
    uint64_t key;
    char tail[8];
};

#define N 3000
static struct elem a[N], want[N], tmp[N];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) { return hk_test_rand(&rng); }

static void oracle(struct elem *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct elem x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].key > x.key; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static bool less(const void *x, const void *y)
{
    const struct elem *p = x, *q = y;
    return p->key != q->key ? p->key < q->key : p->order < q->order;
}

static void fill(size_t n, uint64_t mask, uint64_t base)
{
    for (size_t i = 0; i < n; i++) {
        a[i].pad = (uint32_t)next();
        a[i].order = (uint32_t)i;
        a[i].key = base | (next() & mask);
        snprintf(a[i].tail, sizeof a[i].tail, "%zu", i % 1000000);
    }
    memcpy(want, a, n * sizeof *a);
    oracle(want, n);
}

int main(void)
{
    const struct {
        size_t n;
        uint64_t mask, base;
        const char *what;
    } cases[] = {
        {N, 0xff, 0, "one low byte (many equal keys)"},
        {N, 0xffff00, 0x7f0000000000, "middle bytes, a shared high part"},
        {N, 0xff00000000000000ull, 0x1234, "the top byte only"},
        {N, ~0ull, 0, "every byte"},
        {N, 0, 42, "all equal"},
        {0, ~0ull, 0, "no element"},
        {1, ~0ull, 0, "one element"},
        {2, ~0ull, 0, "two elements"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fill(cases[c].n, cases[c].mask, cases[c].base);
        hk_sort_by_key(a, tmp, cases[c].n, sizeof *a, offsetof(struct elem, key));
        expect_true(!memcmp(a, want, cases[c].n * sizeof *a),
                    "radix sort by key, %s: not the stable order", cases[c].what);
        fill(cases[c].n, cases[c].mask, cases[c].base);
        hk_sort_array(a, cases[c].n, sizeof *a, less);
        expect_true(!memcmp(a, want, cases[c].n * sizeof *a), "heapsort, %s: not in order",
                    cases[c].what);
    }
    return hk_test_done("sort");
}
