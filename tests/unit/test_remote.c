/* Remote frees, thread-exit flush, orphans and adoption. */
#include "hakmem.h"
#include "hk_heap.h"
#include "hk_superslab.h"
#include "../common/hk_test.h"

#include <pthread.h>
#include <string.h>

enum { NBLOCKS = 20000, NPUSHERS = 4 };
static void *blocks[NBLOCKS];

static struct hakmem_stats snap(void)
{
    struct hakmem_stats st;
    assert_d_eq(hakmem_stats_snapshot(&st, sizeof st), 0, "snapshot (errno %d)", errno);
    return st;
}

static void *alloc_thread(void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    for (int i = 0; i < NBLOCKS; i++) {
        blocks[i] = hakmem_malloc(size);
        memset(blocks[i], 0x5a, size);
    }
    return NULL;
}

static void *free_range(void *arg)
{
    int k = (int)(uintptr_t)arg;
    for (int i = k; i < NBLOCKS; i += NPUSHERS)
        hakmem_free(blocks[i]);
    return NULL;
}

/* Blocks of a live thread freed by several threads at once: all go to remote stacks and
 * every one is drained back by the owner. */
static pthread_mutex_t owner_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t owner_cv = PTHREAD_COND_INITIALIZER;
static int owner_phase;

static void *owner_thread(void *arg)
{
    (void)arg;
    alloc_thread((void *)(uintptr_t)32);
    pthread_mutex_lock(&owner_mu);
    owner_phase = 1;
    pthread_cond_broadcast(&owner_cv);
    while (owner_phase != 2)
        pthread_cond_wait(&owner_cv, &owner_mu);
    pthread_mutex_unlock(&owner_mu);
    /* Allocating again makes the owner drain its remote stacks. */
    for (int i = 0; i < NBLOCKS; i++)
        blocks[i] = hakmem_malloc(32);
    for (int i = 0; i < NBLOCKS; i++)
        hakmem_free(blocks[i]);
    return NULL;
}

static void test_remote_stacks(void)
{
    struct hakmem_stats before = snap();
    pthread_t owner, pushers[NPUSHERS];
    pthread_create(&owner, NULL, owner_thread, NULL);
    pthread_mutex_lock(&owner_mu);
    while (owner_phase != 1)
        pthread_cond_wait(&owner_cv, &owner_mu);
    pthread_mutex_unlock(&owner_mu);
    for (int k = 0; k < NPUSHERS; k++)
        pthread_create(&pushers[k], NULL, free_range, (void *)(uintptr_t)k);
    for (int k = 0; k < NPUSHERS; k++)
        pthread_join(pushers[k], NULL);
    pthread_mutex_lock(&owner_mu);
    owner_phase = 2;
    pthread_cond_broadcast(&owner_cv);
    pthread_mutex_unlock(&owner_mu);
    pthread_join(owner, NULL);
    struct hakmem_stats after = snap();
    const struct hakmem_class_stats *c = &after.classes[1], *b = &before.classes[1];
    expect_true(c->remote_sent - b->remote_sent == NBLOCKS, "remote_sent %llu, expected %d",
                (unsigned long long)(c->remote_sent - b->remote_sent), NBLOCKS);
    expect_true(c->remote_drained - b->remote_drained == NBLOCKS, "remote_drained %llu, expected %d",
                (unsigned long long)(c->remote_drained - b->remote_drained), NBLOCKS);
    expect_true(c->allocs - b->allocs == 2 * NBLOCKS, "allocs %llu",
                (unsigned long long)(c->allocs - b->allocs));
    expect_true(c->live == b->live, "live %llu -> %llu", (unsigned long long)b->live,
                (unsigned long long)c->live);
}

/* A thread allocates and frees (its caches fill), then exits: the exit flush must give
 * every slab back. */
static void *churn_and_exit(void *arg)
{
    (void)arg;
    for (int r = 0; r < 10; r++) {
        for (int i = 0; i < NBLOCKS; i++)
            blocks[i] = hakmem_malloc((size_t)(i % 64) * 16 + 8);
        for (int i = 0; i < NBLOCKS; i++)
            hakmem_free(blocks[i]);
    }
    return NULL;
}

static void test_thread_exit_flush(void)
{
    hakmem_collect(1);
    struct hakmem_stats before = snap();
    pthread_t t;
    pthread_create(&t, NULL, churn_and_exit, NULL);
    pthread_join(t, NULL);
    struct hakmem_stats after = snap();
    expect_true(after.threads_exited == before.threads_exited + 1, "exited %llu -> %llu",
                (unsigned long long)before.threads_exited, (unsigned long long)after.threads_exited);
    expect_true(after.tiny.mappings + after.mid.mappings == before.tiny.mappings + before.mid.mappings,
                "slabs live %llu -> %llu after the thread exited",
                (unsigned long long)(before.tiny.mappings + before.mid.mappings),
                (unsigned long long)(after.tiny.mappings + after.mid.mappings));
    expect_true(after.totals.live == before.totals.live, "live blocks changed");
}

/* The producer exits while its blocks are live: its slabs become orphans; the consumer's
 * frees go to their remote stacks; collecting releases them; a new thread adopts. */
static void test_orphans(void)
{
    hakmem_collect(1);
    struct hakmem_stats before = snap();
    pthread_t t;
    pthread_create(&t, NULL, alloc_thread, (void *)(uintptr_t)100);
    pthread_join(t, NULL);
    struct hakmem_stats held = snap();
    expect_true(held.classes[6].live - before.classes[6].live == NBLOCKS, "live %llu",
                (unsigned long long)(held.classes[6].live - before.classes[6].live));
    expect_true(held.tiny.mappings > before.tiny.mappings, "orphaned slabs should stay live");
    for (int i = 0; i < NBLOCKS; i++) {
        for (int j = 0; j < 100; j++)
            if (((unsigned char *)blocks[i])[j] != 0x5a) {
                expect_true(0, "block %d corrupted", i);
                break;
            }
        hakmem_free(blocks[i]);
    }
    hakmem_collect(1);
    struct hakmem_stats after = snap();
    expect_true(after.tiny.mappings == before.tiny.mappings, "orphan slabs not released: %llu -> %llu",
                (unsigned long long)before.tiny.mappings, (unsigned long long)after.tiny.mappings);
    expect_true(after.superslabs_live == before.superslabs_live, "SuperSlabs %llu -> %llu",
                (unsigned long long)before.superslabs_live, (unsigned long long)after.superslabs_live);
    /* Adoption: orphans of a class are reused before new slabs are taken. */
    pthread_create(&t, NULL, alloc_thread, (void *)(uintptr_t)100);
    pthread_join(t, NULL);
    struct hakmem_stats again = snap();
    for (int i = 0; i < NBLOCKS; i++)
        hakmem_free(blocks[i]);       /* remote frees into orphans, not collected */
    pthread_create(&t, NULL, alloc_thread, (void *)(uintptr_t)100);
    pthread_join(t, NULL);
    struct hakmem_stats adopted = snap();
    expect_true(adopted.tiny.mappings <= again.tiny.mappings + 2,
                "second producer took %llu new slabs instead of adopting",
                (unsigned long long)(adopted.tiny.mappings - again.tiny.mappings));
}

int main(void)
{
    test_remote_stacks();
    test_thread_exit_flush();
    test_orphans();
    return hk_test_done("remote");
}
