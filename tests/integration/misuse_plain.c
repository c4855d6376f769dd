/* Run under LD_PRELOAD=libhakmem.so (plain mode, or HAKMEM_SHADOW=1): one misuse per mode,
 * then a check that the allocator still hands out sound blocks. Exits 0 when every check
 * held, 1 (after "FAIL: ..." on stderr) when one did not; a crash is a failure too.
 * Prints "ADDR <hex> <what>" for each bad pointer it frees (the driver looks for a report
 * naming it) and "survived" at the end.
 *
 *   huge                  malloc/calloc/realloc/aligned_alloc/posix_memalign/memalign/valloc/
 *                         pvalloc/reallocarray with sizes near SIZE_MAX: NULL (or ENOMEM) and
 *                         errno ENOMEM, the old block of a failed realloc untouched
 *   huge-realloc          only the realloc/reallocarray part of huge (blocks of 16 B .. 3 MiB)
 *   carved-interior       free(p + 16) of a 16-byte block: the next block, carved into the
 *                         thread cache but never handed out
 *   sweep                 free every 8-byte-aligned address of the SuperSlab of a 16-byte block
 *                         (prints "SWEEP frees N valid V": the driver counts the reports)
 *   double-write          free(p); write bytes 8-15 of p; free(p)
 *   double-write-between  free(p); free(q); write bytes 8-15 of p; free(p)
 *   double-write-deep     free(p); free enough other blocks to push p out of the thread
 *                         cache; write bytes 8-15 of p; free(p)
 *   plant-global          write &global into the first word of a freed block (the link)
 *   wild-link             random garbage in the first word (the link) of one freed block,
 *                         many times
 *   wild                  the same in up to three freed blocks at once, sometimes in their
 *                         second word (the free mark) too
 *   wild-remote           the same on blocks that another thread freed (remote queue)
 *   remote-loop           another thread frees a block, writes bytes 8-15 of it and frees it
 *                         again: the block's remote queue now leads back to the block
 *
 * Every mode ends with tag_workload: many live blocks, each filled with a tag of its own;
 * no two may overlap (a block handed out twice), every tag must survive, every block must be
 * hakmem's (malloc_usable_size >= the request) and none may lie in the program's globals. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload_check.h"

/* The huge-size cases ask for sizes past any object on purpose. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#endif

static int failures;
#define FAIL(...)                                                                 \
    do {                                                                          \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                    \
        fputc('\n', stderr);                                                      \
        failures++;                                                               \
    } while (0)

/* The address a poisoned freelist would hand out, and its neighbours. */
static _Alignas(64) unsigned char planted_global[256];
static _Alignas(64) unsigned char other_global[256];

static void (*volatile free_fn)(void *) = free;
static void *(*volatile malloc_fn)(size_t) = malloc;

static char stdout_buf[1 << 16];

