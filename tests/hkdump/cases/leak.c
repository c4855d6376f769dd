/* Application leak: blocks of mixed small sizes, written and then forgotten, until malloc
 * fails (the test runs it under an address-space limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    unsigned long n = 0, seed = 12345;
    for (;;) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        size_t size = 16 + (seed >> 33) % 1000;
        char *p = malloc(size);
        if (!p)
            break;
        memset(p, 0x5a, size);
        n++;
    }
    fprintf(stderr, "leak: malloc failed after %lu blocks\n", n);
    return 1;
}
