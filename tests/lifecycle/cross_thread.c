/* Memory freed by other threads comes back (run under LD_PRELOAD=libhakmem.so):
 *
 *   cross_thread owner-returns   A allocates many 64-byte blocks, B frees them all, then A
 *                                allocates only 4 KiB blocks and keeps them: the remote frees
 *                                must serve the 4 KiB blocks, so the process holds little more
 *                                than what it keeps live.
 *   cross_thread producers-exit  producers allocate and exit, a consumer frees all but 4
 *                                blocks: what stays mapped is a small constant.
 *   cross_thread drain-counts    producer/consumer traffic, producers exiting: every remote
 *                                free is counted drained once the threads are gone and the
 *                                caller collected (remote_sent == remote_drained per class).
 *   cross_thread cache-ages      one thread frees 64 MiB of 4 KiB blocks at once, then runs on
 *                                with small blocks only: the cache of empty SuperSlabs keeps
 *                                their pages for a while, and gives them back while the
 *                                program runs (VmRSS falls to near where it began).
 *
 * "held" is what the process maps: hakmem's own bytes_mapped, and VmRSS from /proc/self/status
 * (both must hold). The same programs under other allocators (HK_TEST_ALLOW_LIBC=1, with
 * their LD_PRELOAD or none), on the 2-CPU test machine:
 *   owner-returns:   live 64 MiB; VmRSS glibc 89 MiB, mimalloc 97 MiB, jemalloc 77 MiB
 *                    (hakmem before the fix: 138 MiB; after: 74 MiB)
 *   producers-exit:  VmRSS with 4 blocks live: glibc 7 MiB, mimalloc 290 MiB, jemalloc
 *                    292 MiB (hakmem before the fix: 288 MiB; after: 34-37 MiB, of which
 *                    32 MiB are the 16 empty SuperSlabs of the cache; with the two-stage
 *                    cache 69-70 MiB, 64 MiB of it its 32 warm SuperSlabs)
 *   cache-ages:      VmRSS at the start, after the free, after 250 ms of small blocks:
 *                    glibc 1 / 1 / 1 MiB (its free trims the heap at once); hakmem with a
 *                    cache of 16 and 50 ms, aged on put and take only, 1 / 36 / 36 MiB, the
 *                    two-stage cache aged so 1 / 66 / 66 MiB (both fail), now 1 / 66 / 4
 */
#include "../common/hk_test.h"
#include "../integration/preload_check.h"
#include "hakmem.h"

#include <pthread.h>

#define MiB (1024u * 1024u)

static int (*snapshot_fn)(struct hakmem_stats *, size_t);
static void (*collect_fn)(int);

/* VmRSS in bytes. */
static uint64_t vm_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib * 1024;
}

static uint64_t hk_mapped(struct hakmem_stats *st)
{
    if (!snapshot_fn)
        return 0;
    assert_d_eq(snapshot_fn(st, sizeof *st), 0, "hakmem_stats_snapshot");
    return st->bytes_mapped;
}

/* ---- owner-returns ---- */

#define SMALL_N (1u << 20)          /* 64 MiB of 64-byte blocks */
#define BIG_N (64u * MiB / 4096u)   /* 64 MiB of 4 KiB blocks */

static void **small_blocks;

static void *free_all(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < SMALL_N; i++)
        free(small_blocks[i]);
    return NULL;
}

static int owner_returns(void)
{
    small_blocks = calloc(SMALL_N, sizeof *small_blocks);
    void **big = calloc(BIG_N, sizeof *big);
    assert_ptr_not_null(small_blocks, "calloc");
    assert_ptr_not_null(big, "calloc");
    for (size_t i = 0; i < SMALL_N; i++) {
        small_blocks[i] = malloc(64);
        assert_ptr_not_null(small_blocks[i], "malloc(64) #%zu", i);
        memset(small_blocks[i], 1, 64);
    }
    pthread_t t;
    assert_d_eq(pthread_create(&t, NULL, free_all, NULL), 0, "pthread_create");
    assert_d_eq(pthread_join(t, NULL), 0, "pthread_join");
    /* Only 4 KiB blocks from now on: the 64-byte class is never asked for again. */
    for (size_t i = 0; i < BIG_N; i++) {
        big[i] = malloc(4096);
        assert_ptr_not_null(big[i], "malloc(4096) #%zu", i);
        memset(big[i], 2, 4096);
    }
    struct hakmem_stats st;
    uint64_t live = (uint64_t)BIG_N * 4096, mapped = hk_mapped(&st), rss = vm_rss();
    printf("owner-returns: live %" PRIu64 " MiB, mapped %" PRIu64 " MiB, VmRSS %" PRIu64
           " MiB\n", live / MiB, mapped / MiB, rss / MiB);
    /* The 64 MiB freed remotely must have served the 4 KiB blocks. The bound leaves room
     * for the empty-SuperSlab cache, slab headers, one slab per class and the test's own
     * pointer arrays (24 MiB). */
    uint64_t bound = live + live / 4 + 32 * MiB;
    if (snapshot_fn)
        expect_u64_le(mapped, bound, "hakmem's bytes_mapped against what is live");
    expect_u64_le(rss, bound, "VmRSS against what is live");
    for (size_t i = 0; i < BIG_N; i++)
        free(big[i]);
    free(big);
    free(small_blocks);
    return hk_test_done("owner-returns");
}

