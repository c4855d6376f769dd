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
#include "../common/hk_test.h"

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
    assert_true(hk_ctor_ran > 0, "the library constructor did not run");
    expect_true(early && strcmp(early, "allocated by a constructor of the program") == 0,
                "the program's constructor block is wrong");
    free(early);
    for (int i = 0; i < HK_CTOR_KEEP; i++) {
        const unsigned char *p = hk_ctor_blocks[i];
        size_t n = hk_ctor_size(i);
        expect_ptr_not_null(p, "constructor block %d", i);
        if (!p)
            continue;
        expect_u64_ge(malloc_usable_size((void *)p), n, "constructor block %d: usable size", i);
        for (size_t j = 0; j < n; j++)
            if (p[j] != (unsigned char)(i + 1)) {
                test_fail("constructor block %d corrupted at byte %zu", i, j);
                break;
            }
        free(hk_ctor_blocks[i]);
        hk_ctor_blocks[i] = NULL;
    }
    expect_false(hk_invalid_frees_seen("test_ctor"), "valid frees reported as invalid");
    printf("test_ctor: %d early allocations\n", hk_ctor_ran);
    return hk_test_done("test_ctor");
}
