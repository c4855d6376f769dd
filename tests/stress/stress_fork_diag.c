/* fork() under the diagnostics (HAKMEM_SHADOW=1, HAKMEM_LEAK_CHECK=1, or both), while
 * threads allocate, free, free across threads, misuse the allocator and run leak checks.
 *
 * THREADS threads allocate and free without pause and trade blocks through an exchange
 * (cross-thread frees). Two of them also commit deliberate misuse, a few rounds per batch of
 * forks: a double free, an interior free, a write into a freed block followed by a second
 * free of it, and a one-byte overflow (reported on stderr, ignored, survived: the writes
 * stay inside the block, past its free-list link). One runs hakmem_leak_check() now and then
 * (fork may land inside one). The main thread forks FORKS children, at most PARALLEL at a
 * time. Each child frees blocks of threads that do not exist in it, allocates and frees,
 * loses a few blocks on purpose, runs hakmem_leak_check() (which must find them when leak
 * tracking is on) and exits.
 *
 * A child that does not finish within CHILD_SECONDS is killed and the test fails; the
 * parent's watchdog turns a hang of its own (say, inside fork) into a failure.
 *
 * For looking at a hang (environment): STRESS_HOLD_HUNG=1 leaves a stuck child alive (its
 * pid is printed) and gives the parent a long watchdog, so that gdb can be attached to
 * either; STRESS_PARENT_LEAK_CHECK=0 keeps the parent's threads out of hakmem_leak_check
 * (to tell a hang at the leak check's lock from other hangs); STRESS_FORKS=n forks n
 * children instead of FORKS (shorter runs, repeated many times). */
#include "stress_common.h"
#include "../common/hk_test_fork.h"

#ifdef STRESS_USE_LIBC
int main(void) { test_skip("stress_fork_diag tests hakmem's diagnostics, not glibc"); }
#else

enum { THREADS = 4, PARALLEL = 4, MINE = 128, CHILD_SECONDS = 30, FORKS = 200 };

static atomic_int stop;
static atomic_int forks_started;
static atomic_uint misuse_frees;     /* deliberate invalid frees done by the parent's threads */
static int leak_on, parent_leak_checks, hold_hung;

static struct s_exchange xchg = S_EXCHANGE_INIT;
/* The threads' own blocks live here, not on their stacks: reachable for the leak check. */
static struct s_block mine[THREADS][MINE];
/* A child's deliberately lost blocks: only their addresses with the bits flipped are kept.
 * Several, because the scan is conservative: a stale copy of one address (a register
 * spilled by a later call) may keep that block "reachable". */
enum { LOST = 8 };
static volatile uintptr_t lost_masked[LOST];

static void x_prepare(void) { pthread_mutex_lock(&xchg.mu); }
static void x_parent(void) { pthread_mutex_unlock(&xchg.mu); }
static void x_child(void) { pthread_mutex_unlock(&xchg.mu); }

static int env_on(const char *name)
{
    const char *e = getenv(name);
    return e && *e == '1';
}

/* One round of misuse; each step is reported by hakmem and survived. */
static void misuse_round(void)
{
    /* double free */
    char *p = S_MALLOC(64);
    if (!p)
        s_die("malloc");
    S_FREE(p);
    S_FREE(p);
    /* interior free, then the real one */
    p = S_MALLOC(64);
    if (!p)
        s_die("malloc");
    S_FREE(p + 16);
    S_FREE(p);
    /* write after free (past the link and the free mark), then free it again */
    volatile char *w = S_MALLOC(128);
    if (!w)
        s_die("malloc");
    S_FREE((void *)w);
    for (int i = 32; i < 48; i++)
        w[i] = 0x55;
    S_FREE((void *)w);
    /* overflow by one byte: 40 bytes asked, the block is 48 (in shadow mode too) */
    w = S_MALLOC(40);
    if (!w)
        s_die("malloc");
    w[40] = 0x42;
    S_FREE((void *)w);
    atomic_fetch_add(&misuse_frees, 3);
}

