/* Remote-queue retention: a producer allocates a batch of small blocks, hands them to the main
 * thread and then blocks without allocating again; main frees them (remote frees into the
 * producer's slabs) and starts the next producer. The blocks wait in the remote queues of
 * slabs whose owners are alive but idle, so each batch needs fresh memory. At the end all
 * producers exit and their queues are drained. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 300000
#define SIZE 128
#define MAXP 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int quit;

struct batch {
    void **v;
    size_t n;
    int ready;
};

static void *producer(void *arg)
{
    struct batch *b = arg;
    size_t i;
    for (i = 0; i < BLOCKS; i++) {
        b->v[i] = malloc(SIZE);
        if (!b->v[i])
            break;
        memset(b->v[i], 2, SIZE);
    }
    pthread_mutex_lock(&mu);
    b->n = i;
    b->ready = 1;
    pthread_cond_broadcast(&cv);
    while (!quit)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int main(void)
{
    static pthread_t t[MAXP];
    static struct batch b[MAXP];
    int n, status = 0;
    for (n = 0; n < MAXP; n++) {
        b[n].v = calloc(BLOCKS, sizeof(void *));
        if (!b[n].v || pthread_create(&t[n], NULL, producer, &b[n])) {
            status = 1;
            break;
        }
        pthread_mutex_lock(&mu);
        while (!b[n].ready)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
        for (size_t i = 0; i < b[n].n; i++)
            free(b[n].v[i]);
        if (b[n].n < BLOCKS) {
            fprintf(stderr, "remote: producer %d got %zu of %d blocks\n", n, b[n].n, BLOCKS);
            status = 1;
            n++;
            break;
        }
    }
    pthread_mutex_lock(&mu);
    quit = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return status;
}
