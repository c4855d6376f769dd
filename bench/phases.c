/* phases: threads whose live sets grow and shrink in phases, some blocks freed by a neighbour.
 *
 * Each of the T threads keeps up to n live blocks (default 20000). A phase: draw a target in
 * [n/8, n], allocate (and stamp) blocks until the live set reaches it, then free random live
 * blocks until it is down to a random level in [0, target/4]. Of the blocks given up while
 * shrinking, x% (default 25) are not freed but handed to the next thread (thread i to i+1,
 * the last to the first) in batches of 64 through that thread's mailbox (a mutex-protected
 * list); the receiver checks and frees them at the start of its next phase. So the heap sees
 * bursts of allocation and of freeing, a live set that keeps changing size (what an allocator
 * keeps cached between phases shows in peak RSS), and a steady share of cross-thread frees.
 * At -t 1 the thread hands blocks to itself (the same work, no cross-thread frees).
 *
 * Sizes: 90% mostly small (60% 8-64 B, 30% 65-256 B, 10% 257 B-1 KiB), 10% 1 KiB to -M
 * (default 8 KiB). Each thread draws from its own PRNG stream seeded from -S. The run lasts
 * -s seconds (the phase under way is finished). One op = one block allocated (and, sooner or
 * later, freed). A damaged stamp ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "phases: N", "handed: N" (blocks freed
 * by the neighbour), "peak_rss_kib: N". On stderr: which object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

#define HANDOFF 64

struct handoff {
    struct handoff *next;
    size_t n;
    char *blocks[HANDOFF];
};

struct worker {
    pthread_t thread;
    uint64_t rng;
    uint64_t ops, phases, handed;
    struct worker *next;          /* the neighbour that frees what we hand off */
    pthread_mutex_t box_lock;
    struct handoff *box;          /* batches handed to us, not yet freed */
} __attribute__((aligned(64)));

static size_t g_live = 20000;
static size_t g_max = 8192;
static unsigned g_remote = 25;
static atomic_bool g_stop;

static void die(const char *what, int err)
{
    fprintf(stderr, "phases: %s: %s\n", what, strerror(err));
    exit(1);
}

static size_t draw_size(uint64_t *rng)
{
    if (g_max <= 1024 || bench_below(rng, 10) != 0)
        return bench_small_size(rng, g_max);
    return 1025 + (size_t)bench_below(rng, g_max - 1024);
}

static void check_free(char *p)
{
    bench_check_or_die("phases", p, 0, g_max);
    free(p);
}

static void hand_to(struct worker *to, struct handoff *h)
{
    pthread_mutex_lock(&to->box_lock);
    h->next = to->box;
    to->box = h;
    pthread_mutex_unlock(&to->box_lock);
}

/* Check and free everything in w's mailbox; returns the number of blocks. */
static uint64_t drain(struct worker *w)
{
    pthread_mutex_lock(&w->box_lock);
    struct handoff *h = w->box;
    w->box = NULL;
    pthread_mutex_unlock(&w->box_lock);
    uint64_t n = 0;
    while (h != NULL) {
        struct handoff *next = h->next;
        for (size_t i = 0; i < h->n; i++)
            check_free(h->blocks[i]);
        n += h->n;
        free(h);
        h = next;
    }
    return n;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->rng, ops = 0, phases = 0, handed = 0;
    char **live = malloc(g_live * sizeof *live);
    size_t count = 0;
    if (live == NULL)
        die("malloc(live set)", ENOMEM);

    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        handed += drain(w);
        size_t target = g_live / 8 + (size_t)bench_below(&rng, g_live - g_live / 8 + 1);
        while (count < target) {
            live[count++] = bench_new_stamped("phases", draw_size(&rng), &rng);
            ops++;
        }
        size_t low = (size_t)bench_below(&rng, target / 4 + 1);
        struct handoff *out = NULL;
        while (count > low) {
            size_t i = (size_t)bench_below(&rng, count);
            char *p = live[i];
            live[i] = live[--count];
            if (bench_below(&rng, 100) >= g_remote) {
                check_free(p);
                continue;
            }
            if (out == NULL) {
                if ((out = malloc(sizeof *out)) == NULL)
                    die("malloc(handoff)", ENOMEM);
                out->n = 0;
            }
            out->blocks[out->n++] = p;
            if (out->n == HANDOFF) {
                hand_to(w->next, out);
                out = NULL;
            }
        }
        if (out != NULL)
            hand_to(w->next, out);
        phases++;
    }
    for (size_t i = 0; i < count; i++)
        check_free(live[i]);
    free(live);
    w->ops = ops;
    w->phases = phases;
    w->handed = handed;
    return NULL;
}

static const struct bench_opt opts[] = {
    { 'n', "max_live_per_thread", "live blocks", BENCH_SIZE, &g_live, 8, NULL },
    { 'M', "max_size", "max size", BENCH_SIZE, &g_max, 8, NULL },
    { 'x', "percent_handed_off", "percent", BENCH_UNSIGNED, &g_remote, 0, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "phases", .opts = opts, .nopts = 3 };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_remote > 100 || g_max >= BENCH_MAX_STAMPED)
        bench_usage(&cli);
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "phases: threads=%ld seconds=%g live=%zu max=%zu handed=%u%% "
                "seed=%llu\n", nthreads, seconds, g_live, g_max, g_remote,
                (unsigned long long)seed);

    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    if (w == NULL)
        die("calloc(workers)", ENOMEM);
    for (long i = 0; i < nthreads; i++) {
        w[i].rng = bench_seed(seed, (uint64_t)i);
        w[i].next = &w[(i + 1) % nthreads];
        pthread_mutex_init(&w[i].box_lock, NULL);
    }
    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        bench_start("phases", &w[i].thread, run, &w[i]);
    }
    bench_sleep_until(t0 + seconds);
    atomic_store(&g_stop, true);
    uint64_t ops = 0, phases = 0, handed = 0;
    for (long i = 0; i < nthreads; i++) {
        bench_join("phases", w[i].thread);
        ops += w[i].ops;
        phases += w[i].phases;
        handed += w[i].handed;
    }
    double elapsed = bench_now() - t0;
    for (long i = 0; i < nthreads; i++)
        handed += drain(&w[i]);
    free(w);

    bench_report_ops(ops, elapsed, nthreads);
    printf("phases: %llu\n", (unsigned long long)phases);
    printf("handed: %llu\n", (unsigned long long)handed);
    bench_report_end(verbose, elapsed);
    return 0;
}
