/* largeblocks: a live set of large blocks, replaced one at a time, every page touched.
 *
 * Each of the T threads keeps -n 20 live blocks of sizes drawn uniformly in [-m, -M]
 * (default 256 KiB to 8 MiB: hakmem's large tier, and past glibc's default mmap threshold).
 * An op frees a random one of them (after checking its stamp) and allocates a new block of a
 * new size, stamped: the stamp writes one byte in every 4 KiB page, as a program that fills
 * its buffers would, so an allocator that gives pages back and maps them again pays a page
 * fault per page, and one that reuses them does not. This is the shape of programs that build
 * and drop big buffers (decoders, compressors, image and matrix code).
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "peak_rss_kib: N". On stderr: which
 * object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "bench_common.h"

static size_t g_live = 20;
static size_t g_min = 256 * 1024;
static size_t g_max = 8 * 1024 * 1024;
static atomic_bool g_stop;

struct worker {
    pthread_t thread;
    uint64_t rng;
    uint64_t ops;
};

static size_t draw_size(uint64_t *rng)
{
    return g_min + (size_t)bench_below(rng, g_max - g_min + 1);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    char **set = calloc(g_live, sizeof *set);
    if (set == NULL) {
        fprintf(stderr, "largeblocks: calloc: %s\n", strerror(ENOMEM));
        exit(1);
    }
    for (size_t i = 0; i < g_live; i++)
        set[i] = bench_new_stamped("largeblocks", draw_size(&w->rng), &w->rng);
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        size_t k = (size_t)bench_below(&w->rng, g_live);
        bench_check_or_die("largeblocks", set[k], 0, g_max);
        free(set[k]);
        set[k] = bench_new_stamped("largeblocks", draw_size(&w->rng), &w->rng);
        w->ops++;
    }
    for (size_t i = 0; i < g_live; i++) {
        bench_check_or_die("largeblocks", set[i], 0, g_max);
        free(set[i]);
    }
    free(set);
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'n', "live_blocks", "blocks", BENCH_SIZE, &g_live, 1, NULL },
    { 'm', "min_size", "min size", BENCH_SIZE, &g_min, 1, NULL },
    { 'M', "max_size", "max size", BENCH_SIZE, &g_max, 1, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "largeblocks", .opts = opts, .nopts = 3 };
    bench_parse_args(argc, argv, &cli);
    if (g_max >= BENCH_MAX_STAMPED || g_min > g_max || g_min < 64)
        bench_usage(&cli);
    bench_print_provider();
    if (cli.verbose)
        fprintf(stderr, "largeblocks: threads=%ld seconds=%g live=%zu min=%zu max=%zu\n",
                cli.threads, cli.seconds, g_live, g_min, g_max);

    struct worker *ws = calloc((size_t)cli.threads, sizeof *ws);
    if (ws == NULL) {
        fprintf(stderr, "largeblocks: calloc: %s\n", strerror(ENOMEM));
        return 1;
    }
    double t0 = bench_now();
    for (long i = 0; i < cli.threads; i++) {
        ws[i].rng = bench_seed(cli.seed, (uint64_t)i);
        bench_start("largeblocks", &ws[i].thread, run, &ws[i]);
    }
    bench_sleep_until(t0 + cli.seconds);
    atomic_store(&g_stop, true);
    uint64_t ops = 0;
    for (long i = 0; i < cli.threads; i++) {
        bench_join("largeblocks", ws[i].thread);
        ops += ws[i].ops;
    }
    double elapsed = bench_now() - t0;
    free(ws);
    bench_report_ops(ops, elapsed, (unsigned long long)cli.threads);
    bench_report_end(cli.verbose, elapsed);
    return 0;
}
