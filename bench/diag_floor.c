/* diag_floor: the cost of the memory work that the diagnostic modes must do, measured alone,
 * without any allocator: the floor under what HAKMEM_SHADOW=1 and HAKMEM_LEAK_CHECK=1 can
 * cost on a workload such as larson.
 *
 *   poison W   per operation, pick one of N blocks at random (as larson picks the block it
 *              replaces), check that bytes 16..16+W still hold the freed pattern (the
 *              hand-out check), write its first byte (the program), refill the pattern
 *              (the free); W = 0 is the loop alone
 *   canary     the same, but read and rewrite the 8 bytes past a random request size inside
 *              the block (the overflow canary: a line the program may never touch)
 *   unwind D   unw_backtrace() from D nested calls (the leak tracker's capture of one
 *              allocation's stack), when built with libunwind; and with one frame asked
 *              for (libunwind's set-up and one step)
 *
 * usage: diag_floor [-n ops] [-b block_bytes] [-N blocks]   defaults: -n 20000000 -b 528 -N 1000
 * Output: one "name: X ns/op" line per measurement. */
#include "bench_common.h"

#include <unistd.h>
#ifdef HAVE_UNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

typedef uint64_t vec16 __attribute__((vector_size(16), may_alias));
#define PATTERN 0xdfdfdfdfdfdfdfdfull

static void fill(void *from, size_t n)
{
    const vec16 pat = {PATTERN, PATTERN};
    vec16 *v = from;
    for (size_t i = 0; i < n / 16; i++)
        v[i] = pat;
}

static int intact(const void *from, size_t n)
{
    const vec16 pat = {PATTERN, PATTERN};
    const vec16 *v = from;
    vec16 diff = {0, 0};
    for (size_t i = 0; i < n / 16; i++)
        diff |= v[i] ^ pat;
    return (diff[0] | diff[1]) == 0;
}

static long g_ops = 20000000;
static int g_failed;
static size_t g_block = 528, g_blocks = 1000;

static double poison(char *mem, size_t window)
{
    uint64_t rng = bench_seed(1, window);
    long bad = 0;
    for (size_t i = 0; i < g_blocks; i++)
        fill(mem + i * g_block + 16, window);
    double t0 = bench_now();
    for (long i = 0; i < g_ops; i++) {
        char *p = mem + bench_below(&rng, g_blocks) * g_block;
        bad += !intact(p + 16, window);
        p[0] = (char)i;
        fill(p + 16, window);
    }
    double ns = (bench_now() - t0) * 1e9 / (double)g_ops;
    if (bad) {
        fprintf(stderr, "diag_floor: %ld damaged patterns (a bug)\n", bad);
        g_failed = 1;
    }
    return ns;
}

static double canary(char *mem)
{
    uint64_t rng = bench_seed(2, 0), sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < g_ops; i++) {
        char *p = mem + bench_below(&rng, g_blocks) * g_block;
        size_t size = 8 + bench_below(&rng, g_block - 24);
        uint64_t w;
        memcpy(&w, p + size, 8);
        sum += w;
        p[0] = (char)i;
        w = 0xcacacacacacacacaull;
        memcpy(p + size, &w, 8);
    }
    double ns = (bench_now() - t0) * 1e9 / (double)g_ops;
    if (sum == 42)
        putchar(' ');          /* keeps the loads */
    return ns;
}

#ifdef HAVE_UNWIND
static int g_max_frames = 64;

static __attribute__((noinline)) int nest(int depth)
{
    void *frames[64];
    int n = depth > 1 ? nest(depth - 1) : unw_backtrace(frames, g_max_frames);
    __asm__ volatile("" ::: "memory");   /* not a tail call: one frame per level */
    return n;
}

static double unwind(int depth, int *frames)
{
    long n = g_ops / 20;
    nest(depth);                         /* warm libunwind's caches */
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        *frames = nest(depth);
    return (bench_now() - t0) * 1e9 / (double)n;
}
#endif

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "n:b:N:")) != -1) {
        switch (c) {
        case 'n': g_ops = atol(optarg); break;
        case 'b': g_block = (size_t)atol(optarg); break;
        case 'N': g_blocks = (size_t)atol(optarg); break;
        default:
            fprintf(stderr, "usage: diag_floor [-n ops] [-b block_bytes] [-N blocks]\n");
            return 2;
        }
    }
    g_block = (g_block + 15) & ~(size_t)15;
    if (g_ops < 20 || g_block < 272 || g_blocks < 1) {
        fprintf(stderr, "diag_floor: need -n >= 20, -b >= 272, -N >= 1\n");
        return 2;
    }
    char *mem = aligned_alloc(64, g_block * g_blocks);
    if (!mem)
        return 1;
    memset(mem, 0, g_block * g_blocks);
    printf("blocks: %zu x %zu B\n", g_blocks, g_block);
    const size_t windows[] = {0, 48, 112, 240};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
        printf("poison %zu: %.2f ns/op\n", windows[i], poison(mem, windows[i]));
    printf("canary: %.2f ns/op\n", canary(mem));
#ifdef HAVE_UNWIND
    for (int d = 2; d <= 8; d += 3) {
        int frames = 0;
        double ns = unwind(d, &frames);
        printf("unwind %d: %.2f ns/op (%d frames)\n", d, ns, frames);
    }
    /* One frame asked for: libunwind's set-up (context, cursor) and one step. */
    g_max_frames = 1;
    int one = 0;
    double ns1 = unwind(8, &one);
    printf("unwind 8, first frame only: %.2f ns/op (%d frame)\n", ns1, one);
#endif
    free(mem);
    return g_failed;
}
