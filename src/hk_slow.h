/* The checks of a pointer the program hands back (hk_slow.c), shared by free and realloc. */
#ifndef HK_SLOW_H
#define HK_SLOW_H

#include "hk_superslab.h"

/* The slab whose block starts at p (p in a registered SuperSlab), after every check: the
 * SuperSlab's magic, an assigned slab, a carved block's start and, when the pointer is
 * being given back, a block in use. NULL after a misuse report. */
struct hk_slab *hk_slow_block_checked(void *p, bool giving_back);

#endif
