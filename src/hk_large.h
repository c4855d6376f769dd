/* The large tier (hk_large.c). */
#ifndef HK_LARGE_H
#define HK_LARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *hk_large_alloc(size_t size, size_t align);
void *hk_large_alloc_zeroed(size_t size);
/* kind: the registry kind of p's chunk (HK_CHUNK_LARGE or HK_CHUNK_LARGE_CONT). */
void hk_large_free(void *p, unsigned kind);
size_t hk_large_usable_size(const void *p, unsigned kind);
/* The size requested for the live block p (0 for anything else): shadow mode's usable size,
 * since the canary follows it. */
size_t hk_large_requested_size(const void *p, unsigned kind);
bool hk_large_resize_in_place(void *p, unsigned kind, size_t size);
size_t hk_large_max_request(void);
/* Bytes mapped for the live large blocks. */
size_t hk_large_live_mapped(void);
/* Diagnostic mode (hk_checked.h): stack id, live list, canary. */
void *hk_large_alloc_diag(size_t size, size_t align, bool zero, uint32_t stack);
void hk_large_foreach_live(void (*fn)(void *ctx, void *p, size_t size, size_t usable,
                                      uint32_t stack), void *ctx);
void hk_large_trim(void);
/* Ends the oldest lent tail's loan if it has aged (the heaps' periodic reclaim calls it, so a
 * program that stops using large blocks gives the tails back). Takes hk_large_lock. */
void hk_large_age(void);


#endif
