/* hakmem-demo: a small multi-threaded "server" for the quick start. Workers are created in
 * waves; each builds request objects of mixed sizes, hands every response to a sender
 * thread that frees it (a cross-thread free), and exits while the sender still holds its
 * blocks. A session cache keeps a few blocks alive until exit on purpose (the leak report
 * has something to show). Uses only the standard allocator API: run it under LD_PRELOAD. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WAVES = 6, MAX_WAVES = 1000, WORKERS = 4, REQUESTS = 20000, MAX_REQUESTS = 1000000,
       QUEUE = 1024 };
static int requests = REQUESTS;

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void *items[QUEUE];
    unsigned head, tail, count;
    int closed;
};

static struct queue responses = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .not_empty = PTHREAD_COND_INITIALIZER,
    .not_full = PTHREAD_COND_INITIALIZER,
};

static void **session_cache;       /* deliberately never freed */
static unsigned session_count;
static pthread_mutex_t session_mu = PTHREAD_MUTEX_INITIALIZER;

static void queue_push(struct queue *q, void *p)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == QUEUE)
        pthread_cond_wait(&q->not_full, &q->mu);
    q->items[q->tail] = p;
    q->tail = (q->tail + 1) % QUEUE;
    q->count++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

static void *queue_pop(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    void *p = NULL;
    if (q->count) {
        p = q->items[q->head];
        q->head = (q->head + 1) % QUEUE;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return p;
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void remember_session(size_t size)
{
    char *p = malloc(size);
    memset(p, 's', size);
    pthread_mutex_lock(&session_mu);
    session_cache = realloc(session_cache, (session_count + 1) * sizeof *session_cache);
    session_cache[session_count++] = p;
    pthread_mutex_unlock(&session_mu);
}

/* A bug on purpose: the audit record is built and its pointer dropped (the leak report
 * names this function). */
static __attribute__((noinline)) void forget_audit_record(int request)
{
    char *record = malloc(200);
    snprintf(record, 200, "request %d audited", request);
    __asm__ volatile("" : : "r"(record) : "memory");
}

static void *worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < requests; i++) {
        uint64_t r = next_random(&seed);
        /* Mostly small objects, some mid-sized buffers, rarely a large one. */
        size_t size = r % 100 < 90 ? 8 + r % 256 : r % 100 < 99 ? 1024 + r % 16384 : 300000;
        char *request = malloc(size);
        memset(request, 'q', size);
        char *response = malloc(size / 2 + 16);
        memcpy(response, request, size / 2 + 16 < size ? size / 2 + 16 : size);
        free(request);
        queue_push(&responses, response);    /* the sender frees it */
        if (i % 5000 == 0)
            remember_session(64 + r % 64);
        if (i % 4000 == 1)
            forget_audit_record(i);
    }
    return NULL;
}

static void *sender(void *arg)
{
    (void)arg;
    unsigned long sent = 0;
    void *p;
    while ((p = queue_pop(&responses)))
        free(p), sent++;
    return (void *)(uintptr_t)sent;
}

/* A whole number in [1, max], or 0. */
static long demo_arg(const char *s, long max)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *end || end == s || n < 1 || n > max ? 0 : n;
}

/* hakmem-demo [WAVES [REQUESTS]]: 6 waves of workers making 20000 requests each unless told
 * (the demo's timeline step runs many short-lived workers, the reference failure's shape). */
int main(int argc, char **argv)
{
    int waves = WAVES;
    if (argc > 1) {
        waves = (int)demo_arg(argv[1], MAX_WAVES);
        requests = argc > 2 ? (int)demo_arg(argv[2], MAX_REQUESTS) : REQUESTS;
        if (argc > 3 || !waves || !requests) {
            fprintf(stderr, "usage: hakmem-demo [WAVES [REQUESTS]]  (waves 1-%d, default %d; "
                            "requests per worker 1-%d, default %d)\n",
                    MAX_WAVES, WAVES, MAX_REQUESTS, REQUESTS);
            return 2;
        }
    }
    pthread_t send_thread, workers[WORKERS];
    pthread_create(&send_thread, NULL, sender, NULL);
    for (int w = 0; w < waves; w++) {
        for (int i = 0; i < WORKERS; i++)
            pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)(w * WORKERS + i + 1));
        for (int i = 0; i < WORKERS; i++)
            pthread_join(workers[i], NULL);
    }
    pthread_mutex_lock(&responses.mu);
    responses.closed = 1;
    pthread_cond_broadcast(&responses.not_empty);
    pthread_mutex_unlock(&responses.mu);
    void *sent;
    pthread_join(send_thread, &sent);
    printf("demo: %d worker threads in %d waves served %lu requests; %u sessions kept\n",
           waves * WORKERS, waves, (unsigned long)(uintptr_t)sent, session_count);
    return 0;
}
