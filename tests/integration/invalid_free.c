/* Run under LD_PRELOAD=libhakmem.so: free pointers hakmem never handed out and survive.
 * Prints one "ADDR <hex>" line per bad pointer (before freeing it) so that the driver can
 * look for hakmem's report of each address on stderr.
 *   invalid_free          every case, then check that the program's blocks are intact
 *   invalid_free double   double frees in every tier (run with HAKMEM_SHADOW=1)
 *   invalid_free abort    one bad free; with HAKMEM_ABORT_ON_ERROR=1 it must not return */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem.h"
#include "preload_check.h"

static char data_array[256] = "initialised data: lives in .data";
static char bss_array[256];

static void (*volatile free_fn)(void *) = free;

static void bad_free(void *p, const char *what)
{
    printf("ADDR %lx %s\n", (unsigned long)(uintptr_t)p, what);
    fflush(stdout);
    free_fn(p);
}

static int intact(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Double frees in each tier (run with HAKMEM_SHADOW=1): each is reported and ignored, so the
 * block is not handed out twice afterwards. */
static int double_free(void)
{
    static const size_t sizes[] = {100, 5000, 200000};
    for (int i = 0; i < 3; i++) {
        void *p = malloc(sizes[i]);
        memset(p, 0x5a, sizes[i]);
        free(p);
        bad_free(p, "double");
    }
    enum { N = 64 };
    void *v[3 * N];
    for (int i = 0; i < 3 * N; i++) {
        v[i] = malloc(sizes[i % 3]);
        memset(v[i], i, sizes[i % 3]);
    }
    qsort(v, 3 * N, sizeof v[0], cmp_ptr);
    int bad = 0;
    for (int i = 1; i < 3 * N; i++)
        if (v[i] == v[i - 1]) {
            fprintf(stderr, "invalid_free: %p handed out twice after a double free\n", v[i]);
            bad = 1;
        }
    for (int i = 0; i < 3 * N; i++)
        free(v[i]);
    printf("survived double frees\n");
    return bad;
}

typedef int (*snapshot_fn)(struct hakmem_stats *, size_t);

static uint64_t invalid_frees(snapshot_fn snap)
{
    static struct hakmem_stats s;
    if (!snap || snap(&s, sizeof s) != 0)
        return 0;
    return s.invalid_frees;
}

int main(int argc, char **argv)
{
    hk_require_preloaded("invalid_free");
    char stack_array[64];
    memset(stack_array, 1, sizeof stack_array);

    if (argc > 1 && strcmp(argv[1], "double") == 0)
        return double_free();
    if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        bad_free(stack_array + 16, "stack");
        printf("free returned\n");
        return 3;
    }

    snapshot_fn snap = (snapshot_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hakmem_stats_snapshot");
    if (!snap && !hk_allow_libc()) {
        fprintf(stderr, "invalid_free: hakmem_stats_snapshot not found\n");
        return 1;
    }
    uint64_t before = invalid_frees(snap);

    unsigned char *small = malloc(100), *mid = malloc(10000), *large = malloc(1 << 20);
    if (!small || !mid || !large)
        return 1;
    memset(small, 0x11, 100);
    memset(mid, 0x22, 10000);
    memset(large, 0x33, 1 << 20);
    void *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    memset(page, 0x44, 8192);

    int n = 0;
    bad_free(stack_array + 16, "stack"), n++;
    bad_free(data_array, "data"), n++;
    bad_free(bss_array + 32, "bss"), n++;
    bad_free(small + 16, "interior-small"), n++;
    bad_free(small + 1, "interior-small-misaligned"), n++;
    bad_free(mid + 48, "interior-mid"), n++;
    bad_free(large + 4096, "interior-large"), n++;
    bad_free((char *)page + 4096, "mmap-page"), n++;

    int bad = 0;
    if (!intact(small, 100, 0x11) || !intact(mid, 10000, 0x22) || !intact(large, 1 << 20, 0x33) ||
        !intact(page, 8192, 0x44)) {
        fprintf(stderr, "invalid_free: a block was modified by an ignored free\n");
        bad = 1;
    }
    if (strcmp(data_array, "initialised data: lives in .data") != 0) {
        fprintf(stderr, "invalid_free: .data modified\n");
        bad = 1;
    }
    /* the allocator still works, and the real blocks free normally */
    free(small);
    free(mid);
    free(large);
    munmap(page, 8192);
    for (int i = 0; i < 1000; i++) {
        void *p = malloc((size_t)(i * 37) % 5000 + 1);
        memset(p, i, (size_t)(i * 37) % 5000 + 1);
        free(p);
    }
    uint64_t after = invalid_frees(snap);
#ifndef HK_TEST_NO_STATS
    if (!hk_allow_libc() && after - before < (uint64_t)n) {
        fprintf(stderr, "invalid_free: stats invalid_frees grew by %llu, expected >= %d\n",
                (unsigned long long)(after - before), n);
        bad = 1;
    }
#else
    (void)before, (void)after;
#endif
    printf("survived %d invalid frees\n", n);
    return bad;
}
