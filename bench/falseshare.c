/* falseshare: does the allocator make threads share cache lines? (passive false sharing)
 *
 * After Hoard's cache-scratch. The main thread allocates T*k small blocks (8-64 B, stamped)
 * one after the other and deals them out in turn: block j goes to worker j mod T, so blocks
 * next to each other in memory, often in the same 64-byte line, go to different workers. Each
 * of the T workers checks and frees the k blocks it was given, then allocates k blocks of the
 * same sizes, writes every 8-byte word of each of them w times (round robin over its k
 * blocks), checks the last values and frees them. An allocator that hands a worker the blocks
 * it has just freed gives it lines that another worker is writing at the same time; every
 * such write then moves the line between cores, and the write rate drops. One that gives the
 * freed blocks back to the thread that allocated them hands the worker lines of its own. The
 * given blocks are not written repeatedly themselves: they are adjacent by construction, so
 * that would measure this program's sharing, not the allocator's. Then the next round.
 *
 * At -t 1 nothing can be shared: the baseline. The sizes come from a PRNG seeded from -S.
 * The run lasts -s seconds (whole rounds). One op = one 8-byte write in the write phase;
 * "ops/s" is over the whole run, "write_ns" is a worker's time per write inside its write
 * phase alone. "shared_lines_pct": of the 64-byte lines the workers write, the share that
 * more than one worker writes in the same round (sampled every 8th round). A wrong value in a
 * block ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "rounds: N", "write_ns: X",
 * "shared_lines_pct: X", "peak_rss_kib: N". On stderr: which object provides malloc.
 * -C measures instead what false sharing costs on this machine (see calibrate()). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct worker {
    pthread_t thread;
    long index;
    char **given;           /* k blocks from the main thread, for this round */
    char **mine;            /* the k blocks this worker allocated this round */
    size_t *sizes;
    uint64_t rng;
    uint64_t writes;
    double write_s;         /* time spent in write phases */
} __attribute__((aligned(64)));

static long g_threads = 1;
static size_t g_k = 256;
static uint64_t g_passes = 1000;
static size_t g_min = 8, g_max = 64;
static struct worker *g_w;
static pthread_barrier_t g_barrier;
static bool g_done;         /* set by main before the barrier that starts a round */

static void die(const char *what, int err)
{
    fprintf(stderr, "falseshare: %s: %s\n", what, strerror(err));
    exit(1);
}

static void barrier(void)
{
    int err = pthread_barrier_wait(&g_barrier);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait", err);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t writes = 0;
    double write_s = 0;
    for (;;) {
        barrier();                      /* A: the main thread has dealt the blocks */
        if (g_done)
            break;
        for (size_t i = 0; i < g_k; i++) {
            w->sizes[i] = bench_check_or_die("falseshare", w->given[i], 0, g_max);
            free(w->given[i]);
        }
        for (size_t i = 0; i < g_k; i++) {
            w->mine[i] = malloc(w->sizes[i]);
            if (w->mine[i] == NULL)
                die("malloc", ENOMEM);
        }
        uint64_t base = bench_rand(&w->rng);
        double t0 = bench_now();
        for (uint64_t pass = 0; pass < g_passes; pass++) {
            for (size_t i = 0; i < g_k; i++) {
                volatile uint64_t *q = (volatile uint64_t *)(void *)w->mine[i];
                size_t words = w->sizes[i] / 8;
                uint64_t v = base + ((uint64_t)i << 32) + pass;
                for (size_t j = 0; j < words; j++)
                    q[j] = v + j;
            }
        }
        write_s += bench_now() - t0;
        for (size_t i = 0; i < g_k; i++) {
            const uint64_t *q = (const uint64_t *)(void *)w->mine[i];
            size_t words = w->sizes[i] / 8;
            uint64_t v = base + ((uint64_t)i << 32) + g_passes - 1;
            for (size_t j = 0; j < words; j++) {
                if (q[j] != v + j) {
                    fprintf(stderr, "falseshare: block %p word %zu is %#llx, expected %#llx: "
                            "the allocator handed out overlapping blocks\n",
                            (void *)w->mine[i], j, (unsigned long long)q[j],
                            (unsigned long long)(v + j));
                    exit(1);
                }
            }
            writes += words * g_passes;
            free(w->mine[i]);
        }
        barrier();                      /* B: round done */
    }
    w->writes = writes;
    w->write_s = write_s;
    return NULL;
}

struct line_owner {
    uintptr_t line;
    long worker;
};

static int by_line(const void *a, const void *b)
{
    const struct line_owner *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (x->worker > y->worker) - (x->worker < y->worker);
}

/* Lines written by the workers in the round just finished: how many, and how many of them by
 * more than one worker. The blocks are freed by now; only their addresses are used. */
static void count_shared(struct line_owner *buf, uint64_t *lines, uint64_t *shared)
{
    size_t n = 0;
    for (long t = 0; t < g_threads; t++) {
        for (size_t i = 0; i < g_k; i++) {
            uintptr_t a = (uintptr_t)g_w[t].mine[i];
            size_t len = g_w[t].sizes[i] / 8 * 8;
            for (uintptr_t l = a >> 6; l <= (a + len - 1) >> 6; l++)
                buf[n++] = (struct line_owner){ l, t };
        }
    }
    qsort(buf, n, sizeof *buf, by_line);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        bool multi = false;
        for (; j < n && buf[j].line == buf[i].line; j++)
            multi |= buf[j].worker != buf[i].worker;
        (*lines)++;
        *shared += multi;
        i = j;
    }
}

