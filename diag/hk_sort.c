/* The sorts of hk_sort.h. Heapsort: a max-heap of "sorts later", emptied from the back. */
#include "hk_sort.h"

#include <stdint.h>
#include <string.h>

static void hk_sift(const struct hk_sort *s, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && s->less(s->ctx, c, c + 1))
            c++;
        if (!s->less(s->ctx, root, c))
            return;
        s->swap(s->ctx, root, c);
        root = c;
    }
}

void hk_heapsort(const struct hk_sort *s, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        hk_sift(s, i, n);
    for (size_t end = n; end-- > 1;) {
        s->swap(s->ctx, 0, end);
        hk_sift(s, 0, end);
    }
}

struct hk_sort_array {
    char *base;
    size_t size;
    bool (*less)(const void *a, const void *b);
};

static bool hk_array_less(void *ctx, size_t i, size_t j)
{
    const struct hk_sort_array *a = ctx;
    return a->less(a->base + i * a->size, a->base + j * a->size);
}

static void hk_array_swap(void *ctx, size_t i, size_t j)
{
    const struct hk_sort_array *a = ctx;
    char t[HK_SORT_ELEM_MAX];
    memcpy(t, a->base + i * a->size, a->size);
    memcpy(a->base + i * a->size, a->base + j * a->size, a->size);
    memcpy(a->base + j * a->size, t, a->size);
}

void hk_sort_array(void *base, size_t n, size_t size, bool (*less)(const void *a, const void *b))
{
    struct hk_sort_array a = {base, size <= HK_SORT_ELEM_MAX ? size : 0, less};
    const struct hk_sort s = {hk_array_less, hk_array_swap, &a};
    if (a.size)
        hk_heapsort(&s, n);
}

static inline uint64_t hk_key_at(const char *elem, size_t key_off)
{
    uint64_t k;
    memcpy(&k, elem + key_off, sizeof k);
    return k;
}

void hk_sort_by_key(void *base, void *tmp, size_t n, size_t size, size_t key_off)
{
    uint64_t any = 0, all = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = hk_key_at((const char *)base + i * size, key_off);
        any |= k;
        all &= k;
    }
    uint64_t differ = any ^ all;   /* the bits in which some keys differ */
    char *src = base, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        if (!((differ >> shift) & 0xff))
            continue;
        size_t at[257] = {0};      /* at[d]: where the elements of digit d go */
        for (size_t i = 0; i < n; i++)
            at[((hk_key_at(src + i * size, key_off) >> shift) & 0xff) + 1]++;
        for (unsigned d = 1; d < 257; d++)
            at[d] += at[d - 1];
        for (size_t i = 0; i < n; i++) {
            unsigned d = (unsigned)((hk_key_at(src + i * size, key_off) >> shift) & 0xff);
            memcpy(dst + at[d]++ * size, src + i * size, size);
        }
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != base)
        memcpy(base, src, n * size);
}
