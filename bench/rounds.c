/* rounds: rounds of threads that start together, trade blocks through a shared array and exit.
 *
 * Each round starts -t threads and joins them; the next round starts fresh threads. A thread
 * does -n steps; a step allocates one block and either puts it in a random slot of the
 * thread's own set (-k 500 slots; the block it replaces is checked and freed) or swaps it
 * into a random slot of the transfer array shared by every thread of every round (-x 1000
 * slots; what comes back, allocated by any thread, maybe one of an earlier round that has
 * exited, is checked and freed), half and half. A thread frees its own set before it exits;
 * the transfer array lives across rounds. Sizes are powers of two spread linearly (8 B to
 * 4 KiB), one block in 100 is 64 times larger and one in 10,000 1,024 times larger (up to
 * 4 MiB). So every round the allocator sees its threads' memory emptied at once, mostly
 * freed by threads that are gone, and the next round's threads ask for it again: memory an
 * allocator unmaps between rounds is mapped and faulted in again by the next one.
 *
 * The run lasts -s seconds (the current round finishes). One op = one block allocated.
 * A damaged stamp ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N" (threads created), "ops: N", "rounds: N",
 * "minor_faults: N", "peak_rss_kib: N". On stderr: which object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

#include "bench_common.h"

#define MAX_SIZE ((size_t)4 << 20)

static size_t g_steps = 20000;
static size_t g_own = 500;
static size_t g_xfer = 1000;
static _Atomic(char *) *g_transfer;

struct worker {
    pthread_t thread;
    uint64_t rng;
    char **own;
};

static size_t pick_size(uint64_t *rng)
{
    size_t size = (size_t)8 << bench_below(rng, 10);         /* 8 B .. 4 KiB */
    size += bench_below(rng, size);
    uint64_t r = bench_below(rng, 10000);
    if (r == 0)
        size *= 1024;
    else if (r < 100)
        size *= 64;
    return size < MAX_SIZE ? size : MAX_SIZE;
}

static void release(char *p)
{
    if (p != NULL) {
        bench_check_or_die("rounds", p, 0, MAX_SIZE);
        free(p);
    }
}

static void *worker(void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < g_steps; i++) {
        char *p = bench_new_stamped("rounds", pick_size(&w->rng), &w->rng);
        if (bench_below(&w->rng, 2) == 0) {
            size_t k = (size_t)bench_below(&w->rng, g_own);
            release(w->own[k]);
            w->own[k] = p;
        } else {
            size_t k = (size_t)bench_below(&w->rng, g_xfer);
            release(atomic_exchange_explicit(&g_transfer[k], p, memory_order_acq_rel));
        }
    }
    for (size_t k = 0; k < g_own; k++) {
        release(w->own[k]);
        w->own[k] = NULL;
    }
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'n', "steps_per_thread", "steps", BENCH_SIZE, &g_steps, 1, NULL },
    { 'k', "own_slots", "own slots", BENCH_SIZE, &g_own, 1, NULL },
    { 'x', "transfer_slots", "transfer slots", BENCH_SIZE, &g_xfer, 1, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "rounds", .opts = opts, .nopts = 3 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    bench_print_provider();
    if (cli.verbose)
        fprintf(stderr, "rounds: threads=%ld seconds=%g steps=%zu own=%zu transfer=%zu "
                "seed=%llu\n", nthreads, cli.seconds, g_steps, g_own, g_xfer,
                (unsigned long long)cli.seed);

    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    g_transfer = calloc(g_xfer, sizeof *g_transfer);
    if (w == NULL || g_transfer == NULL)
        bench_die("rounds", "calloc", ENOMEM);
    for (long i = 0; i < nthreads; i++) {
        w[i].rng = bench_seed(cli.seed, (uint64_t)i);
        w[i].own = calloc(g_own, sizeof *w[i].own);
        if (w[i].own == NULL)
            bench_die("rounds", "calloc", ENOMEM);
    }
    double t0 = bench_now(), elapsed;
    uint64_t rounds = 0;
    do {
        for (long i = 0; i < nthreads; i++)
            bench_start("rounds", &w[i].thread, worker, &w[i]);
        for (long i = 0; i < nthreads; i++)
            bench_join("rounds", w[i].thread);
        rounds++;
    } while ((elapsed = bench_now() - t0) < cli.seconds);
    for (size_t k = 0; k < g_xfer; k++)
        release(atomic_load(&g_transfer[k]));
    for (long i = 0; i < nthreads; i++)
        free(w[i].own);
    free(w);
    free(g_transfer);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    bench_report_ops(rounds * (uint64_t)nthreads * g_steps, elapsed,
                     (unsigned long long)(rounds * (uint64_t)nthreads));
    printf("rounds: %llu\n", (unsigned long long)rounds);
    printf("minor_faults: %ld\n", ru.ru_minflt);
    bench_report_end(cli.verbose, elapsed);
    return 0;
}
