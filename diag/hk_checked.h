/* The checked paths of diagnostic mode (HAKMEM_SHADOW=1, HAKMEM_LEAK_CHECK=1).
 *
 * In diagnostic mode every malloc and free leaves the hot path (the TLS heap pointer stays on
 * the empty sentinel, hk_heap.h) and comes here. The common case, a block popped from or
 * pushed onto the calling thread's own fast cache, is done here in one pass over the block's
 * side-table entry; refills, spills, remote frees and the dead heap go through the ordinary
 * slow paths (hk_tiny.c), which apply their own state transitions. */
#ifndef HK_CHECKED_H
#define HK_CHECKED_H

#include "hk_internal.h"
#include "hk_superslab.h"

/* malloc of diagnostic mode. fixed_cls >= 0: take a block of that class (aligned requests,
 * whose class was chosen for the alignment); otherwise the class is chosen for size plus the
 * overflow canary. */
void *hk_checked_alloc(size_t size, int fixed_cls);
/* free of diagnostic mode, for p already known to start a block of slab s. */
void hk_checked_free(struct hk_slab *s, void *p);

/* A block of class cls from the calling thread's heap, or the dead heap (hk_api.c); NULL
 * after an OOM event. *serial: the allocating thread's number (0 for the dead heap). */
void *hk_alloc_block(size_t size, unsigned cls, uint16_t *serial);

#endif
