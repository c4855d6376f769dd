/* prodcons: producers allocate, consumers free; every block changes threads once.
 *
 * -t T starts T producers and T consumers (2T threads). A producer allocates a batch of b
 * blocks (default 64) of mostly small sizes (60% 8-64 B, 30% 65-256 B, 10% 257 B-1 KiB,
 * capped at -M), stamps each block, and puts the batch on a shared bounded queue of q batches.
 * A consumer takes a batch, checks every block's stamp, and frees the blocks and the batch's
 * pointer array (which the producer allocated too). So every free is a cross-thread free, the
 * pattern of a pipeline handing requests from one stage to the next. The queue is a mutex and
 * two condition variables, taken once per batch: one lock round trip per 64 blocks keeps the
 * queue out of the way; a full queue stops the producers, which bounds the live memory.
 *
 * Each producer draws sizes from its own PRNG stream seeded from -S. The run lasts -s seconds:
 * then producers stop, consumers drain the queue, and the run ends. One op = one block
 * allocated and freed. A damaged stamp ends the run with status 1.
 *
 * Output (stdout): "ops/s: N", "threads: N", "ops: N", "peak_rss_kib: N". On stderr: which
 * object provides malloc. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "bench_common.h"

struct batch {
    size_t n;
    char *blocks[];
};

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    struct batch **ring;
    size_t cap, head, count;
    bool closed;              /* no producer will push again */
};

struct worker {
    pthread_t thread;
    uint64_t rng;
    uint64_t ops;             /* blocks allocated (producer) or freed (consumer) */
} __attribute__((aligned(64)));

static size_t g_batch = 64;
static size_t g_max = 1024;
static struct queue g_q;
static atomic_bool g_stop;

static void die(const char *what, int err)
{
    fprintf(stderr, "prodcons: %s: %s\n", what, strerror(err));
    exit(1);
}

static void push(struct batch *b)
{
    pthread_mutex_lock(&g_q.lock);
    while (g_q.count == g_q.cap)
        pthread_cond_wait(&g_q.not_full, &g_q.lock);
    g_q.ring[(g_q.head + g_q.count) % g_q.cap] = b;
    g_q.count++;
    pthread_cond_signal(&g_q.not_empty);
    pthread_mutex_unlock(&g_q.lock);
}

/* NULL once the queue is closed and empty. */
static struct batch *pop(void)
{
    pthread_mutex_lock(&g_q.lock);
    while (g_q.count == 0 && !g_q.closed)
        pthread_cond_wait(&g_q.not_empty, &g_q.lock);
    struct batch *b = NULL;
    if (g_q.count > 0) {
        b = g_q.ring[g_q.head];
        g_q.head = (g_q.head + 1) % g_q.cap;
        g_q.count--;
        pthread_cond_signal(&g_q.not_full);
    }
    pthread_mutex_unlock(&g_q.lock);
    return b;
}

static void *producer(void *arg)
{
    struct worker *w = arg;
    uint64_t rng = w->rng, ops = 0;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        struct batch *b = malloc(sizeof *b + g_batch * sizeof b->blocks[0]);
        if (b == NULL)
            die("malloc(batch)", ENOMEM);
        b->n = g_batch;
        for (size_t i = 0; i < g_batch; i++)
            b->blocks[i] = bench_new_stamped("prodcons", bench_small_size(&rng, g_max), &rng);
        push(b);
        ops += g_batch;
    }
    w->ops = ops;
    return NULL;
}

static void *consumer(void *arg)
{
    struct worker *w = arg;
    uint64_t ops = 0;
    struct batch *b;
    while ((b = pop()) != NULL) {
        for (size_t i = 0; i < b->n; i++) {
            bench_check_or_die("prodcons", b->blocks[i], 0, g_max);
            free(b->blocks[i]);
        }
        ops += b->n;
        free(b);
    }
    w->ops = ops;
    return NULL;
}

static size_t qcap = 32;

static const struct bench_opt opts[] = {
    { 'b', "batch", "batch", BENCH_SIZE, &g_batch, 1, NULL },
    { 'q', "queued_batches", "queue length", BENCH_SIZE, &qcap, 1, NULL },
    { 'M', "max_size", "max size", BENCH_SIZE, &g_max, 8, NULL },
};

int main(int argc, char **argv)
{
    struct bench_cli cli = { .prog = "prodcons", .threads_name = "producers", .opts = opts,
                             .nopts = 3,
                             .defaults_note = "(-t T runs T producers and T consumers)" };
    bench_parse_args(argc, argv, &cli);
    long nthreads = cli.threads;
    double seconds = cli.seconds;
    uint64_t seed = cli.seed;
    bool verbose = cli.verbose;
    if (g_max >= BENCH_MAX_STAMPED)
        bench_usage(&cli);
    bench_print_provider();
    if (verbose)
        fprintf(stderr, "prodcons: producers=%ld consumers=%ld seconds=%g batch=%zu queue=%zu "
                "max=%zu seed=%llu\n", nthreads, nthreads, seconds, g_batch, qcap, g_max,
                (unsigned long long)seed);

    g_q.cap = qcap;
    g_q.ring = calloc(qcap, sizeof *g_q.ring);
    struct worker *prod = calloc((size_t)nthreads, sizeof *prod);
    struct worker *cons = calloc((size_t)nthreads, sizeof *cons);
    if (g_q.ring == NULL || prod == NULL || cons == NULL)
        die("calloc", ENOMEM);
    pthread_mutex_init(&g_q.lock, NULL);
    pthread_cond_init(&g_q.not_empty, NULL);
    pthread_cond_init(&g_q.not_full, NULL);

    double t0 = bench_now();
    for (long i = 0; i < nthreads; i++) {
        prod[i].rng = bench_seed(seed, (uint64_t)i);
        bench_start("prodcons", &prod[i].thread, producer, &prod[i]);
        bench_start("prodcons", &cons[i].thread, consumer, &cons[i]);
    }
    bench_sleep_until(t0 + seconds);
    atomic_store(&g_stop, true);

    uint64_t made = 0, freed = 0;
    for (long i = 0; i < nthreads; i++) {
        bench_join("prodcons", prod[i].thread);
        made += prod[i].ops;
    }
    pthread_mutex_lock(&g_q.lock);
    g_q.closed = true;
    pthread_cond_broadcast(&g_q.not_empty);
    pthread_mutex_unlock(&g_q.lock);
    for (long i = 0; i < nthreads; i++) {
        bench_join("prodcons", cons[i].thread);
        freed += cons[i].ops;
    }
    double elapsed = bench_now() - t0;
    if (made != freed) {
        fprintf(stderr, "prodcons: %llu blocks made but %llu freed\n",
                (unsigned long long)made, (unsigned long long)freed);
        return 1;
    }
    free(g_q.ring);
    free(prod);
    free(cons);

    bench_report_ops(freed, elapsed, (unsigned long long)(2 * nthreads));
    bench_report_end(verbose, elapsed);
    return 0;
}