static void bad_free(void *p, const char *what)
{
    printf("ADDR %lx %s\n", (unsigned long)(uintptr_t)p, what);
    fflush(stdout);
    free_fn(p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int in_globals(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p, e = a + n;
    uintptr_t g1 = (uintptr_t)planted_global, g2 = (uintptr_t)other_global;
    return (a < g1 + sizeof planted_global && e > g1) || (a < g2 + sizeof other_global && e > g2);
}

static void globals_fill(void)
{
    memset(planted_global, 0xa5, sizeof planted_global);
    memset(other_global, 0x5a, sizeof other_global);
}

static void globals_check(const char *when)
{
    for (size_t i = 0; i < sizeof planted_global; i++)
        if (planted_global[i] != 0xa5 || other_global[i] != 0x5a) {
            FAIL("%s: a global was written by the allocator (byte %zu: %02x %02x)", when, i,
                 planted_global[i], other_global[i]);
            return;
        }
}

/* ---- tagged live blocks ---- */

struct live {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

static uint64_t next_tag = 1;

static void tag_fill(struct live *l)
{
    uint64_t t = l->tag * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < l->n; i++)
        l->p[i] = (unsigned char)(t >> ((i & 7) * 8)) ^ (unsigned char)(i >> 3);
}

static int tag_ok(const struct live *l)
{
    uint64_t t = l->tag * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < l->n; i++)
        if (l->p[i] != ((unsigned char)(t >> ((i & 7) * 8)) ^ (unsigned char)(i >> 3)))
            return 0;
    return 1;
}

/* A fresh block of n bytes, checked at once: NULL, not hakmem's, in a global. */
static int live_new(struct live *l, size_t n, const char *when)
{
    l->p = malloc_fn(n);
    l->n = n;
    l->tag = next_tag++;
    if (!l->p) {
        FAIL("%s: malloc(%zu) returned NULL", when, n);
        return 0;
    }
    if (in_globals(l->p, n)) {
        FAIL("%s: malloc(%zu) returned %p, inside the program's globals (the planted address)",
             when, n, (void *)l->p);
        l->p = NULL;
        return 0;
    }
    if (!hk_allow_libc() && malloc_usable_size(l->p) < n) {
        FAIL("%s: malloc(%zu) returned %p, which hakmem does not know as a block (usable %zu)",
             when, n, (void *)l->p, malloc_usable_size(l->p));
        l->p = NULL;
        return 0;
    }
    tag_fill(l);
    return 1;
}

static int cmp_live(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct live *)a)->p, y = (uintptr_t)((const struct live *)b)->p;
    return x < y ? -1 : x > y;
}

/* All live blocks: tags intact, no two overlapping (sorts v). */
static void live_check(struct live *v, size_t n, const char *when)
{
    int reported = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].p && !tag_ok(&v[i]) && reported++ < 5)
            FAIL("%s: block %p (%zu B, tag %llu) was overwritten while live (handed out twice?)",
                 when, (void *)v[i].p, v[i].n, (unsigned long long)v[i].tag);
    qsort(v, n, sizeof v[0], cmp_live);
    size_t prev = SIZE_MAX;
    reported = 0;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].p)
            continue;
        if (prev != SIZE_MAX && v[prev].p + v[prev].n > v[i].p && reported++ < 5)
            FAIL("%s: live blocks overlap: %p (%zu B) and %p (%zu B)%s", when,
                 (void *)v[prev].p, v[prev].n, (void *)v[i].p, v[i].n,
                 v[prev].p == v[i].p ? ": the same block handed out twice" : "");
        prev = i;
    }
}

/* Many mallocs and frees of mixed sizes (sizes[] first, the classes a misuse touched),
 * every live block tagged and checked; `keep` are blocks the program still holds. */
static void tag_workload(const size_t *sizes, size_t nsizes, struct live *keep, size_t nkeep,
                         const char *when)
{
    enum { N = 2000, ROUNDS = 4 };
    static struct live v[N + 64];
    size_t n = 0;
    for (size_t i = 0; i < nkeep && n < 64; i++)
        v[n++] = keep[i];
    size_t base = n;
    for (int r = 0; r < ROUNDS && !failures; r++) {
        while (n < N + base) {
            size_t sz = (rnd() & 1) && nsizes ? sizes[rnd() % nsizes]
                                              : (size_t)(rnd() % 2048) + 1;
            if (!live_new(&v[n], sz, when))
                return;
            n++;
        }
        globals_check(when);
        live_check(v, n, when);
        if (failures)
            return;
        /* free about half (never the kept blocks), in a random order */
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            int kept = 0;
            for (size_t k = 0; k < nkeep; k++)
                kept |= keep[k].p == v[i].p;
            if (!kept && (rnd() & 1))
                free(v[i].p);
            else
                v[m++] = v[i];
        }
        n = m;
    }
    live_check(v, n, when);
    for (size_t i = 0; i < n; i++) {
        int kept = 0;
        for (size_t k = 0; k < nkeep; k++)
            kept |= keep[k].p == v[i].p;
        if (!kept)
            free(v[i].p);
    }
}

/* ---- huge sizes ---- */

static void expect_null(void *p, const char *call, size_t arg)
{
    int e = errno;
    if (p) {
        FAIL("%s(%#zx) returned %p (usable %zu), expected NULL", call, arg, p,
             malloc_usable_size(p));
    } else if (e != ENOMEM) {
        FAIL("%s(%#zx): errno %d (%s), expected ENOMEM", call, arg, e, strerror(e));
    }
}

