/* Integration test of the public API: the hakmem_* names and, through libhakmem.so, the
 * standard names. Every check keeps going after a failure ("expect" style) and the program
 * exits 1 if any failed, printing each failure with its line.
 *
 * Build switches (set by tests/integration/meson.build):
 *   HK_TEST_SANITIZED  a sanitizer runtime owns the standard names: test hakmem_* only.
 *   HK_TEST_NO_STATS   built with -Ddiag=none: the counters are compiled out.
 *   HK_TEST_LIBC       developer switch: map hakmem_* to glibc to validate the test itself. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HK_TEST_LIBC
#define hakmem_malloc malloc
#define hakmem_free free
#define hakmem_calloc calloc
#define hakmem_realloc realloc
#define hakmem_reallocarray reallocarray
#define hakmem_posix_memalign posix_memalign
#define hakmem_aligned_alloc aligned_alloc
#define hakmem_memalign memalign
#define hakmem_valloc valloc
#define hakmem_pvalloc pvalloc
#define hakmem_malloc_usable_size malloc_usable_size
#define HK_TEST_SANITIZED 1
#define HK_TEST_NO_STATS 1
#endif
#include "hakmem.h"
#include "../common/hk_test.h"


/* The allocator as a table, so that each semantic check runs against both name sets. */
struct api {
    const char *name;
    void *(*alloc)(size_t);
    void (*dealloc)(void *);
    void *(*zalloc)(size_t, size_t);
    void *(*resize)(void *, size_t);
    void *(*resize_array)(void *, size_t, size_t);
    int (*pmemalign)(void **, size_t, size_t);
    void *(*aalloc)(size_t, size_t);
    void *(*memalign_)(size_t, size_t);
    void *(*valloc_)(size_t);
    void *(*pvalloc_)(size_t);
    size_t (*usable)(void *);
};

static const struct api api_hakmem = {
    "hakmem_*", hakmem_malloc, hakmem_free, hakmem_calloc, hakmem_realloc,
    hakmem_reallocarray, hakmem_posix_memalign, hakmem_aligned_alloc, hakmem_memalign,
    hakmem_valloc, hakmem_pvalloc, hakmem_malloc_usable_size,
};

#ifndef HK_TEST_SANITIZED
static const struct api api_std = {
    "standard", malloc, free, calloc, realloc, reallocarray, posix_memalign, aligned_alloc,
    memalign, valloc, pvalloc, malloc_usable_size,
};
#endif

static size_t page_size;

/* ---- helpers ----------------------------------------------------------------------- */

static unsigned char pat(size_t i, unsigned seed)
{
    return (unsigned char)(seed * 167u + i * 131u + (i >> 9) * 7u + 1u);
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = pat(i, seed);
}

/* Index of the first byte that differs from the pattern, or SIZE_MAX. */
static size_t check(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != pat(i, seed))
            return i;
    return SIZE_MAX;
}

static size_t first_nonzero(const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i])
            return i;
    return SIZE_MAX;
}

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint64_t rnd(void) { return hk_test_rand(&rng_state); }

/* Sizes that cross every tier boundary (tiny 1 B..1 KiB, mid ..64 KiB, large above) and
 * the class spacing (16-byte steps, then four classes per power of two). */
static const size_t tier_sizes[] = {
    1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 100, 127, 128, 129, 200, 255, 256,
    257, 500, 767, 1000, 1023, 1024, 1025, 2000, 4095, 4096, 4097, 5000, 8192, 12345,
    16384, 32768, 65535, 65536, 65537, 100000, 262144, 262145, 1 << 20, (2 << 20) + 1,
    8 << 20,
};
#define N_TIER_SIZES (sizeof tier_sizes / sizeof tier_sizes[0])

/* ---- which allocator answers the standard names ------------------------------------ */

