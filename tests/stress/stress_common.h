/* Shared by the stress programs: the allocation layer, a deterministic RNG, block patterns,
 * statistics helpers. Checks and failures go through the common harness (../common/hk_test.h).
 *
 * Allocation goes through S_MALLOC/S_FREE/... which are the hakmem_* names, so the same
 * programs run under ThreadSanitizer (which owns the standard names) and exercise hakmem's
 * internals. Switches:
 *   STRESS_USE_LIBC  developer switch: glibc instead of hakmem (validates the tests;
 *                    statistics checks are skipped)
 *   STRESS_TSAN      built with -fsanitize=thread: smaller workloads
 *   STRESS_NO_STATS  built with -Ddiag=none: no counters to check */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/hk_test.h"

#ifdef STRESS_USE_LIBC
#include <malloc.h>
#define S_MALLOC malloc
#define S_FREE free
#define S_CALLOC calloc
#define S_REALLOC realloc
#define S_POSIX_MEMALIGN posix_memalign
#define S_USABLE malloc_usable_size
#ifndef STRESS_NO_STATS
#define STRESS_NO_STATS 1
#endif
#else
#include "hakmem.h"
#define S_MALLOC hakmem_malloc
#define S_FREE hakmem_free
#define S_CALLOC hakmem_calloc
#define S_REALLOC hakmem_realloc
#define S_POSIX_MEMALIGN hakmem_posix_memalign
#define S_USABLE hakmem_malloc_usable_size
#endif

#ifdef STRESS_TSAN
#define S_SCALE(n) ((n) / 8 > 0 ? (n) / 8 : 1)
#else
#define S_SCALE(n) (n)
#endif

/* Stops the program: a set-up step failed (no memory for the test, no thread). */
#define s_die(what) test_fatal("%s (errno %d)", (what), errno)

/* xorshift64*: deterministic per seed */
struct s_rng { uint64_t s; };
static inline uint64_t s_next(struct s_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}
static inline struct s_rng s_seed(uint64_t seed)
{
    struct s_rng r = {seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull};
    s_next(&r);
    return r;
}

/* A size drawn from the three tiers: mostly tiny, some mid, a few large. */
static inline size_t s_size(struct s_rng *r, unsigned large_per_mille)
{
    uint64_t x = s_next(r);
    unsigned pick = (unsigned)(x % 1000);
    x >>= 10;
    if (pick < large_per_mille)
        return 65537 + (size_t)(x % (512 * 1024));
    if (pick < 250)
        return 1025 + (size_t)(x % (64 * 1024 - 1024));
    if (pick < 300)
        return 1 + (size_t)(x % 16);
    return 1 + (size_t)(x % 1024);
}

/* Block pattern: every 8-byte word (and tail byte) is derived from the block's address,
 * its size and a tag, so a block written into the wrong place, a stale block or a partial
 * overwrite is caught when the block is checked before it is freed. Large blocks are
 * checked at their ends and on a stride, to keep the check cheap. */
static inline uint64_t s_word(uintptr_t a, size_t n, uint64_t tag, size_t i)
{
    uint64_t k = ((uint64_t)a ^ (n << 40) ^ tag) + i * 0x9E3779B97F4A7C15ull;
    k ^= k >> 31;
    return k * 0xBF58476D1CE4E5B9ull;
}

#define S_FULL_CHECK 8192

static inline void s_fill(void *p, size_t n, uint64_t tag)
{
    unsigned char *c = p;
    size_t words = n / 8;
    uint64_t *w = p;
    if (n <= S_FULL_CHECK) {
        for (size_t i = 0; i < words; i++)
            w[i] = s_word((uintptr_t)p, n, tag, i);
    } else {
        for (size_t i = 0; i < 512; i++)
            w[i] = s_word((uintptr_t)p, n, tag, i);
        for (size_t i = 512; i < words - 512; i += 61)
            w[i] = s_word((uintptr_t)p, n, tag, i);
        for (size_t i = words - 512; i < words; i++)
            w[i] = s_word((uintptr_t)p, n, tag, i);
    }
    for (size_t i = words * 8; i < n; i++)
        c[i] = (unsigned char)(s_word((uintptr_t)p, n, tag, i) >> 8);
}

/* Checks that the first m bytes of q hold the pattern written by s_fill(p, n, tag): p is
 * the address the block had when it was filled (realloc may have moved it since). Returns 0 if
 * intact, else the byte offset + 1 of the first damaged word. */
