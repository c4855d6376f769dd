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
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct chain {
    char **set;           /* the blocks handed from thread to thread */
    uint64_t rng;         /* PRNG state, handed over with the blocks */
    uint64_t ops;
    struct bench_relay relay;
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
    bench_relay_enter("churn", &c->relay);
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

    bench_relay_pass("churn", &c->relay, atomic_load_explicit(&g_stop, memory_order_relaxed),
                     worker, c);
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'n', "blocks_per_thread", "blocks", BENCH_SIZE, &g_nblocks, 1, NULL },
    { 'M', "max_size", "max size", BENCH_SIZE, &g_max, 8, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "churn", .threads_name = "chains", .opts = opts,
                             .nopts = 2 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_max >= BENCH_MAX_STAMPED)
        bench_usage(&cli);
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
        bench_relay_start("churn", &c->relay, worker, c);
    }
    bench_sleep_until(t0 + seconds);
    atomic_store(&g_stop, true);

    uint64_t ops = 0, threads = 0;
    for (long i = 0; i < nthreads; i++) {
        struct chain *c = &chains[i];
        bench_relay_wait("churn", &c->relay);
        ops += c->ops;
        threads += c->relay.threads;
    }
    double elapsed = bench_now() - t0;
    for (long i = 0; i < nthreads; i++)
        free_set(chains[i].set);
    free(chains);

    bench_report_ops(ops, elapsed, threads);
    bench_report_end(verbose, elapsed);
    return 0;
}
