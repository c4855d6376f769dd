/* A program whose only pointer to a block lives in memory it mapped itself, as GCC's garbage
 * collected heap and Python's object arenas hold theirs: under HAKMEM_LEAK_CHECK=1 the block
 * is reachable. The program runs the check itself (hakmem_leak_check, found with dlsym) and
 * exits 0 when it found the blocks lost that the mode expects, 1 otherwise:
 *   kept      the pointer stays in the mapping                           0 lost
 *   unmapped  the mapping is unmapped first                              1 lost
 *   thread    a thread keeps one block in the mapping and one only on its
 *             stack, and exits: its stack (cached by glibc) is no root    1 lost
 * Usage: mmap_root_prog MODE   (under HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=0) */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "leak_scrub.h"

#define REGION (1u << 20)

static void **g_region;   /* the mapping; the block's address is only inside it */

__attribute__((noinline)) static void keep_block(void)
{
    /* Deep in the mapping, past pages never touched: only touched pages are read. */
    void **slot = g_region + (REGION / 2) / sizeof(void *) + 3;
    *slot = malloc(4000);
    memset(*slot, 7, 4000);
}

static void *worker(void *arg)
{
    (void)arg;
    keep_block();
    void *volatile on_stack = malloc(3000);   /* lost when the thread is gone */
    (void)on_stack;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "kept";
    g_region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_region == MAP_FAILED)
        return 2;
    if (!strcmp(mode, "thread")) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) || pthread_join(t, NULL))
            return 2;
    } else {
        keep_block();
    }
    if (!strcmp(mode, "unmapped"))
        munmap(g_region, REGION);
    uint64_t (*check)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "hakmem_leak_check");
    if (!check) {
        fprintf(stderr, "hakmem_leak_check not found: run under LD_PRELOAD=libhakmem.so\n");
        return 1;
    }
    uint64_t want = strcmp(mode, "kept") ? 1 : 0;
    /* The global holds the mapping's address, not the block's; no stale copy stays below. */
    scrub_stack();
    uint64_t lost = check();
    /* No stdio buffer: its end pointer may equal the next block's start (a conservative
     * scan's false "reachable" for a block allocated just after it). */
    char line[128];
    int n = snprintf(line, sizeof line, "%s: %llu lost, expected %llu\n", mode,
                     (unsigned long long)lost, (unsigned long long)want);
    if (n > 0)
        (void)write(1, line, (size_t)n);
    return lost == want ? 0 : 1;
}
