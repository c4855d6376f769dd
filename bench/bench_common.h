/* Small helpers shared by the benchmark programs (header-only: each benchmark is one .c file).
 *
 * The benchmarks call only the standard allocation functions and are run under LD_PRELOAD,
 * so they must never link hakmem directly. bench_malloc_provider() tells which shared object
 * actually supplies malloc, so a comparison can prove it measured the allocator it meant to. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* xorshift64*: a few cycles per number, so the PRNG does not dominate an allocation. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* splitmix64 turns (seed, stream) into a well-mixed non-zero xorshift state. */
static inline uint64_t bench_seed(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + (stream + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 0x9E3779B97F4A7C15ULL;
}

/* Uniform in [0, n) by multiply-shift: avoids a division per call. */
static inline uint64_t bench_below(uint64_t *state, uint64_t n)
{
    return ((bench_rand(state) >> 32) * n) >> 32;
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Path of the shared object that the dynamic linker resolves "malloc" to: the LD_PRELOADed
 * allocator if preloading worked, libc.so.6 otherwise. */
static inline const char *bench_malloc_provider(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
        return "unknown";
    return info.dli_fname;
}

/* Printed by every run on stderr; bench/compare checks this line on every run. */
static inline void bench_print_provider(void)
{
    fprintf(stderr, "malloc provider: %s\n", bench_malloc_provider());
}

/* Peak resident set of this process in KiB (VmHWM), or -1 if unknown. The benchmarks print it
 * themselves because the ru_maxrss that a parent gets from wait4() also counts the memory the
 * child had before exec: a child forked by a Python driver starts at the driver's RSS. */
static inline long bench_peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Strict numeric option parsing: a typo must not silently become 0. */
static inline long bench_parse_long(const char *s, const char *what, long min)
{
    char *end;
    long v = strtol(s, &end, 0);
    if (*s == '\0' || *end != '\0' || v < min) {
        fprintf(stderr, "invalid %s '%s' (want an integer >= %ld)\n", what, s, min);
        exit(2);
    }
    return v;
}

static inline double bench_parse_double(const char *s, const char *what)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v > 0)) {
        fprintf(stderr, "invalid %s '%s' (want a number > 0)\n", what, s);
        exit(2);
    }
    return v;
}

/* Table-driven command line shared by the benchmarks. Every program takes -t (threads; the
 * usage name is 'threads_name'), -S seed, -v, -P (print the malloc provider and exit) and -h,
 * and -s seconds unless it runs a fixed number of ops (no_seconds); struct bench_opt rows add
 * its own options. The usage text and its defaults line come from the table, so they always
 * match: the defaults are the values the variables hold before parsing. */
enum bench_opt_type { BENCH_LONG, BENCH_SIZE, BENCH_U64, BENCH_UNSIGNED, BENCH_ACTION };

struct bench_opt {
    char flag;
    const char *arg;        /* its name in the usage text ("max_size") */
    const char *name;       /* its name in an error message ("max size") */
    enum bench_opt_type type;
    void *dst;              /* long, size_t, uint64_t or unsigned; BENCH_ACTION: unused */
    long min;
    int (*action)(void);    /* BENCH_ACTION: run, then exit with what it returns */
};

struct bench_cli {
    const char *prog;
    const char *threads_name;   /* "threads" unless given */
    bool no_seconds;
    const struct bench_opt *opts;
    size_t nopts;
    const char *defaults_note;  /* appended to the defaults line, or NULL */
    const char *help;           /* extra lines after the -v/-P line, or NULL */
    /* Set by bench_parse_args: -t, -s, -S, -v (defaults 1, 2, 1, off). */
    long threads;
    double seconds;
    uint64_t seed;
    bool verbose;
    char defaults[256];         /* filled by bench_parse_args */
};

static inline size_t bench_usage_item(char *buf, size_t len, size_t *col, size_t indent,
                                      const char *item)
{
    size_t n = strlen(item);
    if (*col > indent && *col + 1 + n > 80) {
        len += (size_t)snprintf(buf + len, 1024 - len, "\n%*s", (int)indent, "");
        *col = indent;
    } else if (*col > indent) {
        len += (size_t)snprintf(buf + len, 1024 - len, " ");
        (*col)++;
    }
    len += (size_t)snprintf(buf + len, 1024 - len, "%s", item);
    *col += n;
    return len;
}

