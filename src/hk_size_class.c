#include "hk_size_class.h"

/* hk_size_class() for n <= 1 KiB, indexed by (n + 15) / 16: the spacing rule's values,
 * tabulated because the hot path computes a class on every malloc. tests/unit/
 * test_size_class.c checks that every size maps to the smallest class that holds it. */
const uint8_t hk_tiny_class_of[65] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13,
    14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17,
    17, 17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19,
};

/* Must agree with hk_size_class(); tests/unit/test_size_class.c checks every size. */
const uint32_t hk_class_size[HK_NUM_CLASSES] = {
    16, 32, 48, 64, 80, 96, 112, 128,                   /* tiny, 16 B steps */
    160, 192, 224, 256, 320, 384, 448, 512,             /* tiny, 4 per doubling */
    640, 768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,     /* mid */
    5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
    20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536,
    81920, 98304, 114688, 131072, 163840, 196608, 229376, 262144,     /* mid, 1 MiB slabs */
    327680, 393216, 458752, 524288,
};