static void mode_huge(int realloc_only)
{
    static const size_t aligns[] = {16, 32, 64, 4096, 65536, 2u << 20};
    size_t huge[80];
    size_t nh = 0;
    for (size_t k = 0; k <= 64; k++)
        huge[nh++] = SIZE_MAX - k;
    huge[nh++] = SIZE_MAX - 4095;
    huge[nh++] = SIZE_MAX - 4096;
    huge[nh++] = SIZE_MAX - (2u << 20);
    huge[nh++] = SIZE_MAX / 2 + 1;      /* PTRDIFF_MAX + 1 */
    huge[nh++] = SIZE_MAX / 2;
    huge[nh++] = (size_t)1 << 62;
    huge[nh++] = (size_t)1 << 48;       /* more than the address space */

    for (size_t i = 0; i < nh && !realloc_only; i++) {
        size_t n = huge[i];
        errno = 0;
        expect_null(malloc(n), "malloc", n);
        errno = 0;
        expect_null(calloc(1, n), "calloc(1, n)", n);
        errno = 0;
        expect_null(calloc(n, 1), "calloc(n, 1)", n);
        errno = 0;
        expect_null(calloc(n / 16 + 1, 16), "calloc(n/16+1, 16)", n);
        errno = 0;
        expect_null(valloc(n), "valloc", n);
        errno = 0;
        expect_null(pvalloc(n), "pvalloc", n);
        for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
            errno = 0;
            expect_null(aligned_alloc(aligns[a], n), "aligned_alloc", n);
            errno = 0;
            expect_null(memalign(aligns[a], n), "memalign", n);
            void *out = &out;
            errno = 0;
            int rc = posix_memalign(&out, aligns[a], n);
            if (rc != ENOMEM)
                FAIL("posix_memalign(%zu, %#zx) returned %d, expected ENOMEM", aligns[a], n, rc);
            if (out != &out && (out != NULL || !hk_allow_libc()))   /* POSIX allows NULL */
                FAIL("posix_memalign(%zu, %#zx) wrote *out = %p", aligns[a], n, out);
        }
    }
    if (!realloc_only) {
        errno = 0;
        expect_null(calloc(SIZE_MAX / 2 + 1, 2), "calloc(SIZE_MAX/2+1, 2)", 2);
        errno = 0;
        expect_null(calloc(SIZE_MAX, SIZE_MAX), "calloc(SIZE_MAX, SIZE_MAX)", SIZE_MAX);
    }

    /* realloc of blocks of each tier to huge sizes: NULL, ENOMEM, the block untouched */
    static const size_t old_sizes[] = {3u << 20, 16, 100, 1024, 5000, 100000};
    for (size_t o = 0; o < sizeof old_sizes / sizeof old_sizes[0]; o++) {
        struct live l;
        if (!live_new(&l, old_sizes[o], "huge realloc"))
            return;
        for (size_t i = 0; i < nh; i++) {
            errno = 0;
            void *q = realloc(l.p, huge[i]);
            char what[64];
            snprintf(what, sizeof what, "realloc(%zu-byte block, n)", old_sizes[o]);
            expect_null(q, what, huge[i]);
            if (q) {
                l.p = q;                /* the old block is gone; stop here */
                return;
            }
            errno = 0;
            q = reallocarray(l.p, huge[i] / 8 + 1, 8);
            snprintf(what, sizeof what, "reallocarray(%zu-byte block, n/8+1, 8)", old_sizes[o]);
            expect_null(q, what, huge[i]);
            if (q)
                return;
        }
        if (!tag_ok(&l))
            FAIL("a failed realloc changed the %zu-byte block", old_sizes[o]);
        if (!hk_allow_libc() && malloc_usable_size(l.p) < l.n)
            FAIL("after a failed realloc the %zu-byte block is no longer a block", l.n);
        free(l.p);
    }
    static const size_t sizes[] = {16, 32, 100};
    tag_workload(sizes, 3, NULL, 0, "after huge requests");
}