#ifndef HK_TEST_SANITIZED
static void test_resolution(void)
{
    hk_test_context = "resolution";
    static const char *const names[] = {
        "malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size",
        "mallinfo2", "mallinfo", "malloc_trim", "malloc_stats", "mallopt",
    };
    Dl_info self;
    expect_true(dladdr((void *)hakmem_malloc, &self) != 0 && self.dli_fname,
                "dladdr(hakmem_malloc) failed");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        Dl_info di;
        memset(&di, 0, sizeof di);
        int ok = sym && dladdr(sym, &di) && di.dli_fname && strstr(di.dli_fname, "libhakmem");
        expect_true(ok, "%s resolves to %s, not libhakmem", names[i],
                    di.dli_fname ? di.dli_fname : "(nothing)");
    }
    /* The address the program itself calls (through its GOT) is the same. */
    Dl_info di;
    memset(&di, 0, sizeof di);
    void *(*volatile m)(size_t) = malloc;
    expect_true(dladdr((void *)m, &di) && di.dli_fname && strstr(di.dli_fname, "libhakmem"),
                "the program's malloc is in %s", di.dli_fname ? di.dli_fname : "(nothing)");

    /* One allocator behind both names: blocks cross freely. */
    for (size_t i = 0; i < N_TIER_SIZES; i++) {
        size_t n = tier_sizes[i];
        void *p = malloc(n);
        expect_true(p && hakmem_malloc_usable_size(p) >= n, "hakmem_malloc_usable_size(malloc(%zu))", n);
        hakmem_free(p);
        p = hakmem_malloc(n);
        expect_true(p && malloc_usable_size(p) >= n, "malloc_usable_size(hakmem_malloc(%zu))", n);
        free(p);
    }

    /* glibc's introspection answers with hakmem's numbers, not glibc's empty arena. */
    hk_test_context = "mallinfo";
    struct mallinfo2 m0 = mallinfo2();
    enum { N = 1000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(100);
    struct mallinfo2 m1 = mallinfo2();
    expect_true(m1.arena > 0, "mallinfo2().arena is 0 with live blocks");
    expect_true(m1.uordblks >= m0.uordblks + (size_t)N * 100,
                "mallinfo2().uordblks grew by %zu for %d blocks of 100 B",
                m1.uordblks - m0.uordblks, N);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct mallinfo2 m2 = mallinfo2();
    expect_true(m2.uordblks + (size_t)N * 100 <= m1.uordblks,
                "mallinfo2().uordblks did not fall after the frees");
    int trimmed = malloc_trim(0);
    expect_true(trimmed == 0 || trimmed == 1, "malloc_trim returned %d", trimmed);
    expect_true(mallopt(M_ARENA_MAX, 1) == 1, "mallopt refused a parameter");
}
#endif

/* How many frees hakmem has called invalid so far (0 without statistics). */
static uint64_t invalid_count(void)
{
#ifndef HK_TEST_NO_STATS
    struct hakmem_stats s;
    if (hakmem_stats_snapshot(&s, sizeof s) == 0)
        return s.invalid_frees;
#endif
    return 0;
}

/* ---- semantics, run once per name set ---------------------------------------------- */

static void test_malloc_zero_and_huge(const struct api *a)
{
    void *p = a->alloc(0), *q = a->alloc(0);
    expect_true(p != NULL && q != NULL, "malloc(0) returned NULL");
    expect_true(p != q || !p, "malloc(0) twice returned the same pointer %p", p);
    expect_true(aligned(p, 16) && aligned(q, 16), "malloc(0) not 16-aligned: %p %p", p, q);
    a->dealloc(p);
    a->dealloc(q);
    a->dealloc(NULL);

    static const size_t huge[] = {
        SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2, (size_t)PTRDIFF_MAX + 1,
        (size_t)PTRDIFF_MAX, (size_t)1 << 62, (size_t)1 << 60,
    };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        volatile size_t n = huge[i];
        errno = 0;
        p = a->alloc(n);
        int e = errno;
        expect_true(p == NULL && e == ENOMEM, "malloc(%#zx) = %p errno %d", (size_t)n, p, e);
        if (p)
            a->dealloc(p);
    }
}

static void test_calloc(const struct api *a)
{
    static const size_t bad[][2] = {
        {SIZE_MAX / 2, 3}, {SIZE_MAX, SIZE_MAX}, {(size_t)1 << 32, (size_t)1 << 32},
        {3, SIZE_MAX / 2}, {SIZE_MAX, 2}, {(size_t)PTRDIFF_MAX, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        volatile size_t n = bad[i][0], s = bad[i][1];
        errno = 0;
        void *p = a->zalloc(n, s);
        int e = errno;
        expect_true(p == NULL && e == ENOMEM, "calloc(%#zx, %#zx) = %p errno %d", (size_t)n,
                    (size_t)s, p, e);
        if (p)
            a->dealloc(p);
    }
    void *z0 = a->zalloc(0, 0), *z1 = a->zalloc(0, 16), *z2 = a->zalloc(16, 0);
    expect_true(z0 && z1 && z2, "calloc with a zero count: %p %p %p", z0, z1, z2);
    a->dealloc(z0);
    a->dealloc(z1);
    a->dealloc(z2);

    /* Zeroed even when the memory was used before: dirty it, free it, calloc it back. */
    static const size_t sizes[] = {
        1, 8, 16, 24, 40, 100, 128, 512, 1000, 1024, 1025, 3000, 4096, 10000, 32768,
        65536, 65537, 100 * 1024, 256 * 1024, 1 << 20, (3 << 20) + 5,
    };
    enum { K = 64 };
    void *blk[K];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        int k = n > 65536 ? 4 : K;
        for (int round = 0; round < 3; round++) {
            for (int j = 0; j < k; j++) {
                blk[j] = a->alloc(n);
                expect_true(blk[j], "malloc(%zu) failed", n);
                if (blk[j])
                    memset(blk[j], 0xff, a->usable(blk[j]));
            }
            for (int j = 0; j < k; j++)
                a->dealloc(blk[j]);
            for (int j = 0; j < k; j++) {
                /* alternate the factorisation of the size */
                blk[j] = (j & 1) && n % 8 == 0 ? a->zalloc(n / 8, 8) : a->zalloc(1, n);
                expect_true(blk[j] && aligned(blk[j], 16), "calloc(%zu) = %p", n, blk[j]);
                if (!blk[j])
                    continue;
                size_t nz = first_nonzero(blk[j], n);
                expect_true(nz == SIZE_MAX, "calloc(%zu) round %d: byte %zu is not zero", n, round, nz);
                memset(blk[j], 0xff, n);
            }
            for (int j = 0; j < k; j++)
                a->dealloc(blk[j]);
        }
    }
}

