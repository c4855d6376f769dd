/* Heapsort (hk_sort.h): a max-heap of "sorts later", emptied from the back. */
#include "hk_sort.h"

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
