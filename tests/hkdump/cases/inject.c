/* An injected out-of-memory: an ordinary program whose mappings fail on purpose
 * (HAKMEM_FAULT_MMAP_FAIL_AFTER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    unsigned long n = 0;
    for (;;) {
        char *p = malloc(4000);
        if (!p)
            break;
        memset(p, 6, 64);
        n++;
        if (n > 10000000)
            return 0;
    }
    fprintf(stderr, "inject: malloc failed after %lu blocks\n", n);
    return 1;
}
