#include "hk_size_class.h"

/* Must agree with hk_size_class(); tests/unit/test_size_class.c checks every size. */
const uint32_t hk_class_size[HK_NUM_CLASSES] = {
    16, 32, 48, 64, 80, 96, 112, 128,                   /* tiny, 16 B steps */
    160, 192, 224, 256, 320, 384, 448, 512,             /* tiny, 4 per doubling */
    640, 768, 896, 1024,
    1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,     /* mid */
    5120, 6144, 7168, 8192, 10240, 12288, 14336, 16384,
    20480, 24576, 28672, 32768, 40960, 49152, 57344, 65536,
    81920, 98304, 114688, 131072, 163840, 196608, 229376, 262144,     /* mid, 2 MiB slabs */
    327680, 393216, 458752, 524288,
};
