/* Starts threads (one ends with pthread_exit), uses stdio and thread-local storage, and
 * leaks nothing: under HAKMEM_LEAK_CHECK=1 it must exit 0 at every HAKMEM_STACK_DEPTH,
 * glibc's one-time allocations (each thread's DTV, stdio buffers) being matched by the
 * built-in suppressions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static __thread char tls_buf[256];

static void *worker(void *arg)
{
    tls_buf[0] = (char)(size_t)arg;
    free(malloc(100));
    if ((size_t)arg == 3)
        pthread_exit(NULL);
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i))
            return 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("thread_prog: 4 threads, no leak\n");
    return 0;
}