/* ---- producers-exit ---- */

#define PRODUCERS 16
#define PER_PRODUCER (1u << 14)

struct batch {
    void **ptrs;
    size_t n;
};

static void *produce(void *arg)
{
    struct batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        size_t size = 16 + (i * 7919) % 2048;       /* tiny and mid classes */
        b->ptrs[i] = malloc(size);
        assert_ptr_not_null(b->ptrs[i], "malloc(%zu)", size);
        memset(b->ptrs[i], 3, size < 64 ? size : 64);
    }
    return NULL;        /* exits holding nothing: every block is handed to the consumer */
}

struct consume_arg {
    struct batch *batches;
    size_t keep;                /* blocks of the first batch left live */
    pthread_barrier_t *done;    /* when set: met after the frees, and again before exiting */
};

static void *consume(void *arg)
{
    struct consume_arg *c = arg;
    for (unsigned p = 0; p < PRODUCERS; p++)
        for (size_t i = p == 0 ? c->keep : 0; i < c->batches[p].n; i++)
            free(c->batches[p].ptrs[i]);
    if (c->done) {
        pthread_barrier_wait(c->done);      /* the main thread measures */
        pthread_barrier_wait(c->done);
    }
    return NULL;
}

static int producers_exit(void)
{
    static struct batch batches[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (unsigned p = 0; p < PRODUCERS; p++) {
        batches[p].n = PER_PRODUCER;
        batches[p].ptrs = calloc(PER_PRODUCER, sizeof(void *));
        assert_ptr_not_null(batches[p].ptrs, "calloc");
        assert_d_eq(pthread_create(&t[p], NULL, produce, &batches[p]), 0, "pthread_create");
    }
    for (unsigned p = 0; p < PRODUCERS; p++)
        assert_d_eq(pthread_join(t[p], NULL), 0, "pthread_join");
    struct hakmem_stats st;
    uint64_t peak = hk_mapped(&st);
    /* The consumer is a thread of its own, measured while it is still alive (its exit
     * would flush what it holds): nobody who owned the slabs ever runs again, and the main
     * thread does not allocate or collect. */
    pthread_barrier_t done;
    assert_d_eq(pthread_barrier_init(&done, NULL, 2), 0, "pthread_barrier_init");
    struct consume_arg c = {batches, 4, &done};
    pthread_t ct;
    assert_d_eq(pthread_create(&ct, NULL, consume, &c), 0, "pthread_create");
    pthread_barrier_wait(&done);
    uint64_t mapped = hk_mapped(&st), rss = vm_rss();
    pthread_barrier_wait(&done);
    assert_d_eq(pthread_join(ct, NULL), 0, "pthread_join");
    pthread_barrier_destroy(&done);
    printf("producers-exit: mapped %" PRIu64 " MiB after the producers, %" PRIu64
           " MiB after the consumer (4 blocks live; %" PRIu64 " SuperSlabs, %" PRIu64
           " of them cached empty; %" PRIu64 " tiny and %" PRIu64 " mid slabs), VmRSS %" PRIu64
           " MiB\n", peak / MiB, mapped / MiB, st.superslabs_live, st.superslabs_cached,
           st.tiny.mappings, st.mid.mappings, rss / MiB);
    /* Left mapped: the SuperSlabs of the 4 live blocks and of the consumer's and the main
     * thread's last slabs, and the cache of empty SuperSlabs (bounded in number, and in
     * age while the program allocates; reported as cached). */
    uint64_t cached = snapshot_fn ? st.superslabs_cached * 2 * MiB : 0;
    if (snapshot_fn)
        expect_u64_le(mapped - cached, 24 * MiB, "bytes mapped outside the cache, 4 blocks live");
    expect_u64_le(rss - (rss > cached ? cached : rss), 40 * MiB,
                  "VmRSS outside the cache, 4 blocks live (includes the pointer arrays)");
    for (size_t i = 0; i < 4; i++)
        free(batches[0].ptrs[i]);
    for (unsigned p = 0; p < PRODUCERS; p++)
        free(batches[p].ptrs);
    return hk_test_done("producers-exit");
}

/* ---- drain-counts ---- */

static int drain_counts(void)
{
    if (!snapshot_fn || !collect_fn)
        test_skip("needs hakmem's counters");
    /* The same traffic: producers exit, a consumer frees. Then a second round where the
     * main thread's own blocks are freed by a thread that exits. */
    static struct batch batches[PRODUCERS];
    pthread_t t[PRODUCERS];
    for (unsigned p = 0; p < PRODUCERS; p++) {
        batches[p].n = PER_PRODUCER / 4;
        batches[p].ptrs = calloc(batches[p].n, sizeof(void *));
        assert_ptr_not_null(batches[p].ptrs, "calloc");
        assert_d_eq(pthread_create(&t[p], NULL, produce, &batches[p]), 0, "pthread_create");
    }
    for (unsigned p = 0; p < PRODUCERS; p++)
        assert_d_eq(pthread_join(t[p], NULL), 0, "pthread_join");
    struct consume_arg c = {batches, 0, NULL};
    pthread_t ct;
    assert_d_eq(pthread_create(&ct, NULL, consume, &c), 0, "pthread_create");
    assert_d_eq(pthread_join(ct, NULL), 0, "pthread_join");
    produce(&batches[0]);                       /* the main thread's own blocks */
    for (unsigned p = 1; p < PRODUCERS; p++)
        batches[p].n = 0;
    c.keep = 0;
    assert_d_eq(pthread_create(&ct, NULL, consume, &c), 0, "pthread_create");
    assert_d_eq(pthread_join(ct, NULL), 0, "pthread_join");
    collect_fn(1);
    struct hakmem_stats st;
    hk_mapped(&st);
    uint64_t sent = 0;
    for (uint32_t i = 0; i < st.nclasses; i++) {
        const struct hakmem_class_stats *k = &st.classes[i];
        sent += k->remote_sent;
        expect_u64_eq(k->remote_drained, k->remote_sent, "class %u (%u B): drained vs sent",
                      k->class_id, k->size);
    }
    expect_u64_gt(sent, 0, "the test made remote frees");
    printf("drain-counts: %" PRIu64 " remote frees\n", sent);
    for (unsigned p = 0; p < PRODUCERS; p++)
        free(batches[p].ptrs);
    return hk_test_done("drain-counts");
}

/* ---- cache-ages ---- */

#define AGES_N (64u * MiB / 4096u)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cache_ages(void)
{
    static void *blocks[AGES_N];
    uint64_t rss_start = vm_rss();
    for (unsigned i = 0; i < AGES_N; i++) {
        blocks[i] = malloc(4096);
        memset(blocks[i], 1, 4096);
    }
    for (unsigned i = 0; i < AGES_N; i++)
        free(blocks[i]);
    uint64_t rss_freed = vm_rss();
    /* Small blocks in bursts of 1,000: refills and spills, so the heap's periodic reclaim
     * runs (every 1,024 of them), long enough for the cache's ages to pass. */
    for (uint64_t end = now_ms() + 250; now_ms() < end;) {
        for (unsigned i = 0; i < 1000; i++)
            blocks[i] = malloc(64);
        for (unsigned i = 0; i < 1000; i++)
            free(blocks[i]);
    }
    uint64_t rss_after = vm_rss();
    printf("cache-ages: VmRSS %" PRIu64 " MiB at the start, %" PRIu64 " MiB after the free, %"
           PRIu64 " MiB after 250 ms of small blocks\n", rss_start / MiB, rss_freed / MiB,
           rss_after / MiB);
    if (snapshot_fn)
        expect_u64_le(rss_after, rss_start + 16 * MiB,
                      "VmRSS once the cache aged, against the start (+16 MiB)");
    return hk_test_done("cache-ages");
}

int main(int argc, char **argv)
{
    hk_require_preloaded(argv[0]);
#ifndef HK_TEST_NO_STATS     /* -Ddiag=none: the counters are compiled out */
    snapshot_fn = (int (*)(struct hakmem_stats *, size_t))dlsym(RTLD_DEFAULT,
                                                                "hakmem_stats_snapshot");
    collect_fn = (void (*)(int))dlsym(RTLD_DEFAULT, "hakmem_collect");
#endif
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "owner-returns"))
        return owner_returns();
    if (!strcmp(what, "producers-exit"))
        return producers_exit();
    if (!strcmp(what, "drain-counts"))
        return drain_counts();
    if (!strcmp(what, "cache-ages"))
        return cache_ages();
    fprintf(stderr, "usage: %s owner-returns|producers-exit|drain-counts|cache-ages\n",
            argv[0]);
    return 2;
}
