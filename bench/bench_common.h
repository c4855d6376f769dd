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

#endif