static void test_realloc(const struct api *a)
{
    /* realloc(NULL, n) is malloc(n), realloc(NULL, 0) is malloc(0) */
    void *p = a->resize(NULL, 100);
    expect_true(p && a->usable(p) >= 100 && aligned(p, 16), "realloc(NULL, 100) = %p", p);
    a->dealloc(p);
    p = a->resize(NULL, 0);
    expect_true(p != NULL, "realloc(NULL, 0) returned NULL (glibc returns malloc(0))");
    a->dealloc(p);

    /* realloc(p, 0) frees p and returns NULL (glibc). */
    for (size_t i = 0; i < N_TIER_SIZES; i += 5) {
        p = a->alloc(tier_sizes[i]);
        expect_true(p, "malloc(%zu)", tier_sizes[i]);
        void *r = a->resize(p, 0);
        expect_true(r == NULL, "realloc(p[%zu], 0) = %p, expected NULL", tier_sizes[i], r);
        if (r)
            a->dealloc(r);
    }

    /* Every pair of sizes: contents kept up to min(old, new). */
    unsigned seed = 1;
    for (size_t i = 0; i < N_TIER_SIZES; i++) {
        for (size_t j = 0; j < N_TIER_SIZES; j++) {
            size_t from = tier_sizes[i], to = tier_sizes[j];
            p = a->alloc(from);
            expect_true(p, "malloc(%zu)", from);
            if (!p)
                continue;
            fill(p, from, ++seed);
            void *q = a->resize(p, to);
            expect_true(q && aligned(q, 16) && a->usable(q) >= to, "realloc(%zu -> %zu) = %p", from,
                        to, q);
            if (!q) {
                a->dealloc(p);
                continue;
            }
            size_t keep = from < to ? from : to;
            size_t bad = check(q, keep, seed);
            expect_true(bad == SIZE_MAX, "realloc(%zu -> %zu): byte %zu changed", from, to, bad);
            memset(q, 0x5a, to);
            a->dealloc(q);
        }
    }

    /* Grow one block through every tier, then shrink it back. */
    p = NULL;
    size_t cur = 0;
    for (int dir = 0; dir < 2; dir++) {
        for (size_t k = 0; k < N_TIER_SIZES; k++) {
            size_t n = tier_sizes[dir == 0 ? k : N_TIER_SIZES - 1 - k];
            void *q = a->resize(p, n);
            expect_true(q, "realloc chain to %zu", n);
            if (!q)
                break;
            size_t keep = cur < n ? cur : n;
            size_t bad = check(q, keep, 77);
            expect_true(bad == SIZE_MAX, "realloc chain %zu -> %zu: byte %zu changed", cur, n, bad);
            fill(q, n, 77);
            p = q;
            cur = n;
        }
    }
    a->dealloc(p);

    /* A failing realloc leaves the block alone. */
    static const size_t sz[] = {24, 3000, 200000};
    for (size_t i = 0; i < 3; i++) {
        p = a->alloc(sz[i]);
        fill(p, sz[i], 9);
        volatile size_t huge = SIZE_MAX - 8;
        errno = 0;
        void *q = a->resize(p, huge);
        int e = errno;
        expect_true(q == NULL && e == ENOMEM, "realloc(p, SIZE_MAX-8) = %p errno %d", q, e);
        expect_true(check(p, sz[i], 9) == SIZE_MAX, "failed realloc changed the block (%zu)", sz[i]);
        a->dealloc(q ? q : p);
    }
}

static void test_reallocarray(const struct api *a)
{
    void *p = a->resize_array(NULL, 10, 10);
    expect_true(p && a->usable(p) >= 100, "reallocarray(NULL, 10, 10) = %p", p);
    fill(p, 100, 3);
    volatile size_t n = SIZE_MAX / 2, s = 3;
    errno = 0;
    void *q = a->resize_array(p, n, s);
    int e = errno;
    expect_true(q == NULL && e == ENOMEM, "reallocarray(p, SIZE_MAX/2, 3) = %p errno %d", q, e);
    if (q) {
        a->dealloc(q);
        return;
    }
    expect_true(check(p, 100, 3) == SIZE_MAX, "failed reallocarray changed the block");
    q = a->resize_array(p, 1000, 100);
    expect_true(q && check(q, 100, 3) == SIZE_MAX, "reallocarray(p, 1000, 100) lost contents");
    a->dealloc(q ? q : p);
}

