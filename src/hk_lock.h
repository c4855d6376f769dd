/* Locks: a pthread mutex (futex-backed, statically initialised, never allocates) with a rank.
 *
 * Every lock of hakmem, the allocator's and the diagnostics', is defined with HK_LOCK_DEFINE
 * and has a rank in the one enum below. A thread takes locks in increasing rank only; a debug
 * build (meson's debug option, e.g. --buildtype=debugoptimized) checks it on every hk_lock()
 * and aborts naming both locks, as jemalloc's witness does. trylock may go against the order
 * (it cannot deadlock). Every defined lock is also listed in the hk_locks section, which the
 * one fork handler (hk_fork.c) walks: it takes every lock in rank order before fork and
 * releases (parent) or re-initialises (child) them after it. */
#ifndef HK_LOCK_H
#define HK_LOCK_H

#include "hk_internal.h"

#include <pthread.h>

/* In the order they may nest: a lock is taken only while holding locks of lower rank. */
enum hk_lock_rank {
    HK_RANK_LEAK = 1,       /* diag/hk_leak.c: one leak check at a time (it walks the heap) */
    HK_RANK_HEAPS,          /* src/hk_heap.c: the list of heaps */
    HK_RANK_DEAD_HEAP,      /* src/hk_heap.c: the heap of threads past their exit */
    HK_RANK_SUPERSLAB,      /* src/hk_superslab.c: SuperSlabs, slabs, orphans */
    HK_RANK_LARGE,          /* src/hk_large.c: the mapping cache and the live list */
    HK_RANK_REGISTRY,       /* src/hk_registry.c: leaf pages of the registry */
    HK_RANK_STACK_MODULES,  /* diag/hk_stack.c: the module map (misuse reports under the
                             * allocator's locks capture stacks: the stack locks come last) */
    HK_RANK_STACK_TABLE,    /* diag/hk_stack.c: the stack table */
    HK_RANK_STACK_ARENA,    /* diag/hk_stack.c: its internal arena */
    HK_RANKS
};

/* A cache line each: a contended lock must not share its line with data the hot paths read. */
typedef struct hk_lock {
    pthread_mutex_t mutex;
    uint8_t rank;
    const char *name;
} __attribute__((aligned(64))) hk_lock_t;

#define HK_LOCK_DEFINE(var, rank_)                                                         \
    hk_lock_t var = {PTHREAD_MUTEX_INITIALIZER, rank_, #var};                              \
    static hk_lock_t *const var##_listed __attribute__((used, section("hk_locks"))) = &var

#if HK_DEBUG
void hk_lock_acquired(hk_lock_t *l, bool ordered);
void hk_lock_released(hk_lock_t *l);
#else
static inline void hk_lock_acquired(hk_lock_t *l, bool ordered) { (void)l, (void)ordered; }
static inline void hk_lock_released(hk_lock_t *l) { (void)l; }
#endif

static inline void hk_lock(hk_lock_t *l)
{
    pthread_mutex_lock(&l->mutex);
    hk_lock_acquired(l, true);
}

static inline void hk_unlock(hk_lock_t *l)
{
    hk_lock_released(l);
    pthread_mutex_unlock(&l->mutex);
}

static inline bool hk_trylock(hk_lock_t *l)
{
    if (pthread_mutex_trylock(&l->mutex) != 0)
        return false;
    hk_lock_acquired(l, false);
    return true;
}

/* The fork handler (hk_fork.c): every defined lock, in rank order. */
void hk_locks_fork_prepare(void);
void hk_locks_fork_parent(void);
void hk_locks_fork_child(void);

#endif
