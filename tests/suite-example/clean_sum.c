/* Clean: allocates, uses and frees an array. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    long *v = malloc(1000 * sizeof *v), sum = 0;
    if (!v)
        return 1;
    for (long i = 0; i < 1000; i++)
        v[i] = i;
    for (long i = 0; i < 1000; i++)
        sum += v[i];
    free(v);
    printf("sum %ld\n", sum);
    return sum == 499500 ? 0 : 1;
}
