/* A program whose symbols the symbolization test looks up: hkdump must name these functions
 * from module+offset with libdw. Never run; only its ELF file and debug info are used. */
#include <stdlib.h>

__attribute__((noinline)) void *hk_sym_target_leaf(size_t n);
__attribute__((noinline)) void *hk_sym_target_leaf(size_t n)
{
    return malloc(n);
}

/* A C++ member function's symbol, written from C: hkdump must print it demangled. */
__attribute__((noinline)) void *hk_sym_target_cxx(int n) __asm__("_ZN5store5Cache4fillEi");
__attribute__((noinline)) void *hk_sym_target_cxx(int n)
{
    return malloc((size_t)n);
}

/* Code inlined into hk_sym_target_outer (always, even at -O0): hkdump must show the chain. */
static inline __attribute__((always_inline)) void *hk_sym_target_inner(size_t n)
{
    void *p = malloc(n * 3);
    return p;
}

__attribute__((noinline)) void *hk_sym_target_outer(size_t n);
__attribute__((noinline)) void *hk_sym_target_outer(size_t n)
{
    return hk_sym_target_inner(n + 1);
}

int main(void)
{
    free(hk_sym_target_outer(8));
    free(hk_sym_target_leaf(64));
    free(hk_sym_target_cxx(32));
    return 0;
}
