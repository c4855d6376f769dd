/* The size-class table and the class computation agree for every size. */
#include "hk_size_class.h"
#include "../common/hk_test.h"

int main(void)
{
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        expect_true(hk_class_size[c] % 16 == 0, "class %u size %u not a multiple of 16", c,
                    hk_class_size[c]);
        if (c)
            expect_true(hk_class_size[c] > hk_class_size[c - 1], "class %u not increasing", c);
        expect_true(hk_size_class(hk_class_size[c]) == c, "size %u maps to class %u, not %u",
                    hk_class_size[c], hk_size_class(hk_class_size[c]), c);
    }
    expect_true(hk_class_size[HK_NUM_TINY - 1] == HK_TINY_MAX, "last tiny class is %u",
                hk_class_size[HK_NUM_TINY - 1]);
    expect_true(hk_class_size[HK_NUM_CLASSES - 1] == HK_MID_MAX, "last class is %u",
                hk_class_size[HK_NUM_CLASSES - 1]);
    /* Every size maps to the smallest class that holds it. */
    unsigned bad = 0;
    for (size_t n = 0; n <= HK_MID_MAX; n++) {
        unsigned c = hk_size_class(n);
        if (c >= HK_NUM_CLASSES || hk_class_size[c] < n || (c && hk_class_size[c - 1] >= n))
            bad++;
    }
    expect_true(bad == 0, "%u sizes map to a wrong class", bad);
    /* Every power of two from 16 to 64 KiB is a class (aligned allocation relies on it). */
    for (size_t p = 16; p <= HK_MID_MAX; p <<= 1)
        expect_true(hk_class_size[hk_size_class(p)] == p, "power of two %zu is not a class", p);
    /* Internal waste stays at or below 25 % above 128 B. */
    for (size_t n = 129; n <= HK_MID_MAX; n++) {
        unsigned c = hk_size_class(n);
        if ((hk_class_size[c] - n) * 100 > 25 * n) {
            expect_true(0, "size %zu wastes %u bytes in class %u", n, hk_class_size[c] - (unsigned)n, c);
            break;
        }
    }
    return hk_test_done("size_class");
}
