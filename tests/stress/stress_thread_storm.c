/* A thread-exit storm: TOTAL short-lived threads, BATCH at a time (batch b+1 starts before
 * batch b is joined). Each thread allocates a few blocks, frees some, and passes the rest to
 * the main thread, which checks and frees them while more threads come and go. A
 * thread-specific-data destructor allocates again after the allocator's own thread
 * destructor may have run (it re-arms itself once, so its second run comes after every
 * destructor of the first pass) and passes one of those blocks on too.
 *
 * Checked: block contents; live blocks back to the baseline; threads_exited counts every
 * thread; the memory mapped at any sampled moment stays bounded although thousands of
 * threads each touched several size classes; after hakmem_collect(1) no more SuperSlabs
 * live than at the start. */
#include "stress_common.h"

enum { TOTAL = 2000, BATCH = 32, PER_THREAD = 8, PASSED = 5 };

static struct s_queue to_main;
static pthread_key_t key;
static atomic_int dtor_runs;

static void pass_to_main(struct s_block b, const char *who)
{
    while (!s_queue_push(&to_main, b))
        s_pause();
    (void)who;
}

static void late_dtor(void *v)
{
    uintptr_t n = (uintptr_t)v;
    struct s_block a = s_alloc_block(40 + n * 100, 0xd7000 + n);
    struct s_block b = s_alloc_block(3000 + n, 0xd8000 + n);
    s_free_block(a, "tsd destructor");
    pass_to_main(b, "tsd destructor");
    atomic_fetch_add(&dtor_runs, 1);
    if (n == 1)
        pthread_setspecific(key, (void *)(uintptr_t)2);   /* run once more, later */
}

static void *storm_thread(void *arg)
{
    long id = (long)arg;
    struct s_rng r = s_seed((uint64_t)id + 5);
    struct s_block b[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++)
        b[i] = s_alloc_block(s_size(&r, 10), ((uint64_t)id << 8) | (uint64_t)i);
    for (int i = PASSED; i < PER_THREAD; i++)
        s_free_block(b[i], "storm thread");
    for (int i = 0; i < PASSED; i++)
        pass_to_main(b[i], "storm thread");
    if (id % 4 == 0)
        pthread_setspecific(key, (void *)(uintptr_t)1);
    return NULL;
}

int main(void)
{
    s_watchdog(300);
    int total = S_SCALE(TOTAL);
    s_queue_init(&to_main, 4096);
    if (pthread_key_create(&key, late_dtor) != 0)
        s_die("pthread_key_create");
#if S_HAVE_STATS
    s_collect(1);
    struct hakmem_stats base = s_snap();
    uint64_t peak_mapped = base.bytes_mapped, peak_ss = base.superslabs_live;
#endif
    static pthread_t th[TOTAL];
    size_t freed = 0;
    int nb = (total + BATCH - 1) / BATCH;
    for (int b = 0; b <= nb; b++) {
        if (b < nb)
            for (int i = b * BATCH; i < (b + 1) * BATCH && i < total; i++)
                s_thread_create(&th[i], storm_thread, (void *)(long)i);
        freed += s_queue_drain(&to_main, "main");
        if (b > 0)
            for (int i = (b - 1) * BATCH; i < b * BATCH && i < total; i++)
                pthread_join(th[i], NULL);
        freed += s_queue_drain(&to_main, "main");
#if S_HAVE_STATS
        if (b % 4 == 0) {
            struct hakmem_stats s = s_snap();
            peak_mapped = s.bytes_mapped > peak_mapped ? s.bytes_mapped : peak_mapped;
            peak_ss = s.superslabs_live > peak_ss ? s.superslabs_live : peak_ss;
        }
#endif
    }
    freed += s_queue_drain(&to_main, "main");
    int expect_dtor = 2 * ((total + 3) / 4);
    expect_true(atomic_load(&dtor_runs) == expect_dtor, "thread-specific destructor ran %d times, expected %d",
            atomic_load(&dtor_runs), expect_dtor);
    expect_true(freed == (size_t)total * PASSED + (size_t)expect_dtor, "main freed %zu blocks, expected %zu",
            freed, (size_t)total * PASSED + (size_t)expect_dtor);
    s_queue_destroy(&to_main);
    s_collect(1);
#if S_HAVE_STATS
    struct hakmem_stats end = s_snap();
    s_check_consistent(&end, "end");
    s_check_returned(&base, &end, "stress_thread_storm");
    expect_true(end.threads_exited - base.threads_exited >= (uint64_t)total,
            "threads_exited grew by %llu, %d threads exited", S_ULL(end.threads_exited - base.threads_exited),
            total);
    /* Live data never exceeds a few MiB; 2000 threads that each kept a slab per size class
     * they touched (8 classes x 64 KiB) would need about 1 GiB. */
    expect_true(peak_mapped - base.bytes_mapped <= (384u << 20),
            "bytes_mapped peaked at %llu (baseline %llu): slabs of exited threads are not reused",
            S_ULL(peak_mapped), S_ULL(base.bytes_mapped));
    printf("stress_thread_storm: %d threads, %zu blocks freed by main, peak superslabs %llu, peak mapped %llu MiB\n",
           total, freed, S_ULL(peak_ss), S_ULL(peak_mapped >> 20));
#else
    printf("stress_thread_storm: %d threads, %zu blocks freed by main\n", total, freed);
#endif
    return hk_test_done("stress_thread_storm");
}
