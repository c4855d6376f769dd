/* A shared library that allocates in its constructor (before main and possibly before
 * hakmem's own initialisation) and in its destructor (after main returned). */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctor_lib.h"

void *hk_ctor_blocks[HK_CTOR_KEEP];
int hk_ctor_ran;

size_t hk_ctor_size(int i)
{
    static const size_t sizes[] = {1, 24, 100, 700, 1024, 3000, 40000, 70000, 300000};
    return sizes[i % (int)(sizeof sizes / sizeof sizes[0])];
}

static void *ctor_thread(void *arg)
{
    void *p = malloc(4000);
    memset(p, 7, 4000);
    free(arg);
    return p;
}

__attribute__((constructor)) static void hk_ctor_init(void)
{
    void *tmp[512];
    int n = 0;
    for (int i = 0; i < 512; i++, n++) {
        tmp[i] = malloc((size_t)(i * 53) % 9000 + 1);
        memset(tmp[i], i, (size_t)(i * 53) % 9000 + 1);
    }
    for (int i = 0; i < 512; i++)
        free(tmp[i]);
    void *c = calloc(1000, 8);
    c = realloc(c, 100000);
    free(c);
    void *al = NULL;
    if (posix_memalign(&al, 4096, 5000) == 0)
        free(al);
    for (int i = 0; i < HK_CTOR_KEEP; i++, n++) {
        hk_ctor_blocks[i] = malloc(hk_ctor_size(i));
        if (hk_ctor_blocks[i])
            memset(hk_ctor_blocks[i], i + 1, hk_ctor_size(i));
    }
    /* a thread started (and joined) before main: its block is freed here */
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, ctor_thread, malloc(123)) == 0 && pthread_join(t, &ret) == 0)
        free(ret);
    hk_ctor_ran = n;
}

__attribute__((destructor)) static void hk_ctor_fini(void)
{
    for (int i = 0; i < 300; i++) {
        void *p = malloc((size_t)i * 97 + 1);
        if (p)
            memset(p, 1, (size_t)i * 97 + 1);
        free(p);
    }
}
