/* Blocks freed in the ways that leave the side table's state to the free itself: under
 * HAKMEM_LEAK_CHECK=1 (leak tracking alone) none of them is lost. The program runs the check
 * itself (hakmem_leak_check, found with dlsym before any block is freed) and exits 0 when it
 * found nothing lost, 1 otherwise.
 *   written       freed, then written over the words where a free block keeps its free
 *                 mark and link (a write after free): the mark cannot say it was freed
 *   other-thread  allocated by one thread and freed by another (remote frees)
 * Usage: uaf_prog MODE   (under HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=0) */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leak_scrub.h"

#define N 600   /* more than a fast cache holds: some go back to their slab's freelist */

static char *volatile blocks[N];

static void *free_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "written";
    /* Looked up first: after the write below, no block of this size may be allocated
     * again (the freed blocks' links are garbage). */
    uint64_t (*check)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "hakmem_leak_check");
    if (!check) {
        fprintf(stderr, "hakmem_leak_check not found: run under LD_PRELOAD=libhakmem.so\n");
        return 1;
    }
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(64);
    if (!strcmp(mode, "other-thread")) {
        pthread_t t;
        if (pthread_create(&t, NULL, free_all, NULL) || pthread_join(t, NULL))
            return 2;
    } else {
        free_all(NULL);
        for (int i = 0; i < N; i++)
            memset(blocks[i], 0x5a, 16);   /* the write after free */
    }
    for (int i = 0; i < N; i++)
        blocks[i] = NULL;
    scrub_stack();
    uint64_t lost = check();
    char line[96];
    int n = snprintf(line, sizeof line, "%s: %llu lost, expected 0\n", mode,
                     (unsigned long long)lost);
    if (n > 0)
        (void)write(1, line, (size_t)n);
    return lost == 0 ? 0 : 1;
}
