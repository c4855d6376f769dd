/* The checks of a pointer the program hands back (hk_slow.c), shared by free and realloc. */
#ifndef HK_SLOW_H
#define HK_SLOW_H

#include "hk_superslab.h"

/* The slab of the block that p was handed out as (p in a registered SuperSlab), after every
 * check: the SuperSlab's magic, an assigned slab, a carved block's start (in shadow mode,
 * its start plus its front guard) and, when the pointer is being given back, a block in
 * use. *block gets the block's start. NULL after a misuse report. */
struct hk_slab *hk_slow_block_checked(void *p, bool giving_back, void **block);

#endif