static void test_posix_memalign(const struct api *a)
{
    void *const sentinel = (void *)(uintptr_t)0xdeadbeef0;
    static const size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 96, 4095, 4097, 3 << 20};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *out = sentinel;
        int r = a->pmemalign(&out, bad[i], 64);
        expect_true(r == EINVAL, "posix_memalign(align %zu) = %d, expected EINVAL", bad[i], r);
        expect_true(out == sentinel, "posix_memalign(align %zu) wrote *out on error", bad[i]);
        if (r == 0 && out != sentinel)
            a->dealloc(out);
    }
    {   /* too large: an error, *out untouched */
        void *out = sentinel;
        volatile size_t huge = SIZE_MAX - 4096;
        int r = a->pmemalign(&out, 64, huge);
        expect_true(r == ENOMEM, "posix_memalign(64, SIZE_MAX-4096) = %d", r);
        expect_true(out == sentinel, "posix_memalign wrote *out on ENOMEM");
        out = sentinel;
        volatile size_t halign = (size_t)1 << 63;
        r = a->pmemalign(&out, halign, 16);
        expect_true(r == ENOMEM || r == EINVAL, "posix_memalign(1<<63, 16) = %d", r);
        expect_true(out == sentinel, "posix_memalign(1<<63) wrote *out on error");
    }
    static const size_t sizes[] = {0, 1, 8, 24, 100, 1000, 1024, 4096, 5000, 65536, 100000,
                                   1 << 20};
    for (size_t al = sizeof(void *); al <= ((size_t)4 << 20); al <<= 1) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            void *out = sentinel;
            int r = a->pmemalign(&out, al, n);
            expect_true(r == 0, "posix_memalign(%zu, %zu) = %d", al, n, r);
            if (r)
                continue;
            expect_true(out != sentinel && aligned(out, al), "posix_memalign(%zu, %zu) = %p", al, n,
                        out);
            if (n) {
                expect_true(out && a->usable(out) >= n, "usable(posix_memalign(%zu, %zu)) = %zu", al,
                            n, out ? a->usable(out) : 0);
                if (out)
                    fill(out, n, (unsigned)(al + n));
                /* an aligned block grows like any other */
                void *q = out ? a->resize(out, n * 3 + 100) : NULL;
                expect_true(q && check(q, n, (unsigned)(al + n)) == SIZE_MAX,
                            "realloc(posix_memalign(%zu, %zu), %zu) lost contents", al, n, n * 3 + 100);
                if (q)
                    out = q;
            }
            uint64_t inv = invalid_count();
            a->dealloc(out);
            expect_true(invalid_count() == inv, "free(posix_memalign(%zu, %zu)) reported as invalid", al, n);
        }
    }
}

static void test_aligned_alloc_memalign(const struct api *a)
{
    static const size_t sizes[] = {0, 1, 16, 40, 100, 512, 1000, 4096, 6000, 65536, 70000,
                                   300000, 1 << 20, 5 << 20};
    for (int which = 0; which < 2; which++) {
        void *(*fn)(size_t, size_t) = which ? a->memalign_ : a->aalloc;
        const char *nm = which ? "memalign" : "aligned_alloc";
        for (size_t al = 1; al <= ((size_t)4 << 20); al <<= 1) {
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                size_t n = sizes[i];
                void *p = fn(al, n);
                expect_true(p && aligned(p, al) && aligned(p, 16), "%s(%zu, %zu) = %p", nm, al, n, p);
                if (!p)
                    continue;
                expect_true(a->usable(p) >= n, "usable(%s(%zu, %zu)) = %zu", nm, al, n, a->usable(p));
                memset(p, 0x3c, n);
                uint64_t inv = invalid_count();
                a->dealloc(p);
                expect_true(invalid_count() == inv, "free(%s(%zu, %zu)) reported as invalid", nm, al, n);
            }
        }
        /* A non-power-of-two alignment is either refused with EINVAL (aligned_alloc, C11)
         * or rounded up to the next power of two (memalign, glibc). */
        errno = 0;
        void *p = fn(24, 100);
        int e = errno;
        expect_true((p == NULL && e == EINVAL) || (p && aligned(p, 32)), "%s(24, 100) = %p errno %d",
                    nm, p, e);
        a->dealloc(p);
        volatile size_t halign = ((size_t)1 << 63) + 1;
        errno = 0;
        p = fn(halign, 16);
        e = errno;
        expect_true(p == NULL && (e == EINVAL || e == ENOMEM), "%s(2^63+1, 16) = %p errno %d", nm, p, e);
        volatile size_t huge = SIZE_MAX - 100;
        errno = 0;
        p = fn(64, huge);
        e = errno;
        expect_true(p == NULL && e == ENOMEM, "%s(64, SIZE_MAX-100) = %p errno %d", nm, p, e);
    }
    /* memalign(0|1|8, n) behaves as malloc */
    for (size_t al = 0; al <= 8; al = al ? al * 2 : 1) {
        void *p = a->memalign_(al, 100);
        expect_true(p && aligned(p, 16), "memalign(%zu, 100) = %p", al, p);
        a->dealloc(p);
    }
}