static inline size_t s_verify_moved(const void *q, size_t m, uintptr_t p, size_t n, uint64_t tag)
{
    const unsigned char *c = q;
    const uint64_t *w = q;
    size_t words = n / 8, lim = m / 8;
    if (n <= S_FULL_CHECK) {
        for (size_t i = 0; i < words && i < lim; i++)
            if (w[i] != s_word(p, n, tag, i))
                return i * 8 + 1;
    } else {
        for (size_t i = 0; i < 512 && i < lim; i++)
            if (w[i] != s_word(p, n, tag, i))
                return i * 8 + 1;
        for (size_t i = 512; i < words - 512 && i < lim; i += 61)
            if (w[i] != s_word(p, n, tag, i))
                return i * 8 + 1;
        for (size_t i = words - 512; i < words && i < lim; i++)
            if (w[i] != s_word(p, n, tag, i))
                return i * 8 + 1;
    }
    for (size_t i = words * 8; i < n && i < m; i++)
        if (c[i] != (unsigned char)(s_word(p, n, tag, i) >> 8))
            return i + 1;
    return 0;
}

static inline size_t s_verify(const void *p, size_t n, uint64_t tag)
{
    return s_verify_moved(p, n, (uintptr_t)p, n, tag);
}

/* A block in flight between threads. */
struct s_block {
    void *p;
    size_t n;
    uint64_t tag;
};

static inline struct s_block s_alloc_block(size_t n, uint64_t tag)
{
    struct s_block b = {S_MALLOC(n), n, tag};
    if (!b.p)
        s_die("malloc failed");
    s_fill(b.p, n, tag);
    return b;
}

static inline void s_free_block(struct s_block b, const char *who)
{
    size_t bad = s_verify(b.p, b.n, b.tag);
    if (bad)
        test_fail("%s: block %p (%zu bytes, tag %llx) corrupted at byte %zu", who, b.p, b.n,
                  (unsigned long long)b.tag, bad - 1);
    S_FREE(b.p);
}

/* Wait a little (for a queue to fill or drain) without burning the other core. */
static inline void s_pause(void)
{
    struct timespec ts = {0, 50 * 1000};
    nanosleep(&ts, NULL);
}

/* A bounded FIFO of blocks shared by threads, behind one mutex. */
struct s_queue {
    pthread_mutex_t mu;
    struct s_block *v;
    size_t cap, head, len;
};

static inline void s_queue_init(struct s_queue *q, size_t cap)
{
    pthread_mutex_init(&q->mu, NULL);
    q->v = S_CALLOC(cap, sizeof *q->v);
    if (!q->v)
        s_die("queue allocation");
    q->cap = cap;
    q->head = q->len = 0;
}

