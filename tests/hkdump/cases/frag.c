/* Fragmentation: millions of small blocks, 5 % of them kept at scattered places, the rest
 * freed; then the program needs larger blocks, which none of the pinned slabs can hold,
 * until malloc fails (the test runs it under an address-space limit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 3000000;
    void **v = malloc(n * sizeof *v);
    if (!v)
        return 2;
    size_t got;
    for (got = 0; got < n; got++) {
        v[got] = malloc(48);
        if (!v[got])
            break;
        memset(v[got], 3, 48);
    }
    unsigned long seed = 7;
    for (size_t i = 0; i < got; i++) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        if ((seed >> 33) % 100 >= 5)
            free(v[i]);
    }
    unsigned long big = 0;
    for (;;) {
        char *p = malloc(700);
        if (!p)
            break;
        memset(p, 4, 700);
        big++;
    }
    fprintf(stderr, "frag: %zu small blocks, then %lu of 700 B before malloc failed\n", got, big);
    return 1;
}
