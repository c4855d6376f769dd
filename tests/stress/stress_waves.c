/* Waves of threads with cross-thread frees.
 *
 * WAVES waves of THREADS threads; wave w+1 starts before wave w is joined, so up to
 * 2 * THREADS threads run at once. Every thread allocates a mix of tiny, mid and large
 * blocks (malloc, calloc, realloc, posix_memalign), writes a pattern derived from the
 * block's address into each, and trades blocks through a shared queue: most frees are of
 * blocks that another thread allocated, often a thread that has exited since (its slabs are
 * orphaned). Each block is checked before it is freed. At the end the live-block count is
 * back to the baseline and, after hakmem_collect(1), the SuperSlabs are returned. A
 * collector thread calls hakmem_collect and hakmem_stats_snapshot all along, and blocks are
 * realloc'd by threads other than their allocator. */
#include "stress_common.h"

enum { WAVES = 10, THREADS = 16, HELD = 64, QCAP = 8192 };

static struct s_queue queue;

struct targ {
    int wave, idx;
};

static void worker_op(struct s_rng *r, struct s_block *held, uint64_t tagbase, int k,
                      const char *who)
{
    unsigned x = (unsigned)(s_next(r) % 100);
    uint64_t tag = tagbase | (uint64_t)k;
    struct s_block b;
    if (x < 40) {                                   /* allocate, hand to whoever pops */
        b = s_alloc_block(s_size(r, 5), tag);
        if (!s_queue_push(&queue, b))
            s_free_block(b, who);
    } else if (x < 67) {                            /* free someone else's block */
        if (s_queue_pop(&queue, &b))
            s_free_block(b, who);
    } else if (x < 75) {                            /* realloc someone else's block */
        if (!s_queue_pop(&queue, &b))
            return;
        size_t bad = s_verify(b.p, b.n, b.tag);
        expect_true(!bad, "%s: queued block %p corrupted at %zu before realloc", who, b.p, bad - 1);
        size_t n = s_size(r, 5);
        uintptr_t old = (uintptr_t)b.p;
        void *q = S_REALLOC(b.p, n);
        if (!q)
            s_die("realloc failed");
        bad = s_verify_moved(q, n < b.n ? n : b.n, old, b.n, b.tag);
        expect_true(!bad, "%s: cross-thread realloc %zu -> %zu lost byte %zu", who, b.n, n, bad - 1);
        b = (struct s_block){q, n, tag};
        s_fill(q, n, tag);
        if (!s_queue_push(&queue, b))
            s_free_block(b, who);
    } else {
        unsigned i = (unsigned)(s_next(r) % HELD);
        if (held[i].p && x < 88) {                  /* realloc a private block */
            size_t n = s_size(r, 3);
            size_t bad = s_verify(held[i].p, held[i].n, held[i].tag);
            expect_true(!bad, "%s: held block %p corrupted at %zu before realloc", who, held[i].p, bad - 1);
            uintptr_t old = (uintptr_t)held[i].p;   /* only a number once realloc ran */
            void *q = S_REALLOC(held[i].p, n);
            if (!q)
                s_die("realloc failed");
            size_t keep = n < held[i].n ? n : held[i].n;
            bad = s_verify_moved(q, keep, old, held[i].n, held[i].tag);
            expect_true(!bad, "%s: realloc %zu -> %zu lost byte %zu", who, held[i].n, n, bad - 1);
            held[i].p = q;
            held[i].n = n;
            held[i].tag = tag;
            s_fill(q, n, tag);
            return;
        }
        if (held[i].p)
            s_free_block(held[i], who);
        size_t n = s_size(r, 3);
        if (x < 94) {                               /* calloc: must be zero */
            unsigned char *p = S_CALLOC(1, n);
            if (!p)
                s_die("calloc failed");
            for (size_t j = 0; j < n; j += (n > 4096 ? 61 : 1))
                if (p[j]) {
                    test_fail("%s: calloc(%zu) byte %zu is %#x", who, n, j, p[j]);
                    break;
                }
            held[i] = (struct s_block){p, n, tag};
        } else {                                    /* aligned */
            size_t al = (size_t)16 << (s_next(r) % 9);
            void *p = NULL;
            int e = S_POSIX_MEMALIGN(&p, al, n);
            if (e)
                s_die("posix_memalign failed");
            expect_true(((uintptr_t)p & (al - 1)) == 0, "%s: posix_memalign(%zu) = %p", who, al, p);
            held[i] = (struct s_block){p, n, tag};
        }
        s_fill(held[i].p, n, tag);
    }
}

