/* Out of memory under RLIMIT_AS: every tier returns NULL with errno ENOMEM (never crashes),
 * blocks allocated before stay intact, a failing realloc/calloc leaves things alone, and
 * after freeing, allocation works again. Uses the hakmem_* names (no LD_PRELOAD needed). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "hakmem.h"
#include "../common/hk_test.h"


enum { MAXB = 1 << 20 };
static unsigned char *blk[MAXB];
static size_t len[MAXB];

/* Fill the address space with blocks of one size until malloc fails; returns the count. */
static size_t exhaust(size_t size, size_t start)
{
    size_t i = start;
    for (; i < MAXB; i++) {
        errno = 0;
        blk[i] = hakmem_malloc(size);
        if (!blk[i]) {
            expect_true(errno == ENOMEM, "malloc(%zu) failed with errno %d, not ENOMEM", size, errno);
            break;
        }
        len[i] = size;
        memset(blk[i], (int)(i & 0xff), size < 256 ? size : 256);
    }
    return i;
}

static void verify_and_free(size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        size_t n = len[i] < 256 ? len[i] : 256;
        for (size_t j = 0; j < n; j++)
            if (blk[i][j] != (unsigned char)(i & 0xff)) {
                expect_true(0, "block %zu (%zu bytes) corrupted at %zu", i, len[i], j);
                break;
            }
        hakmem_free(blk[i]);
        blk[i] = NULL;
    }
}

int main(void)
{
    /* a few blocks live across the whole test */
    unsigned char *keep = hakmem_malloc(3000);
    memset(keep, 0x77, 3000);

    struct rlimit rl;
    getrlimit(RLIMIT_AS, &rl);
    struct rlimit lim = {(rlim_t)256 << 20, rl.rlim_max};
    if (setrlimit(RLIMIT_AS, &lim) != 0) {
        perror("setrlimit");
        return 77;
    }
    static const size_t sizes[] = {400, 1000, 20000, 300000, 8 << 20};
    for (int round = 0; round < 2; round++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = exhaust(sizes[s], 0);
            expect_true(n > 0 && n < MAXB, "round %d: %zu blocks of %zu before ENOMEM", round, n, sizes[s]);
            /* at the limit: smaller requests of other tiers may or may not succeed, but they
             * must not crash and must set errno when they fail */
            for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
                errno = 0;
                void *p = hakmem_malloc(sizes[t]);
                expect_true(p || errno == ENOMEM, "malloc(%zu) at the limit: NULL with errno %d", sizes[t], errno);
                hakmem_free(p);
                errno = 0;
                p = hakmem_calloc(1, sizes[t]);
                expect_true(p || errno == ENOMEM, "calloc(%zu) at the limit: NULL with errno %d", sizes[t], errno);
                if (p) {
                    size_t z = 0;
                    for (; z < sizes[t] && !((unsigned char *)p)[z]; z += 512)
                        ;
                    expect_true(z >= sizes[t], "calloc(%zu) at the limit not zeroed", sizes[t]);
                }
                hakmem_free(p);
            }
            /* a failing realloc keeps the block */
            if (n > 0) {
                errno = 0;
                void *q = hakmem_realloc(blk[0], (size_t)1 << 40);
                expect_true(q == NULL && errno == ENOMEM, "realloc to 1 TiB at the limit = %p errno %d", q, errno);
                if (q) {
                    blk[0] = q;
                    len[0] = 0;
                }
            }
            verify_and_free(0, n);
            hakmem_collect(1);
            /* after freeing, the same amount fits again */
            size_t again = exhaust(sizes[s], 0);
            expect_true(again + again / 4 + 2 >= n, "round %d size %zu: %zu blocks fit first, only %zu after freeing",
                        round, sizes[s], n, again);
            verify_and_free(0, again);
            hakmem_collect(1);
        }
    }
    setrlimit(RLIMIT_AS, &rl);
    for (int j = 0; j < 3000; j++)
        if (keep[j] != 0x77) {
            expect_true(0, "long-lived block corrupted at %d", j);
            break;
        }
    hakmem_free(keep);
    struct hakmem_stats st;
    if (hakmem_stats_snapshot(&st, sizeof st) == 0)
        expect_true(st.invalid_frees == 0, "%llu frees reported invalid", (unsigned long long)st.invalid_frees);
    return hk_test_done("test_oom");
}
