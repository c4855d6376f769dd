/* A Larson-style workload for the census tests: threads in waves allocate blocks of mixed
 * tiny sizes, free half of them themselves and hand the other half to the next wave, which
 * frees them (remote frees into the slabs of exited threads). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, BLOCKS = 4000 };
static int waves = 8;
static void *handed[THREADS][BLOCKS];

static void *worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    unsigned slot = (unsigned)(id % THREADS);
    uint64_t s = id * 0x9E3779B97F4A7C15ull | 1;
    for (int i = 0; i < BLOCKS; i++) {
        if (handed[slot][i])
            free(handed[slot][i]);            /* the previous wave's block */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t size = 16 + s % 240;
        char *p = malloc(size);
        memset(p, (int)id, size);
        if (s & 1) {
            free(p);
            handed[slot][i] = NULL;
        } else {
            handed[slot][i] = p;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        waves = atoi(argv[1]);
    for (int w = 0; w < waves; w++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(w * THREADS + i));
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    return 0;     /* the last wave's handed-over blocks stay live: the census shows them */
}