/* An alignment larger than any machine's memory (2^47: above the 2^46 that hakmem ever
 * tries to map) with a tiny size: NULL and ENOMEM from each aligned entry point. */
static void mode_huge_align(void)
{
    size_t a = (size_t)1 << 47;
    errno = 0;
    expect_null(memalign(a, 1), "memalign(2^47, n)", 1);
    errno = 0;
    expect_null(aligned_alloc(a, 1), "aligned_alloc(2^47, n)", 1);
    void *out = &out;
    int rc = posix_memalign(&out, a, 1);
    if (rc != ENOMEM || (out != &out && (out != NULL || !hk_allow_libc())))
        FAIL("posix_memalign(2^47, 1) returned %d, *out %p, expected ENOMEM", rc, out);
    static const size_t sizes[] = {16, 32, 100};
    tag_workload(sizes, 3, NULL, 0, "after huge alignments");
}

/* ---- bad frees in a slab ---- */

static void mode_carved_interior(void)
{
    struct live keep[2];
    if (!live_new(&keep[0], 16, "carved-interior"))
        return;
    bad_free(keep[0].p + 16, "carved-not-handed-out");
    bad_free(keep[0].p + 32, "carved-not-handed-out-2");
    if (!live_new(&keep[1], 16, "carved-interior"))
        return;
    static const size_t sizes[] = {16};
    tag_workload(sizes, 1, keep, 2, "after free(p + 16)");
    free(keep[0].p);
    free(keep[1].p);
}

#define SS_SIZE ((uintptr_t)2 << 20)

/* Frees every 8-byte-aligned address of the SuperSlab that holds a 16-byte block. Before the
 * sweep nothing but hakmem and this function allocates (stdout has a static buffer), so the
 * only valid frees among them are of blocks this function holds there. */
static void mode_sweep(void)
{
    enum { PRE = 2000 };
    static struct live pre[PRE];
    static const size_t pre_sizes[] = {16, 24, 48, 100, 256, 1000, 5000, 70000};
    for (size_t i = 0; i < PRE; i++)
        if (!live_new(&pre[i], pre_sizes[i % 8], "sweep setup"))
            return;
    unsigned char *p = malloc_fn(16);
    uintptr_t base = (uintptr_t)p & ~(SS_SIZE - 1);
    size_t valid = 1;   /* p */
    for (size_t i = 0; i < PRE; i++)
        if ((uintptr_t)pre[i].p - base < SS_SIZE) {
            pre[i].p = NULL;        /* the sweep frees it */
            valid++;
        }
    size_t frees = 0;
    for (uintptr_t a = base; a < base + SS_SIZE; a += 8) {
        free_fn((void *)a);
        frees++;
    }
    printf("SWEEP frees %zu valid %zu base %#lx\n", frees, valid, (unsigned long)base);
    fflush(stdout);
    /* the blocks outside that SuperSlab are intact, and the allocator works */
    for (size_t i = 0; i < PRE; i++)
        if (pre[i].p && !tag_ok(&pre[i]))
            FAIL("after the sweep: block %p (%zu B) outside the SuperSlab was overwritten",
                 (void *)pre[i].p, pre[i].n);
    static const size_t sizes[] = {16, 24, 32, 48, 64, 100, 128, 256};
    tag_workload(sizes, 8, NULL, 0, "after the SuperSlab sweep");
    size_t m = 0;
    for (size_t i = 0; i < PRE; i++)
        if (pre[i].p)
            pre[m++] = pre[i];
    live_check(pre, m, "after the sweep, the blocks allocated before it");
    for (size_t i = 0; i < m; i++)
        free(pre[i].p);
}

/* ---- double frees after a write into the freed block ---- */

static const size_t dw_sizes[] = {16, 32, 100, 1000, 5000};

static void write_second_word(unsigned char *p)
{
    uint64_t junk = 0x4141414142424242ull ^ rnd();
    memcpy(p + 8, &junk, 8);          /* bytes 8-15: what the program scribbles */
}

