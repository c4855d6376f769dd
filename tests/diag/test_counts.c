/* Counters are exact across threads: threads created in waves allocate a known mix of
 * sizes, free some blocks themselves and hand the rest to later threads (which free them
 * after the allocating thread has exited). The snapshot must match the program's own
 * per-class tallies exactly, whatever thread freed what. */
#include "hakmem.h"
#include "hk_size_class.h"
#include "../common/hk_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WAVES = 8, THREADS = 16, OPS = 4000, POOL = 1 << 16 };

static atomic_ulong want_allocs[HK_NUM_CLASSES + 1];   /* last entry: large tier */
static atomic_ulong want_frees[HK_NUM_CLASSES + 1];

/* Blocks handed between threads. */
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static void *pool[POOL];
static size_t pool_size[POOL];
static unsigned pool_count;

static unsigned slot_of(size_t size)
{
    return size > HK_MID_MAX ? HK_NUM_CLASSES : hk_size_class(size);
}

static void counted_free(void *p, size_t size)
{
    atomic_fetch_add(&want_frees[slot_of(size)], 1);
    hakmem_free(p);
}

static void *worker(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9E3779B97F4A7C15ull | 1;
    void *mine[64];
    size_t mine_size[64];
    unsigned n = 0;
    for (int i = 0; i < OPS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t size = s % 100 < 80 ? s % 1025 : s % 100 < 98 ? 1025 + s % 64000 : 70000 + s % 200000;
        void *p = hakmem_malloc(size);
        assert_ptr_not_null(p, "malloc(%zu) failed", size);
        memset(p, 0xab, size < 64 ? size : 64);
        atomic_fetch_add(&want_allocs[slot_of(size)], 1);
        if (s & 1) {
            /* keep it for a while, then free it ourselves */
            if (n == 64)
                n--, counted_free(mine[n], mine_size[n]);
            mine[n] = p, mine_size[n++] = size;
        } else {
            /* hand it over; take one handed over by someone else, maybe by an exited thread */
            pthread_mutex_lock(&pool_mu);
            void *q = NULL;
            size_t qs = 0;
            if (pool_count && (s & 2))
                q = pool[--pool_count], qs = pool_size[pool_count];
            if (pool_count < POOL)
                pool[pool_count] = p, pool_size[pool_count++] = size;
            else
                q = p, qs = size, p = NULL;
            pthread_mutex_unlock(&pool_mu);
            if (q)
                counted_free(q, qs);
        }
    }
    while (n)
        n--, counted_free(mine[n], mine_size[n]);
    return NULL;
}

int main(void)
{
    struct hakmem_stats before, after;
    assert_d_eq(hakmem_stats_snapshot(&before, sizeof before), 0, "snapshot (errno %d)", errno);
    for (int w = 0; w < WAVES; w++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            assert_d_eq(pthread_create(&t[i], NULL, worker,
                                       (void *)(uintptr_t)(w * THREADS + i + 1)), 0,
                        "pthread_create, wave %d", w);
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    struct hakmem_stats held;
    assert_d_eq(hakmem_stats_snapshot(&held, sizeof held), 0, "snapshot (errno %d)", errno);
    while (pool_count) {
        pool_count--;
        counted_free(pool[pool_count], pool_size[pool_count]);
    }
    assert_d_eq(hakmem_stats_snapshot(&after, sizeof after), 0, "snapshot (errno %d)", errno);

    unsigned long total_allocs = 0;
    for (unsigned c = 0; c <= HK_NUM_CLASSES; c++) {
        unsigned long got_a, got_f;
        if (c < HK_NUM_CLASSES) {
            got_a = after.classes[c].allocs - before.classes[c].allocs;
            got_f = after.classes[c].frees - before.classes[c].frees;
        } else {
            got_a = after.large.allocs - before.large.allocs;
            got_f = after.large.frees - before.large.frees;
        }
        total_allocs += got_a;
        expect_true(got_a == want_allocs[c] && got_f == want_frees[c],
                    "%s %u: allocs %lu (program counted %lu), frees %lu (counted %lu)",
                    c < HK_NUM_CLASSES ? "class" : "large", c, got_a,
                    (unsigned long)want_allocs[c], got_f, (unsigned long)want_frees[c]);
    }
    /* While the pool still held blocks, they were live: exactly the frees done since. */
    expect_u64_eq(held.totals.live - before.totals.live, after.totals.frees - held.totals.frees,
                  "blocks live while the pool held them, and blocks freed afterwards");
    expect_u64_eq(after.totals.live, before.totals.live, "live blocks after freeing everything");
    expect_u64_eq(after.threads_exited - before.threads_exited, WAVES * THREADS, "threads exited");
    fprintf(stderr, "counts: %lu allocations by %d threads in %d waves: %s\n", total_allocs,
            WAVES * THREADS, WAVES, hk_test_failed() ? "MISMATCH" : "exact");
    return hk_test_done("counts_exact");
}
