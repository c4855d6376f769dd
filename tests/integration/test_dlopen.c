/* Under LD_PRELOAD=libhakmem.so: dlopen a module that allocates, exchange blocks across the
 * boundary in both directions, dlclose it; 100 times. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "preload_check.h"

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
    if (!s) {
        fprintf(stderr, "FAIL: dlsym(%s): %s\n", name, dlerror());
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_dlopen MODULE\n");
        return 2;
    }
    hk_require_preloaded("test_dlopen");
    int bad = 0;
    for (int round = 0; round < 100; round++) {
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
            return 1;
        }
        alloc_fn mod_alloc = (alloc_fn)(uintptr_t)sym(h, "mod_alloc");
        check_free_fn mod_check_free = (check_free_fn)(uintptr_t)sym(h, "mod_check_free");
        keep_fn mod_keep = (keep_fn)(uintptr_t)sym(h, "mod_keep");
        int_fn mod_thread_work = (int_fn)(uintptr_t)sym(h, "mod_thread_work");
        int_fn mod_tls_touch = (int_fn)(uintptr_t)sym(h, "mod_tls_touch");
        if (dlsym(h, "no_such_symbol") != NULL || dlerror() == NULL) {
            fprintf(stderr, "FAIL: dlsym of a missing symbol\n");
            bad = 1;
        }
        mod_tls_touch(round);

        /* module allocates, program frees (checking contents) */
        for (size_t i = 0; i < NS; i++) {
            unsigned seed = (unsigned)(round * 100 + (int)i);
            unsigned char *p = mod_alloc(sizes[i], seed);
            if (!p) {
                fprintf(stderr, "FAIL: mod_alloc(%zu)\n", sizes[i]);
                bad = 1;
                continue;
            }
            for (size_t j = 0; j < sizes[i]; j++)
                if (p[j] != (unsigned char)(seed * 31u + j * 7u)) {
                    fprintf(stderr, "FAIL: module block of %zu corrupted at %zu\n", sizes[i], j);
                    bad = 1;
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
            if (!mod_check_free(p, sizes[i], seed)) {
                fprintf(stderr, "FAIL: module saw a corrupted block of %zu\n", sizes[i]);
                bad = 1;
            }
        }
        /* the module keeps some of the program's blocks and frees them in its destructor */
        for (int i = 0; i < 50; i++)
            mod_keep(malloc((size_t)(i * 977) % 100000 + 1));
        if (!mod_thread_work(200)) {
            fprintf(stderr, "FAIL: module thread round %d\n", round);
            bad = 1;
        }
        if (dlclose(h) != 0) {
            fprintf(stderr, "FAIL: dlclose: %s\n", dlerror());
            bad = 1;
        }
        if (bad)
            break;
    }
    bad |= hk_invalid_frees_seen("test_dlopen");
    printf("test_dlopen: %s\n", bad ? "FAILED" : "100 rounds ok");
    return bad;
}
