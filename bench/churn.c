/* churn: short-lived threads, each freeing the blocks its predecessor left and exiting.
 *
 * There are T chains of threads. A thread of a chain joins its predecessor (which has exited),
 * checks and frees the n blocks (default 2000) the predecessor allocated, and the array that
 * held them; then it allocates n blocks of mostly small sizes (60% 8-64 B, 30% 65-256 B, 10%
 * 257 B-1 KiB, capped at -M), stamps them, starts its successor, hands it the array and exits.
 * So every block is freed by another thread after the thread that allocated it has exited:
 * the allocator must take back the memory of dead threads (their caches, their partly used
 * pages) while thousands of threads start and exit per second. Unlike larson, every free is
 * cross-thread and a thread lives for only n allocations and n frees, so pthread_create and
 * the allocator's thread set-up and tear-down are part of what is measured.
 *
 * Each chain draws from its own PRNG stream seeded from -S; the state travels with the array,
 * so the sizes are fixed by the seed. The run lasts -s seconds (the current generations
 * finish). One op = one block allocated (and freed by the next generation). A damaged stamp
 * ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N" (threads created), "ops: N", "peak_rss_kib: N".
 * On stderr: which object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct chain {
    char **set;           /* the blocks handed from thread to thread */
    uint64_t rng;         /* PRNG state, handed over with the blocks */
    uint64_t ops;
    uint64_t threads;
    pthread_t pred;       /* the thread to join first (valid if has_pred) */
    bool has_pred;
    pthread_t last;       /* set by the final thread, for main to join */
    sem_t done;           /* posted by the final thread */
};

static size_t g_max = 1024;
static size_t g_nblocks = 2000;
static atomic_bool g_stop;

static void die(const char *what, int err)
{
    fprintf(stderr, "churn: %s: %s\n", what, strerror(err));
    exit(1);
}

static void free_set(char **set)
{
    for (size_t i = 0; i < g_nblocks; i++) {
        bench_check_or_die("churn", set[i], 0, g_max);
        free(set[i]);
    }
    free(set);
}

static void *worker(void *arg)
{
    struct chain *c = arg;
    int err;

    if (c->has_pred && (err = pthread_join(c->pred, NULL)) != 0)
        die("pthread_join", err);
    c->threads++;
    if (c->set != NULL)
        free_set(c->set);

    uint64_t rng = c->rng;
    char **set = malloc(g_nblocks * sizeof *set);
    if (set == NULL)
        die("malloc(block array)", ENOMEM);
    for (size_t i = 0; i < g_nblocks; i++)
        set[i] = bench_new_stamped("churn", bench_small_size(&rng, g_max), &rng);
    c->set = set;
    c->rng = rng;
    c->ops += g_nblocks;

    if (atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        c->last = pthread_self();
        sem_post(&c->done);
        return NULL;
    }
    /* pthread_create orders our writes to *c before the successor's reads. */
    c->pred = pthread_self();
    c->has_pred = true;
    pthread_t next;
    if ((err = pthread_create(&next, NULL, worker, c)) != 0)
        die("pthread_create", err);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: churn [-t chains] [-s seconds] [-n blocks_per_thread] [-M max_size]\n"
            "             [-S seed] [-v] [-P]\n"
            "  defaults: -t 1 -s 2 -n 2000 -M 1024 -S 1\n"
            "  -v  print parameters    -P  print the malloc provider and exit\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long nthreads = 1;
    double seconds = 2.0;
    uint64_t seed = 1;
    bool verbose = false;
    int opt;

    while ((opt = getopt(argc, argv, "t:s:n:M:S:vPh")) != -1) {
        switch (opt) {
        case 't': nthreads = bench_parse_long(optarg, "threads", 1); break;
        case 's': seconds = bench_parse_double(optarg, "seconds"); break;
        case 'n': g_nblocks = (size_t)bench_parse_long(optarg, "blocks", 1); break;
        case 'M': g_max = (size_t)bench_parse_long(optarg, "max size", 8); break;
        case 'S': seed = (uint64_t)bench_parse_long(optarg, "seed", 0); break;
        case 'v': verbose = true; break;
        case 'P': printf("%s\n", bench_malloc_provider()); return 0;
        default: usage();
        }
    }
    if (optind != argc || g_max >= BENCH_MAX_STAMPED)
        usage();
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "churn: chains=%ld seconds=%g blocks=%zu max=%zu seed=%llu\n",
                nthreads, seconds, g_nblocks, g_max, (unsigned long long)seed);

    struct chain *chains = calloc((size_t)nthreads, sizeof *chains);
    if (chains == NULL)
        die("calloc(chains)", ENOMEM);
    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        struct chain *c = &chains[i];
        c->rng = bench_seed(seed, (uint64_t)i);
        if (sem_init(&c->done, 0, 0) != 0)
            die("sem_init", errno);
        pthread_t t;
        int err = pthread_create(&t, NULL, worker, c);
        if (err != 0)
            die("pthread_create", err);
    }
    bench_sleep_until(t0 + seconds);
    atomic_store(&g_stop, true);

    uint64_t ops = 0, threads = 0;
    for (long i = 0; i < nthreads; i++) {
        struct chain *c = &chains[i];
        while (sem_wait(&c->done) != 0 && errno == EINTR)
            ;
        int err = pthread_join(c->last, NULL);
        if (err != 0)
            die("pthread_join", err);
        ops += c->ops;
        threads += c->threads;
    }
    double elapsed = bench_now() - t0;
    for (long i = 0; i < nthreads; i++) {
        free_set(chains[i].set);
        sem_destroy(&chains[i].done);
    }
    free(chains);

    printf("ops/s: %.0f\n", (double)ops / elapsed);
    printf("threads: %llu\n", (unsigned long long)threads);
    printf("ops: %llu\n", (unsigned long long)ops);
    printf("peak_rss_kib: %ld\n", bench_peak_rss_kib());
    if (verbose)
        printf("elapsed_s: %.3f\n", elapsed);
    return 0;
}
