/* Under LD_PRELOAD=libhakmem.so: dlopen a module that allocates, exchange blocks across the
 * boundary in both directions, dlclose it; 100 times. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "preload_check.h"
#include "../common/hk_test.h"

typedef void *(*alloc_fn)(size_t, unsigned);
typedef int (*check_free_fn)(void *, size_t, unsigned);
typedef void (*keep_fn)(void *);
typedef int (*int_fn)(int);

static const size_t sizes[] = {1, 16, 100, 1000, 1024, 1500, 8000, 40000, 65536, 70000, 500000,
                               3 << 20};
#define NS (sizeof sizes / sizeof sizes[0])

static void *sym(void *h, const char *name)
{
    void *s = dlsym(h, name);
    if (!s)
        test_fatal("dlsym(%s): %s", name, dlerror());
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_dlopen MODULE\n");
        return 2;
    }
    hk_require_preloaded("test_dlopen");
    for (int round = 0; round < 100; round++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            test_fatal("dlopen: %s", dlerror());
        alloc_fn mod_alloc = (alloc_fn)(uintptr_t)sym(h, "mod_alloc");
        check_free_fn mod_check_free = (check_free_fn)(uintptr_t)sym(h, "mod_check_free");
        keep_fn mod_keep = (keep_fn)(uintptr_t)sym(h, "mod_keep");
        int_fn mod_thread_work = (int_fn)(uintptr_t)sym(h, "mod_thread_work");
        int_fn mod_tls_touch = (int_fn)(uintptr_t)sym(h, "mod_tls_touch");
        expect_true(dlsym(h, "no_such_symbol") == NULL && dlerror() != NULL,
                    "dlsym of a missing symbol");
        mod_tls_touch(round);

        /* module allocates, program frees (checking contents) */
        for (size_t i = 0; i < NS; i++) {
            unsigned seed = (unsigned)(round * 100 + (int)i);
            unsigned char *p = mod_alloc(sizes[i], seed);
            expect_ptr_not_null(p, "mod_alloc(%zu)", sizes[i]);
            if (!p)
                continue;
            for (size_t j = 0; j < sizes[i]; j++)
                if (p[j] != (unsigned char)(seed * 31u + j * 7u)) {
                    test_fail("module block of %zu corrupted at %zu", sizes[i], j);
                    break;
                }
            p = realloc(p, sizes[i] * 2 + 1);   /* program reallocs the module's block */
            free(p);
        }
        /* program allocates (through the module's pattern), module frees */
        for (size_t i = 0; i < NS; i++) {
            unsigned seed = (unsigned)(round + (int)i);
            unsigned char *p = malloc(sizes[i]);
            for (size_t j = 0; j < sizes[i]; j++)
                p[j] = (unsigned char)(seed * 31u + j * 7u);
            expect_true(mod_check_free(p, sizes[i], seed), "module saw a corrupted block of %zu",
                        sizes[i]);
        }
        /* the module keeps some of the program's blocks and frees them in its destructor */
        for (int i = 0; i < 50; i++)
            mod_keep(malloc((size_t)(i * 977) % 100000 + 1));
        expect_true(mod_thread_work(200), "module thread round %d", round);
        expect_d_eq(dlclose(h), 0, "dlclose: %s", dlerror());
        if (hk_test_failed())
            break;
    }
    expect_false(hk_invalid_frees_seen("test_dlopen"), "valid frees reported as invalid");
    return hk_test_done("test_dlopen");
}