/* -C: what false sharing costs on this machine, without any allocator. Two threads write
 * 8-byte words in the same 64-byte line, then in lines 128 bytes apart. On a machine where
 * the two are equally fast (threads that rarely run at the same time, or on two hardware
 * threads of one core), the write rate above cannot show the allocator's false sharing:
 * shared_lines_pct still does. */
static _Alignas(256) volatile uint64_t g_calib[32];

struct calib {
    pthread_t thread;
    volatile uint64_t *word;
    uint64_t n;
};

static void *calib_run(void *arg)
{
    struct calib *c = arg;
    for (uint64_t i = 0; i < c->n; i++)
        *c->word = i;
    return NULL;
}

static double calib_pair(size_t apart_words, uint64_t n)
{
    struct calib c[2] = { { .word = &g_calib[0], .n = n },
                          { .word = &g_calib[apart_words], .n = n } };
    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        bench_start("falseshare", &c[i].thread, calib_run, &c[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(c[i].thread, NULL);
    return (bench_now() - t0) * 1e9 / (double)n;
}

static void calibrate(void)
{
    uint64_t n = 100000000;
    double same = calib_pair(1, n), apart = calib_pair(16, n);
    printf("same_line_ns: %.3f\nseparate_lines_ns: %.3f\nfalse_sharing_cost: %.2fx\n", same,
           apart, same / apart);
}

static int calibrate_and_exit(void)
{
    calibrate();
    return 0;
}

static const struct bench_opt opts[] = {
    { 'k', "blocks_per_thread", "blocks", BENCH_SIZE, &g_k, 1, NULL },
    { 'w', "passes", "passes", BENCH_U64, &g_passes, 1, NULL },
    { 'm', "min", "min size", BENCH_SIZE, &g_min, 8, NULL },
    { 'M', "max", "max size", BENCH_SIZE, &g_max, 8, NULL },
    { 'C', NULL, NULL, BENCH_ACTION, NULL, 0, calibrate_and_exit },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = {
        .prog = "falseshare", .opts = opts, .nopts = 5,
        .help = "  -C  measure what false sharing costs on this machine (wall time of two "
                "threads\n      writing one line against two lines) and exit\n" };
    bench_parse_args(argc, argv, &cli);
    g_threads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_max < g_min || g_max > 4096)
        bench_usage(&cli);
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "falseshare: threads=%ld seconds=%g blocks=%zu passes=%llu "
                "sizes=%zu..%zu seed=%llu\n", g_threads, seconds, g_k,
                (unsigned long long)g_passes, g_min, g_max, (unsigned long long)seed);

    size_t nt = (size_t)g_threads;
    g_w = calloc(nt, sizeof *g_w);
    struct line_owner *lines_buf = malloc(nt * g_k * (g_max / 64 + 2) * sizeof *lines_buf);
    if (g_w == NULL || lines_buf == NULL)
        die("calloc", ENOMEM);
    for (size_t t = 0; t < nt; t++) {
        g_w[t].index = (long)t;
        g_w[t].rng = bench_seed(seed, t + 1);
        g_w[t].given = calloc(g_k, sizeof(char *));
        g_w[t].mine = calloc(g_k, sizeof(char *));
        g_w[t].sizes = calloc(g_k, sizeof(size_t));
        if (g_w[t].given == NULL || g_w[t].mine == NULL || g_w[t].sizes == NULL)
            die("calloc", ENOMEM);
    }
    int err = pthread_barrier_init(&g_barrier, NULL, (unsigned)nt + 1);
    if (err != 0)
        die("pthread_barrier_init", err);

    uint64_t rng = bench_seed(seed, 0), rounds = 0, lines = 0, shared = 0;
    double t0 = bench_now(), end = t0 + seconds;
    for (size_t t = 0; t < nt; t++)
        bench_start("falseshare", &g_w[t].thread, run, &g_w[t]);
    for (;;) {
        g_done = rounds > 0 && bench_now() >= end;
        if (!g_done)
            for (size_t j = 0; j < nt * g_k; j++) {
                size_t size = g_min + (size_t)bench_below(&rng, g_max - g_min + 1);
                g_w[j % nt].given[j / nt] = bench_new_stamped("falseshare", size, &rng);
            }
        barrier();                      /* A */
        if (g_done)
            break;
        barrier();                      /* B */
        if (rounds % 8 == 0)
            count_shared(lines_buf, &lines, &shared);
        rounds++;
    }
    uint64_t writes = 0;
    double write_s = 0;
    for (size_t t = 0; t < nt; t++) {
        bench_join("falseshare", g_w[t].thread);
        writes += g_w[t].writes;
        write_s += g_w[t].write_s;
    }
    double elapsed = bench_now() - t0;
    for (size_t t = 0; t < nt; t++) {
        free(g_w[t].given);
        free(g_w[t].mine);
        free(g_w[t].sizes);
    }
    free(g_w);
    free(lines_buf);
    pthread_barrier_destroy(&g_barrier);

    bench_report_ops(writes, elapsed, g_threads);
    printf("rounds: %llu\n", (unsigned long long)rounds);
    printf("write_ns: %.3f\n", writes ? write_s * 1e9 / (double)writes : 0.0);
    printf("shared_lines_pct: %.1f\n", lines ? 100.0 * (double)shared / (double)lines : 0.0);
    bench_report_end(verbose, elapsed);
    return 0;
}
