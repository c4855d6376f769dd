/* slots: random sizes whose lifetimes cross threads, through one shared array of slots.
 *
 * n slots (default 4096) are shared by all T threads. One op: allocate a block of a uniformly
 * random size in [m, M] (default 8-16000 B), stamp it, swap it into a random slot (an atomic
 * exchange, so each block has exactly one owner), then check and free the block that was
 * there. The block freed was allocated by any of the T threads, so (T-1)/T of the frees are
 * cross-thread, and sizes from tiny to a few pages share the heap. At -t 1 the same work has
 * no cross-thread frees (a baseline). The slots are filled by the main thread before the clock
 * starts, and emptied by it at the end.
 *
 * Each thread draws sizes and slots from its own PRNG stream seeded from -S; which block an
 * op frees depends on how the threads interleave. The run lasts -s seconds. A damaged stamp
 * ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "peak_rss_kib: N". On stderr: which
 * object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct worker {
    pthread_t thread;
    uint64_t rng;
    uint64_t ops;
} __attribute__((aligned(64)));

static size_t g_min = 8, g_max = 16000;
static size_t g_nslots = 4096;
static _Atomic(char *) *g_slots;
static atomic_bool g_stop;

static void die(const char *what, int err)
{
    fprintf(stderr, "slots: %s: %s\n", what, strerror(err));
    exit(1);
}

static inline char *new_block(uint64_t *rng)
{
    size_t size = g_min + (size_t)bench_below(rng, g_max - g_min + 1);
    return bench_new_stamped("slots", size, rng);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->rng, ops = 0;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        char *p = new_block(&rng);
        size_t slot = (size_t)bench_below(&rng, g_nslots);
        /* acq_rel: the stamp written by the thread that put the old block there is visible. */
        char *old = atomic_exchange_explicit(&g_slots[slot], p, memory_order_acq_rel);
        bench_check_or_die("slots", old, 0, g_max);
        free(old);
        ops++;
    }
    w->ops = ops;
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'n', "slots", "slots", BENCH_SIZE, &g_nslots, 1, NULL },
    { 'm', "min", "min size", BENCH_SIZE, &g_min, 8, NULL },
    { 'M', "max", "max size", BENCH_SIZE, &g_max, 8, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "slots", .opts = opts, .nopts = 3 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_max < g_min || g_max >= BENCH_MAX_STAMPED)
        bench_usage(&cli);
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "slots: threads=%ld seconds=%g slots=%zu sizes=%zu..%zu seed=%llu\n",
                nthreads, seconds, g_nslots, g_min, g_max, (unsigned long long)seed);

    g_slots = calloc(g_nslots, sizeof *g_slots);
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    if (g_slots == NULL || w == NULL)
        die("calloc", ENOMEM);
    uint64_t fill_rng = bench_seed(seed, (uint64_t)nthreads);
    for (size_t i = 0; i < g_nslots; i++)
        atomic_init(&g_slots[i], new_block(&fill_rng));

    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        w[i].rng = bench_seed(seed, (uint64_t)i);
        bench_start("slots", &w[i].thread, run, &w[i]);
    }
    bench_sleep_until(t0 + seconds);
    atomic_store(&g_stop, true);
    uint64_t ops = 0;
    for (long i = 0; i < nthreads; i++) {
        bench_join("slots", w[i].thread);
        ops += w[i].ops;
    }
    double elapsed = bench_now() - t0;

    for (size_t i = 0; i < g_nslots; i++) {
        char *p = atomic_load(&g_slots[i]);
        bench_check_or_die("slots", p, 0, g_max);
        free(p);
    }
    free(g_slots);
    free(w);

    bench_report_ops(ops, elapsed, nthreads);
    bench_report_end(verbose, elapsed);
    return 0;
}