static void test_valloc_pvalloc(const struct api *a)
{
    static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 10000, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        void *p = a->valloc_(n);
        expect_true(p && aligned(p, page_size) && a->usable(p) >= n, "valloc(%zu) = %p", n, p);
        if (p)
            memset(p, 1, n);
        a->dealloc(p);
        p = a->pvalloc_(n);
        size_t rounded = (n + page_size - 1) & ~(page_size - 1);
        expect_true(p && aligned(p, page_size), "pvalloc(%zu) = %p", n, p);
        if (!p)
            continue;
        expect_true(a->usable(p) >= rounded, "usable(pvalloc(%zu)) = %zu < %zu", n, a->usable(p),
                    rounded);
        memset(p, 2, rounded);
        a->dealloc(p);
    }
    void *p = a->valloc_(0);
    expect_true(p == NULL || aligned(p, page_size), "valloc(0) = %p", p);
    a->dealloc(p);
    p = a->pvalloc_(0);
    expect_true(p == NULL || aligned(p, page_size), "pvalloc(0) = %p", p);
    a->dealloc(p);
    volatile size_t huge = SIZE_MAX - 10;
    errno = 0;
    p = a->pvalloc_(huge);
    int e = errno;
    expect_true(p == NULL && e == ENOMEM, "pvalloc(SIZE_MAX-10) = %p errno %d", p, e);
}

/* Usable size is at least the request, and writing all of it disturbs no neighbour. */
static void test_usable_size(const struct api *a)
{
    expect_true(a->usable(NULL) == 0, "malloc_usable_size(NULL) = %zu", a->usable(NULL));
    for (size_t n = 0; n <= 70000; n += n < 2100 ? 1 : 97) {
        void *p = a->alloc(n);
        expect_true(p && a->usable(p) >= n, "usable(malloc(%zu)) = %zu", n, p ? a->usable(p) : 0);
        a->dealloc(p);
    }
    static const struct { size_t lo, hi; int count; } ranges[] = {
        {1, 1024, 3000}, {1, 256, 3000}, {1025, 65536, 400}, {65537, 600000, 24},
        {1, 300000, 300},
    };
    enum { MAXB = 3000 };
    static void *blk[MAXB];
    static size_t len[MAXB];
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        int cnt = ranges[r].count;
        for (int i = 0; i < cnt; i++) {
            size_t n = ranges[r].lo + rnd() % (ranges[r].hi - ranges[r].lo + 1);
            blk[i] = a->alloc(n);
            expect_true(blk[i], "malloc(%zu)", n);
            len[i] = blk[i] ? a->usable(blk[i]) : 0;
            expect_true(len[i] >= n, "usable %zu < %zu", len[i], n);
            if (blk[i])
                fill(blk[i], len[i], (unsigned)i * 7u + (unsigned)r);
        }
        /* free every third block and refill the holes, then verify everyone */
        for (int i = 0; i < cnt; i += 3) {
            a->dealloc(blk[i]);
            size_t n = ranges[r].lo + rnd() % (ranges[r].hi - ranges[r].lo + 1);
            blk[i] = a->alloc(n);
            len[i] = blk[i] ? a->usable(blk[i]) : 0;
            expect_true(blk[i] && len[i] >= n, "malloc(%zu) after free", n);
            if (blk[i])
                fill(blk[i], len[i], (unsigned)i * 7u + (unsigned)r);
        }
        int corrupt = 0;
        for (int i = 0; i < cnt; i++) {
            if (!blk[i])
                continue;
            size_t bad = check(blk[i], len[i], (unsigned)i * 7u + (unsigned)r);
            if (bad != SIZE_MAX && corrupt++ < 5)
                expect_true(0, "block %d (%p, usable %zu) corrupted at byte %zu", i, blk[i], len[i],
                            bad);
        }
        for (int i = 0; i < cnt; i++)
            a->dealloc(blk[(i * 7919) % cnt]);
    }
}

static void test_min_alignment(const struct api *a)
{
    enum { N = 4096 };
    static void *blk[N + 1];
    for (size_t n = 1; n <= N; n++) {
        blk[n] = a->alloc(n);
        expect_true(blk[n] && aligned(blk[n], 16), "malloc(%zu) = %p is not 16-aligned", n, blk[n]);
    }
    for (size_t n = 1; n <= N; n++)
        a->dealloc(blk[n]);
    for (size_t n = 4096; n <= ((size_t)2 << 20); n = n * 5 / 4 + 3) {
        void *p = a->alloc(n);
        expect_true(p && aligned(p, 16), "malloc(%zu) = %p is not 16-aligned", n, p);
        void *q = a->zalloc(1, n);
        expect_true(q && aligned(q, 16), "calloc(1, %zu) = %p is not 16-aligned", n, q);
        a->dealloc(p);
        a->dealloc(q);
    }
}

