/* A healthy program: a working set that comes and goes, of every tier, all freed. Exits 0. */
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static void *v[20000];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 20000; i++) {
            size_t size = (size_t)(16 + (i * 37 + round) % 2000);
            if (i % 1000 == 0)
                size = 300000;
            v[i] = malloc(size);
            if (!v[i])
                return 2;
            memset(v[i], i, 16);
        }
        for (int i = 0; i < 20000; i++)
            free(v[i]);
    }
    return 0;
}
