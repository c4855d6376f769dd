/* Under LD_PRELOAD=libhakmem.so: blocks allocated by a library constructor before main (and
 * by this program's own early constructor) are intact in main and free normally; the
 * library's destructor allocates after main returns. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctor_lib.h"
#include "hakmem.h"
#include "preload_check.h"

static char *early;

__attribute__((constructor(101))) static void early_ctor(void)
{
    early = malloc(64);
    if (early)
        strcpy(early, "allocated by a constructor of the program");
    free(malloc(1 << 20));
}

int main(void)
{
    hk_require_preloaded("test_ctor");
    int bad = 0;
    if (hk_ctor_ran <= 0) {
        fprintf(stderr, "FAIL: the library constructor did not run\n");
        return 1;
    }
    if (!early || strcmp(early, "allocated by a constructor of the program") != 0) {
        fprintf(stderr, "FAIL: the program's constructor block is wrong\n");
        bad = 1;
    }
    free(early);
    for (int i = 0; i < HK_CTOR_KEEP; i++) {
        const unsigned char *p = hk_ctor_blocks[i];
        size_t n = hk_ctor_size(i);
        if (!p) {
            fprintf(stderr, "FAIL: constructor block %d is NULL\n", i);
            bad = 1;
            continue;
        }
        if (malloc_usable_size((void *)p) < n) {
            fprintf(stderr, "FAIL: constructor block %d: usable size %zu < %zu\n", i,
                    malloc_usable_size((void *)p), n);
            bad = 1;
        }
        for (size_t j = 0; j < n; j++)
            if (p[j] != (unsigned char)(i + 1)) {
                fprintf(stderr, "FAIL: constructor block %d corrupted at byte %zu\n", i, j);
                bad = 1;
                break;
            }
        free(hk_ctor_blocks[i]);
        hk_ctor_blocks[i] = NULL;
    }
    bad |= hk_invalid_frees_seen("test_ctor");
    printf("test_ctor: %d early allocations, %s\n", hk_ctor_ran, bad ? "FAILED" : "ok");
    return bad;
}