static void run_semantics(const struct api *a)
{
    hk_test_context = a->name;
    test_malloc_zero_and_huge(a);
    test_calloc(a);
    test_realloc(a);
    test_reallocarray(a);
    test_posix_memalign(a);
    test_aligned_alloc_memalign(a);
    test_valloc_pvalloc(a);
    test_usable_size(a);
    test_min_alignment(a);
}

/* ---- version, statistics, report ---------------------------------------------------- */

static void test_version(void)
{
    hk_test_context = "version";
#ifndef HK_TEST_LIBC
    const char *v = hakmem_version();
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", HAKMEM_VERSION_MAJOR, HAKMEM_VERSION_MINOR,
             HAKMEM_VERSION_PATCH);
    expect_true(v && strcmp(v, want) == 0, "hakmem_version() = \"%s\", header says %s", v ? v : "(null)",
                want);
#endif
}

#ifndef HK_TEST_NO_STATS
static struct hakmem_stats snap(void)
{
    struct hakmem_stats s;
    memset(&s, 0, sizeof s);
    int r = hakmem_stats_snapshot(&s, sizeof s);
    expect_true(r == 0, "hakmem_stats_snapshot = %d errno %d", r, errno);
    return s;
}

/* The class a request of n bytes lands in: the smallest class that holds n. */
static int class_of(const struct hakmem_stats *s, size_t n)
{
    for (uint32_t i = 0; i < s->nclasses; i++)
        if (s->classes[i].size >= n)
            return (int)i;
    return -1;
}

static void check_consistent(const struct hakmem_stats *s, const char *when)
{
    expect_true(s->version == HAKMEM_STATS_VERSION, "%s: version %u", when, s->version);
    expect_true(s->nclasses > 0 && s->nclasses <= HAKMEM_MAX_CLASSES, "%s: nclasses %u", when,
                s->nclasses);
    expect_true(s->ntiny > 0 && s->ntiny <= s->nclasses, "%s: ntiny %u", when, s->ntiny);
    expect_true(s->pid == (uint32_t)getpid(), "%s: pid %u", when, s->pid);
    uint64_t ta = 0, tf = 0, ma = 0, mf = 0;
    for (uint32_t i = 0; i < s->nclasses && i < HAKMEM_MAX_CLASSES; i++) {
        const struct hakmem_class_stats *c = &s->classes[i];
        expect_true(c->size > 0 && (i == 0 || c->size > s->classes[i - 1].size),
                    "%s: class %u size %u not increasing", when, i, c->size);
        expect_true(c->allocs - c->frees == c->live, "%s: class %u allocs %llu frees %llu live %llu",
                    when, i, (unsigned long long)c->allocs, (unsigned long long)c->frees,
                    (unsigned long long)c->live);
        if (i < s->ntiny) {
            ta += c->allocs;
            tf += c->frees;
        } else {
            ma += c->allocs;
            mf += c->frees;
        }
    }
    expect_true(s->tiny.allocs == ta && s->tiny.frees == tf, "%s: tiny tier %llu/%llu != classes %llu/%llu",
                when, (unsigned long long)s->tiny.allocs, (unsigned long long)s->tiny.frees,
                (unsigned long long)ta, (unsigned long long)tf);
    expect_true(s->mid.allocs == ma && s->mid.frees == mf, "%s: mid tier %llu/%llu != classes %llu/%llu",
                when, (unsigned long long)s->mid.allocs, (unsigned long long)s->mid.frees,
                (unsigned long long)ma, (unsigned long long)mf);
    expect_true(s->totals.allocs == s->tiny.allocs + s->mid.allocs + s->large.allocs &&
               s->totals.frees == s->tiny.frees + s->mid.frees + s->large.frees,
                "%s: totals are not the sum of the tiers", when);
    expect_true(s->totals.live == s->totals.allocs - s->totals.frees, "%s: totals.live %llu",
                when, (unsigned long long)s->totals.live);
    expect_true(s->superslabs_live == s->superslabs_mapped - s->superslabs_unmapped,
                "%s: superslabs live %llu != mapped %llu - unmapped %llu", when,
                (unsigned long long)s->superslabs_live, (unsigned long long)s->superslabs_mapped,
                (unsigned long long)s->superslabs_unmapped);
    expect_true(s->superslabs_cached <= s->superslabs_live, "%s: cached > live", when);
    expect_true(s->bytes_mapped >= s->superslab_bytes + s->large_bytes,
                "%s: bytes_mapped %llu < superslab %llu + large %llu", when,
                (unsigned long long)s->bytes_mapped, (unsigned long long)s->superslab_bytes,
                (unsigned long long)s->large_bytes);
}