static void mode_double_write(int variant)
{
    for (size_t s = 0; s < sizeof dw_sizes / sizeof dw_sizes[0]; s++) {
        size_t sz = dw_sizes[s];
        unsigned char *p = malloc_fn(sz), *q = malloc_fn(sz);
        enum { DEEP = 600 };
        static void *others[DEEP];
        if (variant == 2)
            for (int i = 0; i < DEEP; i++)
                others[i] = malloc_fn(sz);
        free(p);
        if (variant == 1)
            free(q);
        if (variant == 2)           /* p moves down: TLS list, then its slab's freelist */
            for (int i = 0; i < DEEP; i++)
                free(others[i]);
        write_second_word(p);
        bad_free(p, "double-after-write");
        if (variant != 1)
            free(q);
        size_t sizes[1] = {sz};
        tag_workload(sizes, 1, NULL, 0, "after a double free over a written block");
        if (failures)
            return;
    }
}

/* ---- freelist poisoning ---- */

static void mode_plant_global(void)
{
    for (size_t s = 0; s < sizeof dw_sizes / sizeof dw_sizes[0]; s++) {
        size_t sz = dw_sizes[s];
        for (int variant = 0; variant < 3; variant++) {
            unsigned char *p = malloc_fn(sz), *q = malloc_fn(sz);
            free(q);
            free(p);                   /* p's link is q */
            void *target = variant == 2 ? (void *)(other_global + 64) : (void *)planted_global;
            if (variant == 1)          /* the second word too, as a program's struct would */
                memcpy(p + 8, &target, 8);
            memcpy(p, &target, 8);     /* one 8-byte write after free */
            enum { M = 300 };
            static struct live v[M];
            for (int i = 0; i < M; i++)
                if (!live_new(&v[i], sz, "after planting &global in a free link"))
                    return;
            globals_check("after planting &global in a free link");
            live_check(v, M, "after planting &global in a free link");
            for (int i = 0; i < M; i++)
                free(v[i].p);
            if (failures)
                return;
        }
    }
    static const size_t sizes[] = {16, 32, 100, 1000, 5000};
    tag_workload(sizes, 5, NULL, 0, "after the planted links");
}

static uint64_t wild_value(unsigned char *p)
{
    switch (rnd() % 6) {
    case 0: return rnd();
    case 1: return rnd() & ~(uint64_t)15;
    case 2: return ((uintptr_t)p & ~(SS_SIZE - 1)) | (rnd() & (SS_SIZE - 1) & ~(uint64_t)15);
    case 3: return (uintptr_t)p + 16 * (rnd() % 64);
    case 4: return 0x4141414141414141ull;
    default: return (uintptr_t)planted_global;
    }
}

/* links_only: one victim per round, its first word only (the link); otherwise up to three
 * victims, a quarter of them with the second word (the free mark) overwritten too. */
static void mode_wild(int links_only)
{
    enum { K = 12, ROUNDS = 400, LIVE = 512 };
    static const size_t sizes[] = {16, 32, 48, 100, 256, 1000, 5000, 40000};
    static struct live v[LIVE];
    size_t n = 0;
    for (int r = 0; r < ROUNDS && !failures; r++) {
        size_t sz = sizes[rnd() % 8];
        unsigned char *b[K];
        for (int i = 0; i < K; i++)
            b[i] = malloc_fn(sz);
        for (int i = 0; i < K; i++)
            free(b[i]);
        int victims = links_only ? 1 : 1 + (int)(rnd() % 3);
        for (int j = 0; j < victims; j++) {
            unsigned char *x = b[rnd() % K];
            uint64_t w = wild_value(x);
            memcpy(x, &w, 8);
            if (!links_only && rnd() % 4 == 0) {
                w = rnd();
                memcpy(x + 8, &w, 8);
            }
        }
        for (int i = 0; i < 2 * K; i++) {
            if (n == LIVE) {
                live_check(v, n, "wild links");
                for (size_t k = 0; k < n; k += 2)
                    free(v[k].p), v[k].p = NULL;
                size_t m = 0;
                for (size_t k = 0; k < n; k++)
                    if (v[k].p)
                        v[m++] = v[k];
                n = m;
            }
            if (!live_new(&v[n], sz, "wild links"))
                return;
            n++;
        }
    }
    globals_check("wild links");
    live_check(v, n, "wild links");
    for (size_t k = 0; k < n; k++)
        free(v[k].p);
    tag_workload(sizes, 8, NULL, 0, "after the wild links");
}

