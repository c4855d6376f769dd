/* Initialisation (hk_init.c). */
#ifndef HK_INIT_H
#define HK_INIT_H

#include "hk_internal.h"

extern atomic_int hk_init_state;   /* 0 not started, 1 running, 2 ready */
void hk_init_slow(void);

static inline void hk_ensure_init(void)
{
    if (HK_UNLIKELY(atomic_load_explicit(&hk_init_state, HK_ACQUIRE) != 2))
        hk_init_slow();
}

#endif