static void test_stats_class(size_t n, int count)
{
    void **v = hakmem_malloc(sizeof(void *) * (size_t)count);
    struct hakmem_stats s0 = snap();
    int c = class_of(&s0, n);
    expect_true(c >= 0, "no class for %zu", n);
    if (c < 0)
        return;
    for (int i = 0; i < count; i++)
        v[i] = hakmem_malloc(n);
    struct hakmem_stats s1 = snap();
    const struct hakmem_class_stats *a = &s0.classes[c], *b = &s1.classes[c];
    expect_true(b->allocs - a->allocs >= (uint64_t)count, "class %u (%u B): allocs %llu -> %llu after %d x malloc(%zu)",
                (unsigned)c, b->size, (unsigned long long)a->allocs, (unsigned long long)b->allocs, count, n);
    expect_true(b->live - a->live >= (uint64_t)count, "class %u: live %llu -> %llu", (unsigned)c,
                (unsigned long long)a->live, (unsigned long long)b->live);
    expect_true(b->bytes_requested - a->bytes_requested >= (uint64_t)count * n,
                "class %u: bytes_requested %llu -> %llu", (unsigned)c,
                (unsigned long long)a->bytes_requested, (unsigned long long)b->bytes_requested);
    expect_true(s1.totals.allocs - s0.totals.allocs >= (uint64_t)count, "totals.allocs did not grow");
    if (n <= 1024)
        expect_true(s1.tiny.allocs - s0.tiny.allocs >= (uint64_t)count, "tiny.allocs did not grow (%zu B)", n);
    check_consistent(&s1, "after mallocs");
    for (int i = 0; i < count; i++)
        hakmem_free(v[i]);
    struct hakmem_stats s2 = snap();
    b = &s2.classes[c];
    expect_true(b->frees - a->frees >= (uint64_t)count, "class %u: frees %llu -> %llu", (unsigned)c,
                (unsigned long long)a->frees, (unsigned long long)b->frees);
    expect_true(b->live == a->live, "class %u: live %llu before, %llu after freeing everything",
                (unsigned)c, (unsigned long long)a->live, (unsigned long long)b->live);
    hakmem_free(v);
}

static void test_stats(void)
{
    hk_test_context = "stats";
    struct hakmem_stats s = snap();
    check_consistent(&s, "first snapshot");
    test_stats_class(1, 500);
    test_stats_class(100, 1000);
    test_stats_class(1000, 1000);
    test_stats_class(20000, 100);

    /* large blocks */
    enum { NL = 8 };
    void *l[NL];
    struct hakmem_stats s0 = snap();
    for (int i = 0; i < NL; i++)
        l[i] = hakmem_malloc(((size_t)1 << 20) + 1);
    struct hakmem_stats s1 = snap();
    expect_true(s1.large.allocs - s0.large.allocs >= NL && s1.large.live - s0.large.live >= NL,
                "large: allocs %llu -> %llu, live %llu -> %llu", (unsigned long long)s0.large.allocs,
                (unsigned long long)s1.large.allocs, (unsigned long long)s0.large.live,
                (unsigned long long)s1.large.live);
    expect_true(s1.large_bytes >= NL * ((size_t)1 << 20), "large_bytes %llu with %d MiB live",
                (unsigned long long)s1.large_bytes, NL);
    for (int i = 0; i < NL; i++)
        hakmem_free(l[i]);
    struct hakmem_stats s2 = snap();
    expect_true(s2.large.live == s0.large.live, "large live %llu -> %llu after freeing", (unsigned long long)s0.large.live,
                (unsigned long long)s2.large.live);

    /* SuperSlabs come and go */
    hakmem_collect(1);
    struct hakmem_stats sa = snap();
    check_consistent(&sa, "after collect");
    expect_true(sa.superslabs_cached == 0, "superslabs_cached %llu after hakmem_collect(1)",
                (unsigned long long)sa.superslabs_cached);
    enum { NT = 30000, NM = 1500 };
    void **t = hakmem_malloc(sizeof(void *) * NT), **m = hakmem_malloc(sizeof(void *) * NM);
    for (int i = 0; i < NT; i++) {
        t[i] = hakmem_malloc(1000);
        memset(t[i], 1, 1000);
    }
    for (int i = 0; i < NM; i++) {
        m[i] = hakmem_malloc(40000);
        memset(m[i], 2, 40000);
    }
    struct hakmem_stats sb = snap();
    check_consistent(&sb, "with 90 MB live");
    expect_true(sb.superslabs_live > sa.superslabs_live, "superslabs_live %llu -> %llu with 90 MB allocated",
                (unsigned long long)sa.superslabs_live, (unsigned long long)sb.superslabs_live);
    expect_true(sb.superslab_bytes >= (uint64_t)NT * 1000 + (uint64_t)NM * 40000,
                "superslab_bytes %llu < the bytes live in them", (unsigned long long)sb.superslab_bytes);
    for (int i = 0; i < NT; i++)
        hakmem_free(t[i]);
    for (int i = 0; i < NM; i++)
        hakmem_free(m[i]);
    /* The two pointer arrays are blocks too (mid tier: up to 512 KiB lives in SuperSlabs). */
    hakmem_free(t);
    hakmem_free(m);
    hakmem_collect(1);
    struct hakmem_stats sc = snap();
    check_consistent(&sc, "after freeing and collect");
    expect_true(sc.superslabs_live < sb.superslabs_live && sc.superslabs_live <= sa.superslabs_live + 1,
                "superslabs_live: %llu before, %llu with 90 MB live, %llu after free + collect(1)",
                (unsigned long long)sa.superslabs_live, (unsigned long long)sb.superslabs_live,
                (unsigned long long)sc.superslabs_live);
    expect_true(sc.superslabs_cached == 0, "superslabs_cached %llu after hakmem_collect(1)",
                (unsigned long long)sc.superslabs_cached);
    expect_true(sc.bytes_mapped + (64u << 20) <= sb.bytes_mapped, "bytes_mapped %llu -> %llu only",
                (unsigned long long)sb.bytes_mapped, (unsigned long long)sc.bytes_mapped);
    hakmem_collect(0);
}
#endif