static void *free_all(void *arg)
{
    void **b = arg;
    for (int i = 0; b[i]; i++)
        free(b[i]);
    return NULL;
}

/* Enough allocations of size sz for the owner to drain its remote queue of the class:
 * checked (no overlap, no global handed out), then freed. 0 after a failed malloc. */
static int drain_and_check(size_t sz, const char *when)
{
    enum { M = 600 };
    static struct live v[M];
    for (int i = 0; i < M; i++)
        if (!live_new(&v[i], sz, when))
            return 0;
    globals_check(when);
    live_check(v, M, when);
    for (int i = 0; i < M; i++)
        free(v[i].p);
    return 1;
}

static void mode_wild_remote(void)
{
    static const size_t sizes[] = {16, 100, 1000, 5000};
    for (int r = 0; r < 48 && !failures; r++) {
        size_t sz = sizes[r % 4];
        enum { K = 32 };
        void *b[K + 1];
        for (int i = 0; i < K; i++)
            b[i] = malloc_fn(sz);
        b[K] = NULL;
        void *victim = b[rnd() % K];
        pthread_t t;
        pthread_create(&t, NULL, free_all, b);    /* each goes onto the remote queue */
        pthread_join(t, NULL);
        uint64_t w = wild_value(victim);
        memcpy(victim, &w, 8);
        if (r & 1) {
            w = rnd();
            memcpy((char *)victim + 8, &w, 8);
        }
        if (!drain_and_check(sz, "wild links in the remote queue"))
            return;
    }
    tag_workload(sizes, 4, NULL, 0, "after wild links in the remote queue");
}

static void *free_write_free(void *p)
{
    free(p);
    memset((char *)p + 8, 0, 8);   /* the free mark: the second free looks like a first */
    free_fn(p);
    return NULL;
}

static void mode_remote_loop(void)
{
    static const size_t sizes[] = {16, 100, 1000, 5000};
    for (int r = 0; r < 16 && !failures; r++) {
        size_t sz = sizes[r % 4];
        void *victim = malloc_fn(sz);
        pthread_t t;
        pthread_create(&t, NULL, free_write_free, victim);
        pthread_join(t, NULL);
        if (!drain_and_check(sz, "a remote queue that loops"))
            return;
    }
    tag_workload(sizes, 4, NULL, 0, "after remote queues that loop");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
    hk_require_preloaded("misuse_plain");
    globals_fill();
    const char *m = argc > 1 ? argv[1] : "";
    if (argc > 2)
        rng_state ^= strtoull(argv[2], NULL, 0) * 0x2545f4914f6cdd1dull;
    if (!strcmp(m, "huge"))
        mode_huge(0);
    else if (!strcmp(m, "huge-realloc"))
        mode_huge(1);
    else if (!strcmp(m, "huge-align"))
        mode_huge_align();
    else if (!strcmp(m, "carved-interior"))
        mode_carved_interior();
    else if (!strcmp(m, "sweep"))
        mode_sweep();
    else if (!strcmp(m, "double-write"))
        mode_double_write(0);
    else if (!strcmp(m, "double-write-between"))
        mode_double_write(1);
    else if (!strcmp(m, "double-write-deep"))
        mode_double_write(2);
    else if (!strcmp(m, "plant-global"))
        mode_plant_global();
    else if (!strcmp(m, "wild-link"))
        mode_wild(1);
    else if (!strcmp(m, "wild"))
        mode_wild(0);
    else if (!strcmp(m, "wild-remote"))
        mode_wild_remote();
    else if (!strcmp(m, "remote-loop"))
        mode_remote_loop();
    else {
        fprintf(stderr, "misuse_plain: unknown mode '%s'\n", m);
        return 2;
    }
    globals_check("at exit");
    if (failures)
        return 1;
    printf("survived\n");
    return 0;
}