static inline _Noreturn void bench_usage(const struct bench_cli *cli)
{
    char buf[1024], item[96];
    size_t len = (size_t)snprintf(buf, sizeof buf, "usage: %s ", cli->prog);
    size_t indent = len, col = len;
    snprintf(item, sizeof item, "[-t %s]", cli->threads_name ? cli->threads_name : "threads");
    len = bench_usage_item(buf, len, &col, indent, item);
    if (!cli->no_seconds)
        len = bench_usage_item(buf, len, &col, indent, "[-s seconds]");
    for (size_t i = 0; i < cli->nopts; i++)
        if (cli->opts[i].type != BENCH_ACTION) {
            snprintf(item, sizeof item, "[-%c %s]", cli->opts[i].flag, cli->opts[i].arg);
            len = bench_usage_item(buf, len, &col, indent, item);
        }
    len = bench_usage_item(buf, len, &col, indent, "[-S seed]");
    len = bench_usage_item(buf, len, &col, indent, "[-v]");
    len = bench_usage_item(buf, len, &col, indent, "[-P]");
    for (size_t i = 0; i < cli->nopts; i++)
        if (cli->opts[i].type == BENCH_ACTION) {
            snprintf(item, sizeof item, "[-%c]", cli->opts[i].flag);
            len = bench_usage_item(buf, len, &col, indent, item);
        }
    fprintf(stderr, "%s\n  defaults: %s%s%s\n"
            "  -v  print parameters    -P  print the malloc provider and exit\n%s", buf,
            cli->defaults, cli->defaults_note ? " " : "",
            cli->defaults_note ? cli->defaults_note : "", cli->help ? cli->help : "");
    exit(2);
}

/* Parses argv into cli->threads/seconds/seed/verbose and the table's variables; on a bad
 * option or a stray argument prints the usage and exits with 2, and a bad number exits with 2
 * after saying why. -P and action options exit. */
static inline void bench_parse_args(int argc, char **argv, struct bench_cli *cli)
{
    char optstring[64], *o = optstring;
    size_t dl = 0;
    cli->threads = 1;
    cli->seconds = 2.0;
    cli->seed = 1;
    cli->verbose = false;

    *o++ = 't'; *o++ = ':';
    dl += (size_t)snprintf(cli->defaults + dl, sizeof cli->defaults - dl, "-t 1");
    if (!cli->no_seconds) {
        *o++ = 's'; *o++ = ':';
        dl += (size_t)snprintf(cli->defaults + dl, sizeof cli->defaults - dl, " -s 2");
    }
    for (size_t i = 0; i < cli->nopts; i++) {
        const struct bench_opt *op = &cli->opts[i];
        *o++ = op->flag;
        if (op->type == BENCH_ACTION)
            continue;
        *o++ = ':';
        char *d = cli->defaults + dl;
        size_t room = sizeof cli->defaults - dl;
        switch (op->type) {
        case BENCH_LONG: dl += (size_t)snprintf(d, room, " -%c %ld", op->flag,
                                                *(long *)op->dst); break;
        case BENCH_SIZE: dl += (size_t)snprintf(d, room, " -%c %zu", op->flag,
                                                *(size_t *)op->dst); break;
        case BENCH_U64: dl += (size_t)snprintf(d, room, " -%c %llu", op->flag,
                                               (unsigned long long)*(uint64_t *)op->dst); break;
        case BENCH_UNSIGNED: dl += (size_t)snprintf(d, room, " -%c %u", op->flag,
                                                    *(unsigned *)op->dst); break;
        case BENCH_ACTION: break;
        }
    }
    snprintf(cli->defaults + dl, sizeof cli->defaults - dl, " -S 1");
    strcpy(o, "S:vPh");

    int opt;
    while ((opt = getopt(argc, argv, optstring)) != -1) {
        switch (opt) {
        case 't': cli->threads = bench_parse_long(optarg, "threads", 1); continue;
        case 's': cli->seconds = bench_parse_double(optarg, "seconds"); continue;
        case 'S': cli->seed = (uint64_t)bench_parse_long(optarg, "seed", 0); continue;
        case 'v': cli->verbose = true; continue;
        case 'P': printf("%s\n", bench_malloc_provider()); exit(0);
        case 'h': case '?': case ':': bench_usage(cli);
        }
        const struct bench_opt *op = NULL;
        for (size_t i = 0; i < cli->nopts; i++)
            if (cli->opts[i].flag == opt)
                op = &cli->opts[i];
        if (op == NULL)
            bench_usage(cli);
        switch (op->type) {
        case BENCH_LONG: *(long *)op->dst = bench_parse_long(optarg, op->name, op->min); break;
        case BENCH_SIZE: *(size_t *)op->dst = (size_t)bench_parse_long(optarg, op->name, op->min);
            break;
        case BENCH_U64:
            *(uint64_t *)op->dst = (uint64_t)bench_parse_long(optarg, op->name, op->min); break;
        case BENCH_UNSIGNED:
            *(unsigned *)op->dst = (unsigned)bench_parse_long(optarg, op->name, op->min); break;
        case BENCH_ACTION: exit(op->action());
        }
    }
    if (optind != argc)
        bench_usage(cli);
}

