/* Loses the 40 bytes that asm_alloc (tests/leak/asm_untyped.S) allocates and runs the leak
 * check itself (hakmem_leak_check): exits 0 when the check finds as many unsuppressed lost
 * blocks as the argument says, 1 otherwise. Run without suppressions it expects 1 (the
 * block is lost, not reachable), with leak:asm_alloc 0 (the untyped symbol was named).
 * Usage: asm_prog EXPECTED   (under HAKMEM_LEAK_CHECK=1 HAKMEM_LEAK_EXITCODE=0) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "leak_scrub.h"

void *asm_alloc(void);

int main(int argc, char **argv)
{
    uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
    uint64_t (*check)(void) = (uint64_t (*)(void))dlsym(RTLD_DEFAULT, "hakmem_leak_check");
    if (!check) {
        fprintf(stderr, "hakmem_leak_check not found: run under LD_PRELOAD=libhakmem.so\n");
        return 1;
    }
    asm_alloc();
    scrub_stack();
    uint64_t lost = check();
    char line[96];
    int n = snprintf(line, sizeof line, "asm_alloc's block: %llu lost, expected %llu\n",
                     (unsigned long long)lost, (unsigned long long)want);
    if (n > 0)
        (void)write(1, line, (size_t)n);
    return lost == want ? 0 : 1;
}
