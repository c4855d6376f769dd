/* Under LD_PRELOAD=libhakmem.so: a parent with 4 threads that allocate and free without
 * pause forks 20 children. Each child frees blocks inherited from the parent, allocates and
 * frees in every tier, starts a thread of its own, and exits 0. A child that deadlocks is
 * killed by its alarm (or by the parent after a deadline) and the test fails. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "preload_check.h"
#include "../common/hk_test.h"
#include "../common/hk_test_fork.h"

enum { THREADS = 4, CHILDREN = 20, SLOTS = 256, CHILD_ALARM = 60, DEADLINE = 120 };

static atomic_int stop;
static const size_t sizes[] = {8, 24, 64, 200, 1000, 1024, 3000, 16000, 60000, 100000, 1 << 20};
#define NS (sizeof sizes / sizeof sizes[0])

/* Blocks the main thread holds across fork: children free them. */
static unsigned char *held[64];

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *churn(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    void *slot[SLOTS] = {0};
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned i = (unsigned)(next(&r) % SLOTS);
        free(slot[i]);
        size_t n = (next(&r) & 7) ? next(&r) % 2048 + 1 : sizes[next(&r) % NS];
        slot[i] = (next(&r) & 3) ? malloc(n) : calloc(1, n);
        if (slot[i])
            memset(slot[i], (int)i, n < 256 ? n : 256);
    }
    for (unsigned i = 0; i < SLOTS; i++)
        free(slot[i]);
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        void *p = malloc(sizes[i % NS]);
        memset(p, 1, sizes[i % NS] < 512 ? sizes[i % NS] : 512);
        free(p);
    }
    return malloc(100);
}

static int child_main(int id)
{
    alarm(CHILD_ALARM);
    /* blocks allocated by the parent's main thread before the fork */
    for (int i = 0; i < 64; i++) {
        size_t n = sizes[i % NS];
        for (size_t j = 0; j < n; j += 97)
            if (held[i][j] != (unsigned char)i)
                return 10;
    }
    for (int i = 0; i < 64; i += 2) {
        free(held[i]);
        held[i] = NULL;
    }
    uint64_t r = (uint64_t)id + 99;
    void *v[500] = {0};
    for (int k = 0; k < 20000; k++) {
        unsigned i = (unsigned)(next(&r) % 500);
        free(v[i]);
        size_t n = sizes[next(&r) % NS];
        if (n >= (1 << 20) && (k & 15))
            n = 4096;
        v[i] = malloc(n);
        if (!v[i])
            return 11;
        memset(v[i], 2, n < 1024 ? n : 1024);
        if (k % 1000 == 0) {
            v[i] = realloc(v[i], n * 2);
            if (!v[i])
                return 12;
        }
    }
    for (int i = 0; i < 500; i++)
        free(v[i]);
    pthread_t t;
    void *ret = NULL;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0)
        return 13;
    pthread_join(t, &ret);
    free(ret);
    /* stdio in the child, through a stream whose buffer it allocates: the text must come
     * back as written */
    char want[32], *text = NULL;
    size_t len = 0;
    snprintf(want, sizeof want, "child %d done", id);
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return 14;
    int n = fprintf(f, "child %d done", id);
    int ok = fclose(f) == 0 && n > 0 && text && len == strlen(want) && strcmp(text, want) == 0;
    free(text);
    return ok ? 0 : 15;
}

/* Before each fork: let the threads get into malloc. */
static void settle(int id)
{
    (void)id;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    hk_require_preloaded("test_fork");
    for (int i = 0; i < 64; i++) {
        held[i] = malloc(sizes[i % NS]);
        memset(held[i], i, sizes[i % NS]);
    }
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, churn, (void *)(i + 1));

    const struct hk_fork_plan plan = {CHILDREN, CHILDREN, DEADLINE, child_main, settle, false};
    hk_fork_children(&plan);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 64; i++)
        free(held[i]);
    expect_false(hk_invalid_frees_seen("test_fork"), "valid frees reported as invalid");
    printf("test_fork: %d children\n", CHILDREN);
    return hk_test_done("test_fork");
}
