/* A program whose symbols the symbolization test looks up: hkdump must name these functions
 * from module+offset with libdw. Never run; only its ELF file and debug info are used. */
#include <stdlib.h>

__attribute__((noinline)) void *hk_sym_target_leaf(size_t n);
__attribute__((noinline)) void *hk_sym_target_leaf(size_t n)
{
    return malloc(n);
}

int main(void)
{
    free(hk_sym_target_leaf(64));
    return 0;
}