/* Thread start and join that end the run with "<prog>: pthread_create: <error>". */
static inline void bench_die(const char *prog, const char *what, int err)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(err));
    exit(1);
}

static inline void bench_start(const char *prog, pthread_t *t, void *(*fn)(void *), void *arg)
{
    int err = pthread_create(t, NULL, fn, arg);
    if (err != 0)
        bench_die(prog, "pthread_create", err);
}

static inline void bench_join(const char *prog, pthread_t t)
{
    int err = pthread_join(t, NULL);
    if (err != 0)
        bench_die(prog, "pthread_join", err);
}

/* A relay of short-lived threads (larson, churn): each thread joins its predecessor first,
 * and at its end either starts its successor or, being the last, hands over to main, which
 * joins it. Embedded in a program's per-chain state; pthread_create orders a thread's
 * writes to that state before its successor's reads. */
struct bench_relay {
    pthread_t pred;       /* the thread to join first (valid if has_pred) */
    bool has_pred;
    pthread_t last;       /* set by the final thread, for main to join */
    sem_t done;           /* posted by the final thread */
    uint64_t threads;     /* threads this chain has run */
};

/* Main: starts the chain's first thread, fn(arg). */
static inline void bench_relay_start(const char *prog, struct bench_relay *r,
                                     void *(*fn)(void *), void *arg)
{
    if (sem_init(&r->done, 0, 0) != 0)
        bench_die(prog, "sem_init", errno);
    pthread_t first;
    bench_start(prog, &first, fn, arg);
}

/* At a thread's start: reap the predecessor (it exits right after starting us). */
static inline void bench_relay_enter(const char *prog, struct bench_relay *r)
{
    if (r->has_pred)
        bench_join(prog, r->pred);
    r->threads++;
}

/* At a thread's end: start fn(arg) as the successor, or, when `last`, post `done` (nothing
 * of the chain is touched after that). */
static inline void bench_relay_pass(const char *prog, struct bench_relay *r, bool last,
                                    void *(*fn)(void *), void *arg)
{
    if (last) {
        r->last = pthread_self();
        sem_post(&r->done);
        return;
    }
    r->pred = pthread_self();
    r->has_pred = true;
    pthread_t next;
    bench_start(prog, &next, fn, arg);
}

/* Main: waits for the chain's final thread and joins it. */
static inline void bench_relay_wait(const char *prog, struct bench_relay *r)
{
    while (sem_wait(&r->done) != 0 && errno == EINTR)
        ;
    bench_join(prog, r->last);
    sem_destroy(&r->done);
}

/* The report lines bench/compare reads: first "ops/s", "threads", "ops"; the program's own
 * lines go between; then "peak_rss_kib" and, with -v, "elapsed_s". */
static inline void bench_report_ops(uint64_t ops, double elapsed, unsigned long long threads)
{
    printf("ops/s: %.0f\n", (double)ops / elapsed);
    printf("threads: %llu\n", threads);
    printf("ops: %llu\n", (unsigned long long)ops);
}

static inline void bench_report_end(bool verbose, double elapsed)
{
    printf("peak_rss_kib: %ld\n", bench_peak_rss_kib());
    if (verbose)
        printf("elapsed_s: %.3f\n", elapsed);
}

