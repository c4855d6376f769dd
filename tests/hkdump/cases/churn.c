/* Thread churn, healthy: many short-lived threads, each allocating, freeing and handing some
 * blocks to the next thread to free. Exits 0. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PER 2000
static void *handoff[4][PER]; /* each slot of a worker is freed by the next round's */

static void *worker(void *arg)
{
    void **h = handoff[(size_t)arg];
    for (int i = 0; i < PER; i++) {
        free(h[i]);
        h[i] = malloc(16 + (size_t)(i % 50) * 16);
        void *tmp = malloc(64 + (size_t)(i % 7) * 100);
        if (!h[i] || !tmp)
            return (void *)1;
        memset(tmp, 0, 64);
        free(tmp);
    }
    return NULL;
}

int main(void)
{
    for (int r = 0; r < 400; r++) {
        pthread_t t[4];
        for (int k = 0; k < 4; k++)
            if (pthread_create(&t[k], NULL, worker, (void *)(size_t)((k + r) % 4)))
                return 2;
        for (int k = 0; k < 4; k++)
            pthread_join(t[k], NULL);
    }
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < PER; i++)
            free(handoff[k][i]);
    return 0;
}
