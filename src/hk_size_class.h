/* Size classes: the one place where block sizes are defined.
 *
 * 16-byte steps up to 128 B (8 classes), then four classes per power of two up to 512 KiB
 * (48 classes): worst-case internal waste 25 %, typical 10 %. Every class size is a multiple
 * of 16 (the minimum alignment), and every power of two from 16 B to 512 KiB is a class, so
 * an aligned request can be served by the power-of-two class >= max(size, alignment).
 * See docs/architecture.md for the measurements behind the spacing. */
#ifndef HK_SIZE_CLASS_H
#define HK_SIZE_CLASS_H

#include <stddef.h>
#include <stdint.h>

#define HK_TINY_MAX     1024u            /* tiny tier: 1 B .. 1 KiB */
#define HK_MID_MAX      (512u * 1024u)   /* mid tier: .. 512 KiB; above is the large tier */
#define HK_NUM_TINY     20u
#define HK_NUM_CLASSES  56u
/* Mid classes up to this size live in 256 KiB slabs; larger ones in 1 MiB slabs (two to a
 * SuperSlab). */
#define HK_MID_SMALL_MAX (64u * 1024u)

extern const uint8_t hk_tiny_class_of[65];

/* Class of a request of n bytes, n <= HK_MID_MAX (n == 0 is class 0). Tiny sizes: one
 * table load (indexed by 16-byte granule); above: log2 plus two mantissa bits (the same rule
 * the table was made from: 16-byte steps to 128 B, then 4 classes per power of two). */
static inline unsigned hk_size_class(size_t n)
{
    if (n <= HK_TINY_MAX)
        return hk_tiny_class_of[(n + 15) >> 4];
    size_t m = n - 1;
    unsigned lg = 63u - (unsigned)__builtin_clzll(m);        /* >= 10 */
    return 8u + (lg - 7u) * 4u + (unsigned)((m >> (lg - 2u)) & 3u);
}

extern const uint32_t hk_class_size[HK_NUM_CLASSES];

static inline int hk_class_is_tiny(unsigned cls) { return cls < HK_NUM_TINY; }

#endif
