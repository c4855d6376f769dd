/* larson: a server-style allocation workload after Larson & Krishnan (ISMM '98).
 *
 * There are T "chains", one per worker thread slot. The thread running a chain owns an array
 * of n blocks; each op frees a random slot and puts a fresh block of random size in it. After
 * r ops the thread starts a successor, hands it the array and exits. The successor then frees
 * the blocks its predecessor allocated as it replaces them, so the allocator sees cross-thread
 * frees and a steady stream of thread exits, like a server handing connections to new threads.
 *
 * The default r = 100 n keeps the proportion of the original benchmark (each thread makes 100
 * passes over its array): 1% of frees are cross-thread, and a few hundred threads start and
 * exit per second. A much smaller r mostly measures pthread_create, not the allocator.
 *
 * Each chain draws from its own PRNG stream seeded from -S, and the PRNG state travels with the
 * array, so the sequence of sizes and slots is fixed by the seed; only how far the run gets in
 * the given time depends on the allocator. Only malloc and free are called.
 *
 * With -L N each chain stops after N threads instead of at the deadline: a fixed amount of
 * work, so that whole-process timers (hyperfine, /usr/bin/time) compare allocators by time.
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "peak_rss_kib: N". On stderr: which
 * object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct chain {
    char **blocks;        /* the array handed from thread to thread */
    uint64_t rng;         /* PRNG state, handed over with the array */
    uint64_t ops;         /* ops done by all threads of this chain */
    struct bench_relay relay;
};

static size_t g_min = 8, g_max = 1024;
static size_t g_nblocks = 1000;
static uint64_t g_rounds = 100000;
static uint64_t g_lifetimes;   /* threads per chain; 0: run until the deadline */
static atomic_bool g_stop;

static void die(const char *what, int err)
{
    fprintf(stderr, "larson: %s: %s\n", what, strerror(err));
    exit(1);
}

static inline char *new_block(uint64_t *rng)
{
    size_t size = g_min + (size_t)bench_below(rng, g_max - g_min + 1);
    char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "larson: malloc(%zu) failed\n", size);
        exit(1);
    }
    /* Touch both ends: the block must really be usable memory, and the store to the last
     * byte catches allocators that hand out blocks that are too small. */
    p[0] = (char)size;
    p[size - 1] = (char)size;
    return p;
}

static void *worker(void *arg)
{
    struct chain *c = arg;
    bench_relay_enter("larson", &c->relay);

    uint64_t rng = c->rng;
    char **blocks = c->blocks;
    if (blocks == NULL) {
        /* First thread of the chain: fill the array (not counted as ops). */
        blocks = malloc(g_nblocks * sizeof *blocks);
        if (blocks == NULL)
            die("malloc(block array)", ENOMEM);
        for (size_t i = 0; i < g_nblocks; i++)
            blocks[i] = new_block(&rng);
        c->blocks = blocks;
    }

    uint64_t ops = 0;
    bool stop = false;
    while (ops < g_rounds) {
        if (atomic_load_explicit(&g_stop, memory_order_relaxed)) {
            stop = true;
            break;
        }
        size_t slot = (size_t)bench_below(&rng, g_nblocks);
        free(blocks[slot]);
        blocks[slot] = new_block(&rng);
        ops++;
    }
    c->ops += ops;
    c->rng = rng;

    /* Hand the array to a successor and exit, or end the chain. */
    bool last = stop || atomic_load_explicit(&g_stop, memory_order_relaxed) ||
                (g_lifetimes != 0 && c->relay.threads >= g_lifetimes);
    bench_relay_pass("larson", &c->relay, last, worker, c);
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'm', "min", "min size", BENCH_SIZE, &g_min, 1, NULL },
    { 'M', "max", "max size", BENCH_SIZE, &g_max, 1, NULL },
    { 'n', "blocks_per_thread", "blocks", BENCH_SIZE, &g_nblocks, 1, NULL },
    { 'r', "ops_per_thread_lifetime", "rounds", BENCH_U64, &g_rounds, 1, NULL },
    { 'L', "threads_per_chain", "lifetimes", BENCH_U64, &g_lifetimes, 0, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "larson", .opts = opts, .nopts = 5 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_max < g_min)
        bench_usage(&cli);
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "larson: threads=%ld seconds=%g sizes=%zu..%zu blocks=%zu rounds=%llu "
                "seed=%llu\n", nthreads, seconds, g_min, g_max, g_nblocks,
                (unsigned long long)g_rounds, (unsigned long long)seed);

    struct chain *chains = calloc((size_t)nthreads, sizeof *chains);
    if (chains == NULL)
        die("calloc(chains)", ENOMEM);

    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        struct chain *c = &chains[i];
        c->rng = bench_seed(seed, (uint64_t)i);
        bench_relay_start("larson", &c->relay, worker, c);
    }

    if (g_lifetimes == 0) {
        bench_sleep_until(t0 + seconds);
        atomic_store(&g_stop, true);
    }

    uint64_t ops = 0, threads = 0;
    for (long i = 0; i < nthreads; i++) {
        struct chain *c = &chains[i];
        bench_relay_wait("larson", &c->relay);
        ops += c->ops;
        threads += c->relay.threads;
    }
    double elapsed = bench_now() - t0;

    for (long i = 0; i < nthreads; i++) {
        for (size_t j = 0; j < g_nblocks; j++)
            free(chains[i].blocks[j]);
        free(chains[i].blocks);
    }
    free(chains);

    bench_report_ops(ops, elapsed, threads);
    bench_report_end(verbose, elapsed);
    return 0;
}
