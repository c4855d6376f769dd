/* leakstacks: many live blocks from many distinct allocation stacks, for the memory a leak
 * checker's tracker costs (docs/benchmarks.md, "Leak tracker memory"). Each block is
 * allocated at the bottom of a recursion 15 calls deep whose every level takes one of two
 * call sites, by one of four malloc call sites: 4 x 2^15 = 131,072 distinct stacks of 16
 * frames at most. Every block stays reachable (a global array) until exit, so a leak check
 * reports nothing lost and scans them all.
 *
 * usage: leakstacks [-s stacks] [-b blocks_per_stack] [-z bytes]
 *        defaults: -s 131072 -b 2 -z 48; stacks is rounded down to a power of two, at most
 *        131072. Output: one line with the number of blocks and a checksum. */
#include "bench_common.h"

#define LEVELS 15

static void **g_blocks;

/* Two call sites per level: the return address says which one was taken. The asm after each
 * call keeps it from being a tail call or merged with the other. */
__attribute__((noinline)) static void *node(int d, unsigned path, size_t size)
{
    void *p;
    if (d == 0) {
        switch (path & 3) {
        case 0: p = malloc(size); break;
        case 1: p = malloc(size + 1); break;
        case 2: p = malloc(size + 2); break;
        default: p = malloc(size + 3); break;
        }
        __asm__ volatile("" : : "r"(p) : "memory");
        return p;
    }
    if (path & 4) {
        p = node(d - 1, (path >> 1 & ~3u) | (path & 3), size);
        __asm__ volatile("nop" : : "r"(p) : "memory");
    } else {
        p = node(d - 1, (path >> 1 & ~3u) | (path & 3), size);
        __asm__ volatile("nop; nop" : : "r"(p) : "memory");
    }
    return p;
}

int main(int argc, char **argv)
{
    unsigned long stacks = 131072, per = 2, size = 48;
    int c;
    while ((c = getopt(argc, argv, "s:b:z:")) != -1) {
        unsigned long v = strtoul(optarg, NULL, 0);
        if (c == 's')
            stacks = v;
        else if (c == 'b')
            per = v;
        else if (c == 'z')
            size = v;
        else
            return 2;
    }
    unsigned long cap = 4ul << LEVELS;
    if (stacks > cap)
        stacks = cap;
    while (stacks & (stacks - 1))
        stacks &= stacks - 1;
    if (!stacks || !per || !size) {
        fprintf(stderr, "leakstacks: -s, -b and -z must be positive\n");
        return 2;
    }
    g_blocks = malloc(stacks * per * sizeof *g_blocks);
    if (!g_blocks)
        return 1;
    uint64_t sum = 0;
    for (unsigned long k = 0; k < per; k++) {
        for (unsigned long s = 0; s < stacks; s++) {
            /* Bits 0-1 pick the malloc call site, bits 2-16 the call site of each level. */
            void *p = node(LEVELS, (unsigned)s, size);
            if (!p)
                return 1;
            memset(p, (int)(s & 0xff), size);
            g_blocks[k * stacks + s] = p;
            sum = sum * 31 + ((uintptr_t)p >> 4 & 0xff);
        }
    }
    printf("leakstacks: %lu stacks x %lu blocks of %lu bytes, checksum %llu\n", stacks, per,
           size, (unsigned long long)(sum % 65521));
    return 0;
}
