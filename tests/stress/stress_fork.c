/* fork() while 8 threads are inside malloc/free.
 *
 * THREADS threads allocate and free without pause and trade blocks through a shared
 * exchange (so frees are cross-thread); one of them also calls hakmem_collect, another takes
 * statistics snapshots. The main thread forks FORKS children, at most
 * PARALLEL at a time. Each child checks and frees the exchange's blocks (allocated by
 * threads that do not exist in the child), allocates and frees in every tier, sometimes
 * starts a thread or forks a grandchild, and exits. A child that does not finish in time
 * (a lock held across fork) is killed and the test fails. */
#include <sys/wait.h>

#include "stress_common.h"
#include "../common/hk_test_fork.h"

enum { THREADS = 8, PARALLEL = 4, CHILD_SECONDS = 60 };

static atomic_int stop;
static struct s_exchange xchg = S_EXCHANGE_INIT;

static void x_prepare(void) { pthread_mutex_lock(&xchg.mu); }
static void x_parent(void) { pthread_mutex_unlock(&xchg.mu); }
static void x_child(void) { pthread_mutex_unlock(&xchg.mu); }

#if S_HAVE_STATS
/* A snapshot taken while the other threads allocate (a fork may land in it): it is this
 * process's, and no cumulative counter went back since the previous one (*last). */
static void check_snapshot(struct hakmem_stats *last)
{
    struct hakmem_stats st = s_snap();
    expect_u64_eq(st.pid, (uint64_t)getpid(), "snapshot pid");
    expect_u64_ge(st.totals.allocs, last->totals.allocs, "allocations counted went back");
    expect_u64_ge(st.totals.frees, last->totals.frees, "frees counted went back");
    expect_u64_ge(st.superslabs_mapped, last->superslabs_mapped, "SuperSlabs mapped went back");
    *last = st;
}
#endif

static void *churn(void *arg)
{
    long id = (long)arg;
    char who[32];
    snprintf(who, sizeof who, "thread %ld", id);
    struct s_rng r = s_seed((uint64_t)id + 1);
    struct s_block mine[128];
    memset(mine, 0, sizeof mine);
    uint64_t k = 0;
#if S_HAVE_STATS
    struct hakmem_stats last;
    memset(&last, 0, sizeof last);
#endif
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        k++;
        unsigned i = (unsigned)(s_next(&r) % 128);
        if (mine[i].p)
            s_free_block(mine[i], who);
        mine[i] = s_alloc_block(s_size(&r, 3), ((uint64_t)id << 48) | k);
#ifndef STRESS_USE_LIBC
        if (id == 0 && (k & 255) == 0)   /* fork may also land in collection or a snapshot */
            hakmem_collect((int)((k >> 8) & 1));
#endif
#if S_HAVE_STATS
        if (id == 1 && (k & 255) == 0)
            check_snapshot(&last);
#endif
        if ((k & 3) == 0)             /* swap with the exchange: a cross-thread free */
            mine[i] = s_exchange_swap(&xchg, &r, mine[i]);
    }
    for (int i = 0; i < 128; i++)
        if (mine[i].p)
            s_free_block(mine[i], who);
    return NULL;
}

#ifndef STRESS_TSAN
static void *child_thread(void *arg)
{
    struct s_rng r = s_seed((uint64_t)(uintptr_t)arg);
    for (int i = 0; i < 3000; i++) {
        struct s_block b = s_alloc_block(s_size(&r, 5), (uint64_t)i);
        s_free_block(b, "child thread");
    }
    return NULL;
}
#endif

static int child_work(int id, int depth)
{
    alarm(CHILD_SECONDS);
    hk_test_reset();   /* count only this process's own failures */
    char who[32];
    snprintf(who, sizeof who, "child %d.%d", id, depth);
    if (depth == 0)
        s_exchange_free(&xchg, 1, who);   /* blocks of threads that do not exist here */
    struct s_rng r = s_seed((uint64_t)id * 31 + (uint64_t)depth);
    struct s_block v[256];
    s_churn_slots(v, 256, &r, S_SCALE(6000), 10, who);
#ifndef STRESS_TSAN
    if (id % 2 == 0) {
        pthread_t t;
        s_thread_create(&t, child_thread, (void *)(uintptr_t)(id + 1));
        pthread_join(t, NULL);
    }
#endif
    if (depth == 0 && id % 4 == 1) {
        pid_t g = fork();
        if (g == 0)
            _exit(child_work(id, 1));
        int st = 0;
        if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            test_fail("child %d: grandchild status %#x", id, st);
            return 2;
        }
    }
    s_collect(1);
#if S_HAVE_STATS
    struct hakmem_stats st = s_snap();
    expect_true(st.pid == (uint32_t)getpid(), "%s: snapshot pid %u, getpid() %d", who, st.pid, (int)getpid());
#endif
    return hk_test_failed() ? 1 : 0;
}

/* A child of the main loop (a grandchild is child_work's own). */
static int child_main(int id) { return child_work(id, 0); }

int main(void)
{
    s_watchdog(400);
    pthread_atfork(x_prepare, x_parent, x_child);
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        s_thread_create(&th[i], churn, (void *)i);
    struct timespec warm = {0, 20 * 1000 * 1000};
    nanosleep(&warm, NULL);

    int forks = S_SCALE(200);
    const struct hk_fork_plan plan = {forks, PARALLEL, CHILD_SECONDS + 10, child_main, NULL,
                                      false};
    hk_fork_children(&plan);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    s_exchange_free(&xchg, 0, "main");
    printf("stress_fork: %d children\n", forks);
    return hk_test_done("stress_fork");
}
