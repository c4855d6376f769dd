/* mixed: a fixed amount of allocation work with a realistic mix of sizes and lifetimes.
 *
 * Each thread runs N ops against its own queue of up to q live blocks. Sizes come from a
 * skewed distribution: mostly tiny, some mid-sized, a few large blocks up to -M (1 MiB):
 *
 *     60%  8..128       30%  129..1024      8%  1 KiB..16 KiB
 *     1.8% 16..128 KiB  0.2% 128 KiB..max
 *
 * An op is one of
 *   45%  a temporary: allocate, touch, free at once (scratch buffers, formatting);
 *   50%  a long-lived block: pushed on the queue; when the queue is full the oldest block is
 *        freed first (FIFO lifetimes, like requests or cache entries); one in eight of these
 *        uses calloc;
 *    5%  growth: realloc a random live block to 1.5x its size (strings and vectors growing).
 * Blocks are touched on every 4 KiB page, so peak RSS reflects what the program really used.
 * The work is fixed by the seed, so the wall time compares allocators; bench/compare times
 * the whole process. Output (stdout): "time_s: T", "ops/s: N", "ops: N",
 * "peak_rss_kib: N". */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct live {
    char *p;
    size_t size;
};

struct worker {
    pthread_t thread;
    uint64_t rng;
    uint64_t sum;         /* bytes read back, so the touches have an observable result */
};

static uint64_t g_ops = 10000000;
static size_t g_queue = 5000;
static size_t g_max = 1 << 20;

static void die(const char *what, int err)
{
    fprintf(stderr, "mixed: %s: %s\n", what, strerror(err));
    exit(1);
}

static size_t draw_size(uint64_t *rng)
{
    uint64_t p = bench_below(rng, 1000);
    size_t lo, hi;
    if (p < 600)      { lo = 8;       hi = 128; }
    else if (p < 900) { lo = 129;     hi = 1024; }
    else if (p < 980) { lo = 1025;    hi = 16384; }
    else if (p < 998) { lo = 16385;   hi = 131072; }
    else              { lo = 131073;  hi = g_max; }
    if (hi > g_max)
        hi = g_max;
    if (lo > hi)
        lo = hi;
    return lo + (size_t)bench_below(rng, hi - lo + 1);
}

/* Write one byte per page from 'from' to the end, and the last byte. */
static void touch(char *p, size_t from, size_t size)
{
    for (size_t i = from; i < size; i += 4096)
        p[i] = (char)i;
    p[size - 1] = 1;
}

static char *checked(char *p, size_t size)
{
    if (p == NULL) {
        fprintf(stderr, "mixed: allocation of %zu bytes failed\n", size);
        exit(1);
    }
    return p;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->rng, sum = 0;
    struct live *q = calloc(g_queue, sizeof *q);
    size_t head = 0, count = 0;   /* ring: oldest at head, count live entries */
    if (q == NULL)
        die("calloc(queue)", ENOMEM);

    for (uint64_t op = 0; op < g_ops; op++) {
        uint64_t kind = bench_below(&rng, 100);
        if (kind < 45) {
            size_t size = draw_size(&rng);
            char *p = checked(malloc(size), size);
            touch(p, 0, size);
            sum += (unsigned char)p[size - 1];
            free(p);
        } else if (kind < 95 || count == 0) {
            if (count == g_queue) {
                free(q[head].p);
                head = (head + 1) % g_queue;
                count--;
            }
            size_t size = draw_size(&rng);
            char *p = bench_below(&rng, 8) == 0 ? calloc(1, size) : malloc(size);
            checked(p, size);
            touch(p, 0, size);
            q[(head + count) % g_queue] = (struct live){ p, size };
            count++;
        } else {
            struct live *l = &q[(head + (size_t)bench_below(&rng, count)) % g_queue];
            size_t size = l->size + l->size / 2;
            if (size > g_max)
                size = g_max;
            char *p = checked(realloc(l->p, size), size);
            sum += (unsigned char)p[l->size - 1];  /* contents must survive the move */
            touch(p, l->size, size);
            *l = (struct live){ p, size };
        }
    }
    for (size_t i = 0; i < count; i++)
        free(q[(head + i) % g_queue].p);
    free(q);
    w->sum = sum;
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'N', "ops_per_thread", "ops", BENCH_U64, &g_ops, 1, NULL },
    { 'q', "live_blocks", "queue length", BENCH_SIZE, &g_queue, 1, NULL },
    { 'M', "max_size", "max size", BENCH_SIZE, &g_max, 8, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "mixed", .no_seconds = true, .opts = opts, .nopts = 3 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "mixed: threads=%ld ops=%llu queue=%zu max=%zu seed=%llu\n", nthreads,
                (unsigned long long)g_ops, g_queue, g_max, (unsigned long long)seed);

    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    if (w == NULL)
        die("calloc(workers)", ENOMEM);
    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        w[i].rng = bench_seed(seed, (uint64_t)i);
        bench_start("mixed", &w[i].thread, run, &w[i]);
    }
    uint64_t sum = 0;
    for (long i = 0; i < nthreads; i++) {
        bench_join("mixed", w[i].thread);
        sum += w[i].sum;
    }
    double elapsed = bench_now() - t0;
    free(w);

    printf("time_s: %.3f\n", elapsed);
    printf("ops/s: %.0f\n", (double)g_ops * (double)nthreads / elapsed);
    printf("ops: %llu\n", (unsigned long long)(g_ops * (uint64_t)nthreads));
    printf("peak_rss_kib: %ld\n", bench_peak_rss_kib());
    if (verbose)
        printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
