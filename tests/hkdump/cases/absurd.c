/* One absurd request: a size computed from a corrupted length field. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *small = malloc(64);
    if (!small)
        return 2;
    strcpy(small, "header");
    uint32_t len = 0xfffffff0u;
    size_t size = (size_t)len * 4096;   /* a length read from bad input, scaled */
    char *p = malloc(size);
    if (!p) {
        fprintf(stderr, "absurd: cannot allocate %zu bytes\n", size);
        free(small);
        return 1;
    }
    return 0;
}
