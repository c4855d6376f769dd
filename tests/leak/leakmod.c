/* A library the leak test dlopens, leaks from, and dlcloses before exit: its frames must
 * still be named in the report. */
#include <stdlib.h>
#include <string.h>

void leakmod_leak(int n);

__attribute__((visibility("default"), noinline)) void leakmod_leak(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(200);
        memset(p, 0x5a, 200);
        __asm__ volatile("" : : "r"(p) : "memory");
    }
}