#ifndef HK_TEST_LIBC
static char *read_fd(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return NULL;
    char *buf = hakmem_malloc((size_t)end + 1);
    ssize_t got = pread(fd, buf, (size_t)end, 0);
    *len = got > 0 ? (size_t)got : 0;
    buf[*len] = 0;
    return buf;
}
#endif

static void test_report(void)
{
    hk_test_context = "report";
#ifndef HK_TEST_LIBC
    for (int json = 0; json < 2; json++) {
        char path[] = "/tmp/hakmem-test-api-XXXXXX";
        int fd = mkstemp(path);
        expect_true(fd >= 0, "mkstemp");
        if (fd < 0)
            return;
        unlink(path);
        if (json)
            hakmem_stats_json(fd);
        else
            hakmem_stats_print(fd);
        size_t n = 0;
        char *s = read_fd(fd, &n);
        close(fd);
        expect_true(s && n > 0, "hakmem_stats_%s wrote nothing", json ? "json" : "print");
        if (!s || !n) {
            hakmem_free(s);
            continue;
        }
        if (json) {
            size_t b = 0, e = n;
            while (b < n && (s[b] == ' ' || s[b] == '\n' || s[b] == '\t'))
                b++;
            while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t'))
                e--;
            expect_true(b < e && s[b] == '{' && s[e - 1] == '}', "JSON report is not an object: %.60s", s + b);
            long depth = 0, mind = 0;
            int in_str = 0;
            for (size_t i = b; i < e; i++) {
                if (in_str) {
                    if (s[i] == '\\')
                        i++;
                    else if (s[i] == '"')
                        in_str = 0;
                } else if (s[i] == '"') {
                    in_str = 1;
                } else if (s[i] == '{' || s[i] == '[') {
                    depth++;
                } else if (s[i] == '}' || s[i] == ']') {
                    depth--;
                    if (depth < mind)
                        mind = depth;
                }
            }
            expect_true(depth == 0 && mind == 0 && !in_str, "JSON report brackets do not balance");
        } else {
            expect_true(strstr(s, "hakmem") != NULL, "text report does not mention hakmem");
        }
        hakmem_free(s);
    }
#endif
}

int main(void)
{
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    setvbuf(stderr, NULL, _IONBF, 0);
#ifndef HK_TEST_NO_STATS
    /* Every pointer this program frees came from the allocator: hakmem must not call any of
     * them invalid (it would report it, ignore the free and leak the block). */
    struct hakmem_stats first = snap();
#endif
#ifndef HK_TEST_SANITIZED
    test_resolution();
#endif
    test_version();
    /* Through a volatile pointer, so that the compiler cannot see which functions the
     * table holds (and apply its builtin knowledge of malloc to the checks). */
    const struct api *volatile which = &api_hakmem;
    run_semantics(which);
#ifndef HK_TEST_SANITIZED
    which = &api_std;
    run_semantics(which);
#else
    fprintf(stderr, "note: standard names not tested (sanitizer or libc build)\n");
#endif
#ifndef HK_TEST_NO_STATS
    test_stats();
#endif
    test_report();
#ifndef HK_TEST_NO_STATS
    hk_test_context = "misuse";
    struct hakmem_stats last = snap();
    expect_true(last.invalid_frees == first.invalid_frees,
                "%llu valid frees were reported as invalid (see the 'hakmem: error' lines above)",
                (unsigned long long)(last.invalid_frees - first.invalid_frees));
#endif
    return hk_test_done("test_api");
}
