/* libhk_ctor: a library whose constructor allocates before main runs. */
#ifndef HK_CTOR_LIB_H
#define HK_CTOR_LIB_H
#include <stddef.h>

#define HK_CTOR_KEEP 128

/* Blocks allocated by the constructor and still live when main starts: block i has
 * hk_ctor_size(i) bytes, every byte equal to (unsigned char)(i + 1). */
extern void *hk_ctor_blocks[HK_CTOR_KEEP];
size_t hk_ctor_size(int i);
/* How many allocations the constructor made (0 if it did not run). */
extern int hk_ctor_ran;

#endif