static inline int s_queue_push(struct s_queue *q, struct s_block b)
{
    int ok = 0;
    pthread_mutex_lock(&q->mu);
    if (q->len < q->cap) {
        q->v[(q->head + q->len) % q->cap] = b;
        q->len++;
        ok = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

static inline int s_queue_pop(struct s_queue *q, struct s_block *b)
{
    int ok = 0;
    pthread_mutex_lock(&q->mu);
    if (q->len) {
        *b = q->v[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        ok = 1;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

static inline size_t s_queue_drain(struct s_queue *q, const char *who)
{
    struct s_block b;
    size_t n = 0;
    while (s_queue_pop(q, &b)) {
        s_free_block(b, who);
        n++;
    }
    return n;
}

static inline void s_queue_destroy(struct s_queue *q)
{
    S_FREE(q->v);
    q->v = NULL;
    pthread_mutex_destroy(&q->mu);
}

/* ---- the fork tests' exchange and slot churn ------------------------------------------- */

/* Blocks parked by one thread for another to free: threads swap their blocks into random
 * slots, so frees are cross-thread, and a forked child frees blocks of threads that do not
 * exist in it. The program holds mu across fork (pthread_atfork), so that no child inherits
 * it locked. */
#define S_XSLOTS 512
struct s_exchange {
    pthread_mutex_t mu;
    struct s_block slot[S_XSLOTS];
};
#define S_EXCHANGE_INIT {PTHREAD_MUTEX_INITIALIZER, {{NULL, 0, 0}}}

/* Parks b in a random slot; returns the block that was there (p NULL: none). */
static inline struct s_block s_exchange_swap(struct s_exchange *x, struct s_rng *r,
                                             struct s_block b)
{
    unsigned i = (unsigned)(s_next(r) % S_XSLOTS);
    pthread_mutex_lock(&x->mu);
    struct s_block old = x->slot[i];
    x->slot[i] = b;
    pthread_mutex_unlock(&x->mu);
    return old;
}

/* Frees the parked blocks of every slot, or of the odd slots only, and empties those. */
static inline void s_exchange_free(struct s_exchange *x, int odd_only, const char *who)
{
    pthread_mutex_lock(&x->mu);
    for (unsigned i = odd_only ? 1 : 0; i < S_XSLOTS; i += odd_only ? 2 : 1)
        if (x->slot[i].p) {
            s_free_block(x->slot[i], who);
            x->slot[i].p = NULL;
        }
    pthread_mutex_unlock(&x->mu);
}

/* ops times: a random slot of v[0 .. n) frees the block it holds and gets a new one (a size
 * of s_size(r, large_per_mille), tagged with the step); then every block is freed. v starts
 * and ends zeroed. */
static inline void s_churn_slots(struct s_block *v, size_t n, struct s_rng *r, int ops,
                                 unsigned large_per_mille, const char *who)
{
    memset(v, 0, n * sizeof *v);
    for (int k = 0; k < ops; k++) {
        size_t i = (size_t)(s_next(r) % n);
        if (v[i].p)
            s_free_block(v[i], who);
        v[i] = s_alloc_block(s_size(r, large_per_mille), (uint64_t)k);
    }
    for (size_t i = 0; i < n; i++)
        if (v[i].p)
            s_free_block(v[i], who);
    memset(v, 0, n * sizeof *v);
}

/* ---- statistics ----------------------------------------------------------------------- */

#ifndef STRESS_NO_STATS
static inline struct hakmem_stats s_snap(void)
{
    struct hakmem_stats s;
    memset(&s, 0, sizeof s);
    if (hakmem_stats_snapshot(&s, sizeof s) != 0)
        test_fail("hakmem_stats_snapshot failed (errno %d)", errno);
    return s;
}
#define S_HAVE_STATS 1
#define S_ULL(x) ((unsigned long long)(x))

/* Invariants of a snapshot taken while no other thread allocates. */
static inline void s_check_consistent(const struct hakmem_stats *s, const char *when)
{
    uint64_t ta = 0, tf = 0, ma = 0, mf = 0;
    for (uint32_t i = 0; i < s->nclasses && i < HAKMEM_MAX_CLASSES; i++) {
        const struct hakmem_class_stats *c = &s->classes[i];
        expect_true(c->allocs - c->frees == c->live, "%s: class %u: allocs %llu - frees %llu != live %llu",
                when, i, S_ULL(c->allocs), S_ULL(c->frees), S_ULL(c->live));
        if (i < s->ntiny) {
            ta += c->allocs;
            tf += c->frees;
        } else {
            ma += c->allocs;
            mf += c->frees;
        }
    }
    expect_true(s->tiny.allocs == ta && s->tiny.frees == tf && s->mid.allocs == ma && s->mid.frees == mf,
            "%s: tier counters are not the sums of their classes", when);
    expect_true(s->totals.allocs == s->tiny.allocs + s->mid.allocs + s->large.allocs &&
                s->totals.frees == s->tiny.frees + s->mid.frees + s->large.frees &&
                s->totals.live == s->totals.allocs - s->totals.frees,
            "%s: totals allocs %llu frees %llu live %llu do not add up", when,
            S_ULL(s->totals.allocs), S_ULL(s->totals.frees), S_ULL(s->totals.live));
    expect_true(s->superslabs_live == s->superslabs_mapped - s->superslabs_unmapped,
            "%s: superslabs live %llu != mapped %llu - unmapped %llu", when,
            S_ULL(s->superslabs_live), S_ULL(s->superslabs_mapped), S_ULL(s->superslabs_unmapped));
}

/* After the workload freed everything it allocated: live blocks are back to the baseline
 * (give or take what libc keeps for itself: in the normal build the standard names are
 * hakmem too, so thread stacks' bookkeeping and stdio buffers count) and, after a forced
 * collect, no more SuperSlabs are live than before the workload. */
static inline void s_check_returned(const struct hakmem_stats *base, const struct hakmem_stats *end,
                                    const char *name)
{
    uint64_t slack = 64;
    expect_true(end->totals.live <= base->totals.live + slack && end->totals.live + slack >= base->totals.live,
            "%s: live blocks %llu at start, %llu at the end (all freed)", name,
            S_ULL(base->totals.live), S_ULL(end->totals.live));
    expect_true(end->superslabs_live <= base->superslabs_live + 2,
            "%s: superslabs_live %llu at start, %llu after freeing everything and hakmem_collect(1)",
            name, S_ULL(base->superslabs_live), S_ULL(end->superslabs_live));
    expect_true(end->superslabs_cached == 0, "%s: superslabs_cached %llu after hakmem_collect(1)", name,
            S_ULL(end->superslabs_cached));
    expect_true(end->invalid_frees == base->invalid_frees, "%s: %llu valid frees were reported as invalid",
            name, S_ULL(end->invalid_frees - base->invalid_frees));
}
#else
#define S_HAVE_STATS 0
#endif

static inline void s_collect(int force)
{
#ifndef STRESS_USE_LIBC
    hakmem_collect(force);
#else
    (void)force;
#endif
}

/* A guard against deadlocks: the process dies with SIGALRM (a failure) after sec seconds. */
static inline void s_watchdog(unsigned sec)
{
#ifdef STRESS_TSAN
    sec *= 4;
#endif
    signal(SIGALRM, SIG_DFL);
    alarm(sec);
}

static inline void s_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int e = pthread_create(t, NULL, fn, arg);
    if (e) {
        errno = e;
        s_die("pthread_create");
    }
}

#endif
