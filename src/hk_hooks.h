/* The allocator's one door to the diagnostics: the only diag/ functions src/ may call, and
 * the mode flags they depend on. src/ includes no other diag/ header (docs/architecture.md,
 * "Layers"; checked by tests/layers.sh).
 *
 * Every hook is a cold, out-of-line call. Lifecycle hooks sit behind one flag test, so that
 * plain mode pays a predictable branch on a slow path and nothing on the hot path; event
 * hooks (misuse, out of memory) are the report itself and always run. */
#ifndef HK_HOOKS_H
#define HK_HOOKS_H

#include "hk_internal.h"

/* ---- mode flags, set once at initialisation (hk_init.c) ---- */

/* Diagnostic mode: every call takes the checked path and the side table is kept (shadow
 * census or leak tracking). */
extern bool hk_diag_on;
/* Shadow checks and census (HAKMEM_SHADOW=1). */
extern bool hk_shadow_on;
/* Leak tracking (HAKMEM_LEAK_CHECK=1): allocation stacks are captured. */
extern bool hk_leak_on;

/* ---- event hooks (diag/hk_misuse.c, diag/hk_oom.c) ---- */

enum hk_misuse_kind {
    HK_MISUSE_DOUBLE_FREE,
    HK_MISUSE_INTERIOR_FREE,     /* inside a block, not its start */
    HK_MISUSE_FOREIGN_FREE,      /* not hakmem's memory at all */
    HK_MISUSE_UNALLOCATED_FREE,  /* hakmem's memory, but never handed out */
    HK_MISUSE_USE_AFTER_FREE,
    HK_MISUSE_OVERFLOW,
    HK_MISUSE_UNDERFLOW,         /* the front guard before the block (shadow mode) */
    HK_MISUSE_CORRUPT_FREELIST,
    HK_MISUSE_KINDS
};

/* What the side table knows of the block (shadow mode, leak tracking). */
struct hk_misuse_block {
    uint32_t alloc_thread;  /* serial of the thread that allocated it; 0 when unknown */
    uint32_t alloc_stack;   /* where (leak tracking); 0 when unknown */
    uint32_t free_stack;    /* where it was freed (shadow mode with leak tracking) */
};

/* One line on stderr per misuse (write(2), no malloc), counted; aborts when
 * HAKMEM_ABORT_ON_ERROR=1. cls < 0 when unknown; state names where the block was. b may be
 * NULL. The caller never frees the offending pointer, so a bad free cannot corrupt the
 * heap. May be called with allocator locks held: it takes none of them. */
void hk_misuse_report(enum hk_misuse_kind kind, const void *p, int cls, const char *state,
                      const struct hk_misuse_block *b);

/* A mapping failed: records the event, prints the "[SS OOM]" line and writes a dump; never
 * allocates. The caller returns NULL with errno ENOMEM. size: the request; cls: size class
 * or -1; tier: "tiny", "mid" or "large"; map_size: the mapping that failed; err: errno of
 * the failure. */
void hk_oom_event(size_t size, int cls, const char *tier, size_t map_size, int err);
/* A request refused before any mapping: its size or its alignment (at least 16) is more
 * than physical memory and swap. Counted as an OOM event; one line that names both, no
 * dump. The caller returns NULL with errno ENOMEM. */
void hk_oom_refused(size_t size, size_t align);

/* ---- lifecycle hooks (diag/) ---- */

/* Phase 2 of initialisation (the allocator works): report hooks (exit, signals) and the
 * unwinder's warm-up. */
void hk_diag_start(void);

/* Once, at initialisation, when the leak check is asked for: whether this process's
 * executable is one it is asked for (HAKMEM_LEAK_ONLY; always true without the option), and
 * HAKMEM_LEAK_SUITE_DIR made absolute, so that a later chdir does not move the reports
 * (diag/hk_leak_suite.c). */
bool hk_leak_prepare(void);

/* Leak tracking: the id (> 0) of the calling stack, skipping `skip` frames; 0 when the
 * stack could not be captured (diag/hk_stack.c). */
uint32_t hk_stack_capture(int skip);
static inline uint32_t hk_hook_stack(int skip)
{
    return HK_UNLIKELY(hk_leak_on) ? hk_stack_capture(skip) : 0;
}

/* A library was unloaded: the stack walk forgets the unwind rules it read. */
void hk_stack_code_unloaded(void);
static inline void hk_hook_code_unloaded(void)
{
    if (HK_UNLIKELY(hk_leak_on))
        hk_stack_code_unloaded();
}

/* Threads by serial number, for the census (diag/hk_census.c). state: enum hk_heap_state. */
void hk_census_thread(uint32_t serial, int tid, int state);
static inline void hk_hook_thread(uint32_t serial, int tid, int state)
{
    if (HK_UNLIKELY(hk_diag_on))
        hk_census_thread(serial, tid, state);
}

#endif
