/* A program that writes to blocks after freeing them, over the words where a free block
 * keeps its free mark and link: under HAKMEM_LEAK_CHECK=1 (leak tracking alone) they were
 * freed, so none of them is lost, however their words were overwritten. The program runs
 * the check itself (hakmem_leak_check, found with dlsym) and exits 0 when it found nothing
 * lost, 1 otherwise. Usage: uaf_prog   (under HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=0) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leak_scrub.h"

#define N 600   /* more than a fast cache holds: some go back to their slab's freelist */

int main(void)
{
    static char *volatile blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(64);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    /* The write after free: the first 16 bytes of every freed block. */
    for (int i = 0; i < N; i++)
        memset(blocks[i], 0x5a, 16);
    for (int i = 0; i < N; i++)
        blocks[i] = NULL;
    uint64_t (*check)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "hakmem_leak_check");
    if (!check) {
        fprintf(stderr, "hakmem_leak_check not found: run under LD_PRELOAD=libhakmem.so\n");
        return 1;
    }
    scrub_stack();
    uint64_t lost = check();
    char line[96];
    int n = snprintf(line, sizeof line, "written after free: %llu lost, expected 0\n",
                     (unsigned long long)lost);
    if (n > 0)
        (void)write(1, line, (size_t)n);
    return lost == 0 ? 0 : 1;
}