static void *churn(void *arg)
{
    long id = (long)arg;
    char who[32];
    snprintf(who, sizeof who, "thread %ld", id);
    struct s_rng r = s_seed((uint64_t)id + 7);
    struct s_block *my = mine[id];
    int seen = 0;
    uint64_t k = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        k++;
        unsigned i = (unsigned)(s_next(&r) % MINE);
        if (my[i].p)
            s_free_block(my[i], who);
        my[i] = s_alloc_block(s_size(&r, 3), ((uint64_t)id << 48) | k);
        if ((k & 3) == 0)             /* swap with the exchange: a cross-thread free */
            my[i] = s_exchange_swap(&xchg, &r, my[i]);
        if ((k & 63) == 0) {
            int f = atomic_load_explicit(&forks_started, memory_order_relaxed) / 4;
            if (f != seen) {
                seen = f;
                if (id == 1 || id == 2)
                    misuse_round();
                if (id == 3 && parent_leak_checks && f % 2 == 0)
                    hakmem_leak_check();
                if (id == 0)
                    hakmem_collect((int)(f & 1));
            }
        }
    }
    for (int i = 0; i < MINE; i++)
        if (my[i].p) {
            s_free_block(my[i], who);
            my[i].p = NULL;
        }
    return NULL;
}

__attribute__((noinline)) static void lose_blocks(void)
{
    for (int i = 0; i < LOST; i++) {
        void *p = S_MALLOC(72);
        if (p)
            memset(p, 0x11, 72);
        lost_masked[i] = ~(uintptr_t)p;
    }
}

/* Overwrites the dead frames below this one, so that no stale copy of the lost block's
 * address stays in reach of the scan. */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}

static int child_work(int id)
{
    if (!hold_hung)
        alarm(CHILD_SECONDS);
    hk_test_reset();   /* count only this process's own failures */
    char who[32];
    snprintf(who, sizeof who, "child %d", id);
    s_exchange_free(&xchg, 1, who);   /* blocks of threads that do not exist here */
    struct s_rng r = s_seed((uint64_t)id * 31 + 5);
    struct s_block v[128];
    /* v is left zeroed: the lost block may reuse an address still written there */
    s_churn_slots(v, 128, &r, S_SCALE(2000), 10, who);
    lose_blocks();
    scrub_stack();
    uint64_t leaked = hakmem_leak_check();
    if (leak_on)
        expect_u64_ge(leaked, 1, "%s: none of the %d blocks it lost was found by the leak check",
                      who, LOST);
    else
        expect_u64_eq(leaked, 0, "%s: leak check without HAKMEM_LEAK_CHECK", who);
    for (int i = 0; i < LOST; i++)
        S_FREE((void *)~lost_masked[i]);
    return hk_test_failed() ? 1 : 0;
}

/* Before each fork: the parent's threads pace their misuse and leak checks by it. */
static void count_fork(int id)
{
    (void)id;
    atomic_fetch_add(&forks_started, 1);
}

int main(void)
{
    leak_on = env_on("HAKMEM_LEAK_CHECK");
    hold_hung = env_on("STRESS_HOLD_HUNG");
    const char *plc = getenv("STRESS_PARENT_LEAK_CHECK");
    parent_leak_checks = leak_on && !(plc && *plc == '0');
    s_watchdog(hold_hung ? 3600 : 300);
    fprintf(stderr, "stress_fork_diag: HAKMEM_SHADOW=%d HAKMEM_LEAK_CHECK=%d; misuse reports "
            "on stderr are expected\n", env_on("HAKMEM_SHADOW"), leak_on);
    pthread_atfork(x_prepare, x_parent, x_child);
#if S_HAVE_STATS
    struct hakmem_stats base = s_snap();
#endif
    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++)
        s_thread_create(&th[i], churn, (void *)i);
    struct timespec warm = {0, 20 * 1000 * 1000};
    nanosleep(&warm, NULL);

    const char *nf = getenv("STRESS_FORKS");
    int forks = nf && atoi(nf) > 0 ? atoi(nf) : S_SCALE(FORKS);
    const struct hk_fork_plan plan = {forks, PARALLEL, CHILD_SECONDS + 5, child_work,
                                      count_fork, hold_hung};
    hk_fork_children(&plan);
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    s_exchange_free(&xchg, 0, "main");
#if S_HAVE_STATS
    struct hakmem_stats end = s_snap();
    expect_u64_ge(end.invalid_frees - base.invalid_frees, atomic_load(&misuse_frees),
                  "the deliberate double and interior frees were not all reported");
#endif
    printf("stress_fork_diag: %d children, %u deliberate invalid frees\n", forks,
           atomic_load(&misuse_frees));
    return hk_test_done("stress_fork_diag");
}
#endif
