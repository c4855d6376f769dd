/* SuperSlab carving, the registry, and SuperSlabs going back to the OS. The unit tests link
 * the static library, so the standard malloc stays glibc's and every SuperSlab counted here
 * is one these tests made. */
#include "hakmem.h"
#include "hk_heap.h"
#include "hk_registry.h"
#include "hk_superslab.h"
#include "../common/hk_test.h"

#include <stdint.h>
#include <string.h>

static int static_buffer[16];

static struct hakmem_stats snap(void)
{
    struct hakmem_stats st;
    assert_d_eq(hakmem_stats_snapshot(&st, sizeof st), 0, "snapshot (errno %d)", errno);
    return st;
}

static void test_carving(void)
{
    /* One block of each class: the slab's geometry must match the class. */
    for (unsigned c = 0; c < HK_NUM_CLASSES; c++) {
        size_t size = hk_class_size[c];
        char *p = hakmem_malloc(size);
        assert_true(p, "malloc(%zu) failed", size);
        expect_true(hk_registry_kind(p) == HK_CHUNK_SUPERSLAB, "class %u block not in a SuperSlab", c);
        struct hk_superslab *ss = hk_ss_of(p);
        expect_true(ss->magic == HK_SS_MAGIC, "bad SuperSlab magic");
        expect_true(((uintptr_t)ss & (HK_SS_SIZE - 1)) == 0, "SuperSlab not 2 MiB aligned");
        struct hk_slab *s = hk_slab_of(ss, p);
        unsigned shift = hk_class_is_tiny(c)          ? HK_SLAB_SHIFT_TINY
                         : size <= HK_MID_SMALL_MAX ? HK_SLAB_SHIFT_MID
                                                    : HK_SLAB_SHIFT_BIG;
        expect_true(ss->slab_shift == shift, "class %u in slabs of shift %u", c, ss->slab_shift);
        expect_true(s->class_idx == c && s->block_size == size, "slab class %u size %u for class %u",
                    s->class_idx, s->block_size, c);
        expect_true(s->state == HK_SLAB_OWNED, "slab state %u", s->state);
        expect_true(((uintptr_t)p & 15) == 0, "class %u block %p not 16-byte aligned", c, (void *)p);
        char *slab_begin = (char *)ss + ((size_t)s->index << ss->slab_shift);
        char *slab_end = slab_begin + ((size_t)1 << ss->slab_shift);
        expect_true(p >= slab_begin && p + size <= slab_end, "block outside its slab");
        expect_true((size_t)s->capacity * size <= (size_t)(slab_end - hk_slab_block0(s)),
                    "capacity %u overflows the slab", s->capacity);
        expect_true(hk_slab_is_block_start(s, p), "block start not recognised");
        expect_true(!hk_slab_is_block_start(s, p + 8), "interior pointer taken for a block");
        expect_true(hk_slab_block_index(s, p + size) == hk_slab_block_index(s, p) + 1,
                    "block index");
        expect_true(hakmem_malloc_usable_size(p) == size, "usable %zu for class size %zu",
                    hakmem_malloc_usable_size(p), size);
        hakmem_free(p);
    }
    /* Blocks of one slab are distinct and laid out at multiples of the size. */
    enum { N = 500 };
    char *v[N];
    for (int i = 0; i < N; i++)
        v[i] = hakmem_malloc(48);
    for (int i = 0; i < N; i++) {
        struct hk_slab *s = hk_slab_of(hk_ss_of(v[i]), v[i]);
        expect_true((size_t)(v[i] - hk_slab_block0(s)) % 48 == 0, "block %d misplaced", i);
        for (int j = 0; j < i; j++)
            if (v[j] == v[i])
                expect_true(0, "block handed out twice");
    }
    for (int i = 0; i < N; i++)
        hakmem_free(v[i]);
}

static void test_registry(void)
{
    int local = 0;
    expect_true(hk_registry_kind(&local) == HK_CHUNK_NONE, "stack address registered");
    expect_true(hk_registry_kind(static_buffer) == HK_CHUNK_NONE, "static address registered");
    void *g = malloc(100);    /* glibc's */
    expect_true(hk_registry_kind(g) == HK_CHUNK_NONE, "glibc block registered");
    free(g);
    expect_true(hk_registry_kind((void *)(uintptr_t)-4096) == HK_CHUNK_NONE, "kernel address");
    expect_true(hk_registry_kind(NULL) == HK_CHUNK_NONE, "NULL registered");
    char *big = hakmem_malloc(5 * HK_MiB);
    assert_true(big, "large malloc failed");
    expect_true(hk_registry_kind(big) == HK_CHUNK_LARGE, "large block kind %u",
                hk_registry_kind(big));
    expect_true(hk_registry_kind(big + 3 * HK_MiB) == HK_CHUNK_LARGE_CONT, "large continuation");
    hakmem_free(big);
    /* Foreign and interior frees are reported and ignored, never crash. */
    hakmem_free(&local);
    hakmem_free(static_buffer);
    char *p = hakmem_malloc(64);
    hakmem_free(p + 16);
    hakmem_free(p);
    hakmem_free(p);           /* double free: reported, ignored */
    struct hakmem_stats st = snap();
    expect_true(st.invalid_frees == 4, "invalid frees counted %llu, expected 4",
                (unsigned long long)st.invalid_frees);
}

static void test_superslab_return(void)
{
    struct hakmem_stats before = snap();
    enum { N = 200000 };
    void **v = malloc(N * sizeof *v);
    assert_true(v, "no memory for the test");
    for (int i = 0; i < N; i++)
        v[i] = hakmem_malloc((size_t)(i % 50) * 40 + 1);
    struct hakmem_stats mid = snap();
    expect_true(mid.superslabs_live > before.superslabs_live + 4,
                "200k blocks should need SuperSlabs (live %llu)",
                (unsigned long long)mid.superslabs_live);
    for (int i = 0; i < N; i++)
        hakmem_free(v[i]);
    free(v);
    hakmem_collect(1);
    struct hakmem_stats after = snap();
    expect_true(after.superslabs_live == 0, "%llu SuperSlabs still live after freeing everything",
                (unsigned long long)after.superslabs_live);
    expect_true(after.superslabs_unmapped >= mid.superslabs_live,
                "mapped %llu unmapped %llu", (unsigned long long)after.superslabs_mapped,
                (unsigned long long)after.superslabs_unmapped);
    expect_true(after.totals.live == 0, "live blocks %llu", (unsigned long long)after.totals.live);
    expect_true(after.tiny.mappings == 0 && after.mid.mappings == 0, "slabs still live");
}

int main(void)
{
    test_carving();
    test_registry();
    test_superslab_return();
    return hk_test_done("superslab");
}
