/* Small helpers shared by the benchmark programs (header-only: each benchmark is one .c file).
 *
 * The benchmarks call only the standard allocation functions and are run under LD_PRELOAD,
 * so they must never link hakmem directly. bench_malloc_provider() tells which shared object
 * actually supplies malloc, so a comparison can prove it measured the allocator it meant to. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
