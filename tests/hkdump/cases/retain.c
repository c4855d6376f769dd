/* Allocator retention: worker threads one after another each allocate and free many small
 * blocks, then exit. Run with HAKMEM_TINY_TLS_LIST_SPILL=0 (TLS lists never spill back),
 * the freed blocks stay with each exited thread, and every worker needs fresh memory. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 400000
#define SIZE 96

static void *worker(void *arg)
{
    void **v = malloc(BLOCKS * sizeof *v);
    if (!v)
        return (void *)1;
    size_t i;
    for (i = 0; i < BLOCKS; i++) {
        v[i] = malloc(SIZE);
        if (!v[i])
            break;
        memset(v[i], 1, SIZE);
    }
    size_t got = i;
    for (i = 0; i < got; i++)
        free(v[i]);
    free(v);
    *(size_t *)arg = got;
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    for (int r = 0; r < rounds; r++) {
        pthread_t t;
        size_t got = 0;
        if (pthread_create(&t, NULL, worker, &got))
            return 2;
        pthread_join(t, NULL);
        if (got < BLOCKS) {
            fprintf(stderr, "retain: round %d got %zu of %d blocks\n", r, got, BLOCKS);
            return 1;
        }
    }
    return 0;
}
