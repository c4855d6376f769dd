/* Heapsort (hk_sort.h): a max-heap of "sorts later", emptied from the back. */
#include "hk_sort.h"

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