/* Runs beside the waves: collection and snapshots while threads allocate, free and exit. */
static atomic_int collector_stop;
static void *collector(void *arg)
{
    (void)arg;
    unsigned long k = 0;
    while (!atomic_load(&collector_stop)) {
#ifndef STRESS_USE_LIBC
        hakmem_collect((int)(k & 1));
#endif
#if S_HAVE_STATS
        struct hakmem_stats s = s_snap();
        (void)s;
#endif
        k++;
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *worker(void *arg)
{
    struct targ *a = arg;
    char who[32];
    snprintf(who, sizeof who, "wave %d thread %d", a->wave, a->idx);
    struct s_rng r = s_seed((uint64_t)(a->wave * THREADS + a->idx) + 1);
    struct s_block held[HELD];
    memset(held, 0, sizeof held);
    uint64_t tagbase = ((uint64_t)a->wave << 48) | ((uint64_t)a->idx << 40);
    int ops = S_SCALE(30000);
    for (int k = 0; k < ops; k++)
        worker_op(&r, held, tagbase, k, who);
    /* exit while others still hold our blocks: half of the private ones go to the queue */
    for (int i = 0; i < HELD; i++) {
        if (!held[i].p)
            continue;
        if (!(i & 1) && s_queue_push(&queue, held[i]))
            continue;
        s_free_block(held[i], who);
    }
    return NULL;
}

int main(void)
{
    s_watchdog(300);
    s_queue_init(&queue, QCAP);
#if S_HAVE_STATS
    s_collect(1);
    struct hakmem_stats base = s_snap();
#endif
    pthread_t coll;
    s_thread_create(&coll, collector, NULL);
    static pthread_t th[WAVES][THREADS];
    static struct targ args[WAVES][THREADS];
    for (int w = 0; w < WAVES; w++) {
        for (int i = 0; i < THREADS; i++) {
            args[w][i] = (struct targ){w, i};
            s_thread_create(&th[w][i], worker, &args[w][i]);
        }
        if (w > 0)
            for (int i = 0; i < THREADS; i++)
                pthread_join(th[w - 1][i], NULL);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[WAVES - 1][i], NULL);
    atomic_store(&collector_stop, 1);
    pthread_join(coll, NULL);

    size_t left = queue.len;
#if S_HAVE_STATS
    struct hakmem_stats full = s_snap();
    s_check_consistent(&full, "all threads joined");
    expect_true(full.totals.live >= base.totals.live + left,
            "live %llu < baseline %llu + %zu blocks in the queue", S_ULL(full.totals.live),
            S_ULL(base.totals.live), left);
    expect_true(full.threads_seen - base.threads_seen >= WAVES * THREADS &&
                full.threads_exited - base.threads_exited >= WAVES * THREADS,
            "threads_seen +%llu, threads_exited +%llu, expected >= %d each",
            S_ULL(full.threads_seen - base.threads_seen),
            S_ULL(full.threads_exited - base.threads_exited), WAVES * THREADS);
#endif
    /* the main thread frees what exited threads left behind */
    size_t drained = s_queue_drain(&queue, "main");
    s_queue_destroy(&queue);
    s_collect(1);
#if S_HAVE_STATS
    struct hakmem_stats end = s_snap();
    s_check_consistent(&end, "end");
    s_check_returned(&base, &end, "stress_waves");
    expect_true(end.superslabs_live < full.superslabs_live || full.superslabs_live <= base.superslabs_live + 2,
            "superslabs_live %llu with blocks queued, %llu after freeing them and collect(1)",
            S_ULL(full.superslabs_live), S_ULL(end.superslabs_live));
    printf("stress_waves: %zu blocks freed by main; live %llu -> %llu -> %llu; superslabs %llu -> %llu -> %llu\n",
           drained, S_ULL(base.totals.live), S_ULL(full.totals.live), S_ULL(end.totals.live),
           S_ULL(base.superslabs_live), S_ULL(full.superslabs_live), S_ULL(end.superslabs_live));
#else
    (void)left;
    printf("stress_waves: %zu blocks freed by main (no statistics)\n", drained);
#endif
    return hk_test_done("stress_waves");
}