/* Sleep until the monotonic clock reaches 'end'; nanosleep may return early on a signal. */
static inline void bench_sleep_until(double end)
{
    double now;
    while ((now = bench_now()) < end) {
        double left = end - now;
        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* Block stamps, so that an allocator that hands out overlapping or too-small blocks, or loses
 * a block's contents on its way between threads, fails the run instead of looking fast.
 *
 * A stamp is a 64-bit tag: random upper bits and the block's size in the low BENCH_SIZE_BITS
 * bits, so a block describes itself wherever it travels. bench_stamp writes the tag as the
 * first word, ~tag as the last word (the last byte for blocks of 9-15 bytes) and one byte in
 * each further 4 KiB page, so every page of the block is real memory. bench_check verifies
 * all of them before the block is freed; bench_check_or_die ends the run with status 1. Blocks
 * must be at least 8 bytes. Two live blocks get different tags, so blocks that overlap
 * overwrite each other's stamps. */
#define BENCH_SIZE_BITS 24
#define BENCH_MAX_STAMPED ((size_t)1 << BENCH_SIZE_BITS)

static inline uint64_t bench_tag(uint64_t *rng, size_t size)
{
    return (bench_rand(rng) << BENCH_SIZE_BITS) | (uint64_t)size;
}

static inline char bench_page_byte(uint64_t tag, size_t off)
{
    return (char)((tag >> 40) ^ (off >> 12));
}

static inline void bench_stamp(char *p, uint64_t tag)
{
    size_t size = (size_t)(tag & (BENCH_MAX_STAMPED - 1));
    memcpy(p, &tag, sizeof tag);
    for (size_t off = 4096; off + 8 < size; off += 4096)
        p[off] = bench_page_byte(tag, off);
    if (size >= 16) {
        uint64_t inv = ~tag;
        memcpy(p + size - 8, &inv, sizeof inv);
    } else if (size > 8) {
        p[size - 1] = (char)~tag;
    }
}

/* The size a stamped block says it has, or 0 if the stamp is damaged. want_size 0: any size
 * up to max_size; otherwise the size must be exactly want_size. */
static inline size_t bench_check(const char *p, size_t want_size, size_t max_size)
{
    uint64_t tag;
    memcpy(&tag, p, sizeof tag);
    size_t size = (size_t)(tag & (BENCH_MAX_STAMPED - 1));
    if (size < 8 || size > max_size || (want_size != 0 && size != want_size))
        return 0;
    for (size_t off = 4096; off + 8 < size; off += 4096)
        if (p[off] != bench_page_byte(tag, off))
            return 0;
    if (size >= 16) {
        uint64_t inv;
        memcpy(&inv, p + size - 8, sizeof inv);
        if (inv != ~tag)
            return 0;
    } else if (size > 8 && p[size - 1] != (char)~tag) {
        return 0;
    }
    return size;
}

static inline size_t bench_check_or_die(const char *prog, const char *p, size_t want_size,
                                        size_t max_size)
{
    size_t size = bench_check(p, want_size, max_size);
    if (size == 0) {
        uint64_t tag;
        memcpy(&tag, p, sizeof tag);
        fprintf(stderr, "%s: corrupt block %p (first word %#llx, expected size %zu): the "
                "allocator handed out overlapping or damaged memory\n", prog, (const void *)p,
                (unsigned long long)tag, want_size);
        exit(1);
    }
    return size;
}

/* malloc that ends the run on failure; the new block is stamped with a fresh tag. */
static inline char *bench_new_stamped(const char *prog, size_t size, uint64_t *rng)
{
    char *p = malloc(size);
    if (p == NULL) {
        fprintf(stderr, "%s: malloc(%zu) failed\n", prog, size);
        exit(1);
    }
    bench_stamp(p, bench_tag(rng, size));
    return p;
}

/* Mostly small sizes, as in servers: 60% 8-64 B, 30% 65-256 B, 10% 257 B-1 KiB, capped at max
 * (at least 8). */
static inline size_t bench_small_size(uint64_t *rng, size_t max)
{
    uint64_t p = bench_below(rng, 10);
    size_t lo = 8, hi = 64;
    if (p >= 9)      { lo = 257; hi = 1024; }
    else if (p >= 6) { lo = 65;  hi = 256; }
    if (hi > max)
        hi = max;
    if (lo > hi)
        lo = hi;
    return lo + (size_t)bench_below(rng, hi - lo + 1);
}

#endif
