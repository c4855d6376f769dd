/* Sorts over the caller's arrays (qsort may allocate; diagnostics never do): a heapsort by
 * index, and a radix sort by a 64-bit key where the caller has room for a copy. */
#ifndef HK_SORT_H
#define HK_SORT_H

#include <stdbool.h>
#include <stddef.h>

struct hk_sort {
    bool (*less)(void *ctx, size_t i, size_t j);   /* element i sorts before element j */
    void (*swap)(void *ctx, size_t i, size_t j);
    void *ctx;
};

/* Sorts elements 0 .. n-1 in increasing order of `less`; not stable. */
void hk_heapsort(const struct hk_sort *s, size_t n);

/* The same over an array of n elements of `size` bytes (at most HK_SORT_ELEM_MAX) at base,
 * compared by less(a, b): a sorts before b. */
#define HK_SORT_ELEM_MAX 64
void hk_sort_array(void *base, size_t n, size_t size, bool (*less)(const void *a, const void *b));

/* Sorts n elements of `size` bytes at base by the 64-bit key at byte key_off of each, in
 * increasing order, stable (equal keys keep their order), through tmp (room for n
 * elements): a radix sort by bytes, one pass for each byte in which the keys differ. */
void hk_sort_by_key(void *base, void *tmp, size_t n, size_t size, size_t key_off);

#endif
