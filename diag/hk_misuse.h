/* Misuse reports: one line on stderr per event (write(2), no malloc), counted, and an abort
 * when HAKMEM_ABORT_ON_ERROR=1. The program otherwise carries on: the offending pointer is
 * never freed, so a bad free cannot corrupt the heap. */
#ifndef HK_MISUSE_H
#define HK_MISUSE_H

#include <stddef.h>
#include <stdint.h>

enum hk_misuse_kind {
    HK_MISUSE_DOUBLE_FREE,
    HK_MISUSE_INTERIOR_FREE,     /* inside a block, not its start */
    HK_MISUSE_FOREIGN_FREE,      /* not hakmem's memory at all */
    HK_MISUSE_UNALLOCATED_FREE,  /* hakmem's memory, but never handed out */
    HK_MISUSE_USE_AFTER_FREE,
    HK_MISUSE_OVERFLOW,
    HK_MISUSE_CORRUPT_FREELIST,
    HK_MISUSE_KINDS
};

/* cls < 0 when unknown; state names where the block was ("slab-free", "in-use", ...). */
void hk_misuse_report(enum hk_misuse_kind kind, const void *p, int cls, const char *state);

/* What the side metadata knows of the block (shadow mode, leak tracking): printed under the
 * report line and kept for JSON. */
struct hk_misuse_block {
    int alloc_tid;          /* the thread that allocated it; 0 when unknown */
    uint32_t alloc_stack;   /* where (leak tracking); 0 when unknown */
    uint32_t free_stack;    /* where it was freed (shadow mode with leak tracking) */
};
void hk_misuse_report_block(enum hk_misuse_kind kind, const void *p, int cls,
                            const char *state, const struct hk_misuse_block *b);
/* Emits the most recent misuse reports (up to 32): dump records, or the JSON "misuse" array
 * (the text report does not repeat them: each was printed when it happened). */
struct hk_emit;
void hk_misuse_emit(struct hk_emit *e);
/* Stable identifier used in dumps and JSON ("double-free", ...). */
const char *hk_misuse_id(enum hk_misuse_kind kind);

#endif
